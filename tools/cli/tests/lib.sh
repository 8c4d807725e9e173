# Shared by the ferry command-line tests (sourced, bash).
#
#   bash TEST.sh FERRY_BINARY [EXAMPLE_PUBLISHER]
#
# Each test runs in a domain of its own (cli_<test>_<pid>), starts real
# processes, and at the end checks that nothing of its domain is left in
# /dev/shm. A test prints "ok: ..." / "FAIL: ..." lines and exits 0 only when
# nothing failed.
FERRY=${1:?usage: $0 FERRY_BINARY [EXAMPLE_PUBLISHER]}
export EXAMPLE_PUB=${2:-} # used by the tests that source this
TEST_NAME=$(basename "$0" .sh)
DOMAIN="cli_${TEST_NAME}_$$"
DOMAIN=${DOMAIN:0:32}
export FERRY_DOMAIN=$DOMAIN
TEST_DOMAINS=("$DOMAIN")
source "$(dirname "${BASH_SOURCE[0]}")/../../../tests/shell/harness.sh"

# run WANT_RC NAME CMD...: runs CMD (stdout in $TMP/out, stderr in $TMP/err)
# and checks its exit status.
run() {
    local want=$1 name=$2
    shift 2
    "$@" >"$TMP/out" 2>"$TMP/err"
    local rc=$?
    if [[ $rc -eq $want ]]; then
        ok "$name (exit $rc)"
    else
        fail "$name: exit $rc, expected $want: $*"
        sed 's/^/    stderr: /' "$TMP/err" | head -n 5
    fi
    return 0
}

# jq_py FILE EXPR: evaluates a Python expression over the JSON in FILE (as d).
jq_py() {
    "$PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# check NAME PYTHON_BOOL_EXPR FILE: one check (see checks).
check() { checks "$3" <<<"$1 => $2"; }

# checks FILE: reads "NAME => PYTHON_BOOL_EXPR" lines on stdin and checks each
# over the JSON in FILE (as d), all in one Python process (a Python start
# costs more than a ferry command on a loaded machine).
checks() {
    local out rc
    out=$("$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
for line in sys.stdin:
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    name, expr = line.split(" => ", 1)
    try:
        v = eval(expr)
    except Exception as e:
        v = "%s: %s" % (type(e).__name__, e)
    print(("ok: " + name) if v is True else ("FAIL: %s: %s is %r" % (name, expr, v)))
' "$1" 2>&1)
    rc=$?
    echo "$out"
    FAILURES=$((FAILURES + $(grep -c '^FAIL' <<<"$out")))
    if [[ $rc -ne 0 ]]; then
        fail "checks over $1 did not run (exit $rc)"
        head -c 2000 "$1" | sed 's/^/    json: /'
    elif grep -q '^FAIL' <<<"$out"; then
        head -c 2000 "$1" | sed 's/^/    json: /'
    fi
}

# For polling loops (no Python: it is slow to start). has_publisher SERVICE:
# the service exists with at least one publisher. connected SERVICE N: info
# shows N connections.
has_publisher() { "$FERRY" list 2>/dev/null | grep -Eq "^$1 +[a-z]+ +[^ ]+ +[1-9][0-9]*/"; }
connected() { "$FERRY" info "$1" 2>/dev/null | grep -Eq "^connections +$2\$"; }
