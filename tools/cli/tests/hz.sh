#!/usr/bin/env bash
# ferry hz: rate, sizes and latency of a live publisher.
source "$(dirname "$0")/lib.sh"

bg "$FERRY" pub demo/hz abc defgh --rate 200 --count 0 --quiet
pub_pid=$BG
wait_until 5 has_publisher demo/hz || fail "demo/hz did not show up"

run 0 "hz --duration --interval --json" "$FERRY" hz demo/hz --duration 1.6 --interval 0.5 --window 1 --json
"$PY" - "$TMP/out" <<'PYEOF' && ok "hz: periodic reports and a final one with rate, sizes, latency" || fail "hz output: $(cat "$TMP/out")"
import json, sys
reports = [json.loads(l) for l in open(sys.argv[1])]
assert len(reports) >= 3, reports          # ~3 periodic + the final one
assert [r["final"] for r in reports].count(True) == 1 and reports[-1]["final"], reports
final = reports[-1]
assert 100 <= final["rate_hz"] <= 400, final   # 200 Hz, with room for a loaded machine
assert final["size"]["min"] == 3 and final["size"]["max"] == 5, final
assert 3 <= final["size"]["avg"] <= 5, final
assert final["latency_ns"] is not None and 0 <= final["latency_ns"]["min"] <= final["latency_ns"]["avg"] <= final["latency_ns"]["max"], final
assert final["lost"] == 0, final
PYEOF

run 0 "hz --count" "$FERRY" hz demo/hz --count 20 --json
check "hz --count stops after 20 samples" 'd["final"] and d["samples"] == 20' "$TMP/out"

run 0 "hz, text" "$FERRY" hz demo/hz --count 10
grep -q '^summary: .* msg/s  size .* latency ' "$TMP/out" && ok "hz text summary" || fail "hz text: $(cat "$TMP/out")"

stop "$pub_pid" || fail "pub did not exit 0"
run 3 "hz on a service that is gone" "$FERRY" hz demo/hz --count 1

finish
