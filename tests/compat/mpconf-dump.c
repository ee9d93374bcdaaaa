/* mpconf-dump.c: stand-in for the braid CLI in the differential test.
 *
 * Runs cmd_multipath.c's cli_multipath() exactly as `braid` does, with the
 * same global options (--config FILE --config-dir DIR [-v]) before the
 * multipath flag, so tests/integration/test-4001-mpconf-oracle.sh can
 * compare braid's `-t` with multipath-tools' even while src/braid/main.c
 * does not route -t yet.  Not installed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void
cli_error (const char *fmt, ...)
{
  va_list ap;

  fputs ("braid: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

int
main (int argc, char **argv)
{
  struct cli_env env = { 0 };
  int i = 1;

  for (; i < argc; i++)
    {
      if (strcmp (argv[i], "--config") == 0 && i + 1 < argc)
        env.config = argv[++i];
      else if (strcmp (argv[i], "--config-dir") == 0 && i + 1 < argc)
        env.config_dir = argv[++i];
      else if (strcmp (argv[i], "-v") == 0)
        env.verbose++;
      else
        break;
    }
  return cli_multipath (&env, argc - i, argv + i);
}
