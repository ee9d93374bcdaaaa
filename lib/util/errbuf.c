/* errbuf.c: see util/errbuf.h.  Kept separate from log.c because setting an
 * error message and logging it are independent decisions of the caller. */
#include <errno.h>
#include <stdio.h>

#include "util/errbuf.h"

void
braid_vset_error (char *buf, size_t cap, const char *fmt, va_list ap)
{
  int saved_errno = errno;

  if (buf != NULL && cap > 0) {
    if (vsnprintf (buf, cap, fmt, ap) < 0)
      buf[0] = '\0';
  }
  errno = saved_errno;
}

void
braid_set_error (char *buf, size_t cap, const char *fmt, ...)
{
  va_list ap;

  va_start (ap, fmt);
  braid_vset_error (buf, cap, fmt, ap);
  va_end (ap);
}
