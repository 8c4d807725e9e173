# Shared by the ferry command-line tests (sourced, bash).
#
#   bash TEST.sh FERRY_BINARY [EXAMPLE_PUBLISHER]
#
# Each test runs in a domain of its own (cli_<test>_<pid>), starts real
# processes, and at the end checks that nothing of its domain is left in
# /dev/shm. A test prints "ok: ..." / "FAIL: ..." lines and exits 0 only when
# nothing failed.
set -u

FERRY=${1:?usage: $0 FERRY_BINARY [EXAMPLE_PUBLISHER]}
export EXAMPLE_PUB=${2:-} # used by the tests that source this
PY=${PYTHON:-python3}
SHM=/dev/shm
TEST_NAME=$(basename "$0" .sh)
DOMAIN="cli_${TEST_NAME}_$$"
DOMAIN=${DOMAIN:0:32}
export FERRY_DOMAIN=$DOMAIN
TMP=$(mktemp -d)
BG_PIDS=()
FAILURES=0

# ASan: a leak report fails the test, as in the rest of the suite.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

fail() {
    echo "FAIL: $*"
    FAILURES=$((FAILURES + 1))
}

ok() { echo "ok: $*"; }

# bg CMD...: starts CMD in the background; its pid is in $BG.
bg() {
    "$@" &
    BG=$!
    BG_PIDS+=("$BG")
}

# stop PID: SIGTERM, then waits; returns the exit status.
stop() {
    kill -TERM "$1" 2>/dev/null
    wait "$1"
}

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

# wait_until SECONDS CMD...: retries CMD every 50 ms until it succeeds.
wait_until() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            return 1
        fi
        sleep 0.05
    done
}

# For polling loops (no Python: it is slow to start). has_publisher SERVICE:
# the service exists with at least one publisher. connected SERVICE N: info
# shows N connections.
has_publisher() { "$FERRY" list 2>/dev/null | grep -Eq "^$1 +[a-z]+ +[^ ]+ +[1-9][0-9]*/"; }
connected() { "$FERRY" info "$1" 2>/dev/null | grep -Eq "^connections +$2\$"; }

# The objects of this test's domain in /dev/shm, one name a line; their number.
shm_objects() {
    local f
    for f in "$SHM"/ferry."$DOMAIN".*; do
        if [[ -e $f ]]; then echo "${f##*/}"; fi
    done
}
shm_left() { shm_objects | grep -c .; }

finish() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            fail "process $pid still running at the end"
            kill -KILL "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    local left
    left=$(shm_left)
    if [[ $left -ne 0 ]]; then
        fail "$left object(s) of domain $DOMAIN left in $SHM:"
        shm_objects | sed 's/^/    /'
        rm -f "$SHM"/ferry."$DOMAIN".*
    else
        ok "nothing of domain $DOMAIN left in $SHM"
    fi
    rm -rf "$TMP"
    if [[ $FAILURES -ne 0 ]]; then
        echo "$TEST_NAME: $FAILURES failure(s)"
        exit 1
    fi
    echo "$TEST_NAME: PASS"
    exit 0
}

on_abort() {
    local pid
    for pid in "${BG_PIDS[@]}"; do
        kill -KILL "$pid" 2>/dev/null
    done
    rm -f "$SHM"/ferry."$DOMAIN".*
    rm -rf "$TMP"
}
trap 'on_abort; exit 1' INT TERM
