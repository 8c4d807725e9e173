# Publish on domain A, receive on domain B through two bridges over
# 127.0.0.1: in order and intact (sequence + checksum), for small and large
# samples; a plain ZeroMQ subscriber (the Python example) sees the stream too;
# SIGTERM leaves nothing behind.
source "$(dirname "$0")/lib.sh"

PA=$(free_port)
PB=$(free_port)
start_bridge A 'basic/*'
start_bridge B 'basic/*'

# 64 B samples: 1500 in a row without a gap.
bg "$PEER" sub "$DB" basic/small --count 1500 --timeout 25 >"$TMP/small.out"
SUB=$BG
bg "$PEER" pub "$DA" basic/small --size 64 --rate 2000
PUB=$BG
wait "$SUB"
rc=$?
stop "$PUB"
if [[ $rc -eq 0 ]]; then ok "64 B: $(cat "$TMP/small.out")"; else fail "64 B: rc=$rc $(cat "$TMP/small.out")"; fi

# 256 KiB samples: 100 in a row, intact.
MP=$((1024 * 1024))
bg "$PEER" sub "$DB" basic/large --count 100 --timeout 25 --max-payload $MP --queue 4 >"$TMP/large.out"
SUB=$BG
bg "$PEER" pub "$DA" basic/large --size $((256 * 1024)) --rate 100 --max-payload $MP --queue 4
PUB=$BG
wait "$SUB"
rc=$?
stop "$PUB"
if [[ $rc -eq 0 ]]; then ok "256 KiB: $(cat "$TMP/large.out")"; else fail "256 KiB: rc=$rc $(cat "$TMP/large.out")"; fi

# A plain ZeroMQ program sees the wire format (the documented example).
ZPY=""
for py in "$PY" /usr/bin/python3; do
    if "$py" -c 'import zmq' 2>/dev/null; then ZPY=$py; break; fi
done
if [[ -n $ZPY ]]; then
    bg "$PEER" pub "$DA" basic/py --size 64 --rate 200
    PUB=$BG
    timeout 20 "$ZPY" "${BRIDGE_EXAMPLES:-$(dirname "$0")/../examples}/zmq_subscribe.py" \
        "tcp://127.0.0.1:$PA" basic/py --count 5 >"$TMP/py.out" 2>&1
    rc=$?
    stop "$PUB"
    if [[ $rc -eq 0 ]] && [[ $(grep -c 'seq=' "$TMP/py.out") -eq 5 ]]; then
        ok "python zmq_subscribe.py received 5 samples"
    else
        fail "python example: rc=$rc"
        sed 's/^/    /' "$TMP/py.out" | head
    fi
else
    echo "skip: python3-zmq not installed, the Python example is not run"
fi

stop "$BA"
rca=$?
stop "$BB"
rcb=$?
if [[ $rca -eq 0 && $rcb -eq 0 ]]; then ok "bridges exit 0 on SIGTERM"; else fail "bridge exit codes $rca $rcb"; fi
grep -q 'forwarded=[1-9]' "$TMP/bridgeA.err" && ok "bridge A counted forwarded samples" ||
    fail "bridge A stats: $(tail -n1 "$TMP/bridgeA.err")"
grep -q 'republished=[1-9]' "$TMP/bridgeB.err" && ok "bridge B counted republished samples" ||
    fail "bridge B stats: $(tail -n1 "$TMP/bridgeB.err")"
finish
