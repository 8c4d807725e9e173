#!/usr/bin/env bash
# ferry record and ferry replay: a recording of two services, replayed into a
# second recorder, must hold the same samples (count, bytes, checksum).
source "$(dirname "$0")/lib.sh"

# Overflow block on both services: nothing is lost, even when replayed --fast.
block=(--overflow block --queue-capacity 16 --wait-subscribers 1 --timeout 10 --quiet)

# 1. Record two services while they publish: 100 + 50 samples, 375 + 200 bytes.
bg "$FERRY" record rr/text rr/bin -o "$TMP/a.rec" --wait --count 150 --duration 20 --json >"$TMP/rec1.json"
rec_pid=$BG
bg "$FERRY" pub rr/text one two three four --count 100 --rate 500 "${block[@]}"
p1=$BG
bg "$FERRY" pub rr/bin --hex "00 01 02" "ff fe fd fc 00" --max-payload 1K --count 50 --rate 250 "${block[@]}"
p2=$BG
wait "$p1" || fail "publisher 1 failed"
wait "$p2" || fail "publisher 2 failed"
wait "$rec_pid" && ok "record exits 0 after --count" || fail "record did not exit 0"
check "record: 150 samples, 575 bytes, none lost" \
    'd["samples"] == 150 and d["bytes"] == 575 and [(s["name"], s["samples"], s["bytes"], s["lost"]) for s in d["services"]] == [("rr/text", 100, 375, 0), ("rr/bin", 50, 200, 0)]' \
    "$TMP/rec1.json"

# 2. The file describes itself.
run 0 "replay --info" "$FERRY" replay "$TMP/a.rec" --info --json
cp "$TMP/out" "$TMP/a.info"
checks "$TMP/a.info" <<'CHECKS'
replay --info: counts, bytes, complete => d["samples"] == 150 and d["bytes"] == 575 and d["complete"]
replay --info: the service table keeps the options => [(s["name"], s["type"], s["samples"], s["options"]["overflow"], s["options"]["max_payload"], s["options"]["queue_capacity"]) for s in d["services"]] == [("rr/text", "bytes", 100, "block", 4096, 16), ("rr/bin", "bytes", 50, "block", 1024, 16)]
replay --info: the recording spans the publishing time => 0.1 <= d["duration_s"] <= 10
CHECKS
run 0 "replay --info, text" "$FERRY" replay "$TMP/a.rec" --info
grep -q '^samples    150 ' "$TMP/out" || fail "replay --info text: $(cat "$TMP/out")"

# 3. Round trip: replay (as fast as possible) into a second recorder.
bg "$FERRY" record rr/text rr/bin -o "$TMP/b.rec" --wait --count 150 --duration 20 --json >"$TMP/rec2.json"
rec_pid=$BG
run 0 "replay --fast --wait-subscribers 1" "$FERRY" replay "$TMP/a.rec" --fast --wait-subscribers 1 --timeout 10 --json
check "replay: 150 samples, 575 bytes" 'd["samples"] == 150 and d["bytes"] == 575 and d["complete"]' "$TMP/out"
wait "$rec_pid" && ok "the second recorder got its 150 samples" || fail "the second recorder did not exit 0"
run 0 "replay --info of the copy" "$FERRY" replay "$TMP/b.rec" --info --json
cp "$TMP/out" "$TMP/b.info"
"$PY" - "$TMP/a.info" "$TMP/b.info" <<'PYEOF' && ok "round trip: same samples, bytes and payloads per service" || fail "round trip differs"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
keep = lambda d: (d["samples"], d["bytes"], d["checksum"],
                  [(s["name"], s["samples"], s["bytes"], s["checksum"], s["options"]) for s in d["services"]])
assert keep(a) == keep(b), (keep(a), keep(b))
PYEOF

# 4. Original timing: --speed 1 takes about as long as the recording did.
dur=$(jq_py "$TMP/a.info" 'd["duration_s"]')
run 0 "replay --speed 1" "$FERRY" replay "$TMP/a.rec" --json
check "replay --speed 1 keeps the timing" "d['duration_s'] >= 0.8 * $dur" "$TMP/out"
run 0 "replay --speed 4" "$FERRY" replay "$TMP/a.rec" --speed 4 --count 100 --json
check "replay --count stops early" 'd["samples"] == 100' "$TMP/out"

# 5. A truncated recording (a killed recorder): what is complete is used.
head -c -3 "$TMP/a.rec" >"$TMP/t.rec"
run 0 "replay --info of a truncated file" "$FERRY" replay "$TMP/t.rec" --info --json
check "truncated: 149 samples, not complete" 'd["samples"] == 149 and not d["complete"]' "$TMP/out"
grep -q "truncated" "$TMP/err" || fail "truncation not reported"

# 6. To stdout and back: record -o - | replay --info -.
bg "$FERRY" pub rr/pipe a bb ccc "${block[@]}"
p1=$BG
"$FERRY" record rr/pipe -o - --wait --count 3 --duration 10 --quiet | "$FERRY" replay - --info --json >"$TMP/pipe.json"
wait "$p1" || fail "the publisher of rr/pipe failed"
check "record -o - | replay --info -" 'd["samples"] == 3 and d["bytes"] == 6' "$TMP/pipe.json"

finish
