# bench/scenarios/tls.sh, sourced by bench/run (scenario "tls"; uses the
# tgtd null LUN bench/run starts).
#
# What TLS costs on the NBD export, and how braidd's TLS compares with
# qemu-nbd's (GnuTLS) on the same LUN: fio (--ioengine=nbd, libnbd's
# GnuTLS client, TLS 1.3) over TCP loopback against
#   braidd-tls   braidd --nbd-tcp --nbd-tls require --nbd-tls-certificates
#   braidd-tcp   the same braidd's TCP listener without TLS (a second
#                braidd with --nbd-tls off), the cost baseline
#   qemu-nbd-tls qemu-nbd + QEMU's libiscsi driver, --tls-creds (X.509)
# at 4 KiB random read QD 32 and 1 MiB sequential read QD 8.  Ratios:
# braidd-tls / qemu-nbd-tls (the peer) and braidd-tls / braidd-tcp (what
# encryption costs braidd).  X.509 (tests/lib/tls.sh's certificates, the
# client not verifying the server) rather than PSK because fio's nbd engine
# cannot pass a PSK file: libnbd refuses local files named in a URI unless
# the program allows them, and fio does not.
requires fio qemu-nbd openssl
. "$here/scenarios/nbd-common.sh"
. "$BRAID_SOURCE_DIR/tests/lib/tls.sh"
tdir="$TMPDIR_TEST/tls"
tls_make_pki "$tdir/pki"           # server/: ca-cert, server-cert, server-key
certs=$tdir/pki/server
tport=$(pick_port)
cport=$(pick_port)
qport=$(pick_port)
bench_braidd "$tdir/tls" --nbd-tcp "127.0.0.1:$tport" --nbd-tls require --nbd-tls-certificates "$certs"
tpid=$BRAIDD_PID texport=$BRAIDD_EXPORT
bench_braidd "$tdir/tcp" --nbd-tcp "127.0.0.1:$cport"
cpid=$BRAIDD_PID
qemu-nbd -f raw --cache=none --aio=threads -t -e 4 --bind 127.0.0.1 --port "$qport" \
  --object "tls-creds-x509,id=tls0,endpoint=server,dir=$certs,verify-peer=off" --tls-creds tls0 "$URL" \
  > "$TMPDIR_TEST/qemu-nbd-tls.log" 2>&1 &
qtpid=$!
cleanup_fn kill "$qtpid"
wait_for "qemu-nbd TLS port" 20 port_accepts 127.0.0.1 "$qport" || fail "qemu-nbd (TLS) did not start"

: > "$TMPDIR_TEST/tls.rows"
echo "tls: fio nbd engine over TCP loopback, TLS 1.3 X.509; braidd TLS vs braidd plain TCP vs qemu-nbd TLS, ${SECS}s x $ROUNDS" >&2
nv="tls-verify-peer=false"
for c in "randread-4k-qd32 randread 4k 32" "seqread-1m-qd8 read 1M 8"; do
  set -- $c
  for ((r = 0; r < ROUNDS; r++)); do
    ex_case "$1" braidd-tls "nbds://127.0.0.1:$tport/$texport?$nv" "$tpid" "$2" "$3" "$4" \
      | tee -a "$TMPDIR_TEST/tls.rows" | sed 's/^/  tls /' >&2
    ex_case "$1" braidd-tcp "nbd://127.0.0.1:$cport/$texport" "$cpid" "$2" "$3" "$4" \
      | tee -a "$TMPDIR_TEST/tls.rows" | sed 's/^/  tls /' >&2
    ex_case "$1" qemu-nbd-tls "nbds://127.0.0.1:$qport/?$nv" "$qtpid" "$2" "$3" "$4" \
      | tee -a "$TMPDIR_TEST/tls.rows" | sed 's/^/  tls /' >&2
  done
done
python3 - "$TMPDIR_TEST/tls.rows" "$TMPDIR_TEST/tls.json" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
servers = ("braidd-tls", "braidd-tcp", "qemu-nbd-tls")
keys = ("iops", "mib_s", "p99_us", "cpu_s_per_gib", "cpu_ms_per_1000_io")
out = {"peer": "qemu-nbd --tls-creds (GnuTLS, X.509) + QEMU's libiscsi driver; client: fio nbd engine (libnbd, GnuTLS)",
       "cases": {}}
print("tls (fio --ioengine=nbd over TCP loopback, TLS 1.3 X.509; CPU = the server process's own):")
print(f"{'case':18} {'braidd-tls':>10} {'braidd-tcp':>10} {'qemu-tls':>9} {'vs qemu':>8} {'vs tcp':>7}"
      f" {'CPU s/GiB tls/tcp/qemu':>24}")
for case in dict.fromkeys(r["case"] for r in rows):
    m = {s: {k: statistics.median(r[k] for r in rows if r["case"] == case and r["server"] == s and r[k] is not None)
             for k in keys} for s in servers}
    t, c, q = (m[s] for s in servers)
    vq = t["iops"] / q["iops"] if q["iops"] else None
    vc = t["iops"] / c["iops"] if c["iops"] else None
    out["cases"][case] = {**m, "tls_vs_qemu_tls": round(vq, 3) if vq else None,
                          "tls_vs_plain_tcp": round(vc, 3) if vc else None}
    print(f"{case:18} {t['iops']:10.0f} {c['iops']:10.0f} {q['iops']:9.0f} {vq:8.2f} {vc:7.2f}"
          f" {t['cpu_s_per_gib']:7.2f}/{c['cpu_s_per_gib']:.2f}/{q['cpu_s_per_gib']:.2f}")
json.dump(out, open(sys.argv[2], "w"), indent=2)
PY
