# CURVE on: keys from `ferry-bridge --keygen`; an encrypted link delivers in
# order and intact; a peer that expects another server key receives nothing.
source "$(dirname "$0")/lib.sh"

"$BRIDGE" --keygen "$TMP/a" >/dev/null && "$BRIDGE" --keygen "$TMP/b" >/dev/null
if [[ -s $TMP/a.secret && -s $TMP/a.public && -s $TMP/b.public ]]; then ok "--keygen wrote key pairs"; else
    fail "--keygen"
    finish
fi
[[ $(stat -c %a "$TMP/a.secret") == 600 ]] && ok "secret key file is 0600" || fail "secret key mode $(stat -c %a "$TMP/a.secret")"
if "$BRIDGE" --keygen "$TMP/a" >/dev/null 2>&1; then fail "--keygen overwrote a key"; else ok "--keygen refuses to overwrite"; fi

PA=$(free_port)
bg "$BRIDGE" --domain "$DA" --bind "tcp://127.0.0.1:$PA" --export 'curve/*' --scan-ms 50 \
    --curve-secret "$TMP/a.secret" 2>"$TMP/bridgeA.err"
BA=$BG
bg "$BRIDGE" --domain "$DB" --connect "tcp://127.0.0.1:$PA" --import 'curve/*' \
    --curve-secret "$TMP/b.secret" --curve-peer-public "$TMP/a.public" 2>"$TMP/bridgeB.err"
BB=$BG
# A third party that trusts the wrong server key (b's): the handshake fails.
DC="brcurveC$$"
bg "$BRIDGE" --domain "$DC" --connect "tcp://127.0.0.1:$PA" --import 'curve/*' \
    --curve-secret "$TMP/b.secret" --curve-peer-public "$TMP/b.public" 2>"$TMP/bridgeC.err"
BC=$BG

bg "$PEER" sub "$DB" curve/x --count 1000 --timeout 25 >"$TMP/sub.out"
SUB=$BG
bg "$PEER" pub "$DA" curve/x --size 200 --rate 2000
PUB=$BG
wait "$SUB"
rc=$?
stop "$PUB"
if [[ $rc -eq 0 ]]; then ok "encrypted link: $(cat "$TMP/sub.out")"; else fail "encrypted link rc=$rc: $(cat "$TMP/sub.out")"; fi
stop "$BA" || fail "bridge A exit"
stop "$BB" || fail "bridge B exit"
stop "$BC" || fail "bridge C exit"
if grep -q 'received=0 ' "$TMP/bridgeC.err"; then ok "wrong server key: nothing received"; else
    fail "bridge with the wrong key received: $(tail -n1 "$TMP/bridgeC.err")"
fi
for f in "$SHM"/ferry."$DC".*; do
    if [[ -e $f ]]; then fail "left in $SHM: $f"; rm -f "$f"; fi
done
finish
