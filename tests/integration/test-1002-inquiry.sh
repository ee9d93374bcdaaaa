#!/usr/bin/env bash
# braid inquiry: identity, size and the WWID udev/multipath would derive,
# through a portal + target + LUN and through an iscsi:// URL, on tgtd and
# istgt; a URL carrying a password is refused.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
requires tgtd tgtadm istgt
BRAID=$(braid_bin braid)

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 iqn.2026-11.dev.braid:inq
tgt_lun 1 1 file 256M
tgt_bind_all 1

out=$("$BRAID" inquiry "127.0.0.1:$port" iqn.2026-11.dev.braid:inq 1)
echo "$out"
field() { echo "$out" | sed -n "s/^$1: *//p"; }
assert_eq "IET" "$(field vendor)" "vendor"
assert_eq "VIRTUAL-DISK" "$(field product)" "product"
assert_eq "0001" "$(field revision)" "revision"
assert_eq "268435456 bytes (256.0 MiB)" "$(field size)" "size"
assert_eq "512" "$(field 'block size')" "block size"
assert_eq "beaf11" "$(field serial)" "serial (VPD 0x80, right-aligned by tgtd)"
# tgtd's NAA-6 designator for tid 1 LUN 1 (lab notes): what scsi_id gives.
assert_eq "360000000000000000e00000000010001" "$(field wwid)" "wwid"

out=$("$BRAID" inquiry "iscsi://[::1]:$port/iqn.2026-11.dev.braid:inq/1")
assert_eq "360000000000000000e00000000010001" "$(echo "$out" | sed -n 's/^wwid: *//p')" "wwid via URL over IPv6"

set +e
"$BRAID" inquiry "iscsi://user%secret@127.0.0.1:$port/iqn.2026-11.dev.braid:inq/1" 2>"$TMPDIR_TEST/err"
rc=$?
set -e
assert_eq 2 "$rc" "URL with a password refused"
grep -qi "chap" "$TMPDIR_TEST/err" || fail "refusal does not explain where CHAP secrets go"

# istgt: T10 vendor designator outranks its locally assigned NAA.
iport=$(pick_port)
ictl=$(pick_port)
start_istgt "$iport" "$ictl"
out=$("$BRAID" inquiry "127.0.0.2:$iport" "$ISTGT_IQN" 0)
echo "$out"
field() { echo "$out" | sed -n "s/^$1: *//p"; }
assert_eq "FreeBSD" "$(field vendor)" "istgt vendor"
assert_eq "iSCSI DISK" "$(field product)" "istgt product"
assert_eq "1FreeBSD_iSCSI_DISK_10000001" "$(field wwid)" "istgt wwid"
pass "inquiry"
