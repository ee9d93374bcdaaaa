#!/usr/bin/env bash
# Binding sessions: to a network interface (SO_BINDTODEVICE) and to a
# source address.  tgtd's initiator-address ACL proves which source
# address a session really used.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
requires tgtd tgtadm
BRAID=$(braid_bin braid)
IQN=iqn.2026-11.dev.braid:bind

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 null
tgt --mode target --op bind --tid 1 --initiator-address 127.0.0.2

# From the default source (127.0.0.1) the ACL refuses the login ...
set +e
"$BRAID" inquiry "127.0.0.1:$port" "$IQN" 1 >/dev/null 2>"$TMPDIR_TEST/err"
rc=$?
set -e
cat "$TMPDIR_TEST/err"
assert_eq 1 "$rc" "login from 127.0.0.1 refused by the ACL"
grep -q "login to 127.0.0.1:$port $IQN failed" "$TMPDIR_TEST/err" || fail "refusal message"

# ... from 127.0.0.2 it is accepted.
"$BRAID" --source 127.0.0.2 inquiry "127.0.0.1:$port" "$IQN" 1 | grep -q '^wwid:' \
  || fail "login from source 127.0.0.2"

# A source address this host does not have: a clear error.
set +e
"$BRAID" --source 192.0.2.1 discover "127.0.0.1:$port" 2>"$TMPDIR_TEST/err"
rc=$?
set -e
assert_eq 1 "$rc" "foreign source address"
grep -q "cannot bind to 192.0.2.1" "$TMPDIR_TEST/err" || fail "foreign source message"

# Interface binding: lo works, a missing interface is named in the error.
# (Open the ACL first: tgtd hides targets a source may not log in to from
# SendTargets too.)
tgt_bind_all 1
out=$("$BRAID" discover --iface lo "127.0.0.1:$port")
assert_eq "127.0.0.1:$port,1 $IQN" "$out" "discovery bound to lo"
set +e
"$BRAID" discover --iface braidnope0 "127.0.0.1:$port" 2>"$TMPDIR_TEST/err"
rc=$?
set -e
assert_eq 1 "$rc" "missing interface"
grep -q "cannot bind to interface braidnope0" "$TMPDIR_TEST/err" || fail "missing interface message"

# A LUN-less target name: "target not found", exit 1, no hang.
set +e
timeout 30 "$BRAID" inquiry "127.0.0.1:$port" iqn.2026-11.dev.braid:nothing 1 2>"$TMPDIR_TEST/err"
rc=$?
set -e
assert_eq 1 "$rc" "unknown target"
grep -q "target not found" "$TMPDIR_TEST/err" || fail "unknown target message: $(cat "$TMPDIR_TEST/err")"
pass "binding"
