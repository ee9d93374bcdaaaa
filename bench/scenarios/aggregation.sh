# bench/scenarios/aggregation.sh, sourced by bench/run (scenario
# "aggregation").
#
# Two network namespaces made here: bt-tgt (a tgtd, null LUN, tuned) and
# bt-ini (braidd), joined by 1, 2 and 4 veth pairs, each its own /24 in
# 198.18.0.0/15 (the benchmarking range; the traffic never leaves these
# namespaces), each shaped with tc tbf to AG_RATE Mbit/s (default 200) in
# both directions.  braidd logs in through every link, multibus, with each
# path selector in turn; fio (--ioengine=nbd, 1 MiB sequential read, QD
# 16, AG_SECS seconds) reads the export over braidd's unix socket.  Then
# link 2 is slowed to AG_RATE/4 with AG_SLOW_PATHS links (default 4).
# Prints paths, selector, MiB/s and % of the links' sum; writes
# aggregation.json and, with gnuplot, docs/aggregation-throughput.png.
requires ip tc fio nbdinfo ss
requires_root
AG_RATE=${AG_RATE:-200} AG_SECS=${AG_SECS:-10} AG_SLOW_PATHS=${AG_SLOW_PATHS:-4}
AG_SELECTORS=${AG_SELECTORS:-round-robin queue-length service-time historical-service-time}
AG_IQN=iqn.2026-11.dev.braid:bench-aggregation
ag_dir=$TMPDIR_TEST/aggregation
mkdir -p "$ag_dir"
for ns in bt-tgt bt-ini; do
  if ip netns list | grep -qw "$ns"; then
    fail "network namespace $ns exists (a leftover? delete it with: ip netns del $ns)"
  fi
done
ip netns add bt-tgt
cleanup_fn ip netns del bt-tgt
ip netns add bt-ini
cleanup_fn ip netns del bt-ini
ip -n bt-tgt link set lo up
ip -n bt-ini link set lo up
ag_shape () { # link rate_mbit: tbf on both ends (replace)
  # burst above the largest GSO frame a veth passes (64 KiB), else tbf
  # drops those frames outright
  ip netns exec bt-tgt tc qdisc replace dev "bta$1" root tbf rate "${2}mbit" burst 256kb latency 100ms
  ip netns exec bt-ini tc qdisc replace dev "bti$1" root tbf rate "${2}mbit" burst 256kb latency 100ms
}
for i in 1 2 3 4; do
  ip link add "bta$i" netns bt-tgt type veth peer name "bti$i" netns bt-ini
  ip -n bt-tgt addr add "198.18.$i.1/24" dev "bta$i"
  ip -n bt-ini addr add "198.18.$i.2/24" dev "bti$i"
  ip -n bt-tgt link set "bta$i" up
  ip -n bt-ini link set "bti$i" up
  ag_shape "$i" "$AG_RATE"
done

# tgtd inside bt-tgt.  tgtadm talks to it over its unix socket, which the
# namespace does not hide; the bench's own tgtd ($TGT_CTL) is put back after.
ag_saved="$TGT_CTL $TGT_PID"
ag_n=$(pick_port)
ip netns exec bt-tgt tgtd -f -C "$ag_n" --iscsi portal=198.18.1.1:3260 \
  </dev/null > "$ag_dir/tgtd.log" 2>&1 &
ag_tpid=$!
cleanup_fn _braid_stop_tgtd "$ag_n" "$ag_tpid" "$(_braid_proc_start "$ag_tpid")" "$ag_dir/tgtd.log"
TGT_CTL=$ag_n TGT_PID=$ag_tpid
wait_for "tgtd in bt-tgt" 10 _braid_tgtd_answers "$ag_n" || fail "tgtd in bt-tgt did not start"
ag_listens () { ip netns exec bt-tgt ss -ltn | grep -q " $1:3260 "; }
for i in 2 3 4; do
  tgt --mode portal --op new --param portal="198.18.$i.1:3260"
done
for i in 1 2 3 4; do
  wait_for "tgtd on 198.18.$i.1" 10 ag_listens "198.18.$i.1" || fail "tgtd not listening on 198.18.$i.1"
done
tgt_target 1 "$AG_IQN"
tgt_lun 1 1 null
tgt_bind_all 1
tgt_tune 1
read -r TGT_CTL TGT_PID <<< "$ag_saved"

ag_results=$ag_dir/results.tsv
: > "$ag_results"
ag_case () { # label npaths selector
  local label=$1 np=$2 sel=$3 d=$ag_dir/$1-$2-$3 logins=() i pid out
  mkdir -p "$d/conf.d" "$d/state" "$d/run"
  printf 'defaults {\n\tpath_grouping_policy multibus\n\tpath_selector "%s 0"\n}\n' "$sel" > "$d/multipath.conf"
  for (( i = 1; i <= np; i++ )); do logins+=(--login "198.18.$i.1:3260,$AG_IQN"); done
  ip netns exec bt-ini "$BRAID_BUILD_DIR/src/braidd/braidd" -f --braid-config "$d/braid.conf" --config "$d/multipath.conf" \
    --config-dir "$d/conf.d" --wwids "$d/wwids" --bindings "$d/bindings" \
    --state-dir "$d/state" --run-dir "$d/run" "${logins[@]}" </dev/null > "$d/braidd.log" 2>&1 &
  pid=$!
  local start
  start=$(_braid_proc_start "$pid") || start=
  cleanup_fn stop_process "$pid" "$start" 10
  ag_ready () {
    [[ $("$BRAID_BUILD_DIR/src/braid/braid" --run-dir "$d/run" show maps raw format "%N" 2>/dev/null | head -n 1) == "$np" ]]
  }
  wait_for "braidd with $np paths" 30 ag_ready || fail "aggregation: braidd did not get $np paths ($d/braidd.log)"
  wait_for "export" 10 test -S "$d/run/nbd.sock" || fail "no NBD socket"
  local export
  export=$(nbdinfo --list "nbd+unix:///?socket=$d/run/nbd.sock" | sed -n 's/^export="\(.*\)":/\1/p' | head -n 1)
  timeout $(( AG_SECS + 60 )) fio --name=a --ioengine=nbd --uri="nbd+unix:///$export?socket=$d/run/nbd.sock" \
    --rw=read --bs=1M --iodepth=16 --size=64G --runtime="$AG_SECS" --time_based \
    --output-format=json > "$d/fio.json" 2>/dev/null || echo "  aggregation: fio failed" >&2
  "$BRAID_BUILD_DIR/src/braid/braid" --run-dir "$d/run" show paths stats > "$d/stats.txt" 2>&1 || true
  stop_process "$pid" "$start" 10
  out=$(python3 -c '
import json, sys
t = open(sys.argv[1]).read()
print("%.1f" % (json.loads(t[t.index("{"):])["jobs"][0]["read"]["bw"] / 1024.0))' "$d/fio.json" 2>/dev/null) || out=0
  echo -e "$label\t$np\t$sel\t$out\t$d/stats.txt" >> "$ag_results"
  echo "  aggregation $label: $np paths, $sel: $out MiB/s" >&2
}
echo "aggregation: 1/2/4 veth links at $AG_RATE Mbit/s each, multibus, fio 1 MiB read QD 16, ${AG_SECS}s" >&2
for np in 1 2 4; do
  for sel in $AG_SELECTORS; do
    ag_case equal "$np" "$sel"
  done
done
ag_slow=$(( AG_RATE / 4 ))
ag_shape 2 "$ag_slow"
for sel in $AG_SELECTORS; do
  ag_case slow "$AG_SLOW_PATHS" "$sel"
done
ag_shape 2 "$AG_RATE"

python3 - "$ag_results" "$TMPDIR_TEST/aggregation.json" "$AG_RATE" "$AG_SLOW_PATHS" "$ag_dir/chart.dat" <<'PY'
import json, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
rate = float(sys.argv[2 + 1]); slowp = int(sys.argv[4])
link = rate * 1e6 / 8 / 1048576            # MiB/s of one link's shaped rate
out = {"link_mbit_s": rate, "link_mib_s": round(link, 2), "fio": "1 MiB sequential read, QD 16, --ioengine=nbd",
       "equal": [], "slow": [], "slow_note": f"{slowp} links, link 2 at {rate / 4:g} Mbit/s"}
print(f"{'links':10} {'paths':>5} {'selector':24} {'MiB/s':>8} {'% of sum':>9}")
for label, np, sel, mib, stats in rows:
    np = int(np); mib = float(mib)
    total = link * np if label == "equal" else link * (np - 1) + link / 4
    pct = 100.0 * mib / total
    try:
        st = open(stats).read()
    except OSError:
        st = ""
    out[label].append({"paths": np, "selector": sel, "mib_s": mib, "pct_of_sum": round(pct, 1),
                       "path_stats": st.splitlines()})
    print(f"{label:10} {np:5} {sel:24} {mib:8.1f} {pct:8.1f}%")
json.dump(out, open(sys.argv[2], "w"), indent=2)
with open(sys.argv[5], "w") as f:
    sels = list(dict.fromkeys(r["selector"] for r in out["equal"]))
    f.write("# paths link_sum " + " ".join(sels) + "\n")
    for np in sorted({r["paths"] for r in out["equal"]}):
        vals = {r["selector"]: r["mib_s"] for r in out["equal"] if r["paths"] == np}
        f.write(f"{np} {link * np:.2f} " + " ".join(str(vals.get(s, "NaN")) for s in sels) + "\n")
PY
cp "$ag_dir/chart.dat" "$here/results/aggregation.dat"
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF2 || echo "  aggregation: gnuplot failed" >&2
set terminal pngcairo size 800,500 noenhanced
set output "$BRAID_SOURCE_DIR/docs/aggregation-throughput.png"
set title "braidd multibus read throughput vs paths (veth links tbf-shaped to $AG_RATE Mbit/s each)"
set xlabel "paths"; set ylabel "MiB/s (fio 1 MiB read QD 16 via NBD)"
set xtics (1, 2, 4); set key top left; set yrange [0:*]; set xrange [0.5:4.5]
f = "$here/results/aggregation.dat"
plot f using 1:2 with linespoints lw 2 dt 2 lc rgb "black" title "sum of link rates", \
     f using 1:3 with linespoints title "round-robin", f using 1:4 with linespoints title "queue-length", \
     f using 1:5 with linespoints title "service-time", f using 1:6 with linespoints title "historical-service-time"
EOF2
fi
