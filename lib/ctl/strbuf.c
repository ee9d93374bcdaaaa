/* strbuf.c: the growable text buffer control replies are built in.
 *
 * Replies range from "ok\n" to a multi-megabyte topology, and formatters
 * append hundreds of small pieces, so the buffer grows geometrically and
 * keeps one sticky error: a formatter appends without checking each call
 * and looks at the result once.  Sizes are checked for overflow before
 * any arithmetic, because a reply's length ends up on the wire.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/ctl.h"

#define MIN_CAP 64

void
braid_strbuf_init (struct braid_strbuf *sb)
{
  sb->buf = NULL;
  sb->len = 0;
  sb->cap = 0;
  sb->err = 0;
}

void
braid_strbuf_free (struct braid_strbuf *sb)
{
  if (sb == NULL)
    return;
  free (sb->buf);
  braid_strbuf_init (sb);
}

void
braid_strbuf_reset (struct braid_strbuf *sb)
{
  sb->len = 0;
  sb->err = 0;
  if (sb->buf != NULL)
    sb->buf[0] = '\0';
}

/* Make room for 'more' bytes plus the NUL. */
static int
reserve (struct braid_strbuf *sb, size_t more)
{
  size_t need, ncap;
  char *nbuf;

  if (sb->err != 0)
    return sb->err;
  if (more > SIZE_MAX - 1 - sb->len) {
    sb->err = -ENOMEM;
    return sb->err;
  }
  need = sb->len + more + 1;
  if (need <= sb->cap)
    return 0;
  ncap = sb->cap < MIN_CAP ? MIN_CAP : sb->cap;
  while (ncap < need)
    ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
  nbuf = realloc (sb->buf, ncap);
  if (nbuf == NULL) {
    sb->err = -ENOMEM;
    return sb->err;
  }
  sb->buf = nbuf;
  sb->cap = ncap;
  return 0;
}

int
braid_strbuf_add (struct braid_strbuf *sb, const char *s, size_t n)
{
  int rc = reserve (sb, n);

  if (rc < 0)
    return rc;
  if (n > 0)
    memcpy (sb->buf + sb->len, s, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
  return 0;
}

int
braid_strbuf_puts (struct braid_strbuf *sb, const char *s)
{
  return braid_strbuf_add (sb, s, strlen (s));
}

int
braid_strbuf_printf (struct braid_strbuf *sb, const char *fmt, ...)
{
  va_list ap;
  int n, rc;

  if (sb->err != 0)
    return sb->err;
  /* Try in the room we have; only a long piece costs a second pass. */
  va_start (ap, fmt);
  n = vsnprintf (sb->buf != NULL ? sb->buf + sb->len : NULL,
                 sb->buf != NULL ? sb->cap - sb->len : 0, fmt, ap);
  va_end (ap);
  if (n < 0) {
    if (sb->buf != NULL)
      sb->buf[sb->len] = '\0';
    return -EINVAL;
  }
  if (sb->buf != NULL && (size_t) n < sb->cap - sb->len) {
    sb->len += (size_t) n;
    return 0;
  }
  rc = reserve (sb, (size_t) n);
  if (rc < 0) {
    if (sb->buf != NULL)
      sb->buf[sb->len] = '\0';
    return rc;
  }
  va_start (ap, fmt);
  vsnprintf (sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
  va_end (ap);
  sb->len += (size_t) n;
  return 0;
}

int
braid_strbuf_fill (struct braid_strbuf *sb, char c, size_t n)
{
  int rc = reserve (sb, n);

  if (rc < 0)
    return rc;
  memset (sb->buf + sb->len, c, n);
  sb->len += n;
  sb->buf[sb->len] = '\0';
  return 0;
}

void
braid_strbuf_truncate (struct braid_strbuf *sb, size_t len)
{
  if (len >= sb->len)
    return;
  sb->len = len;
  sb->buf[len] = '\0';
}

const char *
braid_strbuf_str (const struct braid_strbuf *sb)
{
  return sb->buf != NULL ? sb->buf : "";
}

char *
braid_strbuf_steal (struct braid_strbuf *sb)
{
  char *s = sb->err == 0 && sb->len > 0 ? sb->buf : NULL;

  if (s == NULL)
    free (sb->buf);
  braid_strbuf_init (sb);
  return s;
}
