#!/usr/bin/env bash
# qemu as an NBD client: qemu-img convert into an export and compare it
# against the source over nbd+unix and over TCP on loopback, then qemu-io
# write/write-zeroes/discard/FUA/flush with read-back patterns.
set -euo pipefail
. "$(dirname "$0")/../nbd/nbd-lib.sh"
requires qemu-img qemu-io timeout head

src="$TMPDIR_TEST/src.img"
head -c 48M /dev/urandom >"$src"

start_memserver q -e vm:64M:"qemu disk" -b 512,4096,33554432 -d 2 -t 127.0.0.1:0
uri=$(nbd_uri vm)
timeout 120 qemu-img convert -n -f raw -O raw "$src" "$uri"
# The export is larger than the source: compare the common part, then
# check the tail is still zero.
timeout 120 qemu-img compare -f raw -F raw "$src" "$uri" \
  || fail "qemu-img compare found a difference"
info=$(timeout 60 qemu-img info "$uri")
echo "$info"
grep -q 'virtual size: 64 MiB' <<<"$info" || fail "qemu-img info size"

# TCP listener on loopback: the port is in the server's log.
port=""
for (( i = 0; i < 50; i++ )); do
  port=$(sed -n 's/^nbd-memserver: tcp port \([0-9]*\)$/\1/p' "$NBD_LOG")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || fail "no TCP port in the log"
timeout 120 qemu-img compare -f raw -F raw "$src" "nbd://127.0.0.1:$port/vm" \
  || fail "compare over TCP"

timeout 60 qemu-io -f raw \
  -c 'write -P 0xa5 0 1M' -c 'write -z 1M 1M' -c 'discard 2M 1M' \
  -c 'write -f -P 0x5a 3M 64k' -c 'flush' \
  -c 'read -P 0xa5 0 1M' -c 'read -P 0 1M 1M' -c 'read -P 0x5a 3M 64k' \
  "$uri" >"$TMPDIR_TEST/qemu-io.out" 2>&1 || { cat "$TMPDIR_TEST/qemu-io.out"; fail "qemu-io"; }
cat "$TMPDIR_TEST/qemu-io.out"
if grep -qi 'pattern verification failed\|error' "$TMPDIR_TEST/qemu-io.out"; then
  fail "qemu-io pattern check"
fi

nbd_finish
