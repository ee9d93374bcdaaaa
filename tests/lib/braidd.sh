# tests/lib/braidd.sh -- braidd helpers for the test-2xxx integration tests.
#
# Source it after tests/lib/functions.sh.  start_braidd runs one braidd in
# the foreground with every file it reads or writes (multipath.conf,
# conf.d, wwids, bindings, state dir, run dir) private to the test under
# $TMPDIR_TEST/NAME, waits (bounded) until its NBD socket lists the
# expected exports, and registers its teardown.  cut_path/restore_path
# take one iSCSI path away and give it back three ways: packets silently
# dropped, connections reset, or the portal removed and its connections
# closed by tgtd.  Every iptables rule added here names the test's own
# port (so parallel tests are unaffected), carries a comment naming this
# test shell, and is removed by a cleanup_fn even when the test fails.

if [[ -n ${_BRAID_BRAIDD_SH:-} ]]; then
  return 0
fi
_BRAID_BRAIDD_SH=1

# ---------------------------------------------------------------- braidd

# Where braidd NAME keeps its files.
braidd_dir () { echo "$TMPDIR_TEST/$1"; }
braidd_sock () { echo "$TMPDIR_TEST/$1/run/nbd.sock"; }
braidd_log () { echo "$TMPDIR_TEST/$1/braidd.log"; }
braidd_wwids () { echo "$TMPDIR_TEST/$1/wwids"; }
braidd_bindings () { echo "$TMPDIR_TEST/$1/bindings"; }

# braidd_uri NAME EXPORT: the export's NBD URI.
braidd_uri ()
{
  echo "nbd+unix:///$2?socket=$(braidd_sock "$1")"
}

# braidd_list NAME: one line "EXPORT SIZE" per export (nbdinfo --list).
braidd_list ()
{
  local sock
  sock=$(braidd_sock "$1")
  [[ -S $sock ]] || return 1
  timeout 10 nbdinfo --list --json "nbd+unix://?socket=$sock" \
    | "$BRAID_PYTHON" -c '
import json, sys
for e in json.load(sys.stdin).get("exports", []):
    print(e["export-name"], e.get("export-size", -1))'
}

# braidd_export NAME: the first export's name.
braidd_export ()
{
  local l
  l=$(braidd_list "$1" | head -n 1)
  [[ -n $l ]] || fail "braidd $1 exports nothing"
  echo "${l%% *}"
}

# braidd_path PORTAL TARGET LUN: the path's name in braidd's log
# (the udev by-path name: ip-PORTAL-iscsi-TARGET-lun-LUN).
braidd_path ()
{
  echo "ip-$1-iscsi-$2-lun-$3"
}

# braidd_count NAME STRING: lines of braidd NAME's log holding STRING.
braidd_count ()
{
  grep -cF -- "$2" "$(braidd_log "$1")" 2>/dev/null || true
}

# braidd_wait_log NAME TIMEOUT_S STRING [COUNT]: wait until at least COUNT
# (default 1) lines of the log hold STRING; stops early if braidd died.
braidd_wait_log ()
{
  local name=$1 secs=$2 str=$3 count=${4:-1}
  wait_for "braidd $name to log '$str' ($count)" "$secs" \
    _braidd_log_has "$name" "$str" "$count"
}

_braidd_log_has ()
{
  local n
  n=$(braidd_count "$1" "$2")
  (( n >= $3 )) && return 0
  _braidd_alive "$1" || return 125
  return 1
}

_braidd_alive ()
{
  local pid start
  read -r pid start < "$(braidd_dir "$1")/pid" 2>/dev/null || return 1
  proc_alive "$pid" "$start"
}

# Ready = braidd lives and lists at least $2 exports and its log shows at
# least $3 "added path" lines.
_braidd_ready ()
{
  local n
  _braidd_alive "$1" || return 125
  n=$(braidd_list "$1" 2>/dev/null | wc -l) || return 1
  (( n >= $2 )) || return 1
  (( $(braidd_count "$1" ": added path ") >= $3 ))
}

# start_braidd NAME [ARGS...]: start braidd -f with private files under
# $TMPDIR_TEST/NAME and ARGS (typically --login PORTAL,TARGET...).
#   BRAIDD_CONF       multipath.conf content (default: an empty file)
#   BRAIDD_CONF_FILE  or a file to copy as multipath.conf
#   BRAIDD_EXPORTS    exports to wait for (default 1)
#   BRAIDD_PATHS      "added path" log lines to wait for (default 0)
#   BRAIDD_TIMEOUT    seconds to wait (default 30)
#   BRAIDD_NETNS      run it inside this network namespace (ip netns exec)
# Sets BRAIDD_PID, BRAIDD_LOG, BRAIDD_SOCK, BRAIDD_DIR.  Teardown: SIGTERM,
# 10 s, SIGKILL.  The log is shown when the test fails.
start_braidd ()
{
  local name=$1 dir
  dir=$(braidd_dir "$name")
  [[ ! -e $dir ]] || fail "start_braidd: $name already used in this test"
  mkdir -p "$dir/conf.d" "$dir/state" "$dir/run"
  if [[ -n ${BRAIDD_CONF_FILE:-} ]]; then
    cp "$BRAIDD_CONF_FILE" "$dir/multipath.conf"
  else
    printf '%s\n' "${BRAIDD_CONF:-}" > "$dir/multipath.conf"
  fi
  _braidd_launch "$@"
}

# restart_braidd NAME [ARGS...]: start braidd NAME again on the files the
# last one left (configuration, wwids, bindings, state and run dirs, stale
# sockets included), after it stopped or was killed.  The previous log is
# kept as braidd.log.1, .2, ...; waits as start_braidd does.
restart_braidd ()
{
  local name=$1 dir i=1
  dir=$(braidd_dir "$name")
  [[ -d $dir ]] || fail "restart_braidd: $name never started"
  ! _braidd_alive "$name" || fail "restart_braidd: $name still running"
  while [[ -e $dir/braidd.log.$i ]]; do i=$(( i + 1 )); done
  mv "$dir/braidd.log" "$dir/braidd.log.$i"
  _braidd_launch "$@"
}

_braidd_launch ()
{
  requires nbdinfo timeout "$BRAID_PYTHON"
  local name=$1 bin dir pid start
  shift
  bin=$(braid_bin braidd)
  dir=$(braidd_dir "$name")
  local netns=()
  [[ -z ${BRAIDD_NETNS:-} ]] || netns=(ip netns exec "$BRAIDD_NETNS")
  "${netns[@]}" "$bin" -f --braid-config "$dir/braid.conf" --config "$dir/multipath.conf" --config-dir "$dir/conf.d" \
    --wwids "$dir/wwids" --bindings "$dir/bindings" \
    --state-dir "$dir/state" --run-dir "$dir/run" "$@" \
    </dev/null >"$dir/braidd.log" 2>&1 &
  pid=$!
  start=$(_braid_proc_start "$pid") || start=
  echo "$pid $start" > "$dir/pid"
  _braid_record_daemon braidd "$pid" "$start"
  cleanup_fn stop_process "$pid" "$start" 10
  show_log_on_failure "$dir/braidd.log"
  # shellcheck disable=SC2034  # for the tests
  BRAIDD_PID=$pid BRAIDD_DIR=$dir BRAIDD_LOG=$dir/braidd.log
  # shellcheck disable=SC2034
  BRAIDD_SOCK=$dir/run/nbd.sock
  if ! wait_for "braidd $name: ${BRAIDD_EXPORTS:-1} export(s), ${BRAIDD_PATHS:-0} path(s)" \
       "${BRAIDD_TIMEOUT:-30}" _braidd_ready "$name" "${BRAIDD_EXPORTS:-1}" \
       "${BRAIDD_PATHS:-0}"; then
    fail "braidd $name did not come up (log: $(tail -n 5 "$dir/braidd.log" | tr '\n' ' '))"
  fi
  log "braidd $name pid $pid: $(braidd_list "$name" | tr '\n' ' ')"
}

# stop_braidd_clean NAME: SIGTERM braidd NAME (started by this shell) and
# fail unless it exits with status 0 and its log holds no sanitizer report
# (teardown's stop never looks at either).
stop_braidd_clean ()
{
  local pid start rc=0
  read -r pid start < "$(braidd_dir "$1")/pid"
  kill -TERM "$pid"
  wait_gone "$pid" "$start" 20 || fail "braidd $1 did not stop on SIGTERM"
  wait "$pid" || rc=$?
  (( rc == 0 )) || fail "braidd $1 exited with status $rc on SIGTERM"
  if grep -E "Sanitizer|runtime error" "$(braidd_log "$1")"; then
    fail "braidd $1: sanitizer report"
  fi
}

# stop_braidd NAME: SIGTERM and a bounded wait (teardown does the same).
stop_braidd ()
{
  local pid start
  read -r pid start < "$(braidd_dir "$1")/pid"
  stop_process "$pid" "$start" 10
}

# ---------------------------------------------------------------- paths

# Rules are tagged "braid-<test shell pid>" so a leftover is recognisable.
_braidd_ipt_tag="braid-$$"

# _braidd_ipt ADDR ARGS...: iptables or ip6tables (by ADDR), waiting for
# the xtables lock like every parallel test does.
_braidd_ipt ()
{
  local a=$1
  shift
  if [[ $a == *:* ]]; then
    ip6tables -w 10 "$@"
  else
    iptables -w 10 "$@"
  fi
}

# _braidd_rules MODE ADDR PORT: the rule specs (one per line, without
# -A/-I/-D) that cut the path: both directions, this port only.
_braidd_rules ()
{
  local mode=$1 a=$2 port=$3 match="" target
  case $mode in
    drop) target="-j DROP" ;;
    # The RST that REJECT sends for a packet of one direction travels in
    # the other direction, through OUTPUT again: without the exception
    # the other rule would swallow it and "reset" would act as "drop".
    reset) match="! --tcp-flags RST RST" target="-j REJECT --reject-with tcp-reset" ;;
    count) target="" ;;
    *) fail "_braidd_rules: unknown mode $mode" ;;
  esac
  # DROP goes in INPUT: a DROP in OUTPUT makes the sender's own sendmsg()
  # fail with EPERM, so the "silent" path would be noticed at once.
  # Dropping on receive is what a black hole looks like to both ends.
  local chain=OUTPUT
  [[ $mode == drop ]] && chain=INPUT
  echo "$chain -p tcp -d $a --dport $port $match -m comment --comment $_braidd_ipt_tag-$mode $target"
  echo "$chain -p tcp -s $a --sport $port $match -m comment --comment $_braidd_ipt_tag-$mode $target"
}

# Remove every copy of the rules (idempotent; bounded).
_braidd_rules_del ()
{
  local mode=$1 a=$2 port=$3 spec i
  while read -r spec; do
    for (( i = 0; i < 10; i++ )); do
      # shellcheck disable=SC2086
      _braidd_ipt "$a" -D $spec 2>/dev/null || break
    done
  done < <(_braidd_rules "$mode" "$a" "$port")
}

_braidd_rules_add ()
{
  local mode=$1 a=$2 port=$3 how=$4 spec
  requires iptables
  [[ $a == *:* ]] && requires ip6tables
  cleanup_fn _braidd_rules_del "$mode" "$a" "$port"
  while read -r spec; do
    # shellcheck disable=SC2086
    _braidd_ipt "$a" "$how" $spec || fail "cannot add iptables rule: $spec"
  done < <(_braidd_rules "$mode" "$a" "$port")
}

# _braidd_portal ADDR PORT: tgtd/braidd portal syntax ([::1]:PORT for IPv6).
_braidd_portal ()
{
  if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi
}

# _braidd_tgt_sids ADDR PORT: the tgtd session ids of braidd's current
# session(s) through portal ADDR:PORT.  All our sessions come from the same
# initiator address (the kernel picks 127.0.0.1 for every 127/8 portal),
# so tgtd's own listing cannot tell them apart; the TSIH can: braidd logs
# the TSIH of each login, and tgtd shows it as the session id.  (tgtd puts
# its TSIH on the wire in host byte order, so braidd sees it byte-swapped:
# both readings are tried.)  Uses $BRAIDD_LOG (the last braidd started).
_braidd_tgt_sids ()
{
  local portal tsih swapped sid
  portal=$(_braidd_portal "$1" "$2")
  tsih=$(grep -F "$portal " "$BRAIDD_LOG" \
           | sed -n 's/.*: logged in (TSIH \([0-9]*\),.*/\1/p' | tail -n 1)
  [[ -n $tsih ]] || return 0
  swapped=$(( ((tsih & 255) << 8) | (tsih >> 8) ))
  while read -r sid _; do
    if [[ $sid == "$tsih" || $sid == "$swapped" ]]; then
      echo "$sid"
    fi
  done < <(tgt_conns "${CUT_TID:-1}")
}

# cut_path MODE ADDR PORT: take the path through portal ADDR:PORT away.
#   drop   iptables DROP, both directions (silence: found by NOP timeouts)
#   reset  iptables REJECT --reject-with tcp-reset, both directions (RSTs
#          themselves pass, so each side really gets reset)
#   kill   tgtd deletes the portal (reconnects are refused) and closes the
#          connections of braidd's session through it (needs $TGT_CTL,
#          $BRAIDD_LOG; target id $CUT_TID, default 1)
cut_path ()
{
  local mode=$1 a=$2 port=$3 sid s cid n=0
  case $mode in
    drop|reset)
      _braidd_rules_add "$mode" "$a" "$port" -I ;;
    kill)
      tgt_portal_del "$(_braidd_portal "$a" "$port")"
      for sid in $(_braidd_tgt_sids "$a" "$port"); do
        while read -r s cid _; do
          [[ $s == "$sid" ]] || continue
          tgt --mode conn --op delete --tid "${CUT_TID:-1}" --sid "$sid" --cid "$cid"
          n=$(( n + 1 ))
        done < <(tgt_conns "${CUT_TID:-1}")
      done
      (( n > 0 )) || fail "cut_path kill: found no tgtd connection of braidd's session through $a:$port"
      ;;
    *) fail "cut_path: unknown mode $mode" ;;
  esac
  log "cut $a:$port ($mode)"
}

# restore_path MODE ADDR PORT: undo cut_path.
restore_path ()
{
  local mode=$1 a=$2 port=$3
  case $mode in
    drop|reset) _braidd_rules_del "$mode" "$a" "$port" ;;
    kill) tgt_portal_add "$(_braidd_portal "$a" "$port")" ;;
    *) fail "restore_path: unknown mode $mode" ;;
  esac
  log "restored $a:$port ($mode)"
}

# ---------------------------------------------------------------- traffic

# count_path ADDR PORT: count (never filter) the packets of the path
# through ADDR:PORT, both directions: rules without a target, appended.
count_path ()
{
  _braidd_rules_add count "$1" "$2" -A
}

# path_bytes ADDR PORT: bytes counted so far by count_path ADDR PORT
# (both directions summed).
path_bytes ()
{
  local a=$1 port=$2
  _braidd_ipt "$a" -S OUTPUT -v 2>/dev/null \
    | awk -v tag="$_braidd_ipt_tag-count" -v a="$a" -v p="$port" '
        index($0, "--comment " tag " ") {
          if ((index($0, " --dport " p " ") || index($0, " --sport " p " ")) \
              && index($0, a "/")) {
            for (i = 1; i < NF; i++) if ($i == "-c") { sum += $(i + 2) }
          }
        }
        END { print sum + 0 }'
}
