#!/usr/bin/env bash
# 64 MiB written with mixed sizes (512 B to 4 MiB) at queue depth 32 and
# read back byte-exact, against tgtd with its default parameters
# (MaxRecvDataSegmentLength undeclared = 8192, InitialR2T=Yes,
# MaxOutstandingR2T 1) and then tuned (262144, No, 8, header digest).
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
requires tgtd tgtadm
IO=$(braid_bin iscsi-io)

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 iqn.2026-11.dev.braid:io
tgt_lun 1 1 file 128M
tgt_bind_all 1

"$IO" --portal "127.0.0.1:$port" --target iqn.2026-11.dev.braid:io --lun 1 \
  --bytes $((64 << 20)) --qd 32 --seed 11 | tee "$TMPDIR_TEST/default"
grep -q "max_xmit=8192 " "$TMPDIR_TEST/default" || fail "default tgtd: MaxXmitDataSegmentLength should be 8192"
grep -q "initial_r2t=1 " "$TMPDIR_TEST/default" || fail "default tgtd: InitialR2T should be Yes"
grep -q "max_outstanding_r2t=1 " "$TMPDIR_TEST/default" || fail "default tgtd: MaxOutstandingR2T should be 1"
grep -q " 0 mismatches" "$TMPDIR_TEST/default" || fail "default tgtd: mismatches"

tgt_tune 1
tgt_set 1 HeaderDigest CRC32C
"$IO" --portal "127.0.0.2:$port" --target iqn.2026-11.dev.braid:io --lun 1 \
  --bytes $((64 << 20)) --qd 32 --seed 12 | tee "$TMPDIR_TEST/tuned"
grep -q "max_xmit=262144 " "$TMPDIR_TEST/tuned" || fail "tuned tgtd: MaxXmitDataSegmentLength should be 262144"
grep -q "initial_r2t=0 " "$TMPDIR_TEST/tuned" || fail "tuned tgtd: InitialR2T should be No"
grep -q "max_outstanding_r2t=8 " "$TMPDIR_TEST/tuned" || fail "tuned tgtd: MaxOutstandingR2T should be 8"
grep -q "header_digest=1 " "$TMPDIR_TEST/tuned" || fail "tuned tgtd: header digest should be on"
grep -q " 0 mismatches" "$TMPDIR_TEST/tuned" || fail "tuned tgtd: mismatches"

# Everything the upper layers need, once each.
OPS=$(braid_bin iscsi-ops)
"$OPS" "127.0.0.1:$port" iqn.2026-11.dev.braid:io 1 | tee "$TMPDIR_TEST/ops"
for k in tur inquiry vpd00 vpd80 vpd83 readcap16 readcap10 reportluns write16 \
         read16 synccache16 ping abort-task-set lun-reset tur-after-reset logout; do
  grep -q "^$k: \(ok\|refused\)" "$TMPDIR_TEST/ops" || fail "iscsi-ops: $k"
done
grep -q "^vpd83: ok wwid=360000000000000000e00000000010001" "$TMPDIR_TEST/ops" || fail "wwid"
pass "io-tgtd"
