"""Events, request-response and shared state from Python."""

import os
import select
import threading
import time
import unittest

import ferry
from support import FerryTestCase


class Events(FerryTestCase):
    def test_notify_and_wait(self):
        node = self.node()
        listener = node.listener("py/ev", max_event_id=127)
        notifier = node.notifier("py/ev", max_event_id=127)
        self.assertEqual(listener.try_wait(), [])
        self.assertEqual(listener.wait(0.01), [])
        notifier.notify(5)
        notifier.notify(3)
        notifier.notify(5)
        self.assertEqual(listener.wait(1.0), [3, 5])
        for i in range(128):
            notifier.notify(i)
        self.assertEqual(listener.try_wait(), list(range(128)))
        with self.assertRaises(ferry.Error) as cm:
            notifier.notify(128)
        self.assertEqual(cm.exception.code, ferry.ErrorCode.EINVAL)

        fd = listener.fileno()
        notifier.notify(7)
        r, _, _ = select.select([fd], [], [], 1.0)
        self.assertEqual(r, [fd])
        self.assertEqual(listener.try_wait(), [7])

        t = threading.Thread(target=lambda: (time.sleep(0.02), notifier.notify(9)))
        t.start()
        self.assertEqual(listener.wait(2.0), [9])
        t.join()

        notifier.close()
        ids = listener.wait(2.0)
        self.assertEqual(ids[-1], ferry.PEER_GONE)

    def test_incompatible(self):
        node = self.node()
        listener = node.listener("py/ev2", max_event_id=10)  # keeps the service
        with self.assertRaises(ferry.Error) as cm:
            node.notifier("py/ev2", max_event_id=11)
        self.assertEqual(cm.exception.code, ferry.ErrorCode.EINCOMPATIBLE)
        listener.close()


class RequestResponse(FerryTestCase):
    def test_roundtrip(self):
        node = self.node()
        client = node.client("py/rr")
        self.assertIsNone(client.take())
        self.assertFalse(client.wait(0.01))  # no call open
        self.assertFalse(client.wait_for_server(0))
        with self.assertRaises(ferry.Error) as cm:
            client.send_copy(b"x")
        self.assertEqual(cm.exception.code, ferry.ErrorCode.ENOTFOUND)
        server = node.server("py/rr")
        self.assertTrue(client.wait_for_server(1.0))

        # zero-copy request, a loaned and a copied response, explicit finish
        loan = client.loan(5)
        loan.data[:] = b"hello"
        call_id = loan.send()
        self.assertTrue(loan.sent)
        self.assertEqual(client.pending, 1)
        with server.take(1.0) as call:
            self.assertEqual(bytes(call.data), b"hello")
            self.assertTrue(call.data.readonly)
            resp = call.loan(3)
            resp.data[:] = b"abc"
            self.assertTrue(resp.send())
            self.assertTrue(call.respond_copy(bytearray(b"def")))
        self.assertTrue(call.finished)
        got = []
        while True:
            r = client.take(1.0)
            self.assertIsNotNone(r)
            with r:
                self.assertEqual(r.call_id, call_id)
                self.assertFalse(r.disconnected)
                if r.has_payload:
                    self.assertTrue(r.data.readonly)
                    got.append(r.tobytes())
                if r.last:
                    break
        self.assertEqual(got, [b"abc", b"def"])
        self.assertEqual(client.pending, 0)

        # call(): one request, every response; a last response needs no marker
        t = threading.Thread(target=self._serve_one, args=(server,))
        t.start()
        self.assertEqual(client.call(b"ping", timeout=5.0), [b"PING", b"pong"])
        t.join()

    @staticmethod
    def _serve_one(server):
        call = server.take(5.0)
        call.respond_copy(bytes(call.data).upper())
        call.respond_copy(b"pong", last=True)
        assert call.finish()

    def test_dropped_call_is_finished(self):
        node = self.node()
        client = node.client("py/rr2")
        server = node.server("py/rr2")
        client.send_copy(b"q")
        call = server.take(1.0)
        view = call.data[:1]  # keeps the request
        self.assertFalse(call.finish())  # deferred: a view is alive
        self.assertEqual(bytes(view), b"q")
        del view, call
        self.assertIsNone(server.take())  # the server's next call finishes it
        r = client.take(1.0)
        self.assertTrue(r.last and not r.has_payload)
        self.assertEqual(client.pending, 0)

    def test_abort(self):
        node = self.node()
        client = node.client("py/rr-abort")
        server = node.server("py/rr-abort")
        call_id = client.send_copy(b"q")
        call = server.take(1.0)
        self.assertTrue(call.respond_copy(b"part"))
        self.assertTrue(call.abort())
        self.assertTrue(call.finished)
        self.assertTrue(call.abort())  # no-op once ended
        r = client.take(1.0)
        with r:
            self.assertEqual((r.call_id, r.tobytes(), r.last, r.disconnected), (call_id, b"part", False, False))
        r = client.take(1.0)
        self.assertEqual((r.call_id, r.has_payload, r.last, r.disconnected), (call_id, False, True, True))
        self.assertEqual(client.pending, 0)

    def test_server_closed_mid_call(self):
        # Closing a server finishes its open calls: the client sees the end
        # of the stream. (A server that dies is reported as disconnected:
        # see the C++ multi-process test.)
        node = self.node()
        client = node.client("py/rr3")
        server = node.server("py/rr3")
        call_id = client.send_copy(b"q")
        call = server.take(1.0)
        self.assertIsNotNone(call)
        server.close()
        self.assertTrue(call.finished)
        r = client.take(2.0)
        self.assertTrue(r.last)
        self.assertEqual(r.call_id, call_id)

    def test_close_refuses_with_views(self):
        node = self.node()
        client = node.client("py/rr4")
        server = node.server("py/rr4")
        client.send_copy(b"abc")
        call = server.take(1.0)
        view = call.data[:]
        with self.assertRaises(BufferError):
            server.close()
        del view, call
        server.close()


class SharedState(FerryTestCase):
    def test_write_and_read(self):
        node = self.node()
        reader = node.state_reader("py/state", max_size=64)
        self.assertIsNone(reader.read())
        self.assertEqual(reader.get(), (None, 0))
        self.assertIs(reader.wait(0, 0.01), ferry.WaitResult.TIMED_OUT)
        writer = node.state_writer("py/state", max_size=64)
        with self.assertRaises(ferry.Error) as cm:
            node.state_writer("py/state", max_size=64)
        self.assertEqual(cm.exception.code, ferry.ErrorCode.ELIMIT)
        self.assertEqual(writer.write(b"one"), 1)
        self.assertIs(reader.wait(0, 1.0), ferry.WaitResult.READY)
        with reader.read() as r:
            self.assertEqual((bytes(r.data), r.version), (b"one", 1))
            self.assertTrue(r.data.readonly)
            with self.assertRaises(ferry.Error) as cm:
                reader.read()
            self.assertEqual(cm.exception.code, ferry.ErrorCode.ELIMIT)
            loan = writer.loan(3)
            loan.data[:] = b"two"
            self.assertEqual(loan.publish(), 2)
            self.assertEqual(bytes(r.data), b"one")  # an open read does not change
        with reader.read() as (data, version):
            self.assertEqual((bytes(data), version), (b"two", 2))
        self.assertEqual(reader.get(), (b"two", 2))
        writer.loan().discard()

        t = threading.Thread(target=lambda: (time.sleep(0.02), writer.write(b"three")))
        t.start()
        self.assertIs(reader.wait(2, 2.0), ferry.WaitResult.READY)
        t.join()
        writer.close()
        self.assertIs(reader.wait(3, 2.0), ferry.WaitResult.DISCONNECTED)
        self.assertEqual(reader.get(), (b"three", 3))

    def test_read_released_when_no_views(self):
        node = self.node()
        writer = node.state_writer("py/state2")
        reader = node.state_reader("py/state2")
        writer.write(b"abc")
        r = reader.read()
        view = r.data[1:]
        r.end()
        with self.assertRaises(ferry.Error):  # the view keeps the read open
            reader.read()
        self.assertEqual(bytes(view), b"bc")
        del view
        with reader.read() as r2:
            self.assertEqual(bytes(r2.data), b"abc")


if __name__ == "__main__":
    unittest.main()
