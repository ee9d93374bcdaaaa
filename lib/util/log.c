/* log.c: formatting side of util/log.h.
 *
 * A fixed stack buffer keeps logging allocation-free, so it is usable on
 * out-of-memory paths and from any callback.  Truncation is silent: a cut
 * log line is better than a failed operation.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/log.h"

void
braid_vlogf (const struct braid_logger *lg, int level,
             const char *fmt, va_list ap)
{
  char line[BRAID_LOG_LINE_MAX];
  size_t off = 0;
  int saved_errno = errno;
  int n;

  if (lg == NULL || lg->fn == NULL)
    return;

  if (lg->prefix != NULL && lg->prefix[0] != '\0') {
    n = snprintf (line, sizeof line, "%s: ", lg->prefix);
    if (n < 0)
      n = 0;
    off = (size_t) n < sizeof line ? (size_t) n : sizeof line - 1;
  }
  else
    line[0] = '\0';

  /* errno is restored before formatting so that %m reports the caller's
   * error, not something snprintf may have left behind. */
  errno = saved_errno;
  if (off < sizeof line - 1) {
    n = vsnprintf (line + off, sizeof line - off, fmt, ap);
    if (n < 0)
      line[off] = '\0';
  }

  lg->fn (lg->opaque, level, line);
  errno = saved_errno;
}

void
braid_logf (const struct braid_logger *lg, int level, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  braid_vlogf (lg, level, fmt, ap);
  va_end (ap);
}
