# Both bridges forward the same service both ways, with a publisher and a
# subscriber on each side: every subscriber receives both publishers' streams
# exactly once, in order, intact (no loop, no duplicate).
source "$(dirname "$0")/lib.sh"

PA=$(free_port)
PB=$(free_port)
start_bridge A 'bidir/*'
start_bridge B 'bidir/*'

bg "$PEER" sub "$DA" bidir/chat --tags 2 --count 1500 --timeout 30 >"$TMP/subA.out"
SA=$BG
bg "$PEER" sub "$DB" bidir/chat --tags 2 --count 1500 --timeout 30 >"$TMP/subB.out"
SB=$BG
bg "$PEER" pub "$DA" bidir/chat --size 100 --rate 1000
QA=$BG
bg "$PEER" pub "$DB" bidir/chat --size 100 --rate 1000
QB=$BG
wait "$SA"
ra=$?
wait "$SB"
rb=$?
# Keep publishing a little: any echo would show up as a third stream or a duplicate.
sleep 0.5
stop "$QA"
stop "$QB"
if [[ $ra -eq 0 ]]; then ok "side A got both streams once: $(cat "$TMP/subA.out")"; else fail "side A: $(cat "$TMP/subA.out")"; fi
if [[ $rb -eq 0 ]]; then ok "side B got both streams once: $(cat "$TMP/subB.out")"; else fail "side B: $(cat "$TMP/subB.out")"; fi
stop "$BA" || fail "bridge A exit"
stop "$BB" || fail "bridge B exit"
for s in A B; do
    line=$(tail -n1 "$TMP/bridge$s.err")
    if grep -q 'skipped_own=[1-9]' <<<"$line" && grep -q 'loops=0 ' <<<"$line"; then
        ok "bridge $s skipped its own republished samples, no loops"
    else
        fail "bridge $s stats: $line"
    fi
done
finish
