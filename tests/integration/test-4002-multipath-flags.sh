#!/usr/bin/env bash
# braid's multipath(8) flags against braidd, and "braid conf".  One tgtd
# LUN through 127.0.0.1 and 127.0.0.2 is one map, mpatha
# (user_friendly_names).  Checked, with multipath's exact messages:
#   -T DEV         the settings of a path braidd has;
#   -ll / -l       the map's topology (by alias, WWID, by-id name, path
#                  name), -v1 names only, nothing for an unknown map;
#   -a / -w / -W   the wwids file, byte for byte (multipath-tools' header),
#                  for WWIDs, aliases, path names and H:C:T:L; a bare WWID
#                  without braidd; -W back to the maps braidd has;
#   -f, -F         the map goes ("del map"), "map in use" while an I/O
#                  waits on it; "braid add map" brings it back;
#   -d             the "create:" block for the orphan paths, exactly;
#   -r             reconfigure, silent;
#   conf enable    a file that braid -t and the real multipath -t (in a
#                  private mount namespace, when it can run) accept with
#                  no warning; a foreign file is left alone unless --force;
#                  conf disable blacklists everything.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm iptables nbdinfo cmp "$BRAID_PYTHON"
requires_root
BRAID=$(braid_bin braid)
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
iqn=iqn.2026-11.dev.braid:mpflags
a1=127.0.0.1
a2=127.0.0.2

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1
p1=$(braidd_path "$a1:$port" "$iqn" 1)
p2=$(braidd_path "$a2:$port" "$iqn" 1)
wwid=$("$BRAID" inquiry "$a1:$port" "$iqn" 1 | sed -n 's/^wwid: *//p')
[[ -n $wwid ]] || fail "no WWID from braid inquiry"
fake=3600a098038303053453f463045727431

BRAIDD_CONF='defaults {
	user_friendly_names yes
	no_path_retry queue
}' BRAIDD_PATHS=2 start_braidd mp --login "$a1:$port,$iqn" --login "$a2:$port,$iqn"
dir=$(braidd_dir mp)
wwids=$(braidd_wwids mp)
B=("$BRAID" --config "$dir/multipath.conf" --config-dir "$dir/conf.d"
   --wwids "$wwids" --bindings "$(braidd_bindings mp)" --run-dir "$dir/run")

# run OUT ARGS...: braid ARGS with stdout to $TMPDIR_TEST/OUT.out, stderr
# to OUT.err; sets RC.
run ()
{
  local out=$TMPDIR_TEST/$1
  shift
  RC=0
  "${B[@]}" "$@" >"$out.out" 2>"$out.err" || RC=$?
}

# expect OUT RC STDOUT [STDERR]: the last run's status and exact output.
expect ()
{
  local out=$TMPDIR_TEST/$1
  assert_eq "$RC" "$2" "braid ${1}: exit status (stderr: $(cat "$out.err"))"
  assert_eq "$(cat "$out.out")" "$3" "braid ${1}: stdout"
  assert_eq "$(cat "$out.err")" "${4:-}" "braid ${1}: stderr"
}

# wwids_is LINE...: the wwids file is multipath-tools' header, then LINEs.
wwids_is ()
{
  mp_wwids_text "$@" > "$TMPDIR_TEST/wwids.expected"
  assert_file_is "$wwids" "$TMPDIR_TEST/wwids.expected" "wwids file"
}

# ---- -ll / -l
topo=$("$BRAID" --run-dir "$dir/run" show topology)
vpr=$(sed -n "1s/^mpatha ($wwid) undef //p" <<<"$topo")
[[ -n $vpr ]] || fail "show topology does not start with mpatha ($wwid): $topo"
run ll -ll
expect ll 0 "$topo"
for name in mpatha "$wwid" "/dev/disk/by-id/scsi-$wwid" "disk/by-id/scsi-$wwid" \
            "/dev/mapper/mpatha" "$p2"; do
  run ll-one -ll "$name"
  expect ll-one 0 "$topo"
done
hcil2=$("$BRAID" --run-dir "$dir/run" show paths raw format "%i %d" | awk -v p="$p2" '$2 == p { print $1 }')
run ll-hcil -l "$hcil2"
expect ll-hcil 0 "$topo"
run ll-v1 -l -v1
expect ll-v1 0 mpatha
run ll-none -ll nosuchmap
expect ll-none 0 ""
pass "-ll/-l: the topology by alias, WWID, by-id, mapper, path and H:C:T:L names; -v1 names; nothing for an unknown map"

# ---- -T DEV: the settings of a live path (braidd knows its vendor/product)
run T -T mpatha
assert_eq "$RC" 0 "-T mpatha"
grep -qE '^no_path_retry +queue +# defaults$' "$TMPDIR_TEST/T.out" \
  || fail "-T mpatha: no_path_retry from defaults: $(cat "$TMPDIR_TEST/T.out")"
run T2 -T "$p1" vendor=NETAPP product=LUN
grep -qE '^path_grouping_policy +group_by_prio +# device$' "$TMPDIR_TEST/T2.out" \
  || fail "-T PATH vendor=NETAPP product=LUN: the hwtable entry does not apply"
run T3 -T "$p1"
grep -qE '^path_grouping_policy +failover +# built-in$' "$TMPDIR_TEST/T3.out" \
  || fail "-T PATH: $(head -3 "$TMPDIR_TEST/T3.out")"
pass "-T: settings for a live path or map, key=value words still override"

# ---- -a / -w / -W: messages and file bytes
wwids_is "/$wwid/"
run a -a "$fake"
expect a 0 "wwid '$fake' added"
wwids_is "/$wwid/" "/$fake/"
run a-again -a "$fake"
expect a-again 0 "wwid '$fake' added"
wwids_is "/$wwid/" "/$fake/"
run w -w "$fake"
expect w 0 "wwid '$fake' removed"
wwids_is "/$wwid/" "#$fake/"
run w-again -w "$fake"
expect w-again 0 "wwid '$fake' not in wwids file"
for name in mpatha "$p1" "$hcil2" "/dev/disk/by-id/scsi-$wwid"; do
  run a-name -a "$name"
  expect a-name 0 "wwid '$wwid' added"
done
wwids_is "/$wwid/" "#$fake/"
run a-bad -a "$(braidd_path "$a1:$port" "$iqn" 7)"
assert_eq "$RC" 1 "-a of a path braidd does not have"
run W -W
expect W 0 "successfully reset wwids"
wwids_is "/$wwid/"
pass "-a/-w/-W: multipath's messages, the wwids file byte for byte"

# Without braidd: a bare WWID still works, names and -W/-ll cannot.
mkdir -p "$TMPDIR_TEST/norun"
Boff=("$BRAID" --wwids "$wwids" --bindings "$(braidd_bindings mp)" --run-dir "$TMPDIR_TEST/norun")
out=$("${Boff[@]}" -a "$fake") || fail "-a WWID without braidd failed"
assert_eq "$out" "wwid '$fake' added" "-a without braidd"
wwids_is "/$wwid/" "/$fake/"
out=$("${Boff[@]}" -a mpatha) || fail "-a alias (bindings file) without braidd failed"
assert_eq "$out" "wwid '$wwid' added" "-a alias without braidd"
rc=0; "${Boff[@]}" -a "$p1" >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "-a path name without braidd"
rc=0; err=$("${Boff[@]}" -W 2>&1 >/dev/null) || rc=$?
assert_eq "$rc" 1 "-W without braidd"
[[ $err == *"needs braidd"* ]] || fail "-W without braidd: '$err'"
rc=0; "${Boff[@]}" -ll >/dev/null 2>&1 || rc=$?
assert_eq "$rc" 1 "-ll without braidd"
run W2 -W
expect W2 0 "successfully reset wwids"
wwids_is "/$wwid/"
pass "without braidd: -a WWID and -a alias work; path names, -W and -ll need it"

# ---- -f, then -d on the orphans, then add map
run f -f mpatha
expect f 0 ""
assert_eq "$("$BRAID" --run-dir "$dir/run" show maps)" "ok" "maps after -f"
run ll-empty -ll
expect ll-empty 0 ""
run f-again -f mpatha
expect f-again 1 "" "mpatha is not a multipath device"

# The expected -d block, from braidd's own view of the two orphan paths.
paths=$("$BRAID" --run-dir "$dir/run" show paths raw format "%i|%d|%m")
assert_eq "$(grep -c '|\[orphan\]$' <<<"$paths")" 2 "orphan paths after -f"
wi=0 wd=0
while IFS='|' read -r h d _; do
  (( ${#h} > wi )) && wi=${#h}
  (( ${#d} > wd )) && wd=${#d}
done <<<"$paths"
{
  echo "create: mpatha ($wwid) undef $vpr"
  echo "size=64M features='1 queue_if_no_path' hwhandler='0' wp=undef"
  n=0
  while IFS='|' read -r h d _; do
    n=$(( n + 1 ))
    if (( n == 1 )); then
      echo "|-+- policy='service-time 0' prio=1 status=undef"
      printf '| `- %-*s %-*s #:# undef undef unknown\n' "$wi" "$h" "$wd" "$d"
    else
      echo "\`-+- policy='service-time 0' prio=1 status=undef"
      printf '  `- %-*s %-*s #:# undef undef unknown\n' "$wi" "$h" "$wd" "$d"
    fi
  done <<<"$paths"
} > "$TMPDIR_TEST/dry.expected"
for arg in "" "$wwid" mpatha; do
  run d -d $arg
  if ! cmp -s "$TMPDIR_TEST/d.out" "$TMPDIR_TEST/dry.expected"; then
    diff -u "$TMPDIR_TEST/dry.expected" "$TMPDIR_TEST/d.out" >&2 || true
    fail "-d $arg: output differs"
  fi
  expect d 0 "$(cat "$TMPDIR_TEST/dry.expected")"
done
pass "-d: multipath's create: block for the orphan paths (also for -d WWID, -d alias)"

out=$("$BRAID" --run-dir "$dir/run" add map "$wwid")
assert_eq "$out" "ok" "add map"
run ll-back -ll
expect ll-back 0 "$topo"
run d-none -d
expect d-none 0 ""
pass "-f removed mpatha, add map brought it back, -d has nothing left to create"

# ---- -F
run F -F
expect F 0 ""
assert_eq "$("$BRAID" --run-dir "$dir/run" show maps)" "ok" "maps after -F"
"$BRAID" --run-dir "$dir/run" add map "$wwid" >/dev/null
run ll-back2 -ll
expect ll-back2 0 "$topo"
pass "-F removed every map"

# ---- -r
run r -r
expect r 0 ""
pass "-r: reconfigure all, silent"

# ---- map in use: an I/O waits on mpatha (both portals cut, queueing)
cut_path drop "$a1" "$port"
cut_path drop "$a2" "$port"
rep=$TMPDIR_TEST/busy.json
"$BRAID_PYTHON" "$VERIFY" --socket "$(braidd_sock mp)" --export mpatha \
  --blocks 1 --max-ios 1 --seconds 120 --io-timeout 90 --seed "$RANDOM" \
  --report "$rep" </dev/null >"$TMPDIR_TEST/busy.out" 2>&1 &
w_pid=$!
w_start=$(_braid_proc_start "$w_pid") || w_start=
cleanup_fn stop_process "$w_pid" "$w_start" 5
show_log_on_failure "$TMPDIR_TEST/busy.out"
in_flight ()
{
  "$BRAID" --run-dir "$dir/run" show paths stats \
    | awk 'NR > 1 { n += $7 } END { exit !(n > 0) }'
}
wait_for "an I/O in flight on mpatha" 20 in_flight || fail "the write never went out"
run f-busy -f mpatha
expect f-busy 1 "" "mpatha: map in use"
run F-busy -F
expect F-busy 1 "" "mpatha: map in use"
run ll-busy -l -v1
expect ll-busy 0 mpatha
restore_path drop "$a1" "$port"
restore_path drop "$a2" "$port"
wait_gone "$w_pid" "$w_start" 90 || fail "the write did not finish after the paths came back"
wait "$w_pid" || true
grep -q '"errors": 0, "mismatches": 0' "$rep" || fail "write across the busy -f: $(cat "$rep" 2>/dev/null)"
pass "-f/-F on a map with I/O waiting: 'mpatha: map in use', the map and the I/O survive"

# ---- a LUN logged in without enrolling: find_multipaths strict keeps it
# out of -d until it is in the wwids file; its would-be name is mpathb
iqn2=$iqn-2
tgt_target 2 "$iqn2"
tgt_lun 2 1 lun2.img 32M
tgt_bind_all 2
wwid2=$("$BRAID" inquiry "$a1:$port" "$iqn2" 1 | sed -n 's/^wwid: *//p')
[[ -n $wwid2 && $wwid2 != "$wwid" ]] || fail "no second WWID ($wwid2)"
"$BRAID" --run-dir "$dir/run" login --portal "$a1:$port" --portal "$a2:$port" \
  --target "$iqn2" --no-enroll >/dev/null || fail "login to $iqn2"
two_orphans ()
{
  [[ $("$BRAID" --run-dir "$dir/run" show paths raw format "%w %m" \
         | grep -cx "$wwid2 \[orphan\]") == 2 ]]
}
wait_for "two orphan paths of $wwid2" 20 two_orphans || fail "$iqn2's paths did not show up"
run d2 -d
expect d2 0 ""
run d2w -d "$wwid2"
assert_eq "$RC" 0 "-d WWID2"
assert_eq "$(head -2 "$TMPDIR_TEST/d2w.out")" "create: mpathb ($wwid2) undef $vpr
size=32M features='1 queue_if_no_path' hwhandler='0' wp=undef" "-d WWID2: first lines"
assert_eq "$(grep -c -- '-+- policy=' "$TMPDIR_TEST/d2w.out")" 2 "-d WWID2: path groups"
run d2i -d -i
assert_eq "$(cat "$TMPDIR_TEST/d2i.out")" "$(cat "$TMPDIR_TEST/d2w.out")" "-d -i (strict as smart: two paths qualify)"
run a2 -a "$wwid2"
expect a2 0 "wwid '$wwid2' added"
run d2a -d
assert_eq "$(cat "$TMPDIR_TEST/d2a.out")" "$(cat "$TMPDIR_TEST/d2w.out")" "-d once $wwid2 is in the wwids file"
assert_eq "$("$BRAID" --run-dir "$dir/run" add map "$wwid2")" ok "add map $wwid2"
run ll2 -ll -v1
expect ll2 0 "mpatha
mpathb"
run W3 -W
expect W3 0 "successfully reset wwids"
wwids_is "/$wwid/" "/$wwid2/"
pass "find_multipaths strict: -d shows a WWID only once it is listed (or with -i, or asked for); its name is the next free one"

# ---- braid conf
conf=$TMPDIR_TEST/conf/multipath.conf
mkdir -p "$(dirname "$conf")"
out=$("$BRAID" --config "$conf" conf enable)
assert_eq "$out" "wrote $conf" "conf enable"
head -1 "$conf" | grep -q '^# Written by "braid conf enable"' || fail "no marker line"
err=$("$BRAID" --config "$conf" --config-dir "$TMPDIR_TEST/conf/none" -t 2>&1 >"$TMPDIR_TEST/conf.t") \
  || fail "braid -t refuses the written file: $err"
assert_eq "$err" "" "braid -t warnings on the written file"
grep -q $'^\tuser_friendly_names "yes"$' "$TMPDIR_TEST/conf.t" || fail "user_friendly_names not yes in -t"
grep -q $'^\tfind_multipaths "on"$' "$TMPDIR_TEST/conf.t" || fail "find_multipaths not yes (on) in -t"
status=$("$BRAID" --config "$conf" --run-dir "$dir/run" conf)
assert_eq "$status" "multipath is enabled
find_multipaths is on
user_friendly_names is enabled
$conf was written by braid conf
braidd is running" "conf status"
orc=0
sh "$BRAID_SOURCE_DIR/tests/compat/oracle-run.sh" "$TMPDIR_TEST/conf" "$TMPDIR_TEST/oracle" || orc=$?
if (( orc == 0 )); then
  assert_eq "$(cat "$TMPDIR_TEST/oracle/rc")" 0 "multipath -t exit status on the written file"
  assert_eq "$(cat "$TMPDIR_TEST/oracle/err")" "" "multipath -t warnings on the written file"
  grep -q $'^\tuser_friendly_names "yes"$' "$TMPDIR_TEST/oracle/out" || fail "multipath -t: user_friendly_names"
  pass "conf enable: the real multipath -t accepts the file without a warning"
else
  log "the real multipath cannot run here (oracle-run.sh: $orc): checked with braid -t only"
fi
# disable, enable: the blacklist-everything line comes and goes
"$BRAID" --config "$conf" conf disable >/dev/null
"$BRAID" --config "$conf" --config-dir "$TMPDIR_TEST/conf/none" -t \
  | sed -n '/^blacklist {/,/^}/p' | grep -qxF $'\tdevnode ".*"' || fail "conf disable: no devnode \".*\""
"$BRAID" --config "$conf" conf enable --find-multipaths strict >/dev/null
"$BRAID" --config "$conf" --config-dir "$TMPDIR_TEST/conf/none" -t > "$TMPDIR_TEST/conf2.t"
grep -q $'^\tfind_multipaths "strict"$' "$TMPDIR_TEST/conf2.t" || fail "conf enable --find-multipaths strict"
if sed -n '/^blacklist {/,/^}/p' "$TMPDIR_TEST/conf2.t" | grep -qxF $'\tdevnode ".*"'; then
  fail "conf enable left the blacklist-everything line"
fi
pass "conf disable/enable edit the file they wrote"
# someone else's file
printf 'defaults {\n\tpolling_interval 7\n}\n' > "$conf"
cp "$conf" "$TMPDIR_TEST/foreign"
rc=0; err=$("$BRAID" --config "$conf" conf enable 2>&1) || rc=$?
assert_eq "$rc" 1 "conf enable on a foreign file"
[[ $err == *"was not written by braid conf"* ]] || fail "conf enable on a foreign file said: $err"
cmp -s "$conf" "$TMPDIR_TEST/foreign" || fail "conf enable changed a foreign file"
out=$("$BRAID" --config "$conf" conf enable --force)
assert_eq "$out" "updated $conf" "conf enable --force"
head -1 "$conf" | grep -q '^# Written by "braid conf enable"' || fail "--force: no marker line"
pass "conf enable leaves a foreign file alone, --force replaces it"

pass "$BRAID_TEST_NAME"
