/* util/errbuf.h: filling a handle's "last error" message.
 *
 * Every braid handle keeps a human message for its last failure
 * (braid_*_get_error).  The message is written into a fixed buffer owned by
 * the handle, so setting it never allocates and never fails.
 */
#ifndef BRAID_UTIL_ERRBUF_H
#define BRAID_UTIL_ERRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "braid/common.h"

/* Conventional size for a handle's error buffer. */
#define BRAID_ERRBUF_SIZE 256

/* printf into buf (capacity cap, truncating, always NUL-terminated when
 * cap > 0).  errno is preserved, so "set the message, return -errno" works
 * and %m reports the caller's errno.  The caller owns buf. */
void braid_set_error (char *buf, size_t cap, const char *fmt, ...)
  BRAID_PRINTF (3, 4);

/* Same, with a va_list. */
void braid_vset_error (char *buf, size_t cap, const char *fmt, va_list ap)
  BRAID_PRINTF (3, 0);

#endif /* BRAID_UTIL_ERRBUF_H */
