"""numpy helpers: as_array() over loans and samples, zero copy. Skipped
when numpy is not installed (the package itself never needs it)."""

import unittest

from support import FerryTestCase

try:
    import numpy as np
except ImportError:
    np = None


def setUpModule():
    if np is None:
        print("SKIP_ALL: numpy is not installed")
        raise unittest.SkipTest("numpy is not installed")


class NumpyHelpers(FerryTestCase):
    def test_arrays_over_loans_and_samples(self):
        node = self.node()
        sub = node.subscriber("py/np", max_payload=64)
        pub = node.publisher("py/np", max_payload=64)
        loan = pub.loan(40)
        a = loan.as_array(np.float32, count=8, offset=8, shape=(2, 4))
        a[:] = np.arange(8, dtype=np.float32).reshape(2, 4)
        head = loan.as_array(np.uint64, count=1)
        head[0] = 12345
        self.assertTrue(a.flags.writeable)
        loan.send()
        # The loan's arrays turn read-only at send: no write into a sent sample.
        self.assertFalse(a.flags.writeable)
        with self.assertRaises(ValueError):
            a[0, 0] = 1
        del a, head

        s = sub.take()
        arr = s.as_array(np.float32, offset=8, shape=(2, 4))
        self.assertFalse(arr.flags.writeable)
        self.assertEqual(arr.tolist(), [[0, 1, 2, 3], [4, 5, 6, 7]])
        self.assertEqual(int(s.as_array("<u8", count=1)[0]), 12345)
        # The array shares the shared memory: no copy was made.
        self.assertEqual(arr.ctypes.data, s.as_array("u1").ctypes.data + 8)
        with self.assertRaises(ValueError):
            arr[0, 0] = 1
        # Released but still referenced by arr: stays taken, stays valid.
        s.release()
        self.assertEqual(sub.stats.borrowed, 1)
        self.assertEqual(float(arr.sum()), 28.0)
        with self.assertRaises(BufferError):
            sub.close()
        del arr
        self.assertEqual(sub.stats.borrowed, 0)

    def test_send_copy_of_an_array(self):
        node = self.node()
        sub = node.subscriber("py/npcopy")
        pub = node.publisher("py/npcopy")
        pub.send_copy(np.array([1.5, 2.5], dtype=np.float64))
        with sub.take() as s:
            self.assertEqual(s.as_array(np.float64).tolist(), [1.5, 2.5])
        with self.assertRaises((TypeError, ValueError)):
            pub.send_copy(np.zeros((4, 4))[:, 1])  # not contiguous

    def test_structured_dtype_matches_ctypes(self):
        dtype = np.dtype([("stamp", "<u8"), ("x", "<f8"), ("frame", "<u4")], align=True)
        node = self.node()
        pub = node.publisher("py/rec", type_name="py_test.rec.v1", max_payload=dtype.itemsize, alignment=dtype.alignment)
        sub = node.subscriber("py/rec", type_name="py_test.rec.v1", max_payload=dtype.itemsize, alignment=dtype.alignment)
        loan = pub.loan()
        rec = loan.as_array(dtype)
        rec["stamp"], rec["x"], rec["frame"] = 9, 0.25, 3
        del rec
        loan.send()
        with sub.take() as s:
            r = s.as_array(dtype)[0]
            self.assertEqual((int(r["stamp"]), float(r["x"]), int(r["frame"])), (9, 0.25, 3))
            del r


if __name__ == "__main__":
    unittest.main()
