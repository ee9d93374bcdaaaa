#!/bin/bash
# update-expected.sh [NAME...]: record what multipath-tools 0.9.4 does with
# each configuration of tests/compat/configs (all of them by default), as
# the expectations the differential test compares braid with when the
# oracle cannot run.  Needs root and the multipath binary (see
# oracle-run.sh).  Writes, per configuration:
#   expected.rc     exit status of `multipath -t`
#   expected.err    its warnings, normalised (compat-lib.sh)
#   expected.diff   `diff` of its normalised dump against
#                   tests/compat/expected-default.t (the dump of an empty
#                   configuration), empty when the configuration is refused
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/compat-lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/empty"
"$here/oracle-run.sh" "$tmp/empty" "$tmp/o" || { echo "oracle unavailable" >&2; exit 1; }
compat_norm_out < "$tmp/o/out" > "$here/expected-default.t"

if [ $# = 0 ]; then
  set --
  for d in "$here"/configs/*/; do
    set -- "$@" "$(basename "$d")"
  done
fi
for name in "$@"; do
  d=$here/configs/$name
  rm -rf "$tmp/o"
  "$here/oracle-run.sh" "$d" "$tmp/o"
  cp "$tmp/o/rc" "$d/expected.rc"
  compat_norm_err_oracle < "$tmp/o/err" > "$d/expected.err"
  if [ "$(cat "$tmp/o/rc")" = 0 ]; then
    compat_norm_out < "$tmp/o/out" > "$tmp/o/norm"
    diff "$here/expected-default.t" "$tmp/o/norm" > "$d/expected.diff" || true
  else
    : > "$d/expected.diff"
  fi
  echo "$name: rc $(cat "$d/expected.rc"), $(wc -l < "$d/expected.err") warnings"
done
