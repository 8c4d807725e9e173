# Command line: --help, usage errors (exit 2), runtime errors (exit 1),
# --config files, the warning for a non-loopback bind without CURVE.
source "$(dirname "$0")/lib.sh"

expect() { # expect RC NAME CMD...
    local want=$1 name=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [[ $rc -eq $want ]]; then ok "$name (exit $rc)"; else
        fail "$name: exit $rc, expected $want"
        sed 's/^/    /' "$TMP/err" | head -n 5
    fi
}
expect 0 "--help" "$BRIDGE" --help
grep -q 'usage: ferry-bridge' "$TMP/out" && ok "--help prints usage" || fail "--help output"
expect 2 "no arguments" "$BRIDGE"
expect 2 "no service" "$BRIDGE" --bind tcp://127.0.0.1:1
expect 2 "unknown option" "$BRIDGE" --frobnicate
expect 2 "bad --hwm" "$BRIDGE" --hwm x --bind tcp://127.0.0.1:1 --service a
expect 2 "peer key without secret" "$BRIDGE" --connect tcp://127.0.0.1:1 --service a --curve-peer-public /nonexistent
expect 2 "missing config file" "$BRIDGE" --config "$TMP/none.conf"
printf 'domain %s\nbogus 1\n' "$DA" >"$TMP/bad.conf"
expect 2 "unknown key in config" "$BRIDGE" --config "$TMP/bad.conf"
expect 1 "bad endpoint" "$BRIDGE" --domain "$DA" --bind nonsense://x --service a
expect 1 "unreadable CURVE key" "$BRIDGE" --domain "$DA" --bind tcp://127.0.0.1:0 --service a --curve-secret "$TMP/none"
grep -q 'cannot open key file' "$TMP/err" && ok "the key error names the file" || fail "key error: $(cat "$TMP/err")"

# A config file, and the plain-text warning for a non-loopback bind.
P=$(free_port)
cat >"$TMP/a.conf" <<CONF
# comment
domain $DA
bind tcp://0.0.0.0:$P
service usage/*
scan-ms 50
CONF
bg "$BRIDGE" --config "$TMP/a.conf" 2>"$TMP/a.err"
B1=$BG
wait_until 5 grep -q 'origin' "$TMP/a.err"
stop "$B1" && ok "bridge from a config file ran and stopped with exit 0" || fail "config bridge exit"
grep -q 'warning: .*not a loopback address and CURVE is off' "$TMP/a.err" && ok "non-loopback warning" ||
    fail "no warning: $(cat "$TMP/a.err")"
finish
