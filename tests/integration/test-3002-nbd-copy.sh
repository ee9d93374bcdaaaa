#!/usr/bin/env bash
# nbdcopy of a random 64 MiB file into an export and back out, byte for
# byte, with the backend completing requests in shuffled order, then again
# with random completion delays and four connections (multi-conn).
set -euo pipefail
. "$(dirname "$0")/../nbd/nbd-lib.sh"
requires nbdcopy timeout cmp head truncate

src="$TMPDIR_TEST/in.img"
head -c 64M /dev/urandom >"$src"

start_memserver shuffled -e disk:64M -b 512,4096,33554432
timeout 120 nbdcopy --flush "$src" "$(nbd_uri disk)"
timeout 120 nbdcopy "$(nbd_uri disk)" "$TMPDIR_TEST/out1.img"
cmp "$src" "$TMPDIR_TEST/out1.img" || fail "copy through shuffled completion differs"

start_memserver delayed -e disk:64M -d 3
timeout 120 nbdcopy --connections=4 --requests=32 "$src" "$(nbd_uri disk)"
timeout 120 nbdcopy --connections=4 "$(nbd_uri disk)" "$TMPDIR_TEST/out2.img"
cmp "$src" "$TMPDIR_TEST/out2.img" || fail "copy through delayed completion differs"

# A half-sparse source: nbdcopy writes its zero half with write-zeroes
# requests, which must read back as zeroes over the old random data.
sparse="$TMPDIR_TEST/sparse.img"
head -c 32M /dev/urandom >"$sparse"
truncate -s 64M "$sparse"
timeout 120 nbdcopy "$sparse" "$(nbd_uri disk)"
timeout 120 nbdcopy "$(nbd_uri disk)" "$TMPDIR_TEST/out3.img"
cmp "$sparse" "$TMPDIR_TEST/out3.img" || fail "half-sparse copy differs"

nbd_finish
