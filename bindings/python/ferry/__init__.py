"""ferry: zero-copy IPC over shared memory, from Python: publish-subscribe,
events, request-response and shared state.

A ctypes binding of the C library libferry.so (no compiled extension). The
library is found through env FERRY_LIBRARY, else next to this package, else
ctypes.util.find_library("ferry"), else the build tree of the source checkout.

    import ferry

    with ferry.Node("camera") as node:
        pub = node.publisher("frames/raw", max_payload=1 << 20)
        loan = pub.loan(640 * 480)           # shared memory, no copy
        loan.data[:] = frame_bytes           # or loan.as_array(numpy.uint8)
        loan.send()

        sub = node.subscriber("frames/raw", max_payload=1 << 20)
        with sub.take(timeout=1.0) as sample:
            print(sample.info.sequence, bytes(sample.data[:16]))

Guide: docs/python.md.
"""

from ._capi import LIBRARY_PATH
from ._core import (
    Call,
    Client,
    Listener,
    Notifier,
    PEER_GONE,
    RequestLoan,
    Response,
    ResponseLoan,
    Server,
    StateLoan,
    StateRead,
    StateReader,
    StateWriter,
    Error,
    ErrorCode,
    Loan,
    Node,
    NodeInfo,
    Overflow,
    Pattern,
    Publisher,
    PublisherStats,
    Sample,
    SampleInfo,
    ServiceInfo,
    Subscriber,
    SubscriberStats,
    WaitResult,
    cleanup,
    list_nodes,
    list_services,
    version,
)

__version__ = version()

__all__ = [
    "Call",
    "Client",
    "Listener",
    "Notifier",
    "PEER_GONE",
    "RequestLoan",
    "Response",
    "ResponseLoan",
    "Server",
    "StateLoan",
    "StateRead",
    "StateReader",
    "StateWriter",
    "Error",
    "ErrorCode",
    "LIBRARY_PATH",
    "Loan",
    "Node",
    "NodeInfo",
    "Overflow",
    "Pattern",
    "Publisher",
    "PublisherStats",
    "Sample",
    "SampleInfo",
    "ServiceInfo",
    "Subscriber",
    "SubscriberStats",
    "WaitResult",
    "cleanup",
    "list_nodes",
    "list_services",
    "version",
]
