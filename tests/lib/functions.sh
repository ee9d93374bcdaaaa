# tests/lib/functions.sh -- shared harness for braid's integration tests.
#
# Every tests/integration/test-NNNN-*.sh sources this file.  It gives each
# test a private temp dir, a teardown stack run from an EXIT trap, loopback
# ports that no other concurrently running test will pick, and helpers that
# start and drive real targets (tgtd, istgt).  The ideas come from nbdkit's
# and libiscsi's tests/functions.sh; the code is our own.
#
# Tests run in parallel, as root, on a fresh CI machine, so nothing here uses
# a fixed port, a fixed tgtd control socket or any other shared global.  The
# one deliberately shared thing is the port reservation directory (see
# pick_port), which is how parallel tests avoid each other.
#
# The file is safe under `set -euo pipefail`.  Functions that check things
# either return non-zero (so `set -e` ends the test) or call fail.

if [[ -n ${_BRAID_FUNCTIONS_SH:-} ]]; then
  return 0
fi
_BRAID_FUNCTIONS_SH=1

# tgtd, tgtadm and istgt live in sbin, which a non-login CI shell may lack.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
export PATH

BRAID_TEST_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BRAID_SOURCE_DIR:=$(cd "$BRAID_TEST_LIB_DIR/../.." && pwd)}"
: "${BRAID_BUILD_DIR:=$BRAID_SOURCE_DIR/build}"
export BRAID_SOURCE_DIR BRAID_BUILD_DIR

BRAID_TEST_NAME=$(basename "$0" .sh)

# The distribution's python3 (install-deps) starts in ~10 ms; a pyenv or
# similar shim earlier in PATH can take 100 ms per call.
if [[ -z ${BRAID_PYTHON:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then
    BRAID_PYTHON=/usr/bin/python3
  else
    BRAID_PYTHON=python3
  fi
fi

# ---------------------------------------------------------------- messages

# Messages go to stderr with a timestamp so interleaved parallel logs and
# daemon logs can be lined up; stdout stays free for the test's own output.
_braid_msg ()
{
  printf '%s %s: %s\n' "$(date +%H:%M:%S.%3N)" "$BRAID_TEST_NAME" "$*" >&2
}

# log MSG: progress note.
log () { _braid_msg "$*"; }

# pass MSG: record one passed check and carry on.
pass () { _braid_msg "ok: $*"; }

# fail MSG: the test failed; teardown runs from the EXIT trap.
fail ()
{
  _braid_msg "FAIL: $*"
  exit 1
}

# skip MSG: exit 77 (meson's skip), except under CI=true where no
# integration test may skip: there it is a failure.
skip ()
{
  if [[ ${CI:-} == true ]]; then
    _braid_msg "FAIL: would skip ($*), but CI=true forbids skipping"
    exit 1
  fi
  _braid_msg "SKIP: $*"
  exit 77
}

# assert_eq ACTUAL EXPECTED MSG
assert_eq ()
{
  if [[ $1 != "$2" ]]; then
    fail "${3:-assert_eq}: expected '$2', got '$1'"
  fi
}

# requires CMD...: skip (fail in CI) unless every command exists.
requires ()
{
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || skip "required command '$c' not found"
  done
}

requires_root ()
{
  [[ $(id -u) == 0 ]] || skip "must run as root"
}

# ::1 on lo: some containers boot with IPv6 disabled.
_braid_have_ipv6 ()
{
  [[ -r /proc/net/if_inet6 ]] \
    && grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}
if _braid_have_ipv6; then BRAID_HAVE_IPV6=1; else BRAID_HAVE_IPV6=0; fi

requires_ipv6 ()
{
  [[ $BRAID_HAVE_IPV6 == 1 ]] || skip "no IPv6 loopback (::1) on this machine"
}

# ---------------------------------------------------------------- teardown

# Teardown commands, run last-registered first.  Each runs in its own
# subshell so one failing (or calling exit) does not stop the rest.
_braid_cleanups=()
_braid_cleaning=0
_braid_logs=()

# cleanup_fn CMD ARGS...: run CMD ARGS at exit (normal, failure, INT, TERM).
cleanup_fn ()
{
  _braid_cleanups+=("$(printf '%q ' "$@")")
}

# show_log_on_failure FILE: print FILE's tail to stderr if the test fails,
# so a daemon's log survives the removal of TMPDIR_TEST.
show_log_on_failure ()
{
  _braid_logs+=("$1")
}

_braid_run_cleanups ()
{
  local rc=$? i f
  # Guard against re-entry (a signal arriving during teardown).
  if [[ $_braid_cleaning == 1 ]]; then
    return
  fi
  _braid_cleaning=1
  set +e
  trap '' INT TERM
  if [[ -n $_braid_sleep_pid ]]; then
    kill "$_braid_sleep_pid" 2>/dev/null
  fi
  if [[ $rc != 0 && $rc != 77 ]]; then
    for f in "${_braid_logs[@]}"; do
      if [[ -s $f ]]; then
        echo "---- last lines of $f ----" >&2
        tail -n 40 "$f" >&2
        echo "----" >&2
      fi
    done
  fi
  for ((i = ${#_braid_cleanups[@]} - 1; i >= 0; i--)); do
    ( eval "${_braid_cleanups[i]}" ) \
      || _braid_msg "warning: cleanup '${_braid_cleanups[i]}' failed"
  done
  _braid_release_ports
  # A daemon's sanitizer report lands in its log, often at exit, after the
  # test stopped looking: any report fails the test.
  if [[ -n ${TMPDIR_TEST:-} && -d $TMPDIR_TEST ]]; then
    while read -r f; do
      _braid_msg "FAIL: sanitizer report in $f:"
      grep -m 20 -A 12 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2
      [[ $rc == 0 || $rc == 77 ]] && rc=1
    done < <(grep -rlE --binary-files=text 'ERROR: (Address|Leak)Sanitizer|: runtime error:' "$TMPDIR_TEST" 2>/dev/null)
  fi
  if [[ -n ${TMPDIR_TEST:-} && -d $TMPDIR_TEST ]]; then
    if [[ -n ${BRAID_KEEP_TMP:-} ]]; then
      _braid_msg "keeping $TMPDIR_TEST (BRAID_KEEP_TMP)"
    else
      rm -rf -- "$TMPDIR_TEST"
    fi
  fi
  exit "$rc"
}

_braid_on_signal ()
{
  _braid_msg "caught SIG$1, tearing down"
  case $1 in
    INT) exit 130 ;;
    *) exit 143 ;;
  esac
}

# Under `set -e`, name the command that ended the test.
_braid_on_err ()
{
  if [[ $- == *e* && $_braid_cleaning == 0 ]]; then
    _braid_msg "error: '$2' exited with status $1 (line $3)"
  fi
}

trap _braid_run_cleanups EXIT
trap '_braid_on_signal INT' INT
trap '_braid_on_signal TERM' TERM
trap '_braid_on_err $? "$BASH_COMMAND" $LINENO' ERR

TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/braid-$BRAID_TEST_NAME.XXXXXX")
chmod 0700 "$TMPDIR_TEST"
export TMPDIR_TEST

# ---------------------------------------------------------------- processes

# Identity of a process = PID plus its start time (field 22 of
# /proc/PID/stat), so a recycled PID is never mistaken for our daemon.
_braid_proc_start ()
{
  local stat f
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }          # drop "pid (comm) ", comm may hold spaces
  # Remaining fields start at field 3 (state); start time is field 22.
  read -r -a f <<< "$stat"
  echo "${f[19]}"
}

# proc_alive PID [START]: true while PID runs (a zombie counts as gone).
proc_alive ()
{
  local stat state rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  rest=${stat##*) }
  state=${rest%% *}
  [[ $state != Z && $state != X ]] || return 1
  if [[ -n ${2:-} ]]; then
    [[ $(_braid_proc_start "$1") == "$2" ]] || return 1
  fi
  return 0
}

# wait_gone PID START TIMEOUT_S: wait for a process to exit.
wait_gone ()
{
  local n=$(( $3 * 10 ))
  while (( n-- > 0 )); do
    proc_alive "$1" "$2" || return 0
    sleep 0.1
  done
  ! proc_alive "$1" "$2"
}

# stop_process PID START TIMEOUT_S: SIGTERM, bounded wait, then SIGKILL.
# Give it the real process: a timeout(1) wrapper that gets SIGKILL leaves
# its child running, so background jobs are better started bare.
stop_process ()
{
  proc_alive "$1" "$2" || return 0
  kill -TERM "$1" 2>/dev/null || true
  wait_gone "$1" "$2" "$3" && return 0
  _braid_msg "pid $1 ignored SIGTERM for $3 s, sending SIGKILL"
  kill -KILL "$1" 2>/dev/null || true
  wait_gone "$1" "$2" 5
}

# Daemons started by the harness are listed (NAME PID START [EXTRA]) in
# $BRAID_TEST_DAEMONS_FILE when it is set, so a wrapper can check that
# teardown really stopped them.  EXTRA is tgtd's control port.
_braid_record_daemon ()
{
  if [[ -n ${BRAID_TEST_DAEMONS_FILE:-} ]]; then
    echo "$*" >> "$BRAID_TEST_DAEMONS_FILE"
  fi
}

# sleep_interruptible SECS: a sleep that SIGTERM/SIGINT cut short (bash
# runs a trap only once the foreground command ends; `wait` is the
# exception).  The sleep holds no stdout/stderr: a stray process holding
# meson's pipe would make meson wait for it.
_braid_sleep_pid=
sleep_interruptible ()
{
  sleep "$1" </dev/null >/dev/null 2>&1 &
  _braid_sleep_pid=$!
  wait "$_braid_sleep_pid" || true
  _braid_sleep_pid=
}

# wait_for DESC TIMEOUT_S CMD...: run CMD every 0.1 s until it succeeds;
# after TIMEOUT_S seconds report DESC and return 1.  CMD may exit 125 to
# say "this will never succeed" (e.g. the daemon died): stop at once.
wait_for ()
{
  local desc=$1 secs=$2 n rc
  shift 2
  n=$(( secs * 10 + 1 ))
  while (( n-- > 0 )); do
    if "$@" >/dev/null 2>&1; then
      return 0
    else
      rc=$?
    fi
    if (( rc == 125 )); then
      _braid_msg "gave up waiting for $desc"
      return 1
    fi
    (( n > 0 )) && sleep 0.1
  done
  _braid_msg "timed out after ${secs} s waiting for $desc"
  return 1
}

# port_accepts ADDR PORT: a TCP connect to ADDR:PORT succeeds (bounded).
port_accepts ()
{
  local a=$1
  [[ $a == *:* && $a != \[* ]] && a="[$a]"
  a=${a#[}; a=${a%]}
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$a" "$2" 2>/dev/null
}

# pid_listens PID ADDR PORT: PID owns a TCP listener on ADDR:PORT
# (ADDR as ss prints it: 127.0.0.1 or [::1]).
pid_listens ()
{
  ss -Hltnp "sport = :$3" 2>/dev/null \
    | grep -F " $2:$3 " | grep -q "pid=$1,"
}

# braid_bin NAME: path of a built braid program; fails if it is missing.
braid_bin ()
{
  local p c
  for c in "$BRAID_BUILD_DIR/src/$1/$1" "$BRAID_BUILD_DIR/$1" \
           "$BRAID_BUILD_DIR/tests/lib/$1" "$BRAID_BUILD_DIR/tests/prog/$1" \
           "$BRAID_BUILD_DIR/bench/$1"; do
    if [[ -x $c && -f $c ]]; then
      p=$c
      break
    fi
  done
  [[ -n ${p:-} ]] || fail "program '$1' not built (looked in $BRAID_BUILD_DIR)"
  if [[ -n ${BRAID_VALGRIND_DIR:-} ]]; then
    p=$(_braid_valgrind_wrapper "$1" "$p")
  fi
  echo "$p"
}

# With BRAID_VALGRIND_DIR set (make check-valgrind), every braid program a
# test runs goes through memcheck: braid_bin hands out a wrapper that execs
# valgrind (same pid, so pid checks still hold) with one log per process in
# that directory; scripts/valgrind-summary reads them afterwards, because a
# daemon's leak report comes at its exit, after the test stopped looking.
_braid_valgrind_wrapper ()
{
  local name=$1 real=$2 w
  requires valgrind
  w=$TMPDIR_TEST/valgrind-bin/$name
  if [[ ! -x $w ]]; then
    mkdir -p "$TMPDIR_TEST/valgrind-bin" "$BRAID_VALGRIND_DIR"
    # programs a test runs as another user (setpriv) log here too
    chmod 1777 "$BRAID_VALGRIND_DIR"
    cat > "$w" <<EOT
#!/bin/sh
exec valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite \\
  --errors-for-leak-kinds=definite --log-file="$BRAID_VALGRIND_DIR/$BRAID_TEST_NAME.$name.%p.log" \\
  "$real" "\$@"
EOT
    chmod +x "$w"
  fi
  echo "$w"
}

# iscsi_url ADDR PORT IQN LUN: a libiscsi URL, IPv6 addresses bracketed.
iscsi_url ()
{
  local a=$1
  [[ $a == *:* && $a != \[* ]] && a="[$a]"
  echo "iscsi://$a:$2/$3/$4"
}

# secret_file NAME CONTENT: write CONTENT to a 0600 file in TMPDIR_TEST
# (for CHAP secrets handed to braid: never argv, never world-readable).
secret_file ()
{
  local f=$TMPDIR_TEST/$1
  ( umask 077; printf '%s\n' "$2" > "$f" )
  chmod 0600 "$f"
  echo "$f"
}

# ---------------------------------------------------------------- ports

# pick_port: print a TCP port that is free on 127.0.0.1, 127.0.0.2 and ::1
# and reserved for this test until it exits.
#
# Binding is tested for real (python3), so ports used by anything on the
# machine are avoided.  Ports come from below the kernel's ephemeral range,
# so outgoing connections never grab them.  Parallel braid tests coordinate
# through reservation files in BRAID_PORT_DIR, each naming the owning test
# shell (PID + start time); the whole pick happens under one flock, so two
# tests can never reserve the same port, and reservations of dead tests are
# reclaimed.  Works from $(pick_port): the owner is $$, the test shell.
BRAID_PORT_DIR=${BRAID_PORT_DIR:-/tmp/braid-test-ports}
_braid_owner="$$ $(_braid_proc_start $$)"

_braid_port_range ()
{
  local lo hi
  read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null \
    || { lo=32768; hi=60999; }
  if (( lo > 12000 )); then
    echo "10000 $(( lo - 1 ))"
  elif (( hi < 60000 )); then
    echo "$(( hi + 1 )) 65000"
  else
    echo "20000 30000"
  fi
}

# Exit 0 if PORT binds on every loopback address we use.
_braid_port_free ()
{
  "$BRAID_PYTHON" - "$1" "$BRAID_HAVE_IPV6" <<'EOF'
import socket, sys
port, v6 = int(sys.argv[1]), sys.argv[2] == "1"
addrs = [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "127.0.0.2")]
if v6:
    addrs.append((socket.AF_INET6, "::1"))
socks = []
try:
    for fam, a in addrs:
        s = socket.socket(fam, socket.SOCK_STREAM)
        socks.append(s)
        if fam == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((a, port))
except OSError:
    sys.exit(1)
finally:
    for s in socks:
        s.close()
EOF
}

# Is the reservation file $1 held by a live test?
_braid_reservation_live ()
{
  local pid start
  read -r pid start < "$1" 2>/dev/null || return 1
  [[ -n ${pid:-} ]] && proc_alive "$pid" "$start"
}

pick_port ()
{
  requires "$BRAID_PYTHON" flock
  local range lo hi span port f fd tries=100 got=
  range=$(_braid_port_range)
  lo=${range% *}
  hi=${range#* }
  span=$(( hi - lo + 1 ))
  mkdir -p "$BRAID_PORT_DIR"
  chmod 1777 "$BRAID_PORT_DIR" 2>/dev/null || true
  exec {fd}>>"$BRAID_PORT_DIR/.lock"
  if ! flock -w 30 "$fd"; then
    exec {fd}>&-
    fail "pick_port: could not lock $BRAID_PORT_DIR/.lock within 30 s"
  fi
  while (( tries-- > 0 )); do
    port=$(( ((RANDOM << 15) | RANDOM) % span + lo ))
    f=$BRAID_PORT_DIR/port.$port
    if [[ -e $f ]]; then
      _braid_reservation_live "$f" && continue
      rm -f "$f"
    fi
    _braid_port_free "$port" || continue
    echo "$_braid_owner" > "$f"
    got=$port
    break
  done
  exec {fd}>&-
  [[ -n $got ]] || fail "pick_port: no free port found in $lo-$hi"
  echo "$got"
}

# Drop this test's reservations (run from the EXIT trap).
_braid_release_ports ()
{
  local f owner
  [[ -d $BRAID_PORT_DIR ]] || return 0
  for f in "$BRAID_PORT_DIR"/port.*; do
    [[ -e $f ]] || continue
    owner=$(cat "$f" 2>/dev/null) || continue
    [[ $owner == "$_braid_owner" ]] && rm -f "$f"
  done
  return 0
}

# ---------------------------------------------------------------- tgtd

TGT_SOCKET_DIR=/var/run/tgtd

# tgtadm_ N ARGS...: tgtadm on control port N, iscsi driver, bounded.
tgtadm_ ()
{
  local n=$1
  shift
  timeout 20 tgtadm -C "$n" --lld iscsi "$@"
}

# tgt ARGS...: tgtadm against the current tgtd ($TGT_CTL).
tgt ()
{
  tgtadm_ "$TGT_CTL" "$@"
}

# Is a tgtd answering on control port N?
_braid_tgtd_answers ()
{
  tgtadm_ "$1" --mode target --op show >/dev/null 2>&1
}

# start_tgtd PORT: start tgtd in the foreground on 127.0.0.1:PORT, add
# portals 127.0.0.2:PORT and [::1]:PORT (when IPv6 exists), wait until it
# answers and listens.  Exports TGT_CTL (control port N, IPC socket
# /var/run/tgtd/socket.N), TGT_PID, TGT_PORT, TGT_LOG.  The tgt_* helpers
# act on $TGT_CTL/$TGT_PID: a test with two tgtds saves and swaps them.
#
# N is PORT itself when free: PORT is reserved by pick_port, so no other
# braid test uses that N.  tgtd takes an exclusive lock on socket.N.lock
# and exits if another tgtd holds it; then we retry with a fresh N.
# tgtd ignores SIGTERM, and it keeps running (without a listener) when it
# cannot bind its portal, so readiness is checked on the listener's owner.
start_tgtd ()
{
  requires tgtd tgtadm ss timeout
  requires_root
  local port=$1 n=$1 tries=5 pid start logf
  mkdir -p "$TGT_SOCKET_DIR"
  while (( tries-- > 0 )); do
    if [[ -e $TGT_SOCKET_DIR/socket.$n ]] && _braid_tgtd_answers "$n"; then
      n=$(pick_port)
      continue
    fi
    logf=$TMPDIR_TEST/tgtd.$n.log
    _braid_spawn_tgtd "$n" "127.0.0.1:$port" "$logf"
    pid=$_BRAID_TGTD_PID start=$_BRAID_TGTD_START
    if ! wait_for "tgtd control socket $n" 10 \
         _braid_tgtd_ready "$n" "$pid" "$start"; then
      if grep -q 'another tgtd is using' "$logf"; then
        _braid_msg "tgtd control port $n taken by another tgtd, retrying"
        n=$(pick_port)
        continue
      fi
      fail "tgtd did not come up (log: $(tail -n 3 "$logf" | tr '\n' ' '))"
    fi
    break
  done
  proc_alive "$pid" "$start" || fail "could not start tgtd on a free control port"
  TGT_CTL=$n TGT_PID=$pid TGT_PORT=$port TGT_LOG=$logf
  export TGT_CTL TGT_PID TGT_PORT TGT_LOG
  wait_for "tgtd listening on 127.0.0.1:$port" 10 \
    _braid_tgt_portal_up "$pid" 127.0.0.1 "$port" \
    || fail "tgtd (pid $pid) is not listening on 127.0.0.1:$port"
  tgt_portal_add "127.0.0.2:$port"
  if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
    tgt_portal_add "[::1]:$port"
  fi
  log "tgtd pid $pid: portal port $port, control port $n"
}

# _braid_spawn_tgtd N PORTAL LOGF [PREFIX...]: tgtd in the background on
# control port N (run through PREFIX, e.g. ip netns exec NS), its teardown
# registered.  Sets _BRAID_TGTD_PID and _BRAID_TGTD_START.
_braid_spawn_tgtd ()
{
  local n=$1 portal=$2 logf=$3
  shift 3
  "$@" tgtd -f -C "$n" --iscsi portal="$portal" </dev/null >"$logf" 2>&1 &
  _BRAID_TGTD_PID=$!
  _BRAID_TGTD_START=$(_braid_proc_start "$_BRAID_TGTD_PID") || _BRAID_TGTD_START=
  _braid_record_daemon tgtd "$_BRAID_TGTD_PID" "$_BRAID_TGTD_START" "$n"
  cleanup_fn _braid_stop_tgtd "$n" "$_BRAID_TGTD_PID" "$_BRAID_TGTD_START" "$logf"
  show_log_on_failure "$logf"
}

# Ready = our process is alive (else stop waiting early) and answers IPC.
_braid_tgtd_ready ()
{
  if ! proc_alive "$2" "$3"; then
    return 125
  fi
  _braid_tgtd_answers "$1"
}

_braid_tgt_portal_up ()
{
  pid_listens "$1" "$2" "$3" && port_accepts "$2" "$3"
}

# Teardown for one tgtd: delete every target (tgtd ignores SIGTERM while
# targets exist), then the system; bounded wait, then SIGKILL.  The IPC
# socket and lock file outlive tgtd, so remove them.
_braid_stop_tgtd ()
{
  local n=$1 pid=$2 start=$3 logf=$4 tid
  if proc_alive "$pid" "$start"; then
    for tid in $(tgtadm_ "$n" --mode target --op show 2>/dev/null \
                  | sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
      tgtadm_ "$n" --op delete --force --mode target --tid "$tid" \
        || _braid_msg "warning: could not delete tgtd target $tid"
    done
    tgtadm_ "$n" --op delete --mode system \
      || _braid_msg "warning: tgtadm --op delete --mode system failed"
    if ! wait_gone "$pid" "$start" 10; then
      _braid_msg "tgtd pid $pid still running, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" "$start" 5 || { _braid_msg "tgtd pid $pid survives SIGKILL"; return 1; }
    fi
  fi
  # A tgtd that lost the race for N never owned these files.
  if ! grep -q 'another tgtd is using' "$logf" 2>/dev/null; then
    rm -f "$TGT_SOCKET_DIR/socket.$n" "$TGT_SOCKET_DIR/socket.$n.lock"
  fi
}

# tgt_target TID IQN
tgt_target ()
{
  tgt --mode target --op new --tid "$1" --targetname "$2"
}

# tgt_lun TID LUN null|FILE [SIZE]: a null LUN (1 TiB, reads zeros,
# discards writes) or a sparse file LUN.  A relative FILE is created in
# TMPDIR_TEST (SIZE default 256M); an existing FILE is used as is.
# Sets TGT_LUN_FILE to the backing file.
tgt_lun ()
{
  local tid=$1 lun=$2 what=$3 size=${4:-256M} f
  if [[ $what == null ]]; then
    TGT_LUN_FILE=/dev/null
    tgt --mode logicalunit --op new --tid "$tid" --lun "$lun" \
      --bstype null --backing-store /dev/null
    return
  fi
  f=$what
  [[ $f == /* ]] || f=$TMPDIR_TEST/$f
  [[ -e $f ]] || truncate -s "$size" "$f"
  TGT_LUN_FILE=$f
  tgt --mode logicalunit --op new --tid "$tid" --lun "$lun" \
    --bstype rdwr --backing-store "$f"
}

# tgt_bind_all TID: accept every initiator address.
tgt_bind_all ()
{
  tgt --mode target --op bind --tid "$1" --initiator-address ALL
}

# Accounts are global to one tgtd; create USER once, bind it per target.
# tgtadm cannot change a password: an existing USER keeps its first one.
_braid_tgt_account ()
{
  if ! tgt --mode account --op show \
       | awk -v u="$1" '$1 == u { f = 1 } END { exit !f }'; then
    tgt --mode account --op new --user "$1" --password "$2"
  fi
}

# tgt_chap TID USER SECRET: the target authenticates the initiator.
tgt_chap ()
{
  _braid_tgt_account "$2" "$3"
  tgt --mode account --op bind --tid "$1" --user "$2"
}

# tgt_chap_out TID USER SECRET: the target's own credentials (mutual CHAP).
tgt_chap_out ()
{
  _braid_tgt_account "$2" "$3"
  tgt --mode account --op bind --tid "$1" --user "$2" --outgoing
}

# tgt_set TID KEY VALUE: a per-target iSCSI parameter.
tgt_set ()
{
  tgt --mode target --op update --tid "$1" --name "$2" --value "$3"
}

# tgt_tune TID: lab.md's tuned parameter set (no digests).  tgtd then
# volunteers these keys in its login response.
tgt_tune ()
{
  local kv
  for kv in MaxRecvDataSegmentLength=262144 MaxXmitDataSegmentLength=262144 \
            FirstBurstLength=262144 MaxBurstLength=1048576 \
            InitialR2T=No ImmediateData=Yes MaxOutstandingR2T=8; do
    tgt_set "$1" "${kv%%=*}" "${kv#*=}"
  done
}

# tgt_portal_add ADDR:PORT (IPv6 as [::1]:PORT): add and wait for listener.
tgt_portal_add ()
{
  local addr=${1%:*} port=${1##*:}
  tgt --mode portal --op new --param portal="$1"
  wait_for "tgtd listening on $1" 10 \
    _braid_tgt_portal_up "$TGT_PID" "$addr" "$port" \
    || fail "tgtd is not listening on $1 after adding the portal"
}

# tgt_portal_del ADDR:PORT: remove a portal and wait until its listener
# is gone.  Connections already made through it stay up.
tgt_portal_del ()
{
  local addr=${1%:*} port=${1##*:}
  tgt --mode portal --op delete --param portal="$1"
  wait_for "tgtd to stop listening on $1" 10 \
    _braid_not_listening "$TGT_PID" "$addr" "$port" \
    || fail "tgtd still listens on $1 after deleting the portal"
}

_braid_not_listening ()
{
  ! pid_listens "$@"
}

# tgt_conns TID: one line "SID CID IP INITIATOR" per connection.
tgt_conns ()
{
  tgt --mode conn --op show --tid "$1" | awk '
    /^Session:/          { sid = $2 }
    /^ *Connection:/     { cid = $2 }
    /^ *Initiator:/      { ini = $2 }
    /^ *IP Address:/     { print sid, cid, $3, ini }'
}

# tgt_kill_conns TID: drop every connection of the target (the initiator
# sees a TCP close).  Prints how many connections were deleted.
tgt_kill_conns ()
{
  local sid cid ip ini n=0
  while read -r sid cid ip ini; do
    [[ -n $sid ]] || continue
    tgt --mode conn --op delete --tid "$1" --sid "$sid" --cid "$cid"
    n=$(( n + 1 ))
  done < <(tgt_conns "$1")
  echo "$n"
}

# ---------------------------------------------------------------- istgt

# start_istgt PORT CTLPORT [--chap USER SECRET TUSER TSECRET]
#             [--digest | --header-digest]
#
# istgt with one 256 MB file LUN (LUN 0) on portals 127.0.0.1:PORT and
# 127.0.0.2:PORT; its UnitControl portal (always opened) on
# 127.0.0.1:CTLPORT.  --chap: CHAP required (CHAP Mutual when TUSER is
# non-empty); otherwise no authentication.  --digest: header and data
# CRC32C digests required ("UseDigest Header Data"); --header-digest: only
# the header digest required; otherwise "UseDigest Auto" (the initiator's
# first choice wins).  Beware: when a required digest is not offered,
# istgt answers "HeaderDigest=Reject" yet completes the login and then
# sends digests anyway, so libiscsi (no data digest support) cannot talk
# to a --digest istgt; use --header-digest with libiscsi tools.
# Exports ISTGT_IQN, ISTGT_PID, ISTGT_PORT, ISTGT_DIR, ISTGT_LOG.
start_istgt ()
{
  requires istgt ss timeout
  local port=$1 ctl=$2 chap=0 user='' secret='' tuser='' tsecret='' digest=0
  local dir conf auth method usedigest pid start node=iqn.2026-11.dev.braid.istgt
  shift 2
  while (( $# )); do
    case $1 in
      --chap)
        (( $# >= 5 )) || fail "start_istgt: --chap USER SECRET TUSER TSECRET"
        chap=1 user=$2 secret=$3 tuser=$4 tsecret=$5
        shift 5 ;;
      --digest) digest=2; shift ;;
      --header-digest) digest=1; shift ;;
      *) fail "start_istgt: unknown option $1" ;;
    esac
  done
  dir=$TMPDIR_TEST/istgt.$port
  mkdir -p "$dir"
  conf=$dir/istgt.conf
  auth=$dir/auth.conf
  method=None
  if (( chap )); then
    method=CHAP
    [[ -n $tuser ]] && method="CHAP Mutual"
  fi
  usedigest=Auto
  (( digest == 1 )) && usedigest="Header"
  (( digest == 2 )) && usedigest="Header Data"
  truncate -s 256M "$dir/disk0.img"
  ( umask 077
    {
      echo '[AuthGroup1]'
      if (( chap )); then
        if [[ -n $tuser ]]; then
          printf '  Auth "%s" "%s" "%s" "%s"\n' "$user" "$secret" "$tuser" "$tsecret"
        else
          printf '  Auth "%s" "%s"\n' "$user" "$secret"
        fi
      fi
      # UnitControl needs a group; random credentials nobody uses.
      echo '[AuthGroup10000]'
      printf '  Auth "ctl%s" "ctl%s%s"\n' "$RANDOM" "$RANDOM$RANDOM" "$RANDOM$RANDOM"
    } > "$auth" )
  cat > "$conf" <<EOF
# Generated by tests/lib/functions.sh start_istgt.
[Global]
  Comment "braid test istgt"
  NodeBase "$node"
  PidFile $dir/istgt.pid
  AuthFile $auth
  MediaDirectory $dir
  LogFacility "local7"
  Timeout 30
  NopInInterval 20
  DiscoveryAuthMethod Auto
  MaxSessions 16
  MaxConnections 4
  MaxR2T 32
  MaxOutstandingR2T 16
  DefaultTime2Wait 2
  DefaultTime2Retain 60
  FirstBurstLength 262144
  MaxBurstLength 1048576
  MaxRecvDataSegmentLength 262144
  InitialR2T Yes
  ImmediateData Yes
  DataPDUInOrder Yes
  DataSequenceInOrder Yes
  ErrorRecoveryLevel 0
[UnitControl]
  Comment "Internal Logical Unit Controller"
  AuthMethod CHAP Mutual
  AuthGroup AuthGroup10000
  Portal UC1 127.0.0.1:$ctl
  Netmask 127.0.0.1
[PortalGroup1]
  Comment "loopback portals"
  Portal DA1 127.0.0.1:$port
  Portal DA2 127.0.0.2:$port
[InitiatorGroup1]
  Comment "loopback initiators only"
  InitiatorName "ALL"
  Netmask 127.0.0.0/8
[LogicalUnit1]
  Comment "file backed disk"
  TargetName disk0
  TargetAlias "braid test disk0"
  Mapping PortalGroup1 InitiatorGroup1
  AuthMethod $method
  AuthGroup AuthGroup1
  UseDigest $usedigest
  UnitType Disk
  LUN0 Storage $dir/disk0.img 256MB
EOF
  ISTGT_LOG=$dir/istgt.log
  istgt -c "$conf" -D -m 1 </dev/null >"$ISTGT_LOG" 2>&1 &
  pid=$!
  start=$(_braid_proc_start "$pid") || start=
  _braid_record_daemon istgt "$pid" "$start"
  cleanup_fn stop_process "$pid" "$start" 10
  show_log_on_failure "$ISTGT_LOG"
  wait_for "istgt listening on 127.0.0.1:$port and 127.0.0.2:$port" 10 \
    _braid_istgt_up "$pid" "$start" "$port" \
    || fail "istgt did not come up (log: $(tail -n 3 "$ISTGT_LOG" | tr '\n' ' '))"
  ISTGT_IQN=$node:disk0 ISTGT_PID=$pid ISTGT_PORT=$port ISTGT_DIR=$dir
  export ISTGT_IQN ISTGT_PID ISTGT_PORT ISTGT_DIR ISTGT_LOG
  log "istgt pid $pid: $ISTGT_IQN on port $port, control port $ctl"
}

_braid_istgt_up ()
{
  proc_alive "$1" "$2" || return 125
  pid_listens "$1" 127.0.0.1 "$3" && pid_listens "$1" 127.0.0.2 "$3" \
    && port_accepts 127.0.0.1 "$3"
}

# iscsi_login_probe HOST PORT IQN [KEY=VALUE...]: raw login (no CHAP)
# offering the keys; prints status=XXXX and the target's KEY=VALUE answers.
iscsi_login_probe ()
{
  requires "$BRAID_PYTHON"
  timeout 30 "$BRAID_PYTHON" "$BRAID_TEST_LIB_DIR/iscsi-login-probe.py" "$@"
}

# mp_wwids_text [LINE...]: multipath-tools' wwids file: its 5-line header,
# then the LINEs ("/<wwid>/" for an entry).
mp_wwids_text ()
{
  printf '%s\n' \
    '# Multipath wwids, Version : 1.0' \
    '# NOTE: This file is automatically maintained by multipath and multipathd.' \
    '# You should not need to edit this file in normal circumstances.' \
    '#' \
    '# Valid WWIDs:'
  if (( $# )); then printf '%s\n' "$@"; fi
}

# mp_bindings_text [LINE...]: multipath-tools' bindings file: its 7-line
# header, then the LINEs ("<alias> <wwid>").
mp_bindings_text ()
{
  printf '%s\n' \
    '# Multipath bindings, Version : 1.0' \
    '# NOTE: this file is automatically maintained by the multipath program.' \
    '# You should not need to edit this file in normal circumstances.' \
    '#' \
    '# Format:' \
    '# alias wwid' \
    '#'
  if (( $# )); then printf '%s\n' "$@"; fi
}

# assert_file_is FILE EXPECTED_FILE WHAT: byte for byte, else the diff and fail.
assert_file_is ()
{
  if ! cmp -s "$1" "$2"; then
    diff -u "$2" "$1" >&2 || true
    fail "$3: $1 differs"
  fi
}
