#!/bin/sh
# oracle-run.sh CONFIGDIR OUTDIR: run multipath-tools' own `multipath -t`
# on CONFIGDIR/multipath.conf and CONFIGDIR/conf.d/*, without touching the
# host's /etc.
#
# multipath 0.9.4 only reads /etc/multipath.conf and /etc/multipath/conf.d,
# so it runs in a private mount namespace (unshare -m, everything made
# private) where /etc is an overlay whose upper layer lives on a tmpfs:
# the test files are copied there, the host's /etc never changes, and
# everything vanishes with the namespace.  Writes OUTDIR/out (stdout),
# OUTDIR/err (stderr, multipath's timestamps included) and OUTDIR/rc.
# Exits 77 when this machine cannot run the oracle (not root, no
# multipath, no namespaces or overlayfs).
set -u
cfg=$(cd "$1" && pwd) || exit 1
out=$(mkdir -p "$2" && cd "$2" && pwd) || exit 1
[ "$(id -u)" = 0 ] || exit 77
command -v multipath >/dev/null 2>&1 || [ -x /usr/sbin/multipath ] \
  || [ -x /sbin/multipath ] || exit 77
command -v unshare >/dev/null 2>&1 || exit 77

# the tmpfs mount point: created out here so that only this run's
# directory is removed afterwards (it is empty on the host side)
t=$(mktemp -d "${TMPDIR:-/tmp}/braid-oracle.XXXXXX") || exit 77

unshare -m sh -c '
  PATH=$PATH:/usr/sbin:/sbin
  cfg=$1 out=$2 t=$3
  mount --make-rprivate / || exit 77
  mount -t tmpfs tmpfs "$t" || exit 77
  mkdir "$t/upper" "$t/work"
  mount -t overlay overlay \
    -o "lowerdir=/etc,upperdir=$t/upper,workdir=$t/work" /etc || exit 77
  rm -rf /etc/multipath /etc/multipath.conf
  if [ -e "$cfg/multipath.conf" ]; then
    cp "$cfg/multipath.conf" /etc/multipath.conf || exit 77
  fi
  if [ -d "$cfg/conf.d" ]; then
    mkdir -p /etc/multipath/conf.d && cp -R "$cfg/conf.d/." /etc/multipath/conf.d/ || exit 77
  fi
  multipath -t > "$out/out" 2> "$out/err"
  echo $? > "$out/rc"
  exit 0
' sh "$cfg" "$out" "$t"
rc=$?
rmdir "$t"
# the mount namespace itself could not be set up
[ $rc = 0 ] || exit 77
exit 0
