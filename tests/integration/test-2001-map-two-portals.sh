#!/usr/bin/env bash
# braidd coalesces paths by WWID: one tgtd LUN seen through 127.0.0.1 and
# 127.0.0.2 becomes one map, exported once over NBD with the LUN's size,
# named after the WWID; with user_friendly_names the export is "mpatha" and
# the bindings file holds "mpatha <wwid>" under multipath-tools' exact
# 7-line header; the wwids file holds "/<wwid>/" under its 5-line header.
# The same LUN through 127.0.0.1 and [::1] is one map too.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo cmp
BRAID=$(braid_bin braid)
iqn=iqn.2026-11.dev.braid:map

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 96M
tgt_bind_all 1
size=$(( 96 << 20 ))

# The WWID as braid's inquiry (= udev's scsi_id) derives it, independently
# of the daemon.
wwid=$("$BRAID" inquiry "127.0.0.1:$port" "$iqn" 1 | sed -n 's/^wwid: *//p')
[[ -n $wwid ]] || fail "no WWID from braid inquiry"
log "WWID $wwid"

# expect_one_map NAME NAME_EXPECTED PORTAL...: one export, the LUN's size,
# every portal's path added to that map.
expect_one_map ()
{
  local name=$1 want=$2 list p
  shift 2
  list=$(braidd_list "$name")
  assert_eq "$(wc -l <<<"$list")" 1 "$name: number of NBD exports"
  assert_eq "$list" "$want $size" "$name: export name and size"
  assert_eq "$(timeout 10 nbdinfo --size "$(braidd_uri "$name" "$want")")" "$size" \
    "$name: nbdinfo --size"
  for p in "$@"; do
    assert_eq "$(braidd_count "$name" "$want: added path $(braidd_path "$p" "$iqn" 1) ")" 1 \
      "$name: path through $p in map $want"
  done
  assert_eq "$(braidd_count "$name" ": added path ")" "$#" "$name: paths added"
  pass "$name: one map '$want' of $size bytes over $*"
}

# 1. Defaults: the map is named after its WWID.
BRAIDD_PATHS=2 start_braidd plain \
  --login "127.0.0.1:$port,$iqn" --login "127.0.0.2:$port,$iqn"
expect_one_map plain "$wwid" "127.0.0.1:$port" "127.0.0.2:$port"

# The wwids file: multipath-tools' header, then the WWID line.
mp_wwids_text "/$wwid/" > "$TMPDIR_TEST/wwids.expected"
assert_file_is "$(braidd_wwids plain)" "$TMPDIR_TEST/wwids.expected" \
  "wwids file (multipath-tools' format)"
pass "wwids file holds /$wwid/"
stop_braidd plain

# 2. user_friendly_names: mpatha, recorded in the bindings file.
BRAIDD_CONF='defaults {
	user_friendly_names yes
}' BRAIDD_PATHS=2 start_braidd ufn \
  --login "127.0.0.1:$port,$iqn" --login "127.0.0.2:$port,$iqn"
expect_one_map ufn mpatha "127.0.0.1:$port" "127.0.0.2:$port"
mp_bindings_text "mpatha $wwid" > "$TMPDIR_TEST/bindings.expected"
assert_file_is "$(braidd_bindings ufn)" "$TMPDIR_TEST/bindings.expected" \
  "bindings file (multipath-tools' format)"
pass "bindings file holds 'mpatha $wwid'"
assert_file_is "$(braidd_wwids ufn)" "$TMPDIR_TEST/wwids.expected" \
  "wwids file (user_friendly_names)"
stop_braidd ufn

# 3. IPv4 and IPv6 portals of the same target: still one map.
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  BRAIDD_PATHS=2 start_braidd v6 \
    --login "127.0.0.1:$port,$iqn" --login "[::1]:$port,$iqn"
  expect_one_map v6 "$wwid" "127.0.0.1:$port" "[::1]:$port"
  stop_braidd v6
else
  log "no IPv6 loopback: the 127.0.0.1 + [::1] case is not run"
fi

pass "$BRAID_TEST_NAME"
