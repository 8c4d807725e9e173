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
    """A service's messaging pattern. This package wraps PUBSUB; services of
    the other patterns (made with the C API) show up in list_services()."""

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

    __slots__ = ("ptr", "buf_ref", "state", "owner_ref")

    def __init__(self, ptr, buf_ref, owner_ref):
        self.ptr = ptr
        self.buf_ref = buf_ref
        self.state = _HELD
        self.owner_ref = owner_ref


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


class _Port:
    """What Publisher and Subscriber share: the handle, the options, and the
    buffers handed out (see the module's memory rule)."""

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
        self._state = _PortState(handle.value, node._state, close_fn)
        self._finalizer = weakref.finalize(self, _close_port, self._state)
        self._lock = threading.RLock()
        self._records = {}  # token -> _Record
        self._pending = collections.deque()  # tokens whose buffer died
        self._tokens = itertools.count(1)
        self._ptr = ctypes.c_void_p()  # out-parameters, reused under the lock
        # One buffer type per port: max_payload bytes; a view shows the size.
        self._buf_type = type("_FerryBuffer", (ctypes.c_ubyte * max(1, self.max_payload),), {})
        node._ports.add(self)

    # -- the memory rule

    def _track(self, ptr, owner_cls, *args):
        """Wraps ptr in a buffer, records it, returns owner_cls(self, token, buf, *args)."""
        token = next(self._tokens)
        buf = self._buf_type.from_address(ptr)
        buf._ferry_port = self  # the port stays open while the buffer lives
        pending = self._pending
        buf_ref = weakref.ref(buf, lambda _ref, t=token: pending.append(t))
        owner = owner_cls(self, token, buf, *args)
        self._records[token] = _Record(ptr, buf_ref, weakref.ref(owner))
        return owner

    def _record(self, token):
        return self._records[token]

    def _flush(self):
        """Ends in C what ended in Python and whose buffer is gone (under the lock)."""
        pending = self._pending
        while pending:
            record = self._records.pop(pending.popleft(), None)
            if record is not None and record.state == _HELD and self._state.handle is not None:
                self._give_back(record.ptr)

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
