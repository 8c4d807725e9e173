# Request-response across the bridges: a client in domain B calls a server
# in domain A through the stand-in that bridge B opens for it (streams of 3
# responses, checked); a call with no server anywhere fails at once; a
# server killed mid-call here, and a serving bridge killed mid-call, both
# make the waiting client's call fail with FERRY_EDISCONNECTED instead of
# hanging; a peer bridge that cannot hear this one gets no stand-in.
source "$(dirname "$0")/lib.sh"
DC="${DA%A*}C$$"
DD="${DA%A*}D$$"
TEST_DOMAINS+=("$DC" "$DD")

PA=$(free_port)
PB=$(free_port)
start_bridge A 'rr/*'
start_bridge B 'rr/*'

bg "$PEER" serve "$DA" rr/calc --parts 3 >"$TMP/serve.out"
SV=$BG
if "$PEER" call "$DB" rr/calc --count 200 --parts 3 --timeout 20 >"$TMP/call.out"; then
    ok "200 calls from B to a server in A, 3 responses each: $(cat "$TMP/call.out")"
else
    fail "calls from B to A: $(cat "$TMP/call.out")"
fi

if "$PEER" call "$DB" rr/nobody --timeout 1 >"$TMP/none.out"; then
    fail "a call with no server anywhere succeeded: $(cat "$TMP/none.out")"
elif grep -q "no server" "$TMP/none.out"; then
    ok "no server anywhere: the client is told ($(cat "$TMP/none.out"))"
else
    fail "no server anywhere: $(cat "$TMP/none.out")"
fi

# kill_mid_call SERVICE WHAT: a client in B waits on a call that a server in
# A holds; then WHAT dies (SIGKILL): "server" (that server) or "bridge"
# (bridge A). The client's call must fail with FERRY_EDISCONNECTED.
kill_mid_call() {
    local service=$1 what=$2 server client t0 out="$TMP/${1##*/}.out"
    bg "$PEER" serve "$DA" "$service" --hold-ms 30000 >/dev/null
    server=$BG
    bg "$PEER" call "$DB" "$service" --expect-disconnect --timeout 20 >"$out"
    client=$BG
    sleep 1.5
    local victim=$server
    [[ $what == bridge ]] && victim=$BA
    kill -KILL "$victim"
    wait "$victim" 2>/dev/null
    t0=$SECONDS
    if wait "$client"; then
        ok "$what killed mid-call: the remote client's call failed in $((SECONDS - t0)) s ($(cat "$out"))"
    else
        fail "$what killed mid-call: $(cat "$out")"
    fi
    [[ $what == bridge ]] && stop "$server" >/dev/null
    return 0
}
kill_mid_call rr/slow server
kill_mid_call rr/held bridge

# Restarted, bridge A serves again (once B's stand-ins for the dead bridge
# have expired: a call that still went to one of them would fail).
sleep 2
start_bridge A 'rr/*'
if "$PEER" call "$DB" rr/calc --count 20 --parts 3 --timeout 20 >"$TMP/again.out"; then
    ok "bridge A restarted: calls go through again ($(cat "$TMP/again.out"))"
else
    fail "after restarting bridge A: $(cat "$TMP/again.out")"
fi
stop "$SV" >/dev/null

# A peer that announces but does not hear this bridge (it has no --connect):
# no stand-in opens, since a request to it would be lost; the client sees no
# server, and the bridge says why.
PC=$(free_port)
bg "$BRIDGE" --domain "$DC" --bind "tcp://127.0.0.1:$PC" --service 'rr/*' --scan-ms 50 2>"$TMP/bridgeC.err"
BC=$BG
bg "$BRIDGE" --domain "$DD" --bind "tcp://127.0.0.1:$(free_port)" --connect "tcp://127.0.0.1:$PC" \
    --service 'rr/*' --scan-ms 50 2>"$TMP/bridgeD.err"
BD=$BG
bg "$PEER" serve "$DC" rr/deaf >/dev/null
SC=$BG
if "$PEER" call "$DD" rr/deaf --timeout 5 >"$TMP/deaf.out"; then
    fail "peer bridge that cannot hear us: a call succeeded ($(cat "$TMP/deaf.out"))"
elif grep -q "no server" "$TMP/deaf.out"; then
    ok "peer bridge that cannot hear us: no stand-in, the client sees no server"
else
    fail "peer bridge that cannot hear us: $(cat "$TMP/deaf.out")"
fi
stop "$SC" >/dev/null
stop "$BC" || fail "bridge C exit"
stop "$BD" || fail "bridge D exit"
if grep -q "does not answer" "$TMP/bridgeD.err"; then
    ok "bridge D says why: $(grep -m1 'does not answer' "$TMP/bridgeD.err")"
else
    fail "bridge D did not say why: $(cat "$TMP/bridgeD.err")"
fi

stop "$BA" || fail "bridge A exit"
stop "$BB" || fail "bridge B exit"
line=$(tail -n1 "$TMP/bridgeB.err")
if grep -q 'requests_out=[1-9]' <<<"$line" && grep -q 'failed_in=[1-9]' <<<"$line"; then
    ok "bridge B forwarded requests and failed the calls it could not complete"
else
    fail "bridge B stats: $line"
fi
finish
