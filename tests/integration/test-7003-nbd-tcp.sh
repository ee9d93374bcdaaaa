#!/usr/bin/env bash
# NBD over TCP only when asked, and then only for the allowed networks.
# Without --nbd-tcp braidd listens on no TCP port at all; with --nbd-tcp
# and --nbd-allow a peer outside the prefixes is closed before it sees the
# NBD greeting (a raw client bound to 127.0.0.2 checks that) while an
# allowed one gets the export (nbdinfo, qemu-img).  A malformed prefix, or
# --nbd-allow without --nbd-tcp, stops braidd with a message naming it.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo qemu-img ss
IQN=iqn.2026-11.dev.braid:nbdtcp
BRAIDD=$(braid_bin braidd)

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 lun.img 16M
tgt_bind_all 1

# ---------------------------------------------------------------- Unix only
start_braidd unix --login "127.0.0.1:$port,$IQN"
if ss -Hltnp | grep -q "pid=$BRAIDD_PID,"; then
  ss -ltnp | grep "pid=$BRAIDD_PID," >&2
  fail "braidd without --nbd-tcp listens on TCP"
fi
pass "no TCP listener unless --nbd-tcp is given"
stop_braidd unix

# ---------------------------------------------------------------- TCP + allow
nport=$(pick_port)
start_braidd tcp --login "127.0.0.1:$port,$IQN" --nbd-tcp "127.0.0.1:$nport" \
  --nbd-allow 127.0.0.1/32 --nbd-allow 2001:db8::/32
export_name=$(braidd_export tcp)
# greeting FROM_ADDR: the first 8 bytes the server sends a client bound
# to FROM_ADDR ("NBDMAGIC"), or "closed" when it hangs up first.
greeting () {
  "$BRAID_PYTHON" - "$1" "$nport" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(10)
s.bind((sys.argv[1], 0))
s.connect(("127.0.0.1", int(sys.argv[2])))
data = b""
try:
    while len(data) < 8:
        chunk = s.recv(8 - len(data))
        if not chunk:
            break
        data += chunk
except ConnectionResetError:
    pass
print(data.decode("ascii", "replace") if len(data) == 8 else "closed")
PY
}
assert_eq "$(greeting 127.0.0.1)" NBDMAGIC "an allowed peer gets the greeting"
assert_eq "$(greeting 127.0.0.2)" closed "a peer outside the allowed networks is closed"
braidd_wait_log tcp 10 "127.0.0.2" 1 || fail "the refusal is not logged with the peer's address"
grep -q "not in the allowed networks" "$BRAIDD_LOG" || fail "the log does not say why the peer was refused"
size=$(nbdinfo --size "nbd://127.0.0.1:$nport/$export_name")
assert_eq "$size" 16777216 "nbdinfo over TCP sees the 16 MiB LUN"
qemu-img info --output=json "nbd://127.0.0.1:$nport/$export_name" | grep -q '"virtual-size": 16777216' \
  || fail "qemu-img over TCP does not see the LUN"
pass "TCP export: allowed peer served, other peer refused and logged"
stop_braidd tcp

# ---------------------------------------------------------------- bad input
d=$TMPDIR_TEST/bad
mkdir -p "$d"
rc=0
out=$("$BRAIDD" -f --braid-config "$d/braid.conf" --config /dev/null --state-dir "$d/s" --run-dir "$d/r" --wwids "$d/w" \
      --bindings "$d/b" --nbd-tcp "127.0.0.1:$(pick_port)" --nbd-allow 10.0.0.0/40 2>&1) || rc=$?
assert_eq "$rc" 2 "a malformed prefix stops braidd with status 2"
grep -q '10.0.0.0/40' <<< "$out" || fail "the error does not name the prefix: $out"
rc=0
out=$("$BRAIDD" -f --braid-config "$d/braid.conf" --config /dev/null --state-dir "$d/s" --run-dir "$d/r" --wwids "$d/w" \
      --bindings "$d/b" --nbd-allow 127.0.0.1 2>&1) || rc=$?
assert_eq "$rc" 2 "--nbd-allow without --nbd-tcp is refused"
grep -q 'needs --nbd-tcp' <<< "$out" || fail "unexpected message: $out"
pass "bad --nbd-allow input is refused with a message naming it"
