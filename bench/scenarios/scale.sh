# bench/scenarios/scale.sh, sourced by bench/run (scenario "scale").
#
# One tgtd target with SC_LUNS null LUNs (default 256) on four portals
# (127.0.0.1-127.0.0.4, the tgtd bench/run started) = 4 x SC_LUNS paths.
# Measures: seconds from braidd's start (--login for the four portals)
# until every map has four paths ("show maps raw format"), braidd's RSS
# per path (total, and above an idle braidd with no session), and its CPU
# over SC_IDLE seconds (default 30) with the checkers running.  Then a
# 10 s strace -c of the idle daemon, to show where idle CPU goes.
. "$here/../tests/lib/braidd.sh"
SC_LUNS=${SC_LUNS:-256} SC_IDLE=${SC_IDLE:-30}
SC_IQN=iqn.2026-11.dev.braid:bench-scale
braid_cli="$BRAID_BUILD_DIR/src/braid/braid"
tgt_portal_add "127.0.0.3:$port"
tgt_portal_add "127.0.0.4:$port"
tgt_target 3 "$SC_IQN"
sc_t=$SECONDS
for (( l = 1; l <= SC_LUNS; l++ )); do
  tgt_lun 3 "$l" null
  (( SECONDS - sc_t < 600 )) || fail "scale: tgtd took over 600 s for $l LUNs"
done
tgt_bind_all 3
echo "scale: tgtd made $SC_LUNS LUNs in $(( SECONDS - sc_t )) s" >&2

# An idle braidd without sessions, for the baseline RSS.
BRAIDD_EXPORTS=0 start_braidd sc-idle
sleep 2
sc_rss0=$(awk '/^VmRSS/ {print $2}' "/proc/$BRAIDD_PID/status")
stop_braidd sc-idle

sc_maps () { # -> "maps with 4 paths" "paths"
  "$braid_cli" --run-dir "$(braidd_dir sc)/run" show maps raw format "%n %N" 2>/dev/null \
    | awk '$2 ~ /^[0-9]+$/ { p += $2; if ($2 >= 4) m++ } END { print m + 0, p + 0 }'
}
# braidd is started here, not with start_braidd: that waits on
# "nbdinfo --list", which braidd refuses with this many exports ("too many
# options").  Ready = every LUN's map has four paths; a map that never
# comes (braidd does not see LUN 256 and above) stops the wait after
# SC_WAIT s, and the time the count last grew is reported as well.
SC_WAIT=${SC_WAIT:-30}
sc_d=$(braidd_dir sc)
mkdir -p "$sc_d/conf.d" "$sc_d/state" "$sc_d/run"
: > "$sc_d/multipath.conf"
sc_t0=$(date +%s.%N)
"$BRAID_BUILD_DIR/src/braidd/braidd" -f --braid-config "$sc_d/braid.conf" --config "$sc_d/multipath.conf" --config-dir "$sc_d/conf.d" \
  --wwids "$sc_d/wwids" --bindings "$sc_d/bindings" --state-dir "$sc_d/state" --run-dir "$sc_d/run" \
  --login "127.0.0.1:$port,$SC_IQN" --login "127.0.0.2:$port,$SC_IQN" \
  --login "127.0.0.3:$port,$SC_IQN" --login "127.0.0.4:$port,$SC_IQN" </dev/null > "$sc_d/braidd.log" 2>&1 &
BRAIDD_PID=$!
sc_start=$(_braid_proc_start "$BRAIDD_PID") || sc_start=
cleanup_fn stop_process "$BRAIDD_PID" "$sc_start" 10
sc_ready= sc_last=0 sc_lastm=0
for (( i = 0; i < SC_WAIT * 20; i++ )); do
  read -r m p < <(sc_maps)
  sc_now=$(python3 -c "print(round($(date +%s.%N) - $sc_t0, 2))")
  if (( m > sc_lastm )); then sc_lastm=$m sc_last=$sc_now; fi
  if (( m >= SC_LUNS )); then sc_ready=$sc_now; break; fi
  sleep 0.05
done
read -r m p < <(sc_maps)
sc_lastadd=$(python3 - "$sc_d/braidd.log" "$sc_t0" <<'PY'
import sys, datetime, time
t0 = float(sys.argv[2]); last = None
day = datetime.datetime.utcfromtimestamp(t0).date()
for l in open(sys.argv[1]):
    if ": added path " in l:
        last = l.split()[0]
if last:
    h, mi, s = last.split(":")
    lt = datetime.datetime.combine(day, datetime.time(int(h), int(mi))).replace(tzinfo=datetime.timezone.utc).timestamp() + float(s)
    off = time.localtime(t0).tm_gmtoff
    print(round(lt - off - t0, 2))
else:
    print("null")
PY
)
echo "scale: $m maps with 4 paths, $p paths; all $SC_LUNS ready after ${sc_ready:-never (${SC_WAIT} s)} s; count last grew at $sc_last s; last 'added path' logged at $sc_lastadd s" >&2
sleep 2
sc_rss=$(awk '/^VmRSS/ {print $2}' "/proc/$BRAIDD_PID/status")
c0=$(awk '{print $14 + $15}' "/proc/$BRAIDD_PID/stat")
sleep "$SC_IDLE"
c1=$(awk '{print $14 + $15}' "/proc/$BRAIDD_PID/stat")
sc_strace=
if command -v strace >/dev/null; then
  timeout -s INT 10 strace -c -f -p "$BRAIDD_PID" -o "$TMPDIR_TEST/scale-strace.txt" 2>/dev/null || true
  sc_strace=$TMPDIR_TEST/scale-strace.txt
fi
python3 - "$TMPDIR_TEST/scale.json" "$SC_LUNS" "$m" "$p" "${sc_ready:-null}" "$sc_rss0" "$sc_rss" \
  "$(( c1 - c0 ))" "$SC_IDLE" "$sc_strace" "$sc_last" "$sc_lastadd" <<'PY'
import json, os, sys
out, luns, m, p, ready, rss0, rss, ticks, idle, st, last, lastadd = sys.argv[1:]
p = int(p); hz = os.sysconf("SC_CLK_TCK")
r = {"luns": int(luns), "maps_with_4_paths": int(m), "paths": p,
     "ready_s": None if ready == "null" else float(ready),
     "maps_count_last_grew_s": float(last),
     "last_added_path_logged_s": None if lastadd == "null" else float(lastadd),
     "rss_kib": int(rss), "rss_idle_daemon_kib": int(rss0),
     "rss_per_path_kib": round(int(rss) / max(p, 1), 1),
     "rss_per_path_above_idle_kib": round((int(rss) - int(rss0)) / max(p, 1), 1),
     "idle_cpu_percent": round(100.0 * int(ticks) / hz / float(idle), 2), "idle_s": float(idle)}
if st and os.path.exists(st):
    rows = []
    for l in open(st):
        f = l.split()
        if len(f) >= 5 and f[0].replace('.', '').isdigit() and f[-1] != "total":
            rows.append((f[-1], int(f[3])))
    r["strace_10s_top_calls"] = dict(sorted(rows, key=lambda x: -x[1])[:6])
json.dump(r, open(out, "w"), indent=2)
for k, v in r.items():
    print(f"  scale {k}: {v}", file=sys.stderr)
PY
stop_process "$BRAIDD_PID" "$sc_start" 10
