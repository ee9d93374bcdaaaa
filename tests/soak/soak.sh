#!/usr/bin/env bash
# tests/soak/soak.sh BUILD_DIR SECONDS [SEED]: braidd under verified I/O
# while a fault injector works on its paths (`make soak DURATION=1800`).
# Not part of `make check`: it runs for as long as it is told to.
#
# Topology: two network namespaces made here, a target side (tgtd, three
# file-backed LUNs, one portal per link) and an initiator side (braidd),
# joined by three veth links, so every map has three paths and nothing
# touches the host's own network.  One nbd-verify.py per map writes and
# reads back its blocks for the whole run (block sizes 4 KiB, 64 KiB and
# 512 B), then re-reads every block it wrote.
#
# One fault at a time, chosen and timed by a seeded PRNG (the seed is
# printed; SEED reruns the same sequence): cut a path silently (DROP),
# reset it (REJECT tcp-reset), slow it (tbf 8 Mbit/s), take the link down,
# SIGKILL and restart tgtd, delete a portal and drop its connections then
# re-add it, `reconfigure`, `fail path` then `reinstate path`.  Each fault
# holds for 2-6 s, then the injector waits until braidd shows every path
# up again (bounded) before the next.  no_path_retry is "queue", so the
# target restart, the one fault that takes every path at once, makes
# clients wait rather than fail.
#
# Reported (stdout and $TMPDIR_TEST/soak.json): faults by kind, I/Os
# completed, client errors (expected 0: a path or the queue is always
# there), mismatches (always 0), the longest completion gap, braidd's RSS
# and open fds after start-up and at the end.
set -euo pipefail
BUILD=${1:?usage: soak.sh BUILD_DIR SECONDS [SEED]}
DURATION=${2:?usage: soak.sh BUILD_DIR SECONDS [SEED]}
case $DURATION in
  *m) DURATION=$(( ${DURATION%m} * 60 )) ;;
  *s) DURATION=${DURATION%s} ;;
esac
(( DURATION >= 60 )) || { echo "soak: DURATION must be at least 60 s" >&2; exit 2; }
SEED=${3:-$(( $(date +%s) % 100000 ))}
here=$(cd "$(dirname "$0")" && pwd)
export BRAID_BUILD_DIR=$(cd "$BUILD" && pwd) BRAID_SOURCE_DIR=$(cd "$here/../.." && pwd)
. "$here/../lib/functions.sh"
requires_root
requires tgtd tgtadm ip iptables tc python3 nbdinfo
BRAID="$BRAID_BUILD_DIR/src/braid/braid"
VERIFY="$BRAID_SOURCE_DIR/tests/prog/nbd-verify.py"
IQN=iqn.2026-11.dev.braid:soak
NS_T=bsk-t-$$ NS_I=bsk-i-$$
NLINKS=3 NMAPS=3
echo "soak: ${DURATION}s, seed $SEED, $NMAPS maps x $NLINKS paths (rerun: make soak DURATION=$DURATION SEED=$SEED)"

# ---------------------------------------------------------------- topology
ip netns add "$NS_T"
cleanup_fn ip netns del "$NS_T"
ip netns add "$NS_I"
cleanup_fn ip netns del "$NS_I"
ip -n "$NS_T" link set lo up
ip -n "$NS_I" link set lo up
for (( i = 1; i <= NLINKS; i++ )); do
  ip link add "skt$i" netns "$NS_T" type veth peer name "ski$i" netns "$NS_I"
  ip -n "$NS_T" addr add "10.231.$i.1/24" dev "skt$i"
  ip -n "$NS_I" addr add "10.231.$i.2/24" dev "ski$i"
  ip -n "$NS_T" link set "skt$i" up
  ip -n "$NS_I" link set "ski$i" up
done

# tgtd in the target namespace; the LUN files outlive it, so a restarted
# tgtd serves the same data.
for (( l = 1; l <= NMAPS; l++ )); do truncate -s 64M "$TMPDIR_TEST/lun$l.img"; done
TGT_CTL=$(pick_port)
tgt_listens () { ip netns exec "$NS_T" ss -ltn | grep -q " $1:3260 "; }
start_target () {
  ip netns exec "$NS_T" tgtd -f -C "$TGT_CTL" --iscsi portal=10.231.1.1:3260 \
    </dev/null >> "$TMPDIR_TEST/tgtd.log" 2>&1 &
  TGT_PID=$!
  local start
  start=$(_braid_proc_start "$TGT_PID") || start=
  cleanup_fn _braid_stop_tgtd "$TGT_CTL" "$TGT_PID" "$start" "$TMPDIR_TEST/tgtd.log"
  wait_for "tgtd" 10 _braid_tgtd_answers "$TGT_CTL" || fail "tgtd did not start"
  for (( i = 2; i <= NLINKS; i++ )); do tgt --mode portal --op new --param portal="10.231.$i.1:3260"; done
  for (( i = 1; i <= NLINKS; i++ )); do
    wait_for "tgtd on 10.231.$i.1" 10 tgt_listens "10.231.$i.1" || fail "tgtd not listening on 10.231.$i.1"
  done
  tgt_target 1 "$IQN"
  for (( l = 1; l <= NMAPS; l++ )); do tgt_lun 1 "$l" "$TMPDIR_TEST/lun$l.img"; done
  tgt_bind_all 1
}
start_target

# ---------------------------------------------------------------- braidd
bd=$TMPDIR_TEST/braidd
mkdir -p "$bd/conf.d" "$bd/state" "$bd/run"
cat > "$bd/multipath.conf" <<'EOF'
defaults {
	path_grouping_policy multibus
	no_path_retry queue
	polling_interval 1
}
EOF
logins=()
for (( i = 1; i <= NLINKS; i++ )); do logins+=(--login "10.231.$i.1:3260,$IQN"); done
ip netns exec "$NS_I" "$BRAID_BUILD_DIR/src/braidd/braidd" -f --braid-config "$bd/braid.conf" --config "$bd/multipath.conf" \
  --config-dir "$bd/conf.d" --wwids "$bd/wwids" --bindings "$bd/bindings" \
  --state-dir "$bd/state" --run-dir "$bd/run" "${logins[@]}" </dev/null > "$bd/braidd.log" 2>&1 &
BPID=$!
bstart=$(_braid_proc_start "$BPID") || bstart=
cleanup_fn stop_process "$BPID" "$bstart" 10
show_log_on_failure "$bd/braidd.log"
b () { "$BRAID" --run-dir "$bd/run" "$@"; }
paths_up () { # every path of every map back: none failed, faulty or down
  local out
  out=$(b show paths raw format "%t %T" 2>/dev/null) || return 1
  [[ $(grep -c . <<< "$out") -eq $(( NLINKS * NMAPS )) ]] && ! grep -qiE 'fail|faulty|shaky|down' <<< "$out"
}
wait_for "braidd: $NMAPS maps x $NLINKS paths" 60 paths_up || fail "braidd did not bring every path up"
mapfile -t exports < <(nbdinfo --list "nbd+unix:///?socket=$bd/run/nbd.sock" | sed -n 's/^export="\(.*\)":/\1/p')
(( ${#exports[@]} == NMAPS )) || fail "expected $NMAPS exports, got ${#exports[@]}"
mapfile -t pathnames < <(b show paths raw format "%d")

proc_figures () { # -> "rss_kib fds"
  echo "$(awk '/^VmRSS:/ {print $2}' "/proc/$BPID/status") $(ls "/proc/$BPID/fd" | wc -l)"
}

# ---------------------------------------------------------------- load
# block size and count per map: 8 MiB, 32 MiB and 1 MiB of the 64 MiB LUNs
sizes=(4096 65536 512) counts=(2048 512 2048)
vpids=()
for (( m = 0; m < NMAPS; m++ )); do
  python3 "$VERIFY" --socket "$bd/run/nbd.sock" --export "${exports[$m]}" \
    --seconds "$DURATION" --bs "${sizes[$m]}" --blocks "${counts[$m]}" --rate 400 --seed $(( SEED + m )) \
    --io-timeout 300 --report "$TMPDIR_TEST/verify$m.json" --ready-file "$TMPDIR_TEST/ready$m" \
    > "$TMPDIR_TEST/verify$m.log" 2>&1 &
  vpids+=($!)
  cleanup_fn bash -c "kill $! 2>/dev/null || true"
done
for (( m = 0; m < NMAPS; m++ )); do
  wait_for "writer $m" 20 test -e "$TMPDIR_TEST/ready$m" || fail "nbd-verify $m did not start"
done
sleep 2
read -r rss0 fds0 <<< "$(proc_figures)"
echo "soak: braidd pid $BPID, RSS $rss0 KiB, $fds0 fds after start-up"

# ---------------------------------------------------------------- faults
RANDOM=$SEED
declare -A nfaults=()
ipt_i () { ip netns exec "$NS_I" iptables -w 10 "$@"; }
fault () { # kind link hold_s
  local kind=$1 i=$2 hold=$3 addr=10.231.$2.1 p
  echo "soak: $(date -u +%T) fault $kind on link $i for ${hold}s"
  case $kind in
    drop)
      ipt_i -I INPUT -s "$addr" -p tcp -j DROP
      sleep "$hold"
      ipt_i -D INPUT -s "$addr" -p tcp -j DROP ;;
    reset)
      # REJECT in OUTPUT hands the local socket a RST at its next send
      ipt_i -I OUTPUT -d "$addr" -p tcp -j REJECT --reject-with tcp-reset
      sleep "$hold"
      ipt_i -D OUTPUT -d "$addr" -p tcp -j REJECT --reject-with tcp-reset ;;
    slow)
      ip netns exec "$NS_T" tc qdisc replace dev "skt$i" root tbf rate 8mbit burst 256kb latency 200ms
      ip netns exec "$NS_I" tc qdisc replace dev "ski$i" root tbf rate 8mbit burst 256kb latency 200ms
      sleep "$hold"
      ip netns exec "$NS_T" tc qdisc del dev "skt$i" root
      ip netns exec "$NS_I" tc qdisc del dev "ski$i" root ;;
    linkdown)
      ip -n "$NS_I" link set "ski$i" down
      sleep "$hold"
      ip -n "$NS_I" link set "ski$i" up ;;
    target)
      kill -KILL "$TGT_PID"
      wait "$TGT_PID" 2>/dev/null || true
      rm -f "$TGT_SOCKET_DIR/socket.$TGT_CTL" "$TGT_SOCKET_DIR/socket.$TGT_CTL.lock"
      sleep "$hold"
      start_target ;;
    portal)
      tgt --mode portal --op delete --param portal="$addr:3260"
      local sid cid ip ini
      while read -r sid cid ip ini; do
        [[ $ip == "10.231.$i.2" ]] && tgt --mode conn --op delete --tid 1 --sid "$sid" --cid "$cid"
      done < <(tgt_conns 1)
      sleep "$hold"
      tgt --mode portal --op new --param portal="$addr:3260" ;;
    reconfigure)
      b reconfigure > /dev/null
      sleep "$hold" ;;
    failpath)
      p=${pathnames[$(( RANDOM % ${#pathnames[@]} ))]}
      b fail path "$p" > /dev/null
      sleep "$hold"
      b reinstate path "$p" > /dev/null ;;
  esac
  nfaults[$kind]=$(( ${nfaults[$kind]:-0} + 1 ))
}
kinds=(drop reset slow linkdown target portal reconfigure failpath)
t_end=$(( SECONDS + DURATION - 15 ))
notup=0
while (( SECONDS < t_end )); do
  fault "${kinds[$(( RANDOM % ${#kinds[@]} ))]}" $(( RANDOM % NLINKS + 1 )) $(( RANDOM % 5 + 2 ))
  if ! wait_for "every path back" 60 paths_up; then
    notup=$(( notup + 1 ))
    echo "soak: not every path came back within 60 s:"; b show paths || true
  fi
  sleep $(( RANDOM % 3 + 1 ))
done

# ---------------------------------------------------------------- results
read -r rss1 fds1 <<< "$(proc_figures)"
for pid in "${vpids[@]}"; do wait "$pid" || true; done
faults_json=$(for k in "${!nfaults[@]}"; do echo "$k ${nfaults[$k]}"; done \
  | python3 -c 'import json,sys; print(json.dumps({l.split()[0]: int(l.split()[1]) for l in sys.stdin}))')
python3 - "$TMPDIR_TEST" "$NMAPS" "$SEED" "$DURATION" "$faults_json" "$rss0" "$fds0" "$rss1" "$fds1" "$notup" <<'PY'
import json, os, sys
d, nmaps, seed, dur, faults, rss0, fds0, rss1, fds1, notup = sys.argv[1:]
reps = []
for m in range(int(nmaps)):
    try:
        reps.append(json.load(open(os.path.join(d, f"verify{m}.json"))))
    except (OSError, ValueError):
        reps.append({"ios": 0, "errors": 1, "mismatches": 0, "max_gap_ms": 0, "missing_report": True})
out = {"seed": int(seed), "seconds": int(dur), "faults": json.loads(faults),
       "faults_total": sum(json.loads(faults).values()),
       "ios": sum(r["ios"] for r in reps), "errors": sum(r["errors"] for r in reps),
       "mismatches": sum(r["mismatches"] for r in reps),
       "max_gap_ms": max(r["max_gap_ms"] for r in reps),
       "rss_kib": [int(rss0), int(rss1)], "fds": [int(fds0), int(fds1)],
       "paths_not_back_within_60s": int(notup), "per_map": reps}
for r in out["per_map"]:
    r.pop("slow_completions", None)
json.dump(out, open(os.path.join(d, "soak.json"), "w"), indent=2)
print(f"soak: {dur}s seed {seed}: {out['faults_total']} faults {out['faults']}")
print(f"soak: {out['ios']} I/Os, {out['errors']} errors, {out['mismatches']} mismatches, "
      f"longest gap {out['max_gap_ms']} ms")
print(f"soak: braidd RSS {rss0} -> {rss1} KiB, fds {fds0} -> {fds1}, "
      f"paths not back within 60 s: {notup}")
PY
rc=0
[[ $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["errors"] + r["mismatches"])' "$TMPDIR_TEST/soak.json") == 0 ]] || rc=1
cp "$TMPDIR_TEST/soak.json" "$BRAID_BUILD_DIR/soak-latest.json"
kill -0 "$BPID" 2>/dev/null || { echo "soak: braidd died"; rc=1; }
exit $rc
