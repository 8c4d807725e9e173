# Optional: the two "hosts" in two network namespaces joined by a veth pair
# (needs root and ip netns); skipped (exit 77) when they cannot be created.
# Each host's processes run in its namespace: ferry wakes subscribers through
# abstract unix sockets, which belong to a network namespace.
source "$(dirname "$0")/lib.sh"

NA="fyba$$"
NB="fybb$$"
cleanup_ns() {
    ip netns del "$NA" 2>/dev/null
    ip netns del "$NB" 2>/dev/null
}
if ! command -v ip >/dev/null || ! ip netns add "$NA" 2>/dev/null; then
    echo "skip: cannot create a network namespace (needs root and iproute2)"
    rm -rf "$TMP"
    exit 77
fi
if ! ip netns add "$NB" || ! ip link add "va$$" netns "$NA" type veth peer name "vb$$" netns "$NB" ||
    ! ip -n "$NA" addr add 10.77.0.1/24 dev "va$$" || ! ip -n "$NB" addr add 10.77.0.2/24 dev "vb$$" ||
    ! ip -n "$NA" link set "va$$" up || ! ip -n "$NB" link set "vb$$" up; then
    echo "skip: cannot set up the veth pair"
    cleanup_ns
    rm -rf "$TMP"
    exit 77
fi
trap 'cleanup_ns; on_abort; exit 1' INT TERM

bg ip netns exec "$NA" "$BRIDGE" --domain "$DA" --bind tcp://10.77.0.1:7400 --export 'ns/*' --scan-ms 50 \
    2>"$TMP/bridgeA.err"
BA=$BG
bg ip netns exec "$NB" "$BRIDGE" --domain "$DB" --connect tcp://10.77.0.1:7400 --import 'ns/*' \
    2>"$TMP/bridgeB.err"
BB=$BG
bg ip netns exec "$NB" "$PEER" sub "$DB" ns/x --count 500 --timeout 25 >"$TMP/sub.out"
SUB=$BG
bg ip netns exec "$NA" "$PEER" pub "$DA" ns/x --size 64 --rate 1000
PUB=$BG
wait "$SUB"
rc=$?
stop "$PUB"
if [[ $rc -eq 0 ]]; then ok "across namespaces: $(cat "$TMP/sub.out")"; else fail "across namespaces: $(cat "$TMP/sub.out")"; fi
stop "$BA"
stop "$BB"
cleanup_ns
finish
