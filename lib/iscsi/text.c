/* text.c: parse and build iSCSI text data segments (RFC 7143 §6.1).
 *
 * Login and Text PDUs carry "key=value\0" pairs.  The parser copies the
 * segment once, checks every pair against the RFC syntax (key names are
 * standard-labels of at most 63 characters, every pair has a '=' and ends in
 * a NUL) and hands back pointers into its copy, so nothing that came off the
 * wire is trusted or referenced after the call.  The builder appends pairs
 * to a growable buffer that is wiped when freed, because login segments can
 * carry CHAP material.  Numbers and booleans are parsed strictly: a target
 * that sends "+5", "", "0x" or a value past 2^64 gets an error, never a
 * silently wrapped value.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/text.h"
#include "util/bytes.h"

/* Characters of a standard-label after its first (capital) letter. */
static int
key_char_ok (char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
         || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+'
         || c == '@' || c == '_';
}

/* Check 'key' of length 'n'.  Returns NULL or a static reason. */
static const char *
key_problem (const char *key, size_t n)
{
  size_t i;

  if (n == 0)
    return "empty key";
  if (n > ISCSI_TEXT_MAX_KEY)
    return "key longer than 63 characters";
  /* RFC 7143 §6.1 asks for a capital letter, but its own
   * iSCSIProtocolLevel (§13.24) starts with a small one: any letter. */
  if (!((key[0] >= 'A' && key[0] <= 'Z') || (key[0] >= 'a' && key[0] <= 'z')))
    return "key does not start with a letter";
  for (i = 1; i < n; i++)
    {
      /* "X#<IANA-registered-string>" is the public extension key form
       * (e.g. X#NodeArchitecture); '#' is otherwise not part of a
       * standard-label.  ':' never is, not even in X- keys. */
      if (i == 1 && key[0] == 'X' && key[1] == '#')
        continue;
      if (!key_char_ok (key[i]))
        return "invalid character in key";
    }
  return NULL;
}

int
iscsi_text_key_valid (const char *key)
{
  if (key == NULL)
    return 0;
  return key_problem (key, strnlen (key, ISCSI_TEXT_MAX_KEY + 1)) == NULL;
}

/* Grow the pair array by one slot. */
static int
kv_push (struct iscsi_kvlist *l, const char *key, const char *value)
{
  if (l->n == l->cap)
    {
      size_t ncap = l->cap ? l->cap * 2 : 16;
      struct iscsi_kv *nv;

      if (ncap < l->cap || ncap > SIZE_MAX / sizeof *nv)
        return -ENOMEM;
      nv = realloc (l->v, ncap * sizeof *nv);
      if (nv == NULL)
        return -ENOMEM;
      l->v = nv;
      l->cap = ncap;
    }
  l->v[l->n].key = key;
  l->v[l->n].value = value;
  l->n++;
  return 0;
}

static void
set_err (char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void
set_err (char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL || errlen == 0)
    return;
  va_start (ap, fmt);
  vsnprintf (err, errlen, fmt, ap);
  va_end (ap);
}

int
iscsi_text_parse (const uint8_t *data, size_t len, struct iscsi_kvlist *out,
                  char *err, size_t errlen)
{
  struct iscsi_kvlist l = { 0 };
  size_t pos = 0, pair = 0;
  int r;

  if (out == NULL || (data == NULL && len > 0))
    return -EINVAL;
  if (len == SIZE_MAX)
    return -ENOMEM;
  if (err != NULL && errlen > 0)
    err[0] = '\0';

  /* One private copy with a spare NUL, so a last pair without its
   * terminator can still be reported by name. */
  l.buf = malloc (len + 1);
  if (l.buf == NULL)
    return -ENOMEM;
  if (len > 0)
    memcpy (l.buf, data, len);
  l.buf[len] = '\0';
  l.buflen = len + 1;

  while (pos < len)
    {
      char *p = l.buf + pos, *nul, *eq;
      size_t plen, klen, vlen;
      const char *why;

      if (*p == '\0')
        {
          /* Padding: only NULs may follow the last pair. */
          size_t j;

          for (j = pos; j < len; j++)
            if (l.buf[j] != '\0')
              {
                set_err (err, errlen, "pair %zu: empty pair", pair + 1);
                r = -EINVAL;
                goto fail;
              }
          break;
        }
      pair++;
      nul = memchr (p, '\0', len - pos);
      if (nul == NULL)
        {
          set_err (err, errlen, "pair %zu: not NUL-terminated", pair);
          r = -EINVAL;
          goto fail;
        }
      plen = (size_t) (nul - p);
      eq = memchr (p, '=', plen);
      if (eq == NULL)
        {
          set_err (err, errlen, "pair %zu: no '=' after the key", pair);
          r = -EINVAL;
          goto fail;
        }
      klen = (size_t) (eq - p);
      vlen = plen - klen - 1;
      why = key_problem (p, klen);
      if (why != NULL)
        {
          set_err (err, errlen, "pair %zu: %s", pair, why);
          r = -EINVAL;
          goto fail;
        }
      *eq = '\0';
      if (vlen > ISCSI_TEXT_MAX_VALUE)
        {
          set_err (err, errlen, "pair %zu (%s): value of %zu bytes is longer "
                   "than the %d bytes braid accepts", pair, p, vlen,
                   ISCSI_TEXT_MAX_VALUE);
          r = -EINVAL;
          goto fail;
        }
      r = kv_push (&l, p, eq + 1);
      if (r < 0)
        goto fail;
      pos += plen + 1;
    }

  *out = l;
  return 0;

fail:
  iscsi_kvlist_free (&l);
  return r;
}

const char *
iscsi_kvlist_get (const struct iscsi_kvlist *l, const char *key)
{
  size_t i;

  if (l == NULL || key == NULL)
    return NULL;
  for (i = 0; i < l->n; i++)
    if (strcmp (l->v[i].key, key) == 0)
      return l->v[i].value;
  return NULL;
}

size_t
iscsi_kvlist_count (const struct iscsi_kvlist *l, const char *key)
{
  size_t i, c = 0;

  if (l == NULL || key == NULL)
    return 0;
  for (i = 0; i < l->n; i++)
    if (strcmp (l->v[i].key, key) == 0)
      c++;
  return c;
}

void
iscsi_kvlist_free (struct iscsi_kvlist *l)
{
  if (l == NULL)
    return;
  /* Login responses carry CHAP challenges and responses: wipe them. */
  if (l->buf != NULL)
    explicit_bzero (l->buf, l->buflen);
  free (l->buf);
  free (l->v);
  memset (l, 0, sizeof *l);
}

/* Make room for 'n' more bytes. */
static int
tb_reserve (struct iscsi_textbuf *b, size_t n)
{
  size_t need, ncap;
  uint8_t *nd;

  if (n > SIZE_MAX - b->len)
    return -ENOMEM;
  need = b->len + n;
  if (need <= b->cap)
    return 0;
  ncap = b->cap ? b->cap : 256;
  while (ncap < need)
    {
      if (ncap > SIZE_MAX / 2)
        {
          ncap = need;
          break;
        }
      ncap *= 2;
    }
  /* Not realloc: the old block may hold secrets and must be wiped. */
  nd = malloc (ncap);
  if (nd == NULL)
    return -ENOMEM;
  if (b->data != NULL)
    {
      memcpy (nd, b->data, b->len);
      explicit_bzero (b->data, b->cap);
      free (b->data);
    }
  b->data = nd;
  b->cap = ncap;
  return 0;
}

int
iscsi_text_append (struct iscsi_textbuf *b, const void *p, size_t n)
{
  int r;

  if (b == NULL || (p == NULL && n > 0))
    return -EINVAL;
  if (n == 0)
    return 0;
  r = tb_reserve (b, n);
  if (r < 0)
    return r;
  memcpy (b->data + b->len, p, n);
  b->len += n;
  return 0;
}

int
iscsi_text_add (struct iscsi_textbuf *b, const char *key, const char *value)
{
  size_t klen, vlen;
  int r;

  if (b == NULL || key == NULL || value == NULL)
    return -EINVAL;
  klen = strnlen (key, ISCSI_TEXT_MAX_KEY + 1);
  if (key_problem (key, klen) != NULL)
    return -EINVAL;
  vlen = strnlen (value, ISCSI_TEXT_MAX_VALUE + 1);
  if (vlen > ISCSI_TEXT_MAX_VALUE)
    return -EINVAL;
  r = tb_reserve (b, klen + vlen + 2);
  if (r < 0)
    return r;
  memcpy (b->data + b->len, key, klen);
  b->data[b->len + klen] = '=';
  memcpy (b->data + b->len + klen + 1, value, vlen);
  b->data[b->len + klen + 1 + vlen] = '\0';
  b->len += klen + vlen + 2;
  return 0;
}

int
iscsi_text_addf (struct iscsi_textbuf *b, const char *key, const char *fmt, ...)
{
  va_list ap, ap2;
  size_t klen, start;
  int n, r;

  if (b == NULL || key == NULL || fmt == NULL)
    return -EINVAL;
  klen = strnlen (key, ISCSI_TEXT_MAX_KEY + 1);
  if (key_problem (key, klen) != NULL)
    return -EINVAL;

  va_start (ap, fmt);
  va_copy (ap2, ap);
  n = vsnprintf (NULL, 0, fmt, ap);
  va_end (ap);
  if (n < 0 || n > ISCSI_TEXT_MAX_VALUE)
    {
      va_end (ap2);
      return -EINVAL;
    }
  start = b->len;
  r = tb_reserve (b, klen + (size_t) n + 2);
  if (r < 0)
    {
      va_end (ap2);
      return r;
    }
  memcpy (b->data + start, key, klen);
  b->data[start + klen] = '=';
  vsnprintf ((char *) b->data + start + klen + 1, (size_t) n + 1, fmt, ap2);
  va_end (ap2);
  /* A '%s' argument cannot carry a NUL, so the pair is exactly
   * klen + 1 + n + 1 bytes and stays parseable. */
  b->len = start + klen + 1 + (size_t) n + 1;
  return 0;
}

void
iscsi_textbuf_reset (struct iscsi_textbuf *b)
{
  if (b != NULL)
    b->len = 0;
}

void
iscsi_textbuf_free (struct iscsi_textbuf *b)
{
  if (b == NULL)
    return;
  if (b->data != NULL)
    explicit_bzero (b->data, b->cap);
  free (b->data);
  memset (b, 0, sizeof *b);
}

int
iscsi_text_parse_number (const char *value, uint64_t min, uint64_t max,
                         uint64_t *out)
{
  uint64_t v = 0;
  const char *p;

  if (value == NULL || out == NULL || value[0] == '\0')
    return -EINVAL;

  if (value[0] == '0' && (value[1] == 'x' || value[1] == 'X'))
    {
      p = value + 2;
      if (*p == '\0')
        return -EINVAL;
      for (; *p != '\0'; p++)
        {
          int d = braid_hex_digit (*p);

          if (d < 0)
            return -EINVAL;
          if (v > (UINT64_MAX >> 4))
            return -EINVAL;
          v = (v << 4) | (uint64_t) d;
        }
    }
  else
    {
      /* Decimal only: no sign, no spaces, no base64 ("0b...") — RFC 7143
       * numerical values are decimal or hex constants.  Leading zeros are
       * tolerated; they cannot change the value. */
      for (p = value; *p != '\0'; p++)
        {
          uint64_t d;

          if (*p < '0' || *p > '9')
            return -EINVAL;
          d = (uint64_t) (*p - '0');
          if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
          v = v * 10 + d;
        }
    }
  if (v < min || v > max)
    return -EINVAL;
  *out = v;
  return 0;
}

int
iscsi_text_parse_bool (const char *value, int *out)
{
  if (value == NULL || out == NULL)
    return -EINVAL;
  if (strcmp (value, "Yes") == 0)
    *out = 1;
  else if (strcmp (value, "No") == 0)
    *out = 0;
  else
    return -EINVAL;
  return 0;
}
