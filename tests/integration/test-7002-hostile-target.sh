#!/usr/bin/env bash
# test-7002-hostile-target: braidd against a target that breaks the
# protocol on purpose, one way at a time, under verified I/O.
#
# braidd holds a map of two paths on pytarget (127.0.0.1 and 127.0.0.2,
# multibus, so both carry I/O; header and data digests negotiated, the
# latter asked for in braid.conf with data_digest) and a one-path
# map on a real tgtd.  A verified writer runs on the pytarget map and a
# light one on the tgtd map.  For each case pytarget's "misbehave" command
# (tests/target/README.md) breaks the next matching PDU or connection of
# portal 1: an oversized or absurd (0xFFFFFF) data segment, an unknown
# opcode, a response for no such task, a StatSN jump, a bad header digest,
# a bad data digest on a Data-In, Data-In past the transfer length, Async Messages in the middle of a
# Data-In sequence (logout requested, connection drop, vendor), a Reject of
# a command, a login that stops answering halfway and a portal that accepts
# TCP and never answers (both after the live connection is reset, twice
# each, so braidd retries).
#
# Asserts per case: braidd's log names the reason (a phrase per case); the
# portal-1 session is dropped and logs in again (vendor Async and Reject
# keep it: none dropped), and its path comes back up.  At the end: the
# portal-2 path and the tgtd path never went down and their sessions never
# dropped, `show paths` has every path ready, and both writers report 0
# errors and 0 mismatches, the final read-back of every block included.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
. "$(dirname "$0")/../target/functions-pytarget.sh"
requires tgtd tgtadm nbdinfo "$BRAID_PYTHON" python3
requires_root
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
BRAID=$(braid_bin braid)
IQN=iqn.2026-11.dev.braid:hostile
TIQN=iqn.2026-11.dev.braid:hostile-tgtd
NAA=60014050000000000000000000007002

port=$(pick_port)
P1=127.0.0.1:$port
P2=127.0.0.2:$port
start_pytarget h --target "$IQN" --lun "0:64M" --naa "$NAA" \
  --portal "$P1,tpg=1" --portal "$P2,tpg=2" --digest --prefer-digest

tport=$(pick_port)
start_tgtd "$tport"
tgt_target 1 "$TIQN"
tgt_lun 1 1 hostile-tgtd.img 64M
tgt_bind_all 1
T1=127.0.0.1:$tport

# Data digests as an admin asks for them: offered, the target chooses.
printf 'data_digest None,CRC32C\n' > "$TMPDIR_TEST/braid.conf"
BRAIDD_CONF='defaults {
	polling_interval 1
}
devices {
	device {
		vendor "BRAID"
		product "PYTARGET"
		path_grouping_policy multibus
	}
}' BRAIDD_EXPORTS=2 BRAIDD_PATHS=3 start_braidd hz \
  --login "$P1,$IQN" --login "$P2,$IQN" --login "$T1,$TIQN" --braid-config "$TMPDIR_TEST/braid.conf"
sock=$(braidd_sock hz)
run=$(braidd_dir hz)/run
pexp=3$NAA
texp=$(braidd_list hz | awk -v p="$pexp" '$1 != p { print $1 }' | head -n 1)
braidd_list hz | grep -q "^$pexp " || fail "no export $pexp for the pytarget map"
[[ -n $texp ]] || fail "no export for the tgtd map"
grep -qE "$P1 $IQN: logged in \(TSIH [0-9]+, digests CRC32C/CRC32C" "$BRAIDD_LOG" \
  || fail "header and data digests were not negotiated with pytarget"

path1=$(braidd_path "$P1" "$IQN" 0)
path2=$(braidd_path "$P2" "$IQN" 0)
tpath=$(braidd_path "$T1" "$TIQN" 1)

# Writers: the pytarget map as fast as it goes, the tgtd map lightly.
stop=$TMPDIR_TEST/stop
"$BRAID_PYTHON" "$VERIFY" --socket "$sock" --export "$pexp" --seconds 600 \
  --blocks 4096 --seed 7 --io-timeout 120 --stop-file "$stop" \
  --report "$TMPDIR_TEST/w1.json" </dev/null >"$TMPDIR_TEST/w1.out" 2>&1 &
w1=$!
"$BRAID_PYTHON" "$VERIFY" --socket "$sock" --export "$texp" --seconds 600 \
  --blocks 1024 --seed 8 --rate 50 --io-timeout 120 --stop-file "$stop" \
  --report "$TMPDIR_TEST/w2.json" </dev/null >"$TMPDIR_TEST/w2.out" 2>&1 &
w2=$!
cleanup_fn bash -c "touch '$stop'; kill $w1 $w2 2>/dev/null || true"

ctl () { pytarget_ctl h "$1" >/dev/null || fail "pytarget control: $1"; }

# lines PHRASE: log lines holding PHRASE so far.
lines () { braidd_count hz "$1"; }

# path1_up: braidd's own view (show paths) has path 1 active and ready.
path1_up ()
{
  "$BRAID" --run-dir "$run" show paths raw format '%d %t %T' \
    | grep -qE "^$path1 active ready"
}

# hostile NAME EXPECT MISBEHAVE_JSON [DROPS]: arm the case on portal 1,
# wait for braidd to log EXPECT, then check the session (and, for DROPS=1,
# its drop and new login) and wait until the path is up again.
summary=()
hostile ()
{
  local name=$1 expect=$2 json=$3 drops=${4:-1} down0 up0 sdown0 t0 t1
  down0=$(lines "$path1: up -> down")
  up0=$(lines "$P1 $IQN: session up")
  sdown0=$(lines "$P1 $IQN: session down")
  local want=$(( $(lines "$expect") + 1 ))
  t0=$(date +%s.%N)
  ctl "{\"cmd\":\"misbehave\",\"portal\":\"$P1\",$json}"
  if [[ $name == login_stall || $name == silent ]]; then
    # These strike new connections: reset the live one.
    ctl "{\"cmd\":\"drop\",\"portal\":\"$P1\"}"
  fi
  braidd_wait_log hz 60 "$expect" "$want" \
    || fail "$name: braidd never logged '$expect'"
  if [[ $name == login_stall || $name == silent ]]; then
    # n=2: braidd retries, fails twice for that reason, then gets in.
    braidd_wait_log hz 60 "$P1 $IQN: session down: $expect" 1 \
      || fail "$name: no failed login"
    # Between the failed logins: path 1 failed, the map served by path 2.
    "$BRAID" --run-dir "$run" show paths raw format '%d %t %T' \
      > "$TMPDIR_TEST/paths.$name"
    grep -qE "^$path1 failed " "$TMPDIR_TEST/paths.$name" \
      || fail "$name: path 1 not failed while it cannot log in: $(cat "$TMPDIR_TEST/paths.$name")"
    grep -qE "^$path2 active ready" "$TMPDIR_TEST/paths.$name" \
      || fail "$name: path 2 not serving: $(cat "$TMPDIR_TEST/paths.$name")"
    braidd_wait_log hz 60 "$P1 $IQN: session down: $expect" 2 \
      || fail "$name: not two failed logins"
  fi
  if (( drops )); then
    braidd_wait_log hz 60 "$P1 $IQN: session down: " $(( sdown0 + 1 )) \
      || fail "$name: the portal-1 session was not dropped"
    braidd_wait_log hz 60 "$P1 $IQN: session up" $(( up0 + 1 )) \
      || fail "$name: the portal-1 session did not log in again"
    grep -F "$P1 $IQN: session down: " "$BRAIDD_LOG" | tail -n 1 \
      | grep -qF "$expect" \
      || fail "$name: the session went down for another reason: $(grep -F "$P1 $IQN: session down: " "$BRAIDD_LOG" | tail -n 1)"
  else
    # Give the checker a few rounds, then the session must be the same.
    sleep_interruptible 3
    [[ $(lines "$P1 $IQN: session down") == "$sdown0" ]] \
      || fail "$name: the portal-1 session was dropped"
  fi
  wait_for "$name: $path1 active and ready" 60 path1_up \
    || fail "$name: path 1 did not come back"
  t1=$(date +%s.%N)
  local pdown=$(( $(lines "$path1: up -> down") - down0 ))
  summary+=("$(printf '%-18s reason "%s"; session dropped %s; path 1 down %d time(s); up again after %.1f s' \
    "$name" "$expect" "$( (( drops )) && echo yes || echo no)" "$pdown" \
    "$(awk "BEGIN { print $t1 - $t0 }")")")
  pass "$name: '$expect', recovered"
}

all_ready ()
{
  [[ $("$BRAID" --run-dir "$run" show paths raw format '%d %t %T' \
         | grep -c ' active ready') == 3 ]]
}
wait_for "three paths active and ready" 30 all_ready || fail "paths not ready"
sleep_interruptible 2       # the writers get going

hostile oversized_dsl "protocol error: DataSegmentLength 266240 over the 262144 we declared" \
  '"what":"oversized_dsl"'
hostile huge_dsl "protocol error: DataSegmentLength 16777215 over the 262144 we declared" \
  '"what":"huge_dsl"'
hostile bad_opcode "protocol error: unexpected opcode 0x3c" '"what":"bad_opcode"'
hostile wrong_itt " for unknown ITT 0x" '"what":"wrong_itt"'
hostile statsn_jump "protocol error: StatSN " '"what":"statsn_jump","jump":1000'
hostile bad_header_digest "header digest error (opcode 0x" '"what":"bad_header_digest"'
hostile bad_data_digest "data digest error on Data-In (ITT 0x" '"what":"bad_data_digest"'
hostile datain_overflow "outside the expected transfer" '"what":"datain_overflow"'
hostile async_logout "target requests logout within 3 s" \
  '"what":"async_midxfer","event":1,"param3":3'
hostile async_drop "target will drop the connection (Time2Wait 1)" \
  '"what":"async_midxfer","event":2,"param2":1'
hostile async_vendor "async message: AsyncEvent 255 (vendor code 9)" \
  '"what":"async_midxfer","event":255,"vcode":9' 0
hostile reject "target rejected opcode 0x01 (reason 0x05)" \
  '"what":"reject","reason":5' 0
hostile login_stall "login timed out after 5000 ms: no answer to login request 2 (1 answered, operational negotiation stage)" \
  '"what":"login_stall","n":2'
hostile silent "login timed out after 5000 ms: no answer to the first login request" \
  '"what":"silent","n":2'

# pytarget counts what it broke: one per case, two per login case.
mis=$(pytarget_stat h "$P1" misbehaved)
[[ $mis == 16 ]] || fail "pytarget misbehaved $mis times on portal 1, expected 16"
[[ $(pytarget_stat h "$P2" misbehaved) == 0 ]] || fail "portal 2 misbehaved"

# The other paths were never touched.
for p in "$path2" "$tpath"; do
  n=$(lines "$p: up -> down")
  [[ $n == 0 ]] || fail "$p went down $n time(s)"
done
for s in "$P2 $IQN" "$T1 $TIQN"; do
  n=$(lines "$s: session down")
  [[ $n == 0 ]] || fail "the session $s dropped $n time(s)"
done
"$BRAID" --run-dir "$run" show paths | tee "$TMPDIR_TEST/paths"
[[ $(grep -c "active ready" "$TMPDIR_TEST/paths") == 3 ]] \
  || fail "show paths: not every path active and ready"
pass "portal 2 and the tgtd path never went down"

touch "$stop"
rc1=0 rc2=0
wait "$w1" || rc1=$?
wait "$w2" || rc2=$?
log "pytarget map writer: $(cut -c1-150 "$TMPDIR_TEST/w1.json")"
log "tgtd map writer:     $(cut -c1-150 "$TMPDIR_TEST/w2.json")"
for w in w1 w2; do
  grep -q '"errors": 0, "mismatches": 0, "final_mismatches": 0' "$TMPDIR_TEST/$w.json" \
    || fail "$w: $(cat "$TMPDIR_TEST/$w.out" "$TMPDIR_TEST/$w.json" 2>/dev/null | head -c 600)"
done
(( rc1 == 0 && rc2 == 0 )) || fail "a writer failed ($rc1, $rc2)"
pass "both writers: 0 errors, 0 mismatches, every block verified"
stop_braidd_clean hz
pass "braidd stops cleanly after the hostile target"
for l in "${summary[@]}"; do log "$l"; done
pass "hostile target"
