#!/usr/bin/env bash
# Data through a two-path map exported by braidd, with real NBD clients:
# nbdcopy 64 MiB of random data in and back out, byte-identical;
# qemu-img convert into the export and qemu-img compare against the source
# over nbd+unix://; then the kernel on top: nbdfuse + losetup + mkfs.ext4 +
# mount, a file written, remounted (loop cache dropped) and read back
# identical, and the image copied out by nbdcopy passes e2fsck.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm nbdinfo nbdcopy qemu-img cmp head
iqn=iqn.2026-11.dev.braid:data

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$iqn"
tgt_lun 1 1 lun1.img 64M
tgt_bind_all 1

BRAIDD_PATHS=2 start_braidd d \
  --login "127.0.0.1:$port,$iqn" --login "127.0.0.2:$port,$iqn"
exp=$(braidd_export d)
uri=$(braidd_uri d "$exp")
assert_eq "$(timeout 10 nbdinfo --size "$uri")" $(( 64 << 20 )) "export size"

# 1. nbdcopy in and out.
head -c 64M /dev/urandom > "$TMPDIR_TEST/in.img"
timeout 120 nbdcopy "$TMPDIR_TEST/in.img" "$uri"
timeout 120 nbdcopy "$uri" "$TMPDIR_TEST/out.img"
cmp "$TMPDIR_TEST/in.img" "$TMPDIR_TEST/out.img" || fail "nbdcopy: data read back differs"
# What the target stored is what was written (not just braid's cache, it
# has none, but the LUN's backing file itself).
cmp "$TMPDIR_TEST/in.img" "$TGT_LUN_FILE" || fail "nbdcopy: the LUN's backing file differs"
pass "nbdcopy 64 MiB in and out, identical"

# 2. qemu-img convert + compare.
head -c 64M /dev/urandom > "$TMPDIR_TEST/q.img"
timeout 120 qemu-img convert -n -f raw -O raw "$TMPDIR_TEST/q.img" "$uri"
timeout 120 qemu-img compare -f raw -F raw "$TMPDIR_TEST/q.img" "$uri" \
  || fail "qemu-img compare found a difference"
pass "qemu-img convert + compare over nbd+unix"

# 3. nbdfuse + losetup + ext4.  Left out where the machine has no FUSE,
# loop devices or mount permission (test-3004 skips then); under CI=true,
# where nothing may skip, that is a failure.
not_here ()
{
  [[ ${CI:-} != true ]] || fail "CI=true: $1"
  log "$1: filesystem part not run"
}
fuse_ok=1
for c in nbdfuse losetup mkfs.ext4 e2fsck mount umount fusermount3; do
  command -v "$c" >/dev/null 2>&1 || { not_here "no $c"; fuse_ok=0; }
done
if [[ $(id -u) != 0 || ! -c /dev/fuse || ! -e /dev/loop-control ]]; then
  not_here "no root, /dev/fuse or loop devices"
  fuse_ok=0
fi
if (( fuse_ok )); then
  fusedir=$TMPDIR_TEST/fuse
  mnt=$TMPDIR_TEST/mnt
  mkdir "$fusedir" "$mnt"
  nbdfuse "$fusedir" "$uri" 2>"$TMPDIR_TEST/nbdfuse.log" &
  fuse_pid=$!
  cleanup_fn bash -c 'fusermount3 -u "$0" 2>/dev/null; kill "$1" 2>/dev/null; true' "$fusedir" "$fuse_pid"
  show_log_on_failure "$TMPDIR_TEST/nbdfuse.log"
  for (( i = 0; i < 100; i++ )); do
    [[ -e $fusedir/nbd ]] && break
    kill -0 "$fuse_pid" 2>/dev/null || fail "nbdfuse exited"
    sleep 0.1
  done
  [[ -e $fusedir/nbd ]] || fail "nbdfuse file did not appear"
  assert_eq "$(stat -c %s "$fusedir/nbd")" $(( 64 << 20 )) "size of the FUSE file"

  # Teardown detaches the loop devices backed by OUR file, never a device
  # by name: once we detach /dev/loopN another test may attach it.
  cleanup_fn bash -c 'for d in $(losetup --list -n -O NAME -j "$0" 2>/dev/null); do
      losetup -d "$d" 2>/dev/null; done; true' "$fusedir/nbd"
  if loopdev=$(losetup -f --show "$fusedir/nbd" 2>/dev/null); then
    timeout 120 mkfs.ext4 -q -F "$loopdev"
    if timeout 60 mount "$loopdev" "$mnt"; then
      cleanup_fn bash -c 'umount "$0" 2>/dev/null; true' "$mnt"
      head -c 8M /dev/urandom > "$TMPDIR_TEST/file"
      cp "$TMPDIR_TEST/file" "$mnt/file"
      sync
      timeout 60 umount "$mnt"
      # Drop what the loop device cached so the re-read comes from braidd.
      # (Tolerant: a device another test's teardown detached by name is
      # already gone, which is all we want here.)
      losetup -d "$loopdev" 2>/dev/null || true
      loopdev=$(losetup -f --show "$fusedir/nbd")
      timeout 60 mount -o ro "$loopdev" "$mnt"
      cmp "$TMPDIR_TEST/file" "$mnt/file" || fail "file differs after remount"
      timeout 60 umount "$mnt"
      losetup -d "$loopdev" 2>/dev/null || true
      fusermount3 -u "$fusedir"
      wait "$fuse_pid" || true
      timeout 120 nbdcopy "$uri" "$TMPDIR_TEST/fs.img"
      timeout 120 e2fsck -fn "$TMPDIR_TEST/fs.img" >/dev/null || fail "e2fsck found problems"
      pass "ext4 on nbdfuse + loop: file written, remounted, identical; fsck clean"
    else
      not_here "mount is not permitted here"
    fi
  else
    not_here "losetup cannot attach a loop device here"
  fi
fi

pass "$BRAID_TEST_NAME"
