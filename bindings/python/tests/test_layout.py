"""The ctypes declarations of the package against ferry.h: sizes and field
offsets as printed by layout.c, a C program compiled against the header
(path in env FERRY_PY_LAYOUT, set by ctest)."""

import ctypes
import os
import subprocess
import unittest

from ferry import _capi as C

STRUCTS = {
    "ferry_node_opts": C.NodeOpts,
    "ferry_pubsub_opts": C.PubSubOpts,
    "ferry_sample_info": C.SampleInfo,
    "ferry_pub_stats": C.PubStats,
    "ferry_sub_stats": C.SubStats,
    "ferry_wait_opts": C.WaitOpts,
    "ferry_event_opts": C.EventOpts,
    "ferry_state_opts": C.StateOpts,
    "ferry_reqres_opts": C.ReqResOpts,
    "ferry_event_info": C.EventInfo,
    "ferry_service_info": C.ServiceInfo,
    "ferry_node_info": C.NodeInfo,
    # enums are passed as C int
    "ferry_overflow": ctypes.c_int,
    "ferry_pattern": ctypes.c_int,
    "ferry_source_kind": ctypes.c_int,
}


def setUpModule():
    if not os.environ.get("FERRY_PY_LAYOUT"):
        print("SKIP_ALL: FERRY_PY_LAYOUT (the layout program) is not set")
        raise unittest.SkipTest("FERRY_PY_LAYOUT is not set")


class Layout(unittest.TestCase):
    def test_structs_match_the_header(self):
        out = subprocess.run([os.environ["FERRY_PY_LAYOUT"]], check=True, capture_output=True, text=True).stdout
        seen = set()
        for line in out.splitlines():
            what, value = line.rsplit(" ", 1)
            value = int(value)
            if what.endswith(" size"):
                name = what[: -len(" size")]
                self.assertIn(name, STRUCTS, "layout.c prints a struct the test does not know")
                self.assertEqual(ctypes.sizeof(STRUCTS[name]), value, "sizeof(%s)" % name)
            else:
                name, field = what.split(".")
                self.assertEqual(getattr(STRUCTS[name], field).offset, value, "offsetof(%s, %s)" % (name, field))
                seen.add((name, field))
        # Every ctypes field was checked: a field added on one side only fails.
        for name, cls in STRUCTS.items():
            for field in getattr(cls, "_fields_", []):
                self.assertIn((name, field[0]), seen, "%s.%s is not in layout.c" % (name, field[0]))


if __name__ == "__main__":
    unittest.main()
