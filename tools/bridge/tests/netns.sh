# Optional: the two "hosts" in two network namespaces joined by a veth pair
# (needs root and ip netns); skipped (exit 77) when they cannot be created.
# Each host's processes run in its namespace: ferry wakes subscribers through
# abstract unix sockets, which belong to a network namespace. The link
# between them is cut for 2 s and restored: delivery resumes by itself.
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
bg ip netns exec "$NB" "$PEER" sub "$DB" ns/x --allow-gaps --timeout 40 --progress "$TMP/progress" >"$TMP/sub.out"
SUB=$BG
bg ip netns exec "$NA" "$PEER" pub "$DA" ns/x --size 64 --rate 1000
PUB=$BG
got() { cat "$TMP/progress" 2>/dev/null || echo 0; }
if wait_until 20 progress_at_least "$TMP/progress" 500; then
    ok "across namespaces: $(got) samples"
else
    fail "across namespaces: $(got) samples"
fi

# Cut the link for 2 s, then restore it: delivery resumes by itself, the
# publisher never blocks.
ip -n "$NA" link set "va$$" down
sleep 2
n=$(got)
if kill -0 "$PUB" 2>/dev/null; then ok "link down: the publisher goes on"; else fail "the publisher died while the link was down"; fi
ip -n "$NA" link set "va$$" up
if wait_until 20 progress_at_least "$TMP/progress" $((n + 500)); then
    ok "link cut for 2 s and restored: delivery resumed ($n -> $(got))"
else
    fail "no delivery after restoring the link ($n -> $(got))"
fi
stop "$PUB"
if stop "$SUB"; then
    ok "no duplicate, no reordering, no corrupt sample: $(cat "$TMP/sub.out")"
else
    fail "subscriber: $(cat "$TMP/sub.out")"
fi
stop "$BA"
stop "$BB"
cleanup_ns
finish
