#!/usr/bin/env bash
# The command line itself: help, versions, exit codes for bad arguments and
# unknown services (0 ok, 1 runtime error, 2 usage error, 3 not found).
source "$(dirname "$0")/lib.sh"

run 0 "ferry --help" "$FERRY" --help
grep -q '^usage: ferry COMMAND' "$TMP/out" || fail "ferry --help does not print the usage"
run 0 "ferry --version" "$FERRY" --version
grep -q '^ferry [0-9]*\.[0-9]*\.[0-9]* (library [0-9.]*)' "$TMP/out" || fail "ferry --version: $(cat "$TMP/out")"
run 2 "ferry without a command" "$FERRY"
run 2 "unknown command" "$FERRY" frobnicate
grep -q "unknown command 'frobnicate'" "$TMP/err" || fail "unknown command: no clear message"
run 2 "help on an unknown command" "$FERRY" help frobnicate

for cmd in list nodes info echo hz pub record replay clean doctor; do
    run 0 "ferry $cmd --help" "$FERRY" $cmd --help
    grep -q "^usage: ferry $cmd" "$TMP/out" || fail "ferry $cmd --help does not start with its usage"
    grep -q -- "--domain" "$TMP/out" || fail "ferry $cmd --help does not mention --domain"
    grep -q -- "--json" "$TMP/out" || fail "ferry $cmd --help does not mention --json"
    grep -q "exit codes" "$TMP/out" || fail "ferry $cmd --help does not document its exit codes"
    run 0 "ferry help $cmd" "$FERRY" help $cmd
    run 2 "ferry $cmd --no-such-option" "$FERRY" $cmd --no-such-option
    grep -q "unknown option '--no-such-option'" "$TMP/err" || fail "$cmd: unknown option not named"
    grep -q "ferry $cmd --help" "$TMP/err" || fail "$cmd: usage error does not point at --help"
done

# A service is required, and must exist (3) and be a valid name (2).
for cmd in info echo hz; do
    run 2 "ferry $cmd without a service" "$FERRY" $cmd
    run 3 "ferry $cmd on an unknown service" "$FERRY" $cmd no/such/service
    grep -q 'no service "no/such/service" in domain' "$TMP/err" || fail "$cmd: unknown service not explained"
    run 2 "ferry $cmd on an invalid name" "$FERRY" $cmd 'bad//name'
done
run 3 "ferry info --json on an unknown service" "$FERRY" info --json no/such/service
run 3 "ferry record on an unknown service" "$FERRY" record no/such -o "$TMP/x.rec"
[[ -e $TMP/x.rec ]] && fail "record created its file although the service does not exist"
run 2 "ferry record without -o" "$FERRY" record some/service
run 2 "ferry record without services" "$FERRY" record -o "$TMP/x.rec"
run 2 "ferry record naming a service twice" "$FERRY" record a a -o "$TMP/x.rec"
run 3 "ferry echo --wait gives up after --timeout" "$FERRY" echo no/such --wait --timeout 0.2

# Domains.
run 2 "invalid --domain" "$FERRY" list --domain 'has.dot'
grep -q 'domain "has.dot"' "$TMP/err" || fail "invalid domain not explained"
run 2 "invalid FERRY_DOMAIN" env FERRY_DOMAIN='x y' "$FERRY" nodes
run 0 "--domain beats FERRY_DOMAIN" env FERRY_DOMAIN='x y' "$FERRY" list --domain "$DOMAIN"
run 2 "ferry list takes no argument" "$FERRY" list extra

# Numbers and choices.
run 2 "echo --count abc" "$FERRY" echo some/service --count abc
run 2 "echo --count 0" "$FERRY" echo some/service --count 0
run 2 "echo --count without a value" "$FERRY" echo some/service --count
grep -q "needs a value" "$TMP/err" || fail "missing option value not explained"
run 2 "echo --format bogus" "$FERRY" echo some/service --format bogus
run 2 "echo --json --format raw" "$FERRY" echo some/service --json --format raw
run 2 "hz --window -1" "$FERRY" hz some/service --window -1
run 2 "pub --rate 0" "$FERRY" pub some/service x --rate 0
run 2 "pub --overflow sideways" "$FERRY" pub some/service x --overflow sideways
run 2 "pub --max-payload 12Q" "$FERRY" pub some/service x --max-payload 12Q
run 2 "pub without data" "$FERRY" pub some/service
run 2 "pub with an empty sample" "$FERRY" pub some/service ''
run 2 "pub --hex with bad digits" "$FERRY" pub some/service --hex zz
run 2 "pub --hex with an odd digit count" "$FERRY" pub some/service --hex abc
run 2 "pub a sample over --max-payload" "$FERRY" pub some/service 12345 --max-payload 4
grep -q "max_payload" "$TMP/err" || fail "oversized sample not explained"
run 2 "pub --file that does not exist" "$FERRY" pub some/service --file "$TMP/nope"
run 2 "replay --fast --speed 2" "$FERRY" replay "$TMP/x.rec" --fast --speed 2
run 3 "replay a missing file" "$FERRY" replay "$TMP/missing.rec"
printf 'this is not a recording' >"$TMP/bad.rec"
run 1 "replay a file that is not a recording" "$FERRY" replay "$TMP/bad.rec"
grep -q "FERRYREC" "$TMP/err" || fail "bad recording not explained"
run 2 "clean --all-domains --domain" "$FERRY" clean --all-domains --domain x

# Listing an empty domain is fine, in both forms.
run 0 "list on an empty domain" "$FERRY" list
run 0 "list --json on an empty domain" "$FERRY" list --json
check "list --json is an empty array" 'd == []' "$TMP/out"
run 0 "nodes --json on an empty domain" "$FERRY" nodes --json
check "nodes --json is an empty array" 'd == []' "$TMP/out"

finish
