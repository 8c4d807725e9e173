"""The ferry Python API over the C library (see ferry/__init__.py and
docs/python.md).

Memory rule, which every zero-copy object here follows: shared memory handed
to Python (a loan's or a sample's bytes) is given back to ferry only once
nothing in Python can reach it any more. Each loan or sample owns one ctypes
buffer over its memory; every memoryview, numpy array or ctypes struct made
from it keeps that buffer alive, and a weak reference tells the port when it
dies. release()/discard() drop the object's own references, and the
release (or discard) happens in C then, or later, on the port's next call,
if views of it are still alive. close() refuses (BufferError) while such
views exist, because it unmaps the memory.

Sending is the exception: send() hands the bytes to subscribers at once, so a
view of a sent loan that is still alive must not be written to any more (the
loan's own memoryview is released and its numpy arrays turn read-only).
"""

import collections
import ctypes
import enum
import itertools
import os
import threading
import time
import weakref

from . import _capi as C

__all__ = [
    "Error",
    "ErrorCode",
    "Overflow",
    "Pattern",
    "WaitResult",
    "SampleInfo",
    "PublisherStats",
    "SubscriberStats",
    "ServiceInfo",
    "NodeInfo",
    "Node",
    "Publisher",
    "Subscriber",
    "Loan",
    "Sample",
    "PEER_GONE",
    "Notifier",
    "Listener",
    "Client",
    "Server",
    "Call",
    "RequestLoan",
    "Response",
    "ResponseLoan",
    "StateWriter",
    "StateReader",
    "StateLoan",
    "StateRead",
    "list_services",
    "list_nodes",
    "cleanup",
    "version",
]

# ---- errors -----------------------------------------------------------------


class ErrorCode(enum.IntEnum):
    """The FERRY_E* codes of ferry.h."""

    OK = C.FERRY_OK
    EINVAL = C.FERRY_EINVAL
    ENOMEM = C.FERRY_ENOMEM
    EAGAIN = C.FERRY_EAGAIN
    ETIMEDOUT = C.FERRY_ETIMEDOUT
    EINCOMPATIBLE = C.FERRY_EINCOMPATIBLE
    EPERM = C.FERRY_EPERM
    ECORRUPT = C.FERRY_ECORRUPT
    ELIMIT = C.FERRY_ELIMIT
    ENOTFOUND = C.FERRY_ENOTFOUND
    ENOSPC = C.FERRY_ENOSPC
    ESYSTEM = C.FERRY_ESYSTEM
    EDISCONNECTED = C.FERRY_EDISCONNECTED


class Error(Exception):
    """A failed ferry call. ``code`` is the ferry error code (an ErrorCode
    where known), ``message`` the library's detailed message, which says what
    to change; str() reads "NAME: code text: message"."""

    def __init__(self, code, message=""):
        code = int(code)
        try:
            code = ErrorCode(code)
            name = code.name
        except ValueError:
            name = "E%d" % code
        self.code = code
        self.message = message
        text = C.ferry_strerror(code).decode("utf-8", "replace")
        super().__init__("%s: %s%s" % (name, text, ": " + message if message else ""))


def _raise(rc, hint=""):
    """Raises the calling thread's last ferry error (rc: what the call returned)."""
    message = C.ferry_last_error_message().decode("utf-8", "replace")
    raise Error(rc, message + hint)


def _encode(value, what):
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))


def _encode_domain(domain):
    return None if domain is None else _encode(domain, "domain")


def _closed_error(what):
    return Error(C.FERRY_EINVAL, "%s is closed" % what)


# ---- value types ------------------------------------------------------------


class Overflow(enum.IntEnum):
    """What a publisher does when a subscriber's queue is full."""

    DROP_OLDEST = C.FERRY_OVERFLOW_DROP_OLDEST  # never wait; the subscriber loses the oldest
    BLOCK = C.FERRY_OVERFLOW_BLOCK  # wait for room; nothing is lost


class Pattern(enum.IntEnum):
    """A service's messaging pattern."""

    PUBSUB = C.FERRY_PATTERN_PUBSUB
    EVENT = C.FERRY_PATTERN_EVENT
    STATE = C.FERRY_PATTERN_STATE
    REQRES = C.FERRY_PATTERN_REQRES


class WaitResult(enum.Enum):
    """What Subscriber.wait() saw."""

    READY = "ready"  # take() will find a sample
    TIMED_OUT = "timed_out"  # nothing came in time
    DISCONNECTED = "disconnected"  # a publisher went away, nothing queued (once per departure)


SampleInfo = collections.namedtuple("SampleInfo", "sequence timestamp_ns publisher_id size")
SampleInfo.__doc__ = """Metadata of a sample: per-publisher sequence (1 for its first sample),
CLOCK_MONOTONIC nanoseconds at send (time.monotonic_ns() compares), the sending
publisher's id and the payload size in bytes."""

PublisherStats = collections.namedtuple("PublisherStats", "sent subscribers loans")
SubscriberStats = collections.namedtuple("SubscriberStats", "received lost publishers borrowed")
ServiceInfo = collections.namedtuple(
    "ServiceInfo",
    "name pattern type_name max_payload alignment history queue_capacity max_publishers "
    "max_subscribers max_loans max_borrowed overflow publishers subscribers response_type",
)
NodeInfo = collections.namedtuple("NodeInfo", "name id pid uid alive")


def _overflow(value):
    if isinstance(value, str):
        try:
            return Overflow[value.upper()]
        except KeyError:
            raise ValueError("overflow must be 'drop_oldest' or 'block', not %r" % value) from None
    return Overflow(value)


def _numpy():
    try:
        import numpy
    except ImportError:
        raise ImportError("ferry: as_array() needs numpy, which is not installed") from None
    return numpy


# ---- nodes ------------------------------------------------------------------


class _NodeState:
    """What the node's finalizer needs; shared with its ports."""

    __slots__ = ("handle",)

    def __init__(self, handle):
        self.handle = handle


def _close_node(state):
    handle, state.handle = state.handle, None
    if handle:
        C.ferry_node_close(handle)  # also closes what ports are left in C


class Node:
    """A process's presence in a ferry domain.

    ``Node(name, domain=None, mode=0o600, group=-1)``: name is 1-63 printable
    characters; domain None means env FERRY_DOMAIN, else "default"; mode and
    group apply to every shared-memory object the node creates.

    Ports (publishers, subscribers) keep their node alive. close() closes the
    node's ports, then the node; so does the end of a ``with`` block.
    """

    def __init__(self, name, domain=None, mode=0o600, group=-1):
        opts = C.NodeOpts()
        C.ferry_node_opts_init(ctypes.byref(opts))
        opts.domain = _encode_domain(domain)
        opts.mode = mode
        opts.group = group
        handle = ctypes.c_void_p()
        rc = C.ferry_node_open(ctypes.byref(handle), _encode(name, "name"), ctypes.byref(opts))
        if rc:
            _raise(rc)
        self._state = _NodeState(handle.value)
        self._ports = weakref.WeakSet()
        self._finalizer = weakref.finalize(self, _close_node, self._state)
        self.name = C.ferry_node_name(handle).decode()
        self.domain = C.ferry_node_domain(handle).decode()
        self.id = C.ferry_node_id(handle)

    def notifier(self, service, **options):
        """Opens a Notifier on service."""
        return Notifier(self, service, **options)

    def listener(self, service, **options):
        """Opens a Listener on service."""
        return Listener(self, service, **options)

    def client(self, service, **options):
        """Opens a request-response Client on service."""
        return Client(self, service, **options)

    def server(self, service, **options):
        """Opens a request-response Server on service."""
        return Server(self, service, **options)

    def state_writer(self, service, **options):
        """Opens the StateWriter of a shared-state service."""
        return StateWriter(self, service, **options)

    def state_reader(self, service, **options):
        """Opens a StateReader on a shared-state service."""
        return StateReader(self, service, **options)

    def publisher(self, service, **options):
        """Opens a Publisher on service; options as for Publisher."""
        return Publisher(self, service, **options)

    def subscriber(self, service, **options):
        """Opens a Subscriber on service; options as for Subscriber."""
        return Subscriber(self, service, **options)

    @property
    def closed(self):
        return self._state.handle is None

    def close(self):
        """Closes every port of the node, then the node. Raises BufferError,
        and closes nothing, while memory of a port is still referenced by a
        view (see Publisher.close)."""
        if self.closed:
            return
        ports = list(self._ports)
        busy = sum(port._prepare_close() for port in ports)
        if busy:
            raise BufferError(
                "ferry: node %r: %d loan(s) or sample(s) are still referenced by memoryviews, "
                "arrays or structs made from them; delete those (or copy the data) before closing" % (self.name, busy)
            )
        for port in ports:
            port._close_now()
        self._finalizer()

    def _handle(self):
        handle = self._state.handle
        if handle is None:
            raise _closed_error("node %r" % self.name)
        return handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<ferry.Node %r domain=%r id=%#x%s>" % (self.name, self.domain, self.id, " closed" if self.closed else "")


# ---- loans and samples ------------------------------------------------------

_HELD = 1  # the C library still counts it as loaned / taken
_DONE = 2  # sent (loans): only the buffer's lifetime is still tracked


class _Record:
    """A port's view of one buffer it handed out."""

    __slots__ = ("ptr", "buf_ref", "state", "owner_ref", "give_back")

    def __init__(self, ptr, buf_ref, owner_ref, give_back=None):
        self.ptr = ptr
        self.buf_ref = buf_ref
        self.state = _HELD
        self.owner_ref = owner_ref
        self.give_back = give_back  # None: the port's _give_back


class _Borrowed:
    """What Loan and Sample share: one ctypes buffer over shared memory and
    the memoryview ``data`` over its first ``len()`` bytes."""

    __slots__ = ("_port", "_token", "_buf", "_view", "_size", "__weakref__")

    def __init__(self, port, token, buf, size, readonly):
        self._port = port
        self._token = token
        self._buf = buf
        self._size = size
        view = memoryview(buf).cast("B")[:size]
        self._view = view.toreadonly() if readonly else view

    @property
    def data(self):
        """A memoryview of the bytes in shared memory (no copy)."""
        view = self._view
        if view is None:
            raise ValueError("ferry: this %s has ended (%s)" % (type(self).__name__.lower(), self._ended_how()))
        return view

    def __len__(self):
        return self._size

    def __bytes__(self):
        return bytes(self.data)

    def tobytes(self):
        """A copy of the bytes."""
        return self.data.tobytes()

    def _drop(self):
        """Forgets the buffer: releases the own memoryview, drops the own
        reference. The buffer lives on while other views reference it."""
        view, self._view, self._buf = self._view, None, None
        if view is not None:
            try:
                view.release()
            except BufferError:
                pass  # exported (e.g. to numpy): the export keeps it alive

    def _ended_how(self):
        return "ended"

    def __enter__(self):
        return self

    def __repr__(self):
        state = "" if self._view is not None else " (%s)" % self._ended_how()
        return "<ferry.%s %d bytes%s>" % (type(self).__name__, self._size, state)


class Loan(_Borrowed):
    """A publisher's loan: ``len(loan)`` writable bytes in shared memory.

    Fill ``data`` (a writable memoryview), ``as_array(dtype)`` (numpy) or
    ``as_struct(ctype)`` in place, then ``send()``. Unsent, it is discarded by
    ``discard()``, at the end of a ``with`` block, or once no view of it is
    left.
    """

    __slots__ = ("_arrays", "_how")

    def __init__(self, port, token, buf, size):
        super().__init__(port, token, buf, size, readonly=False)
        self._arrays = []
        self._how = None

    def as_array(self, dtype="u1", count=-1, offset=0, shape=None):
        """A writable numpy array over the loan (no copy). It turns read-only
        when the loan is sent or discarded."""
        arr = _numpy().frombuffer(self.data, dtype=dtype, count=count, offset=offset)
        if shape is not None:
            arr = arr.reshape(shape)
        self._arrays.append(weakref.ref(arr))
        return arr

    def as_struct(self, ctype):
        """A ctypes Structure (or array) over the start of the loan, no copy.
        Do not use it after send()."""
        return ctype.from_buffer(self.data)

    @property
    def sent(self):
        return self._how == "sent"

    def send(self):
        """Publishes the loan to every connected subscriber. The loan ends
        whatever happens; with Overflow.BLOCK this waits for room."""
        port = self._begin_end()
        with port._lock:
            record = port._record(self._token)
            record.state = _DONE
            self._end("sent")
            rc = C.ferry_pub_send(port._handle(), record.ptr)
            port._flush()
        if rc:
            _raise(rc)

    def try_send(self):
        """Like send() but never waits: False when a subscriber's queue is
        full (Overflow.BLOCK); the loan then stays valid."""
        port = self._begin_end()
        with port._lock:
            record = port._record(self._token)
            rc = C.ferry_pub_try_send(port._handle(), record.ptr)
            if rc == C.FERRY_EAGAIN:
                return False
            record.state = _DONE
            self._end("sent")
            port._flush()
        if rc:
            _raise(rc)
        return True

    def discard(self):
        """Gives the loan back unsent (once no view of it is left). No-op
        once the loan has ended."""
        port = self._port
        if port is None:
            return
        with port._lock:
            self._end("discarded")
            port._flush()

    def __exit__(self, *exc):
        self.discard()

    def _begin_end(self):
        port = self._port
        if port is None:
            raise Error(C.FERRY_EINVAL, "this loan was already %s" % self._how)
        return port

    def _end(self, how):
        self._how = how
        self._port = None
        for ref in self._arrays:
            arr = ref()
            if arr is not None:
                arr.flags.writeable = False
        self._arrays = []
        self._drop()

    def _ended_how(self):
        return self._how or "ended"

    def _end_for_close(self):
        self._end("discarded")


class Sample(_Borrowed):
    """A taken sample: ``len(sample)`` read-only bytes in shared memory, and
    ``info`` (a SampleInfo). Give it back with ``release()`` or a ``with``
    block; views made from it keep it taken until they are gone."""

    __slots__ = ("info",)

    def __init__(self, port, token, buf, size, info):
        super().__init__(port, token, buf, size, readonly=True)
        self.info = info

    def as_array(self, dtype="u1", count=-1, offset=0, shape=None):
        """A read-only numpy array over the sample (no copy)."""
        arr = _numpy().frombuffer(self.data, dtype=dtype, count=count, offset=offset)
        return arr if shape is None else arr.reshape(shape)

    def to_struct(self, ctype):
        """A copy of the start of the sample as a ctypes Structure (or array)."""
        return ctype.from_buffer_copy(self.data)

    @property
    def released(self):
        return self._view is None

    def release(self):
        """Gives the sample back to its publisher (once no view of it is
        left). No-op when already released."""
        port = self._port
        if port is None:
            return
        with port._lock:
            self._port = None
            self._drop()
            port._flush()

    def __exit__(self, *exc):
        self.release()

    def _ended_how(self):
        return "released"

    def _end_for_close(self):
        self._port = None
        self._drop()


# ---- ports ------------------------------------------------------------------


class _PortState:
    """What a port's finalizer needs."""

    __slots__ = ("handle", "node_state", "close_fn")

    def __init__(self, handle, node_state, close_fn):
        self.handle = handle
        self.node_state = node_state
        self.close_fn = close_fn


def _close_port(state):
    handle, state.handle = state.handle, None
    # A closed node has closed its ports in C already.
    if handle and state.node_state.handle is not None:
        state.close_fn(handle)


def _pubsub_opts(
    ctype,
    type_name,
    max_payload,
    alignment,
    history,
    queue_capacity,
    max_publishers,
    max_subscribers,
    max_loans,
    max_borrowed,
    overflow,
    timestamps,
):
    o = C.PubSubOpts()
    C.ferry_pubsub_opts_init(ctypes.byref(o))
    if ctype is not None:
        if max_payload is None:
            max_payload = ctypes.sizeof(ctype)
        if alignment is None:
            alignment = ctypes.alignment(ctype)
        if type_name is None:
            type_name = getattr(ctype, "ferry_type_name", None)
            if type_name is None:
                raise TypeError(
                    "ferry: name the type of %s: pass type_name=, or give the class a "
                    "ferry_type_name attribute" % ctype.__name__
                )
    if type_name is not None:
        o.type_name = _encode(type_name, "type_name")
    for field, value in (
        ("max_payload", max_payload),
        ("alignment", alignment),
        ("history", history),
        ("queue_capacity", queue_capacity),
        ("max_publishers", max_publishers),
        ("max_subscribers", max_subscribers),
        ("max_loans", max_loans),
        ("max_borrowed", max_borrowed),
    ):
        if value is not None:
            if value < 0:
                raise ValueError("%s must be >= 0, not %r" % (field, value))
            setattr(o, field, value)
    if overflow is not None:
        o.overflow = _overflow(overflow)
    o.timestamps = 1 if timestamps else 0
    return o


class _Tracked:
    """What every port shares: the handle, its finalizer, and the buffers
    handed out (see the module's memory rule)."""

    _kind = "port"

    def _setup_tracking(self, node, handle, close_fn, buf_bytes):
        self._state = _PortState(handle, node._state, close_fn)
        self._finalizer = weakref.finalize(self, _close_port, self._state)
        self._lock = threading.RLock()
        self._records = {}  # token -> _Record
        self._pending = collections.deque()  # tokens whose buffer died
        self._tokens = itertools.count(1)
        self._ptr = ctypes.c_void_p()  # out-parameters, reused under the lock
        # One buffer type per port: buf_bytes bytes; a view shows the size.
        self._buf_type = type("_FerryBuffer", (ctypes.c_ubyte * max(1, buf_bytes),), {})
        node._ports.add(self)

    # -- the memory rule

    def _track(self, ptr, owner_cls, *args, give_back=None):
        """Wraps ptr in a buffer, records it, returns owner_cls(self, token, buf, *args).
        give_back(ptr) ends it in C (default: the port's _give_back); it may
        return False to be retried on the next flush."""
        token = next(self._tokens)
        buf = self._buf_type.from_address(ptr)
        buf._ferry_port = self  # the port stays open while the buffer lives
        pending = self._pending
        buf_ref = weakref.ref(buf, lambda _ref, t=token: pending.append(t))
        owner = owner_cls(self, token, buf, *args)
        self._records[token] = _Record(ptr, buf_ref, weakref.ref(owner), give_back)
        return owner

    def _record(self, token):
        return self._records[token]

    def _flush(self):
        """Ends in C what ended in Python and whose buffer is gone (under the lock)."""
        pending = self._pending
        retry = []
        while pending:
            token = pending.popleft()
            record = self._records.get(token)
            if record is None:
                continue
            if record.state == _HELD and self._state.handle is not None:
                if (record.give_back or self._give_back)(record.ptr) is False:
                    retry.append(token)  # e.g. a call whose finish must wait
                    continue
            del self._records[token]
        pending.extend(retry)

    def _lingering(self):
        """Records ended in Python whose buffer a view still holds."""
        return sum(
            1 for r in self._records.values() if r.buf_ref() is not None and (r.owner_ref() is None or r.owner_ref()._port is None)
        )

    def _limit_hint(self):
        n = self._lingering()
        if not n:
            return ""
        return (
            " (%d of them ended in Python but are still referenced by memoryviews, arrays or "
            "structs made from them: delete those to give them back)" % n
        )

    # -- open / close

    def _handle(self):
        handle = self._state.handle
        if handle is None:
            raise _closed_error("%s on %r" % (self._kind, self.service))
        return handle

    @property
    def closed(self):
        return self._state.handle is None

    def _prepare_close(self):
        """Ends every loan or sample object, gives back what nothing references;
        returns how many are still referenced by views."""
        with self._lock:
            if self.closed:
                return 0
            for record in list(self._records.values()):
                owner = record.owner_ref()
                if owner is not None and owner._port is not None:
                    owner._end_for_close()
            self._flush()
            return sum(1 for r in self._records.values() if r.buf_ref() is not None)

    def _close_now(self):
        with self._lock:
            self._records.clear()
            self._pending.clear()
            self._finalizer()

    def close(self):
        """Closes the port. Loans not sent are discarded, samples not released
        are given back. Raises BufferError, and stays open, while a memoryview,
        array or struct made from a loan or sample of this port is alive
        (closing unmaps that memory): delete those or copy the data first."""
        with self._lock:
            busy = self._prepare_close()
            if busy:
                raise BufferError(
                    "ferry: %s on %r: %d loan(s) or sample(s) are still referenced by memoryviews, "
                    "arrays or structs made from them; delete those (or copy the data) before closing"
                    % (self._kind, self.service, busy)
                )
            self._close_now()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<ferry.%s %r type=%r%s>" % (
            type(self).__name__,
            self.service,
            self.type_name,
            " closed" if self.closed else "",
        )


class _Port(_Tracked):
    """What Publisher and Subscriber share: the options of a
    publish-subscribe port."""

    _kind = "port"

    def __init__(
        self,
        node,
        service,
        open_fn,
        close_fn,
        *,
        ctype=None,
        type_name=None,
        max_payload=None,
        alignment=None,
        history=None,
        queue_capacity=None,
        max_publishers=None,
        max_subscribers=None,
        max_loans=None,
        max_borrowed=None,
        overflow=None,
        timestamps=True,
    ):
        if not isinstance(node, Node):
            raise TypeError("node must be a ferry.Node, not %s" % type(node).__name__)
        opts = _pubsub_opts(
            ctype,
            type_name,
            max_payload,
            alignment,
            history,
            queue_capacity,
            max_publishers,
            max_subscribers,
            max_loans,
            max_borrowed,
            overflow,
            timestamps,
        )
        handle = ctypes.c_void_p()
        rc = open_fn(ctypes.byref(handle), node._handle(), _encode(service, "service"), ctypes.byref(opts))
        if rc:
            _raise(rc)
        self.node = node
        self.service = service
        self.type_name = (opts.type_name or b"bytes").decode()
        self.max_payload = opts.max_payload
        self.alignment = opts.alignment
        self.overflow = Overflow(opts.overflow)
        self._setup_tracking(node, handle.value, close_fn, self.max_payload)

class Publisher(_Port):
    """Publishes samples on a service; creates the service if needed.

    ``Publisher(node, service, *, ctype=None, type_name=None, max_payload=None,
    alignment=None, history=None, queue_capacity=None, max_publishers=None,
    max_subscribers=None, max_loans=None, max_borrowed=None, overflow=None,
    timestamps=True)``. None means the C library's default (type "bytes",
    4096 bytes, alignment 8, ...). ``ctype`` (a ctypes Structure) fills
    max_payload and alignment, and type_name from its ``ferry_type_name``
    attribute. type_name, max_payload, alignment and overflow must match the
    service's, or ferry.Error EINCOMPATIBLE names the field.
    """

    _kind = "publisher"

    def __init__(self, node, service, **options):
        super().__init__(node, service, C.ferry_pub_open, C.ferry_pub_close, **options)
        self.id = C.ferry_pub_id(self._state.handle)

    def _give_back(self, ptr):
        C.ferry_pub_discard(self._state.handle, ptr)

    def loan(self, size=None):
        """Loans ``size`` bytes (default: max_payload) of shared memory: a Loan
        whose ``data`` is a writable memoryview. EINVAL for a size outside
        1..max_payload, ELIMIT when max_loans loans are out."""
        if size is None:
            size = self.max_payload
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_pub_loan(handle, size, ctypes.byref(self._ptr))
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            return self._track(self._ptr.value, Loan, size)

    def send_copy(self, data):
        """Copies data (bytes, or any C-contiguous buffer: bytearray,
        memoryview, numpy array) into a loan and sends it."""
        if not isinstance(data, bytes):
            view = memoryview(data).cast("B")
            if view.nbytes:
                loan = self.loan(view.nbytes)
                loan.data[:] = view
                loan.send()
                return
            data = b""  # the library names the problem
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_pub_send_copy(handle, data, len(data))
        if rc:
            _raise(rc)

    def send(self, loan):
        """Same as loan.send()."""
        loan.send()

    def try_send(self, loan):
        """Same as loan.try_send()."""
        return loan.try_send()

    def update(self):
        """Connects subscribers that arrived since the last send and delivers
        history to them (send does this by itself)."""
        with self._lock:
            rc = C.ferry_pub_update(self._handle())
        if rc:
            _raise(rc)

    @property
    def stats(self):
        """PublisherStats(sent, subscribers, loans)."""
        s = C.PubStats()
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_pub_stats_get(handle, ctypes.byref(s))
        if rc:
            _raise(rc)
        return PublisherStats(s.sent, s.subscribers, s.loans)

    def wait_for_subscribers(self, count=1, timeout=None):
        """Polls (update + stats) until ``count`` subscribers are connected;
        False when timeout seconds pass first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.update()
            if self.stats.subscribers >= count:
                return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.001)


class Subscriber(_Port):
    """Receives samples from a service; creates the service if needed.
    Options as for Publisher (timestamps does not apply)."""

    _kind = "subscriber"

    def __init__(self, node, service, **options):
        super().__init__(node, service, C.ferry_sub_open, C.ferry_sub_close, **options)
        self._size = ctypes.c_size_t()
        self._info = C.SampleInfo()

    def _give_back(self, ptr):
        C.ferry_sub_release(self._state.handle, ptr)

    def take(self, timeout=0):
        """The next sample (a Sample), or None when none is queued.

        timeout: 0 (the default) does not wait; a number of seconds waits up
        to that long, None without limit. The wait sleeps in the C library
        (the GIL is released) and wakes when a sample arrives. ELIMIT when
        max_borrowed samples are taken and not released."""
        sample = self._take_once()
        if sample is not None or timeout == 0:
            return sample
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if self.wait(left) is WaitResult.TIMED_OUT:
                return None
            sample = self._take_once()  # a departure (DISCONNECTED) does not end the wait
            if sample is not None:
                return sample

    # Longest single wait in C: Ctrl-C (KeyboardInterrupt) is seen between waits.
    _WAIT_SLICE = 0.1

    def wait(self, timeout=None):
        """Blocks until a sample can be taken (WaitResult.READY), timeout
        seconds pass (TIMED_OUT; None: no limit) or a publisher goes away
        while nothing is queued (DISCONNECTED)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            chunk = self._WAIT_SLICE
            if deadline is not None:
                chunk = min(chunk, max(0.0, deadline - time.monotonic()))
            with self._lock:
                handle = self._handle()
                self._flush()
                rc = C.ferry_sub_wait(handle, int(chunk * 1e9))
                if rc == C.FERRY_OK:
                    return WaitResult.READY
                if rc == C.FERRY_EDISCONNECTED:
                    return WaitResult.DISCONNECTED
                if rc != C.FERRY_ETIMEDOUT:
                    _raise(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return WaitResult.TIMED_OUT

    def fileno(self):
        """A file descriptor that is readable while samples are queued (for
        select, selectors, asyncio's loop.add_reader). Owned by the
        subscriber: do not close or read it."""
        with self._lock:
            fd = C.ferry_sub_fd(self._handle())
            if fd < 0:
                _raise(fd)
        return fd

    def set_wait_options(self, spin_ns=None, liveness_ns=None):
        """How wait() and take(timeout) wait: busy-poll spin_ns before
        sleeping (default 0), check that peers live every liveness_ns while
        asleep (default 100 ms)."""
        opts = C.WaitOpts()
        C.ferry_wait_opts_init(ctypes.byref(opts))
        if spin_ns is not None:
            opts.spin_ns = spin_ns
        if liveness_ns is not None:
            opts.liveness_ns = liveness_ns
        with self._lock:
            rc = C.ferry_sub_set_wait_opts(self._handle(), ctypes.byref(opts))
            if rc:
                _raise(rc)

    def _take_once(self):
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_sub_take(handle, ctypes.byref(self._ptr), ctypes.byref(self._size))
            if rc == C.FERRY_EAGAIN:
                return None
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            ptr = self._ptr.value
            info = self._info
            rc = C.ferry_sub_sample_info(handle, ptr, ctypes.byref(info))
            if rc:
                C.ferry_sub_release(handle, ptr)
                _raise(rc)
            return self._track(
                ptr,
                Sample,
                self._size.value,
                SampleInfo(info.sequence, info.timestamp_ns, info.publisher_id, info.size),
            )

    @property
    def stats(self):
        """SubscriberStats(received, lost, publishers, borrowed)."""
        s = C.SubStats()
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_sub_stats_get(handle, ctypes.byref(s))
        if rc:
            _raise(rc)
        return SubscriberStats(s.received, s.lost, s.publishers, s.borrowed)

# ---- events -----------------------------------------------------------------

PEER_GONE = C.FERRY_EVENT_PEER_GONE


def _timeout_ns(timeout):
    """Seconds (None: no limit) as the C API's nanoseconds."""
    if timeout is None:
        return C.FERRY_FOREVER
    return max(0, int(timeout * 1e9))


def _open(open_fn, node, service, opts):
    if not isinstance(node, Node):
        raise TypeError("node must be a ferry.Node, not %s" % type(node).__name__)
    handle = ctypes.c_void_p()
    rc = open_fn(ctypes.byref(handle), node._handle(), _encode(service, "service"), ctypes.byref(opts))
    if rc:
        _raise(rc)
    return handle.value


def _set_fields(o, **values):
    for field, value in values.items():
        if value is not None:
            if value < 0:
                raise ValueError("%s must be >= 0, not %r" % (field, value))
            setattr(o, field, value)


def _event_opts(max_event_id, max_notifiers, max_listeners):
    o = C.EventOpts()
    C.ferry_event_opts_init(ctypes.byref(o))
    _set_fields(o, max_event_id=max_event_id, max_notifiers=max_notifiers, max_listeners=max_listeners)
    return o


class _SimplePort(_Tracked):
    """A port of the other patterns: opened here, closed like the others."""

    def _open_port(self, node, service, open_fn, close_fn, opts, buf_bytes):
        handle = _open(open_fn, node, service, opts)
        self.node = node
        self.service = service
        self._setup_tracking(node, handle, close_fn, buf_bytes)

    def __repr__(self):
        return "<ferry.%s %r%s>" % (type(self).__name__, self.service, " closed" if self.closed else "")


class Notifier(_SimplePort):
    """Raises numbered events at every listener of an event service.

    ``Notifier(node, service, *, max_event_id=None, max_notifiers=None,
    max_listeners=None)``: ids 0..max_event_id (default 63, at most 4095;
    must match the service's)."""

    _kind = "notifier"

    def __init__(self, node, service, *, max_event_id=None, max_notifiers=None, max_listeners=None):
        opts = _event_opts(max_event_id, max_notifiers, max_listeners)
        self._open_port(node, service, C.ferry_notifier_open, C.ferry_notifier_close, opts, 1)

    def notify(self, event_id):
        """Raises event_id; raises of one id before a listener collects it count once."""
        with self._lock:
            rc = C.ferry_notifier_notify(self._handle(), event_id)
        if rc:
            _raise(rc)


class Listener(_SimplePort):
    """Collects the events of an event service: lists of ids in increasing
    order, ferry.PEER_GONE (a notifier went away) last. Options as for
    Notifier."""

    _kind = "listener"
    _CHUNK = 64
    _WAIT_SLICE = 0.1  # longest single wait in C: Ctrl-C is seen between waits

    def __init__(self, node, service, *, max_event_id=None, max_notifiers=None, max_listeners=None):
        opts = _event_opts(max_event_id, max_notifiers, max_listeners)
        self._open_port(node, service, C.ferry_listener_open, C.ferry_listener_close, opts, 1)
        self._ids = (ctypes.c_uint32 * self._CHUNK)()
        self._count = ctypes.c_size_t()

    def try_wait(self):
        """Every id pending now, as a list; [] when none."""
        out = []
        with self._lock:
            handle = self._handle()
            while True:
                rc = C.ferry_listener_try_wait(handle, self._ids, self._CHUNK, ctypes.byref(self._count))
                if rc == C.FERRY_EAGAIN:
                    return out
                if rc:
                    _raise(rc)
                n = self._count.value
                out.extend(self._ids[:n])
                if n < self._CHUNK:
                    return out

    def wait(self, timeout=None):
        """Waits up to timeout seconds (None: no limit) for at least one id,
        then returns every id pending; [] when the time is up. The GIL is
        released while it sleeps."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            ids = self.try_wait()
            if ids:
                return ids
            chunk = self._WAIT_SLICE
            if deadline is not None:
                chunk = min(chunk, max(0.0, deadline - time.monotonic()))
            with self._lock:
                rc = C.ferry_listener_wait(
                    self._handle(), self._ids, self._CHUNK, ctypes.byref(self._count), int(chunk * 1e9)
                )
                if rc == C.FERRY_OK:
                    return self._ids[: self._count.value] + self.try_wait()
                if rc != C.FERRY_ETIMEDOUT:
                    _raise(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return []

    def fileno(self):
        """A descriptor that is readable while ids are pending (select,
        selectors, asyncio). Owned by the listener: do not close or read it."""
        with self._lock:
            fd = C.ferry_listener_fd(self._handle())
        if fd < 0:
            _raise(fd)
        return fd

    def set_wait_options(self, spin_ns=None, liveness_ns=None):
        """As Subscriber.set_wait_options."""
        opts = C.WaitOpts()
        C.ferry_wait_opts_init(ctypes.byref(opts))
        if spin_ns is not None:
            opts.spin_ns = spin_ns
        if liveness_ns is not None:
            opts.liveness_ns = liveness_ns
        with self._lock:
            rc = C.ferry_listener_set_wait_opts(self._handle(), ctypes.byref(opts))
        if rc:
            _raise(rc)


# ---- request-response -------------------------------------------------------


def _reqres_opts(request_type, response_type, max_request, max_response, alignment, **counts):
    o = C.ReqResOpts()
    C.ferry_reqres_opts_init(ctypes.byref(o))
    if request_type is not None:
        o.request_type = _encode(request_type, "request_type")
    if response_type is not None:
        o.response_type = _encode(response_type, "response_type")
    _set_fields(o, max_request=max_request, max_response=max_response, alignment=alignment, **counts)
    return o


class _ReqResPort(_SimplePort):
    def _open_reqres(self, node, service, open_fn, close_fn, request_type, response_type, max_request,
                     max_response, alignment, counts):
        opts = _reqres_opts(request_type, response_type, max_request, max_response, alignment, **counts)
        self.request_type = (opts.request_type or b"bytes").decode()
        self.response_type = (opts.response_type or b"bytes").decode()
        self.max_request = opts.max_request
        self.max_response = opts.max_response
        self._open_port(node, service, open_fn, close_fn, opts, max(opts.max_request, opts.max_response))


class RequestLoan(Loan):
    """A client's loan of a request: fill ``data`` in place, then ``send()``,
    which returns the call id. Discarded unsent as a Loan is."""

    __slots__ = ()

    def send(self):
        """Sends the request to one server and returns the call's id. ENOTFOUND
        (no server), EAGAIN (every server's queue is full) and ELIMIT
        (max_pending calls open) leave the loan valid, to retry or discard."""
        port = self._begin_end()
        call_id = ctypes.c_uint64()
        with port._lock:
            record = port._record(self._token)
            rc = C.ferry_client_send(port._handle(), record.ptr, ctypes.byref(call_id))
            if rc in (C.FERRY_ENOTFOUND, C.FERRY_EAGAIN, C.FERRY_ELIMIT):
                _raise(rc)
            record.state = _DONE
            self._end("sent")
            port._flush()
        if rc:
            _raise(rc)
        return call_id.value

    def try_send(self):
        raise AttributeError("a request has no try_send(); send() keeps the loan on EAGAIN")


class Response(_Borrowed):
    """What Client.take() returned: a response of call ``call_id``
    (``data``: a read-only memoryview of shared memory, empty for an
    end-of-stream marker), ``last`` when the call ended with it, and
    ``disconnected`` when the call's server went away instead. Give the
    memory back with ``release()`` or a ``with`` block (or once nothing
    references it)."""

    __slots__ = ("call_id", "last", "disconnected")

    def __init__(self, port, token, buf, size, call_id, last, disconnected):
        if buf is None:  # a marker or a disconnection: no memory
            self._port = None
            self._token = None
            self._buf = None
            self._size = 0
            self._view = memoryview(b"")
        else:
            super().__init__(port, token, buf, size, readonly=True)
        self.call_id = call_id
        self.last = last
        self.disconnected = disconnected

    @property
    def has_payload(self):
        return self._size > 0

    def release(self):
        """Gives the response back (once no view of it is left)."""
        port = self._port
        if port is None:
            return
        with port._lock:
            self._port = None
            self._drop()
            port._flush()

    def __exit__(self, *exc):
        self.release()

    def _ended_how(self):
        return "released"

    def _end_for_close(self):
        self._port = None
        self._drop()


class Client(_ReqResPort):
    """Sends requests and receives responses (bytes in, memoryviews out).

    ``Client(node, service, *, request_type=None, response_type=None,
    max_request=None, max_response=None, alignment=None, max_clients=None,
    max_servers=None, max_pending=None, request_queue=None,
    response_queue=None, max_loans=None, max_borrowed=None)``. None means the
    C library's default ("bytes", 4096 bytes, ...)."""

    _kind = "client"

    def __init__(self, node, service, *, request_type=None, response_type=None, max_request=None,
                 max_response=None, alignment=None, **counts):
        self._open_reqres(node, service, C.ferry_client_open, C.ferry_client_close, request_type, response_type,
                          max_request, max_response, alignment, counts)
        self._call_id = ctypes.c_uint64()
        self._size = ctypes.c_size_t()
        self._last = ctypes.c_int()

    def _release(self, ptr):
        C.ferry_client_release(self._state.handle, ptr)

    def _discard(self, ptr):
        C.ferry_client_discard(self._state.handle, ptr)

    def loan(self, size=None):
        """Loans a request of size bytes (default: max_request): a RequestLoan."""
        if size is None:
            size = self.max_request
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_client_loan(handle, size, ctypes.byref(self._ptr))
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            return self._track(self._ptr.value, RequestLoan, size, give_back=self._discard)

    def send_copy(self, data):
        """Copies data (bytes or any C-contiguous buffer) into a request and
        sends it; returns the call's id. Errors as RequestLoan.send."""
        data = bytes(memoryview(data).cast("B")) if not isinstance(data, bytes) else data
        call_id = ctypes.c_uint64()
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_client_send_copy(handle, data, len(data), ctypes.byref(call_id))
        if rc:
            _raise(rc)
        return call_id.value

    def call(self, data, timeout=None):
        """Sends data and collects the call's responses until the last one:
        a list of bytes (empty markers left out). ferry.Error EDISCONNECTED
        when the server went away, ETIMEDOUT when timeout seconds pass."""
        call_id = self.send_copy(data)
        deadline = None if timeout is None else time.monotonic() + timeout
        out = []
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise Error(C.FERRY_ETIMEDOUT, "call %d: no last response within %ss" % (call_id, timeout))
            r = self.take(left)
            if r is None:
                continue
            with r:
                if r.call_id != call_id:
                    continue  # a response of another call is dropped here
                if r.disconnected:
                    raise Error(C.FERRY_EDISCONNECTED, "call %d: the server went away" % call_id)
                if r.has_payload:
                    out.append(r.tobytes())
                if r.last:
                    return out

    def take(self, timeout=0):
        """The next Response of any open call, or None. timeout: 0 (default)
        does not wait; seconds waits up to that long; None without limit
        (None at once when no call is open)."""
        r = self._take_once()
        if r is not None or timeout == 0:
            return r
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if not self.wait(left):
                return None
            r = self._take_once()
            if r is not None:
                return r

    def _take_once(self):
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_client_take(handle, ctypes.byref(self._call_id), ctypes.byref(self._ptr),
                                     ctypes.byref(self._size), ctypes.byref(self._last))
            if rc == C.FERRY_EAGAIN:
                return None
            if rc == C.FERRY_EDISCONNECTED:
                return Response(None, None, None, 0, self._call_id.value, True, True)
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            ptr = self._ptr.value
            if not ptr:
                return Response(None, None, None, 0, self._call_id.value, bool(self._last.value), False)
            return self._track(ptr, Response, self._size.value, self._call_id.value, bool(self._last.value), False,
                               give_back=self._release)

    _WAIT_SLICE = 0.1

    def wait(self, timeout=None):
        """True when take() has something; False when timeout seconds pass
        or no call is open."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            chunk = self._WAIT_SLICE
            if deadline is not None:
                chunk = min(chunk, max(0.0, deadline - time.monotonic()))
            with self._lock:
                handle = self._handle()
                self._flush()
                rc = C.ferry_client_wait(handle, int(chunk * 1e9))
            if rc == C.FERRY_OK:
                return True
            if rc == C.FERRY_EAGAIN:
                return False
            if rc != C.FERRY_ETIMEDOUT:
                _raise(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def wait_for_server(self, timeout=None):
        """True once at least one server runs; False after timeout seconds."""
        with self._lock:
            rc = C.ferry_client_wait_server(self._handle(), _timeout_ns(timeout))
        if rc == C.FERRY_ETIMEDOUT:
            return False
        if rc:
            _raise(rc)
        return True

    @property
    def pending(self):
        """Calls open now."""
        with self._lock:
            return C.ferry_client_pending(self._handle())

    def fileno(self):
        """Readable while responses wait (owned by the client)."""
        with self._lock:
            fd = C.ferry_client_fd(self._handle())
        if fd < 0:
            _raise(fd)
        return fd


class ResponseLoan(Loan):
    """A server's loan of a response to one call: fill ``data``, then
    ``send(last=False)``."""

    __slots__ = ("_call",)

    def __init__(self, port, token, buf, size, call):
        super().__init__(port, token, buf, size)
        self._call = call

    def send(self, last=False):
        """Sends the response; last ends the call's stream. False when the
        client's queue is full (the loan stays: retry or discard).
        EDISCONNECTED when the client is gone (the loan has ended)."""
        port = self._begin_end()
        with port._lock:
            record = port._record(self._token)
            rc = C.ferry_server_respond(port._handle(), self._call, record.ptr, C.FERRY_RESPONSE_LAST if last else 0)
            if rc == C.FERRY_EAGAIN:
                return False
            if rc == C.FERRY_EINVAL:
                _raise(rc)  # the loan stays
            record.state = _DONE
            self._end("sent")
            port._flush()
        if rc:
            _raise(rc)
        return True

    def try_send(self, last=False):
        return self.send(last)


class Call(_Borrowed):
    """A call as the server sees it: ``data`` is the request (a read-only
    memoryview of shared memory). Answer with ``respond_copy()`` or
    ``loan()``, then ``finish()`` (or end a ``with`` block). A call that is
    dropped unfinished is finished once nothing references its request."""

    __slots__ = ("token", "_finished")

    def __init__(self, port, token, buf, size, call):
        super().__init__(port, token, buf, size, readonly=True)
        self.token = call
        self._finished = False

    def _server(self):
        port = self._port
        if port is None:
            raise Error(C.FERRY_EINVAL, "this call was already finished")
        return port

    def respond_copy(self, data, last=False):
        """Copies data into a response and sends it; False when the client's
        queue is full (nothing sent). EDISCONNECTED when the client is gone."""
        port = self._server()
        data = bytes(memoryview(data).cast("B")) if not isinstance(data, bytes) else data
        with port._lock:
            rc = C.ferry_server_respond_copy(port._handle(), self.token, data, len(data),
                                             C.FERRY_RESPONSE_LAST if last else 0)
        if rc == C.FERRY_EAGAIN:
            return False
        if rc:
            _raise(rc)
        return True

    respond = respond_copy

    def loan(self, size=None):
        """Loans a response of size bytes (default: max_response): a ResponseLoan."""
        port = self._server()
        if size is None:
            size = port.max_response
        with port._lock:
            handle = port._handle()
            port._flush()
            rc = C.ferry_server_loan(handle, self.token, size, ctypes.byref(port._ptr))
            if rc:
                _raise(rc, port._limit_hint() if rc == C.FERRY_ELIMIT else "")
            return port._track(port._ptr.value, ResponseLoan, size, self.token, give_back=port._discard)

    @property
    def finished(self):
        return self._port is None

    def finish(self):
        """Ends the call: sends an end-of-stream marker unless a last response
        went out, and gives the request back. Returns True when that happened
        now; False when it was deferred to a later call of the server: while
        views of the request are alive, or while the client's queue is full
        (EAGAIN) or no loan is left for the marker (ELIMIT). No-op (True)
        once finished."""
        port = self._port
        if port is None:
            return True
        with port._lock:
            token = self._token
            self._port = None
            self._drop()
            port._flush()  # finishes in C if nothing references the request
            return token not in port._records

    def abort(self):
        """Ends the call as failed (ferry_server_abort): after the responses
        sent before, the client takes it as a disconnected response, as when a
        server goes away. For a server that stands in for another one. Returns
        and defers as finish() does. No-op (True) once finished."""
        port = self._port
        if port is None:
            return True
        with port._lock:
            record = port._records.get(self._token)
            if record is not None:
                record.give_back = port._finisher(self.token, C.ferry_server_abort)
        return self.finish()

    def __exit__(self, *exc):
        self.finish()

    def _ended_how(self):
        return "finished"

    def _end_for_close(self):
        self._port = None
        self._drop()


class Server(_ReqResPort):
    """Answers requests. Options as for Client."""

    _kind = "server"

    def __init__(self, node, service, *, request_type=None, response_type=None, max_request=None,
                 max_response=None, alignment=None, **counts):
        self._open_reqres(node, service, C.ferry_server_open, C.ferry_server_close, request_type, response_type,
                          max_request, max_response, alignment, counts)
        self._call = ctypes.c_uint64()
        self._size = ctypes.c_size_t()

    def _discard(self, ptr):
        C.ferry_server_discard(self._state.handle, ptr)

    def _finisher(self, call, end=None):
        end = end or C.ferry_server_finish

        def finish(_ptr):
            rc = end(self._state.handle, call)
            return rc not in (C.FERRY_EAGAIN, C.FERRY_ELIMIT)  # retried on the next call

        return finish

    def take(self, timeout=0):
        """The next request as a Call, or None. timeout as for Subscriber.take."""
        c = self._take_once()
        if c is not None or timeout == 0:
            return c
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return None
            if not self.wait(left):
                return None
            c = self._take_once()
            if c is not None:
                return c

    def _take_once(self):
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_server_take(handle, ctypes.byref(self._call), ctypes.byref(self._ptr), ctypes.byref(self._size))
            if rc == C.FERRY_EAGAIN:
                return None
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            call = self._call.value
            return self._track(self._ptr.value, Call, self._size.value, call, give_back=self._finisher(call))

    _WAIT_SLICE = 0.1

    def wait(self, timeout=None):
        """True when a request may be there (take() may still find none);
        False after timeout seconds."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            chunk = self._WAIT_SLICE
            if deadline is not None:
                chunk = min(chunk, max(0.0, deadline - time.monotonic()))
            with self._lock:
                handle = self._handle()
                self._flush()
                rc = C.ferry_server_wait(handle, int(chunk * 1e9))
            if rc == C.FERRY_OK:
                return True
            if rc != C.FERRY_ETIMEDOUT:
                _raise(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def fileno(self):
        """Readable while requests wait (owned by the server)."""
        with self._lock:
            fd = C.ferry_server_fd(self._handle())
        if fd < 0:
            _raise(fd)
        return fd


# ---- shared state -----------------------------------------------------------


def _state_opts(type_name, max_size, max_readers, persist_dir):
    o = C.StateOpts()
    C.ferry_state_opts_init(ctypes.byref(o))
    if type_name is not None:
        o.type_name = _encode(type_name, "type_name")
    if persist_dir is not None:
        o.persist_dir = _encode(os.fspath(persist_dir), "persist_dir")
    _set_fields(o, max_size=max_size, max_readers=max_readers)
    return o


class StateLoan(Loan):
    """The writer's loan of the next version: fill ``data``, then
    ``publish()``, which returns the version number."""

    __slots__ = ()

    def publish(self):
        port = self._begin_end()
        version = ctypes.c_uint64()
        with port._lock:
            record = port._record(self._token)
            record.state = _DONE
            self._end("published")
            rc = C.ferry_state_publish(port._handle(), record.ptr, ctypes.byref(version))
            port._flush()
        if rc:
            _raise(rc)
        return version.value

    send = publish

    def try_send(self):
        raise AttributeError("a state loan has no try_send(); use publish()")


class StateRead(_Borrowed):
    """An open read of a shared state: ``data`` (a read-only memoryview) and
    ``version``. The value stays unchanged until the read ends: ``end()``,
    the end of a ``with`` block (``with reader.read() as (data, version)``
    works too), or once nothing references it."""

    __slots__ = ("version",)

    def __init__(self, port, token, buf, size, version):
        super().__init__(port, token, buf, size, readonly=True)
        self.version = version

    def __iter__(self):
        return iter((self.data, self.version))

    def end(self):
        port = self._port
        if port is None:
            return
        with port._lock:
            self._port = None
            self._drop()
            port._flush()

    release = end

    def __exit__(self, *exc):
        self.end()

    def _ended_how(self):
        return "ended"

    def _end_for_close(self):
        self._port = None
        self._drop()


class StateWriter(_SimplePort):
    """The single writer of a shared-state service (ELIMIT when it has one).

    ``StateWriter(node, service, *, type_name=None, max_size=None,
    max_readers=None, persist_dir=None)``."""

    _kind = "state writer"

    def __init__(self, node, service, *, type_name=None, max_size=None, max_readers=None, persist_dir=None):
        opts = _state_opts(type_name, max_size, max_readers, persist_dir)
        self.type_name = (opts.type_name or b"bytes").decode()
        self.max_size = opts.max_size
        self._open_port(node, service, C.ferry_state_writer_open, C.ferry_state_writer_close, opts, opts.max_size)

    def _give_back(self, ptr):
        C.ferry_state_discard(self._state.handle, ptr)

    def loan(self, size=None):
        """Loans the next version's buffer of size bytes (default max_size):
        a StateLoan. It does not hold the current value."""
        if size is None:
            size = self.max_size
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_state_loan(handle, size, ctypes.byref(self._ptr))
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            return self._track(self._ptr.value, StateLoan, size)

    def write(self, data):
        """Copies data in and publishes it; returns the new version."""
        data = bytes(memoryview(data).cast("B")) if not isinstance(data, bytes) else data
        version = ctypes.c_uint64()
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_state_write(handle, data, len(data), ctypes.byref(version))
        if rc:
            _raise(rc)
        return version.value


class StateReader(_SimplePort):
    """Reads a shared-state service, wait-free. Options as for StateWriter."""

    _kind = "state reader"

    def __init__(self, node, service, *, type_name=None, max_size=None, max_readers=None, persist_dir=None):
        opts = _state_opts(type_name, max_size, max_readers, persist_dir)
        self.type_name = (opts.type_name or b"bytes").decode()
        self.max_size = opts.max_size
        self._open_port(node, service, C.ferry_state_reader_open, C.ferry_state_reader_close, opts, opts.max_size)
        self._size = ctypes.c_size_t()
        self._version = ctypes.c_uint64()

    def _give_back(self, _ptr):
        C.ferry_state_read_end(self._state.handle)

    def read(self):
        """Starts reading the latest version: a StateRead, or None when
        nothing was published yet. One read at a time (ELIMIT)."""
        with self._lock:
            handle = self._handle()
            self._flush()
            rc = C.ferry_state_read_begin(handle, ctypes.byref(self._ptr), ctypes.byref(self._size),
                                          ctypes.byref(self._version))
            if rc == C.FERRY_EAGAIN:
                return None
            if rc:
                _raise(rc, self._limit_hint() if rc == C.FERRY_ELIMIT else "")
            return self._track(self._ptr.value, StateRead, self._size.value, self._version.value)

    def get(self):
        """A copy of the latest value and its version: (bytes, version), or
        (None, 0) when nothing was published yet."""
        r = self.read()
        if r is None:
            return None, 0
        with r:
            return r.tobytes(), r.version

    _WAIT_SLICE = 0.1

    def wait(self, newer_than=0, timeout=None):
        """Waits for a version newer than newer_than: WaitResult.READY,
        TIMED_OUT, or DISCONNECTED (a writer went away; reported once)."""
        deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
        while True:
            chunk = self._WAIT_SLICE
            if deadline is not None:
                chunk = min(chunk, max(0.0, deadline - time.monotonic()))
            with self._lock:
                handle = self._handle()
                self._flush()
                rc = C.ferry_state_wait(handle, newer_than, int(chunk * 1e9))
            if rc == C.FERRY_OK:
                return WaitResult.READY
            if rc == C.FERRY_EDISCONNECTED:
                return WaitResult.DISCONNECTED
            if rc != C.FERRY_ETIMEDOUT:
                _raise(rc)
            if deadline is not None and time.monotonic() >= deadline:
                return WaitResult.TIMED_OUT


# ---- listing, cleanup, version ----------------------------------------------


def _enum_or_int(cls, value):
    try:
        return cls(value)
    except ValueError:  # a newer library
        return value


def list_services(domain=None):
    """The services of a domain (None: env FERRY_DOMAIN, else "default"), as ServiceInfo."""
    out, errors = [], []

    def on_service(info_p, _user):
        try:
            i = info_p.contents
            o = i.opts
            out.append(
                ServiceInfo(
                    i.name.decode("utf-8", "replace"),
                    _enum_or_int(Pattern, i.pattern),
                    i.type_name.decode("utf-8", "replace"),
                    o.max_payload,
                    o.alignment,
                    o.history,
                    o.queue_capacity,
                    o.max_publishers,
                    o.max_subscribers,
                    o.max_loans,
                    o.max_borrowed,
                    _enum_or_int(Overflow, o.overflow),
                    i.publishers,
                    i.subscribers,
                    i.response_type.decode("utf-8", "replace"),
                )
            )
            return 0
        except BaseException as e:  # nothing may cross the C library
            errors.append(e)
            return 1

    rc = C.ferry_service_list(_encode_domain(domain), C.SERVICE_CB(on_service), None)
    if errors:
        raise errors[0]
    if rc:
        _raise(rc)
    return out


def list_nodes(domain=None):
    """The nodes of a domain, dead ones (alive False) included, as NodeInfo."""
    out, errors = [], []

    def on_node(info_p, _user):
        try:
            i = info_p.contents
            out.append(NodeInfo(i.name.decode("utf-8", "replace"), i.id, i.pid, i.uid, bool(i.alive)))
            return 0
        except BaseException as e:
            errors.append(e)
            return 1

    rc = C.ferry_node_list(_encode_domain(domain), C.NODE_CB(on_node), None)
    if errors:
        raise errors[0]
    if rc:
        _raise(rc)
    return out


def cleanup(domain=None):
    """Removes what dead nodes of a domain left behind; returns the number of
    shared-memory objects removed."""
    removed = ctypes.c_uint()
    rc = C.ferry_cleanup(_encode_domain(domain), ctypes.byref(removed))
    if rc:
        _raise(rc)
    return removed.value


def version():
    """The C library's version, "MAJOR.MINOR.PATCH"."""
    return C.ferry_version().decode()
