#!/usr/bin/env bash
# ferry doctor and ferry clean after processes were killed with kill -9:
# doctor counts what they left (without removing it), clean removes it and
# says what it removed, and afterwards nothing of the domain is left.
source "$(dirname "$0")/lib.sh"

run 0 "doctor --json" "$FERRY" doctor --json
cp "$TMP/out" "$TMP/doctor0.json"
checks "$TMP/doctor0.json" <<'CHECKS'
doctor: checks the shm directory, its space and permissions, limits and the domain => {"shm-directory", "shm-permissions", "shm-space", "open-files", "locked-memory", "domain", "stale"} <= {f["check"] for f in d["findings"]}
doctor: every finding has a status and a message; problems have a fix => all(f["status"] in ("ok", "warn", "fail") and f["message"] and (f["status"] == "ok" or f["fix"]) for f in d["findings"])
doctor: nothing stale in a fresh domain => [f["status"] for f in d["findings"] if f["check"] == "stale"] == ["ok"]
doctor: healthy means every finding is ok => d["healthy"] == all(f["status"] == "ok" for f in d["findings"])
CHECKS

# A publisher and a subscriber, killed without a chance to clean up.
bg "$FERRY" pub demo/crash tick --rate 200 --count 0 --quiet
pub_pid=$BG
bg "$FERRY" echo demo/crash --wait --quiet --format raw >/dev/null
echo_pid=$BG
wait_until 5 connected demo/crash 1 || fail "echo never got connected"
{
    kill -KILL "$pub_pid" "$echo_pid"
    wait "$pub_pid" "$echo_pid"
} 2>/dev/null
left=$(shm_left)
((left >= 4)) && ok "the killed processes left $left objects" || fail "expected at least 4 objects left, found $left"

run 0 "nodes --json" "$FERRY" nodes --json
check "nodes: both dead, with their pids" \
    "sorted((n['name'], n['pid'], n['alive']) for n in d) == sorted([('ferry-pub', $pub_pid, False), ('ferry-echo', $echo_pid, False)])" \
    "$TMP/out"
run 0 "nodes --dead" "$FERRY" nodes --dead
grep -q "ferry-pub .*dead" "$TMP/out" || fail "nodes --dead: $(cat "$TMP/out")"
run 0 "info on a service of dead nodes" "$FERRY" info demo/crash
grep -q "(dead)" "$TMP/out" || fail "info does not mark the owners dead"

run 1 "doctor finds the leftovers (exit 1)" "$FERRY" doctor --json
check "doctor: a stale finding with a fix naming ferry clean" \
    '[(f["status"], "ferry clean" in f["fix"]) for f in d["findings"] if f["check"] == "stale"] == [("warn", True)]' \
    "$TMP/out"
[[ $(shm_left) -eq $left ]] && ok "doctor removed nothing" || fail "doctor changed /dev/shm"
run 1 "doctor, text" "$FERRY" doctor
grep -q "^warn .*left by dead processes" "$TMP/out" || fail "doctor text: $(cat "$TMP/out")"
grep -q "fix: ferry clean --domain $DOMAIN" "$TMP/out" || fail "doctor text has no fix for the leftovers"

run 0 "clean --dry-run" "$FERRY" clean --dry-run --json
check "clean --dry-run lists every leftover" "d['dry_run'] and d['removed'] == $left and len(d['objects']) == $left" "$TMP/out"
[[ $(shm_left) -eq $left ]] && ok "clean --dry-run removed nothing" || fail "clean --dry-run changed /dev/shm"

run 0 "clean" "$FERRY" clean --json
check "clean: removed every leftover, and says what each was" \
    "d['removed'] == $left and {o['kind'] for o in d['objects']} == {'node', 'service', 'publisher-data'} and all(o['what'] for o in d['objects'])" \
    "$TMP/out"
[[ $(shm_left) -eq 0 ]] && ok "nothing of the domain is left after clean" || fail "$(shm_left) objects left after clean"
run 0 "clean again" "$FERRY" clean
grep -q "nothing was left behind" "$TMP/out" || fail "second clean: $(cat "$TMP/out")"

run 0 "doctor after clean" "$FERRY" doctor --json
check "doctor: nothing stale any more" '[f["status"] for f in d["findings"] if f["check"] == "stale"] == ["ok"]' "$TMP/out"
run 2 "doctor with a bad domain" "$FERRY" doctor --domain 'no/slashes'

finish
