#!/usr/bin/env bash
# ferry pub and ferry echo together: text, hex, raw and JSON output, stdin and
# files, counts, timeouts, and a service with incompatible options.
source "$(dirname "$0")/lib.sh"

# Three samples from arguments; echo waits for the service, pub for echo.
bg "$FERRY" echo demo/chat --wait --count 3 --timeout 10 --json >"$TMP/echo.json" 2>"$TMP/echo.err"
echo_pid=$BG
run 0 "pub three samples from arguments" \
    "$FERRY" pub demo/chat hello "two words" $'tab\there' --wait-subscribers 1 --timeout 10 --json
check "pub: summary" 'd["published"] == 3 and d["bytes"] == 22 and d["created"] and d["subscribers"] == 1' "$TMP/out"
wait "$echo_pid" && ok "echo exits 0 after --count" || fail "echo did not exit 0"
"$PY" - "$TMP/echo.json" <<'PYEOF' && ok "echo --json: texts, sizes, sequences, latency" || fail "echo --json output is wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["text"] for l in lines] == ["hello", "two words", "tab\there"], lines
assert [l["size"] for l in lines] == [5, 9, 8], lines
assert [l["sequence"] for l in lines] == [1, 2, 3], lines
assert all(l["latency_ns"] is not None and 0 <= l["latency_ns"] < 10e9 for l in lines), lines
assert len({l["publisher"] for l in lines}) == 1, lines
PYEOF
grep -q "received 3 samples, lost 0" "$TMP/echo.err" || fail "echo summary: $(cat "$TMP/echo.err")"

# Hex in, hex dump out.
bg "$FERRY" echo demo/bin --wait --count 1 --timeout 10 --format hex >"$TMP/hex.out" 2>/dev/null
echo_pid=$BG
run 0 "pub --hex" "$FERRY" pub demo/bin --hex "de ad be ef 00 41" --wait-subscribers 1 --timeout 10 --quiet
wait "$echo_pid" || fail "echo --format hex failed"
grep -q '^--- seq 1, 6 bytes, latency ' "$TMP/hex.out" || fail "echo hex: no header line: $(head -n 1 "$TMP/hex.out")"
grep -q 'de ad be ef 00 41 .*|.....A|' "$TMP/hex.out" && ok "echo --format hex shows the bytes" ||
    fail "echo hex dump: $(cat "$TMP/hex.out")"

# A binary file, twice, through --format raw: byte for byte.
head -c 3000 /dev/urandom >"$TMP/blob"
bg "$FERRY" echo demo/blob --wait --count 2 --timeout 10 --format raw --quiet >"$TMP/raw.out"
echo_pid=$BG
run 0 "pub --file --count 2" "$FERRY" pub demo/blob --file "$TMP/blob" --count 2 --wait-subscribers 1 --timeout 10
wait "$echo_pid" || fail "echo --format raw failed"
cat "$TMP/blob" "$TMP/blob" >"$TMP/blob2"
cmp -s "$TMP/raw.out" "$TMP/blob2" && ok "echo --format raw gives the payload bytes unchanged" ||
    fail "echo --format raw: $(stat -c %s "$TMP/raw.out") bytes, expected 6000"

# stdin, one sample per line (the empty line is skipped).
bg "$FERRY" echo demo/lines --wait --count 3 --timeout 10 --format text --quiet >"$TMP/lines.out"
echo_pid=$BG
printf 'first\nsecond\n\nthird\n' >"$TMP/lines.in"
run 0 "pub - --lines" "$FERRY" pub demo/lines - --lines --wait-subscribers 1 --timeout 10 --json <"$TMP/lines.in"
check "pub - --lines: 3 samples, 1 empty line skipped" 'd["published"] == 3 and d["skipped_lines"] == 1' "$TMP/out"
wait "$echo_pid" || fail "echo --format text failed"
[[ $(grep -v '^---' "$TMP/lines.out") == $'first\nsecond\nthird' ]] && ok "echo --format text prints the lines" ||
    fail "echo text: $(cat "$TMP/lines.out")"

# A publisher that stays (it sent one sample and lingers): options of an
# existing service are used, and incompatible ones are refused.
bg "$FERRY" pub demo/idle first --type demo.idle.v1 --max-payload 64 --linger 20 --quiet
idle_pid=$BG
wait_until 5 has_publisher demo/idle || fail "demo/idle did not show up"
run 1 "echo --count with nothing coming times out" "$FERRY" echo demo/idle --count 1 --timeout 0.3
grep -q "timed out" "$TMP/err" || fail "echo timeout not explained"
run 0 "echo --timeout without --count is a normal end" "$FERRY" echo demo/idle --timeout 0.2
run 1 "pub with an incompatible type" "$FERRY" pub demo/idle x --type other.type
grep -q 'type_name' "$TMP/err" && ok "the incompatibility is named" || fail "incompatible type not explained"
run 2 "pub a sample over the service's max_payload" "$FERRY" pub demo/idle "$(printf '%080d' 0)"
run 0 "pub uses the existing service's options" "$FERRY" pub demo/idle second --json
check "pub on an existing service" 'd["created"] == False and d["published"] == 1' "$TMP/out"
run 0 "list shows the options pub created it with" "$FERRY" list --json
check "demo/idle: type and max_payload" \
    '[(s["type"], s["options"]["max_payload"]) for s in d if s["name"] == "demo/idle"] == [("demo.idle.v1", 64)]' \
    "$TMP/out"
stop "$idle_pid" && ok "a lingering pub exits 0 on SIGTERM" || fail "lingering pub did not exit 0"

# --rate paces: 10 samples at 50 Hz take about 0.2 s.
t0=$(date +%s%N)
run 0 "pub --rate 50 --count 10" "$FERRY" pub demo/rate x --rate 50 --count 10 --quiet
ms=$((($(date +%s%N) - t0) / 1000000))
((ms >= 150)) && ok "pub --rate paces ($ms ms for 10 samples at 50 Hz)" || fail "pub --rate too fast: $ms ms"

finish
