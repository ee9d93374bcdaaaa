#!/usr/bin/env bash
# The target dies in the middle of I/O and comes back: the session
# reinstates itself (same ISID, TSIH 0), the commands it handed back are
# resubmitted by the caller, and every byte reads back right.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
requires tgtd tgtadm
IO=$(braid_bin iscsi-io)

port=$(pick_port)
backing="$TMPDIR_TEST/lun.img"
truncate -s 256M "$backing"
setup() {
  start_tgtd "$port"
  tgt_target 1 iqn.2026-11.dev.braid:restart
  tgt --mode logicalunit --op new --tid 1 --lun 1 --backing-store "$backing" --bstype rdwr
  tgt_bind_all 1
}
setup

"$IO" --portal "127.0.0.1:$port" --target iqn.2026-11.dev.braid:restart --lun 1 \
  --bytes $((256 << 20)) --max 65536 --qd 8 --seed 31 --survive --timeout 240 \
  > "$TMPDIR_TEST/out" 2>&1 &
io=$!
cleanup_fn kill "$io"

# Let I/O get going, then kill the target outright and bring it back.
wait_for "I/O in flight" 20 grep -q negotiated "$TMPDIR_TEST/out"
sleep 0.3
kill -9 "$TGT_PID"
sleep 2
setup
set +e
wait "$io"
rc=$?
set -e
cat "$TMPDIR_TEST/out"
assert_eq 0 "$rc" "iscsi-io exit status"
grep -q " 0 mismatches" "$TMPDIR_TEST/out" || fail "mismatches"
logins=$(sed -n 's/.*logins=\([0-9]*\).*/\1/p' "$TMPDIR_TEST/out")
failures=$(sed -n 's/.*conn_failures=\([0-9]*\).*/\1/p' "$TMPDIR_TEST/out")
retries=$(sed -n 's/.*retries=\([0-9]*\).*/\1/p' "$TMPDIR_TEST/out")
[ "$failures" -ge 1 ] || fail "the target restart did not hit the session in the middle of I/O"
[ "$logins" -ge 2 ] || fail "session was not reinstated (logins=$logins)"
log "restart: $failures connection failures, $logins logins, $retries commands resubmitted"
pass "restart"
