#!/usr/bin/env bash
# Misbehaving clients (bad magic, out-of-range and oversized requests,
# unknown commands, garbage options, silent and vanishing clients, an
# export removed under a client) while a good client keeps writing and
# verifying on another connection: each gets its error or its connection
# closed, and nothing else is disturbed.  See tests/nbd/nbd-hostile.py.
set -euo pipefail
. "$(dirname "$0")/../nbd/nbd-lib.sh"
requires python3 timeout

for mode in shuffled delayed; do
  extra=()
  [ "$mode" = delayed ] && extra=(-d 2)
  start_memserver "$mode" -e good:64M -e hostile:64M -e victim:16M -V victim \
    -b 512,4096,33554432 -T 1000 "${extra[@]}"
  echo "== completion mode: $mode"
  timeout 300 python3 "$NBD_HOSTILE_PY" "$NBD_SOCK" "$NBD_PID" \
    || fail "hostile clients ($mode completion)"
done

nbd_finish
