# Shared by the ferry-bridge tests (sourced, bash).
#
#   bash TEST.sh FERRY_BRIDGE TEST_PEER
#
# Two ferry domains on this machine stand for two hosts (A and B), each with
# its own bridge, connected over 127.0.0.1 on free ports. Each test uses
# domains of its own and checks at the end that nothing of them is left in
# /dev/shm. Prints "ok: ..." / "FAIL: ..." lines; exits 0 only when nothing failed.
BRIDGE=${1:?usage: $0 FERRY_BRIDGE TEST_PEER}
PEER=${2:?usage: $0 FERRY_BRIDGE TEST_PEER}
TEST_NAME=$(basename "$0" .sh)
DA="br${TEST_NAME:0:8}A$$"
DB="br${TEST_NAME:0:8}B$$"
TEST_DOMAINS=("$DA" "$DB")
source "$(dirname "${BASH_SOURCE[0]}")/../../../tests/shell/harness.sh"

# free_port: a TCP port nobody listens on now.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# progress_at_least FILE N: the subscriber's progress file says >= N.
progress_at_least() { [[ -s $1 ]] && (($(cat "$1") >= $2)); }

# start_bridge A|B PATTERN: the bridge of domain A (or B), bound to port $PA
# ($PB) and connected to the other one's, carrying services matching PATTERN
# both ways; its pid goes to BA (BB), its stderr is appended to
# $TMP/bridgeA.err ($TMP/bridgeB.err). Set PA and PB first (free_port).
start_bridge() {
    local side=$1 pattern=$2 domain port peer
    if [[ $side == A ]]; then domain=$DA port=$PA peer=$PB; else domain=$DB port=$PB peer=$PA; fi
    bg "$BRIDGE" --domain "$domain" --bind "tcp://127.0.0.1:$port" --connect "tcp://127.0.0.1:$peer" \
        --service "$pattern" --scan-ms 50 2>>"$TMP/bridge$side.err"
    printf -v "B$side" '%s' "$BG"
}
