"""C++ and Python in two processes: the C++ example publisher
(examples/cpp/publisher.cpp) feeds a Python subscriber, and a Python
publisher feeds the C++ example subscriber. Content is checked field by
field. The executables come from env FERRY_CPP_PUBLISHER and
FERRY_CPP_SUBSCRIBER (set by ctest when examples/cpp is built)."""

import ctypes
import json
import math
import os
import subprocess
import time
import unittest

import ferry
from support import FerryTestCase


class Imu(ctypes.Structure):
    """imu::Sample of examples/cpp/imu.hpp (and imu_sample of examples/pubsub)."""

    _fields_ = [
        ("measured_ns", ctypes.c_uint64),
        ("frame", ctypes.c_uint32),
        ("temperature_c", ctypes.c_float),
        ("accel", ctypes.c_float * 3),
        ("gyro", ctypes.c_float * 3),
    ]
    ferry_type_name = "ferry_example.imu_sample.v1"


SERVICE = "sensors/imu/front"
IMU_OPTIONS = dict(ctype=Imu, queue_capacity=16, overflow=ferry.Overflow.BLOCK)


def f32(x):
    return ctypes.c_float(x).value


def expected(frame):
    """What the example publisher's read_sensor() writes, rounded to float32."""
    t = frame * 0.01
    return dict(
        temperature_c=f32(31.5 + f32(0.2 * math.sin(t * 0.1))),
        accel=[f32(0.05 * math.sin(t)), f32(0.05 * math.cos(t)), f32(9.81)],
        gyro=[0.0, 0.0, f32(0.1 * math.sin(t * 0.5))],
    )


def setUpModule():
    if not os.environ.get("FERRY_CPP_PUBLISHER") and not os.environ.get("FERRY_CPP_SUBSCRIBER"):
        print("SKIP_ALL: FERRY_CPP_PUBLISHER and FERRY_CPP_SUBSCRIBER are not set (examples/cpp is not built)")
        raise unittest.SkipTest("the C++ examples are not built")


def executable(var):
    path = os.environ.get(var)
    if not path:
        raise unittest.SkipTest("%s is not set (examples/cpp is not part of this build)" % var)
    return path


class CppToPython(FerryTestCase):
    def test_cpp_publisher_python_subscriber(self):
        """A C++ publisher, a Python subscriber and the C command line (`ferry
        echo` as a second subscriber, `ferry list`) in the same run."""
        publisher = executable("FERRY_CPP_PUBLISHER")
        cli = os.environ.get("FERRY_CLI")
        count = 60
        node = self.node("py_imu_monitor")
        sub = node.subscriber(SERVICE, **IMU_OPTIONS)
        self.assertEqual(sub.max_payload, 40)
        echo = None
        subscribers = 1
        if cli:
            echo = subprocess.Popen(
                [cli, "echo", SERVICE, "--domain", self.domain, "--count", str(count), "--timeout", "20", "--json"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            subscribers = 2
            # Wait until the C tool's subscriber is there, as `ferry list` sees it.
            deadline = time.monotonic() + 10
            while True:
                listing = subprocess.run([cli, "list", "--domain", self.domain, "--json"], capture_output=True,
                                         text=True, timeout=10)
                self.assertEqual(listing.returncode, 0, listing.stderr)
                services = {s["name"]: s for s in json.loads(listing.stdout)}
                if SERVICE in services and services[SERVICE]["subscribers"] >= 2:
                    break
                self.assertLess(time.monotonic(), deadline, "ferry echo never subscribed: %s" % listing.stdout)
                time.sleep(0.02)
        proc = subprocess.Popen(
            [publisher, "--domain", self.domain, "--count", str(count), "--rate", "2000", "--subscribers",
             str(subscribers), "--timeout", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            publisher_id = None
            for frame in range(count):
                s = sub.take(timeout=20)
                self.assertIsNotNone(s, "no sample %d from the C++ publisher" % frame)
                with s:
                    imu = s.to_struct(Imu)
                    info = s.info
                self.assertEqual(info.size, ctypes.sizeof(Imu))
                self.assertEqual(imu.frame, frame)
                self.assertEqual(info.sequence, frame + 1)
                publisher_id = publisher_id or info.publisher_id
                self.assertEqual(info.publisher_id, publisher_id)
                # Both stamps are CLOCK_MONOTONIC, which time.monotonic_ns() reads too.
                self.assertLessEqual(imu.measured_ns, info.timestamp_ns)
                self.assertLessEqual(info.timestamp_ns, time.monotonic_ns())
                want = expected(frame)
                self.assertAlmostEqual(imu.temperature_c, want["temperature_c"], places=5)
                for got, w in zip(list(imu.accel) + list(imu.gyro), want["accel"] + want["gyro"]):
                    self.assertAlmostEqual(got, w, places=6)
            out, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("publisher: sent %d sample(s) to %d subscriber(s)" % (count, subscribers), out)
        self.assertEqual(sub.stats.lost, 0)
        if echo:
            echo_out, echo_err = echo.communicate(timeout=20)
            self.assertEqual(echo.returncode, 0, echo_err)
            lines = [json.loads(line) for line in echo_out.splitlines() if line.strip()]
            self.assertEqual(len(lines), count, echo_out[-500:])
            self.assertEqual([line["sequence"] for line in lines], list(range(1, count + 1)))


class PythonToCpp(FerryTestCase):
    def test_python_publisher_cpp_subscriber(self):
        subscriber = executable("FERRY_CPP_SUBSCRIBER")
        count = 40
        node = self.node("py_imu_driver")
        pub = node.publisher(SERVICE, **IMU_OPTIONS)
        proc = subprocess.Popen(
            [subscriber, "--domain", self.domain, "--count", str(count), "--timeout", "20"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            self.assertTrue(pub.wait_for_subscribers(1, timeout=20), "the C++ subscriber did not connect")
            for frame in range(count):
                loan = pub.loan()
                imu = loan.as_struct(Imu)  # filled in place in shared memory
                imu.measured_ns = time.monotonic_ns()
                imu.frame = frame  # the subscriber checks sequence == frame + 1
                imu.temperature_c = 20.0
                imu.accel[:] = [0.0, 0.0, 9.81]
                imu.gyro[:] = [0.0, 0.0, 0.5]
                del imu
                loan.send()
            out, _ = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, out)
        self.assertIn("subscriber: received %d sample(s), lost 0, mismatched 0," % count, out)
        lines = [l for l in out.splitlines() if l.startswith("seq ")]
        self.assertEqual(len(lines), count)
        self.assertIn("accel  0.000  0.000  9.810 m/s2  gyro_z  0.500 rad/s  20.0 C", lines[-1])


if __name__ == "__main__":
    unittest.main()
