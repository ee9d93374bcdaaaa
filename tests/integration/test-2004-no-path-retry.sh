#!/usr/bin/env bash
# no_path_retry with every path gone.  One LUN through 127.0.0.1 and
# 127.0.0.2; both portals cut; once braidd has seen both paths go down,
# one NBD write (nbd-verify with one block: write, read back, final check)
# is issued:
#   queue  (paths cut by DROP)  the write waits: it is still pending after
#          a while with no path, and completes, with the right data, once
#          the paths are restored;
#   fail   (paths cut by RESET) with fast_io_fail_tmo off: the write fails
#          with an error at once, never held in the queue; with
#          fast_io_fail_tmo unset (multipath-tools' 5 s grace for a broken
#          session) it fails while the paths are still cut;
#   3      (DROP, polling_interval 1, fast_io_fail_tmo off) the write is
#          queued first (braidd logs "no path came back: failing 1 queued
#          I/O", so it did not fail at once) and fails after the
#          countdown, while the paths are still cut and within a generous
#          bound.
# After each case the paths come back and a write succeeds again.  Elapsed
# times are reported, never asserted.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm iptables nbdinfo date "$BRAID_PYTHON"
requires_root
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
iqn=iqn.2026-11.dev.braid:npr
a1=127.0.0.1
a2=127.0.0.2

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 16M
tgt_bind_all 1
p1=$(braidd_path "$a1:$port" "$iqn" 1)
p2=$(braidd_path "$a2:$port" "$iqn" 1)

# one_write NAME TAG: start a one-block verified write in the background;
# sets W_PID W_START W_REP W_T0.
one_write ()
{
  W_REP=$TMPDIR_TEST/$1-$2.json
  rm -f "$W_REP"
  W_T0=$(date +%s.%N)
  "$BRAID_PYTHON" "$VERIFY" --socket "$(braidd_sock "$1")" --export "$(braidd_export "$1")" \
    --blocks 1 --max-ios 1 --seconds 120 --io-timeout 90 --seed "$RANDOM" \
    --report "$W_REP" </dev/null >"$TMPDIR_TEST/$1-$2.out" 2>&1 &
  W_PID=$!
  W_START=$(_braid_proc_start "$W_PID") || W_START=
  cleanup_fn stop_process "$W_PID" "$W_START" 5
  show_log_on_failure "$TMPDIR_TEST/$1-$2.out"
}

# write_result: wait (bounded) for the write started by one_write; print
# "ERRORS MISMATCHES ELAPSED_S".
write_result ()
{
  local secs=$1 t1
  wait_gone "$W_PID" "$W_START" "$secs" || fail "the write did not finish within $secs s"
  t1=$(date +%s.%N)
  wait "$W_PID" || true
  [[ -s $W_REP ]] || fail "no nbd-verify report ($(cat "${W_REP%.json}.out"))"
  "$BRAID_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["errors"], r["mismatches"], "%.2f" % (float(sys.argv[3]) - float(sys.argv[2])))' \
    "$W_REP" "$W_T0" "$t1"
}

# all_down NAME MODE: cut both portals and wait until braidd has both
# paths down.
all_down ()
{
  local name=$1 mode=$2 d1 d2
  d1=$(braidd_count "$name" "/$p1: up -> down")
  d2=$(braidd_count "$name" "/$p2: up -> down")
  cut_path "$mode" "$a1" "$port"
  cut_path "$mode" "$a2" "$port"
  braidd_wait_log "$name" 30 "/$p1: up -> down" $(( d1 + 1 )) || fail "$name: $p1 not down"
  braidd_wait_log "$name" 30 "/$p2: up -> down" $(( d2 + 1 )) || fail "$name: $p2 not down"
}

# all_up NAME MODE: restore both portals and wait until braidd has a path
# up again.
all_up ()
{
  local name=$1 mode=$2 u1 u2
  u1=$(braidd_count "$name" "/$p1: down -> up")
  u2=$(braidd_count "$name" "/$p2: down -> up")
  restore_path "$mode" "$a1" "$port"
  restore_path "$mode" "$a2" "$port"
  braidd_wait_log "$name" 60 "/$p1: down -> up" $(( u1 + 1 )) || fail "$name: $p1 not back up"
  braidd_wait_log "$name" 60 "/$p2: down -> up" $(( u2 + 1 )) || fail "$name: $p2 not back up"
}

# write_ok NAME TAG: a write with every path up succeeds.
write_ok ()
{
  local r
  one_write "$1" "$2"
  r=$(write_result 60)
  assert_eq "${r% *}" "0 0" "$1: write with paths up (errors mismatches)"
}

summary=()

# ---- no_path_retry queue: the write waits for a path.
BRAIDD_CONF='defaults {
	no_path_retry queue
}' BRAIDD_PATHS=2 start_braidd q --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
write_ok q before
all_down q drop
one_write q queued
sleep_interruptible 4
proc_alive "$W_PID" "$W_START" \
  || fail "queue: the write ended with no path ($(cat "$W_REP" 2>/dev/null))"
pass "queue: the write is still pending 4 s after the last path went down"
all_up q drop
r=$(write_result 60)
read -r errs mism el <<<"$r"
assert_eq "$errs $mism" "0 0" "queue: errors and mismatches of the queued write"
assert_eq "$(braidd_count q "no path came back")" 0 "queue: braidd failed queued I/O"
pass "queue: the write waited and completed after the paths returned (${el} s in all)"
summary+=("queue: waited, completed after restore, ${el} s")
write_ok q after
stop_braidd q

# ---- no_path_retry fail, fast_io_fail_tmo off: the write fails at once,
# never queued.
BRAIDD_CONF='defaults {
	no_path_retry fail
	fast_io_fail_tmo off
}' BRAIDD_PATHS=2 start_braidd f0 --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
write_ok f0 before
all_down f0 reset
one_write f0 failing
r=$(write_result 30)
read -r errs mism el <<<"$r"
(( errs > 0 )) || fail "fail: the write with no path did not fail"
# Order of events: it failed while the paths were still cut, and braidd
# never held it in the map's queue.
assert_eq "$(braidd_count f0 "no path came back")" 0 "fail: lines about failing queued I/O"
pass "fail (fast_io_fail_tmo off): the write failed with an error at once, never queued (${el} s)"
summary+=("fail, fast_io_fail_tmo off: failed after ${el} s, never queued")
all_up f0 reset
write_ok f0 after
stop_braidd f0

# ---- no_path_retry fail, fast_io_fail_tmo unset (multipath-tools' 5 s:
# a broken session gets that long to come back): the write fails while
# the paths are still cut.
BRAIDD_CONF='defaults {
	no_path_retry fail
}' BRAIDD_PATHS=2 start_braidd f5 --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
all_down f5 reset
one_write f5 failing
r=$(write_result 30)
read -r errs mism el <<<"$r"
(( errs > 0 )) || fail "fail: the write with no path did not fail"
queued=$(braidd_count f5 "no path came back: failing 1 queued I/O")
pass "fail (default fast_io_fail_tmo): the write failed with an error while no path existed (${el} s; held first: $queued)"
summary+=("fail, default fast_io_fail_tmo: failed after ${el} s (held in the queue first: $queued)")
all_up f5 reset
write_ok f5 after
stop_braidd f5

# ---- no_path_retry 3, polling_interval 1: queued, then failed.
# fast_io_fail_tmo off so the countdown alone decides.
BRAIDD_CONF='defaults {
	polling_interval 1
	no_path_retry 3
	fast_io_fail_tmo off
}' BRAIDD_PATHS=2 start_braidd n3 --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
write_ok n3 before
all_down n3 drop
t_down=$(date +%s.%N)
one_write n3 countdown
r=$(write_result 60)
read -r errs mism el <<<"$r"
(( errs > 0 )) || fail "3: the write with no path did not fail within 60 s"
braidd_wait_log n3 5 "no path came back: failing 1 queued I/O" \
  || fail "3: the write was not queued before failing (no 'no path came back' line)"
since_down=$("$BRAID_PYTHON" -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1]) + float(sys.argv[3])))' \
  "$t_down" "$W_T0" "$el")
pass "3: the write was queued, then failed (${el} s after it was issued, ~${since_down} s after both paths were seen down)"
summary+=("3 x 1 s: queued then failed, ${el} s after issue, ~${since_down} s after all paths down")
all_up n3 drop
write_ok n3 after
stop_braidd n3

for s in "${summary[@]}"; do
  log "summary: $s"
done
pass "$BRAID_TEST_NAME"
