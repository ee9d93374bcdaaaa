#!/usr/bin/env bash
# Malformed and out-of-range NBD requests against braidd's export: each gets
# its error reply (or, for a bad magic, its own connection closed) while a
# verified writer keeps working on another connection, and the daemon keeps
# answering its control socket afterwards.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm python3
BRAID=$(braid_bin braid)
IQN=iqn.2026-11.dev.braid:hostile

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 file 128M
tgt_bind_all 1
BRAIDD_PATHS=2 start_braidd d --login "127.0.0.1:$port,$IQN" --login "127.0.0.2:$port,$IQN"
export_name=$(braidd_export d)

python3 "$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py" --socket "$BRAIDD_SOCK" \
  --export "$export_name" --seconds 8 --blocks 2048 --report "$TMPDIR_TEST/good.json" &
good=$!
sleep 1
python3 "$BRAID_SOURCE_DIR/tests/prog/nbd-bad-client.py" "$BRAIDD_SOCK" "$export_name" \
  | tee "$TMPDIR_TEST/bad.out"
wait "$good" || fail "the good client failed: $(cat "$TMPDIR_TEST/good.json")"
cat "$TMPDIR_TEST/good.json"
grep -q '"errors": 0, "mismatches": 0' "$TMPDIR_TEST/good.json" || fail "good client saw errors"
"$BRAID" --run-dir "$BRAIDD_DIR/run" show maps | grep -q "$export_name" \
  || fail "braidd stopped answering after the hostile clients"
pass "nbd-hostile"
