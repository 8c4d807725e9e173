# SIGKILL each bridge in turn while a stream flows from domain A to domain B,
# restart it: delivery resumes (ZeroMQ reconnects by itself), with no
# duplicate, no reordering and no corrupt sample (gaps are allowed while a
# bridge is down); the publisher never blocks.
source "$(dirname "$0")/lib.sh"

PA=$(free_port)
PB=$(free_port)
start_a() {
    bg "$BRIDGE" --domain "$DA" --bind "tcp://127.0.0.1:$PA" --export restart/data --scan-ms 50 \
        2>>"$TMP/bridgeA.err"
    BA=$BG
}
start_b() {
    bg "$BRIDGE" --domain "$DB" --connect "tcp://127.0.0.1:$PA" --import restart/data --scan-ms 50 \
        2>>"$TMP/bridgeB.err"
    BB=$BG
}
start_a
start_b
bg "$PEER" sub "$DB" restart/data --allow-gaps --timeout 40 --progress "$TMP/progress" >"$TMP/sub.out"
SUB=$BG
bg "$PEER" pub "$DA" restart/data --size 128 --rate 1000
PUB=$BG

got() { cat "$TMP/progress" 2>/dev/null || echo 0; }
if wait_until 15 progress_at_least "$TMP/progress" 300; then ok "stream flows ($(got) samples)"; else fail "no stream"; fi

kill -KILL "$BB"
wait "$BB" 2>/dev/null
sleep 0.5
n=$(got)
start_b
if wait_until 15 progress_at_least "$TMP/progress" $((n + 300)); then
    ok "receiving bridge killed and restarted: delivery resumed ($n -> $(got))"
else
    fail "no delivery after restarting the receiving bridge ($n -> $(got))"
fi

kill -KILL "$BA"
wait "$BA" 2>/dev/null
sleep 0.5
n=$(got)
start_a
if wait_until 15 progress_at_least "$TMP/progress" $((n + 300)); then
    ok "sending bridge killed and restarted: delivery resumed ($n -> $(got))"
else
    fail "no delivery after restarting the sending bridge ($n -> $(got))"
fi

kill -0 "$PUB" 2>/dev/null && ok "publisher still running" || fail "publisher died"
stop "$PUB"
stop "$SUB"
rc=$?
if [[ $rc -eq 0 ]]; then ok "subscriber: $(cat "$TMP/sub.out")"; else fail "subscriber rc=$rc: $(cat "$TMP/sub.out")"; fi
stop "$BA" || fail "bridge A exit $?"
stop "$BB" || fail "bridge B exit $?"
finish
