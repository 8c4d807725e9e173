# Events cross the bridges both ways: ids raised by a notifier in domain A
# reach a listener in domain B and the other way round; with the service
# bridged both ways, nothing echoes or loops (after the notifiers stop, no
# listener on either side hears anything more), and each bridge dropped
# the echo of its own notifications.
source "$(dirname "$0")/lib.sh"

PA=$(free_port)
PB=$(free_port)
start_bridge A 'ev/*'
start_bridge B 'ev/*'

# A -> B
bg "$PEER" listen "$DB" ev/door --ids 3,7,63 --timeout 20 >"$TMP/listenB.out"
LB=$BG
bg "$PEER" notify "$DA" ev/door --ids 3,7,63 --rate 200 >/dev/null
NA=$BG
if wait "$LB"; then ok "A -> B: $(cat "$TMP/listenB.out")"; else fail "A -> B: $(cat "$TMP/listenB.out")"; fi
stop "$NA" >/dev/null

# B -> A, on the same service
bg "$PEER" listen "$DA" ev/door --ids 5 --timeout 20 >"$TMP/listenA.out"
LA=$BG
bg "$PEER" notify "$DB" ev/door --ids 5 --rate 200 >/dev/null
NB=$BG
if wait "$LA"; then ok "B -> A: $(cat "$TMP/listenA.out")"; else fail "B -> A: $(cat "$TMP/listenA.out")"; fi

stop "$NB" >/dev/null
sleep 0.5
# An echo loop would keep raising ids after every notifier has gone.
bg "$PEER" listen "$DA" ev/door --ids none --timeout 1.5 >"$TMP/quietA.out"
QA=$BG
bg "$PEER" listen "$DB" ev/door --ids none --timeout 1.5 >"$TMP/quietB.out"
QB=$BG
if wait "$QA" && wait "$QB"; then
    ok "no echo, no loop: quiet on both sides once the notifiers stopped"
else
    fail "events kept coming after the notifiers stopped: A $(cat "$TMP/quietA.out"), B $(cat "$TMP/quietB.out")"
fi

stop "$BA" || fail "bridge A exit"
stop "$BB" || fail "bridge B exit"
for s in A B; do
    line=$(tail -n1 "$TMP/bridge$s.err")
    if grep -q 'ids_out=[1-9]' <<<"$line" && grep -q 'ids_in=[1-9]' <<<"$line" && grep -q 'echoes=[1-9]' <<<"$line"; then
        ok "bridge $s sent and raised ids, and dropped its own echoes"
    else
        fail "bridge $s stats: $line"
    fi
done
finish
