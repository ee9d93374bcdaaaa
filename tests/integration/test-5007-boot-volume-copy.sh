#!/usr/bin/env bash
# ESI's boot volume and its copy (seed 000; docs/workflows/installer.md,
# section 5).  Node A boots from a volume seen over two portals: `braid
# sysroot DIR --only mpatha` gives its installed system a multipath.conf,
# wwids and bindings holding the root volume alone.  The volume is then
# copied (same bytes, new LUN, so a new WWID) and node B boots from the
# copy with node A's files: `braid check` reports the now stale wwids and
# bindings entries (file and line), and the conf blacklists the copy.  A
# fresh conf (`braid conf enable --force`), `reconfigure` (which looks
# again at the paths the old conf kept out), `braid -W` and `braid sysroot`
# make node B's files hold exactly the copy; `braid check` is then clean
# and a restarted braidd forms the same map from those files alone.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo nbdcopy cmp
BRAID=$(braid_bin braid)
iqn=iqn.2026-11.dev.braid:esi-root
iqn_copy=iqn.2026-11.dev.braid:esi-copy

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 root.img 32M
tgt_bind_all 1
# Some bytes on the root volume, so the copy is recognisably a copy.
head -c 1M /dev/urandom > "$TMPDIR_TEST/payload"
dd if="$TMPDIR_TEST/payload" of="$TMPDIR_TEST/root.img" conv=notrunc status=none

conf='defaults {
	user_friendly_names yes
	find_multipaths strict
}'

# ---------------------------------------------------------------- node A
BRAIDD_CONF=$conf BRAIDD_EXPORTS=0 start_braidd a
A=("$BRAID" --run-dir "$BRAIDD_DIR/run" --config "$BRAIDD_DIR/multipath.conf"
   --config-dir "$BRAIDD_DIR/conf.d" --wwids "$BRAIDD_DIR/wwids" --bindings "$BRAIDD_DIR/bindings")
"${A[@]}" login --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$iqn"
wait_for "mpatha with two paths" 20 bash -c \
  "[[ \$(\"\$@\" show maps raw format '%n %N') == 'mpatha 2' ]]" _ "${A[@]}" \
  || fail "node A: no mpatha with two paths: $("${A[@]}" show maps raw format '%n %N')"
w_root=$("${A[@]}" show maps raw format "%w")
sysA=$TMPDIR_TEST/sysroot-a
mkdir "$sysA"
"${A[@]}" sysroot "$sysA" --only mpatha
mp_wwids_text "/$w_root/" > "$TMPDIR_TEST/want"
assert_file_is "$sysA/etc/multipath/wwids" "$TMPDIR_TEST/want" "node A's installed wwids"
mp_bindings_text "mpatha $w_root" > "$TMPDIR_TEST/want"
assert_file_is "$sysA/etc/multipath/bindings" "$TMPDIR_TEST/want" "node A's installed bindings"
pass "node A: the installed system holds the root volume alone ($w_root)"
stop_braidd a

# ---------------------------------------------------------------- the copy
cp "$TMPDIR_TEST/root.img" "$TMPDIR_TEST/copy.img"
tgt_target 2 "$iqn_copy"
tgt_lun 2 1 copy.img
tgt_bind_all 2

# ---------------------------------------------------------------- node B
# Node B boots the copy with node A's installed files.
sysB=$TMPDIR_TEST/sysroot-b
cp -a "$sysA" "$sysB"
startB () {
  BRAIDD_EXPORTS=0 start_braidd "$1" --config "$sysB/etc/multipath.conf" \
    --wwids "$sysB/etc/multipath/wwids" --bindings "$sysB/etc/multipath/bindings"
  B=("$BRAID" --run-dir "$BRAIDD_DIR/run" --config "$sysB/etc/multipath.conf"
     --config-dir "$BRAIDD_DIR/conf.d" --wwids "$sysB/etc/multipath/wwids"
     --bindings "$sysB/etc/multipath/bindings")
}
startB b
# The node boots: its sessions come up without anyone enrolling the WWID
# (braid login would enrol it, like multipath -a; the boot does not).
"${B[@]}" login --no-enroll --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$iqn_copy"
wait_for "node B: the copy's two paths" 20 bash -c \
  "[[ \$(\"\$@\" show paths raw format '%d' | grep -c .) == 2 ]]" _ "${B[@]}" \
  || fail "node B does not see the copy's two paths"
w_copy=$("${B[@]}" show paths raw format "%w" | head -n 1)
[[ -n $w_copy && $w_copy != "$w_root" ]] || fail "the copy should have a new WWID: '$w_copy' vs '$w_root'"
log "the copy's WWID: $w_copy"

rc=0
"${B[@]}" check > "$TMPDIR_TEST/check" 2>&1 || rc=$?
cat "$TMPDIR_TEST/check" >&2
assert_eq "$rc" 1 "braid check exits 1 on node B"
grep -qx "stale-wwid: $sysB/etc/multipath/wwids:6: $w_root: no live path has this WWID" "$TMPDIR_TEST/check" \
  || fail "braid check does not name the stale wwids entry (file:line)"
grep -qx "stale-binding: $sysB/etc/multipath/bindings:8: mpatha $w_root: no live path has this WWID" "$TMPDIR_TEST/check" \
  || fail "braid check does not name the stale binding (file:line)"
pass "braid check reports the root volume's stale wwid and binding after the copy"

# Node A's conf blacklists every WWID but the old root's: no map yet.
maps=$("${B[@]}" show maps raw format '%n %w')
[[ $maps == ok ]] || fail "node B formed a map for the copy despite the blacklist: $maps"

# The redo ESI asks for, braid's way: a fresh multipath.conf (mpathconf
# --enable), braidd reconfigured so the copy forms its map, wwids reset to
# the live maps (multipath -W), and the files rewritten for that map alone.
"${B[@]}" conf enable --force > /dev/null
"${B[@]}" reconfigure > /dev/null
wait_for "node B: a map for the copy" 20 bash -c \
  "\"\$@\" show maps raw format '%w %N' | grep -qx '$w_copy 2'" _ "${B[@]}" \
  || fail "no map for the copy after reconfigure: $("${B[@]}" show maps raw format '%n %w %N')"
name=$("${B[@]}" show maps raw format "%n")
"${B[@]}" -W > /dev/null
mp_wwids_text "/$w_copy/" > "$TMPDIR_TEST/want"
assert_file_is "$sysB/etc/multipath/wwids" "$TMPDIR_TEST/want" "wwids after braid -W"
"${B[@]}" sysroot "$sysB" --only "$name"
mp_bindings_text "$name $w_copy" > "$TMPDIR_TEST/want"
assert_file_is "$sysB/etc/multipath/bindings" "$TMPDIR_TEST/want" "bindings after braid sysroot"
grep -q "\\^$w_copy\\\$" "$sysB/etc/multipath.conf" || fail "the rewritten multipath.conf does not except the copy"
if grep -q "$w_root" "$sysB/etc/multipath.conf"; then
  fail "the rewritten multipath.conf still names the old root volume"
fi
"${B[@]}" check > "$TMPDIR_TEST/check" 2>&1 || { cat "$TMPDIR_TEST/check" >&2; fail "braid check still reports problems"; }
pass "conf enable, reconfigure, braid -W and braid sysroot fix node B's files ($name = $w_copy); braid check is clean"

# A reboot of node B: braidd from those files alone forms the same map.
"${B[@]}" logout --target "$iqn_copy" > /dev/null || true
stop_braidd b
rm -f "$TMPDIR_TEST/b/state/nodes.json"
startB b2
"${B[@]}" login --no-enroll --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$iqn_copy"
wait_for "node B after reboot: $name with two paths" 20 bash -c \
  "[[ \$(\"\$@\" show maps raw format '%n %w %N') == '$name $w_copy 2' ]]" _ "${B[@]}" \
  || fail "after the reboot: $("${B[@]}" show maps raw format '%n %w %N')"
nbdcopy "$(braidd_uri b2 "$name")" "$TMPDIR_TEST/read.img"
cmp -n 1048576 "$TMPDIR_TEST/read.img" "$TMPDIR_TEST/payload" \
  || fail "the copy's map does not hold the root volume's bytes"
pass "after a reboot node B forms $name from its files alone and it holds the copied bytes"
