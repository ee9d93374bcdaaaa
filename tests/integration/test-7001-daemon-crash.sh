#!/usr/bin/env bash
# test-7001-daemon-crash: braidd is SIGKILLed under verified I/O, several
# times and at different moments, and started again on the files it left.
#
# tgtd serves two file-backed LUNs through 127.0.0.1 and 127.0.0.2; braidd
# logs in to both portals once (--login), so each LUN is a 2-path map: LUN 1
# named by user_friendly_names (mpatha, from the bindings file), LUN 2 by
# an alias in multipath.conf (crashdb).  nbd-verify runs on each export
# with --reconnect: when braidd dies it reconnects (bounded) and re-issues
# the I/O that got no reply.  Six kills: mid-I/O after 2 s; 0.3 s after
# a restart; the moment the next daemon's NBD socket answers (just
# settled); with portal 2 cut (iptables DROP: the restart comes up on
# portal 1 alone and gets portal 2 back by retrying its login once the
# portal is given back); while portal 2 is logged out and in over and over
# (nodes.json rewritten each time); and after 1 s.  After every kill the
# state files (nodes.json, wwids, bindings) parse and are complete (the
# old node list or the new one), and the dead daemon's sockets are there;
# the restart is given no --login (the nodes come back from nodes.json)
# and must bring back both maps under the same names, both exports and
# all four paths, with no complaint about a stale socket, and never tell
# a reconnecting client that its export does not exist.
# At the end both writers report 0 errors and 0 mismatches (every block
# read back against the last generation acknowledged), and reconnects
# counted apart.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm iptables nbdinfo "$BRAID_PYTHON"
requires_root
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
BRAID=$(braid_bin braid)
IQN=iqn.2026-11.dev.braid:crash
# tgtd's NAA for target 1 LUN 2 (its scsi_id default: tid and LUN).
WWID2=360000000000000000e00000000010002

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 crash1.img 64M
tgt_lun 1 2 crash2.img 64M
tgt_bind_all 1
P1=127.0.0.1:$port
P2=127.0.0.2:$port

BRAIDD_CONF="defaults {
	user_friendly_names yes
	polling_interval 1
}
multipaths {
	multipath {
		wwid $WWID2
		alias crashdb
	}
}" BRAIDD_EXPORTS=2 BRAIDD_PATHS=4 start_braidd cr \
  --login "$P1,$IQN" --login "$P2,$IQN"
dir=$(braidd_dir cr)
sock=$(braidd_sock cr)

# maps_ok: both exports under their names and all four paths active.
maps_ok ()
{
  local l
  l=$(braidd_list cr 2>/dev/null | awk '{ print $1 }' | sort | tr '\n' ' ')
  [[ $l == "crashdb mpatha " ]] || return 1
  [[ $("$BRAID" --run-dir "$dir/run" show paths raw format '%m %t' 2>/dev/null \
         | grep -cE '^(mpatha|crashdb) active') == 4 ]]
}
wait_for "mpatha and crashdb with two active paths each" 30 maps_ok \
  || fail "maps: $(braidd_list cr | tr '\n' ' ')"
grep -qE "^mpatha 3" "$(braidd_bindings cr)" || fail "no mpatha binding"
"$BRAID" --run-dir "$dir/run" show maps | tee "$TMPDIR_TEST/maps.0"

# check_state N [p2-optional]: the files the killed daemon left parse and
# are complete (portal 2 may be missing from nodes.json when the daemon
# died while logging it out or in).
check_state ()
{
  "$BRAID_PYTHON" - "$dir/state/nodes.json" "$(braidd_wwids cr)" \
    "$(braidd_bindings cr)" "$P1" "$P2" "$IQN" "$WWID2" "${2:-}" <<'EOF' \
    || fail "state files after kill $1"
import json, re, sys
nodes, wwids, bindings, p1, p2, iqn, wwid2, loose = sys.argv[1:]
with open(nodes) as f:
    d = json.load(f)                      # raises on a half-written file
have = {(n["portal"], n["target"]) for n in d["nodes"]}
want = {(p1, iqn), (p2, iqn)}
assert have == want or (loose and have == {(p1, iqn)}), \
    "nodes.json lists %r" % (have,)
ws = []
for line in open(wwids):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    assert re.fullmatch(r"/[0-9a-zA-Z_.:-]+/", line), "wwids line %r" % line
    ws.append(line.strip("/"))
assert len(ws) == 2 and wwid2 in ws, "wwids has %r" % ws
bs = {}
for line in open(bindings):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    alias, wwid = line.split()            # raises on a torn line
    bs[alias] = wwid
assert "mpatha" in bs and bs["mpatha"] in ws and bs["mpatha"] != wwid2, \
    "bindings has %r" % bs
EOF
}

stop=$TMPDIR_TEST/stop
"$BRAID_PYTHON" "$VERIFY" --socket "$sock" --export mpatha --seconds 600 \
  --blocks 4096 --seed 11 --io-timeout 60 --reconnect 60 --stop-file "$stop" \
  --report "$TMPDIR_TEST/w1.json" </dev/null >"$TMPDIR_TEST/w1.out" 2>&1 &
w1=$!
"$BRAID_PYTHON" "$VERIFY" --socket "$sock" --export crashdb --seconds 600 \
  --blocks 1024 --seed 12 --rate 50 --io-timeout 60 --reconnect 60 \
  --stop-file "$stop" --report "$TMPDIR_TEST/w2.json" \
  </dev/null >"$TMPDIR_TEST/w2.out" 2>&1 &
w2=$!
cleanup_fn bash -c "touch '$stop'; kill $w1 $w2 2>/dev/null || true"

kills=0
# crash DELAY HOW: wait DELAY s, SIGKILL braidd, check what it left, start
# it again.  HOW: "full" waits for both exports and four paths; "early"
# only until the NBD socket answers (braidd opens it once the saved nodes
# have logged in), so a following "crash 0" finds the new daemon just
# settled; "degraded" waits for two paths (the other portal is cut).
crash ()
{
  local delay=$1 how=$2 loose=${3:-} pid start
  sleep_interruptible "$delay"
  read -r pid start < "$dir/pid"
  proc_alive "$pid" "$start" || fail "braidd died by itself before kill $((kills + 1))"
  kill -KILL "$pid"
  wait_gone "$pid" "$start" 10 || fail "braidd pid $pid survived SIGKILL"
  kills=$(( kills + 1 ))
  log "kill $kills: SIGKILL braidd pid $pid, $delay s after it answered; restart: $how"
  check_state "$kills" "$loose"
  [[ -S $dir/run/nbd.sock && -S $dir/run/braidd.sock ]] \
    || fail "kill $kills: expected the dead daemon's sockets to be left behind"
  proc_alive "$w1" && proc_alive "$w2" || fail "a writer gave up while braidd was down"
  case $how in
    early) BRAIDD_EXPORTS=0 BRAIDD_PATHS=0 restart_braidd cr ;;
    degraded) BRAIDD_EXPORTS=2 BRAIDD_PATHS=2 restart_braidd cr ;;
    *) BRAIDD_EXPORTS=2 BRAIDD_PATHS=4 restart_braidd cr ;;
  esac
  if grep -iE "address already in use|stale|bind .*:" "$BRAIDD_LOG"; then
    fail "restart $kills complained about its sockets"
  fi
}

crash 2 full              # mid-I/O
crash 0.3 early           # soon after a restart
crash 0 full              # while the new daemon is still setting up
# With portal 2 silently cut: the daemon dies with two paths failed and
# comes back into the same fabric (logins to portal 2 time out and retry)
# while I/O goes on through portal 1; then the portal is given back.
cut_path drop 127.0.0.2 "$port"
sleep_interruptible 2
crash 0 degraded
sleep_interruptible 2
proc_alive "$w1" && proc_alive "$w2" || fail "a writer gave up during the degraded restart"
restore_path drop 127.0.0.2 "$port"
wait_for "portal 2 paths back" 60 maps_ok || fail "portal 2 did not come back"
# The daemon that started with portal 2 cut got its paths back by itself:
# its first logins there failed and were retried.
grep -qF "$P2 $IQN: login failed, trying again in " "$BRAIDD_LOG" \
  || fail "no login retry logged for portal 2"
# While nodes.json is being rewritten: portal 2 logged out and in again
# and again (each one an atomic rewrite), braidd killed in the middle.
# nodes.json must be the old list or the new one, never a torn one.
churn=$TMPDIR_TEST/churn
( for (( i = 0; i < 200; i++ )); do
    [[ ! -e $churn ]] || break
    timeout 5 "$BRAID" --run-dir "$dir/run" logout --portal "$P2" --target "$IQN" || true
    timeout 5 "$BRAID" --run-dir "$dir/run" login --portal "$P2" --target "$IQN" || true
  done ) >"$TMPDIR_TEST/churn.out" 2>&1 &
cpid=$!
cleanup_fn bash -c "touch '$churn'; kill $cpid 2>/dev/null || true"
wait_for "portal 2 logged out and in by the churn" 30 \
  grep -qF "$P2 $IQN: logged out" "$(braidd_log cr)" \
  || fail "the churn did not log portal 2 out"
sleep_interruptible 0.7
crash 0 degraded p2-optional
touch "$churn"
wait "$cpid" || true
grep -qF "\"$P2\"" "$dir/state/nodes.json" \
  || log "braidd died with portal 2 logged out: logging in again"
# (Already logged in is fine: the CLI says so and succeeds.)
"$BRAID" --run-dir "$dir/run" login --portal "$P2" --target "$IQN" \
  || fail "login to portal 2 after the churn"
wait_for "portal 2 paths back after the churn" 60 maps_ok \
  || fail "portal 2 did not come back after the churn"
crash 1 full
pass "$kills kills at different moments; state files whole after each"
# Each restart opened its NBD socket when its saved nodes had logged in (or
# failed, or were logged out by the churn), never on the give-up timer.
if grep -H "still logging in after" "$dir"/braidd.log*; then
  fail "a restart waited for a node that never reported its first login"
fi

wait_for "maps back after the last restart" 60 maps_ok \
  || fail "maps after restart: $(braidd_list cr | tr '\n' ' ')"
check_state final
"$BRAID" --run-dir "$dir/run" show maps | tee "$TMPDIR_TEST/maps.1"
diff "$TMPDIR_TEST/maps.0" "$TMPDIR_TEST/maps.1" \
  || fail "show maps differs after the restarts"
pass "names, maps, exports and paths came back (nodes from nodes.json)"

# Let the writers run on the restarted daemon for a while, then stop.
sleep_interruptible 2
touch "$stop"
rc1=0 rc2=0
wait "$w1" || rc1=$?
wait "$w2" || rc2=$?
for w in w1 w2; do
  log "$w: $(cut -c1-120 "$TMPDIR_TEST/$w.json" 2>/dev/null) ... $(grep -o '"reconnects.*' "$TMPDIR_TEST/$w.json")"
  grep -q '"errors": 0, "mismatches": 0, "final_mismatches": 0' "$TMPDIR_TEST/$w.json" \
    || fail "$w: $(cat "$TMPDIR_TEST/$w.out" "$TMPDIR_TEST/$w.json" 2>/dev/null | tail -c 800)"
done
(( rc1 == 0 && rc2 == 0 )) || fail "a writer failed ($rc1, $rc2)"
field () { "$BRAID_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
r1=$(field "$TMPDIR_TEST/w1.json" reconnects)
# Kills 1, 4 and 6 come a second or more after a restart, so they find the
# busy writer connected; the others may catch it between two attempts.
(( r1 >= 3 )) || fail "the busy writer reconnected $r1 times for $kills kills"
# A restarted braidd opens its NBD socket only once its maps are back: a
# reconnecting client is refused a connection (and retries), never told
# that its export does not exist.
for w in w1 w2; do
  [[ $(field "$TMPDIR_TEST/$w.json" export_refused) == 0 ]] \
    || fail "$w was told its export does not exist after a restart"
done
pass "both writers: 0 errors, 0 mismatches; reconnects counted apart ($r1 for $kills kills), no export refused"

# After all that, a clean stop: SIGTERM, exit status 0 (under ASan, no
# report: the maps' last events once ran into the freed NBD server).
stop_braidd_clean cr
pass "braidd stops cleanly after the crashes"
