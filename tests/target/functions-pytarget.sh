# tests/target/functions-pytarget.sh -- start and drive pytarget.py, braid's
# scripted iSCSI target, from integration tests.
#
# Source it after tests/lib/functions.sh (it uses that file's cleanup_fn,
# wait_for, proc_alive, stop_process, show_log_on_failure and TMPDIR_TEST).
# Each target gets a NAME; its control socket, log, pid and ready files
# live in $TMPDIR_TEST/pytarget.NAME/, and teardown (SIGTERM, bounded,
# then SIGKILL) is registered with cleanup_fn when it starts.  The caller
# picks ports with pick_port and passes --portal options itself.
#
#   start_pytarget t1 --portal 127.0.0.1:$port,tpg=1 --portal 127.0.0.2:$port,tpg=2
#   pytarget_ctl t1 '{"cmd":"alua","tpg":2,"state":"standby"}'
#   pytarget_probe t1 --portal 127.0.0.2:$port tur rtpg
#   pytarget_stat t1 127.0.0.1:$port cmds

if [[ -n ${_BRAID_FUNCTIONS_PYTARGET_SH:-} ]]; then
  return 0
fi
_BRAID_FUNCTIONS_PYTARGET_SH=1

PYTARGET_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTARGET=$PYTARGET_DIR/pytarget.py
PYTARGET_PROBE=$PYTARGET_DIR/probe.py

# pytarget_dir NAME: the directory holding NAME's ctl, log, pid, ready.
pytarget_dir ()
{
  echo "$TMPDIR_TEST/pytarget.$1"
}

_pytarget_ready ()
{
  proc_alive "$2" "$3" || return 125
  [[ -s $1/ready && -S $1/ctl ]]
}

# start_pytarget NAME ARGS...: start pytarget.py with ARGS plus its
# control socket, log, pid and ready files; wait (bounded) until it
# listens.  Sets PYTARGET_PID_<NAME> and PYTARGET_START_<NAME> (the
# process start time, for proc_alive/stop_process).
start_pytarget ()
{
  requires python3 timeout
  local name=$1 dir pid start
  shift
  [[ $name =~ ^[A-Za-z0-9_]+$ ]] || fail "start_pytarget: bad name '$name'"
  dir=$(pytarget_dir "$name")
  mkdir -p "$dir"
  chmod 0700 "$dir"
  rm -f "$dir/ready"
  # Unix socket paths are limited to 107 bytes.
  (( ${#dir} < 100 )) || fail "start_pytarget: $dir too long for a socket"
  python3 "$PYTARGET" --control "$dir/ctl" --pidfile "$dir/pid" \
    --ready-file "$dir/ready" --log "$dir/log" "$@" \
    </dev/null >>"$dir/log" 2>&1 &
  pid=$!
  start=$(_braid_proc_start "$pid") || start=
  _braid_record_daemon pytarget "$pid" "$start"
  cleanup_fn stop_process "$pid" "$start" 10
  show_log_on_failure "$dir/log"
  if ! wait_for "pytarget $name ready" 20 _pytarget_ready "$dir" "$pid" "$start"; then
    fail "pytarget $name did not come up (log: $(tail -n 3 "$dir/log" | tr '\n' ' '))"
  fi
  printf -v "PYTARGET_PID_$name" %s "$pid"
  printf -v "PYTARGET_START_$name" %s "$start"
  log "pytarget $name pid $pid: $(cat "$dir/ready")"
}

# stop_pytarget NAME: ask it to quit over the control socket, then make
# sure it is gone (SIGTERM/SIGKILL after a bounded wait).
stop_pytarget ()
{
  local pidv=PYTARGET_PID_$1 startv=PYTARGET_START_$1
  pytarget_ctl "$1" '{"cmd":"quit"}' >/dev/null 2>&1 || true
  wait_gone "${!pidv}" "${!startv}" 10 || stop_process "${!pidv}" "${!startv}" 10
}

# pytarget_ctl NAME JSON: send one control command, print the JSON answer;
# fails unless the answer says "ok": true.
pytarget_ctl ()
{
  local sock
  sock=$(pytarget_dir "$1")/ctl
  timeout 20 python3 - "$sock" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(15)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
sys.exit(0 if buf and json.loads(buf).get("ok") else 1)
EOF
}

# pytarget_probe NAME ARGS...: run tests/target/probe.py (bounded) with
# NAME's control socket, so ctl:JSON steps reach that target.
pytarget_probe ()
{
  local sock
  sock=$(pytarget_dir "$1")/ctl
  shift
  timeout 300 python3 "$PYTARGET_PROBE" --control "$sock" "$@"
}

# pytarget_stat NAME PORTAL COUNTER: one per-portal counter from "stats"
# (cmds, bytes_in, bytes_out, connections_open, or any counter name).
pytarget_stat ()
{
  pytarget_ctl "$1" '{"cmd":"stats"}' | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["portals"]:
    if p["portal"] == sys.argv[1]:
        v = p.get(sys.argv[2], p["counters"].get(sys.argv[2], 0))
        print(int(v))
        sys.exit(0)
sys.exit(1)' "$2" "$3"
}
