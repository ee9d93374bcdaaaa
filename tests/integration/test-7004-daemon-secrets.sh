#!/usr/bin/env bash
# CHAP secrets held by braidd never leave it: a daemon-side login with
# mutual CHAP from a root-only file works; afterwards the secrets appear
# in none of braidd's log (at -vvv), its argv, its state and run
# directories, the wwids and bindings files, or the replies to `show
# config`, `show paths json`, `show maps json`, `show status`.  A CHAP file
# that group or others may read is refused by braidd too, and the refusal
# names the file.  A non-root peer is refused on the control socket.
set -euo pipefail
. "$(dirname "$0")/../lib/functions.sh"
. "$(dirname "$0")/../lib/braidd.sh"
requires tgtd tgtadm setpriv
BRAID=$(braid_bin braid)
IQN=iqn.2026-11.dev.braid:secrets

port=$(pick_port)
start_tgtd "$port"
tgt_target 1 "$IQN"
tgt_lun 1 1 lun.img 16M
tgt_bind_all 1
tgt_chap 1 inituser s3cretInit77
tgt_chap_out 1 tgtuser s3cretTgt88

BRAIDD_EXPORTS=0 start_braidd d -v -v -v
B=("$BRAID" --run-dir "$BRAIDD_DIR/run")
cf=$TMPDIR_TEST/chap.conf
( umask 077; printf 'username = inituser\npassword = s3cretInit77\ntarget_username = tgtuser\ntarget_password = s3cretTgt88\n' > "$cf" )
"${B[@]}" login --portal "127.0.0.1:$port" --portal "127.0.0.2:$port" --target "$IQN" --chap-file "$cf"
wait_for "two paths" 20 bash -c "\"\$@\" show paths raw format '%d' | grep -c . | grep -qx 2" _ "${B[@]}" \
  || fail "mutual CHAP login through braidd did not give two paths"
pass "braidd logs in with mutual CHAP from a root-only file"

dump=$TMPDIR_TEST/replies
for c in "show config" "show paths json" "show maps json" "show status" "show topology"; do
  # shellcheck disable=SC2086
  "${B[@]}" $c >> "$dump" 2>&1 || true
done
tr '\0' ' ' < "/proc/$BRAIDD_PID/cmdline" >> "$dump"
if grep -rl -e s3cretInit77 -e s3cretTgt88 "$dump" "$BRAIDD_LOG" "$BRAIDD_DIR/state" \
     "$BRAIDD_DIR/run" "$BRAIDD_DIR/wwids" "$BRAIDD_DIR/bindings" 2>/dev/null; then
  fail "a CHAP secret leaked into the files above"
fi
grep -q "$cf" "$BRAIDD_DIR/state/nodes.json" || fail "nodes.json does not name the CHAP file"
pass "no secret in the log (-vvv), argv, state, run dir, wwids, bindings or control replies"

# A group-readable CHAP file is refused, and the refusal names it.
"${B[@]}" logout --target "$IQN" > /dev/null
chmod 0640 "$cf"
rc=0
"${B[@]}" login --portal "127.0.0.1:$port" --target "$IQN" --chap-file "$cf" > "$TMPDIR_TEST/out" 2>&1 || rc=$?
[[ $rc != 0 ]] || fail "login with a group-readable CHAP file succeeded"
grep -q "CHAP file $cf: holds a secret but is readable or writable by others" "$BRAIDD_LOG" \
  || fail "braidd's log does not name the refused CHAP file"
pass "a group-readable CHAP file is refused by braidd, named in its log"

# Non-root peers get nothing from the control socket.
chmod 0755 "$BRAIDD_DIR" "$BRAIDD_DIR/run"
rc=0
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$BRAID" --run-dir "$BRAIDD_DIR/run" show paths 2>&1) || rc=$?
[[ $rc != 0 ]] || fail "a non-root peer ran 'show paths': $out"
pass "a non-root peer is refused on the control socket ($out)"
