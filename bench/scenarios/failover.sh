# bench/scenarios/failover.sh, sourced by bench/run (scenario "failover").
#
# A verified writer (tests/prog/nbd-verify.py, paced by --rate) runs on a
# two-portal map of braidd's NBD export while the path carrying the I/O
# is cut CUTS times with iptables DROP and CUTS times with REJECT
# tcp-reset, restored between cuts.  The silent cut drops in INPUT, not
# OUTPUT: on loopback a packet dropped in OUTPUT fails the sender's
# sendmsg() with EPERM, so a cut that meets braidd's next send is noticed
# at once and does not measure a silent path.  Two profiles: the defaults
# (NOP-Out every 500 ms, 1000 ms to answer) and a tuned one set in
# braid.conf (noop_out_interval 200, noop_out_timeout 300: a silent path
# is noticed within 0.5 s, at 5 pings a second per session).
# nbd-verify.py --timeline records every I/O's completion gap; every
# completion goes to bench/results/failover-[tuned-]MODE-timeline.dat.gz,
# the default profile's gaps > 50 ms and cut times to failover-gaps.dat, a
# chart docs/failover-gaps.png when gnuplot exists, and failover.json.
# Needs: the tgtd bench/run started ($TGT_CTL, $port), iptables.
. "$here/../tests/lib/braidd.sh"
requires iptables nbdinfo
FO_CUTS=${FO_CUTS:-10} FO_RATE=${FO_RATE:-2000} FO_HOLD=${FO_HOLD:-2}
FO_TUNED_INTERVAL=${FO_TUNED_INTERVAL:-200} FO_TUNED_TIMEOUT=${FO_TUNED_TIMEOUT:-300}
FO_IQN=iqn.2026-11.dev.braid:bench-failover
tgt_target 2 "$FO_IQN"
tgt_lun 2 1 failover.img 64M
tgt_bind_all 2
count_path 127.0.0.1 "$port"
count_path 127.0.0.2 "$port"
fo_verify="$here/../tests/prog/nbd-verify.py"
fo_data="$TMPDIR_TEST/failover"
mkdir -p "$fo_data"

# The portal carrying the I/O now: the one whose byte count grows.
fo_active () {
  local a1 a2 b1 b2
  a1=$(path_bytes 127.0.0.1 "$port"); a2=$(path_bytes 127.0.0.2 "$port")
  sleep 0.3
  b1=$(path_bytes 127.0.0.1 "$port"); b2=$(path_bytes 127.0.0.2 "$port")
  echo "  failover: bytes in 0.3 s: 127.0.0.1 $(( b1 - a1 )), 127.0.0.2 $(( b2 - a2 ))" >&2
  if (( b1 - a1 >= b2 - a2 )); then echo 127.0.0.1; else echo 127.0.0.2; fi
}
# Both paths usable again: braid reports no failed/faulty path.
fo_both_up () {
  local out
  out=$("$BRAID_BUILD_DIR/src/braid/braid" --run-dir "$BRAIDD_DIR/run" show paths raw format "%t %T" 2>/dev/null) || return 1
  [[ $(echo "$out" | grep -c .) -ge 2 ]] && ! echo "$out" | grep -qiE 'fail|faulty|shaky|down'
}

# fo_cut/fo_restore drop|reset ADDR: silence in INPUT (both directions,
# this port, tagged like braidd.sh's rules), or cut_path's reset.
fo_drop_rules () {
  echo "INPUT -p tcp -d $1 --dport $port -m comment --comment $_braidd_ipt_tag-fodrop -j DROP"
  echo "INPUT -p tcp -s $1 --sport $port -m comment --comment $_braidd_ipt_tag-fodrop -j DROP"
}
fo_drop_del () {
  local spec i
  while read -r spec; do
    for (( i = 0; i < 10; i++ )); do
      iptables -w 10 -D $spec 2>/dev/null || break
    done
  done < <(fo_drop_rules "$1")
}
fo_cut () {
  local spec
  if [[ $1 == drop ]]; then
    cleanup_fn fo_drop_del "$2"
    while read -r spec; do iptables -w 10 -I $spec; done < <(fo_drop_rules "$2")
    log "cut $2:$port (drop in INPUT)"
  else
    cut_path "$1" "$2" "$port"
  fi
}
fo_restore () {
  if [[ $1 == drop ]]; then fo_drop_del "$2"; log "restored $2:$port"; else restore_path "$1" "$2" "$port"; fi
}

fo_run () { # mode [file prefix]
  local mode=$1 i a t0 secs
  local f=${2:-}$1
  secs=$(( FO_CUTS * (FO_HOLD + 15) + 10 ))
  rm -f "$fo_data/$f.ready" "$fo_data/$f.stop"
  timeout $(( secs + 120 )) python3 "$fo_verify" --socket "$BRAIDD_SOCK" --export "$fo_export" \
    --rate "$FO_RATE" --seconds "$secs" --blocks 4096 --io-timeout 60 \
    --ready-file "$fo_data/$f.ready" --stop-file "$fo_data/$f.stop" \
    --report "$fo_data/$f.json" --timeline "$fo_data/$f-timeline.dat" &
  local vpid=$!
  wait_for "nbd-verify ready" 20 test -e "$fo_data/$f.ready" || fail "nbd-verify did not start"
  t0=$(stat -c %.Y "$fo_data/$f.ready")
  : > "$fo_data/$f.cuts"
  sleep 2
  # settle 3 s after both paths are back (failback), then find the path
  # carrying the I/O and cut it
  for (( i = 0; i < FO_CUTS; i++ )); do
    a=$(fo_active)
    echo "$(python3 -c "import time; print(round(time.time() - $t0, 3))") $a" >> "$fo_data/$f.cuts"
    fo_cut "$mode" "$a"
    sleep "$FO_HOLD"
    fo_restore "$mode" "$a"
    wait_for "both paths back" 30 fo_both_up || echo "  failover: paths not both back after 30 s" >&2
    sleep 2
  done
  touch "$fo_data/$f.stop"
  wait "$vpid" || echo "  failover $f: nbd-verify exit $? (errors or mismatches)" >&2
  gzip -c "$fo_data/$f-timeline.dat" > "$here/results/failover-$f-timeline.dat.gz" || true
}
echo "failover: nbd-verify at $FO_RATE I/O/s on a 2-portal map, $FO_CUTS cuts each of drop and reset, ${FO_HOLD}s each, default and tuned profiles" >&2
# fo_profile NAME PREFIX [braidd args]: one braidd, both kinds of cut.
fo_profile () {
  local name=$1 prefix=$2
  shift 2
  BRAIDD_PATHS=2 start_braidd "fo-$name" "$@" --login "127.0.0.1:$port,$FO_IQN" --login "127.0.0.2:$port,$FO_IQN"
  fo_export=$(braidd_export "fo-$name")
  fo_run drop "$prefix"
  fo_run reset "$prefix"
  stop_braidd "fo-$name"
}
fo_profile default ""
printf 'noop_out_interval %s\nnoop_out_timeout %s\n' "$FO_TUNED_INTERVAL" "$FO_TUNED_TIMEOUT" > "$fo_data/tuned.conf"
fo_profile tuned tuned- --braid-config "$fo_data/tuned.conf"

python3 - "$fo_data" "$TMPDIR_TEST/failover.json" "$FO_HOLD" "$FO_TUNED_INTERVAL" "$FO_TUNED_TIMEOUT" <<'PY'
import json, statistics, sys
d, out, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
res = {"profile": "defaults (NOP-Out 500 ms / 1000 ms timeout)",
       "tuned_profile": f"braid.conf noop_out_interval {sys.argv[4]}, noop_out_timeout {sys.argv[5]} (ms)"}
dat = open(d + "/../failover-gaps.dat", "w")
print(f"{'profile':8} {'cut':6} {'cuts':>4} {'longest ms':>11} {'median ms':>10} {'window ms':>10} {'errors':>7} {'mismatches':>10}")
for key in ("drop", "reset", "tuned-drop", "tuned-reset"):
    mode = key.split("-")[-1]
    profile = "tuned" if key.startswith("tuned") else "default"
    rep = json.load(open(f"{d}/{key}.json"))
    cuts = [float(l.split()[0]) for l in open(f"{d}/{key}.cuts") if l.strip()]
    slow = [tuple(map(float, l.split())) for l in open(f"{d}/{key}-timeline.dat") if l.strip()]
    per, win = [], []
    ends = cuts[1:] + [float(rep["seconds"])]
    for c, e in zip(cuts, ends):
        # A gap ending at t covers [t - gap, t].  At 2000 I/O/s one I/O is
        # always in flight, so the gap the cut causes starts within a few
        # ms of it; "window" is the longest gap anywhere from the cut to
        # the next one (restore, relogin, reinstatement included).
        starts = [(t - ms / 1000, ms) for t, ms in slow]
        g = [ms for st, ms in starts if c - 0.1 <= st <= c + 0.1]
        w = [ms for st, ms in starts if c - 0.1 <= st < e - 0.1]
        per.append(max(g) if g else 0.0)
        win.append(max(w) if w else 0.0)
    res[key] = {"cuts": len(cuts), "gaps_at_cut_ms": per, "longest_ms": max(per),
                 "median_ms": statistics.median(per), "window_gaps_ms": win,
                 "longest_in_window_ms": max(win), "errors": rep["errors"],
                 "mismatches": rep["mismatches"], "ios": rep["ios"],
                 "note": "gap = time between two consecutive completions, from every I/O (nbd-verify.py --timeline)"}
    print(f"{profile:8} {mode:6} {len(cuts):4} {max(per):11.1f} {statistics.median(per):10.1f} {max(win):10.1f} {rep['errors']:7} {rep['mismatches']:10}")
    if profile == "tuned":
        continue
    dat.write(f"# {mode}: completion time (s), gap (ms) for gaps > 50 ms (first row: a placeholder below the chart)\n0 1\n")
    for t, ms in slow:
        if ms > 50:
            dat.write(f"{t} {ms}\n")
    dat.write("\n\n")
    dat.write(f"# {mode}: cut times (s)\n")
    for c in cuts:
        dat.write(f"{c} 0\n")
    dat.write("\n\n")
dat.close()
json.dump(res, open(out, "w"), indent=2)
PY
cp "$TMPDIR_TEST/failover-gaps.dat" "$here/results/failover-gaps.dat"
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF2 || echo "  failover: gnuplot failed" >&2
set terminal pngcairo size 1000,500 noenhanced
set output "$BRAID_SOURCE_DIR/docs/failover-gaps.png"
set multiplot layout 1,2 title "braidd failover: gap before each NBD completion (verified writer at $FO_RATE I/O/s); red lines = cuts"
set xlabel "time (s)"; set ylabel "gap since previous completion (ms)"; set logscale y; set yrange [0.1:10000]
set title "iptables DROP"
plot "$here/results/failover-gaps.dat" index 1 using 1:(0.1):(0):(9999.9) with vectors nohead lc rgb "red" title "cut", \
     "$fo_data/drop-timeline.dat" using 1:2 with impulses lc rgb "blue" title "gap (every I/O)"
set title "iptables REJECT tcp-reset"
plot "$here/results/failover-gaps.dat" index 3 using 1:(0.1):(0):(9999.9) with vectors nohead lc rgb "red" title "cut", \
     "$fo_data/reset-timeline.dat" using 1:2 with impulses lc rgb "blue" title "gap (every I/O)"
unset multiplot
EOF2
fi
