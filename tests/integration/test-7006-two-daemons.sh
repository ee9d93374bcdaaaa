#!/usr/bin/env bash
# Two braidd on one host, one initiator name, one target: each keeps its
# own session.  The ISID's random bytes come from the state directory, so
# two instances never present the same I_T nexus (the target would take
# the second login as a reinstatement of the first and close it, and the
# two would knock each other off for ever) while a restarted braidd still
# presents its old ISID and replaces the session its previous life left.
# Checked: both sessions stay up through reads on both exports, tgtd shows
# two sessions, and braidd a killed and restarted leaves b's alone.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdcopy
IQN=iqn.2026-11.dev.braid:twodaemons

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 lun.img 16M
tgt_bind_all 1

# nexuses: how many I_T nexuses (sessions) the target has.
nexuses ()
{
  tgt --mode target --op show | awk '/I_T nexus:/ {n++} END {print n + 0}'
}

start_braidd a --login "127.0.0.1:$port,$IQN"
start_braidd b --login "127.0.0.1:$port,$IQN"
for n in a b; do
  timeout 60 nbdcopy "$(braidd_uri "$n" "$(braidd_export "$n")")" null: \
    || fail "reading through braidd $n failed"
done
for n in a b; do
  assert_eq "$(braidd_count "$n" "session down")" 0 "sessions of braidd $n lost"
done
assert_eq "$(nexuses)" 2 "I_T nexuses on the target"
pass "two braidd with one initiator name keep one session each"

# braidd a killed and started again on its files: it comes back with its
# session, and braidd b's session is never touched.
read -r apid astart < "$(braidd_dir a)/pid"
kill -KILL "$apid"
wait_gone "$apid" "$astart" 10 || fail "braidd a survived SIGKILL"
restart_braidd a
timeout 60 nbdcopy "$(braidd_uri a "$(braidd_export a)")" null: || fail "reading through a after its restart"
wait_for "two I_T nexuses after the restart" 20 bash -c '[[ $(tgtadm -C "$0" --lld iscsi --mode target --op show | grep -c "I_T nexus:") == 2 ]]' \
  "$TGT_CTL" || fail "I_T nexuses after a restart: $(nexuses)"
assert_eq "$(braidd_count b "session down")" 0 "sessions of braidd b lost while a restarted"
pass "a braidd killed and restarted takes back its own session only"
