#!/usr/bin/env bash
# oVirt iSCSI bonds, in two network namespaces (tests/lib/netns.sh): a
# tgtd on 198.18.1.1 (link a) and 198.18.2.1 (link b); braidd with
# braid.conf networks neta (link a's device), netb (link b's) and netz
# (a device this host does not have).
#   1. bond b1 = neta + connection A: one session bound to link a; adding
#      netb adds a second session to A live, bound to link b (ss), and a
#      multibus read moves bytes over both devices (counters).
#   2. with nbd-verify writing and checking under it: removing neta drains
#      that session (no new I/O, in-flight I/O finished, then logout);
#      removing netb, the bond's last network, brings up the replacement
#      on the default network first, then drains the link b session;
#      netb added back, then the whole bond deleted: its storage stays
#      reachable through the default network (replacement first again).
#      0 errors, 0 mismatches.
#   3. bond b2 with only netz (not on this host): the default network.
#   4. bond b3 = netb + connection B, then link b's traffic dropped inside
#      the namespace: "host state: non-operational (...)" naming the bond
#      and the network, in braidd's and braid's "show status"; the session
#      failed on braid.conf's noop_out_timeout; back to operational once
#      the traffic passes again.
#   5. admin_group: a non-root peer in the group (primary or
#      supplementary) may add and delete bonds and run show commands, not
#      "del map" or "reconfigure"; a peer outside the group is refused.
#   6. bonds.json survives a restart.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
. "$(dirname "$0")/../lib/netns.sh"
requires tgtd tgtadm nbdinfo nbdcopy ip ss iptables setpriv
BRAID=$(braid_bin braid)
VERIFY=$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py
iqn=iqn.2026-11.dev.braid:bonds
ADMIN_GID=$(( 40000 + $$ % 10000 ))

netns_setup
netns_tgtd
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1

mkdir -p "$TMPDIR_TEST/conf"
cat > "$TMPDIR_TEST/conf/braid.conf" <<EOF
network {
	name neta
	interface $IF_IA
}
network {
	name netb
	interface $IF_IB
}
network {
	name netz
	interface nosuch$$
}
admin_group $ADMIN_GID
noop_out_interval 400
noop_out_timeout 700
EOF
BRAIDD_NETNS=$NS_INI BRAIDD_EXPORTS=0 BRAIDD_CONF='defaults {
	path_grouping_policy multibus
	path_selector "round-robin 0"
}' start_braidd bd --braid-config "$TMPDIR_TEST/conf/braid.conf"
B=("$BRAID" --run-dir "$BRAIDD_DIR/run")
p_a () { echo "ip-$ADDR_A:3260-iscsi-$iqn-lun-1${1:+-iface-$1}"; }
p_b () { echo "ip-$ADDR_B:3260-iscsi-$iqn-lun-1${1:+-iface-$1}"; }
wait_paths ()  # WANT DESC: the sorted path list becomes WANT
{
  wait_for "$2" 30 bash -c '[[ $(paths) == "$1" ]]' _ "$1" \
    || fail "$2: paths are '$(paths)', wanted '$1'"
}
# (functions for bash -c in wait_for)
export BRAID BRAIDD_DIR
paths () { "$BRAID" --run-dir "$BRAIDD_DIR/run" show paths raw format '%d' | grep -v '^ok$' | sort | tr '\n' ' '; }
bonds () { "$BRAID" --run-dir "$BRAIDD_DIR/run" show bonds; }
export -f paths bonds

# 1. A bond with one network, then a second one added live.
"${B[@]}" add bond b1 > /dev/null
"${B[@]}" add bond b1 network neta > /dev/null
"${B[@]}" add bond b1 connection "$ADDR_A:3260,$iqn" > /dev/null
wait_paths "$(p_a "$IF_IA") " "bond b1 through neta"
"${B[@]}" add bond b1 network netb > /dev/null
wait_paths "$(p_a "$IF_IA") $(p_a "$IF_IB") " "bond b1 through neta and netb"
socks=$(netns_socks)
log "sockets: $(tr '\n' ';' <<<"$socks")"
grep -Eq "^$INI_A%$IF_IA:[0-9]+ $ADDR_A:3260\$" <<<"$socks" || fail "no session to A bound to $IF_IA"
grep -Eq "^$INI_B%$IF_IB:[0-9]+ $ADDR_A:3260\$" <<<"$socks" || fail "no session to A bound to $IF_IB"
exp=$(braidd_export bd)
a0=$(netns_bytes "$IF_IA") b0=$(netns_bytes "$IF_IB")
timeout 60 nbdcopy "$(braidd_uri bd "$exp")" - > /dev/null
a1=$(netns_bytes "$IF_IA") b1=$(netns_bytes "$IF_IB")
log "64 MiB read: $(( (a1 - a0) >> 10 )) KiB over $IF_IA, $(( (b1 - b0) >> 10 )) KiB over $IF_IB"
(( a1 - a0 > 16 << 20 && b1 - b0 > 16 << 20 )) || fail "the read did not use both bond networks"
"${B[@]}" show bonds > "$TMPDIR_TEST/bonds-1"
log "show bonds: $(tr '\n' '|' < "$TMPDIR_TEST/bonds-1")"
grep -qx "    via $IF_IB (netb): up" "$TMPDIR_TEST/bonds-1" || fail "show bonds: netb session not up"
pass "bond b1: a session per network (ss), both carry I/O (counters), netb added live"

# 2. Remove networks under a verified writer.
rep=$TMPDIR_TEST/verify.json ready=$TMPDIR_TEST/ready stop=$TMPDIR_TEST/stop
"$BRAID_PYTHON" "$VERIFY" --socket "$BRAIDD_SOCK" --export "$exp" --seconds 120 \
  --blocks 4096 --bs 4096 --seed 7 --io-timeout 60 --report "$rep" \
  --ready-file "$ready" --stop-file "$stop" </dev/null >"$TMPDIR_TEST/verify.out" 2>&1 &
vpid=$!
vstart=$(_braid_proc_start "$vpid") || vstart=
cleanup_fn stop_process "$vpid" "$vstart" 5
show_log_on_failure "$TMPDIR_TEST/verify.out"
wait_for "nbd-verify to start" 20 test -e "$ready" || fail "nbd-verify did not start"
sleep_interruptible 1
"${B[@]}" del bond b1 network neta > /dev/null
wait_paths "$(p_a "$IF_IB") " "neta removed from b1"
grep -q "$ADDR_A:3260 $iqn via $IF_IA: no longer wanted (bond b1), draining and logging out" \
  "$BRAIDD_LOG" || fail "no drain log line for the neta session"
sleep_interruptible 1
"${B[@]}" del bond b1 network netb > /dev/null
wait_paths "$(p_a) " "b1 on the default network"
# The replacement came up before the link b session went.
added=$(grep -n "added path $(p_a) " "$BRAIDD_LOG" | head -n 1 | cut -d: -f1)
drained=$(grep -n "$ADDR_A:3260 $iqn via $IF_IB: no longer wanted" "$BRAIDD_LOG" | head -n 1 | cut -d: -f1)
[[ -n $added && -n $drained ]] && (( added < drained )) \
  || fail "the default-network path (log line ${added:-none}) did not come before the drain (${drained:-none})"
sleep_interruptible 1
"${B[@]}" add bond b1 network netb > /dev/null
wait_paths "$(p_a "$IF_IB") " "netb back in b1"
sleep_interruptible 1
nlines=$(wc -l < "$BRAIDD_LOG")
"${B[@]}" del bond b1 > /dev/null
wait_paths "$(p_a) " "b1 deleted: its connection on the default network"
added=$(tail -n +"$nlines" "$BRAIDD_LOG" | grep -n "added path $(p_a) " | head -n 1 | cut -d: -f1)
drained=$(tail -n +"$nlines" "$BRAIDD_LOG" | grep -n "$ADDR_A:3260 $iqn via $IF_IB: no longer wanted" | head -n 1 | cut -d: -f1)
[[ -n $added && -n $drained ]] && (( added < drained )) \
  || fail "bond deleted: the default-network path (${added:-none}) did not come before the drain (${drained:-none})"
bonds | grep -qx "  connection $ADDR_A:3260,$iqn: up" || fail "show bonds: b1's connection is not kept outside the bonds"
sleep_interruptible 1
proc_alive "$vpid" "$vstart" || fail "nbd-verify ended early"
touch "$stop"
wait_gone "$vpid" "$vstart" 60 || fail "nbd-verify did not finish"
wait "$vpid" || true
[[ -s $rep ]] || fail "no nbd-verify report"
read -r ios errs mism <<<"$("$BRAID_PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["ios"], r["errors"], r["mismatches"])' "$rep")"
log "nbd-verify: $ios I/Os, $errs errors, $mism mismatches"
assert_eq "$errs $mism" "0 0" "nbd-verify errors and mismatches while bond networks were removed"
(( ios > 0 )) || fail "nbd-verify did no I/O"
pass "removing bond networks and a bond under I/O: drained, replacement first, 0 errors 0 mismatches"

# 3. A bond whose only network this host lacks: the default network.
"${B[@]}" add bond b2 > /dev/null
"${B[@]}" add bond b2 network netz > /dev/null
"${B[@]}" add bond b2 connection "$ADDR_B,$iqn" > /dev/null
wait_paths "$(p_a) $(p_b) " "bond b2 on the default network"
"${B[@]}" show bonds > "$TMPDIR_TEST/bonds-3"
grep -qx "  network netz: nosuch$$, not on this host" "$TMPDIR_TEST/bonds-3" || fail "show bonds: netz"
wait_for "b2 default session up" 20 bash -c 'bonds | grep -qx "    default network: up"' \
  || fail "show bonds: the default-network session of b2 is not up"
grep -q "^host state: operational$" <("${B[@]}" show status) || fail "host not operational"
pass "bond b2 (netz not on this host): default network"

# 4. A bond network present but unreachable.
"${B[@]}" add bond b3 > /dev/null
"${B[@]}" add bond b3 network netb > /dev/null
"${B[@]}" add bond b3 connection "$ADDR_B:3260,$iqn" > /dev/null
wait_paths "$(p_a) $(p_b) $(p_b "$IF_IB") " "bond b3 through netb"
assert_eq "$("${B[@]}" show status | grep '^host state:')" "host state: operational" "host state with b3 up"
ip netns exec "$NS_INI" iptables -w 10 -I OUTPUT -o "$IF_IB" -p tcp --dport 3260 -j DROP
want="host state: non-operational (bond b3 cannot reach $ADDR_B:3260 $iqn through network netb ($IF_IB))"
wait_for "non-operational" 30 bash -c '"$@" show status | grep -qxF "$0"' "$want" "${B[@]}" \
  || fail "show status: '$("${B[@]}" show status | grep '^host state:')', wanted '$want'"
braidd_wait_log bd 10 "$want" || fail "braidd did not log the host state"
# braid status: the same line, and exit status 3 for a non-operational host.
rc=0
"${B[@]}" --state-dir "$TMPDIR_TEST/volumes" status > "$TMPDIR_TEST/status" 2>&1 || rc=$?
assert_eq "$rc" 3 "braid status on a non-operational host"
grep -qxF "$want" "$TMPDIR_TEST/status" || fail "braid status does not show '$want'"
# braid.conf's NOP-Out timeout is the one the sessions use.
grep -q "$ADDR_B:3260 $iqn: session down: no answer to NOP-Out ping within 700 ms" "$BRAIDD_LOG" \
  || fail "the session did not fail on braid.conf's noop_out_timeout (700 ms)"
log "$want"
ip netns exec "$NS_INI" iptables -w 10 -D OUTPUT -o "$IF_IB" -p tcp --dport 3260 -j DROP
wait_for "operational again" 60 bash -c '"$@" show status | grep -qx "host state: operational"' _ "${B[@]}" \
  || fail "the host did not become operational again"
"${B[@]}" --state-dir "$TMPDIR_TEST/volumes" status > "$TMPDIR_TEST/status" 2>&1 \
  || fail "braid status on an operational host exits $?"
pass "bond network unreachable: non-operational naming bond and network; operational again"

# 5. admin_group delegation.  The test dir must be traversable by others.
chmod 0711 "$TMPDIR_TEST" "$BRAIDD_DIR"
assert_eq "$(stat -c '%g %a' "$BRAIDD_DIR/run/braidd.sock")" "$ADMIN_GID 660" "control socket group and mode"
as () { local u=$1 g=$2; shift 2; setpriv --reuid="$u" --regid="$g" "$@"; }
member=(as 4243 "$ADMIN_GID" --clear-groups)
supp=(as 4244 4244 --groups "$ADMIN_GID")
outsider=(as 4245 4245 --clear-groups)
"${member[@]}" "${B[@]}" add bond b4 > /dev/null || fail "a group member could not add a bond"
"${supp[@]}" "${B[@]}" add bond b4 connection "$ADDR_B,$iqn" > /dev/null \
  || fail "a supplementary group member could not change a bond"
"${member[@]}" "${B[@]}" show bonds | grep -qx "bond b4" || fail "a group member cannot show bonds"
"${member[@]}" "${B[@]}" show paths > /dev/null || fail "a group member cannot show paths"
out=$("${member[@]}" "${B[@]}" del map "$exp" 2>&1) && fail "a group member could delete a map"
grep -q "^permission denied" <<<"$out" || fail "del map by a group member: '$out'"
out=$("${member[@]}" "${B[@]}" reconfigure 2>&1) && fail "a group member could reconfigure"
grep -q "^permission denied" <<<"$out" || fail "reconfigure by a group member: '$out'"
log "member: $out"
out=$("${outsider[@]}" "${B[@]}" add bond b5 2>&1) && fail "a peer outside the group added a bond"
log "outsider: $out"
grep -qx "bond b5" <("${B[@]}" show bonds) && fail "bond b5 exists"
"${member[@]}" "${B[@]}" del bond b4 > /dev/null || fail "a group member could not delete a bond"
grep -qx "bond b4" <("${B[@]}" show bonds) && fail "bond b4 still exists"
pass "admin_group: members manage bonds and show, not del map/reconfigure; outsiders refused"

# 6. Restart: the bonds come back from bonds.json.
before=$("${B[@]}" show bonds | grep -v '^    ')
stop_braidd bd
BRAIDD_NETNS=$NS_INI BRAIDD_EXPORTS=0 restart_braidd bd --braid-config "$TMPDIR_TEST/conf/braid.conf"
wait_paths "$(p_a) $(p_b) $(p_b "$IF_IB") " "bond sessions after a restart"
assert_eq "$("${B[@]}" show bonds | grep -v '^    ')" "$before" "bonds after a restart"
pass "bonds.json: bonds and their sessions back after a restart"

# 7. A connection left by a deleted bond goes only when asked.
"${B[@]}" del connection "$ADDR_A,$iqn" > /dev/null
wait_paths "$(p_b) $(p_b "$IF_IB") " "connection to A dropped"
out=$("${B[@]}" del connection "$ADDR_A,$iqn" 2>&1) && fail "a second del connection succeeded"
log "del connection again: $out"
pass "del connection: the default-network session to A is gone"
