#!/usr/bin/env bash
# braid activate / deactivate killed (SIGKILL, $BRAID_FAULT) at every
# named point, then run again: each time the state converges (record,
# wwids file, map, sessions) and no volume record is ever half written.
# Points: record:before-rename#N (a record write done but not renamed),
# activate:after-record|after-login|after-enroll|after-map,
# deactivate:after-record|after-unenroll|after-flush|after-logout.
# After an interrupted activate both ways out are tried: activate again
# (volume active) and deactivate (volume gone).  Round 1 runs with a
# second volume on the same target active (its sessions must survive
# every deactivation of the first), round 2 without (the sessions go).
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo "$BRAID_PYTHON"
requires_root
BRAID=$(braid_bin braid)
iqn=iqn.2026-11.dev.braid:crash

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 32M
tgt_lun 1 2 lun2.img 32M
tgt_bind_all 1
p1=127.0.0.1:$port
p2=127.0.0.2:$port
wwid1=$("$BRAID" inquiry "$p1" "$iqn" 1 | sed -n 's/^wwid: *//p')
[[ -n $wwid1 ]] || fail "no WWID from braid inquiry"

BRAIDD_CONF='defaults {
	find_multipaths strict
}' BRAIDD_EXPORTS=0 start_braidd crash
dir=$BRAIDD_DIR
state=$dir/state
wwids=$dir/wwids
uri1="nbd+unix:///$wwid1?socket=$dir/run/nbd.sock"

B () { "$BRAID" --run-dir "$dir/run" --state-dir "$state" --wwids "$wwids" \
         --bindings "$dir/bindings" "$@"; }

# run ARGS...: RC, OUT, ERR of braid ARGS.
run ()
{
  RC=0
  B "$@" >"$TMPDIR_TEST/out" 2>"$TMPDIR_TEST/err" || RC=$?
  OUT=$(cat "$TMPDIR_TEST/out")
  ERR=$(cat "$TMPDIR_TEST/err")
}

act_a () { run activate --storage jdss --volume vm-200-disk-0 --target "$iqn" --lun 1 \
             --portal "$p1" --portal "$p2"; }
deact_a () { run deactivate --storage jdss --volume vm-200-disk-0; }

# Every *.json under the state dir parses (records and braidd's nodes.json);
# prints the record's state, or "none".
json_ok_state ()
{
  "$BRAID_PYTHON" - "$state" <<'EOF'
import json, os, sys
st = "none"
for root, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith(".json"):
            with open(os.path.join(root, f)) as fh:
                try:
                    r = json.load(fh)
                except ValueError as e:
                    sys.exit("half-written JSON %s: %s" % (f, e))
            if f == "vm-200-disk-0.json":
                st = r["state"]
print(st)
EOF
}

live ()
{
  B show paths json | "$BRAID_PYTHON" -c '
import json, sys
n = [p["multipath"] for p in json.load(sys.stdin)["paths"] if p["uuid"] == sys.argv[1]]
print(len(n), sorted(set(n)))' "$wwid1"
}
sessions () { B nodes | "$BRAID_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["nodes"]))'; }
enrolled () { grep -c "^/$wwid1/\$" "$wwids" || true; }

# expect_active: the record, the WWID, the 2-path map, the sessions.
expect_active ()
{
  assert_eq "$(json_ok_state)" active "$1: record state"
  assert_eq "$(enrolled)" 1 "$1: WWID enrolled once"
  assert_eq "$(live)" "2 ['$wwid1']" "$1: map with both paths"
  assert_eq "$(sessions)" 2 "$1: sessions"
}

no_paths () { [[ $(live) == "0 []" ]]; }

# expect_gone SESSIONS: no record, WWID out, no map, SESSIONS sessions.
expect_gone ()
{
  assert_eq "$(json_ok_state)" none "$1: no record"
  assert_eq "$(enrolled)" 0 "$1: WWID not enrolled"
  local l
  if (( $2 == 0 )); then
    # The logout is asynchronous: each path drains, then its session
    # logs out, one after the other (slowly under valgrind).
    wait_for "$1: paths gone" 30 no_paths || fail "$1: map left: $(live)"
  fi
  l=$(live)
  [[ $l == "0 []" || $l == "2 ['[orphan]']" ]] || fail "$1: map left: $l"
  assert_eq "$(sessions)" "$2" "$1: sessions"
}

# crash WANT_STATE POINT CMD...: CMD killed at POINT; the record (if any)
# is whole and in WANT_STATE.
crash ()
{
  local want=$1 point=$2
  shift 2
  RC=0
  export BRAID_FAULT=$point
  "$@" || true
  unset BRAID_FAULT
  assert_eq "$RC" 137 "killed at $point ($ERR)"
  grep -q "BRAID_FAULT: killed at $point" <<<"$ERR" || fail "not killed at $point: $ERR"
  assert_eq "$(json_ok_state)" "$want" "record after a kill at $point"
  if [[ $want == activating || $want == deactivating ]]; then
    run check
    assert_eq "$RC" 1 "check after a kill at $point"
    grep -q "^crashed: jdss/vm-200-disk-0: left in state $want " <<<"$OUT" || fail "check: $OUT"
  fi
}

for round in 1 2; do
  if (( round == 1 )); then
    run activate --storage jdss --volume vm-201-disk-0 --target "$iqn" --lun 2 \
      --portal "$p1" --portal "$p2"
    (( RC == 0 )) || fail "activating the second volume: $ERR"
    left=2
  else
    run deactivate --storage jdss --volume vm-201-disk-0
    (( RC == 0 )) || fail "deactivating the second volume: $ERR"
    left=0
  fi

  for spec in "none record:before-rename#1" "activating activate:after-record" \
              "activating activate:after-login" "activating activate:after-enroll" \
              "activating activate:after-map" "activating record:before-rename#2"; do
    read -r want point <<<"$spec"
    # way out 1: activate again
    crash "$want" "$point" act_a
    act_a
    assert_eq "$RC:$OUT" "0:$uri1" "activate after a kill at $point ($ERR)"
    expect_active "activate after a kill at $point"
    run check
    assert_eq "$RC" 0 "check after the rerun ($OUT)"
    deact_a
    assert_eq "$RC" 0 "deactivate ($ERR)"
    expect_gone "deactivate" "$left"
    # way out 2: deactivate
    crash "$want" "$point" act_a
    deact_a
    assert_eq "$RC" 0 "deactivate after a kill at $point ($ERR)"
    expect_gone "deactivate after a kill at $point" "$left"
    pass "round $round: killed at $point during activate: activate and deactivate both converge"
  done

  for spec in "active record:before-rename#1" "deactivating deactivate:after-record" \
              "deactivating deactivate:after-unenroll" "deactivating deactivate:after-flush" \
              "deactivating deactivate:after-logout"; do
    read -r want point <<<"$spec"
    act_a
    (( RC == 0 )) || fail "activate: $ERR"
    crash "$want" "$point" deact_a
    deact_a
    assert_eq "$RC" 0 "deactivate after a kill at $point ($ERR)"
    expect_gone "deactivate after a kill at $point" "$left"
    # and activate after such a kill brings the volume back whole
    act_a
    crash "$want" "$point" deact_a
    act_a
    assert_eq "$RC:$OUT" "0:$uri1" "activate after a kill at $point ($ERR)"
    expect_active "activate after a kill at $point"
    deact_a
    expect_gone "final deactivate" "$left"
    pass "round $round: killed at $point during deactivate: deactivate and activate both converge"
  done
done

run check
# Only the bindings file could remain, and without user_friendly_names it
# holds nothing.
assert_eq "$RC" 0 "check at the end ($OUT)"
pass "$BRAID_TEST_NAME"
