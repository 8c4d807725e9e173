"""Shared helpers of the Python binding tests: a domain per test, and a check
that nothing of it is left in /dev/shm."""

import glob
import os
import unittest

import ferry

SHM_DIR = "/dev/shm"


def leftovers(domain):
    return sorted(glob.glob(os.path.join(SHM_DIR, "ferry.%s.*" % domain)))


class FerryTestCase(unittest.TestCase):
    """Gives each test its own domain ("py_<test>_<pid>", at most 32
    characters) and checks after it that the domain left nothing behind."""

    def setUp(self):
        name = self._testMethodName
        if name.startswith("test_"):
            name = name[5:]
        self.domain = "py_%s_%d" % (name[:16], os.getpid())
        assert len(self.domain) <= 32, self.domain
        self._nodes = []

    def node(self, name="py_test", **kwargs):
        """A node in the test's domain, closed (if still open) after the test."""
        kwargs.setdefault("domain", self.domain)
        n = ferry.Node(name, **kwargs)
        self._nodes.append(n)
        return n

    def tearDown(self):
        for n in self._nodes:
            n.close()
        left = leftovers(self.domain)
        for path in left:
            os.unlink(path)
        self.assertEqual(left, [], "shared-memory objects left behind")
