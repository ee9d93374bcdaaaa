#!/usr/bin/env bash
# The kernel on top of the server: nbdfuse exposes the export as a file,
# losetup makes it a block device, mkfs.ext4 formats it, a file written
# through a mount reads back identical after a remount, and the image
# copied out by nbdcopy passes e2fsck and still holds the file.
set -euo pipefail
. "$(dirname "$0")/../nbd/nbd-lib.sh"
requires nbdfuse nbdcopy losetup mkfs.ext4 e2fsck debugfs mount umount \
  fusermount3 timeout cmp
requires_root
[ -c /dev/fuse ] || skip "no /dev/fuse"
[ -e /dev/loop-control ] || skip "no loop devices (/dev/loop-control)"

start_memserver fs -e fs:256M:"filesystem disk" -b 512,4096,33554432 -d 1
fusedir="$TMPDIR_TEST/fuse"
mnt="$TMPDIR_TEST/mnt"
mkdir "$fusedir" "$mnt"

nbdfuse "$fusedir" "$(nbd_uri fs)" 2>"$TMPDIR_TEST/nbdfuse.log" &
fuse_pid=$!
cleanup_fn bash -c 'fusermount3 -u "$0" 2>/dev/null; kill "$1" 2>/dev/null; true' "$fusedir" "$fuse_pid"
for (( i = 0; i < 100; i++ )); do
  [ -e "$fusedir/nbd" ] && break
  kill -0 "$fuse_pid" 2>/dev/null || { cat "$TMPDIR_TEST/nbdfuse.log"; fail "nbdfuse exited"; }
  sleep 0.1
done
[ -e "$fusedir/nbd" ] || fail "nbdfuse file did not appear"
assert_eq "$(stat -c %s "$fusedir/nbd")" 268435456 "size of the FUSE file"

loopdev=$(losetup -f --show "$fusedir/nbd") || skip "losetup cannot attach a loop device here"
# Detach only loop devices backed by our own file: a device name may be
# reused by a parallel test once we let it go.
cleanup_fn bash -c 'for d in $(losetup --list -n -O NAME -j "$0" 2>/dev/null); do
    losetup -d "$d" 2>/dev/null; done; true' "$fusedir/nbd"
timeout 120 mkfs.ext4 -q -F "$loopdev"
timeout 60 mount "$loopdev" "$mnt" || skip "mount is not permitted here"
cleanup_fn bash -c 'umount "$0" 2>/dev/null; true' "$mnt"

head -c 8M /dev/urandom >"$TMPDIR_TEST/file"
cp "$TMPDIR_TEST/file" "$mnt/file"
sync
timeout 60 umount "$mnt"
# Drop what the loop device cached so the re-read comes from the server.
losetup -d "$loopdev"
loopdev=$(losetup -f --show "$fusedir/nbd")
timeout 60 mount -o ro "$loopdev" "$mnt"
cmp "$TMPDIR_TEST/file" "$mnt/file" || fail "file differs after remount"
timeout 60 umount "$mnt"
losetup -d "$loopdev"
fusermount3 -u "$fusedir"
wait "$fuse_pid" || true

# What the server holds is a clean filesystem containing the file.
timeout 120 nbdcopy "$(nbd_uri fs)" "$TMPDIR_TEST/fs.img"
timeout 120 e2fsck -fn "$TMPDIR_TEST/fs.img" || fail "e2fsck found problems"
debugfs -R "dump /file $TMPDIR_TEST/file.out" "$TMPDIR_TEST/fs.img" 2>/dev/null
cmp "$TMPDIR_TEST/file" "$TMPDIR_TEST/file.out" || fail "file in the image differs"

nbd_finish
