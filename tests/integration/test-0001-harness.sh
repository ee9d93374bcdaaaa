#!/usr/bin/env bash
# test-0001-harness: proves tests/lib/functions.sh with libiscsi's own
# tools, no braid code involved.  The real test runs as a child ("inner");
# the parent then checks that teardown left no tgtd/istgt process, tgtd
# control socket or port reservation behind.
#
# Inner part: harness self-checks (requires/skip rules, teardown order and
# robustness, teardown on failure and on SIGTERM, pick_port), then tgtd with
# two plain targets and a CHAP target on three portals, dropping a live
# session with tgt_kill_conns, and istgt in plain, CHAP-mutual +
# header-digest and --digest variants.
set -euo pipefail
source "$(dirname "$0")/../lib/functions.sh"

requires iscsi-ls iscsi-inq iscsi-perf tgtd tgtadm istgt python3 timeout ss
requires_root

# ---------------------------------------------------------------- parent
if [[ ${1:-} != --inner ]]; then
  export BRAID_TEST_DAEMONS_FILE=$TMPDIR_TEST/daemons
  : > "$BRAID_TEST_DAEMONS_FILE"
  # In the background so a SIGTERM to this shell reaches the inner run
  # through the teardown stack.
  bash "$0" --inner &
  inner=$!
  cleanup_fn stop_process "$inner" "$(_braid_proc_start "$inner" || true)" 60
  rc=0
  wait "$inner" || rc=$?
  [[ $rc == 0 ]] || exit "$rc"

  n=0
  while read -r name pid start ctl; do
    n=$(( n + 1 ))
    ! proc_alive "$pid" "$start" || fail "$name pid $pid survived teardown"
    if [[ $name == tgtd ]]; then
      [[ ! -e $TGT_SOCKET_DIR/socket.$ctl && ! -e $TGT_SOCKET_DIR/socket.$ctl.lock ]] \
        || fail "tgtd control socket $ctl left in $TGT_SOCKET_DIR"
    fi
  done < "$BRAID_TEST_DAEMONS_FILE"
  (( n >= 5 )) || fail "expected at least 5 daemons recorded, got $n"
  pass "all $n daemons of the inner run are gone, no tgtd sockets left"
  # The inner shell's reservations are gone with it.
  if [[ -f $TMPDIR_TEST/inner-owner ]]; then
    owner=$(cat "$TMPDIR_TEST/inner-owner")
    ! grep -rqxF "$owner" "$BRAID_PORT_DIR" 2>/dev/null \
      || fail "port reservations of the inner run were not released"
    pass "port reservations released"
  fi
  exit 0
fi

echo "$_braid_owner" > "$(dirname "$BRAID_TEST_DAEMONS_FILE")/inner-owner"
LIB=$BRAID_TEST_LIB_DIR/functions.sh

# ---------------------------------------------------------------- harness
# requires: skip (77) normally, failure (1) under CI=true.
child=$TMPDIR_TEST/requires.sh
printf 'source %q\nrequires no-such-command-braid\nexit 0\n' "$LIB" > "$child"
rc=0; env -u CI bash "$child" 2>/dev/null || rc=$?
assert_eq "$rc" 77 "requires without CI"
rc=0; CI=true bash "$child" 2>/dev/null || rc=$?
assert_eq "$rc" 1 "requires with CI=true"
pass "requires skips, and fails under CI=true"

# cleanup_fn: reverse order, a failing step does not stop the others, the
# exit status is kept, TMPDIR_TEST is removed.
child=$TMPDIR_TEST/cleanup.sh
out=$TMPDIR_TEST/cleanup.out
cat > "$child" <<EOF
set -euo pipefail
source $(printf %q "$LIB")
echo "\$TMPDIR_TEST" > $(printf %q "$out.dir")
cleanup_fn sh -c 'echo 1 >> $(printf %q "$out")'
cleanup_fn false
cleanup_fn sh -c 'echo 2 >> $(printf %q "$out"); exit 3'
cleanup_fn sh -c 'echo 3 >> $(printf %q "$out")'
exit 5
EOF
rc=0; bash "$child" 2>/dev/null || rc=$?
assert_eq "$rc" 5 "exit status through teardown"
assert_eq "$(tr '\n' ' ' < "$out")" "3 2 1 " "teardown order"
[[ ! -e $(cat "$out.dir") ]] || fail "TMPDIR_TEST of the child not removed"
pass "cleanup_fn runs in reverse order past failures, TMPDIR_TEST removed"

# Teardown also runs when a command fails under set -e, and on SIGTERM
# (the child waits in sleep_interruptible, which a trapped signal cuts).
child_daemons=$TMPDIR_TEST/child-daemons
for how in errexit sigterm; do
  child=$TMPDIR_TEST/$how.sh
  : > "$child_daemons"
  cat > "$child" <<EOF
set -euo pipefail
source $(printf %q "$LIB")
P=\$(pick_port)
start_tgtd "\$P"
tgt_target 1 iqn.2026-11.dev.braid:$how
tgt_lun 1 1 null
echo ready > $(printf %q "$TMPDIR_TEST/$how.ready")
if [[ $how == errexit ]]; then
  false
fi
sleep_interruptible 60
EOF
  BRAID_TEST_DAEMONS_FILE=$child_daemons bash "$child" 2>"$TMPDIR_TEST/$how.err" &
  cpid=$!
  wait_for "$how child to start tgtd" 20 test -e "$TMPDIR_TEST/$how.ready" \
    || fail "$how child did not start ($(tail -n 3 "$TMPDIR_TEST/$how.err"))"
  [[ $how == sigterm ]] && kill -TERM "$cpid"
  rc=0; wait "$cpid" || rc=$?
  [[ $how == errexit ]] && assert_eq "$rc" 1 "status of a set -e failure"
  [[ $how == sigterm ]] && assert_eq "$rc" 143 "status after SIGTERM"
  read -r _ cpid_tgtd cstart cctl < "$child_daemons"
  ! proc_alive "$cpid_tgtd" "$cstart" || fail "tgtd of the $how child survived"
  [[ ! -e $TGT_SOCKET_DIR/socket.$cctl ]] || fail "socket.$cctl left by the $how child"
  cat "$child_daemons" >> "$BRAID_TEST_DAEMONS_FILE"
  pass "teardown on $how stopped tgtd (which ignores SIGTERM itself)"
done

# pick_port: distinct ports, each reserved for this shell and bindable.
declare -A seen=()
for i in $(seq 1 20); do
  p=$(pick_port)
  [[ -z ${seen[$p]:-} ]] || fail "pick_port returned $p twice"
  seen[$p]=1
  assert_eq "$(cat "$BRAID_PORT_DIR/port.$p")" "$_braid_owner" "reservation of $p"
done
pass "pick_port: 20 distinct reserved ports"

# ---------------------------------------------------------------- tgtd
IQN1=iqn.2026-11.dev.braid:harness-null
IQN2=iqn.2026-11.dev.braid:harness-file
IQN3=iqn.2026-11.dev.braid:harness-chap
P=$(pick_port)
start_tgtd "$P"
tgt_target 1 "$IQN1"
tgt_lun 1 1 null
tgt_bind_all 1
tgt_target 2 "$IQN2"
tgt_lun 2 1 file2.img
tgt_tune 2
tgt_bind_all 2
tgt --mode target --op show --tid 2 >/dev/null

portals=$(tgt --mode portal --op show)
for a in "127.0.0.1:$P" "127.0.0.2:$P"; do
  grep -qF "Portal: $a,1" <<< "$portals" || fail "portal $a missing: $portals"
done
if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  grep -qF "Portal: [::1]:$P,1" <<< "$portals" || fail "portal [::1]:$P missing"
fi
pass "tgtd portals: $(tr '\n' ' ' <<< "$portals")"

ls_out=$(timeout 30 iscsi-ls -s "iscsi://127.0.0.1:$P")
for iqn in "$IQN1" "$IQN2"; do
  grep -qF "Target:$iqn Portal:127.0.0.1:$P,1" <<< "$ls_out" \
    || fail "iscsi-ls via 127.0.0.1 misses $iqn: $ls_out"
done
grep -q 'Size:255M' <<< "$ls_out" || fail "256M file LUN not listed: $ls_out"
pass "iscsi-ls -s via 127.0.0.1 lists both targets"

inq=$(timeout 30 iscsi-inq "$(iscsi_url 127.0.0.2 "$P" "$IQN1" 1)")
grep -q '^Vendor:IET' <<< "$inq" || fail "iscsi-inq via 127.0.0.2: $inq"
inq=$(timeout 30 iscsi-inq "$(iscsi_url 127.0.0.2 "$P" "$IQN2" 1)")
grep -q '^Product:VIRTUAL-DISK' <<< "$inq" || fail "iscsi-inq file LUN: $inq"
pass "iscsi-inq via 127.0.0.2"

if [[ $BRAID_HAVE_IPV6 == 1 ]]; then
  ls_out=$(timeout 30 iscsi-ls "iscsi://[::1]:$P")
  for iqn in "$IQN1" "$IQN2"; do
    grep -qF "Target:$iqn Portal:[::1]:$P,1" <<< "$ls_out" \
      || fail "iscsi-ls via [::1] misses $iqn: $ls_out"
  done
  pass "iscsi-ls via [::1]"
else
  log "no ::1 on this machine: IPv6 portal not checked"
fi

# Portal removal and re-adding.
tgt_portal_del "127.0.0.2:$P"
! port_accepts 127.0.0.2 "$P" || fail "127.0.0.2:$P still accepts after portal delete"
tgt_portal_add "127.0.0.2:$P"
pass "tgt_portal_del / tgt_portal_add"

# CHAP, one-way and mutual, credentials from libiscsi's environment.
tgt_target 3 "$IQN3"
tgt_lun 3 1 null
tgt_bind_all 3
tgt_chap 3 harness-user harness-secret-12
tgt_chap_out 3 harness-target harness-tsecret-34
url3=$(iscsi_url 127.0.0.1 "$P" "$IQN3" 1)
if timeout 30 iscsi-inq "$url3" >/dev/null 2>&1; then
  fail "iscsi-inq without CHAP credentials logged in"
fi
LIBISCSI_CHAP_USERNAME=harness-user LIBISCSI_CHAP_PASSWORD=wrong-secret-xx \
  timeout 30 iscsi-inq "$url3" >/dev/null 2>&1 \
  && fail "iscsi-inq with a wrong CHAP secret logged in"
inq=$(LIBISCSI_CHAP_USERNAME=harness-user LIBISCSI_CHAP_PASSWORD=harness-secret-12 \
      timeout 30 iscsi-inq "$url3")
grep -q '^Vendor:IET' <<< "$inq" || fail "one-way CHAP iscsi-inq: $inq"
inq=$(LIBISCSI_CHAP_USERNAME=harness-user LIBISCSI_CHAP_PASSWORD=harness-secret-12 \
      LIBISCSI_CHAP_TARGET_USERNAME=harness-target \
      LIBISCSI_CHAP_TARGET_PASSWORD=harness-tsecret-34 \
      timeout 30 iscsi-inq "$(iscsi_url 127.0.0.2 "$P" "$IQN3" 1)")
grep -q '^Vendor:IET' <<< "$inq" || fail "mutual CHAP iscsi-inq: $inq"
LIBISCSI_CHAP_USERNAME=harness-user LIBISCSI_CHAP_PASSWORD=harness-secret-12 \
  LIBISCSI_CHAP_TARGET_USERNAME=harness-target LIBISCSI_CHAP_TARGET_PASSWORD=bad-bad-bad-bad \
  timeout 30 iscsi-inq "$url3" >/dev/null 2>&1 \
  && fail "mutual CHAP accepted a wrong target secret"
pass "tgtd CHAP: refused without/with wrong credentials, one-way and mutual work"

# tgt_kill_conns on a live session: libiscsi logs in again (new session)
# and the I/O run completes.  iscsi-perf itself then hangs at exit: its
# in-flight counter ends at -1 after the reconnect (an iscsi-perf bug), so
# its final summary line is the check, and it is stopped afterwards.
_has_conns () { [[ -n $(tgt_conns "$1") ]]; }
_other_session () { tgt_conns "$1" | awk -v old="$2" '$1 != old { f = 1 } END { exit !f }'; }
_perf_done () { tr '\r' '\n' < "$1" | grep -q '^iops average [0-9]'; }
perf_log=$TMPDIR_TEST/iscsi-perf.log
# Not under timeout(1): a SIGKILLed timeout leaves its child running.
iscsi-perf -m 4 -b 8 -t 4 "$(iscsi_url 127.0.0.1 "$P" "$IQN1" 1)" \
  </dev/null > "$perf_log" 2>&1 &
perf_pid=$!
cleanup_fn stop_process "$perf_pid" "$(_braid_proc_start "$perf_pid" || true)" 5
wait_for "iscsi-perf's session on tid 1" 20 _has_conns 1 \
  || fail "no session from iscsi-perf ($(tail -c 300 "$perf_log"))"
read -r sid cid ip ini < <(tgt_conns 1)
[[ $ini == *iscsi-perf* ]] || fail "unexpected initiator on tid 1: $ini"
sleep 1
killed=$(tgt_kill_conns 1)
(( killed >= 1 )) || fail "tgt_kill_conns deleted nothing"
grep -q "conn_close_admin" "$TGT_LOG" || fail "tgtd did not log the admin close"
wait_for "libiscsi to log in again after the kill" 20 _other_session 1 "$sid" \
  || fail "no new session after tgt_kill_conns"
tgt_conns 1 | awk -v old="$sid" '$1 == old { exit 1 }' \
  || fail "session $sid still listed after tgt_kill_conns"
wait_for "iscsi-perf to finish its run" 30 _perf_done "$perf_log" \
  || fail "iscsi-perf did not complete after the reconnect ($(tail -c 300 "$perf_log"))"
stop_process "$perf_pid" "$(_braid_proc_start "$perf_pid" || true)" 5 || true
pass "tgt_kill_conns dropped session $sid ($killed conn), iscsi-perf reconnected and completed"

# ---------------------------------------------------------------- istgt
# Plain (no CHAP, UseDigest Auto).  iscsi-ls prints nothing against istgt
# (its ExpCmdSN bug), so everything uses iscsi-inq.
I=$(pick_port)
start_istgt "$I" "$(pick_port)"
for a in 127.0.0.1 127.0.0.2; do
  inq=$(timeout 30 iscsi-inq "$(iscsi_url "$a" "$I" "$ISTGT_IQN" 0)")
  grep -q '^Vendor:FreeBSD' <<< "$inq" || fail "istgt iscsi-inq via $a: $inq"
done
pass "istgt plain: iscsi-inq via 127.0.0.1 and 127.0.0.2"

# CHAP Mutual + header digest required.
I=$(pick_port)
start_istgt "$I" "$(pick_port)" --chap istgt-user istgt-secret-12 \
  istgt-target istgt-tsecret-34 --header-digest
base="127.0.0.1:$I/$ISTGT_IQN/0"
if timeout 30 iscsi-inq "iscsi://$base?header_digest=crc32c" >/dev/null 2>&1; then
  fail "istgt CHAP: login without credentials worked"
fi
inq=$(timeout 30 iscsi-inq "iscsi://istgt-user%istgt-secret-12@$base?target_user=istgt-target&target_password=istgt-tsecret-34&header_digest=crc32c")
grep -q '^Vendor:FreeBSD' <<< "$inq" || fail "istgt mutual CHAP iscsi-inq: $inq"
grep -q 'HeaderDigest=on' "$ISTGT_LOG" || fail "istgt did not log HeaderDigest=on"
pass "istgt CHAP Mutual + header digest: refused without credentials, works with them"

# --digest: header and data CRC32C required.  libiscsi cannot do data
# digests, so the negotiation is checked with the raw login probe.
I=$(pick_port)
start_istgt "$I" "$(pick_port)" --digest
ans=$(iscsi_login_probe 127.0.0.2 "$I" "$ISTGT_IQN" HeaderDigest=CRC32C DataDigest=CRC32C)
grep -qx 'HeaderDigest=CRC32C' <<< "$ans" && grep -qx 'DataDigest=CRC32C' <<< "$ans" \
  || fail "istgt --digest, CRC32C offered: $ans"
ans=$(iscsi_login_probe 127.0.0.1 "$I" "$ISTGT_IQN" HeaderDigest=None DataDigest=None) || true
grep -qx 'HeaderDigest=Reject' <<< "$ans" && grep -qx 'DataDigest=Reject' <<< "$ans" \
  || fail "istgt --digest, None offered: $ans"
pass "istgt --digest: CRC32C negotiated when offered, None rejected"

pass "harness test complete"
