#!/bin/sh
# Runs a command with FERRY_DOMAIN set to a fresh domain, then checks that the
# command left no shared-memory object of that domain behind.
#
#   run_in_domain.sh NAME COMMAND [ARGS...]
#
# NAME prefixes the domain (keep it short: domains hold at most 32 characters).
set -u

name=$1
shift
shm_dir=/dev/shm
FERRY_DOMAIN="$name-$$-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')"
export FERRY_DOMAIN

"$@"
rc=$?
if [ "$rc" -ne 0 ]; then
    echo "FAIL: $* exited with $rc (domain $FERRY_DOMAIN)"
fi

for f in "$shm_dir/ferry.$FERRY_DOMAIN."*; do
    [ -e "$f" ] || continue
    echo "FAIL: left in $shm_dir: $f"
    rm -f "$f"
    rc=1
done
exit "$rc"
