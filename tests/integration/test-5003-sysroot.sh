#!/usr/bin/env bash
# The installer's multipath steps (Anaconda, ESI boot from volume): two
# LUNs seen through two portals are two maps of two members each.
#   - members are marked where installers look: "show paths format %m",
#     "show paths json" (DM_MULTIPATH_DEVICE_PATH=1, ID_FS_TYPE=mpath_member)
#     and braid -d -v3; the NBD export list holds the maps, never a path;
#   - braid sysroot DIR --only MAP writes DIR/etc/multipath.conf, wwids and
#     bindings holding that map alone (byte-exact multipath-tools formats),
#     the real `multipath -t` accepts the conf and shows the blacklist, the
#     exception and the multipaths entry; without --only every map is
#     written; an unknown map is an error naming it, and nothing is written.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo cmp "$BRAID_PYTHON"
BRAID=$(braid_bin braid)
compat=$BRAID_SOURCE_DIR/tests/compat
iqn=iqn.2026-11.dev.braid:sysroot

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_lun 1 2 lun2.img 80M
tgt_bind_all 1

BRAIDD_CONF='defaults {
	user_friendly_names yes
	no_path_retry 12
}' BRAIDD_EXPORTS=2 BRAIDD_PATHS=4 start_braidd sr \
  --login "127.0.0.1:$port,$iqn" --login "127.0.0.2:$port,$iqn"
B=("$BRAID" --run-dir "$BRAIDD_DIR/run" --config "$BRAIDD_DIR/multipath.conf"
   --config-dir "$BRAIDD_DIR/conf.d" --wwids "$BRAIDD_DIR/wwids"
   --bindings "$BRAIDD_DIR/bindings")

# The maps and their WWIDs, as braidd names them.
declare -A wwid_of
while read -r name w; do
  wwid_of[$name]=$w
done < <("${B[@]}" show maps raw format "%n %w")
assert_eq "$(printf '%s\n' "${!wwid_of[@]}" | sort | tr '\n' ' ')" "mpatha mpathb " \
  "the two maps"
wa=${wwid_of[mpatha]} wb=${wwid_of[mpathb]}
[[ -n $wa && -n $wb && $wa != "$wb" ]] || fail "two distinct WWIDs: '$wa' '$wb'"
log "mpatha $wa, mpathb $wb"

# ---------------------------------------------------------------- members

# NBD offers the maps and nothing else (no path is ever an export).
assert_eq "$(braidd_list sr | awk '{print $1}' | sort | tr '\n' ' ')" "mpatha mpathb " \
  "nbdinfo --list: the maps only"
pass "nbdinfo --list shows the two maps, no path"

# show paths format %m: each path names its map.
"${B[@]}" show paths format "%d %m %w" > "$TMPDIR_TEST/paths"
for p in "127.0.0.1:$port" "127.0.0.2:$port"; do
  for l in 1 2; do
    m=mpatha; [[ $(awk -v d="$(braidd_path "$p" "$iqn" $l)" '$1 == d {print $3}' "$TMPDIR_TEST/paths") == "$wb" ]] && m=mpathb
    assert_eq "$(awk -v d="$(braidd_path "$p" "$iqn" $l)" '$1 == d {print $2}' "$TMPDIR_TEST/paths")" "$m" \
      "show paths %m of $p lun $l"
  done
done
assert_eq "$(awk 'NR > 1 && $2 == "mpatha"' "$TMPDIR_TEST/paths" | wc -l)" 2 "members of mpatha"
assert_eq "$(awk 'NR > 1 && $2 == "mpathb"' "$TMPDIR_TEST/paths" | wc -l)" 2 "members of mpathb"
pass "show paths format %m names each path's map"

# The default "show paths" output keeps multipathd's columns.
assert_eq "$("${B[@]}" show paths | head -n 1 | tr -s ' ' | sed 's/ $//')" "hcil dev dev_t pri dm_st chk_st dev_st next_check" \
  "show paths header unchanged"

# show paths json: udev's member properties, as multipath-tools' rules set them.
"${B[@]}" show paths json > "$TMPDIR_TEST/paths.json"
"$BRAID_PYTHON" - "$TMPDIR_TEST/paths.json" "$wa" "$wb" <<'EOF' || fail "show paths json member properties"
import json, sys
d = json.load(open(sys.argv[1]))
want = {sys.argv[2]: "mpatha", sys.argv[3]: "mpathb"}
assert len(d["paths"]) == 4, d["paths"]
for p in d["paths"]:
    pr = p["properties"]
    assert pr["DM_MULTIPATH_DEVICE_PATH"] == "1", (p["dev"], pr)
    assert pr["ID_FS_TYPE"] == "mpath_member", (p["dev"], pr)
    assert pr["SYSTEMD_READY"] == "0", (p["dev"], pr)
    assert pr["ID_SERIAL"] == p["uuid"], (p["dev"], pr)
    assert p["multipath"] == want[p["uuid"]], p
EOF
pass "show paths json: DM_MULTIPATH_DEVICE_PATH=1 ID_FS_TYPE=mpath_member on all 4 members"

# braid -d: nothing to create (multipath -d prints nothing for existing
# maps); -v3 lists the paths and which map each is a member of.
"${B[@]}" -d > "$TMPDIR_TEST/d.out" 2> "$TMPDIR_TEST/d.err"
assert_eq "$(cat "$TMPDIR_TEST/d.out")" "" "braid -d: no map to create"
"${B[@]}" -d -v3 > "$TMPDIR_TEST/d3.out" 2> "$TMPDIR_TEST/d3.err"
assert_eq "$(head -n 1 "$TMPDIR_TEST/d3.out")" "===== paths list =====" "-d -v3 banner"
assert_eq "$(sed -n 2p "$TMPDIR_TEST/d3.out" | tr -s ' ')" \
  "uuid hcil dev dev_t pri dm_st chk_st vend/prod/rev dev_st " "-d -v3 paths list header"
assert_eq "$(grep -c "$wa" "$TMPDIR_TEST/d3.out")" 2 "-d -v3: mpatha's paths listed"
assert_eq "$(grep -c ": multipath member of mpatha ($wa)" "$TMPDIR_TEST/d3.err")" 2 "-d -v3: members of mpatha"
assert_eq "$(grep -c ": multipath member of mpathb ($wb)" "$TMPDIR_TEST/d3.err")" 2 "-d -v3: members of mpathb"
grep -qx "mpatha: set ACT_NOTHING (map unchanged)" "$TMPDIR_TEST/d3.err" || fail "-d -v3: mpatha unchanged line"
pass "braid -d -v3 marks every member with its map"

# ---------------------------------------------------------------- sysroot

# oracle DIR OUT: the real multipath -t on DIR/etc/multipath.conf.
oracle ()
{
  mkdir -p "$TMPDIR_TEST/oc-$2"
  cp "$1/etc/multipath.conf" "$TMPDIR_TEST/oc-$2/multipath.conf"
  "$compat/oracle-run.sh" "$TMPDIR_TEST/oc-$2" "$TMPDIR_TEST/$2"
}

oracle_ok=1
if ! command -v multipath >/dev/null 2>&1 && [[ ! -x /usr/sbin/multipath && ! -x /sbin/multipath ]]; then
  oracle_ok=0
fi

# 1. --only mpathb, by alias.
root=$TMPDIR_TEST/root1
mkdir "$root"
"${B[@]}" sysroot "$root" --only mpathb > "$TMPDIR_TEST/sr1.out"
assert_eq "$(stat -c %a "$root/etc/multipath")" 755 "DIR/etc/multipath mode"
mp_wwids_text "/$wb/" > "$TMPDIR_TEST/w1"
mp_bindings_text "mpathb $wb" > "$TMPDIR_TEST/b1"
assert_file_is "$root/etc/multipath/wwids" "$TMPDIR_TEST/w1" "--only mpathb: wwids"
assert_file_is "$root/etc/multipath/bindings" "$TMPDIR_TEST/b1" "--only mpathb: bindings"
conf=$root/etc/multipath.conf
grep -qx "	user_friendly_names yes" "$conf" || fail "conf: user_friendly_names"
grep -qx "	no_path_retry 12" "$conf" || fail "conf: the admin's no_path_retry"
grep -qx '	wwid ".\*"' "$conf" || fail "conf: blacklist every wwid"
grep -qxF "	wwid \"^$wb\$\"" "$conf" || fail "conf: exception for mpathb"
grep -qF "$wa" "$conf" && fail "conf names mpatha's WWID"
"$BRAID" --config "$conf" --config-dir "$TMPDIR_TEST/none" -t > /dev/null \
  || fail "braid -t refuses the written conf"
pass "sysroot --only mpathb: wwids and bindings hold mpathb alone"

if [[ $oracle_ok == 1 ]] && oracle "$root" o1; then
  if [[ ! -e $TMPDIR_TEST/o1/rc ]]; then
    log "multipath -t cannot run here (no mount namespace): oracle part skipped"
  else
    assert_eq "$(cat "$TMPDIR_TEST/o1/rc")" 0 "multipath -t exit status"
    # multipath-tools names the file in every complaint about it
    if grep -qi 'multipath.conf\|invalid\|unknown\|error' "$TMPDIR_TEST/o1/err"; then
      cat "$TMPDIR_TEST/o1/err" >&2
      fail "multipath -t complains about the written conf"
    fi
    "$BRAID_PYTHON" - "$TMPDIR_TEST/o1/out" "$wb" <<'EOF' || fail "multipath -t does not show what was written"
import re, sys
t = open(sys.argv[1]).read()
w = sys.argv[2]
def section(name):
    m = re.search(r'^' + name + r' \{\n(.*?)^\}', t, re.S | re.M)
    assert m, name + " missing"
    return m.group(1)
bl = section("blacklist")
assert '\twwid ".*"\n' in bl, bl
ex = section("blacklist_exceptions")
assert ex.count("\twwid ") == 1 and '\twwid "^%s$"\n' % w in ex, ex
mp = section("multipaths")
assert mp.count("multipath {") == 1, mp
assert '\t\twwid "%s"\n' % w in mp and '\t\talias "mpathb"\n' in mp, mp
d = section("defaults")
assert '\tuser_friendly_names "yes"\n' in d and '\tno_path_retry 12\n' in d, d
EOF
    pass "the real multipath -t accepts it: blacklist, exception and multipaths entry for mpathb"
  fi
else
  log "no multipath-tools oracle on this machine: the multipath -t part is not run"
fi

# 2. --only by the by-id form (with and without /dev/) and /dev/mapper:
#    the same single map.
for ref in "/dev/disk/by-id/scsi-$wa" "disk/by-id/scsi-$wa" /dev/mapper/mpatha "$wa"; do
  root=$TMPDIR_TEST/root-$(echo "$ref" | tr '/' '_')
  mkdir "$root"
  "${B[@]}" sysroot "$root" --only "$ref" > /dev/null
  mp_wwids_text "/$wa/" > "$TMPDIR_TEST/w2"
  mp_bindings_text "mpatha $wa" > "$TMPDIR_TEST/b2"
  assert_file_is "$root/etc/multipath/wwids" "$TMPDIR_TEST/w2" "--only $ref: wwids"
  assert_file_is "$root/etc/multipath/bindings" "$TMPDIR_TEST/b2" "--only $ref: bindings"
done
pass "sysroot --only takes the alias, WWID, by-id and /dev/mapper forms"

# 3. No --only: every map, no blacklist.
root=$TMPDIR_TEST/root3
mkdir "$root"
"${B[@]}" sysroot "$root" > /dev/null
mp_wwids_text "/$wa/" "/$wb/" > "$TMPDIR_TEST/w3"
mp_bindings_text "mpatha $wa" "mpathb $wb" > "$TMPDIR_TEST/b3"
assert_file_is "$root/etc/multipath/wwids" "$TMPDIR_TEST/w3" "all maps: wwids"
assert_file_is "$root/etc/multipath/bindings" "$TMPDIR_TEST/b3" "all maps: bindings"
grep -q "^blacklist" "$root/etc/multipath.conf" && fail "all maps: no blacklist expected"
assert_eq "$(grep -c "^		alias " "$root/etc/multipath.conf")" 2 "all maps: two multipaths entries"
if [[ $oracle_ok == 1 ]] && oracle "$root" o3 && [[ -e $TMPDIR_TEST/o3/rc ]]; then
  assert_eq "$(cat "$TMPDIR_TEST/o3/rc")" 0 "multipath -t (all maps) exit status"
  assert_eq "$(grep -c '^		alias "mpath[ab]"$' "$TMPDIR_TEST/o3/out")" 2 "multipath -t shows both aliases"
fi
pass "sysroot without --only writes both maps"

# 4. An unknown map: an error naming it, nothing written.
for args in "--only nosuch" "--only mpatha nosuch" "--only /dev/disk/by-id/scsi-mpatha"; do
  root=$TMPDIR_TEST/root4
  rm -rf "$root"
  mkdir "$root"
  set +e
  # shellcheck disable=SC2086
  "${B[@]}" sysroot "$root" $args > /dev/null 2> "$TMPDIR_TEST/err4"
  rc=$?
  set -e
  assert_eq "$rc" 1 "sysroot $args: exit status"
  bad=${args##* }
  grep -qF "no map '$bad'" "$TMPDIR_TEST/err4" || { cat "$TMPDIR_TEST/err4" >&2; fail "sysroot $args: error names $bad"; }
  assert_eq "$(find "$root" -mindepth 1 | wc -l)" 0 "sysroot $args: nothing written"
done
pass "an unknown map is named and nothing is written"

stop_braidd sr
pass "$BRAID_TEST_NAME"
