#!/usr/bin/env bash
# The volume workflow of a hypervisor storage plugin (JovianDSS Proxmox
# plugin: activate / deactivate) on braidd, against one tgtd target with
# two LUNs through 127.0.0.1 and 127.0.0.2:
#   activate     prints the NBD URI of a 2-path map; the record
#                (<state-dir>/<storage>/<volume>.json, 0600 in a 0700 dir)
#                holds target, LUN, portals, WWID (= braid inquiry's), map,
#                URI, state "active"; the WWID is in the wwids file; data
#                written through the URI reads back; again = same output;
#   a 2nd LUN    shares the sessions; deactivating one volume keeps the
#                sessions the other uses;
#   in use       deactivate (and "del map") refuse while an NBD client holds
#                the export; --force flushes it and the client is cut off;
#   multipath 0  one path;
#   pending      a portal-list or multipath change on an active volume is
#                shown by "braid status" and applied only after
#                deactivate + activate;
#   check        finds a record without a map, a braid-activated map
#                without a record, stale wwids/bindings lines (file:line);
#                the next activate/deactivate repairs them;
#   names        bad storage/volume names are refused, nothing written.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo nbdcopy cmp "$BRAID_PYTHON"
requires_root
BRAID=$(braid_bin braid)
HOLD=$BRAID_SOURCE_DIR/tests/prog/nbd-hold.py
iqn=iqn.2026-11.dev.braid:activate
a1=127.0.0.1
a2=127.0.0.2

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_lun 1 2 lun2.img 32M
tgt_bind_all 1
iqn_chap=$iqn-chap
tgt_target 2 "$iqn_chap"
tgt_lun 2 1 lun3.img 16M
tgt_bind_all 2
tgt_chap 2 volinit volsecret4711
p1=$a1:$port
p2=$a2:$port
wwid1=$("$BRAID" inquiry "$p1" "$iqn" 1 | sed -n 's/^wwid: *//p')
wwid2=$("$BRAID" inquiry "$p1" "$iqn" 2 | sed -n 's/^wwid: *//p')
[[ -n $wwid1 && -n $wwid2 ]] || fail "no WWID from braid inquiry"

BRAIDD_CONF='defaults {
	user_friendly_names yes
	find_multipaths strict
}' BRAIDD_EXPORTS=0 start_braidd act
dir=$BRAIDD_DIR
state=$dir/state
wwids=$dir/wwids
sock=$dir/run/nbd.sock

B () { "$BRAID" --run-dir "$dir/run" --state-dir "$state" --wwids "$wwids" \
         --bindings "$dir/bindings" "$@"; }

# run NAME ARGS...: braid ARGS, stdout/stderr in $TMPDIR_TEST/NAME.{out,err},
# exit status in RC.
run ()
{
  local name=$1
  shift
  RC=0
  B "$@" >"$TMPDIR_TEST/$name.out" 2>"$TMPDIR_TEST/$name.err" || RC=$?
  OUT=$(cat "$TMPDIR_TEST/$name.out")
  ERR=$(cat "$TMPDIR_TEST/$name.err")
}

activate ()
{
  local name=$1
  shift
  run "$name" activate --storage jdss --target "$iqn" "$@"
  (( RC == 0 )) || fail "activate $*: exit $RC: $ERR"
}

# rec VOLUME EXPR: a Python expression over the record r.
rec ()
{
  "$BRAID_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(eval(sys.argv[2]))' "$state/jdss/$1.json" "$2"
}

# paths_of WWID: "MAP PORTAL" per path braidd has for WWID.
paths_of ()
{
  B show paths json | "$BRAID_PYTHON" -c '
import json, sys
for p in json.load(sys.stdin)["paths"]:
    if p["uuid"] == sys.argv[1]:
        print(p["multipath"], p["portal"])' "$1" | sort
}

nodes () { B nodes | "$BRAID_PYTHON" -c '
import json, sys
for n in json.load(sys.stdin)["nodes"]:
    print(n["portal"], n["target"], n["tag"])' | sort; }

enrolled () { grep -c "^/$1/\$" "$wwids" || true; }

# ---- activate: two paths, the record, the WWID, data through the URI
activate a1 --volume vm-100-disk-0 --lun 1 --portal "$p1" --portal "$p2"
uri1="nbd+unix:///mpatha?socket=$sock"
assert_eq "$OUT" "$uri1" "activate prints the NBD URI"
assert_eq "$(paths_of "$wwid1")" "$(printf 'mpatha %s\nmpatha %s' "$p1" "$p2")" "mpatha has both paths"
f=$state/jdss/vm-100-disk-0.json
assert_eq "$(stat -c %a "$f")" 600 "record mode"
assert_eq "$(stat -c %a "$state/jdss")" 700 "storage directory mode"
assert_eq "$(rec vm-100-disk-0 '[r[k] for k in ("storage","volume","state","target","lun","multipath","map","uri","device","pending")]')" \
  "['jdss', 'vm-100-disk-0', 'active', '$iqn', 1, 1, 'mpatha', '$uri1', None, None]" "record fields"
assert_eq "$(rec vm-100-disk-0 'r["portals"]')" "['$p1', '$p2']" "record portals"
assert_eq "$(rec vm-100-disk-0 'r["wwid"]')" "$wwid1" "record WWID = braid inquiry's"
assert_eq "$(rec vm-100-disk-0 'all(r[k].endswith("Z") for k in ("created","activated","updated"))')" True "timestamps"
assert_eq "$(enrolled "$wwid1")" 1 "WWID in the wwids file"
assert_eq "$(nodes)" "$(printf '%s %s braid-activate\n%s %s braid-activate' "$p1" "$iqn" "$p2" "$iqn")" "tagged sessions"
assert_eq "$(timeout 10 nbdinfo --size "$uri1")" $(( 64 << 20 )) "nbdinfo on the URI"
head -c $(( 4 << 20 )) /dev/urandom > "$TMPDIR_TEST/data"
timeout 60 nbdcopy "$TMPDIR_TEST/data" "$uri1"
timeout 60 nbdcopy "$uri1" "$TMPDIR_TEST/back"
cmp -n $(( 4 << 20 )) "$TMPDIR_TEST/data" "$TMPDIR_TEST/back" || fail "data read back through the URI differs"
pass "activate: $uri1, 2 paths, record, WWID enrolled, data reads back"

created=$(rec vm-100-disk-0 'r["created"]')
activate a1-again --volume vm-100-disk-0 --lun 1 --portal "$p1" --portal "$p2"
assert_eq "$OUT" "$uri1" "second activate: same output"
assert_eq "$ERR" "" "second activate: nothing on stderr"
assert_eq "$(rec vm-100-disk-0 'r["state"], r["created"]')" "('active', '$created')" "record kept"
assert_eq "$(enrolled "$wwid1")" 1 "WWID listed once"
assert_eq "$(paths_of "$wwid1" | wc -l)" 2 "still two paths"
pass "activate again: same output, nothing changed"

# ---- a second LUN on the same target shares the sessions
activate a2 --volume vm-101-disk-0 --lun 2 --portal "$p1" --portal "$p2"
uri2="nbd+unix:///mpathb?socket=$sock"
assert_eq "$OUT" "$uri2" "second volume's URI"
assert_eq "$(nodes | wc -l)" 2 "two sessions for two volumes"
assert_eq "$(tgt_conns 1 | wc -l)" 2 "tgtd sees two connections"
assert_eq "$(paths_of "$wwid2" | wc -l)" 2 "mpathb has both paths"
pass "a second LUN shares the sessions"

# ---- braid status
run st1 status
assert_eq "$RC" 0 "status exit"
grep -q '^paths: 4$' <<<"$OUT" || fail "status lacks braidd's show status: $OUT"
grep -qx 'jdss/vm-100-disk-0 active map mpatha paths 2/2 active' <<<"$OUT" || fail "status: $OUT"
grep -qx 'jdss/vm-101-disk-0 active map mpathb paths 2/2 active' <<<"$OUT" || fail "status: $OUT"
pass "status lists both volumes with their live paths"

# ---- check: clean, then a record without a map, repaired by activate
run ck0 check
assert_eq "$RC" 0 "check on a clean state ($OUT)"
B del map mpatha >/dev/null
run ck1 check
assert_eq "$RC" 1 "check finds the missing map"
grep -q "^record-without-map: jdss/vm-100-disk-0: state active, WWID $wwid1" <<<"$OUT" \
  || fail "check: $OUT"
assert_eq "$(wc -l <<<"$OUT")" 1 "one finding"
activate a1-repair --volume vm-100-disk-0 --lun 1 --portal "$p1" --portal "$p2"
assert_eq "$OUT" "$uri1" "activate repairs the map"
assert_eq "$(paths_of "$wwid1" | wc -l)" 2 "repaired map has both paths"
run ck2 check
assert_eq "$RC" 0 "check after the repair ($OUT)"
pass "check: record without map found; activate rebuilt it"

# ---- check: a braid-activated map without a record; activate adopts it,
# deactivate --target/--lun removes it
cp "$state/jdss/vm-101-disk-0.json" "$TMPDIR_TEST/saved.json"
rm "$state/jdss/vm-101-disk-0.json"
run ck3 check
assert_eq "$RC" 1 "check finds the map without record"
grep -q "^map-without-record: mpathb: WWID $wwid2, $iqn lun 2" <<<"$OUT" || fail "check: $OUT"
activate a2-adopt --volume vm-101-disk-0 --lun 2 --portal "$p1" --portal "$p2"
assert_eq "$OUT" "$uri2" "activate adopts the map"
run ck4 check
assert_eq "$RC" 0 "check after adoption ($OUT)"
rm "$state/jdss/vm-101-disk-0.json"
run d2-norec deactivate --storage jdss --volume vm-101-disk-0
assert_eq "$RC:$OUT" "0:jdss/vm-101-disk-0: not active" "no record, no target: not active"
run d2-norec2 deactivate --storage jdss --volume vm-101-disk-0 --target "$iqn" --lun 2
assert_eq "$RC" 0 "deactivate without record ($ERR)"
assert_eq "$OUT" "jdss/vm-101-disk-0: no record; removed the map mpathb of $iqn lun 2" "its message"
assert_eq "$(paths_of "$wwid2")" "$(printf '[orphan] %s\n[orphan] %s' "$p1" "$p2")" "mpathb flushed"
assert_eq "$(enrolled "$wwid2")" 0 "WWID 2 left the wwids file"
assert_eq "$(nodes | wc -l)" 2 "sessions kept for vm-100-disk-0"
run ck5 check
assert_eq "$RC" 0 "check after the cleanup ($OUT)"
pass "check: map without record found; activate adopted it, deactivate --target --lun removed it"

# ---- check: stale wwids and bindings entries, by file and line
echo "/3600000000000000000000000000dead0/" >> "$wwids"
ln_w=$(wc -l < "$wwids")
echo "mpathz 3600000000000000000000000000dead1" >> "$dir/bindings"
ln_b=$(wc -l < "$dir/bindings")
run ck6 check
assert_eq "$RC" 1 "check finds stale entries"
grep -qx "stale-wwid: $wwids:$ln_w: 3600000000000000000000000000dead0: no live path has this WWID" <<<"$OUT" \
  || fail "check: $OUT"
grep -qx "stale-binding: $dir/bindings:$ln_b: mpathz 3600000000000000000000000000dead1: no live path has this WWID" <<<"$OUT" \
  || fail "check: $OUT"
sed -i '$d' "$wwids"
sed -i '$d' "$dir/bindings"
pass "check: stale wwids and bindings lines named by file:line"

# ---- in use: an NBD client holds vm-101-disk-0's export
activate a2-b --volume vm-101-disk-0 --lun 2 --portal "$p1" --portal "$p2"
assert_eq "$OUT" "$uri2" "vm-101-disk-0 active again"
"$BRAID_PYTHON" "$HOLD" --socket "$sock" --export mpathb --seconds 300 \
  >"$TMPDIR_TEST/hold.out" 2>&1 &
h_pid=$!
h_start=$(_braid_proc_start "$h_pid") || h_start=
cleanup_fn stop_process "$h_pid" "$h_start" 5
wait_for "the NBD client to hold mpathb" 20 grep -qx open "$TMPDIR_TEST/hold.out" \
  || fail "nbd-hold: $(cat "$TMPDIR_TEST/hold.out")"
assert_eq "$(B exports | "$BRAID_PYTHON" -c '
import json, sys
print([e["connections"] for e in json.load(sys.stdin)["exports"] if e["name"] == "mpathb"])')" "[1]" \
  "braidd counts the open connection"
run d2-busy deactivate --storage jdss --volume vm-101-disk-0
assert_eq "$RC" 1 "deactivate refuses an open map"
grep -q "map mpathb is in use by 1 NBD client" <<<"$ERR" || fail "refusal message: $ERR"
assert_eq "$(rec vm-101-disk-0 'r["state"]')" active "record untouched by the refusal"
assert_eq "$(enrolled "$wwid2")" 1 "WWID kept"
run delmap-busy del map mpathb
assert_eq "$RC:$OUT" "$(printf "1:mpathb: map in use\nfail")" "del map refuses an open map"
run d2-force deactivate --storage jdss --volume vm-101-disk-0 --force
assert_eq "$RC:$OUT" "0:jdss/vm-101-disk-0: deactivated" "deactivate --force"
wait_gone "$h_pid" "$h_start" 20 || fail "the NBD client was not disconnected"
assert_eq "$(cat "$TMPDIR_TEST/hold.out")" "$(printf 'open\nclosed by server')" "client cut off"
[[ ! -e $state/jdss/vm-101-disk-0.json ]] || fail "record left behind"
assert_eq "$(enrolled "$wwid2")" 0 "WWID 2 removed"
assert_eq "$(nodes | wc -l)" 2 "sessions still used by vm-100-disk-0"
pass "in use: deactivate and del map refuse, --force flushes and cuts the client off"

# ---- deactivate the last volume: sessions go, then "not active"
run d1 deactivate --storage jdss --volume vm-100-disk-0
assert_eq "$RC:$OUT" "0:jdss/vm-100-disk-0: deactivated" "deactivate"
assert_eq "$(nodes)" "" "no session left"
assert_eq "$(B exports | "$BRAID_PYTHON" -c 'import json,sys; print(len(json.load(sys.stdin)["exports"]))')" 0 "no map left"
assert_eq "$(tgt_conns 1 | wc -l)" 0 "tgtd sees no connection"
[[ ! -e $state/jdss ]] || fail "empty storage directory left behind"
run d1-again deactivate --storage jdss --volume vm-100-disk-0
assert_eq "$RC:$OUT" "0:jdss/vm-100-disk-0: not active" "deactivate again"
pass "deactivate: sessions logged out with the last volume; again = not active"

# ---- multipath 0: one path
activate m0 --volume vm-102-disk-0 --lun 1 --portal "$p1" --portal "$p2" --multipath 0
uri=$OUT
assert_eq "$(paths_of "$wwid1" | wc -l)" 1 "--multipath 0: one path"
assert_eq "$(nodes | wc -l)" 1 "--multipath 0: one session"
assert_eq "$(rec vm-102-disk-0 'r["multipath"], r["sessions"]')" "(0, ['$p1'])" "record"

# a change while active: pending, live state untouched
activate m1 --volume vm-102-disk-0 --lun 1 --portal "$p1" --portal "$p2" --multipath 1
assert_eq "$OUT" "$uri" "same URI while the change is pending"
grep -q "take effect at the next deactivate + activate" <<<"$ERR" || fail "no pending note: $ERR"
assert_eq "$(paths_of "$wwid1" | wc -l)" 1 "still one path"
assert_eq "$(rec vm-102-disk-0 'r["pending"]')" "{'portals': ['$p1', '$p2'], 'multipath': 1}" "pending in the record"
run st2 status
grep -q "^  pending: portals $p1,$p2 -> $p1,$p2, multipath 0 -> 1 " <<<"$OUT" || fail "status: $OUT"
run d3 deactivate --storage jdss --volume vm-102-disk-0
activate m1b --volume vm-102-disk-0 --lun 1 --portal "$p1" --portal "$p2" --multipath 1
assert_eq "$(paths_of "$wwid1" | wc -l)" 2 "multipath 1 applied after deactivate + activate"
assert_eq "$(rec vm-102-disk-0 'r["pending"]')" None "nothing pending"
pass "multipath 0: one path; a change is pending until deactivate + activate"

# a portal-list change: pending, then applied
activate pl --volume vm-102-disk-0 --lun 1 --portal "$p2"
assert_eq "$(paths_of "$wwid1" | wc -l)" 2 "portal change pending: two paths still"
run st3 status
grep -q "^  pending: portals $p1,$p2 -> $p2, multipath 1 -> 1 " <<<"$OUT" || fail "status: $OUT"
activate pl-same --volume vm-102-disk-0 --lun 1 --portal "$p1" --portal "$p2"
assert_eq "$(rec vm-102-disk-0 'r["pending"]')" None "asking the live portals again clears pending"
activate pl2 --volume vm-102-disk-0 --lun 1 --portal "$p2"
run d4 deactivate --storage jdss --volume vm-102-disk-0
activate pl3 --volume vm-102-disk-0 --lun 1 --portal "$p2"
assert_eq "$(paths_of "$wwid1")" "mpatha $p2" "after deactivate + activate: the new portal only"
assert_eq "$(nodes)" "$p2 $iqn braid-activate" "one session through $p2"
run d5 deactivate --storage jdss --volume vm-102-disk-0
assert_eq "$(nodes)" "" "no session left"
pass "portal list change: pending in status, applied after deactivate + activate"

# ---- a failed activation leaves nothing behind: no such LUN; a portal
# nobody listens on
run nolun activate --storage jdss --volume vm-105-disk-0 --target "$iqn" --lun 9 \
  --portal "$p1" --portal "$p2" --timeout 2
assert_eq "$RC" 1 "activate of a missing LUN"
grep -q "no path to $iqn lun 9 after 2 s" <<<"$ERR" || fail "message: $ERR"
grep -q "activation failed; undoing it" <<<"$ERR" || fail "no undo: $ERR"
[[ ! -e $state/jdss/vm-105-disk-0.json ]] || fail "record left after a failed activation"
assert_eq "$(nodes)" "" "sessions of a failed activation logged out"
dead=$(pick_port)
run noportal activate --storage jdss --volume vm-105-disk-0 --target "$iqn" --lun 1 \
  --portal "127.0.0.1:$dead" --timeout 2
assert_eq "$RC" 1 "activate through a dead portal"
grep -q "login to $iqn failed" <<<"$ERR" || fail "message: $ERR"
[[ ! -e $state/jdss/vm-105-disk-0.json ]] || fail "record left after a failed login"
assert_eq "$(nodes)" "" "no session left after a failed login"
pass "failed activations (missing LUN, dead portal) undo themselves"

# ---- CHAP: the credentials file goes to braidd by path; no secret in
# the record, braidd's state or its log
run chap-none activate --storage jdss --volume vm-106-disk-0 --target "$iqn_chap" --lun 1 \
  --portal "$p1" --timeout 5
assert_eq "$RC" 1 "activate of a CHAP target without credentials"
[[ ! -e $state/jdss/vm-106-disk-0.json ]] || fail "record left after a refused login"
cf=$(secret_file chap.conf "$(printf 'username = volinit\npassword = volsecret4711')")
activate chap --volume vm-106-disk-0 --lun 1 --portal "$p1" --portal "$p2" --chap-file "$cf" \
  --target "$iqn_chap"
assert_eq "$OUT" "nbd+unix:///mpathc?socket=$sock" "CHAP volume's URI"
assert_eq "$(rec vm-106-disk-0 'r["state"]')" active "CHAP volume's record"
if grep -rqF volsecret4711 "$state" "$dir/braidd.log"; then
  fail "the CHAP secret reached a state file or the log"
fi
if grep -qF "$cf" "$state/jdss/vm-106-disk-0.json"; then
  fail "the CHAP file's path is in the record"
fi
run chap-d deactivate --storage jdss --volume vm-106-disk-0
assert_eq "$RC:$(nodes)" "0:" "CHAP volume deactivated"
# multipath-tools never drops a binding; check names the one left
run ck-chap check
assert_eq "$RC" 1 "check after the last path of mpathc went"
grep -qx "stale-binding: $dir/bindings:[0-9]*: mpathc [0-9a-f]*: no live path has this WWID" <<<"$OUT" \
  || fail "check: $OUT"
sed -i '/^mpathc /d' "$dir/bindings"
pass "CHAP: refused without credentials, active with --chap-file, no secret in state or log"

# ---- bad names and a wrong target for a recorded volume
for bad in ../x a/b .hidden . '' "$(printf 'v%.0s' {1..129})"; do
  run bad activate --storage jdss --volume "$bad" --target "$iqn" --lun 1 --portal "$p1"
  assert_eq "$RC" 2 "volume name '$bad' refused"
  grep -q "volume name" <<<"$ERR" || fail "no clear error for '$bad': $ERR"
done
run bad-s deactivate --storage .. --volume v
assert_eq "$RC" 2 "storage name '..' refused"
[[ ! -e $state/jdss ]] || fail "a refused name wrote something"
activate w --volume vm-103-disk-0 --lun 2 --portal "$p1"
run wrong activate --storage jdss --volume vm-103-disk-0 --target "$iqn" --lun 1 --portal "$p1"
assert_eq "$RC" 1 "another LUN for a recorded volume is refused"
grep -q "recorded as $iqn lun 2" <<<"$ERR" || fail "message: $ERR"
run d6 deactivate --storage jdss --volume vm-103-disk-0
pass "bad names refused with a clear error; a recorded volume keeps its LUN"

# ---- braidd restarts (a host reboot): the sessions come back from its
# nodes.json with their tag, the map from the wwids file; nothing to repair
activate rs --volume vm-104-disk-0 --lun 1 --portal "$p1" --portal "$p2"
uri=$OUT
stop_braidd act
"$(braid_bin braidd)" -f --config "$dir/multipath.conf" --config-dir "$dir/conf.d" \
  --wwids "$wwids" --bindings "$dir/bindings" --state-dir "$state" --run-dir "$dir/run" \
  </dev/null >>"$dir/braidd.log" 2>&1 &
r_pid=$!
r_start=$(_braid_proc_start "$r_pid") || r_start=
cleanup_fn stop_process "$r_pid" "$r_start" 10
back () { [[ $(paths_of "$wwid1" 2>/dev/null | grep -c '^mpatha ') == 2 ]]; }
wait_for "the map back after the restart" 30 back || fail "after the restart: $(paths_of "$wwid1")"
assert_eq "$(nodes)" "$(printf '%s %s braid-activate\n%s %s braid-activate' "$p1" "$iqn" "$p2" "$iqn")" \
  "tagged sessions after the restart"
run ck-rs check
assert_eq "$RC" 0 "check after the restart ($OUT)"
activate rs2 --volume vm-104-disk-0 --lun 1 --portal "$p1" --portal "$p2"
assert_eq "$OUT" "$uri" "activate after the restart: same URI"
run d7 deactivate --storage jdss --volume vm-104-disk-0
assert_eq "$RC:$(nodes)" "0:" "deactivate after the restart"
pass "braidd restart: sessions (tagged) and map come back, the record still matches"

# ---- status: braidd unreachable = exit 1; "host state: non-operational"
# (a line braidd prints for a failed iSCSI bond) = exit 3.  A stand-in
# control socket answers with the status text in $fake/status.
run st-down --run-dir "$TMPDIR_TEST/nowhere" status
assert_eq "$RC" 1 "status without braidd"
grep -q "cannot reach braidd" <<<"$ERR" || fail "status without braidd: $ERR"
fake=$TMPDIR_TEST/fake
mkdir -p "$fake"
printf 'path checker states:\n\npaths: 0\nbusy: False\nhost state: non-operational (iSCSI bond bond0: no link)\n' > "$fake/status"
"$BRAID_PYTHON" "$BRAID_SOURCE_DIR/tests/prog/braidd-standin.py" "$fake" >"$fake/log" 2>&1 &
f_pid=$!
f_start=$(_braid_proc_start "$f_pid") || f_start=
cleanup_fn stop_process "$f_pid" "$f_start" 5
show_log_on_failure "$fake/log"
wait_for "the stand-in control socket" 10 test -S "$fake/braidd.sock" || fail "stand-in did not start"
run st-bad --run-dir "$fake" status
assert_eq "$RC" 3 "status on a non-operational host ($ERR)"
grep -qx "host state: non-operational (iSCSI bond bond0: no link)" <<<"$OUT" || fail "status: $OUT"
printf 'path checker states:\n\npaths: 0\nbusy: False\nnote: host state: non-operational, not at the start\n' > "$fake/status"
run st-ok --run-dir "$fake" status
assert_eq "$RC" 0 "status when the words are not at a line's start ($ERR)"
touch "$fake/stop"
pass "status: exit 1 without braidd, 3 on 'host state: non-operational'"
pass "$BRAID_TEST_NAME"
