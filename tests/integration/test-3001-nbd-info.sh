#!/usr/bin/env bash
# NBD handshake as nbdinfo sees it: size, block size constraints,
# description and flags of an export, --list of every export, a read-only
# export, the default export, and an unknown export refused cleanly.
set -euo pipefail
. "$(dirname "$0")/../nbd/nbd-lib.sh"
requires nbdinfo timeout

start_memserver main -e disk0:64M:"first test disk" -e disk1:1G:"second disk" \
  -e empty:4K -b 512,4096,1048576 -D disk1
out=$(timeout 60 nbdinfo "$(nbd_uri disk0)")
echo "$out"
grep -q 'export-size: 67108864' <<<"$out" || fail "size of disk0"
grep -q 'description: first test disk' <<<"$out" || fail "description"
grep -q 'block_size_minimum: 512' <<<"$out" || fail "minimum block size"
grep -q 'block_size_preferred: 4096' <<<"$out" || fail "preferred block size"
grep -q 'block_size_maximum: 1048576' <<<"$out" || fail "maximum block size"
grep -q 'is_read_only: false' <<<"$out" || fail "read-only flag"
for f in can_flush can_fua can_trim can_zero can_multi_conn can_df; do
  grep -q "$f: true" <<<"$out" || fail "$f"
done
grep -q 'structured' <<<"$out" || fail "structured replies not negotiated"

assert_eq "$(timeout 60 nbdinfo --size "$(nbd_uri disk0)")" 67108864 "--size"
# The empty name reaches the default export (disk1).
assert_eq "$(timeout 60 nbdinfo --size "$(nbd_uri '')")" 1073741824 "default export"

list=$(timeout 60 nbdinfo --list "$(nbd_uri '')")
echo "$list"
for e in disk0 disk1 empty; do
  grep -q "export=\"$e\"" <<<"$list" || fail "--list misses $e"
done
grep -q 'description: second disk' <<<"$list" || fail "--list description"
assert_eq "$(timeout 60 nbdinfo --list --json "$(nbd_uri '')" | grep -c '"export-name"')" 3 \
  "number of exports listed"

if timeout 60 nbdinfo "$(nbd_uri nosuch)" 2>"$TMPDIR_TEST/err"; then
  fail "nbdinfo on an unknown export succeeded"
fi
grep -qi 'unknown\|not found\|no such' "$TMPDIR_TEST/err" || { cat "$TMPDIR_TEST/err"; fail "unknown export error"; }

# A read-only server.
start_memserver ro -e rodisk:16M -r
out=$(timeout 60 nbdinfo "$(nbd_uri rodisk)")
grep -q 'is_read_only: true' <<<"$out" || fail "read-only export flag"
grep -q 'can_trim: false' <<<"$out" || fail "trim offered on a read-only export"

nbd_finish
