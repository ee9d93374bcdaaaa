#!/usr/bin/env bash
# Refer by id, dual stack: one tgtd target reached over 127.0.0.1 and ::1 is
# one map with two paths (test-2001 checks the coalescing and the export;
# here the map is then driven), and every command that takes a map accepts
# it as the alias, the WWID, disk/by-id/scsi-<wwid>,
# /dev/disk/by-id/scsi-<wwid> and /dev/mapper/<alias>: braidd's verbs
# (show map X topology|json|format, suspend/resume, resize,
# disablequeueing/restorequeueing, switch map X group N, del map, add map)
# and the CLI's multipath flags (-ll X, -l X, -f X).  An unknown reference
# is an error that names it, in every command.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo "$BRAID_PYTHON"
requires_ipv6
BRAID=$(braid_bin braid)
iqn=iqn.2026-11.dev.braid:byid

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1

v4=$(braidd_path "127.0.0.1:$port" "$iqn" 1)
v6=$(braidd_path "[::1]:$port" "$iqn" 1)
BRAIDD_CONF='defaults {
	user_friendly_names yes
	no_path_retry 5
}' BRAIDD_PATHS=2 start_braidd ds \
  --login "127.0.0.1:$port,$iqn" --login "[::1]:$port,$iqn"
B=("$BRAID" --run-dir "$BRAIDD_DIR/run" --config "$BRAIDD_DIR/multipath.conf"
   --config-dir "$BRAIDD_DIR/conf.d" --wwids "$BRAIDD_DIR/wwids"
   --bindings "$BRAIDD_DIR/bindings")

# One map, both paths in it, one export.
assert_eq "$("${B[@]}" show maps raw format "%n" )" mpatha "one map"
w=$("${B[@]}" show maps raw format "%w")
[[ -n $w ]] || fail "no WWID"
assert_eq "$("${B[@]}" show paths raw format "%d %m" | sort | tr '\n' ' ')" \
  "$v4 mpatha $v6 mpatha " "both paths are members of mpatha"
assert_eq "$(braidd_list ds | awk '{print $1}')" mpatha "one NBD export"
pass "127.0.0.1 and ::1: one map mpatha ($w) with two paths"

forms=(mpatha "$w" "disk/by-id/scsi-$w" "/dev/disk/by-id/scsi-$w" /dev/mapper/mpatha)

# map_field FORMAT: the map's field(s) now.
map_field () { "${B[@]}" show maps raw format "$1"; }

# wait_map: until braidd has mpatha with its two paths again (after del/-f).
_map_back ()
{
  [[ $(map_field "%n %N" 2>/dev/null) == "mpatha 2" ]]
}

for ref in "${forms[@]}"; do
  # show map X topology / json / format
  out=$("${B[@]}" show map "$ref" topology)
  grep -q "^mpatha ($w) " <<<"$out" || fail "show map $ref topology: $out"
  assert_eq "$(grep -cF -e "$v4" -e "$v6" <<<"$out")" 2 "show map $ref topology: both paths"
  "${B[@]}" show map "$ref" json | "$BRAID_PYTHON" -c '
import json, sys
m = json.load(sys.stdin)["map"]
assert m["name"] == "mpatha" and m["uuid"] == sys.argv[1], m
assert m["paths"] == 2, m' "$w" || fail "show map $ref json"
  # (padded to the header's widths, as multipathd pads it)
  assert_eq "$("${B[@]}" show map "$ref" format "%n %w %N" | sed 's/ *$//')" "mpatha $w 2" \
    "show map $ref format"

  # suspend / resume
  assert_eq "$("${B[@]}" suspend map "$ref")" ok "suspend map $ref"
  assert_eq "$(map_field "%t")" suspend "after suspend map $ref"
  assert_eq "$("${B[@]}" resume map "$ref")" ok "resume map $ref"
  assert_eq "$(map_field "%t")" active "after resume map $ref"

  # resize
  assert_eq "$("${B[@]}" resize map "$ref")" ok "resize map $ref"

  # disablequeueing / restorequeueing (no_path_retry 5: "5 chk" until disabled)
  assert_eq "$("${B[@]}" disablequeueing map "$ref")" ok "disablequeueing map $ref"
  assert_eq "$(map_field "%Q")" off "queueing after disablequeueing map $ref"
  assert_eq "$("${B[@]}" restorequeueing map "$ref")" ok "restorequeueing map $ref"
  assert_eq "$(map_field "%Q")" "5 chk" "queueing after restorequeueing map $ref"

  # switch map X group N (failover policy: one group per path)
  assert_eq "$("${B[@]}" switch map "$ref" group 2)" ok "switch map $ref group 2"
  assert_eq "$("${B[@]}" switch map "$ref" group 1)" ok "switch map $ref group 1"

  # the CLI's multipath flags
  out=$("${B[@]}" -ll "$ref")
  grep -q "^mpatha ($w) " <<<"$out" || fail "braid -ll $ref: $out"
  out=$("${B[@]}" -l "$ref")
  grep -q "^mpatha ($w) " <<<"$out" || fail "braid -l $ref: $out"
  assert_eq "$("${B[@]}" -ll "$ref" -v 1)" mpatha "braid -ll $ref -v 1"

  # del map X, add map X; then braid -f X, add map X.
  "${B[@]}" del map "$ref" > "$TMPDIR_TEST/del.out" || fail "del map $ref: $(cat "$TMPDIR_TEST/del.out")"
  # (an empty list is multipathd's "ok")
  assert_eq "$(map_field "%n")" ok "no map after del map $ref"
  assert_eq "$("${B[@]}" add map "$ref")" ok "add map $ref"
  wait_for "mpatha back after add map $ref" 20 _map_back
  "${B[@]}" -f "$ref" || fail "braid -f $ref"
  assert_eq "$(map_field "%n")" ok "no map after braid -f $ref"
  assert_eq "$("${B[@]}" add map "$ref")" ok "add map $ref (after -f)"
  wait_for "mpatha back after -f/add map $ref" 20 _map_back
  pass "every command takes the map as $ref"
done

# The map came back whole: one export again, same name.
wait_for "one NBD export" 20 bash -c "[[ \$(nbdinfo --list --json 'nbd+unix://?socket=$BRAIDD_SOCK' | grep -c export-name) == 1 ]]"

# Unknown references: an error naming them, nothing touched.
bad=(nosuch "/dev/disk/by-id/scsi-mpatha" /dev/mapper/"$w"x "/dev/sdz")
for ref in "${bad[@]}"; do
  for cmd in "show map %s topology" "show map %s json" "show map %s format %%n" \
             "suspend map %s" "resume map %s" "resize map %s" \
             "disablequeueing map %s" "restorequeueing map %s" \
             "switch map %s group 1" "del map %s"; do
    # shellcheck disable=SC2059
    read -ra words <<<"$(printf "$cmd" X)"
    for i in "${!words[@]}"; do [[ ${words[$i]} == X ]] && words[i]=$ref; done
    set +e
    out=$("${B[@]}" "${words[@]}" 2>&1)
    rc=$?
    set -e
    assert_eq "$rc" 1 "${words[*]}: exit status"
    grep -qF "map $ref not found" <<<"$out" || fail "${words[*]}: '$out' does not name $ref"
  done
  set +e
  out=$("${B[@]}" -f "$ref" 2>&1)
  rc=$?
  set -e
  assert_eq "$rc" 1 "braid -f $ref: exit status"
  grep -qF "$ref" <<<"$out" || fail "braid -f $ref: '$out' does not name it"
done
assert_eq "$(map_field "%n %t %N")" "mpatha active 2" "mpatha untouched by the bad references"
pass "unknown references are named, in every command"

stop_braidd ds
pass "$BRAID_TEST_NAME"
