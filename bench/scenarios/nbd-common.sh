# bench/scenarios/nbd-common.sh, sourced by the scenarios that drive an
# NBD server with fio (export, tls); not a scenario itself.
#
# bench_braidd DIR ARGS...: a braidd with every file of its own under DIR,
# logged in to bench/run's LUN (127.0.0.1:$port, $IQN), killed at the end;
# waits (bounded) for its export, then sets BRAIDD_PID and BRAIDD_EXPORT.
#
# ex_case CASE SERVER URI PID RW BS QD: run fio's nbd engine on URI for
# SECS seconds and print one JSON row: IOPS, MiB/s, p99 completion
# latency, and the CPU the server process PID used (utime + stime from
# /proc/PID/stat) per GiB moved and per 1000 I/Os.
bench_braidd () {
  local d=$1
  shift
  mkdir -p "$d/etc"
  "$BRAID_BUILD_DIR/src/braidd/braidd" -f --braid-config "$d/etc/braid.conf" --config "$d/etc/multipath.conf" \
    --config-dir "$d/etc/conf.d" --wwids "$d/etc/wwids" --bindings "$d/etc/bindings" \
    --state-dir "$d/state" --run-dir "$d/run" --login "127.0.0.1:$port,$IQN" "$@" \
    > "$d/log" 2>&1 &
  BRAIDD_PID=$!
  cleanup_fn kill "$BRAIDD_PID"
  wait_for "braidd export ($d)" 20 bash -c "nbdinfo --list 'nbd+unix:///?socket=$d/run/nbd.sock' 2>/dev/null | grep -q export=" \
    || fail "braidd ($d) did not export the LUN"
  BRAIDD_EXPORT=$(nbdinfo --list "nbd+unix:///?socket=$d/run/nbd.sock" | sed -n 's/^export="\(.*\)":/\1/p' | head -n 1)
}

ex_case () {
  local t0 t1
  t0=$(awk '{print $14 + $15}' "/proc/$4/stat")
  timeout $(( SECS + 60 )) fio --name=b --ioengine=nbd --uri="$3" --rw="$5" --bs="$6" --iodepth="$7" \
      --size=8G --runtime="$SECS" --time_based --output-format=json \
      > "$TMPDIR_TEST/fio.json" 2>/dev/null || fail "fio $1 on $2 failed"
  t1=$(awk '{print $14 + $15}' "/proc/$4/stat")
  python3 - "$TMPDIR_TEST/fio.json" "$(( t1 - t0 ))" "$1" "$2" <<'PY'
import json, os, sys
text = open(sys.argv[1]).read()
j = json.loads(text[text.index("{"):])["jobs"][0]   # fio's nbd engine chats first
d = j["write"] if j["write"]["io_bytes"] > j["read"]["io_bytes"] else j["read"]
cpu = int(sys.argv[2]) / os.sysconf("SC_CLK_TCK")
gib = d["io_bytes"] / 2**30
print(json.dumps({"case": sys.argv[3], "server": sys.argv[4], "iops": round(d["iops"]),
                  "mib_s": round(d["bw"] / 1024.0, 1),
                  "p99_us": round(d.get("clat_ns", {}).get("percentile", {}).get("99.000000", 0) / 1000, 1),
                  "cpu_s": round(cpu, 2),
                  "cpu_s_per_gib": round(cpu / gib, 3) if gib else None,
                  "cpu_ms_per_1000_io": round(cpu * 1e6 / d["total_ios"], 2) if d["total_ios"] else None}))
PY
}
