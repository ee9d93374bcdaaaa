#!/usr/bin/env bash
# test-0002-pytarget: proves tests/target/pytarget.py, braid's scripted
# iSCSI target, with libiscsi's own tools and the raw probe
# (tests/target/probe.py); no braid code involved.
#
# One target with portals 127.0.0.1 (TPG 1), 127.0.0.2 (TPG 2) and [::1]
# (TPG 2, when IPv6 exists), a memory LUN and a file LUN: discovery lists
# every portal with its tag; VPD 0x83 differs per portal only in its port
# designators; capacity; a short iscsi-perf; 16 MiB written through one
# portal and verified through the others; ALUA states through RTPG, the
# SPC sense per state, unit attentions after a change; session
# reinstatement; drop, blackhole, listen off, delay, fail_next; libiscsi's
# conformance suites.  A second target requires CHAP (one-way and
# mutual).  Finally the targets quit and leave nothing behind.
set -euo pipefail
source "$(dirname "$0")/../lib/functions.sh"
source "$(dirname "$0")/../target/functions-pytarget.sh"

requires python3 timeout iscsi-inq iscsi-ls iscsi-readcapacity16 iscsi-perf \
  iscsi-test-cu

# expect TEXT REGEX MSG: TEXT has a line matching the extended REGEX.
expect ()
{
  if ! grep -qE -- "$2" <<<"$1"; then
    printf '%s\n' "$1" >&2
    fail "$3 (no line matching '$2')"
  fi
}

port=$(pick_port)
IQN=iqn.2026-11.dev.braid:test0002
P1=127.0.0.1:$port
P2=127.0.0.2:$port
P3="[::1]:$port"
args=(--target "$IQN" --portal "$P1,tpg=1" --portal "$P2,tpg=2")
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  args+=(--portal "$P3,tpg=2")
fi
# LUN 2 stays all-zero until MultipathIO (its CompareAndWrite test zeroes
# 256 blocks, then also compares block 256).
start_pytarget t1 "${args[@]}" --lun 0:64M \
  --lun "1:32M:file=$TMPDIR_TEST/lun1.img" --lun 2:8M \
  --naa 60014050000000000000000000000100
probe () { pytarget_probe t1 --target "$IQN" "$@"; }
url () { echo "iscsi://$1/$IQN/$2"; }

# ---------------------------------------------------------------- discovery
out=$(timeout 30 iscsi-ls "iscsi://$P1")
expect "$out" "^Target:$IQN Portal:$P1,1\$" "iscsi-ls lists portal 1 with tag 1"
expect "$out" "^Target:$IQN Portal:$P2,2\$" "iscsi-ls lists portal 2 with tag 2"
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  expect "$out" "^Target:$IQN Portal:\[::1\]:$port,2\$" "iscsi-ls lists [::1]"
fi
out=$(probe --portal "$P2" discover)
expect "$out" "^discover TargetAddress $P1,1\$" "SendTargets via portal 2 lists portal 1"
pass "discovery lists every portal with its TPG tag"

# ---------------------------------------------------------------- VPD 0x83
for p in "$P1" "$P2"; do
  out=$(timeout 30 iscsi-inq -e 1 -c 131 "$(url "$p" 0)" | tr -d '\0' | tr -c '[:print:]\n' '?')
  expect "$out" "Designator Type:\(4\) RELATIVE_TARGET_PORT" "VPD 0x83 via $p: relative port"
  expect "$out" "Designator Type:\(5\) TARGET_PORT_GROUP" "VPD 0x83 via $p: TPG"
  expect "$out" "Designator Type:\(3\) NAA" "VPD 0x83 via $p: NAA"
done
out=$(timeout 30 iscsi-inq -e 1 -c 131 "$(url "$P2" 0)" | tr -c '[:print:]\n' '?')
expect "$out" "Designator:\[$IQN,t,0x0002\]" "iscsi-inq via portal 2 shows target port 2"
v1=$(probe --portal "$P1" vpd83)
v2=$(probe --portal "$P2" vpd83)
naa=naa.60014050000000000000000000000100/lu
expect "$v1" "^vpd83 status=GOOD $naa .* rtpi=1/port tpg=1/port " "VPD 0x83 via portal 1"
expect "$v2" "^vpd83 status=GOOD $naa .* rtpi=2/port tpg=2/port " "VPD 0x83 via portal 2"
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  v3=$(probe --portal "$P3" vpd83)
  expect "$v3" "rtpi=3/port tpg=2/port" "VPD 0x83 via [::1]"
fi
out=$(probe --portal "$P1" --lun 1 vpd83 inq)
expect "$out" "naa.60014050000000000000000000000101/lu" "LUN 1 gets NAA base + 1"
expect "$out" "^inq status=GOOD pq=0 type=0 tpgs=1 vendor=BRAID product=PYTARGET" \
  "standard INQUIRY: BRAID PYTARGET, implicit ALUA"
pass "VPD 0x83: same NAA everywhere, relative port and TPG per portal"

# ---------------------------------------------------------------- capacity, perf
out=$(timeout 30 iscsi-readcapacity16 "$(url "$P1" 0)")
expect "$out" "^Total size:67108864\$" "READ CAPACITY 16 of LUN 0"
out=$(timeout 30 iscsi-readcapacity16 "$(url "$P2" 1)")
expect "$out" "^Total size:33554432\$" "READ CAPACITY 16 of LUN 1"
expect "$out" "^LBPME:1 LBPRZ:1" "thin provisioning bits"
out=$(timeout 60 iscsi-perf -t 2 -m 16 -b 256 "$(url "$P1" 0)" 2>&1 | tr '\r' '\n')
expect "$out" "iops average [0-9]+ \([0-9]+ MB/s\)" "iscsi-perf ran"
log "iscsi-perf: $(grep -o 'iops average.*' <<<"$out" | tail -n 1 | tr -s ' ')"
pass "capacity and iscsi-perf"

# ---------------------------------------------------------------- data
out=$(probe --portal "$P1" --lun 1 write:0:32768:s1 verify:0:32768:s1)
expect "$out" "^write status=GOOD\$" "16 MiB written via portal 1"
expect "$out" "^verify status=GOOD match=yes\$" "16 MiB read back via portal 1"
out=$(probe --portal "$P2" --lun 1 verify:0:32768:s1 verify:0:8:other)
expect "$out" "^verify status=GOOD match=yes\$" "16 MiB verified via portal 2"
expect "$out" "^verify status=GOOD match=no lba=0\$" "a wrong pattern is noticed"
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  out=$(probe --portal "$P3" --lun 1 --initial-r2t Yes --io-blocks 4777 \
          write:100:5000:s2 verify:100:5000:s2)
  expect "$out" "^verify status=GOOD match=yes\$" "R2T-driven writes via [::1]"
fi
out=$(probe --portal "$P2" write:0:2048:s3)
expect "$out" "^write status=GOOD\$" "memory LUN write"
# UNMAP blocks 8-15 (one descriptor), WRITE SAME 16 UNMAP+NDOB blocks 0-7.
unmap_list=0016001000000000$(printf '%016x%08x00000000' 8 8)
out=$(probe --portal "$P1" verify:0:2048:s3 cdb:42000000000000000400 \
        "cdbw:42000000000000001800:$unmap_list" \
        cdb:93090000000000000000000000080000 read:0:16 verify:16:2032:s3)
expect "$out" "^cdb status=CHECK_CONDITION sense=05/1a/00" "UNMAP with a short parameter list"
expect "$out" "^cdbw status=GOOD\$" "UNMAP"
expect "$out" "^cdb status=GOOD" "WRITE SAME 16 UNMAP NDOB"
zero=$(head -c 8192 /dev/zero | sha256sum | cut -d' ' -f1)
expect "$out" "^read status=GOOD sha256=$zero\$" "unmapped blocks read as zeroes"
expect "$out" "^verify status=GOOD match=yes\$" "blocks next to the unmapped ones kept"
in1=$(pytarget_stat t1 "$P1" bytes_in)
out2=$(pytarget_stat t1 "$P2" bytes_out)
(( in1 > 16 << 20 && out2 > 16 << 20 )) \
  || fail "per-portal byte counters: in($P1)=$in1 out($P2)=$out2"
pass "data written on one portal reads back on the others; counters add up"

# ---------------------------------------------------------------- ALUA
out=$(probe --portal "$P1" rtpg)
expect "$out" "^rtpg tpg=1 state=ao pref=0 status=0 sup=0xcf ports=1\$" "RTPG: TPG 1"
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  expect "$out" "^rtpg tpg=2 state=ao pref=0 status=0 sup=0xcf ports=2,3\$" "RTPG: TPG 2"
else
  expect "$out" "^rtpg tpg=2 state=ao pref=0 status=0 sup=0xcf ports=2\$" "RTPG: TPG 2"
fi
pytarget_ctl t1 '{"cmd":"alua","tpg":2,"state":"standby"}' >/dev/null
out=$(probe --portal "$P1" rtpg tur)
expect "$out" "^rtpg tpg=2 state=standby pref=0 status=2 " "RTPG shows TPG 2 standby"
expect "$out" "^tur status=GOOD\$" "TPG 1 still active"
out=$(probe --portal "$P2" tur read:0:8 write:0:8:x inq rtpg readcap reportluns)
expect "$out" "^tur status=CHECK_CONDITION sense=02/04/0b\$" "standby: TUR gets 04/0B"
expect "$out" "^read status=CHECK_CONDITION sense=02/04/0b\$" "standby: READ gets 04/0B"
expect "$out" "^write status=CHECK_CONDITION sense=02/04/0b\$" "standby: WRITE gets 04/0B"
expect "$out" "^inq status=GOOD" "standby: INQUIRY works"
expect "$out" "^rtpg status=GOOD" "standby: RTPG works"
expect "$out" "^readcap status=GOOD" "standby: READ CAPACITY works"
expect "$out" "^reportluns status=GOOD luns=0,1,2\$" "standby: REPORT LUNS works"
if timeout 30 iscsi-inq "$(url "$P2" 0)" >/dev/null 2>&1; then
  fail "libiscsi logged in through a standby port (its login TUR should fail)"
fi
timeout 30 iscsi-inq "$(url "$P1" 0)" >/dev/null || fail "iscsi-inq via the active portal"
for st in unavailable:0c transitioning:0a offline:12; do
  pytarget_ctl t1 "{\"cmd\":\"alua\",\"tpg\":2,\"state\":\"${st%:*}\"}" >/dev/null
  out=$(probe --portal "$P2" tur inq rtpg)
  expect "$out" "^tur status=CHECK_CONDITION sense=02/04/${st#*:}\$" "${st%:*}: TUR"
  expect "$out" "^inq status=GOOD" "${st%:*}: INQUIRY"
done
pass "ALUA states: RTPG and SPC sense per state"

# Unit attentions: sessions that exist when the state changes get 2A/06
# once (INQUIRY neither reports nor clears it); new sessions do not.
pytarget_ctl t1 '{"cmd":"alua","tpg":2,"state":"standby"}' >/dev/null
out=$(probe --portal "$P2" tur \
        'ctl:{"cmd":"alua","tpg":2,"state":"an","pref":true}' \
        inq tur tur rtpg)
expect "$out" "^tur status=CHECK_CONDITION sense=02/04/0b\$" "UA: standby before"
[[ $(grep -c '^tur ' <<<"$out") == 3 ]] || fail "UA: expected three TURs"
[[ $(grep '^tur ' <<<"$out" | sed -n 2p) == "tur status=CHECK_CONDITION sense=06/2a/06" ]] \
  || { echo "$out" >&2; fail "UA: 2A/06 after the change"; }
[[ $(grep '^tur ' <<<"$out" | sed -n 3p) == "tur status=GOOD" ]] \
  || { echo "$out" >&2; fail "UA: reported once"; }
expect "$out" "^rtpg tpg=2 state=an pref=1 status=2 " "RTPG: TPG 2 active/non-optimized, preferred"
out=$(probe --portal "$P1" tur \
        'ctl:{"cmd":"alua","tpg":1,"state":"ao","via_transitioning_ms":600000}' \
        tur tur rtpg reqsense \
        'ctl:{"cmd":"alua","tpg":1,"state":"ao"}' tur reqsense tur)
mapfile -t turs < <(grep -E '^(tur|reqsense) ' <<<"$out")
want=("tur status=GOOD"
      "tur status=CHECK_CONDITION sense=06/2a/06"
      "tur status=CHECK_CONDITION sense=02/04/0a"
      "reqsense status=GOOD data=00/00/00"
      "tur status=CHECK_CONDITION sense=06/2a/06"
      "reqsense status=GOOD data=00/00/00"
      "tur status=GOOD")
[[ "${turs[*]}" == "${want[*]}" ]] || { echo "$out" >&2; fail "UA through a scripted transition"; }
expect "$out" "^rtpg tpg=1 state=transitioning " "RTPG while transitioning"
out=$(probe --portal "$P1" 'ctl:{"cmd":"ua","lun":0,"asc":42,"ascq":9}' reqsense tur)
expect "$out" "^reqsense status=GOOD data=06/2a/09\$" "REQUEST SENSE returns and clears a UA"
expect "$out" "^tur status=GOOD\$" "UA cleared by REQUEST SENSE"
pass "unit attention 2A/06 after ALUA changes, once per I_T nexus"

# ---------------------------------------------------------------- sessions
isid=80aabbcc0001
a=$TMPDIR_TEST/probe-a
( probe --portal "$P1" --isid $isid tur "touch:$a.up" "waitfile:$a.go" tur \
    >"$a.out" 2>&1 || true ) &
wait_for "probe A logged in" 30 test -e "$a.up" || fail "probe A did not start"
out=$(probe --portal "$P1" --isid $isid tur)
expect "$out" "^tur status=GOOD\$" "reinstating login"
touch "$a.go"
wait_for "probe A finished" 30 grep -qE "^[a-z]+ error=(eof|reset)" "$a.out" \
  || { cat "$a.out" >&2; fail "the reinstated session survived"; }
(( $(pytarget_stat t1 "$P1" reinstatements) >= 1 )) || fail "reinstatement counter"
pass "same ISID + initiator logs in again: old session dropped"

# ---------------------------------------------------------------- faults
b=$TMPDIR_TEST/probe-b
( probe --portal "$P1" tur "touch:$b.up" "waitfile:$b.go" tur >"$b.out" 2>&1 || true ) &
wait_for "probe B logged in" 30 test -e "$b.up" || fail "probe B did not start"
out=$(probe --portal "$P2" tur "ctl:{\"cmd\":\"drop\",\"portal\":\"$P2\"}" tur || true)
expect "$out" "^tur error=(reset|eof)\$" "drop resets the portal-2 session"
touch "$b.go"
wait_for "probe B finished" 30 grep -q "^tur status=GOOD" "$b.out" \
  || { cat "$b.out" >&2; fail "drop on portal 2 hurt portal 1"; }
pass "drop: RST on one portal only"

out=$(probe --portal "$P2" --timeout 3 tur \
        "ctl:{\"cmd\":\"blackhole\",\"portal\":\"$P2\",\"on\":true}" tur || true)
expect "$out" "^tur error=timeout\$" "blackhole: no answer"
out=$(probe --portal "$P2" --timeout 3 tur || true)
expect "$out" "^login error=timeout\$" "blackhole: logins hang too"
[[ $(pytarget_stat t1 "$P2" connections_open) -ge 1 ]] \
  || fail "blackhole should keep connections open"
timeout 30 iscsi-inq "$(url "$P1" 0)" >/dev/null || fail "portal 1 during blackhole"
pytarget_ctl t1 "{\"cmd\":\"blackhole\",\"portal\":\"$P2\",\"on\":false}" >/dev/null
out=$(probe --portal "$P2" tur)
expect "$out" "^tur status=GOOD\$" "blackhole off"
pass "blackhole: silent path, other portals unaffected"

pytarget_ctl t1 "{\"cmd\":\"listen\",\"portal\":\"$P2\",\"on\":false}" >/dev/null
out=$(probe --portal "$P2" tur || true)
expect "$out" "^connect error=refused\$" "listen off: connection refused"
out=$(probe --portal "$P1" discover)
if grep -q "$P2" <<<"$out"; then fail "discovery lists a portal that does not listen"; fi
pytarget_ctl t1 "{\"cmd\":\"listen\",\"portal\":\"$P2\",\"on\":true}" >/dev/null
expect "$(probe --portal "$P2" tur)" "^tur status=GOOD\$" "listen on again"
pass "listen off/on"

out=$(probe --portal "$P1" --timeout 2 'ctl:{"cmd":"delay","ms":600000}' tur || true)
expect "$out" "^tur error=timeout\$" "delay holds the response back"
pytarget_ctl t1 '{"cmd":"delay","ms":50}' >/dev/null
expect "$(probe --portal "$P1" tur read:0:8)" "^read status=GOOD" "short delay"
pytarget_ctl t1 '{"cmd":"delay","ms":0}' >/dev/null
out=$(probe --portal "$P1" \
        'ctl:{"cmd":"fail_next","n":2,"sense":"medium"}' tur read:0:8 \
        write:0:8:y read:0:8 \
        'ctl:{"cmd":"fail_next","n":1,"sense":"busy","ops":"all"}' tur tur \
        'ctl:{"cmd":"hang_next","n":1}' || true)
mapfile -t res < <(grep -E '^(tur|read|write) ' <<<"$out")
want=("tur status=GOOD"
      "read status=CHECK_CONDITION sense=03/11/00"
      "write status=CHECK_CONDITION sense=03/11/00"
      "read status=GOOD sha256=$(head -c 4096 /dev/zero | sha256sum | cut -d' ' -f1)"
      "tur status=BUSY"
      "tur status=GOOD")
[[ "${res[*]}" == "${want[*]}" ]] || { echo "$out" >&2; fail "fail_next"; }
out=$(probe --portal "$P1" --timeout 2 tur || true)
expect "$out" "^tur error=timeout\$" "hang_next swallows a command"
pass "delay, fail_next, hang_next"

# ---------------------------------------------------------------- conformance
# libiscsi's own suites (1.19).  iSCSIDataSnInvalid is allowed to fail:
# after its first (correctly dropped) connection, libiscsi reconnects
# with immediate data on, so its next corrupted write carries no Data-Out
# to corrupt and succeeds (tgtd fails it too).
cu ()
{
  local what=$1 res rc=0 line
  shift
  # Exit status 1 means "some test failed"; judged below.
  res=$(timeout 600 iscsi-test-cu -d -n --test="$what" "$@" 2>&1) || rc=$?
  (( rc <= 1 )) || fail "iscsi-test-cu $what did not finish (status $rc)"
  res=$(tr -d '\r' <<<"$res")
  line=$(grep -E '^ +tests +[0-9]+' <<<"$res" | tr -s ' ')
  [[ -n $line ]] || { echo "$res" | tail -n 20 >&2; fail "iscsi-test-cu $what: no summary"; }
  log "iscsi-test-cu $what: tests run/passed/failed =$(cut -d' ' -f4-6 <<<"$line")"
  grep -E '^Suite .* had failures' <<<"$res" | grep -v 'Test iSCSIDataSnInvalid' \
    && { echo "$res" | grep -A8 'had failures' >&2; fail "iscsi-test-cu $what"; }
  return 0
}
cu iSCSI "$(url "$P1" 1)"
cu SCSI "$(url "$P1" 1)"
cu SCSI.MultipathIO "$(url "$P1" 2)" "$(url "$P2" 2)"
pass "libiscsi conformance: iSCSI, SCSI and MultipathIO families"

# ---------------------------------------------------------------- CHAP
port2=$(pick_port)
cred=$(secret_file chap.cred "inituser:initsecret12-$RANDOM")
tcred=$(secret_file chapt.cred "tgtuser:tgtsecret345-$RANDOM")
start_pytarget t2 --target "$IQN" --portal "127.0.0.1:$port2" --lun 0:8M \
  --chap-file "$cred" --chap-target-file "$tcred"
secret=$(cut -d: -f2- "$cred")
tsecret=$(cut -d: -f2- "$tcred")
u2="iscsi://inituser@127.0.0.1:$port2/$IQN/0"
if timeout 30 iscsi-inq "iscsi://127.0.0.1:$port2/$IQN/0" >/dev/null 2>&1; then
  fail "login without CHAP succeeded"
fi
if LIBISCSI_CHAP_PASSWORD=wrong timeout 30 iscsi-inq "$u2" >/dev/null 2>&1; then
  fail "login with a wrong CHAP secret succeeded"
fi
LIBISCSI_CHAP_PASSWORD=$secret timeout 30 iscsi-inq "$u2" | grep -q '^Vendor:BRAID' \
  || fail "one-way CHAP login (libiscsi)"
# Mutual CHAP: libiscsi takes the target's secret only in the URL (fine
# for testing the target; braid never does that).
LIBISCSI_CHAP_PASSWORD=$secret timeout 30 iscsi-inq \
  "$u2?target_user=tgtuser&target_password=$tsecret" | grep -q '^Vendor:BRAID' \
  || fail "mutual CHAP login (libiscsi)"
if LIBISCSI_CHAP_PASSWORD=$secret timeout 30 iscsi-inq \
     "$u2?target_user=tgtuser&target_password=bad" >/dev/null 2>&1; then
  fail "libiscsi accepted a target proving a wrong secret?"
fi
out=$(pytarget_probe t2 --portal "127.0.0.1:$port2" --target "$IQN" \
        --chap-file "$cred" --chap-target-file "$tcred" tur)
expect "$out" "^tur status=GOOD\$" "mutual CHAP login (probe)"
out=$(pytarget_probe t2 --portal "127.0.0.1:$port2" --target "$IQN" tur || true)
expect "$out" "^login status=0x0201\$" "no CHAP: authentication failure"
if grep -rqF -e "$secret" -e "$tsecret" "$(pytarget_dir t2)/log"; then
  fail "a CHAP secret reached the target log"
fi
pass "CHAP: none refused, wrong refused, one-way and mutual accepted"

# ---------------------------------------------------------------- teardown
for n in t1 t2; do
  d=$(pytarget_dir $n)
  stop_pytarget $n
  pidv=PYTARGET_PID_$n
  ! proc_alive "${!pidv}" || fail "pytarget $n still running after quit"
  [[ ! -e $d/ctl && ! -e $d/pid && ! -e $d/ready ]] \
    || fail "pytarget $n left its control socket, pid or ready file"
done
pass "targets quit cleanly"
