#!/usr/bin/env bash
# NBD over TLS (NBD_OPT_STARTTLS) on braidd's TCP listener.  With
# --nbd-tls require and a PSK file, a plaintext client gets
# NBD_REP_ERR_TLS_REQD (nbdinfo, and a raw client for every option, then
# closed on EXPORT_NAME) while alice with the right key reads and writes
# the LUN (nbdinfo, nbdcopy, qemu-img); a wrong key or an unknown identity
# is refused and logged; the key shows up in none of braidd's log (-vvv),
# argv, state or run dirs; the Unix socket still serves plaintext (and
# TLS).  Plaintext appended to STARTTLS ends that connection only.  With
# --nbd-tls on, plaintext and TLS clients are both served.  With X.509 and
# --nbd-tls-verify-peer only a client certificate from the server's CA is
# let in, and its CN is logged.  Bad TLS settings stop braidd (status 2)
# with a message naming the file (and line) or the flag.
# Every client command here was checked against nbdkit 1.32 as a TLS
# server first (see tests/lib/tls.sh), so a failure is braidd's.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
. "$(dirname "$0")/../lib/tls.sh"
requires tgtd tgtadm nbdinfo nbdcopy qemu-img openssl cmp
IQN=iqn.2026-11.dev.braid:nbdtls
BRAIDD=$(braid_bin braidd)
PROBE=$BRAID_SOURCE_DIR/tests/prog/nbd-tls-probe.py
SIZE=16777216

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 lun.img 16M
tgt_bind_all 1

T=$TMPDIR_TEST/tls
tls_make_pki "$T"
key=$(tls_psk_key)
mkdir -p "$T/psk" "$T/psk-wrong" "$T/psk-bob"
tls_make_psk "$T/server.psk" alice "$key" carol "$(tls_psk_key)"
tls_make_psk "$T/psk/keys.psk" alice "$key"
tls_make_psk "$T/psk-wrong/keys.psk" alice "$(tls_psk_key)"
tls_make_psk "$T/psk-bob/keys.psk" bob "$key"

# fails_with LOG_STRING COUNT DESC CMD...: CMD must fail, and braidd's log
# ($BRAIDD_NAME) must then hold COUNT lines with LOG_STRING.
fails_with ()
{
  local str=$1 count=$2 desc=$3 out rc=0
  shift 3
  out=$(timeout 30 "$@" 2>&1) || rc=$?
  [[ $rc != 0 ]] || fail "$desc: the client was served: $out"
  braidd_wait_log "$BRAIDD_NAME" 10 "$str" "$count" || fail "$desc: braidd did not log '$str'"
  log "$desc: refused (client: $(tail -n 1 <<< "$out"))"
}

# ---------------------------------------------------------------- PSK, require
np=$(pick_port)
BRAIDD_NAME=psk
start_braidd psk -v -v -v --login "127.0.0.1:$port,$IQN" --nbd-tcp "127.0.0.1:$np" \
  --nbd-tls require --nbd-tls-psk "$T/server.psk"
exp=$(braidd_export psk)
U=$(tls_psk_uri 127.0.0.1 "$np" "$exp" alice "$T/psk/keys.psk")

rc=0
out=$(timeout 30 nbdinfo --size "nbd://127.0.0.1:$np/$exp" 2>&1) || rc=$?
[[ $rc != 0 ]] || fail "a plaintext TCP client was served under --nbd-tls require"
grep -q "requires TLS" <<< "$out" || fail "nbdinfo did not get NBD_REP_ERR_TLS_REQD: $out"
braidd_wait_log psk 10 "TLS required" || fail "braidd did not log the plaintext client"
out=$(timeout 30 "$BRAID_PYTHON" "$PROBE" tls-reqd 127.0.0.1 "$np" "$exp" 2>&1) \
  || fail "raw plaintext client: $out"
pass "plaintext TCP client: NBD_REP_ERR_TLS_REQD for each option, closed on EXPORT_NAME, logged"

assert_eq "$(timeout 30 nbdinfo --size "$U")" "$SIZE" "nbdinfo over TLS-PSK sees the 16 MiB LUN"
braidd_wait_log psk 10 "TLS established" || fail "braidd did not log the TLS session"
grep "TLS established" "$BRAIDD_LOG" | grep "TLSv1.3" | grep -q "PSK identity alice" \
  || fail "the TLS log line does not name TLSv1.3 and identity alice: $(grep "TLS established" "$BRAIDD_LOG")"
pass "PSK identity alice: served over TLS 1.3, identity logged"

fails_with "wrong key for PSK identity alice" 1 "alice with a wrong key" \
  nbdinfo --size "$(tls_psk_uri 127.0.0.1 "$np" "$exp" alice "$T/psk-wrong/keys.psk")"
fails_with "TLS handshake failed" 2 "unknown identity bob" \
  nbdinfo --size "$(tls_psk_uri 127.0.0.1 "$np" "$exp" bob "$T/psk-bob/keys.psk")"
pass "a wrong key and an unknown identity are refused, each logged"

# ---------------------------------------------------------------- data over TLS
data=$TMPDIR_TEST/data.bin
head -c 8M /dev/urandom > "$data"
timeout 120 nbdcopy "$data" "$U" || fail "nbdcopy to the export over TLS failed"
cmp -n 8388608 "$data" "$TGT_LUN_FILE" || fail "the data written over TLS is not on the LUN"
timeout 120 nbdcopy "$U" "$TMPDIR_TEST/back.bin" || fail "nbdcopy from the export over TLS failed"
assert_eq "$(stat -c %s "$TMPDIR_TEST/back.bin")" "$SIZE" "nbdcopy read the whole LUN"
cmp -n 8388608 "$data" "$TMPDIR_TEST/back.bin" || fail "data read back over TLS differs"
pass "8 MiB written and read back over TLS by nbdcopy"

# qemu_sees OBJECT PORT EXPORT HOW: qemu-img, with the TLS credentials
# OBJECT (id tls0), sees the LUN's size and the data written above.
qemu_sees ()
{
  local obj=(--object "$1" --image-opts) img out
  img=$(tls_qemu_image 127.0.0.1 "$2" "$3")
  timeout 60 qemu-img info --output=json "${obj[@]}" "$img" | grep -q "\"virtual-size\": $SIZE" \
    || fail "qemu-img info over $4 does not see the LUN"
  # The LUN beyond the 8 MiB holds zeros, which compare accepts as equal.
  out=$(timeout 120 qemu-img compare "${obj[@]}" "driver=file,filename=$data" "$img" 2>&1) \
    || fail "qemu-img compare over $4: $out"
}
qemu_sees "$(tls_qemu_psk_object "$T/psk" alice)" "$np" "$exp" TLS-PSK
pass "qemu-img (tls-creds-psk) sees the size and the data written by nbdcopy"

# ---------------------------------------------------------------- Unix socket
sock_uri=$(braidd_uri psk "$exp")
assert_eq "$(timeout 30 nbdinfo --size "$sock_uri")" "$SIZE" "plaintext over the Unix socket"
n=$(braidd_count psk "TLS established")
assert_eq "$(timeout 30 nbdinfo --size "nbds+unix://alice@/$exp?socket=$BRAIDD_SOCK&tls-psk-file=$T/psk/keys.psk")" \
  "$SIZE" "TLS over the Unix socket"
braidd_wait_log psk 10 "TLS established" $(( n + 1 )) || fail "TLS over the Unix socket not logged"
pass "the Unix socket serves plaintext under --nbd-tls require, and STARTTLS too"

# ---------------------------------------------------------------- injection
inj=$TMPDIR_TEST/inject.out
"$BRAID_PYTHON" "$PROBE" inject 127.0.0.1 "$np" > "$inj" 2>&1 &
inj_pid=$!
timeout 30 nbdinfo --size "$U" > "$TMPDIR_TEST/beside.out" 2>&1 &
beside_pid=$!
rc=0; wait "$inj_pid" || rc=$?
(( rc == 0 )) || fail "STARTTLS injection: $(cat "$inj")"
rc=0; wait "$beside_pid" || rc=$?
assert_eq "$rc $(cat "$TMPDIR_TEST/beside.out")" "0 $SIZE" "a TLS client beside the injection"
peer=$(head -n 1 "$inj")
# _closed_why PEER: a log line of PEER's connection, other than the
# accept, that speaks of TLS (why braidd closed it).
_closed_why ()
{
  grep -F "($1): " "$BRAIDD_LOG" | grep -v ": connected$" | grep -qi "tls"
}
wait_for "braidd to say why it closed $peer" 10 _closed_why "$peer" \
  || fail "braidd does not say why it closed $peer: $(grep -F "($peer)" "$BRAIDD_LOG" || true)"
timeout 120 nbdcopy "$U" "$TMPDIR_TEST/back2.bin" || fail "nbdcopy over TLS after the injection"
cmp -n 8388608 "$data" "$TMPDIR_TEST/back2.bin" || fail "data read after the injection differs"
pass "plaintext after STARTTLS: that connection closed ($(tail -n 1 "$inj")) and logged; TLS clients unaffected"

# ---------------------------------------------------------------- the key stays secret
dump=$TMPDIR_TEST/argv
tr '\0' ' ' < "/proc/$BRAIDD_PID/cmdline" > "$dump"
if grep -ril -e "$key" "$dump" "$BRAIDD_LOG" "$BRAIDD_DIR/state" "$BRAIDD_DIR/run" \
     "$(braidd_wwids psk)" "$(braidd_bindings psk)" 2>/dev/null; then
  fail "the PSK (hex) leaked into the files above"
fi
# ... nor as raw bytes (a state file need not be text).
"$BRAID_PYTHON" - "$key" "$BRAIDD_LOG" "$BRAIDD_DIR/state" "$BRAIDD_DIR/run" <<'PY' || fail "the PSK (binary) leaked"
import os, sys
key = bytes.fromhex(sys.argv[1])
for top in sys.argv[2:]:
    paths = [top] if os.path.isfile(top) else [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs]
    for p in paths:
        if os.path.isfile(p) and key in open(p, "rb").read():
            print("raw key in", p)
            sys.exit(1)
PY
pass "the PSK is in none of braidd's log (-vvv), argv, state or run dirs"

# Key rotation: reconfigure rereads the credentials; a bad file is refused
# whole, named by file:line, and the keys in use stay.
B=("$(braid_bin braid)" --run-dir "$(braidd_dir psk)/run")
key2=$(tls_psk_key)
mkdir -p "$T/psk-new"
tls_make_psk "$T/psk-new/keys.psk" alice "$key2"
tls_make_psk "$T/server.psk" alice "$key2"
"${B[@]}" reconfigure || fail "reconfigure with a rotated PSK file failed"
U2=$(tls_psk_uri 127.0.0.1 "$np" "$exp" alice "$T/psk-new/keys.psk")
assert_eq "$(timeout 30 nbdinfo --size "$U2")" "$SIZE" "the new key after reconfigure"
fails_with "wrong key for PSK identity alice" 2 "the old key after rotation" nbdinfo --size "$U"
printf 'alice:%s\nbob:xyz\n' "$key2" > "$T/server.psk"
rc=0
out=$("${B[@]}" reconfigure 2>&1) || rc=$?
assert_eq "$rc" 1 "reconfigure with a malformed PSK file fails"
grep -q "server.psk:2: key has an odd number of hex digits" <<< "$out" \
  || fail "the refusal does not name server.psk:2: $out"
grep -q "keeping the running one" <<< "$out" || fail "the refusal does not say the old config stays: $out"
assert_eq "$(timeout 30 nbdinfo --size "$U2")" "$SIZE" "the key in use after a refused reload"
pass "key rotation by reconfigure; a malformed PSK file is refused and the keys in use stay"

# "braid exports" tells a remote client how to connect, and nothing secret.
"${B[@]}" exports > "$TMPDIR_TEST/exports.json"
"$BRAID_PYTHON" - "$np" "$exp" "$key2" "$TMPDIR_TEST/exports.json" <<'PY' \
  || fail "braid exports: $(cat "$TMPDIR_TEST/exports.json")"
import json, sys
port, name, key, path = sys.argv[1:]
text = open(path).read()
j = json.loads(text)
e = [x for x in j["exports"] if x["name"] == name][0]
assert e["tcp_uri"] == f"nbds://127.0.0.1:{port}/{name}", e
t = j["tls"]
assert (t["mode"], t["credentials"], t["verify_peer"]) == ("require", "psk", False), t
assert t["sessions"] >= 5, t
assert key not in text.lower()
PY
grep -q "NBD TLS required for TCP clients: PSK identities from $T/server.psk" "$BRAIDD_LOG" \
  || fail "braidd did not log its TLS policy at start"
pass "braid exports gives the nbds:// URI and the TLS policy; the start-up log names it"
stop_braidd psk
tls_make_psk "$T/server.psk" alice "$key"     # the first key, for what follows

# ---------------------------------------------------------------- PSK, on
np2=$(pick_port)
BRAIDD_NAME=on
start_braidd on -v --login "127.0.0.1:$port,$IQN" --nbd-tcp "127.0.0.1:$np2" \
  --nbd-tls on --nbd-tls-psk "$T/server.psk"
exp=$(braidd_export on)
assert_eq "$(timeout 30 nbdinfo --size "nbd://127.0.0.1:$np2/$exp")" "$SIZE" "plaintext TCP under --nbd-tls on"
assert_eq "$(braidd_count on "TLS established")" 0 "the plaintext client is not logged as TLS"
assert_eq "$(timeout 30 nbdinfo --size "$(tls_psk_uri 127.0.0.1 "$np2" "$exp" alice "$T/psk/keys.psk")")" \
  "$SIZE" "TLS TCP under --nbd-tls on"
braidd_wait_log on 10 "PSK identity alice" || fail "TLS session under --nbd-tls on not logged"
pass "--nbd-tls on: a plaintext and a TLS client are both served"
stop_braidd on

# ---------------------------------------------------------------- X.509, verify-peer
np3=$(pick_port)
BRAIDD_NAME=x509
start_braidd x509 -v --login "127.0.0.1:$port,$IQN" --nbd-tcp "127.0.0.1:$np3" \
  --nbd-tls require --nbd-tls-certificates "$T/server" --nbd-tls-verify-peer
exp=$(braidd_export x509)
UX=$(tls_x509_uri 127.0.0.1 "$np3" "$exp" "$T/client")
assert_eq "$(timeout 30 nbdinfo --size "$UX")" "$SIZE" "nbdinfo with a client certificate"
braidd_wait_log x509 10 "TLS established" || fail "X.509 session not logged"
grep "TLS established" "$BRAIDD_LOG" | grep -q "client certificate CN=$TLS_CLIENT_CN" \
  || fail "the log does not name the client CN: $(grep "TLS established" "$BRAIDD_LOG")"
pass "X.509: a client certificate from the server's CA is served, its CN logged"

fails_with "TLS handshake failed" 1 "client without a certificate" \
  nbdinfo --size "$(tls_x509_uri 127.0.0.1 "$np3" "$exp" "$T/client-nocert")"
fails_with "TLS handshake failed" 2 "client certificate from another CA" \
  nbdinfo --size "$(tls_x509_uri 127.0.0.1 "$np3" "$exp" "$T/client-other")"
pass "X.509: no client certificate, or one from another CA, is refused and logged"

# The data the PSK daemon wrote, read over X.509 by nbdcopy and qemu-img.
timeout 120 nbdcopy "$UX" "$TMPDIR_TEST/back3.bin" || fail "nbdcopy over X.509"
cmp -n 8388608 "$data" "$TMPDIR_TEST/back3.bin" || fail "data read over X.509 differs"
qemu_sees "$(tls_qemu_x509_object "$T/client")" "$np3" "$exp" X.509
pass "X.509: nbdcopy and qemu-img (tls-creds-x509) read the data back"
stop_braidd x509

# ---------------------------------------------------------------- bad input
d=$TMPDIR_TEST/bad
mkdir -p "$d"
# bad_start DESC WANT_IN_MESSAGE ARGS...: braidd must exit 2 at once,
# with a message (not its usage) that holds WANT_IN_MESSAGE and not the key.
bad_start ()
{
  local desc=$1 want=$2 out rc=0
  shift 2
  out=$(timeout 20 "$BRAIDD" -f --braid-config "$d/braid.conf" --config /dev/null --state-dir "$d/s" \
        --run-dir "$d/r" --wwids "$d/w" --bindings "$d/b" "$@" 2>&1) || rc=$?
  assert_eq "$rc" 2 "$desc: exit status"
  # A braidd without the option at all exits 2 too (getopt's message).
  if grep -qiE "unrecognized option|invalid option" <<< "$out"; then
    fail "$desc: braidd does not know the option: $out"
  fi
  grep -qF -- "$want" <<< "$out" || fail "$desc: the message does not name '$want': $out"
  if grep -qi -- "$key" <<< "$out"; then
    fail "$desc: the message shows the PSK"
  fi
  log "$desc: $out"
}
bp=$(pick_port)
cp "$T/server.psk" "$d/group.psk"
chmod 0640 "$d/group.psk"
bad_start "group-readable PSK file" "$d/group.psk" \
  --nbd-tcp "127.0.0.1:$bp" --nbd-tls require --nbd-tls-psk "$d/group.psk"
tls_make_psk "$d/malformed.psk" alice "$key" bob xyz
bad_start "malformed PSK line" "$d/malformed.psk:2:" \
  --nbd-tcp "127.0.0.1:$bp" --nbd-tls require --nbd-tls-psk "$d/malformed.psk"
cp -r "$T/server" "$d/certs"
chmod 0640 "$d/certs/server-key.pem"
bad_start "group-readable server key" "$d/certs/server-key.pem" \
  --nbd-tcp "127.0.0.1:$bp" --nbd-tls require --nbd-tls-certificates "$d/certs"
bad_start "--nbd-tls require without credentials" "--nbd-tls" \
  --nbd-tcp "127.0.0.1:$bp" --nbd-tls require
bad_start "both PSK and certificates" "--nbd-tls" \
  --nbd-tcp "127.0.0.1:$bp" --nbd-tls require --nbd-tls-psk "$T/server.psk" --nbd-tls-certificates "$T/server"
bad_start "--nbd-tls without --nbd-tcp" "--nbd-tcp" \
  --nbd-tls require --nbd-tls-psk "$T/server.psk"
pass "bad TLS settings stop braidd with status 2 and a message naming the file, line or flag"
