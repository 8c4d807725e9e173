#!/usr/bin/env python3
"""Subscribe to a service carried by ferry-bridge with plain ZeroMQ.

    python3 zmq_subscribe.py tcp://HOST:PORT SERVICE [--count N]

HOST:PORT is a bridge's --bind endpoint; SERVICE is a ferry service name, or
a prefix ending in '*' (ZeroMQ filters by prefix). Needs python3-zmq. Prints
one line per sample. The wire format is documented in docs/bridge.md.
"""
import argparse
import struct
import sys

import zmq

HEADER = struct.Struct("<4sHHQQQQQQIIIIIIIIQ128s")  # 224 bytes, little-endian
FIELDS = ("magic", "version", "header_size", "origin", "publisher", "sequence",
          "timestamp_ns", "payload_size", "max_payload", "alignment", "history",
          "queue_capacity", "max_publishers", "max_subscribers", "max_loans",
          "max_borrowed", "overflow", "forward_time_ns", "type_name")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("endpoint")
    ap.add_argument("service")
    ap.add_argument("--count", type=int, default=0, help="stop after N samples (0: never)")
    ap.add_argument("--curve-server-public", help="file with the bridge's public key (Z85), if CURVE is on")
    args = ap.parse_args()

    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    if args.curve_server_public:
        pub, sec = zmq.curve_keypair()
        sock.curve_publickey = pub
        sock.curve_secretkey = sec
        sock.curve_serverkey = open(args.curve_server_public, "rb").read().strip()
    prefix = args.service[:-1] if args.service.endswith("*") else args.service
    sock.setsockopt(zmq.SUBSCRIBE, b"ferry/" + prefix.encode())
    sock.connect(args.endpoint)

    n = 0
    try:
        while args.count == 0 or n < args.count:
            frames = sock.recv_multipart()
            if len(frames) != 1:
                continue  # a sample is one frame: topic, NUL, header, payload
            topic, sep, rest = frames[0].partition(b"\0")
            if not sep or len(rest) < HEADER.size:
                continue
            service = topic[len(b"ferry/"):].decode()
            if not args.service.endswith("*") and service != args.service:
                continue  # prefix match only: "a/b" also matches "a/bc"
            h = dict(zip(FIELDS, HEADER.unpack_from(rest)))
            if h["magic"] != b"FYBR" or h["version"] != 2 or h["header_size"] != HEADER.size:
                continue
            payload = rest[HEADER.size:]
            if len(payload) != h["payload_size"]:
                continue
            type_name = h["type_name"].split(b"\0", 1)[0].decode()
            print(f"{service} seq={h['sequence']} publisher={h['publisher']:016x} "
                  f"origin={h['origin']:016x} type={type_name} size={len(payload)} "
                  f"data={payload[:16].hex()}", flush=True)
            n += 1
    except KeyboardInterrupt:
        pass
    finally:
        sock.close(linger=0)
        ctx.term()
    return 0


if __name__ == "__main__":
    sys.exit(main())
