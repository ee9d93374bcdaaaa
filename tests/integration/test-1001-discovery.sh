#!/usr/bin/env bash
# SendTargets discovery: two targets on tgtd's three portals (127.0.0.1,
# 127.0.0.2, ::1), asked through every portal, must give all six
# (portal, target) lines in iscsiadm's format; istgt lists both of its
# portals through one.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
requires tgtd tgtadm istgt
BRAID=$(braid_bin braid)

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 iqn.2026-11.dev.braid:disc1
tgt_lun 1 1 null
tgt_bind_all 1
tgt_target 2 iqn.2026-11.dev.braid:disc2
tgt_lun 2 1 null
tgt_bind_all 2

out=$("$BRAID" discover "127.0.0.1:$port" "127.0.0.2:$port" "[::1]:$port")
echo "$out"
expected=$(cat <<EOT | sort
127.0.0.1:$port,1 iqn.2026-11.dev.braid:disc1
127.0.0.1:$port,1 iqn.2026-11.dev.braid:disc2
127.0.0.2:$port,1 iqn.2026-11.dev.braid:disc1
127.0.0.2:$port,1 iqn.2026-11.dev.braid:disc2
[::1]:$port,1 iqn.2026-11.dev.braid:disc1
[::1]:$port,1 iqn.2026-11.dev.braid:disc2
EOT
)
assert_eq "$expected" "$(echo "$out" | sort)" "tgtd: six (portal, target) lines"

# A portal that answers nothing: a clear error and exit status 1, and the
# portals that work are still listed.
dead=$(pick_port)
set +e
out2=$("$BRAID" discover "127.0.0.1:$port" "127.0.0.1:$dead" 2>"$TMPDIR_TEST/err")
rc=$?
set -e
assert_eq 1 "$rc" "exit status with one dead portal"
grep -q "127.0.0.1:$dead" "$TMPDIR_TEST/err" || fail "error does not name the dead portal"
assert_eq 2 "$(echo "$out2" | wc -l)" "live portal still listed"

# istgt answers with every portal of its portal group.
iport=$(pick_port)
ictl=$(pick_port)
start_istgt "$iport" "$ictl"
out3=$("$BRAID" discover "127.0.0.1:$iport")
echo "$out3"
expected3=$(printf '%s\n' "127.0.0.1:$iport,1 $ISTGT_IQN" "127.0.0.2:$iport,1 $ISTGT_IQN" | sort)
assert_eq "$expected3" "$(echo "$out3" | sort)" "istgt: both portals"
pass "discovery"
