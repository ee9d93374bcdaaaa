/* cli_stub.c: the CLI's cli_error for unit tests that link one of
 * src/braid's command files without main.c: messages go to stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

void
cli_error (const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}
