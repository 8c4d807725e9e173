# Hostile wire input: a plain ZeroMQ publisher (Python) feeds bridge B real
# samples captured from bridge A, mixed with malformed messages (too short,
# no NUL after the topic, bad magic, another version, a truncated or padded
# payload, a size over max_payload, a multipart message). Bridge B must
# republish every real sample intact, count the rest as bad, and not crash.
source "$(dirname "$0")/lib.sh"

ZPY=""
for py in "$PY" /usr/bin/python3; do
    if "$py" -c 'import zmq' 2>/dev/null; then ZPY=$py; break; fi
done
if [[ -z $ZPY ]]; then
    echo "skip: python3-zmq not installed"
    exit 77
fi

PA=$(free_port)
PX=$(free_port)
bg "$BRIDGE" --domain "$DA" --bind "tcp://127.0.0.1:$PA" --export 'wire/*' --scan-ms 50 2>"$TMP/bridgeA.err"
BA=$BG
bg "$BRIDGE" --domain "$DB" --connect "tcp://127.0.0.1:$PX" --import 'wire/*' 2>"$TMP/bridgeB.err"
BB=$BG

cat >"$TMP/relay.py" <<'PYEOF'
import struct, sys, time
import zmq
src, dst, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = zmq.Context()
sub = ctx.socket(zmq.SUB)
sub.setsockopt(zmq.SUBSCRIBE, b"ferry/wire/")
sub.connect(src)
pub = ctx.socket(zmq.PUB)
pub.bind(dst)
time.sleep(0.5)  # let bridge B connect and subscribe
sent = bad = 0
deadline = time.time() + 20
while sent < count and time.time() < deadline:
    if not sub.poll(1000):
        continue
    frame = sub.recv()
    topic, _, rest = frame.partition(b"\0")
    head = topic + b"\0"
    hdr, payload = rest[:224], rest[224:]
    evil = [
        b"",
        b"ferry/",
        b"ferry/wire/x",                                   # no NUL
        topic + b"\0" + b"x" * 100,                        # header cut short
        head + b"FYBX" + hdr[4:] + payload,                # bad magic
        head + hdr[:4] + struct.pack("<H", 1) + hdr[6:] + payload,  # version 1
        head + hdr + payload[:-1],                         # payload shorter than its size
        head + hdr + payload + b"!",                       # longer
        head + hdr[:40] + struct.pack("<Q", 1 << 40) + hdr[48:] + payload,  # size > max_payload
        b"\0" * 300,
    ]
    for e in evil:
        pub.send(e)
        bad += 1
    pub.send_multipart([topic, hdr, payload])              # version 1 framing
    bad += 1
    pub.send(frame)                                        # the real one
    sent += 1
print(f"relayed {sent} samples and {bad} malformed messages")
sub.close(linger=0)
pub.close(linger=2000)
ctx.term()
sys.exit(0 if sent == count else 1)
PYEOF

bg "$PEER" sub "$DB" wire/s --count 50 --allow-gaps --timeout 25 >"$TMP/sub.out"
SUB=$BG
bg "$ZPY" "$TMP/relay.py" "tcp://127.0.0.1:$PA" "tcp://127.0.0.1:$PX" 400
RELAY=$BG
bg "$PEER" pub "$DA" wire/s --size 64 --rate 500
PUB=$BG
wait "$SUB"
rc=$?
stop "$PUB"
stop "$RELAY"
if [[ $rc -eq 0 ]]; then ok "50 real samples intact among malformed ones: $(cat "$TMP/sub.out")"; else
    fail "subscriber: rc=$rc $(cat "$TMP/sub.out")"; fi
kill -0 "$BB" 2>/dev/null && ok "bridge B still runs" || fail "bridge B died"
stop "$BB"
rcb=$?
stop "$BA"
[[ $rcb -eq 0 ]] && ok "bridge B exits 0 on SIGTERM" || fail "bridge B exit code $rcb"
bad=$(grep -o 'bad=[0-9]*' "$TMP/bridgeB.err" | tail -n1 | cut -d= -f2)
if [[ -n $bad && $bad -ge 500 ]]; then ok "bridge B counted $bad malformed messages"; else
    fail "bridge B bad count: ${bad:-none} ($(tail -n1 "$TMP/bridgeB.err"))"; fi
finish
