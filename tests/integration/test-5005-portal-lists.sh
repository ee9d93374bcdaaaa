#!/usr/bin/env bash
# Eucalyptus portal lists through braid.conf, in two network namespaces:
# a tgtd on 198.18.1.1 (link a) and 198.18.2.1 (link b), braidd on the
# other side of both links (tests/lib/netns.sh).
#   1. paths "iface0:A,iface1:B" with interfaces mapped crosswise
#      (iface0 = link b's device, iface1 = link a's): two paths, each
#      session's socket is bound to its mapped device and talks to its
#      portal across the other link (ss), and a multibus read moves bytes
#      over both devices (counters) - the mapping, not the routing table,
#      picked the links.
#   2. the plain list "A,B": two unbound sessions on the direct links.
#   3. no paths, san_hosts "unreachable,B": a log line names the
#      unreachable host, the next one answers and its portals are used;
#      the export socket gets braid.conf's owner, group and mode.
#   4. a bad braid.conf (unknown keyword, unmapped iface): braidd refuses
#      to start naming file:line; a running braidd answers "reconfigure"
#      with the error and keeps its configuration and paths; the good
#      file again keeps the sessions while the SAN hosts are re-asked.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
. "$(dirname "$0")/../lib/netns.sh"
requires tgtd tgtadm nbdinfo nbdcopy ip ss stat
BRAID=$(braid_bin braid)
iqn=iqn.2026-11.dev.braid:portals

netns_setup
netns_tgtd
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1

multibus='defaults {
	path_grouping_policy multibus
	path_selector "round-robin 0"
}'

# bconf NAME TEXT: write braid.conf for braidd NAME (before it starts).
bconf () { mkdir -p "$TMPDIR_TEST/conf"; printf '%s\n' "$2" > "$TMPDIR_TEST/conf/$1.conf"; }
braid_cmd () { "$BRAID" --run-dir "$(braidd_dir "$1")/run" "${@:2}"; }

# 1. ifaceN: prefixes, mapped crosswise.
bconf cross "interfaces \"iface0=$IF_IB,iface1=$IF_IA\"
storage {
	target $iqn
	paths \"iface0:$ADDR_A,iface1:$ADDR_B\"
}"
BRAIDD_NETNS=$NS_INI BRAIDD_CONF=$multibus BRAIDD_PATHS=2 \
  start_braidd cross --braid-config "$TMPDIR_TEST/conf/cross.conf"
assert_eq "$(braid_cmd cross show paths raw format '%d' | sort | tr '\n' ' ')" \
  "ip-$ADDR_A:3260-iscsi-$iqn-lun-1-iface-$IF_IB ip-$ADDR_B:3260-iscsi-$iqn-lun-1-iface-$IF_IA " \
  "paths of the crosswise mapping"
socks=$(netns_socks)
log "sockets: $(tr '\n' ';' <<<"$socks")"
grep -Eq "^$INI_B%$IF_IB:[0-9]+ $ADDR_A:3260\$" <<<"$socks" \
  || fail "no socket bound to $IF_IB talking to $ADDR_A: $socks"
grep -Eq "^$INI_A%$IF_IA:[0-9]+ $ADDR_B:3260\$" <<<"$socks" \
  || fail "no socket bound to $IF_IA talking to $ADDR_B: $socks"
assert_eq "$(wc -l <<<"$socks")" 2 "iSCSI sockets in $NS_INI"
a0=$(netns_bytes "$IF_IA") b0=$(netns_bytes "$IF_IB")
timeout 60 nbdcopy "$(braidd_uri cross "$(braidd_export cross)")" - > /dev/null
a1=$(netns_bytes "$IF_IA") b1=$(netns_bytes "$IF_IB")
log "64 MiB read: $(( (a1 - a0) >> 10 )) KiB over $IF_IA, $(( (b1 - b0) >> 10 )) KiB over $IF_IB"
(( a1 - a0 > 16 << 20 && b1 - b0 > 16 << 20 )) \
  || fail "a round-robin read did not use both bound devices"
pass "iface0:A,iface1:B: each session bound to its mapped device (ss), traffic on both"
stop_braidd cross

# 2. The plain list: unbound sessions follow the routing table.
bconf plain "storage {
	target $iqn
	paths \"$ADDR_A,$ADDR_B:3260\"
}"
BRAIDD_NETNS=$NS_INI BRAIDD_CONF=$multibus BRAIDD_PATHS=2 \
  start_braidd plain --braid-config "$TMPDIR_TEST/conf/plain.conf"
socks=$(netns_socks)
assert_eq "$(sed -E 's/:[0-9]+ / /' <<<"$socks")" \
  "$INI_A $ADDR_A:3260
$INI_B $ADDR_B:3260" "unbound sockets of the plain list"
assert_eq "$(braid_cmd plain show paths raw format '%d' | sort | tr '\n' ' ')" \
  "ip-$ADDR_A:3260-iscsi-$iqn-lun-1 ip-$ADDR_B:3260-iscsi-$iqn-lun-1 " "paths of the plain list"
pass "plain A,B list: two unbound paths"
stop_braidd plain

# 3. san_hosts: the first is unreachable (no route), the second answers;
# the export socket's owner, group and mode.
bconf san "storage {
	target $iqn
	san_hosts \"198.51.100.7,$ADDR_B\"
}
export {
	owner 4321
	group 5432
	mode 0660
}"
BRAIDD_NETNS=$NS_INI BRAIDD_PATHS=1 start_braidd san --braid-config "$TMPDIR_TEST/conf/san.conf"
grep -q "storage $iqn: SAN host 198.51.100.7:3260 unreachable (.*), trying the next one, $ADDR_B:3260" \
  "$BRAIDD_LOG" || fail "no log line naming the unreachable SAN host"
grep -q "storage $iqn: SAN host $ADDR_B:3260 answered" "$BRAIDD_LOG" \
  || fail "no log line for the SAN host that answered"
log "$(grep -m1 'unreachable' "$BRAIDD_LOG" | sed 's/.*braidd //')"
grep -q "$ADDR_B:3260-iscsi-$iqn-lun-1" <(braid_cmd san show paths raw format '%d') \
  || fail "no path through a portal the SAN host reported"
assert_eq "$(stat -c '%u %g %a' "$(braidd_sock san)")" "4321 5432 660" "export socket owner group mode"
assert_eq "$(stat -c '%a' "$(braidd_dir san)/run")" 711 "run dir mode with a shared export socket"
# braid discover without a portal: braidd asks its san_hosts.
out=$(braid_cmd san discover)
log "braid discover: $(tr '\n' ';' <<<"$out")"
grep -qx "$ADDR_B:3260,1 $iqn" <<<"$out" || fail "braid discover (san_hosts) did not list $ADDR_B"
assert_eq "$(braidd_count san "discover: SAN host 198.51.100.7:3260 unreachable")" 1 \
  "discover's log line for the unreachable SAN host"
pass "san_hosts: unreachable host logged, next one used (sessions, braid discover); export socket 4321:5432 0660"

# 4. Bad files.  A running braidd keeps its configuration.
conf=$TMPDIR_TEST/conf/san.conf
before=$(braid_cmd san show braidconf)
cp "$conf" "$conf.good"
printf 'storage {\n\ttarget %s\n\tpaths "%s"\n\tfrobnicate yes\n}\n' "$iqn" "$ADDR_A" > "$conf"
out=$(braid_cmd san reconfigure 2>&1) && fail "reconfigure accepted an unknown keyword"
grep -qF "$conf line 4: unknown keyword \"frobnicate\" in the storage section" <<<"$out" \
  || fail "reconfigure did not name file and line: $out"
log "reconfigure: $(head -n 1 <<<"$out")"
printf 'interfaces "iface0=%s"\nstorage {\n\ttarget %s\n\tpaths "iface0:%s,iface1:%s"\n}\n' \
  "$IF_IA" "$iqn" "$ADDR_A" "$ADDR_B" > "$conf"
out=$(braid_cmd san reconfigure 2>&1) && fail "reconfigure accepted an unmapped iface"
grep -qF "$conf line 4: paths: iface1 has no mapping in \"interfaces\"" <<<"$out" \
  || fail "reconfigure did not name the unmapped iface: $out"
log "reconfigure: $(head -n 1 <<<"$out")"
assert_eq "$(braid_cmd san show braidconf)" "$before" "braid.conf in use after two bad reconfigures"
grep -q "$ADDR_B:3260-iscsi-$iqn-lun-1" <(braid_cmd san show paths raw format '%d') \
  || fail "the paths went away after a refused reconfigure"
assert_eq "$(stat -c '%u %g %a' "$(braidd_sock san)")" "4321 5432 660" "export socket after refused reconfigures"
# The good file again: the SAN hosts are asked again, and the sessions
# found before stay while they answer.
cp "$conf.good" "$conf"
braid_cmd san reconfigure > /dev/null || fail "reconfigure with the good file failed"
braidd_wait_log san 20 "storage $iqn: SAN host $ADDR_B:3260 answered" 2 \
  || fail "the SAN hosts were not asked again on reconfigure"
assert_eq "$(braidd_count san "no longer wanted")" 0 "sessions dropped by a reconfigure of the same file"
conf=$TMPDIR_TEST/conf/bad.conf
printf 'interfaces "iface0=%s"\nstorage {\n\ttarget %s\n\tpaths "iface0:%s,iface1:%s"\n}\n' \
  "$IF_IA" "$iqn" "$ADDR_A" "$ADDR_B" > "$conf"
bin=$(braid_bin braidd)
mkdir -p "$TMPDIR_TEST/bad/run" "$TMPDIR_TEST/bad/state"
rc=0
ip netns exec "$NS_INI" timeout 20 "$bin" -f --config /dev/null --config-dir "$TMPDIR_TEST/bad" \
  --state-dir "$TMPDIR_TEST/bad/state" --run-dir "$TMPDIR_TEST/bad/run" \
  --wwids "$TMPDIR_TEST/bad/wwids" --bindings "$TMPDIR_TEST/bad/bindings" \
  --braid-config "$conf" > "$TMPDIR_TEST/bad/log" 2>&1 || rc=$?
assert_eq "$rc" 1 "braidd exit status with a bad braid.conf"
grep -qF "$conf line 4: paths: iface1 has no mapping" "$TMPDIR_TEST/bad/log" \
  || fail "braidd did not name file and line: $(cat "$TMPDIR_TEST/bad/log")"
log "braidd start: $(grep -m1 'no mapping' "$TMPDIR_TEST/bad/log")"
pass "bad braid.conf: refused with file:line, running braidd kept its configuration"
