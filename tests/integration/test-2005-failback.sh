#!/usr/bin/env bash
# Failback, seen from the wire.  One LUN through 127.0.0.1 and 127.0.0.2,
# path_grouping_policy failover (one path per group, equal priorities:
# group 1 is the best group).  A verified writer runs throughout; iptables
# rules without a target count each portal's bytes, which tells which
# path carries the I/O without asking braidd.
#   failback immediate: cut the path carrying I/O (group 1), I/O moves to
#     the other portal; restore it: once braidd has it up, the I/O comes
#     back to it (bounded wait) and braidd logs the failback.
#   failback manual: same cut and restore; the I/O stays on the other
#     portal for the whole observation window (6 samples of 1 s after the
#     path is up again: never on the restored portal, at least once seen
#     on the other) and braidd logs no failback.
# Both: 0 errors and 0 mismatches from the writer.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm iptables nbdinfo "$BRAID_PYTHON"
requires_root
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
iqn=iqn.2026-11.dev.braid:fb
a1=127.0.0.1
a2=127.0.0.2

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1
count_path "$a1" "$port"
count_path "$a2" "$port"

other () { if [[ $1 == "$a1" ]]; then echo "$a2"; else echo "$a1"; fi; }

# active_portal: sample both counters over 1 s; print the portal that
# carried (nearly) all the bytes, or "none".
active_portal ()
{
  local b1 b2 d1 d2
  b1=$(path_bytes "$a1" "$port")
  b2=$(path_bytes "$a2" "$port")
  sleep 1
  d1=$(( $(path_bytes "$a1" "$port") - b1 ))
  d2=$(( $(path_bytes "$a2" "$port") - b2 ))
  log "bytes in 1 s: $a1 $d1, $a2 $d2" >&2
  if (( d1 > 262144 && d1 > 20 * d2 )); then
    echo "$a1"
  elif (( d2 > 262144 && d2 > 20 * d1 )); then
    echo "$a2"
  else
    echo none
  fi
}

# writer_start NAME: nbd-verify until $TMPDIR_TEST/NAME.stop appears.
writer_start ()
{
  local name=$1
  "$BRAID_PYTHON" "$VERIFY" --socket "$(braidd_sock "$name")" \
    --export "$(braidd_export "$name")" --seconds 50 --blocks 4096 \
    --io-timeout 45 --report "$TMPDIR_TEST/$name.json" \
    --ready-file "$TMPDIR_TEST/$name.ready" --stop-file "$TMPDIR_TEST/$name.stop" \
    </dev/null >"$TMPDIR_TEST/$name.out" 2>&1 &
  W_PID=$!
  W_START=$(_braid_proc_start "$W_PID") || W_START=
  cleanup_fn stop_process "$W_PID" "$W_START" 5
  show_log_on_failure "$TMPDIR_TEST/$name.out"
  wait_for "nbd-verify ($name)" 20 test -e "$TMPDIR_TEST/$name.ready" \
    || fail "nbd-verify did not start"
  sleep 0.5
}

# writer_check NAME: stop the writer; 0 errors, 0 mismatches.
writer_check ()
{
  local name=$1 r
  touch "$TMPDIR_TEST/$name.stop"
  wait_gone "$W_PID" "$W_START" 60 || fail "$name: nbd-verify did not finish"
  wait "$W_PID" || true
  [[ -s $TMPDIR_TEST/$name.json ]] || fail "$name: no nbd-verify report"
  r=$("$BRAID_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["ios"], r["errors"], r["mismatches"], r["max_gap_ms"])' "$TMPDIR_TEST/$name.json")
  read -r ios errs mism gap <<<"$r"
  log "$name: $ios I/Os, $errs errors, $mism mismatches, longest gap $gap ms"
  assert_eq "$errs $mism" "0 0" "$name: nbd-verify errors and mismatches"
}

# cut_and_restore NAME MODE: find the portal carrying I/O (sets FIRST),
# cut it, check the I/O moved, restore it, wait until braidd has it up.
cut_and_restore ()
{
  local name=$1 mode=$2 i path ups moved
  FIRST=none
  for (( i = 0; i < 5; i++ )); do
    FIRST=$(active_portal)
    [[ $FIRST == none ]] || break
  done
  [[ $FIRST != none ]] || fail "$name: cannot tell which portal carries the I/O"
  path=$(braidd_path "$FIRST:$port" "$iqn" 1)
  ups=$(braidd_count "$name" "/$path: down -> up")
  cut_path "$mode" "$FIRST" "$port"
  braidd_wait_log "$name" 30 "/$path: up -> down" || fail "$name: $path not down"
  sleep_interruptible 2
  for (( i = 0; i < 5; i++ )); do
    moved=$(active_portal)
    [[ $moved == none ]] || break
  done
  assert_eq "$moved" "$(other "$FIRST")" "$name: portal carrying I/O while $FIRST is cut"
  restore_path "$mode" "$FIRST" "$port"
  braidd_wait_log "$name" 60 "/$path: down -> up" $(( ups + 1 )) \
    || fail "$name: $path did not come back up"
}

# ---- failback immediate: the I/O returns to group 1.
BRAIDD_CONF='defaults {
	path_grouping_policy failover
	failback immediate
}' BRAIDD_PATHS=2 start_braidd imm --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
writer_start imm
cut_and_restore imm reset
back=none
for (( i = 0; i < 20; i++ )); do
  back=$(active_portal)
  [[ $back == "$FIRST" ]] && break
done
assert_eq "$back" "$FIRST" "immediate: portal carrying I/O after $FIRST came back"
(( $(braidd_count imm "failback to path group 1") >= 1 )) \
  || fail "immediate: braidd logged no failback to path group 1"
writer_check imm
pass "failback immediate: I/O left $FIRST when cut and returned to it once it was up"
stop_braidd imm

# ---- failback manual: the I/O stays where it went.
BRAIDD_CONF='defaults {
	path_grouping_policy failover
	failback manual
}' BRAIDD_PATHS=2 start_braidd man --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
writer_start man
cut_and_restore man reset
stay=$(other "$FIRST")
# A sample may be "none" on a loaded machine (a stall of the writer);
# what must never happen is $FIRST carrying the I/O again.
seen=0
for (( i = 0; i < 6; i++ )); do
  now=$(active_portal)
  [[ $now != "$FIRST" ]] || fail "manual: I/O went back to $FIRST $((i + 1)) s after it came back"
  [[ $now != "$stay" ]] || seen=$(( seen + 1 ))
done
(( seen > 0 )) || fail "manual: no I/O seen on $stay after $FIRST came back"
assert_eq "$(braidd_count man "failback to path group")" 0 "manual: failback lines in braidd's log"
writer_check man
pass "failback manual: I/O left $FIRST when cut and stayed on $stay after it came back"
stop_braidd man

pass "$BRAID_TEST_NAME"
