#!/usr/bin/env bash
# Failover under a verified writer.  One LUN through 127.0.0.1 and
# 127.0.0.2, default policy (failover grouping: one path per group, I/O
# on the current group's only path).  Three rounds, one per way of losing
# a path: drop (iptables DROP both ways: silence), reset (TCP resets both
# ways), kill (tgtd deletes the portal and closes the session's
# connection).  Each round runs nbd-verify (random 4 KiB writes over
# 16 MiB, each read back, then the whole region re-read and checked), finds
# the portal carrying the I/O by iptables byte counters (rules without a
# target: they count and never filter), cuts THAT path for ~5 s, restores
# it, waits until braidd has it up again, then stops the writer.
#
# Which portal carries I/O is measured, not assumed: group 1 is whichever
# path joined the map first, and with the default failback (manual) I/O
# stays on the surviving path after a restore, so the rounds naturally
# alternate between the portals.
#
# Asserts: 0 errors and 0 mismatches in every round; braidd logs the cut
# path going down and coming back up; the I/O moved to the other portal
# while the path was cut.  Reports (never asserts) the longest gap between
# two I/O completions per round.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm iptables nbdinfo "$BRAID_PYTHON"
requires_root
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
BRAID=$(braid_bin braid)
iqn=iqn.2026-11.dev.braid:fo
a1=127.0.0.1
a2=127.0.0.2

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1
count_path "$a1" "$port"
count_path "$a2" "$port"

BRAIDD_PATHS=2 start_braidd fo \
  --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
exp=$(braidd_export fo)
sock=$(braidd_sock fo)

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

summary=()
seed=1
for mode in drop reset kill; do
  seed=$(( seed + 1 ))
  rep=$TMPDIR_TEST/verify-$mode.json
  ready=$TMPDIR_TEST/ready-$mode
  stop=$TMPDIR_TEST/stop-$mode
  "$BRAID_PYTHON" "$VERIFY" --socket "$sock" --export "$exp" --seconds 50 \
    --blocks 4096 --bs 4096 --seed "$seed" --io-timeout 45 --report "$rep" \
    --ready-file "$ready" --stop-file "$stop" \
    </dev/null >"$TMPDIR_TEST/verify-$mode.out" 2>&1 &
  vpid=$!
  vstart=$(_braid_proc_start "$vpid") || vstart=
  cleanup_fn stop_process "$vpid" "$vstart" 5
  show_log_on_failure "$TMPDIR_TEST/verify-$mode.out"
  wait_for "nbd-verify ($mode) to start" 20 test -e "$ready" \
    || fail "nbd-verify did not start"
  sleep 0.5

  active=none
  for (( i = 0; i < 5; i++ )); do
    active=$(active_portal)
    [[ $active == none ]] || break
  done
  [[ $active != none ]] || fail "$mode: cannot tell which portal carries the I/O"
  path=$(braidd_path "$active:$port" "$iqn" 1)
  downs=$(braidd_count fo "$exp/$path: up -> down")
  ups=$(braidd_count fo "$exp/$path: down -> up")
  log "$mode: I/O on $active; cutting it"

  nlines=$(wc -l < "$BRAIDD_LOG")
  cut_path "$mode" "$active" "$port"
  braidd_wait_log fo 30 "$exp/$path: up -> down" $(( downs + 1 )) \
    || fail "$mode: braidd did not see $path go down"
  # The three modes really differ: the session's first failure reason.
  why=$(tail -n +$(( nlines + 1 )) "$BRAIDD_LOG" \
          | grep -F "$active:$port $iqn: session down: " | head -n 1)
  why=${why#*session down: }
  log "$mode: braidd's reason: $why"
  case $mode in
    drop) pat='NOP-Out|timed out' ;;
    reset) pat='reset|refused' ;;
    kill) pat='closed' ;;
  esac
  grep -qiE "$pat" <<<"$why" || fail "$mode: unexpected reason for the session failure: '$why'"
  sleep_interruptible 4
  for (( i = 0; i < 5; i++ )); do
    moved=$(active_portal)
    [[ $moved == none ]] || break
  done
  assert_eq "$moved" "$(other "$active")" "$mode: portal carrying I/O while $active is cut"
  proc_alive "$vpid" "$vstart" || fail "$mode: nbd-verify ended while the path was cut"
  # The topology (multipath -ll's format) shows the cut path failed.
  "$BRAID" --run-dir "$(braidd_dir fo)/run" show topology > "$TMPDIR_TEST/topo-$mode-cut"
  grep -F "$path" "$TMPDIR_TEST/topo-$mode-cut" | grep -q " failed faulty " \
    || { cat "$TMPDIR_TEST/topo-$mode-cut"; fail "$mode: topology does not show $path failed"; }
  restore_path "$mode" "$active" "$port"
  braidd_wait_log fo 60 "$exp/$path: down -> up" $(( ups + 1 )) \
    || fail "$mode: braidd did not bring $path back up"
  "$BRAID" --run-dir "$(braidd_dir fo)/run" show topology > "$TMPDIR_TEST/topo-$mode-back"
  grep -F "$path" "$TMPDIR_TEST/topo-$mode-back" | grep -q " active ready " \
    || { cat "$TMPDIR_TEST/topo-$mode-back"; fail "$mode: topology does not show $path active again"; }
  sleep 1
  touch "$stop"
  wait_gone "$vpid" "$vstart" 60 || fail "$mode: nbd-verify did not finish"
  vrc=0
  wait "$vpid" || vrc=$?
  [[ -s $rep ]] || { cat "$TMPDIR_TEST/verify-$mode.out" >&2; fail "$mode: no nbd-verify report"; }
  r=$("$BRAID_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["ios"], r["errors"], r["mismatches"], r["max_gap_ms"], r["max_gap_at_s"], r["seconds"])' "$rep")
  read -r ios errs mism gap gap_at secs <<<"$r"
  log "$mode: $ios I/Os in $secs s, $errs errors, $mism mismatches, longest gap $gap ms (at $gap_at s)"
  assert_eq "$errs" 0 "$mode: nbd-verify errors"
  assert_eq "$mism" 0 "$mode: nbd-verify mismatches"
  assert_eq "$vrc" 0 "$mode: nbd-verify exit status"
  summary+=("$mode: cut $active ($why), $ios I/Os, 0 errors, 0 mismatches, longest gap $gap ms")
  pass "$mode: failover from $active without an error"
done

for s in "${summary[@]}"; do
  log "summary: $s"
done
pass "$BRAID_TEST_NAME"
