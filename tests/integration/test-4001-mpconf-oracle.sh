#!/usr/bin/env bash
# Differential test of multipath.conf handling: for every configuration in
# tests/compat/configs/<name>/ (multipath.conf and conf.d/*.conf), braid's
# `-t` must print the same merged configuration, give the same warnings
# (same text, file and line) and exit with the same status as
# multipath-tools 0.9.4's `multipath -t`.
#
# What multipath-tools does is recorded next to each configuration
# (expected.rc, expected.err, expected.diff; see
# tests/compat/update-expected.sh), so this test needs no oracle.  When the
# real `multipath` can run here (root, mount namespaces, overlayfs), it is
# also run, inside a private mount namespace with an overlay on /etc (the
# host's /etc is never touched), and the recorded expectations must still
# be what it does.  Normalisation (client-only dump lines, 0.9.4's
# unbalanced blacklist device blocks, timestamps and paths in warnings) is
# in tests/compat/compat-lib.sh.
#
# braid is `$BRAID_BUILD_DIR/src/braid/braid --config F --config-dir D -t`
# once the CLI routes -t, else the mpconf-dump stand-in that runs the same
# cmd_multipath.c code.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
compat=$BRAID_SOURCE_DIR/tests/compat
. "$compat/compat-lib.sh"
requires diff awk sed

# --- which program speaks for braid
braid=
if [[ -x $BRAID_BUILD_DIR/src/braid/braid ]] \
   && "$BRAID_BUILD_DIR/src/braid/braid" --config /nonexistent \
        --config-dir /nonexistent -t > "$TMPDIR_TEST/probe.t" 2>/dev/null \
   && [[ $(head -1 "$TMPDIR_TEST/probe.t") == 'defaults {' ]]; then
  braid=$BRAID_BUILD_DIR/src/braid/braid
elif [[ -x $BRAID_BUILD_DIR/tests/unit/mpconf/mpconf-dump ]]; then
  braid=$BRAID_BUILD_DIR/tests/unit/mpconf/mpconf-dump
else
  fail "neither src/braid/braid -t nor tests/unit/mpconf/mpconf-dump is built"
fi
log "braid: $braid"

# --- is the oracle usable here?
# (BRAID_MPCONF_ORACLE=no: compare with the recorded expectations only)
live=0
mkdir -p "$TMPDIR_TEST/empty"
if [[ ${BRAID_MPCONF_ORACLE:-auto} != no ]] \
   && "$compat/oracle-run.sh" "$TMPDIR_TEST/empty" "$TMPDIR_TEST/probe" \
   && [[ $(cat "$TMPDIR_TEST/probe/rc") == 0 ]]; then
  live=1
  compat_norm_out < "$TMPDIR_TEST/probe/out" > "$TMPDIR_TEST/default.t"
  diff -u "$compat/expected-default.t" "$TMPDIR_TEST/default.t" \
    || fail "built-in configuration of this multipath differs from the recorded one"
  log "oracle: $(multipath -h 2>&1 | head -1 || true)"
else
  log "oracle not available here: comparing with the recorded expectations"
fi

failed=()
n=0
for d in "$compat"/configs/*/; do
  d=${d%/}
  name=$(basename "$d")
  w=$TMPDIR_TEST/$name
  mkdir -p "$w"
  n=$((n + 1))

  # braid
  set +e
  "$braid" --config "$d/multipath.conf" --config-dir "$d/conf.d" -t \
    > "$w/b.out" 2> "$w/b.err"
  brc=$?
  set -e
  compat_norm_err_braid "$d/multipath.conf" "$d/conf.d" \
    "$([[ -f $d/braid-extra.txt ]] && echo "$d/braid-extra.txt")" \
    < "$w/b.err" > "$w/b.nerr"
  compat_norm_out < "$w/b.out" > "$w/b.norm"
  diff "$compat/expected-default.t" "$w/b.norm" > "$w/b.diff" || true

  ok=1
  if [[ $brc != "$(cat "$d/expected.rc")" ]]; then
    log "$name: exit status $brc, multipath-tools $(cat "$d/expected.rc")"
    ok=0
  fi
  if ! diff -u "$d/expected.err" "$w/b.nerr" > "$w/err.diff"; then
    log "$name: warnings differ (- multipath-tools, + braid):"
    cat "$w/err.diff" >&2
    ok=0
  fi
  if [[ $(cat "$d/expected.rc") == 0 ]]; then
    if ! diff -u "$d/expected.diff" "$w/b.diff" > "$w/out.diff"; then
      log "$name: dump differs (diffs against the built-in dump, - multipath-tools, + braid):"
      cat "$w/out.diff" >&2
      ok=0
    fi
  elif [[ -s $w/b.out ]]; then
    log "$name: braid printed a dump for a refused configuration"
    ok=0
  fi

  # the recorded expectations must be what the real multipath does
  if [[ $live == 1 ]]; then
    "$compat/oracle-run.sh" "$d" "$w/o" || fail "oracle run for $name"
    compat_norm_err_oracle < "$w/o/err" > "$w/o.nerr"
    if [[ $(cat "$w/o/rc") != "$(cat "$d/expected.rc")" ]] \
       || ! diff -q "$d/expected.err" "$w/o.nerr" >/dev/null; then
      log "$name: recorded expectations are stale (tests/compat/update-expected.sh)"
      ok=0
    elif [[ $(cat "$w/o/rc") == 0 ]]; then
      compat_norm_out < "$w/o/out" > "$w/o.norm"
      diff "$compat/expected-default.t" "$w/o.norm" > "$w/o.diff" || true
      if ! diff -q "$d/expected.diff" "$w/o.diff" >/dev/null; then
        log "$name: recorded dump is stale (tests/compat/update-expected.sh)"
        ok=0
      fi
    fi
  fi

  if [[ $ok == 1 ]]; then
    pass "$name"
  else
    failed+=("$name")
  fi
done

(( n > 0 )) || fail "no configurations in $compat/configs"
if (( ${#failed[@]} )); then
  fail "${#failed[@]} of $n configurations differ: ${failed[*]}"
fi
log "all $n configurations match multipath-tools 0.9.4 (live oracle: $live)"
