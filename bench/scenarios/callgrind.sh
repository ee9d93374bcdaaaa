# bench/scenarios/callgrind.sh, sourced by bench/run (scenario "callgrind";
# uses the tgtd and null LUN bench/run starts).
#
# Instructions per 4 KiB random read, QD 32, for braid's initiator
# (bench/iscsi-bench) and libiscsi (iscsi-perf), both under valgrind's
# callgrind.  Each program runs twice, CG_SHORT and CG_LONG seconds; the
# difference in instructions over the difference in I/Os completed cancels
# start-up, login and logout, leaving the steady-state cost per I/O of the
# initiator process (user space; the kernel's share is not counted).
requires valgrind
CG_SHORT=${CG_SHORT:-2}
CG_LONG=${CG_LONG:-6}
cg_ir () { # callgrind output file -> total instructions
  sed -n 's/^\(summary\|totals\): *\([0-9]*\).*/\2/p' "$1" | head -n 1
}
cg_one () { # who seconds -> "instructions ios"
  local f="$TMPDIR_TEST/cg-$1-$2.out" out ios
  if [ "$1" = braid ]; then
    out=$(timeout $(( $2 * 20 + 120 )) valgrind --tool=callgrind --callgrind-out-file="$f" \
          "$BENCH" --portal "127.0.0.1:$port" --target "$IQN" --lun 1 --bs 4096 --qd 32 \
          --seconds "$2" --rand 2>/dev/null)
    ios=$(echo "$out" | sed -n 's/.*, \([0-9]*\) I\/Os$/\1/p')
  else
    out=$(timeout $(( $2 * 20 + 120 )) valgrind --tool=callgrind --callgrind-out-file="$f" \
          iscsi-perf -m 32 -b 8 -r -t "$2" "$URL" 2>/dev/null | tr '\r' '\n' | grep '^iops average' | tail -n 1)
    # iscsi-perf reports the average rate over its run of $2 seconds
    ios=$(echo "$out" | sed -n 's/^iops average \([0-9]*\) .*/\1/p')
    ios=$(( ${ios:-0} * $2 ))
  fi
  echo "$(cg_ir "$f") ${ios:-0}"
}
echo "callgrind: instructions per 4 KiB random read QD 32, runs of ${CG_SHORT}s and ${CG_LONG}s" >&2
: > "$TMPDIR_TEST/callgrind.rows"
for who in braid libiscsi; do
  a=$(cg_one "$who" "$CG_SHORT")
  b=$(cg_one "$who" "$CG_LONG")
  echo "  callgrind $who: short $a, long $b (instructions I/Os)" >&2
  echo "$who $a $b" >> "$TMPDIR_TEST/callgrind.rows"
done
python3 - "$TMPDIR_TEST/callgrind.rows" "$TMPDIR_TEST/callgrind.json" <<'PY'
import json, sys
out = {"case": "4 KiB random read QD 32, user-space instructions per I/O (callgrind, differential)"}
for l in open(sys.argv[1]):
    who, i1, n1, i2, n2 = l.split()
    i1, n1, i2, n2 = map(int, (i1, n1, i2, n2))
    per = (i2 - i1) / (n2 - n1) if n2 > n1 else None
    out[who] = {"instructions_per_io": round(per) if per else None, "ios_short": n1, "ios_long": n2}
b, l = out.get("braid", {}).get("instructions_per_io"), out.get("libiscsi", {}).get("instructions_per_io")
out["ratio"] = round(b / l, 3) if b and l else None
json.dump(out, open(sys.argv[2], "w"), indent=2)
print(f"callgrind: braid {b} vs libiscsi {l} instructions per 4 KiB read (ratio {out['ratio']})", file=sys.stderr)
PY
