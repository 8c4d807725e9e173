"""The Python API in one process (and one short-lived child for cleanup):
loans, sends, takes, releases, the memory rule, options, errors, listing."""

import array
import ctypes
import gc
import os
import select
import subprocess
import sys
import textwrap
import threading
import time
import unittest

import ferry
from support import FerryTestCase, leftovers


class Pose(ctypes.Structure):
    _fields_ = [
        ("stamp", ctypes.c_uint64),
        ("x", ctypes.c_double),
        ("y", ctypes.c_double),
        ("frame", ctypes.c_uint32),
    ]
    ferry_type_name = "py_test.pose.v1"


class RoundTrip(FerryTestCase):
    def test_loan_send_take_release(self):
        node = self.node()
        sub = node.subscriber("py/rt")
        pub = node.publisher("py/rt")
        self.assertEqual((pub.type_name, pub.max_payload, pub.alignment), ("bytes", 4096, 8))
        self.assertIsNone(sub.take())  # nothing queued: None, not an error

        loan = pub.loan(5)
        self.assertEqual(len(loan), 5)
        self.assertFalse(loan.data.readonly)
        self.assertEqual(loan.data.format, "B")
        loan.data[:] = b"hello"
        self.assertEqual(pub.stats.loans, 1)
        before = time.monotonic_ns()
        loan.send()
        self.assertTrue(loan.sent)
        self.assertEqual(pub.stats, ferry.PublisherStats(sent=1, subscribers=1, loans=0))

        s = sub.take()
        self.assertIsInstance(s, ferry.Sample)
        self.assertEqual(bytes(s.data), b"hello")
        self.assertEqual(bytes(s), b"hello")
        self.assertEqual(s.tobytes(), b"hello")
        self.assertEqual(len(s), 5)
        self.assertTrue(s.data.readonly)
        with self.assertRaises(TypeError):
            s.data[0] = 1  # read-only shared memory
        self.assertEqual(s.info.sequence, 1)
        self.assertEqual(s.info.publisher_id, pub.id)
        self.assertEqual(s.info.size, 5)
        self.assertTrue(before <= s.info.timestamp_ns <= time.monotonic_ns())
        self.assertEqual(sub.stats.borrowed, 1)
        s.release()
        self.assertTrue(s.released)
        self.assertEqual(sub.stats, ferry.SubscriberStats(received=1, lost=0, publishers=1, borrowed=0))
        s.release()  # no-op
        with self.assertRaises(ValueError):
            s.data
        self.assertEqual(s.info.sequence, 1)  # the metadata stays readable

    def test_send_copy_accepts_buffers(self):
        node = self.node()
        sub = node.subscriber("py/copy")
        pub = node.publisher("py/copy")
        pub.send_copy(b"bytes")
        pub.send_copy(bytearray(b"bytearray"))
        pub.send_copy(memoryview(b"xxview")[2:])
        pub.send_copy(array.array("i", [1, 2]))
        got = []
        while True:
            s = sub.take()
            if s is None:
                break
            with s:
                got.append(bytes(s.data))
        self.assertEqual(got, [b"bytes", b"bytearray", b"view", array.array("i", [1, 2]).tobytes()])
        with self.assertRaises(ferry.Error) as cm:
            pub.send_copy(b"")
        self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
        with self.assertRaises(ferry.Error) as cm:
            pub.send_copy(bytearray(4097))
        self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
        self.assertIn("max_payload", cm.exception.message)

    def test_context_managers(self):
        with ferry.Node("py_ctx", domain=self.domain) as node:
            with node.publisher("py/ctx") as pub, node.subscriber("py/ctx") as sub:
                with pub.loan(3) as loan:  # not sent: discarded at the end
                    loan.data[:] = b"abc"
                self.assertEqual(pub.stats.loans, 0)
                with pub.loan(3) as loan:
                    loan.data[:] = b"def"
                    loan.send()
                with sub.take() as s:
                    self.assertEqual(bytes(s.data), b"def")
                self.assertTrue(s.released)
                self.assertEqual(sub.stats.borrowed, 0)
            self.assertTrue(pub.closed and sub.closed)
        self.assertTrue(node.closed)
        self.assertEqual(leftovers(self.domain), [])

    def test_history_for_late_subscriber(self):
        node = self.node()
        pub = node.publisher("py/hist", history=2)
        for i in range(3):
            pub.send_copy(bytes([i]))
        sub = node.subscriber("py/hist", history=2)
        pub.update()
        self.assertEqual([bytes(sub.take().data) for _ in range(2)], [b"\x01", b"\x02"])
        self.assertIsNone(sub.take())

    def test_take_timeout(self):
        node = self.node()
        sub = node.subscriber("py/wait")
        t0 = time.monotonic()
        self.assertIsNone(sub.take(timeout=0.05))
        self.assertGreaterEqual(time.monotonic() - t0, 0.05)
        pub = node.publisher("py/wait")
        timer = threading.Timer(0.02, pub.send_copy, args=(b"late",))
        timer.start()
        try:
            s = sub.take(timeout=5)
        finally:
            timer.join()
        self.assertIsNotNone(s)
        self.assertEqual(bytes(s.data), b"late")

    def test_wait_fileno_and_departures(self):
        node = self.node()
        sub = node.subscriber("py/fd")
        sub.set_wait_options(spin_ns=2000, liveness_ns=20_000_000)
        pub = node.publisher("py/fd")
        self.assertIs(sub.wait(0.02), ferry.WaitResult.TIMED_OUT)
        fd = sub.fileno()
        self.assertEqual(select.select([fd], [], [], 0)[0], [])
        pub.send_copy(b"1")
        self.assertEqual(select.select([sub], [], [], 1)[0], [sub])  # fileno() makes it selectable
        self.assertIs(sub.wait(1), ferry.WaitResult.READY)
        with sub.take() as s:
            self.assertEqual(bytes(s.data), b"1")
        # Without limit, woken by another thread's publisher.
        timer = threading.Timer(0.02, pub.send_copy, args=(b"2",))
        timer.start()
        s = sub.take(timeout=None)
        timer.join()
        self.assertEqual(bytes(s.data), b"2")
        s.release()
        pub.close()
        self.assertIs(sub.wait(2), ferry.WaitResult.DISCONNECTED)  # once per departure
        self.assertIs(sub.wait(0.01), ferry.WaitResult.TIMED_OUT)


class Loans(FerryTestCase):
    def test_default_size_and_limits(self):
        node = self.node()
        pub = node.publisher("py/limits", max_payload=64, max_loans=2)
        a = pub.loan()
        self.assertEqual(len(a), 64)
        b = pub.loan(1)
        with self.assertRaises(ferry.Error) as cm:
            pub.loan(1)
        e = cm.exception
        self.assertEqual(e.code, ferry.ErrorCode.ELIMIT)
        self.assertEqual(e.code, -8)
        self.assertIn("max_loans", e.message)
        self.assertTrue(str(e).startswith("ELIMIT: "))
        a.discard()
        b.discard()
        self.assertEqual(pub.stats.loans, 0)
        for bad in (0, 65):
            with self.assertRaises(ferry.Error) as cm:
                pub.loan(bad)
            self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)

    def test_try_send_keeps_loan_when_full(self):
        node = self.node()
        sub = node.subscriber("py/try", overflow="block", queue_capacity=1)
        pub = node.publisher("py/try", overflow=ferry.Overflow.BLOCK, queue_capacity=1)
        self.assertEqual(pub.overflow, ferry.Overflow.BLOCK)
        first = pub.loan(1)
        first.data[0] = 1
        self.assertTrue(pub.try_send(first))
        second = pub.loan(1)
        second.data[0] = 2
        self.assertFalse(second.try_send())
        self.assertFalse(second.sent)
        self.assertEqual(second.data[0], 2)  # still ours
        with sub.take() as s:
            self.assertEqual(s.data[0], 1)
        self.assertTrue(second.try_send())
        with sub.take() as s:
            self.assertEqual(s.data[0], 2)

    def test_sent_loan_views_are_dead(self):
        node = self.node()
        pub = node.publisher("py/dead")
        loan = pub.loan(4)
        view = loan.data
        loan.send()
        with self.assertRaises(ValueError):
            view[0] = 1  # the loan's memoryview is released at send
        with self.assertRaises(ValueError):
            loan.data
        with self.assertRaises(ferry.Error) as cm:
            loan.send()
        self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
        loan.discard()  # no-op once sent

    def test_garbage_collected_loan_is_discarded(self):
        node = self.node()
        pub = node.publisher("py/gc", max_loans=1)
        pub.loan(8)  # dropped at once
        gc.collect()
        self.assertEqual(pub.stats.loans, 0)
        loan = pub.loan(8)  # the one loan allowed is free again
        del loan
        self.assertEqual(pub.stats.loans, 0)

    def test_struct_loans(self):
        node = self.node()
        pub = node.publisher("py/pose", ctype=Pose)
        sub = node.subscriber("py/pose", ctype=Pose)
        self.assertEqual(pub.type_name, "py_test.pose.v1")
        self.assertEqual((pub.max_payload, pub.alignment), (ctypes.sizeof(Pose), ctypes.alignment(Pose)))
        loan = pub.loan()
        p = loan.as_struct(Pose)  # in place, no copy
        p.stamp, p.x, p.y, p.frame = 7, 1.5, -2.5, 3
        del p
        loan.send()
        with sub.take() as s:
            q = s.to_struct(Pose)  # a copy
        self.assertEqual((q.stamp, q.x, q.y, q.frame), (7, 1.5, -2.5, 3))
        with self.assertRaises(TypeError):
            node.publisher("py/pose2", ctype=ctypes.c_double * 3)  # no type name


class MemoryRule(FerryTestCase):
    """Shared memory goes back to ferry only once no Python object reaches it."""

    def test_views_keep_a_released_sample(self):
        node = self.node()
        sub = node.subscriber("py/keep", max_borrowed=1)
        pub = node.publisher("py/keep", max_borrowed=1)
        pub.send_copy(b"first")
        s = sub.take()
        tail = s.data[1:]  # a view made from the sample
        s.release()
        self.assertTrue(s.released)
        self.assertEqual(sub.stats.borrowed, 1)  # still taken: tail reads it
        pub.send_copy(b"second")
        with self.assertRaises(ferry.Error) as cm:
            sub.take()  # max_borrowed
        self.assertEqual(cm.exception.code, ferry.ErrorCode.ELIMIT)
        self.assertIn("still referenced", cm.exception.message)
        self.assertEqual(bytes(tail), b"irst")
        del tail
        self.assertEqual(sub.stats.borrowed, 0)
        with sub.take() as s2:
            self.assertEqual(bytes(s2.data), b"second")

    def test_own_view_dies_with_release(self):
        node = self.node()
        sub = node.subscriber("py/own")
        pub = node.publisher("py/own")
        pub.send_copy(b"x")
        s = sub.take()
        d = s.data
        s.release()
        with self.assertRaises(ValueError):
            d[0]
        self.assertEqual(sub.stats.borrowed, 0)

    def test_garbage_collected_sample_is_released(self):
        node = self.node()
        sub = node.subscriber("py/gcs", max_borrowed=1)
        pub = node.publisher("py/gcs", max_borrowed=1)
        for i in range(5):
            pub.send_copy(bytes([i]))
            self.assertEqual(sub.take().data[0], i)  # dropped at once, given back
        self.assertEqual(sub.stats.borrowed, 0)

    def test_close_refuses_while_views_live(self):
        node = self.node()
        sub = node.subscriber("py/close")
        pub = node.publisher("py/close")
        pub.send_copy(b"abc")
        s = sub.take()
        view = s.data[:2]
        with self.assertRaises(BufferError):
            sub.close()
        self.assertFalse(sub.closed)
        self.assertTrue(s.released)  # close ended the sample object itself
        with self.assertRaises(BufferError):
            node.close()
        self.assertFalse(node.closed or pub.closed)
        self.assertEqual(bytes(view), b"ab")
        del view
        node.close()
        self.assertTrue(sub.closed and pub.closed and node.closed)

    def test_close_ends_loans_and_samples(self):
        node = self.node()
        sub = node.subscriber("py/end")
        pub = node.publisher("py/end")
        loan = pub.loan(4)
        pub.send_copy(b"x")
        s = sub.take()
        node.close()
        with self.assertRaises(ValueError):
            loan.data
        with self.assertRaises(ValueError):
            s.data
        for call in (lambda: pub.loan(1), lambda: sub.take(), lambda: pub.stats, lambda: loan.send()):
            with self.assertRaises(ferry.Error) as cm:
                call()
            self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
        with self.assertRaises(ferry.Error):
            node.publisher("py/end")


class OptionsAndErrors(FerryTestCase):
    def test_incompatible_options(self):
        node = self.node()
        pub = node.publisher("py/inc", type_name="py_test.a.v1", max_payload=16)
        self.assertEqual(pub.type_name, "py_test.a.v1")
        with self.assertRaises(ferry.Error) as cm:
            node.subscriber("py/inc", type_name="py_test.b.v1", max_payload=16)
        e = cm.exception
        self.assertEqual(e.code, ferry.ErrorCode.EINCOMPATIBLE)
        self.assertIn("py_test.b.v1", e.message)
        self.assertTrue(str(e).startswith("EINCOMPATIBLE: "))
        for kwargs in ({"max_payload": 32}, {"alignment": 16}, {"overflow": "block"}):
            with self.assertRaises(ferry.Error) as cm:
                node.subscriber("py/inc", type_name="py_test.a.v1", **dict({"max_payload": 16}, **kwargs))
            self.assertEqual(cm.exception.code, ferry.ErrorCode.EINCOMPATIBLE)

    def test_bad_arguments(self):
        for kwargs in ({"name": ""}, {"name": "n", "domain": "bad domain"}, {"name": "n", "domain": "x" * 33}):
            with self.assertRaises(ferry.Error) as cm:
                ferry.Node(**kwargs)
            self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
            self.assertTrue(cm.exception.message)
        node = self.node()
        for service in ("/lead", "a//b", "a/../b", ""):
            with self.assertRaises(ferry.Error) as cm:
                node.publisher(service)
            self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
        with self.assertRaises(ferry.Error):
            node.publisher("py/q", queue_capacity=0)
        with self.assertRaises(TypeError):
            ferry.Node(42)
        with self.assertRaises(TypeError):
            ferry.Publisher("not a node", "py/x")
        with self.assertRaises(ValueError):
            node.publisher("py/x", overflow="sideways")
        with self.assertRaises(ValueError):
            node.publisher("py/x", history=-1)

    def test_domain_from_environment(self):
        old = os.environ.get("FERRY_DOMAIN")
        os.environ["FERRY_DOMAIN"] = self.domain
        try:
            node = ferry.Node("py_env")
            self._nodes.append(node)
            self.assertEqual(node.domain, self.domain)
            pub = node.publisher("py/env")
            self.assertEqual([s.name for s in ferry.list_services()], ["py/env"])
            pub.close()
        finally:
            if old is None:
                del os.environ["FERRY_DOMAIN"]
            else:
                os.environ["FERRY_DOMAIN"] = old

    def test_error_values(self):
        e = ferry.Error(ferry.ErrorCode.ENOTFOUND)
        text = ferry._capi.ferry_strerror(-9).decode()
        self.assertEqual(str(e), "ENOTFOUND: " + text)
        self.assertEqual(str(ferry.Error(-1, "why")), "EINVAL: %s: why" % ferry._capi.ferry_strerror(-1).decode())
        self.assertEqual(ferry.Error(-99, "odd").code, -99)
        self.assertEqual(ferry.version(), ferry.__version__)
        self.assertRegex(ferry.version(), r"^\d+\.\d+\.\d+$")


class Listing(FerryTestCase):
    def test_services_and_nodes(self):
        node = self.node("py_lister")
        # (Ports close when garbage collected: keep them.)
        ports = [
            node.publisher("py/list/a", ctype=Pose, history=1, queue_capacity=8, overflow="block"),
            node.subscriber("py/list/a", ctype=Pose, history=1, queue_capacity=8, overflow="block"),
            node.subscriber("py/list/b"),
        ]
        services = {s.name: s for s in ferry.list_services(self.domain)}
        self.assertEqual(sorted(services), ["py/list/a", "py/list/b"])
        a = services["py/list/a"]
        self.assertEqual(a.pattern, ferry.Pattern.PUBSUB)
        self.assertEqual(a.type_name, "py_test.pose.v1")
        self.assertEqual((a.max_payload, a.alignment), (ctypes.sizeof(Pose), ctypes.alignment(Pose)))
        self.assertEqual((a.history, a.queue_capacity, a.overflow), (1, 8, ferry.Overflow.BLOCK))
        self.assertEqual((a.publishers, a.subscribers), (1, 1))
        b = services["py/list/b"]
        self.assertEqual((b.type_name, b.max_payload, b.publishers, b.subscribers), ("bytes", 4096, 0, 1))
        nodes = ferry.list_nodes(self.domain)
        self.assertEqual(len(nodes), 1)
        self.assertEqual((nodes[0].name, nodes[0].id, nodes[0].pid, nodes[0].alive), ("py_lister", node.id, os.getpid(), True))
        self.assertEqual(ferry.cleanup(self.domain), 0)
        del ports
        self.assertEqual(ferry.list_services(self.domain), [])  # collected ports closed

    def test_cleanup_after_a_dead_process(self):
        # A child opens a node and a publisher, then dies without closing them.
        child = textwrap.dedent(
            """
            import os, sys, ferry
            node = ferry.Node("py_doomed", domain=sys.argv[1])
            pub = node.publisher("py/doomed")
            pub.send_copy(b"last words")
            os._exit(0)
            """
        )
        subprocess.run([sys.executable, "-c", child, self.domain], check=True, timeout=20)
        self.assertNotEqual(leftovers(self.domain), [])
        nodes = ferry.list_nodes(self.domain)
        self.assertEqual([(n.name, n.alive) for n in nodes], [("py_doomed", False)])
        self.assertGreater(ferry.cleanup(self.domain), 0)
        self.assertEqual(ferry.list_nodes(self.domain), [])
        self.assertEqual(leftovers(self.domain), [])

    def test_listing_errors(self):
        with self.assertRaises(ferry.Error) as cm:
            ferry.list_services("no way")
        self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)
        self.assertEqual(ferry.list_services(self.domain), [])


class Threads(FerryTestCase):
    def test_publisher_and_subscriber_threads(self):
        node = self.node()
        count = 2000
        sub = node.subscriber("py/threads", overflow="block", queue_capacity=8)
        pub = node.publisher("py/threads", overflow="block", queue_capacity=8)
        errors = []

        def publish():
            try:
                for i in range(count):
                    loan = pub.loan(8)
                    loan.data[:] = i.to_bytes(8, "little")
                    loan.send()
            except Exception as e:  # reported by the main thread
                errors.append(e)

        def receive():
            try:
                for i in range(count):
                    s = sub.take(timeout=10)
                    if s is None:
                        raise AssertionError("timed out at sample %d" % i)
                    with s:
                        if int.from_bytes(s.data, "little") != i or s.info.sequence != i + 1:
                            raise AssertionError("sample %d is wrong" % i)
            except Exception as e:
                errors.append(e)

        threads = [threading.Thread(target=receive), threading.Thread(target=publish)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(errors, [])
        self.assertEqual(sub.stats.received, count)
        self.assertEqual(sub.stats.lost, 0)


if __name__ == "__main__":
    unittest.main()
