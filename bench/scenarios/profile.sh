# bench/scenarios/profile.sh, sourced by bench/run (scenario "profile",
# after "export", whose braidd and qemu-nbd it reuses).
#
# fio 4 KiB random read QD 32 through each NBD server while perf stat
# counts that server's syscalls and context switches: syscalls and
# switches per I/O, and CPU per I/O, to show what bounds the export case.
requires perf fio
[[ -n ${bpid:-} && -n ${qpid:-} ]] || fail "scenario profile needs scenario export in BENCH"
pf_one () { # name uri pid
  local c0 c1
  c0=$(awk '{print $14 + $15}' "/proc/$3/stat")
  timeout $(( SECS + 30 )) perf stat -x, -e raw_syscalls:sys_enter,context-switches -p "$3" \
    -o "$TMPDIR_TEST/perf-$1.csv" -- sleep "$SECS" &
  local ppid=$!
  timeout $(( SECS + 30 )) fio --name=p --ioengine=nbd --uri="$2" --rw=randread --bs=4k --iodepth=32 \
    --size=8G --runtime="$SECS" --time_based --output-format=json > "$TMPDIR_TEST/pf-$1.json" 2>/dev/null || true
  wait "$ppid" || true
  c1=$(awk '{print $14 + $15}' "/proc/$3/stat")
  python3 - "$1" "$TMPDIR_TEST/pf-$1.json" "$TMPDIR_TEST/perf-$1.csv" "$(( c1 - c0 ))" "$SECS" <<'PY' >> "$TMPDIR_TEST/profile.rows"
import json, os, sys
name, fj, pc, ticks, secs = sys.argv[1:]
t = open(fj).read()
iops = json.loads(t[t.index("{"):])["jobs"][0]["read"]["iops"]
ev = {}
for l in open(pc):
    f = l.strip().split(",")
    if len(f) > 3 and f[0].replace(".", "").isdigit():
        ev[f[2]] = float(f[0])
ios = iops * float(secs)
print(json.dumps({"server": name, "iops": round(iops), "syscalls_per_io": round(ev.get("raw_syscalls:sys_enter", 0) / ios, 2),
                  "context_switches_per_io": round(ev.get("context-switches", 0) / ios, 3),
                  "cpu_us_per_io": round(int(ticks) / os.sysconf("SC_CLK_TCK") * 1e6 / ios, 2)}))
PY
}
: > "$TMPDIR_TEST/profile.rows"
pf_one braidd "nbd+unix:///$bexport?socket=$bdir/run/nbd.sock" "$bpid"
pf_one qemu-nbd "nbd+unix:///?socket=$TMPDIR_TEST/qemu.sock" "$qpid"
python3 - "$TMPDIR_TEST/profile.rows" "$TMPDIR_TEST/profile.json" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"case": "fio 4 KiB randread QD 32 via NBD, perf stat on the server", "servers": rows},
          open(sys.argv[2], "w"), indent=2)
for r in rows:
    print("  profile", r, file=sys.stderr)
PY
