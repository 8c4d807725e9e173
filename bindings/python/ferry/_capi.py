"""ctypes declarations of the C API (include/ferry/ferry.h) and the search
for libferry.so. Internal: use the classes of the ``ferry`` package.

Every struct here mirrors ferry.h field for field; test_layout.py compares
them with offsets printed by a C program compiled against the header.
"""

import ctypes
import ctypes.util
import glob
import os

# ---- constants of ferry.h ---------------------------------------------------

FERRY_DOMAIN_MAX = 32
FERRY_NODE_NAME_MAX = 63
FERRY_SERVICE_NAME_MAX = 255
FERRY_TYPE_NAME_MAX = 127

FERRY_OK = 0
FERRY_EINVAL = -1
FERRY_ENOMEM = -2
FERRY_EAGAIN = -3
FERRY_ETIMEDOUT = -4
FERRY_EINCOMPATIBLE = -5
FERRY_EPERM = -6
FERRY_ECORRUPT = -7
FERRY_ELIMIT = -8
FERRY_ENOTFOUND = -9
FERRY_ENOSPC = -10
FERRY_ESYSTEM = -11
FERRY_EDISCONNECTED = -12

FERRY_OVERFLOW_DROP_OLDEST = 0
FERRY_OVERFLOW_BLOCK = 1

FERRY_PATTERN_PUBSUB = 1
FERRY_PATTERN_EVENT = 2
FERRY_PATTERN_STATE = 3
FERRY_PATTERN_REQRES = 4

FERRY_FOREVER = -1

FERRY_EVENT_PEER_GONE = 0xFFFFFFFF
FERRY_RESPONSE_LAST = 1

FERRY_SOURCE_SUBSCRIBER = 1
FERRY_SOURCE_LISTENER = 2
FERRY_SOURCE_FD = 3
FERRY_SOURCE_DEADLINE = 4
FERRY_SOURCE_INTERVAL = 5

# ---- structs ----------------------------------------------------------------


class NodeOpts(ctypes.Structure):
    _fields_ = [
        ("domain", ctypes.c_char_p),
        ("mode", ctypes.c_uint),
        ("group", ctypes.c_long),
    ]


class PubSubOpts(ctypes.Structure):
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("max_payload", ctypes.c_size_t),
        ("alignment", ctypes.c_size_t),
        ("history", ctypes.c_uint32),
        ("queue_capacity", ctypes.c_uint32),
        ("max_publishers", ctypes.c_uint32),
        ("max_subscribers", ctypes.c_uint32),
        ("max_loans", ctypes.c_uint32),
        ("max_borrowed", ctypes.c_uint32),
        ("overflow", ctypes.c_int),  # enum ferry_overflow
        ("timestamps", ctypes.c_int),
    ]


class SampleInfo(ctypes.Structure):
    _fields_ = [
        ("sequence", ctypes.c_uint64),
        ("timestamp_ns", ctypes.c_uint64),
        ("publisher_id", ctypes.c_uint64),
        ("size", ctypes.c_size_t),
    ]


class PubStats(ctypes.Structure):
    _fields_ = [
        ("sent", ctypes.c_uint64),
        ("subscribers", ctypes.c_uint32),
        ("loans", ctypes.c_uint32),
    ]


class SubStats(ctypes.Structure):
    _fields_ = [
        ("received", ctypes.c_uint64),
        ("lost", ctypes.c_uint64),
        ("publishers", ctypes.c_uint32),
        ("borrowed", ctypes.c_uint32),
    ]


class WaitOpts(ctypes.Structure):
    _fields_ = [
        ("spin_ns", ctypes.c_int64),
        ("liveness_ns", ctypes.c_int64),
    ]


class EventOpts(ctypes.Structure):
    _fields_ = [
        ("max_event_id", ctypes.c_uint32),
        ("max_notifiers", ctypes.c_uint32),
        ("max_listeners", ctypes.c_uint32),
    ]


class StateOpts(ctypes.Structure):
    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("max_size", ctypes.c_size_t),
        ("max_readers", ctypes.c_uint32),
        ("persist_dir", ctypes.c_char_p),
    ]


class ReqResOpts(ctypes.Structure):
    _fields_ = [
        ("request_type", ctypes.c_char_p),
        ("max_request", ctypes.c_size_t),
        ("response_type", ctypes.c_char_p),
        ("max_response", ctypes.c_size_t),
        ("alignment", ctypes.c_size_t),
        ("max_clients", ctypes.c_uint32),
        ("max_servers", ctypes.c_uint32),
        ("max_pending", ctypes.c_uint32),
        ("request_queue", ctypes.c_uint32),
        ("response_queue", ctypes.c_uint32),
        ("max_loans", ctypes.c_uint32),
        ("max_borrowed", ctypes.c_uint32),
    ]


class EventInfo(ctypes.Structure):
    _fields_ = [
        ("attachment", ctypes.c_void_p),
        ("kind", ctypes.c_int),  # enum ferry_source_kind
        ("user", ctypes.c_void_p),
        ("disconnected", ctypes.c_int),
        ("missed", ctypes.c_uint64),
    ]


class ServiceInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * (FERRY_SERVICE_NAME_MAX + 1)),
        ("pattern", ctypes.c_int),  # enum ferry_pattern
        ("type_name", ctypes.c_char * (FERRY_TYPE_NAME_MAX + 1)),
        ("opts", PubSubOpts),
        ("event_opts", EventOpts),
        ("state_opts", StateOpts),
        ("response_type", ctypes.c_char * (FERRY_TYPE_NAME_MAX + 1)),
        ("publishers", ctypes.c_uint32),
        ("subscribers", ctypes.c_uint32),
        ("reqres_opts", ReqResOpts),
    ]


class NodeInfo(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char * (FERRY_NODE_NAME_MAX + 1)),
        ("id", ctypes.c_uint64),
        ("pid", ctypes.c_long),
        ("uid", ctypes.c_long),
        ("alive", ctypes.c_int),
    ]


SERVICE_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ServiceInfo), ctypes.c_void_p)
NODE_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(NodeInfo), ctypes.c_void_p)
WAITSET_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(EventInfo), ctypes.c_void_p)

# ---- finding the library ----------------------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))


def _candidates():
    """Where to look for libferry.so, in order, as (how, path-or-name)."""
    env = os.environ.get("FERRY_LIBRARY")
    if env:
        # Set on purpose: no fallback, so a wrong path is reported, not hidden.
        yield "FERRY_LIBRARY", env
        return
    # Next to the package (an installed or bundled copy).
    for d in (_HERE, os.path.dirname(_HERE)):
        for name in ("libferry.so", "libferry.so.0"):
            yield "next to the package", os.path.join(d, name)
    # The system's search path (ldconfig, LD_LIBRARY_PATH).
    found = ctypes.util.find_library("ferry")
    if found:
        yield "ctypes.util.find_library", found
    # A build tree of the source checkout this package sits in
    # (bindings/python/ferry -> the repository root): newest first.
    root = os.path.dirname(os.path.dirname(os.path.dirname(_HERE)))
    builds = glob.glob(os.path.join(root, "build*", "libferry.so")) + glob.glob(
        os.path.join(root, "build*", "*", "libferry.so")
    )
    builds.sort(key=lambda p: os.path.getmtime(p), reverse=True)
    for path in builds:
        yield "the build tree", path


def _load():
    tried = []
    for how, path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append("%s: %s (missing)" % (how, path))
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s: %s (%s)" % (how, path, e))
    raise ImportError(
        "ferry: cannot load libferry.so. Build it (cmake --build) and set "
        "FERRY_LIBRARY=/path/to/libferry.so. Tried:\n  " + ("\n  ".join(tried) or "nothing")
    )


lib, LIBRARY_PATH = _load()

# ---- function signatures ----------------------------------------------------

_vp = ctypes.c_void_p
_int = ctypes.c_int
_u64 = ctypes.c_uint64
_cp = ctypes.c_char_p


def _fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


ferry_strerror = _fn("ferry_strerror", _cp, _int)
ferry_last_error = _fn("ferry_last_error", _int)
ferry_last_error_message = _fn("ferry_last_error_message", _cp)
ferry_clear_error = _fn("ferry_clear_error", None)
ferry_version = _fn("ferry_version", _cp)

ferry_node_opts_init = _fn("ferry_node_opts_init", None, ctypes.POINTER(NodeOpts))
ferry_node_open = _fn("ferry_node_open", _int, ctypes.POINTER(_vp), _cp, ctypes.POINTER(NodeOpts))
ferry_node_close = _fn("ferry_node_close", None, _vp)
ferry_node_domain = _fn("ferry_node_domain", _cp, _vp)
ferry_node_name = _fn("ferry_node_name", _cp, _vp)
ferry_node_id = _fn("ferry_node_id", _u64, _vp)

ferry_pubsub_opts_init = _fn("ferry_pubsub_opts_init", None, ctypes.POINTER(PubSubOpts))
ferry_pub_open = _fn("ferry_pub_open", _int, ctypes.POINTER(_vp), _vp, _cp, ctypes.POINTER(PubSubOpts))
ferry_pub_loan = _fn("ferry_pub_loan", _int, _vp, ctypes.c_size_t, ctypes.POINTER(_vp))
ferry_pub_send = _fn("ferry_pub_send", _int, _vp, _vp)
ferry_pub_try_send = _fn("ferry_pub_try_send", _int, _vp, _vp)
ferry_pub_send_copy = _fn("ferry_pub_send_copy", _int, _vp, _vp, ctypes.c_size_t)
ferry_pub_discard = _fn("ferry_pub_discard", None, _vp, _vp)
ferry_pub_update = _fn("ferry_pub_update", _int, _vp)
ferry_pub_stats_get = _fn("ferry_pub_stats_get", _int, _vp, ctypes.POINTER(PubStats))
ferry_pub_id = _fn("ferry_pub_id", _u64, _vp)
ferry_pub_close = _fn("ferry_pub_close", None, _vp)

ferry_sub_open = _fn("ferry_sub_open", _int, ctypes.POINTER(_vp), _vp, _cp, ctypes.POINTER(PubSubOpts))
ferry_sub_take = _fn("ferry_sub_take", _int, _vp, ctypes.POINTER(_vp), ctypes.POINTER(ctypes.c_size_t))
ferry_sub_sample_info = _fn("ferry_sub_sample_info", _int, _vp, _vp, ctypes.POINTER(SampleInfo))
ferry_sub_release = _fn("ferry_sub_release", None, _vp, _vp)
ferry_sub_stats_get = _fn("ferry_sub_stats_get", _int, _vp, ctypes.POINTER(SubStats))
ferry_sub_close = _fn("ferry_sub_close", None, _vp)

ferry_wait_opts_init = _fn("ferry_wait_opts_init", None, ctypes.POINTER(WaitOpts))
ferry_sub_set_wait_opts = _fn("ferry_sub_set_wait_opts", _int, _vp, ctypes.POINTER(WaitOpts))
ferry_sub_wait = _fn("ferry_sub_wait", _int, _vp, ctypes.c_int64)
ferry_sub_fd = _fn("ferry_sub_fd", _int, _vp)

_pvp = ctypes.POINTER(_vp)
_psize = ctypes.POINTER(ctypes.c_size_t)
_pu32 = ctypes.POINTER(ctypes.c_uint32)
_pu64 = ctypes.POINTER(ctypes.c_uint64)
_size = ctypes.c_size_t
_i64 = ctypes.c_int64

ferry_event_opts_init = _fn("ferry_event_opts_init", None, ctypes.POINTER(EventOpts))
ferry_notifier_open = _fn("ferry_notifier_open", _int, _pvp, _vp, _cp, ctypes.POINTER(EventOpts))
ferry_listener_open = _fn("ferry_listener_open", _int, _pvp, _vp, _cp, ctypes.POINTER(EventOpts))
ferry_notifier_notify = _fn("ferry_notifier_notify", _int, _vp, ctypes.c_uint32)
ferry_notifier_close = _fn("ferry_notifier_close", None, _vp)
ferry_listener_try_wait = _fn("ferry_listener_try_wait", _int, _vp, _pu32, _size, _psize)
ferry_listener_wait = _fn("ferry_listener_wait", _int, _vp, _pu32, _size, _psize, _i64)
ferry_listener_fd = _fn("ferry_listener_fd", _int, _vp)
ferry_listener_set_wait_opts = _fn("ferry_listener_set_wait_opts", _int, _vp, ctypes.POINTER(WaitOpts))
ferry_listener_close = _fn("ferry_listener_close", None, _vp)

ferry_waitset_open = _fn("ferry_waitset_open", _int, _pvp)
ferry_waitset_close = _fn("ferry_waitset_close", None, _vp)
ferry_waitset_attach_sub = _fn("ferry_waitset_attach_sub", _int, _vp, _vp, _vp, _pvp)
ferry_waitset_attach_listener = _fn("ferry_waitset_attach_listener", _int, _vp, _vp, _vp, _pvp)
ferry_waitset_attach_fd = _fn("ferry_waitset_attach_fd", _int, _vp, _int, _vp, _pvp)
ferry_waitset_attach_deadline = _fn("ferry_waitset_attach_deadline", _int, _vp, _i64, _vp, _pvp)
ferry_waitset_attach_interval = _fn("ferry_waitset_attach_interval", _int, _vp, _i64, _vp, _pvp)
ferry_waitset_detach = _fn("ferry_waitset_detach", None, _vp, _vp)
ferry_waitset_wait = _fn("ferry_waitset_wait", _int, _vp, _i64, WAITSET_CB, _vp, ctypes.POINTER(ctypes.c_uint))
ferry_waitset_run = _fn("ferry_waitset_run", _int, _vp, WAITSET_CB, _vp)
ferry_waitset_stop = _fn("ferry_waitset_stop", None, _vp)

ferry_reqres_opts_init = _fn("ferry_reqres_opts_init", None, ctypes.POINTER(ReqResOpts))
ferry_client_open = _fn("ferry_client_open", _int, _pvp, _vp, _cp, ctypes.POINTER(ReqResOpts))
ferry_client_loan = _fn("ferry_client_loan", _int, _vp, _size, _pvp)
ferry_client_send = _fn("ferry_client_send", _int, _vp, _vp, _pu64)
ferry_client_send_copy = _fn("ferry_client_send_copy", _int, _vp, _vp, _size, _pu64)
ferry_client_discard = _fn("ferry_client_discard", None, _vp, _vp)
ferry_client_take = _fn("ferry_client_take", _int, _vp, _pu64, _pvp, _psize, ctypes.POINTER(_int))
ferry_client_release = _fn("ferry_client_release", None, _vp, _vp)
ferry_client_wait = _fn("ferry_client_wait", _int, _vp, _i64)
ferry_client_wait_server = _fn("ferry_client_wait_server", _int, _vp, _i64)
ferry_client_pending = _fn("ferry_client_pending", ctypes.c_uint32, _vp)
ferry_client_fd = _fn("ferry_client_fd", _int, _vp)
ferry_client_close = _fn("ferry_client_close", None, _vp)

ferry_server_open = _fn("ferry_server_open", _int, _pvp, _vp, _cp, ctypes.POINTER(ReqResOpts))
ferry_server_take = _fn("ferry_server_take", _int, _vp, _pu64, _pvp, _psize)
ferry_server_loan = _fn("ferry_server_loan", _int, _vp, _u64, _size, _pvp)
ferry_server_respond = _fn("ferry_server_respond", _int, _vp, _u64, _vp, ctypes.c_uint)
ferry_server_respond_copy = _fn("ferry_server_respond_copy", _int, _vp, _u64, _vp, _size, ctypes.c_uint)
ferry_server_discard = _fn("ferry_server_discard", None, _vp, _vp)
ferry_server_finish = _fn("ferry_server_finish", _int, _vp, _u64)
ferry_server_abort = _fn("ferry_server_abort", _int, _vp, _u64)
ferry_server_wait = _fn("ferry_server_wait", _int, _vp, _i64)
ferry_server_fd = _fn("ferry_server_fd", _int, _vp)
ferry_server_close = _fn("ferry_server_close", None, _vp)

ferry_state_opts_init = _fn("ferry_state_opts_init", None, ctypes.POINTER(StateOpts))
ferry_state_writer_open = _fn("ferry_state_writer_open", _int, _pvp, _vp, _cp, ctypes.POINTER(StateOpts))
ferry_state_loan = _fn("ferry_state_loan", _int, _vp, _size, _pvp)
ferry_state_publish = _fn("ferry_state_publish", _int, _vp, _vp, _pu64)
ferry_state_discard = _fn("ferry_state_discard", None, _vp, _vp)
ferry_state_write = _fn("ferry_state_write", _int, _vp, _vp, _size, _pu64)
ferry_state_writer_close = _fn("ferry_state_writer_close", None, _vp)
ferry_state_reader_open = _fn("ferry_state_reader_open", _int, _pvp, _vp, _cp, ctypes.POINTER(StateOpts))
ferry_state_read_begin = _fn("ferry_state_read_begin", _int, _vp, _pvp, _psize, _pu64)
ferry_state_read_end = _fn("ferry_state_read_end", None, _vp)
ferry_state_wait = _fn("ferry_state_wait", _int, _vp, _u64, _i64)
ferry_state_reader_close = _fn("ferry_state_reader_close", None, _vp)

ferry_service_list = _fn("ferry_service_list", _int, _cp, SERVICE_CB, _vp)
ferry_node_list = _fn("ferry_node_list", _int, _cp, NODE_CB, _vp)
ferry_cleanup = _fn("ferry_cleanup", _int, _cp, ctypes.POINTER(ctypes.c_uint))
