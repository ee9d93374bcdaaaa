#!/usr/bin/env bash
# ALUA: prio alua with group_by_prio (then group_by_tpg) against our
# scripted target (tgtd has no ALUA).  I/O must run on the
# active/optimized port group, and follow it when the states change
# under a running verified writer, with no error and no mismatch.
# Which portal carries I/O is read from the target's own per-portal
# command counters.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../target/functions-pytarget.sh"
requires python3 nbdinfo
BRAID=$(braid_bin braid)
BRAIDD=$(braid_bin braidd)
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
IQN=iqn.2026-11.dev.braid:alua

port=$(pick_port)
start_pytarget alua --target "$IQN" --lun 0:64M \
  --portal "127.0.0.1:$port,tpg=1" --portal "127.0.0.2:$port,tpg=2" \
  --tpg-state 1=an --tpg-state 2=ao

run_case () { # policy
  local policy=$1 dir=$TMPDIR_TEST/braidd-$1
  mkdir -p "$dir/etc"
  cat > "$dir/etc/multipath.conf" <<EOT
defaults {
	user_friendly_names yes
	polling_interval 1
}
devices {
	device {
		vendor "BRAID"
		product "PYTARGET"
		path_grouping_policy $policy
		prio alua
		failback immediate
	}
}
EOT
  pytarget_ctl alua '{"cmd":"alua","tpg":1,"state":"an"}' >/dev/null
  pytarget_ctl alua '{"cmd":"alua","tpg":2,"state":"ao"}' >/dev/null
  "$BRAIDD" -f --braid-config "$dir/etc/braid.conf" --config "$dir/etc/multipath.conf" --config-dir "$dir/etc/conf.d" \
    --wwids "$dir/etc/wwids" --bindings "$dir/etc/bindings" --state-dir "$dir/state" \
    --run-dir "$dir/run" > "$dir/log" 2>&1 &
  local dpid=$!
  cleanup_fn bash -c "kill $dpid 2>/dev/null || true"
  show_log_on_failure "$dir/log"
  wait_for "braidd socket" 10 test -S "$dir/run/braidd.sock" || fail "braidd did not start"
  "$BRAID" --run-dir "$dir/run" login --target "$IQN" \
    --portal "127.0.0.1:$port" --portal "127.0.0.2:$port"
  wait_for "two paths in mpatha" 20 bash -c \
    "'$BRAID' --run-dir '$dir/run' show paths raw format '%m' | grep -c mpatha | grep -qx 2" \
    || fail "$policy: the two portals did not form one map"
  "$BRAID" --run-dir "$dir/run" show topology | tee "$dir/topo1"
  grep -q "hwhandler='1 alua'" "$dir/topo1" || fail "$policy: topology does not show the alua handler"

  burst () { # -> "cmds-on-127.0.0.1 cmds-on-127.0.0.2" over 2 s of I/O
    local a1 a2 b1 b2
    a1=$(pytarget_stat alua "127.0.0.1:$port" cmds)
    a2=$(pytarget_stat alua "127.0.0.2:$port" cmds)
    python3 "$VERIFY" --socket "$dir/run/nbd.sock" --export mpatha --seconds 2 \
      --blocks 1024 --report "$dir/burst.json" >/dev/null
    grep -q '"errors": 0, "mismatches": 0' "$dir/burst.json" || fail "$policy: I/O errors: $(cat "$dir/burst.json")"
    b1=$(pytarget_stat alua "127.0.0.1:$port" cmds)
    b2=$(pytarget_stat alua "127.0.0.2:$port" cmds)
    echo "$((b1 - a1)) $((b2 - a2))"
  }
  read -r one two < <(burst)
  log "$policy: optimized = tpg 2 (127.0.0.2): commands $one via 127.0.0.1, $two via 127.0.0.2"
  (( two > 10 * (one + 1) )) || fail "$policy: I/O is not on the optimized group ($one / $two)"

  # Flip the states under a running writer.
  python3 "$VERIFY" --socket "$dir/run/nbd.sock" --export mpatha --seconds 8 \
    --blocks 1024 --report "$dir/flip.json" > /dev/null &
  local vpid=$!
  sleep 2
  pytarget_ctl alua '{"cmd":"alua","tpg":2,"state":"standby"}' >/dev/null
  pytarget_ctl alua '{"cmd":"alua","tpg":1,"state":"ao"}' >/dev/null
  wait "$vpid" || fail "$policy: writer failed across the state change: $(cat "$dir/flip.json")"
  log "$policy: across the change: $(cat "$dir/flip.json" | cut -c1-120)"
  read -r one two < <(burst)
  log "$policy: optimized = tpg 1 (127.0.0.1): commands $one via 127.0.0.1, $two via 127.0.0.2"
  (( one > 10 * (two + 1) )) || fail "$policy: I/O did not follow the optimized group ($one / $two)"
  "$BRAID" --run-dir "$dir/run" show topology | tee "$dir/topo2"
  grep -q "ghost" "$dir/topo2" || fail "$policy: the standby path is not shown as ghost"
  kill "$dpid"
  wait "$dpid" 2>/dev/null || true
}

run_case group_by_prio
run_case group_by_tpg
pass "alua"
