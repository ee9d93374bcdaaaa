/* testutil.h: helpers shared by the scsi unit tests (test-only).
 *
 * Pages are written in the tests as hex strings, the way the reference
 * documents give them.  Every parse also runs on exact-size heap copies of
 * every prefix of its input, so that AddressSanitizer (make check-asan)
 * catches any read past the end the parsers might do on truncated data.
 */
#ifndef BRAID_TEST_SCSI_TESTUTIL_H
#define BRAID_TEST_SCSI_TESTUTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Decode hex (whitespace ignored) into a malloc'd buffer of exactly the
 * decoded size (at least 1 byte allocated); *len gets the size. */
static inline uint8_t *
hex_decode (const char *hex, size_t *len)
{
  size_t n = 0, cap = strlen (hex) / 2 + 1;
  uint8_t *buf = malloc (cap);
  int hi = -1;

  if (buf == NULL)
    abort ();
  for (; *hex; hex++) {
    int v;
    char c = *hex;
    if (c >= '0' && c <= '9')
      v = c - '0';
    else if (c >= 'a' && c <= 'f')
      v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
      v = c - 'A' + 10;
    else
      continue;
    if (hi < 0)
      hi = v;
    else {
      buf[n++] = (uint8_t) (hi << 4 | v);
      hi = -1;
    }
  }
  *len = n;
  return buf;
}

/* An exact-size heap copy of buf[0..n); free() it. */
static inline uint8_t *
exact_copy (const uint8_t *buf, size_t n)
{
  uint8_t *p = malloc (n ? n : 1);

  if (p == NULL)
    abort ();
  if (n)
    memcpy (p, buf, n);
  return p;
}

#endif /* BRAID_TEST_SCSI_TESTUTIL_H */
