# bench/scenarios/export.sh, sourced by bench/run (scenario "export"; uses
# the tgtd and null LUN bench/run starts, and leaves braidd and qemu-nbd
# running for scenario "profile").
#
# fio (--ioengine=nbd) against braidd's NBD export and against qemu-nbd
# serving the same LUN through QEMU's libiscsi driver, one path each
# (qemu-nbd has no multipath): 4 KiB random read and write at QD 1 and 32,
# 1 MiB sequential read and write at QD 8.  Per case and server: IOPS,
# MiB/s, p99 completion latency, and the server's own CPU (utime + stime
# from /proc/PID/stat) per GiB moved and per 1000 I/Os.
requires fio qemu-nbd
. "$here/scenarios/nbd-common.sh"
bdir="$TMPDIR_TEST/braidd"
bench_braidd "$bdir"
bpid=$BRAIDD_PID bexport=$BRAIDD_EXPORT
qemu-nbd -f raw --cache=none --aio=threads -t -e 4 --socket="$TMPDIR_TEST/qemu.sock" "$URL" \
  > "$TMPDIR_TEST/qemu-nbd.log" 2>&1 &
qpid=$!
cleanup_fn kill "$qpid"
wait_for "qemu-nbd socket" 20 test -S "$TMPDIR_TEST/qemu.sock" || fail "qemu-nbd did not start"

: > "$TMPDIR_TEST/export.rows"
echo "export: fio nbd engine, braidd vs qemu-nbd+libiscsi, one path, ${SECS}s x $ROUNDS" >&2
for c in "randread-4k-qd1 randread 4k 1" "randread-4k-qd32 randread 4k 32" \
         "randwrite-4k-qd1 randwrite 4k 1" "randwrite-4k-qd32 randwrite 4k 32" \
         "seqread-1m-qd8 read 1M 8" "seqwrite-1m-qd8 write 1M 8"; do
  set -- $c
  for ((r = 0; r < ROUNDS; r++)); do
    ex_case "$1" braidd "nbd+unix:///$bexport?socket=$bdir/run/nbd.sock" "$bpid" "$2" "$3" "$4" \
      | tee -a "$TMPDIR_TEST/export.rows" | sed 's/^/  export /' >&2
    ex_case "$1" qemu-nbd "nbd+unix:///?socket=$TMPDIR_TEST/qemu.sock" "$qpid" "$2" "$3" "$4" \
      | tee -a "$TMPDIR_TEST/export.rows" | sed 's/^/  export /' >&2
  done
done
python3 - "$TMPDIR_TEST/export.rows" "$TMPDIR_TEST/export.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
out = {"peer": "qemu-nbd (raw, cache=none, aio=threads) + QEMU's libiscsi driver", "cases": {}}
keys = ("iops", "mib_s", "p99_us", "cpu_s_per_gib", "cpu_ms_per_1000_io")
print("export (fio --ioengine=nbd; CPU = the server process's own, utime+stime):")
print(f"{'case':18} {'braidd IOPS':>11} {'qemu-nbd':>9} {'ratio':>6} {'MiB/s b/q':>13} {'p99 us b/q':>15}"
      f" {'CPU s/GiB b/q':>15} {'CPU ms/1k IO b/q':>17}")
for case in dict.fromkeys(r["case"] for r in rows):
    m = {}
    for srv in ("braidd", "qemu-nbd"):
        rs = [r for r in rows if r["case"] == case and r["server"] == srv]
        m[srv] = {k: statistics.median(r[k] for r in rs if r[k] is not None) for k in keys}
    b, q = m["braidd"], m["qemu-nbd"]
    ratio = b["iops"] / q["iops"] if q["iops"] else None
    out["cases"][case] = {"braidd": b, "qemu-nbd": q, "iops_ratio": round(ratio, 3) if ratio else None}
    print(f"{case:18} {b['iops']:11.0f} {q['iops']:9.0f} {ratio:6.2f} {b['mib_s']:6.0f}/{q['mib_s']:<6.0f}"
          f" {b['p99_us']:7.0f}/{q['p99_us']:<7.0f} {b['cpu_s_per_gib']:7.2f}/{q['cpu_s_per_gib']:<7.2f}"
          f" {b['cpu_ms_per_1000_io']:8.1f}/{q['cpu_ms_per_1000_io']:<8.1f}")
json.dump(out, open(sys.argv[2], "w"), indent=2)
PY
