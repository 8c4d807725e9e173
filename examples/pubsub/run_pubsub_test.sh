#!/bin/sh
# End-to-end test of the pubsub example: the subscriber and the publisher run
# as two processes in a domain of their own; the subscriber must receive COUNT
# samples in order, and no shared-memory object of the domain may be left.
#
#   run_pubsub_test.sh PUBLISHER SUBSCRIBER [COUNT]
set -u

pub=$1
sub=$2
count=${3:-200}
shm_dir=/dev/shm
# Unique per run, so parallel runs and other build directories never meet.
domain="ex-pubsub-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
tmp=$(mktemp -d)
sub_pid=

cleanup() {
    if [ -n "$sub_pid" ] && kill -0 "$sub_pid" 2>/dev/null; then
        kill "$sub_pid" 2>/dev/null
        wait "$sub_pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

failed=0
fail() {
    echo "FAIL: $*"
    failed=1
}

echo "domain: $domain, count: $count"

# Subscriber first; the publisher waits until it is connected, so that no
# sample is sent before anyone listens.
"$sub" --domain "$domain" --count "$count" --timeout 30 >"$tmp/sub.out" 2>&1 &
sub_pid=$!
"$pub" --domain "$domain" --count "$count" --rate 2000 --subscribers 1 --timeout 30 >"$tmp/pub.out" 2>&1
pub_rc=$?
if [ "$pub_rc" -ne 0 ]; then
    fail "publisher exited with $pub_rc"
    kill "$sub_pid" 2>/dev/null
fi
wait "$sub_pid"
sub_rc=$?
sub_pid=

echo "--- publisher output"
cat "$tmp/pub.out"
echo "--- subscriber output (last 5 lines)"
tail -n 5 "$tmp/sub.out"
echo "---"

[ "$sub_rc" -eq 0 ] || fail "subscriber exited with $sub_rc"
lines=$(grep -c '^seq ' "$tmp/sub.out")
[ "$lines" -eq "$count" ] || fail "subscriber printed $lines samples, expected $count"
grep -q "^subscriber: received $count sample(s), lost 0, mismatched 0," "$tmp/sub.out" ||
    fail "subscriber summary does not say: received $count sample(s), lost 0, mismatched 0"
grep -q "^publisher: sent $count sample(s)" "$tmp/pub.out" ||
    fail "publisher summary does not say: sent $count sample(s)"

# Both processes closed their nodes: nothing of the domain may remain.
left=0
for f in "$shm_dir/ferry.$domain."*; do
    [ -e "$f" ] || continue
    [ "$left" -eq 1 ] || fail "shared-memory objects left in $shm_dir:"
    left=1
    echo "  $f"
    rm -f "$f"
done

if [ "$failed" -ne 0 ]; then
    echo "--- full subscriber output"
    cat "$tmp/sub.out"
    exit 1
fi
echo "PASS: $count samples from publisher to subscriber, nothing left in $shm_dir"
