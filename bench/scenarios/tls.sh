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
# encryption costs braidd).  X.509 (EC P-256, the client not verifying
# the server) rather than PSK because fio's nbd engine
# cannot pass a PSK file: libnbd refuses local files named in a URI unless
# the program allows them, and fio does not.
requires fio qemu-nbd openssl
. "$here/scenarios/fio-case.sh"
tdir="$TMPDIR_TEST/tls"
mkdir -p "$tdir/qemu"
q=$tdir/qemu   # a CA and a server certificate signed by it (qemu wants both)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "/CN=braid bench CA" \
  -keyout "$tdir/ca-key.pem" -out "$q/ca-cert.pem" 2>/dev/null || fail "openssl: CA"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
  -keyout "$q/server-key.pem" -out "$tdir/server.csr" 2>/dev/null || fail "openssl: request"
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$tdir/ext"
openssl x509 -req -in "$tdir/server.csr" -CA "$q/ca-cert.pem" -CAkey "$tdir/ca-key.pem" -CAcreateserial \
  -CAserial "$tdir/ca.srl" -days 2 -extfile "$tdir/ext" -out "$q/server-cert.pem" 2>/dev/null || fail "openssl: sign"
chmod 0600 "$q/server-key.pem"

tls_braidd () { # NAME NBD_PORT ARGS...: start a braidd serving the LUN on TCP
  local d="$tdir/$1" p=$2
  shift 2
  mkdir -p "$d/etc"
  "$BRAID_BUILD_DIR/src/braidd/braidd" -f --braid-config "$d/etc/braid.conf" --config "$d/etc/multipath.conf" \
    --config-dir "$d/etc/conf.d" --wwids "$d/etc/wwids" --bindings "$d/etc/bindings" \
    --state-dir "$d/state" --run-dir "$d/run" --login "127.0.0.1:$port,$IQN" \
    --nbd-tcp "127.0.0.1:$p" "$@" > "$d/log" 2>&1 &
  echo $!
}
tport=$(pick_port)
cport=$(pick_port)
qport=$(pick_port)
tpid=$(tls_braidd tls "$tport" --nbd-tls require --nbd-tls-certificates "$tdir/qemu")
cleanup_fn kill "$tpid"
cpid=$(tls_braidd tcp "$cport")
cleanup_fn kill "$cpid"
for d in tls tcp; do
  wait_for "braidd $d export" 20 bash -c "nbdinfo --list 'nbd+unix:///?socket=$tdir/$d/run/nbd.sock' 2>/dev/null | grep -q export=" \
    || fail "braidd $d did not export the LUN"
done
texport=$(nbdinfo --list "nbd+unix:///?socket=$tdir/tls/run/nbd.sock" | sed -n 's/^export="\(.*\)":/\1/p' | head -n 1)
qemu-nbd -f raw --cache=none --aio=threads -t -e 4 --bind 127.0.0.1 --port "$qport" \
  --object "tls-creds-x509,id=tls0,endpoint=server,dir=$tdir/qemu,verify-peer=off" --tls-creds tls0 "$URL" \
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
