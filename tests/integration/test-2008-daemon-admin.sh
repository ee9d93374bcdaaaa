#!/usr/bin/env bash
# braidd administration: a bad configuration on reconfigure is refused and
# the running one kept; a property blacklist works on braid's paths (they
# carry udev's properties); prio path_latency gives measured priorities;
# the nodes and map names survive a daemon restart.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo
BRAID=$(braid_bin braid)
IQN=iqn.2026-11.dev.braid:admin

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 file 64M
tgt_bind_all 1

conf=$(cat <<'EOT'
defaults {
	user_friendly_names yes
	path_grouping_policy group_by_prio
	prio path_latency
	prio_args "io_num=20 base_num=10"
	polling_interval 1
}
EOT
)
BRAIDD_CONF=$conf BRAIDD_EXPORTS=0 BRAIDD_PATHS=0 start_braidd a
B=("$BRAID" --run-dir "$BRAIDD_DIR/run")
"${B[@]}" login --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$IQN"
wait_for "two paths in mpatha" 20 bash -c \
  "\"\$@\" show paths raw format '%m' | grep -c mpatha | grep -qx 2" _ "${B[@]}" \
  || fail "no map with two paths"

# path_latency: priorities come from measured round trips (0..8 with base
# 10 over 100 s; loopback answers in well under a millisecond, so > 3).
wait_for "measured priorities" 20 bash -c \
  "\"\$@\" show paths raw format '%p' | awk '\$1 > 3' | grep -c . | grep -qx 2" _ "${B[@]}" \
  || fail "prio path_latency gave no measured priority: $("${B[@]}" show paths raw format '%d %p')"
log "path_latency priorities: $("${B[@]}" show paths raw format '%p' | tr '\n' ' ')"

# Atomic reconfigure: a regex that does not compile rejects the whole file.
cp "$BRAIDD_DIR/multipath.conf" "$TMPDIR_TEST/good.conf"
printf 'blacklist {\n\tdevnode "([a-"\n}\n' >> "$BRAIDD_DIR/multipath.conf"
set +e
out=$("${B[@]}" reconfigure 2>&1)
rc=$?
set -e
echo "$out"
assert_eq "$rc" 1 "reconfigure with a bad regex fails"
echo "$out" | grep -q "keeping the running one" || fail "reconfigure does not say the old config stays"
# (into a file: grep -q would close the pipe early and, under pipefail,
# braid's SIGPIPE on the rest of this long reply would fail the test)
"${B[@]}" show config > "$TMPDIR_TEST/config"
grep -q 'prio "path_latency"' "$TMPDIR_TEST/config" || fail "the running config was lost"
"${B[@]}" show maps | grep -q mpatha || fail "the map went away"

# Property blacklist: braid paths carry udev's properties (ID_VENDOR,
# ID_MODEL, ID_SERIAL, SCSI_IDENT_*...).  Blacklisting ID_VENDOR hides this
# LUN's paths.  (SCSI_IDENT_* would not do: multipath-tools' built-in
# blacklist_exceptions whitelists "(SCSI_IDENT_|ID_WWN)", and braid too.)
cp "$TMPDIR_TEST/good.conf" "$BRAIDD_DIR/multipath.conf"
printf 'blacklist {\n\tproperty "^ID_VENDOR$"\n}\n' >> "$BRAIDD_DIR/multipath.conf"
"${B[@]}" reconfigure >/dev/null
"${B[@]}" logout --target "$IQN"
"${B[@]}" login --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$IQN"
wait_for "blacklisted paths logged" 20 grep -q "blacklisted" "$BRAIDD_LOG" \
  || fail "the property blacklist did not apply"
sleep 1
[[ -z $("${B[@]}" show maps raw format '%n' | grep -v '^ok$' || true) ]] \
  || fail "a blacklisted LUN still formed a map"
log "property blacklist: $(grep -m1 blacklisted "$BRAIDD_LOG" | sed 's/.*notice: //')"

# Restart: nodes come back from the state dir, the map keeps its name.
cp "$TMPDIR_TEST/good.conf" "$BRAIDD_DIR/multipath.conf"
"${B[@]}" reconfigure >/dev/null
"${B[@]}" logout --target "$IQN"
"${B[@]}" login --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$IQN"
wait_for "mpatha back" 20 bash -c "\"\$@\" show maps raw format '%n' | grep -qx mpatha" _ "${B[@]}" \
  || fail "the map did not come back after removing the blacklist"
stop_braidd a
grep -q "$IQN" "$BRAIDD_DIR/state/nodes.json" || fail "nodes.json does not list the target"
# No --login: the nodes come back from nodes.json alone.
BRAIDD_EXPORTS=0 restart_braidd a
wait_for "mpatha with two paths after the restart" 20 bash -c \
  "\"\$@\" show paths raw format '%m' | grep -c mpatha | grep -qx 2" _ "${B[@]}" \
  || fail "after a restart the map did not come back as mpatha with both paths"
nbdinfo --list "nbd+unix:///?socket=$BRAIDD_DIR/run/nbd.sock" | grep -q 'export="mpatha"' \
  || fail "the export did not come back"
pass "daemon-admin"
