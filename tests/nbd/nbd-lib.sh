# nbd-lib.sh: NBD helpers for tests/integration/test-30xx-nbd-*.sh, on top
# of tests/lib/functions.sh (private TMPDIR_TEST, teardown stack, requires,
# skip/fail, CI=true rules), which it sources.
#
# Each test starts its own nbd-memserver (tests/nbd/nbd-memserver.c) on a
# Unix socket in TMPDIR_TEST; nothing touches the network except the
# loopback TCP check.  nbd_finish stops every server and fails the test if
# one did not exit cleanly (it checks that every export was released).

. "$(dirname "${BASH_SOURCE[0]}")/../lib/functions.sh"

NBD_HOSTILE_PY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/nbd-hostile.py"
_nbd_pids=()
_nbd_logs=()

# The test server: $NBD_MEMSERVER (meson passes it) or the build tree.
nbd_memserver_bin ()
{
  local c
  for c in "${NBD_MEMSERVER:-}" \
           "$BRAID_BUILD_DIR/tests/unit/nbd/nbd-memserver"; do
    if [[ -n $c && -x $c && -f $c ]]; then
      echo "$c"
      return 0
    fi
  done
  fail "nbd-memserver not built (looked in $BRAID_BUILD_DIR)"
}

# start_memserver NAME ARGS...: start a server with its socket at
# $TMPDIR_TEST/NAME.sock and its log at $TMPDIR_TEST/NAME.log; sets
# NBD_SOCK and NBD_PID.  Returns once it listens (bounded wait).
start_memserver ()
{
  local name=$1 bin start
  shift
  bin=$(nbd_memserver_bin)
  NBD_SOCK=$TMPDIR_TEST/$name.sock
  NBD_LOG=$TMPDIR_TEST/$name.log
  "$bin" -s "$NBD_SOCK" -p "$TMPDIR_TEST/$name.pid" "$@" 2>"$NBD_LOG" &
  NBD_PID=$!
  start=$(_braid_proc_start "$NBD_PID" || true)
  cleanup_fn stop_process "$NBD_PID" "$start" 10
  show_log_on_failure "$NBD_LOG"
  _nbd_pids+=("$NBD_PID")
  _nbd_logs+=("$NBD_LOG")
  wait_for "nbd-memserver $name" 10 \
    bash -c '[[ -S $0 && -s $1 ]] || { kill -0 $2 2>/dev/null || exit 125; exit 1; }' \
    "$NBD_SOCK" "$TMPDIR_TEST/$name.pid" "$NBD_PID" \
    || { cat "$NBD_LOG" >&2; fail "nbd-memserver $name did not start"; }
}

# nbd_uri EXPORT: URI of an export on the last server started.
nbd_uri ()
{
  echo "nbd+unix:///$1?socket=$NBD_SOCK"
}

# Stop every server (SIGTERM: it waits for its clients, then frees
# everything) and fail unless each exited with status 0.
nbd_finish ()
{
  local i pid rc n
  for i in "${!_nbd_pids[@]}"; do
    pid=${_nbd_pids[i]}
    kill -TERM "$pid" 2>/dev/null || true
    n=100
    while (( n-- > 0 )) && proc_alive "$pid"; do
      sleep 0.1
    done
    proc_alive "$pid" && fail "nbd-memserver $pid ignored SIGTERM"
    rc=0
    wait "$pid" || rc=$?
    if [[ $rc != 0 ]]; then
      cat "${_nbd_logs[i]}" >&2
      fail "nbd-memserver $pid exited with status $rc"
    fi
  done
  pass "$BRAID_TEST_NAME"
}
