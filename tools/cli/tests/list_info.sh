#!/usr/bin/env bash
# ferry list, nodes and info against live processes: a publisher, and a
# subscriber that is stopped (SIGSTOP) so that its queue fills and it loses
# samples, which info must show.
source "$(dirname "$0")/lib.sh"

# A publisher at 500 Hz on a service with a queue of 8 samples.
bg "$FERRY" pub demo/imu tick --rate 500 --count 0 --queue-capacity 8 --type demo.imu.v1 --quiet
pub_pid=$BG
wait_until 5 has_publisher demo/imu || fail "the publisher's service did not show up"
if [[ -n $EXAMPLE_PUB ]]; then
    bg "$EXAMPLE_PUB" --rate 100 --domain "$DOMAIN" >/dev/null
    example_pid=$BG
    wait_until 5 has_publisher sensors/imu/front || fail "the example's service did not show up"
fi
# A subscriber: ferry echo, discarding what it prints.
bg "$FERRY" echo demo/imu --quiet --format raw >/dev/null
echo_pid=$BG
wait_until 5 connected demo/imu 1 || fail "echo never got connected"

# list
run 0 "list" "$FERRY" list
grep -q '^SERVICE' "$TMP/out" || fail "list has no header"
grep -Eq '^demo/imu +pubsub +demo.imu.v1 +1/4 +1/8 +payload 4.0 KiB, queue 8' "$TMP/out" ||
    fail "list does not show demo/imu: $(cat "$TMP/out")"
run 0 "list --json" "$FERRY" list --json
example_checks=""
[[ -n $EXAMPLE_PUB ]] && example_checks='list: the example service => [(s["type"], s["options"]["max_payload"], s["options"]["overflow"]) for s in d if s["name"] == "sensors/imu/front"] == [("ferry_example.imu_sample.v1", 40, "block")]'
checks "$TMP/out" <<CHECKS
list: demo/imu has 1 publisher and 1 subscriber => [(s["publishers"], s["subscribers"]) for s in d if s["name"] == "demo/imu"] == [(1, 1)]
list: demo/imu pattern, type, options => [(s["pattern"], s["type"], s["options"]["queue_capacity"], s["options"]["overflow"], s["options"]["max_payload"]) for s in d if s["name"] == "demo/imu"] == [("pubsub", "demo.imu.v1", 8, "drop_oldest", 4096)]
$example_checks
CHECKS
run 0 "list --domain (another, empty domain)" "$FERRY" list --domain "${DOMAIN}x"
grep -q "^no services in domain" "$TMP/out" || fail "another domain is not empty: $(cat "$TMP/out")"

# nodes
run 0 "nodes" "$FERRY" nodes
grep -Eq "^ferry-pub +[0-9a-f]{16} +$pub_pid +[^ ]+ +alive" "$TMP/out" ||
    fail "nodes does not show ferry-pub ($pub_pid) alive: $(cat "$TMP/out")"
run 0 "nodes --json" "$FERRY" nodes --json
example_checks=""
[[ -n $EXAMPLE_PUB ]] && example_checks="nodes: the example's imu_driver => [n['pid'] for n in d if n['name'] == 'imu_driver'] == [$example_pid]"
checks "$TMP/out" <<CHECKS
nodes: ferry-pub with its pid, alive => [n['alive'] for n in d if n['name'] == 'ferry-pub' and n['pid'] == $pub_pid] == [True]
nodes: ferry-echo with its pid, uid, id and owner => [(n['uid'], len(n['id']), bool(n['owner'])) for n in d if n['name'] == 'ferry-echo' and n['pid'] == $echo_pid] == [($(id -u), 16, True)]
$example_checks
CHECKS
run 0 "nodes --dead (none)" "$FERRY" nodes --dead
grep -q "^no dead nodes" "$TMP/out" || fail "nodes --dead: $(cat "$TMP/out")"

# info, with the subscriber stopped: its queue fills up, then it loses samples.
kill -STOP "$echo_pid"
sleep 0.3
run 0 "info" "$FERRY" info demo/imu
grep -q '^type  *demo.imu.v1' "$TMP/out" || fail "info: no type line"
grep -q 'queue_capacity 8' "$TMP/out" || fail "info: no queue_capacity"
grep -q '^publishers  *1 of 4' "$TMP/out" || fail "info: no publisher count"
grep -Eq "ferry-echo +$echo_pid .* 8/8 +[1-9]" "$TMP/out" || fail "info: the subscriber's full queue and losses are not shown"
run 0 "info --json" "$FERRY" info demo/imu --json
cp "$TMP/out" "$TMP/info.json"
checks "$TMP/info.json" <<CHECKS
info: name, pattern, type, options => (d["name"], d["pattern"], d["type"], d["options"]["queue_capacity"], d["options"]["max_subscribers"]) == ("demo/imu", "pubsub", "demo.imu.v1", 8, 8)
info: the publisher's slot, node and pid => [(p['slot'], p['state'], p['node']['name'], p['node']['pid'], p['node']['alive']) for p in d['publishers']] == [(0, 'active', 'ferry-pub', $pub_pid, True)]
info: the stopped subscriber's queue is full => [(s['node']['pid'], s['queued'], s['connections']) for s in d['subscribers']] == [($echo_pid, 8, 1)]
info: the stopped subscriber lost samples => [s["lost"] > 0 for s in d["subscribers"]] == [True]
info: the connection => [(c["publisher_slot"], c["queued"], c["capacity"], c["dropped"] > 0) for c in d["connections"]] == [(0, 8, 8, True)]
CHECKS
lost1=$(jq_py "$TMP/info.json" 'd["subscribers"][0]["lost"]')
sleep 0.1
run 0 "info --json again" "$FERRY" info demo/imu --json
checks "$TMP/out" <<CHECKS
info: losses keep growing while it is stopped => d['subscribers'][0]['lost'] > $lost1
CHECKS

# Once it runs again it empties its queue.
kill -CONT "$echo_pid"
drained() { "$FERRY" info demo/imu | grep -Eq "ferry-echo .* [0-7]/8 "; }
wait_until 5 drained && ok "info: the queue drains once the subscriber runs" || fail "the queue never drained"

stop "$echo_pid" && ok "echo exits 0 on SIGTERM" || fail "echo did not exit 0 on SIGTERM"
run 0 "info after the subscriber left" "$FERRY" info demo/imu
grep -q '^subscribers  *0 of 8' "$TMP/out" || fail "info still shows a subscriber: $(cat "$TMP/out")"
stop "$pub_pid" && ok "pub exits 0 on SIGTERM" || fail "pub did not exit 0 on SIGTERM"
if [[ -n $EXAMPLE_PUB ]]; then
    stop "$example_pid" >/dev/null
fi
run 0 "list after everybody left" "$FERRY" list
grep -q "^no services in domain" "$TMP/out" || fail "services left: $(cat "$TMP/out")"
run 3 "info after everybody left" "$FERRY" info demo/imu

finish
