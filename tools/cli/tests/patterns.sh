#!/usr/bin/env bash
# The other messaging patterns: event services (pub sends event ids, echo
# prints them) and state services (pub writes versions, echo prints them);
# commands that only work on publish-subscribe say so.
source "$(dirname "$0")/lib.sh"

# State: echo keeps the service (and its value) alive between two writers.
bg "$FERRY" echo cfg/limits --wait --count 2 --timeout 10 --json --quiet >"$TMP/state.json"
echo_pid=$BG
run 0 "pub --pattern state" "$FERRY" pub cfg/limits --pattern state '{"speed": 1}' --wait-subscribers 1 --timeout 10 --json
check "pub: a state version" 'd["pattern"] == "state" and d["published"] == 1 and d["created"]' "$TMP/out"
run 0 "info on a state service" "$FERRY" info cfg/limits --json
check "info: pattern, version, readers" \
    'd["pattern"] == "state" and d["version"] >= 1 and d["options"]["max_readers"] == 16 and len(d["subscribers"]) == 1' \
    "$TMP/out"
run 0 "pub on the existing state service" "$FERRY" pub cfg/limits '{"speed": 2}' --json
check "pub: the existing service's pattern is used" 'd["pattern"] == "state" and not d["created"]' "$TMP/out"
wait "$echo_pid" && ok "echo on a state service exits 0 after --count" || fail "echo on the state service failed"
"$PY" - "$TMP/state.json" <<'PYEOF' && ok "echo: the two versions, in order" || fail "state echo: $(cat "$TMP/state.json")"
import json, sys
v = [json.loads(l) for l in open(sys.argv[1])]
assert [x["text"] for x in v] == ['{"speed": 1}', '{"speed": 2}'], v
assert v[0]["version"] < v[1]["version"], v
PYEOF

# Events.
bg "$FERRY" echo alarms --wait --count 3 --timeout 10 --json --quiet >"$TMP/events.json"
echo_pid=$BG
run 0 "pub --pattern event" "$FERRY" pub alarms --pattern event --max-event-id 7 1 5 7 --wait-subscribers 1 --timeout 10
wait "$echo_pid" && ok "echo on an event service exits 0 after --count" || fail "echo on the event service failed"
"$PY" - "$TMP/events.json" <<'PYEOF' && ok "echo: the three event ids" || fail "event echo: $(cat "$TMP/events.json")"
import json, sys
assert sorted(json.loads(l)["event"] for l in open(sys.argv[1])) == [1, 5, 7]
PYEOF

# An event service that stays (a lingering notifier).
bg "$FERRY" pub alarms --pattern event --max-event-id 7 0 --linger 20 --quiet
notifier_pid=$BG
wait_until 5 has_publisher alarms || fail "the event service did not show up"
run 0 "list shows the event service" "$FERRY" list --json
check "list: pattern and event options" \
    '[(s["pattern"], s["options"]["max_event_id"], s["publishers"]) for s in d if s["name"] == "alarms"] == [("event", 7, 1)]' \
    "$TMP/out"
run 0 "info on an event service" "$FERRY" info alarms
grep -q '^notifiers  *1 of 16' "$TMP/out" || fail "info on events: $(cat "$TMP/out")"
run 2 "pub an event id out of range" "$FERRY" pub alarms 9
run 2 "pub something that is not an event id" "$FERRY" pub alarms hello
run 1 "pub --pattern state on an event service" "$FERRY" pub alarms --pattern state x
run 1 "hz on an event service" "$FERRY" hz alarms --count 1
grep -q 'publish-subscribe' "$TMP/err" || fail "hz on events: not explained"
run 1 "record an event service" "$FERRY" record alarms -o "$TMP/x.rec"
run 0 "echo --timeout on a quiet event service" "$FERRY" echo alarms --timeout 0.2
stop "$notifier_pid" && ok "the notifier exits 0 on SIGTERM" || fail "the notifier did not exit 0"

finish
