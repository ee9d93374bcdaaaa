# tests/lib/netns.sh -- two network namespaces joined by two veth links,
# a tgtd in one and braidd in the other (tests 5005, 5006).
#
# Source it after tests/lib/functions.sh and tests/lib/braidd.sh.
#
#   netns_setup        makes $NS_TGT and $NS_INI (names carry $$, so
#                      parallel tests never meet) and two links:
#                        link a: $IF_TA 198.18.1.1/24 <-> $IF_IA 198.18.1.2/24
#                        link b: $IF_TB 198.18.2.1/24 <-> $IF_IB 198.18.2.2/24
#                      Each target address is on its own link, and each
#                      link also reaches the other address through a
#                      high-metric route (via the far end), so an unbound
#                      session follows the direct link while a session
#                      bound to a device (SO_BINDTODEVICE) goes out through
#                      that device whichever address it targets: the
#                      binding, not the routing table, decides.  rp_filter
#                      is off inside both namespaces for that reason.
#   netns_tgtd         starts tgtd in $NS_TGT listening on $ADDR_A:3260 and
#                      $ADDR_B:3260 (sets TGT_CTL/TGT_PID for tgt_*).
#   netns_bytes IF     tx+rx bytes of device IF in $NS_INI.
#   netns_socks        the initiator's established iSCSI sockets as
#                      "LOCAL PEER" (LOCAL is ADDR%DEV for a bound socket).
# Every namespace is deleted by a cleanup_fn (which also removes the veths).

if [[ -n ${_BRAID_NETNS_SH:-} ]]; then
  return 0
fi
_BRAID_NETNS_SH=1

NS_TGT=braid-t$$ NS_INI=braid-i$$
IF_TA=bta$$ IF_TB=btb$$ IF_IA=bia$$ IF_IB=bib$$
ADDR_A=198.18.1.1 ADDR_B=198.18.2.1
INI_A=198.18.1.2 INI_B=198.18.2.2

netns_setup ()
{
  requires ip ss sysctl
  requires_root
  local ns
  for ns in "$NS_TGT" "$NS_INI"; do
    ip netns add "$ns" || fail "cannot create network namespace $ns"
    cleanup_fn ip netns del "$ns"
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  ip link add "$IF_TA" netns "$NS_TGT" type veth peer name "$IF_IA" netns "$NS_INI"
  ip link add "$IF_TB" netns "$NS_TGT" type veth peer name "$IF_IB" netns "$NS_INI"
  ip -n "$NS_TGT" addr add "$ADDR_A/24" dev "$IF_TA"
  ip -n "$NS_TGT" addr add "$ADDR_B/24" dev "$IF_TB"
  ip -n "$NS_INI" addr add "$INI_A/24" dev "$IF_IA"
  ip -n "$NS_INI" addr add "$INI_B/24" dev "$IF_IB"
  ip -n "$NS_TGT" link set "$IF_TA" up
  ip -n "$NS_TGT" link set "$IF_TB" up
  ip -n "$NS_INI" link set "$IF_IA" up
  ip -n "$NS_INI" link set "$IF_IB" up
  local dev
  for dev in "$IF_IA" "$IF_IB"; do
    ip netns exec "$NS_INI" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"
  done
  for dev in "$IF_TA" "$IF_TB"; do
    ip netns exec "$NS_TGT" sysctl -qw "net.ipv4.conf.$dev.rp_filter=0"
  done
  # The cross routes: each link reaches the other link's target address.
  ip -n "$NS_INI" route add 198.18.2.0/24 via "$ADDR_A" dev "$IF_IA" metric 500
  ip -n "$NS_INI" route add 198.18.1.0/24 via "$ADDR_B" dev "$IF_IB" metric 500
  log "namespaces $NS_TGT (target: $ADDR_A on $IF_TA, $ADDR_B on $IF_TB) and" \
      "$NS_INI (initiator: $INI_A on $IF_IA, $INI_B on $IF_IB)"
}

_netns_listens () { ip netns exec "$NS_TGT" ss -ltnH | grep -q " $1:3260 "; }

netns_tgtd ()
{
  requires tgtd tgtadm
  local n pid start logf
  n=$(pick_port)
  logf=$TMPDIR_TEST/tgtd.netns.log
  mkdir -p "$TGT_SOCKET_DIR"
  _braid_spawn_tgtd "$n" "$ADDR_A:3260" "$logf" ip netns exec "$NS_TGT"
  pid=$_BRAID_TGTD_PID start=$_BRAID_TGTD_START
  wait_for "tgtd in $NS_TGT" 10 _braid_tgtd_ready "$n" "$pid" "$start" \
    || fail "tgtd in $NS_TGT did not start"
  TGT_CTL=$n TGT_PID=$pid
  export TGT_CTL TGT_PID
  tgt --mode portal --op new --param "portal=$ADDR_B:3260"
  wait_for "tgtd on $ADDR_A" 10 _netns_listens "$ADDR_A" || fail "tgtd not listening on $ADDR_A"
  wait_for "tgtd on $ADDR_B" 10 _netns_listens "$ADDR_B" || fail "tgtd not listening on $ADDR_B"
}

netns_bytes ()
{
  local rx tx
  rx=$(ip netns exec "$NS_INI" cat "/sys/class/net/$1/statistics/rx_bytes")
  tx=$(ip netns exec "$NS_INI" cat "/sys/class/net/$1/statistics/tx_bytes")
  echo $(( rx + tx ))
}

netns_socks ()
{
  ip netns exec "$NS_INI" ss -tnH state established '( dport = :3260 )' \
    | awk '{ print $(NF - 1), $NF }' | sort
}
