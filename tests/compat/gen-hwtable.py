#!/usr/bin/env python3
"""Generate lib/mpconf/hwtable.c from `multipath -t` output.

braid's built-in hardware table is the one of multipath-tools 0.9.4,
transcribed from what the real binary prints, not from its source.  To
regenerate it (only needed when moving to another multipath-tools
version), run the oracle with an empty configuration and feed its dump to
this script:

    mkdir /tmp/empty
    tests/compat/oracle-run.sh /tmp/empty /tmp/oracle
    python3 tests/compat/gen-hwtable.py /tmp/oracle/out > lib/mpconf/hwtable.c

(oracle-run.sh runs `multipath -t` in a private mount namespace with an
overlay on /etc, so the host's /etc is never touched.)
"""
import sys


def unquote(v):
    if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
        return v[1:-1].replace('""', '"')
    return v


def c_string(s):
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def main():
    lines = open(sys.argv[1]).read().split('\n')
    entries, cur, in_devices = [], None, False
    for line in lines:
        if line == 'devices {':
            in_devices = True
        elif in_devices and line == '}':
            in_devices = False
        elif in_devices and line == '\tdevice {':
            cur = []
        elif in_devices and line == '\t}':
            entries.append(cur)
            cur = None
        elif in_devices and cur is not None and line.startswith('\t\t'):
            key, _, value = line[2:].partition(' ')
            cur.append((key, unquote(value)))
    out = sys.stdout
    out.write('''/* hwtable.c: the built-in hardware table of multipath-tools 0.9.4.
 *
 * GENERATED FILE - do not edit.  Produced by tests/compat/gen-hwtable.py
 * from the devices section of `multipath -t` (Debian multipath-tools
 * 0.9.4) run with an empty configuration; see that script for how to
 * regenerate it.  Each entry is a list of keyword/value pairs as the dump
 * spells them, ended by NULL; the table ends with an extra NULL.  They
 * are parsed with the same keyword parsers as multipath.conf, so the
 * built-in entries are exactly what a file with these lines would give.
 */
#include <errno.h>
#include <stddef.h>

#include "mpconf-internal.h"

static const char *const builtin_hw[] = {
''')
    for i, e in enumerate(entries):
        out.write('  /* %d */\n' % (i + 1))
        for k, v in e:
            out.write('  %s, %s,\n' % (c_string(k), c_string(v)))
        out.write('  NULL,\n')
    out.write('''  NULL
};

const size_t mpc_builtin_hw_count = %d;

int
mpc_hwtable_load (struct mpc_ctx *ctx)
{
  const char *const *p = builtin_hw;

  while (*p)
    {
      struct mpc_entry *e = mpc_entry_new ("(built-in)", 0);

      if (!e || mpc_vec_push (&ctx->conf->hw, e) < 0)
        {
          mpc_entry_free (e);
          return -ENOMEM;
        }
      e->builtin = true;
      for (; *p; p += 2)
        {
          int kw = mpc_keyword_find (p[0], MPC_S_HW);

          if (kw >= 0)
            mpc_value_parse (ctx, kw, &e->a.v[mpc_kw_slot (kw)], p[1]);
        }
      p++;
    }
  ctx->conf->builtin_hw = ctx->conf->hw.n;
  return ctx->nomem ? -ENOMEM : 0;
}
''' % len(entries))


main()
