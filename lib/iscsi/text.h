/* text.h: iSCSI text key=value data segments (RFC 7143 §6.1).
 *
 * Login and Text PDUs carry "key=value\0" pairs.  The parser checks the
 * syntax the RFC demands (key names of at most 63 characters from the
 * allowed set, a '=' in every pair, every pair NUL-terminated) and returns
 * the pairs as pointers into its own copy of the data, so the caller's
 * buffer can be reused at once.
 */
#ifndef BRAID_ISCSI_TEXT_H
#define BRAID_ISCSI_TEXT_H

#include <stddef.h>
#include <stdint.h>

struct iscsi_kv {
  const char *key;
  const char *value;
};

/* Parsed pairs.  'buf' owns the strings 'v' points into. */
struct iscsi_kvlist {
  struct iscsi_kv *v;
  size_t n, cap;
  char *buf;
  size_t buflen;
};

/* Parse 'len' bytes of a data segment.  Trailing NUL padding is accepted.
 * On success '*out' (zero-initialised or previously freed by the caller)
 * holds the pairs; free with iscsi_kvlist_free().  Returns 0, -EINVAL with a
 * message in 'err' naming the offending pair (e.g. "pair 3: key longer than
 * 63 characters"), or -ENOMEM. */
int iscsi_text_parse (const uint8_t *data, size_t len, struct iscsi_kvlist *out,
                      char *err, size_t errlen);

/* The value of 'key', or NULL.  If a key occurs more than once the first is
 * returned (callers that care use iscsi_kvlist_count). */
const char *iscsi_kvlist_get (const struct iscsi_kvlist *l, const char *key);
size_t iscsi_kvlist_count (const struct iscsi_kvlist *l, const char *key);
void iscsi_kvlist_free (struct iscsi_kvlist *l);

/* An output data segment being built. */
struct iscsi_textbuf {
  uint8_t *data;
  size_t len, cap;
};

/* Append "key=value\0".  Returns 0 or -ENOMEM (or -EINVAL for a key that
 * is not a valid key name). */
int iscsi_text_add (struct iscsi_textbuf *b, const char *key, const char *value);
int iscsi_text_addf (struct iscsi_textbuf *b, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Append raw bytes (used to carry over a continued pair). */
int iscsi_text_append (struct iscsi_textbuf *b, const void *p, size_t n);
void iscsi_textbuf_reset (struct iscsi_textbuf *b);   /* len = 0, keeps memory */
void iscsi_textbuf_free (struct iscsi_textbuf *b);    /* wipes and frees */

/* Numeric values: decimal, or hex "0x..." (RFC 7143 §6.1 numerical values).
 * Returns 0, or -EINVAL if not a number or outside [min, max]. */
int iscsi_text_parse_number (const char *value, uint64_t min, uint64_t max,
                             uint64_t *out);
/* "Yes" -> 1, "No" -> 0, anything else -EINVAL. */
int iscsi_text_parse_bool (const char *value, int *out);

/* Limits the parser enforces (appended).  Keys: RFC 7143 §6.1 standard-label
 * length.  Values: the RFC's 255-byte text limit does not hold for binary
 * values (CHAP_C/CHAP_R of a 1024-byte challenge are 2050 characters in
 * hex), so values are bounded by a generous 8192 instead. */
#define ISCSI_TEXT_MAX_KEY 63
#define ISCSI_TEXT_MAX_VALUE 8192

/* Non-zero if 'key' is a valid key name (RFC 7143 §6.1: a letter, then
 * letters, digits, '.', '-', '+', '@', '_', at most 63 characters; "X#"
 * public extension keys are allowed too).  The RFC says "capital letter",
 * but its own iSCSIProtocolLevel key starts with a small one. */
int iscsi_text_key_valid (const char *key);

#endif
