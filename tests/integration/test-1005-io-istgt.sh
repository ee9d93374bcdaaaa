#!/usr/bin/env bash
# istgt with CRC32C header and data digests, queue depth 64 against its
# CmdSN window of 32: commands beyond the window wait, none is dropped,
# and 64 MiB of mixed-size writes read back byte-exact.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
requires istgt
IO=$(braid_bin iscsi-io)

iport=$(pick_port)
ictl=$(pick_port)
start_istgt "$iport" "$ictl" --digest
"$IO" --portal "127.0.0.1:$iport" --target "$ISTGT_IQN" --lun 0 \
  --bytes $((64 << 20)) --qd 64 --digests --seed 21 | tee "$TMPDIR_TEST/out"
grep -q "header_digest=1 data_digest=1 " "$TMPDIR_TEST/out" || fail "digests not negotiated"
grep -q " 0 mismatches" "$TMPDIR_TEST/out" || fail "mismatches"
maxin=$(sed -n 's/.*max_in_flight=\([0-9]*\).*/\1/p' "$TMPDIR_TEST/out")
waits=$(sed -n 's/.*window_waits=\([0-9]*\).*/\1/p' "$TMPDIR_TEST/out")
[ "$maxin" -le 33 ] || fail "more commands in flight ($maxin) than istgt's window of 32 allows"
[ "$waits" -gt 0 ] || fail "queue depth 64 never waited for the window"
pass "io-istgt"
