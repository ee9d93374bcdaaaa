/* chap.h: CHAP for iSCSI login (RFC 1994, RFC 7143 §12.1.3).
 *
 * Response = H(identifier || secret || challenge) with H chosen by CHAP_A:
 * 5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256, computed with libcrypto.  Binary
 * values travel as "0x" + hex or "0b" + base64; we accept both (either
 * case of the prefix and of hex digits) and always send hex.
 */
#ifndef BRAID_ISCSI_CHAP_H
#define BRAID_ISCSI_CHAP_H

#include <stddef.h>
#include <stdint.h>

#define CHAP_MAX_DIGEST 32          /* SHA-256 / SHA3-256 */
#define CHAP_MAX_CHALLENGE 1024     /* binary bytes accepted from a target */

/* Digest length for a CHAP_A value, 0 if unsupported. */
size_t chap_digest_len (int alg);
/* "MD5", "SHA-1", "SHA-256", "SHA3-256", or NULL. */
const char *chap_alg_name (int alg);

/* Compute the response into 'out' (CHAP_MAX_DIGEST bytes), set '*outlen'.
 * Returns 0, -ENOTSUP for an unknown algorithm, or -EIO if libcrypto fails. */
int chap_response (int alg, uint8_t id, const uint8_t *secret, size_t secret_len,
                   const uint8_t *challenge, size_t challenge_len,
                   uint8_t *out, size_t *outlen);

/* Check a peer's response in constant time.  Returns 0 if it matches,
 * -EACCES if not, -ENOTSUP / -EIO as above. */
int chap_verify (int alg, uint8_t id, const uint8_t *secret, size_t secret_len,
                 const uint8_t *challenge, size_t challenge_len,
                 const uint8_t *response, size_t response_len);

/* Decode a "0x..." hex or "0b..." base64 value.  Returns 0, -EINVAL for bad
 * syntax or an odd number of hex digits, -E2BIG if over 'cap' bytes. */
int chap_decode (const char *value, uint8_t *out, size_t cap, size_t *outlen);

/* Encode as "0x" + lowercase hex, NUL-terminated.  Returns 0 or -E2BIG. */
int chap_encode_hex (const uint8_t *in, size_t len, char *out, size_t cap);

/* Fill 'buf' with cryptographically random bytes.  Returns 0 or -EIO. */
int chap_random (uint8_t *buf, size_t len);

/* Pick from the target's CHAP_A answer: it must be a single value that is
 * in our 0-terminated preference list 'ours'.  Returns the algorithm or
 * -EPROTO ("Reject", a list, or a value we did not offer). */
int chap_pick (const char *target_value, const uint8_t *ours);

/* Format our preference list as "5" or "7,5". */
void chap_format_list (const uint8_t *ours, char *out, size_t cap);

/* CHAP_I: decimal 0..255 (hex "0x.." accepted too).  Returns 0 or -EINVAL. */
int chap_parse_id (const char *value, uint8_t *id);

#endif
