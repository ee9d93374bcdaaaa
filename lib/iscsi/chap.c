/* chap.c: CHAP for iSCSI login (RFC 1994, RFC 7143 §12.1.3).
 *
 * The response to a challenge is H(identifier || secret || challenge), with
 * H picked by the CHAP_A value the target chose: 5 MD5, 6 SHA-1, 7 SHA-256,
 * 8 SHA3-256 (the IANA PPP authentication algorithm numbers).  The digests
 * come from libcrypto's EVP interface, randomness from RAND_bytes, and
 * responses are compared with CRYPTO_memcmp so a wrong guess costs the same
 * time as a right one.  Binary values arrive as "0x" + hex or "0b" +
 * base64; both decoders are strict (an odd hex digit count, a stray
 * character, bad '=' padding or non-zero padding bits are errors), because
 * a lenient decoder is where mismatched responses and fuzzing crashes hide.
 * tgtd 1.0.x answering CHAP_A=7 while meaning SHA-1 is a target quirk: this
 * file implements the standard numbering and the login code decides what
 * to offer.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "iscsi/chap.h"
#include "iscsi/text.h"
#include "util/bytes.h"

size_t
chap_digest_len (int alg)
{
  switch (alg)
    {
    case 5:
      return 16;
    case 6:
      return 20;
    case 7:
    case 8:
      return 32;
    default:
      return 0;
    }
}

const char *
chap_alg_name (int alg)
{
  switch (alg)
    {
    case 5:
      return "MD5";
    case 6:
      return "SHA-1";
    case 7:
      return "SHA-256";
    case 8:
      return "SHA3-256";
    default:
      return NULL;
    }
}

/* libcrypto's names for the same algorithms. */
static const char *
evp_name (int alg)
{
  switch (alg)
    {
    case 5:
      return "MD5";
    case 6:
      return "SHA1";
    case 7:
      return "SHA256";
    case 8:
      return "SHA3-256";
    default:
      return NULL;
    }
}

int
chap_response (int alg, uint8_t id, const uint8_t *secret, size_t secret_len,
               const uint8_t *challenge, size_t challenge_len,
               uint8_t *out, size_t *outlen)
{
  const char *name = evp_name (alg);
  EVP_MD_CTX *ctx = NULL;
  EVP_MD *md = NULL;
  unsigned int len = 0;
  int r = -EIO;

  if (name == NULL)
    return -ENOTSUP;
  if (out == NULL || outlen == NULL || (secret == NULL && secret_len > 0)
      || (challenge == NULL && challenge_len > 0))
    return -EINVAL;

  /* Fetched per call: CHAP runs once per login, and a fetch failure (MD5
   * in a FIPS-only provider setup) then shows up as -EIO right here. */
  md = EVP_MD_fetch (NULL, name, NULL);
  if (md == NULL)
    goto out;
  if ((size_t) EVP_MD_get_size (md) != chap_digest_len (alg))
    goto out;
  ctx = EVP_MD_CTX_new ();
  if (ctx == NULL)
    goto out;
  if (EVP_DigestInit_ex (ctx, md, NULL) != 1
      || EVP_DigestUpdate (ctx, &id, 1) != 1
      || (secret_len > 0 && EVP_DigestUpdate (ctx, secret, secret_len) != 1)
      || (challenge_len > 0
          && EVP_DigestUpdate (ctx, challenge, challenge_len) != 1)
      || EVP_DigestFinal_ex (ctx, out, &len) != 1)
    goto out;
  *outlen = len;
  r = 0;

out:
  EVP_MD_CTX_free (ctx);
  EVP_MD_free (md);
  return r;
}

int
chap_verify (int alg, uint8_t id, const uint8_t *secret, size_t secret_len,
             const uint8_t *challenge, size_t challenge_len,
             const uint8_t *response, size_t response_len)
{
  uint8_t want[CHAP_MAX_DIGEST];
  size_t want_len = 0;
  int r;

  r = chap_response (alg, id, secret, secret_len, challenge, challenge_len,
                     want, &want_len);
  if (r < 0)
    return r;
  /* The length is public (it follows from CHAP_A); only the bytes need a
   * constant-time comparison. */
  if (response == NULL || response_len != want_len)
    r = -EACCES;
  else if (CRYPTO_memcmp (want, response, want_len) != 0)
    r = -EACCES;
  OPENSSL_cleanse (want, sizeof want);
  return r;
}

static int
b64_digit (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

static int
decode_hex (const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
  size_t n = strlen (s), i;

  if (n == 0 || n % 2 != 0)
    return -EINVAL;
  for (i = 0; i < n; i++)
    if (braid_hex_digit (s[i]) < 0)
      return -EINVAL;
  if (n / 2 > cap)
    return -E2BIG;
  for (i = 0; i < n / 2; i++)
    out[i] = (uint8_t) (braid_hex_digit (s[2 * i]) << 4 | braid_hex_digit (s[2 * i + 1]));
  *outlen = n / 2;
  return 0;
}

/* RFC 4648 base64 with mandatory '=' padding, as RFC 7143 §6.1 uses it. */
static int
decode_b64 (const char *s, uint8_t *out, size_t cap, size_t *outlen)
{
  size_t n = strlen (s), pad = 0, i, o = 0, total;

  if (n == 0 || n % 4 != 0)
    return -EINVAL;
  if (s[n - 1] == '=')
    pad = s[n - 2] == '=' ? 2 : 1;
  for (i = 0; i < n - pad; i++)
    if (b64_digit (s[i]) < 0)
      return -EINVAL;           /* also catches '=' before the end */
  total = n / 4 * 3 - pad;
  if (total == 0)
    return -EINVAL;
  if (total > cap)
    return -E2BIG;
  for (i = 0; i < n; i += 4)
    {
      int a = b64_digit (s[i]), b = b64_digit (s[i + 1]);
      int c = s[i + 2] == '=' ? 0 : b64_digit (s[i + 2]);
      int d = s[i + 3] == '=' ? 0 : b64_digit (s[i + 3]);
      uint32_t v = (uint32_t) a << 18 | (uint32_t) b << 12
                   | (uint32_t) c << 6 | (uint32_t) d;

      if (i + 4 == n && pad == 2 && (v & 0xffff) != 0)
        return -EINVAL;         /* non-canonical: stray bits in "xx==" */
      if (i + 4 == n && pad == 1 && (v & 0xff) != 0)
        return -EINVAL;         /* non-canonical: stray bits in "xxx=" */
      out[o++] = (uint8_t) (v >> 16);
      if (o < total)
        out[o++] = (uint8_t) (v >> 8);
      if (o < total)
        out[o++] = (uint8_t) v;
    }
  *outlen = total;
  return 0;
}

int
chap_decode (const char *value, uint8_t *out, size_t cap, size_t *outlen)
{
  if (value == NULL || out == NULL || outlen == NULL)
    return -EINVAL;
  if (value[0] != '0')
    return -EINVAL;
  if (value[1] == 'x' || value[1] == 'X')
    return decode_hex (value + 2, out, cap, outlen);
  if (value[1] == 'b' || value[1] == 'B')
    return decode_b64 (value + 2, out, cap, outlen);
  return -EINVAL;
}

int
chap_encode_hex (const uint8_t *in, size_t len, char *out, size_t cap)
{
  static const char digits[] = "0123456789abcdef";
  size_t i;

  if (out == NULL || (in == NULL && len > 0))
    return -EINVAL;
  if (len > (SIZE_MAX - 3) / 2 || cap < 2 * len + 3)
    return -E2BIG;
  out[0] = '0';
  out[1] = 'x';
  for (i = 0; i < len; i++)
    {
      out[2 + 2 * i] = digits[in[i] >> 4];
      out[3 + 2 * i] = digits[in[i] & 15];
    }
  out[2 + 2 * len] = '\0';
  return 0;
}

int
chap_random (uint8_t *buf, size_t len)
{
  while (len > 0)
    {
      int chunk = len > INT_MAX ? INT_MAX : (int) len;

      if (RAND_bytes (buf, chunk) != 1)
        return -EIO;
      buf += chunk;
      len -= (size_t) chunk;
    }
  return 0;
}

int
chap_pick (const char *target_value, const uint8_t *ours)
{
  uint64_t v;
  size_t i;

  /* "Reject", a list ("7,5": the target must choose) or anything that is
   * not a plain number fails here. */
  if (target_value == NULL || ours == NULL
      || iscsi_text_parse_number (target_value, 0, 255, &v) < 0)
    return -EPROTO;
  for (i = 0; ours[i] != 0; i++)
    if (ours[i] == v)
      return chap_digest_len ((int) v) ? (int) v : -EPROTO;
  return -EPROTO;
}

void
chap_format_list (const uint8_t *ours, char *out, size_t cap)
{
  size_t len = 0, i;

  if (out == NULL || cap == 0)
    return;
  out[0] = '\0';
  if (ours == NULL)
    return;
  for (i = 0; ours[i] != 0; i++)
    {
      char item[8];
      int n = snprintf (item, sizeof item, "%s%u", i ? "," : "",
                        (unsigned) ours[i]);

      /* Whole entries only: a cut "7,5" must not become "7,". */
      if (n < 0 || len + (size_t) n + 1 > cap)
        break;
      memcpy (out + len, item, (size_t) n + 1);
      len += (size_t) n;
    }
}

int
chap_parse_id (const char *value, uint8_t *id)
{
  uint64_t v;

  if (id == NULL || iscsi_text_parse_number (value, 0, 255, &v) < 0)
    return -EINVAL;
  *id = (uint8_t) v;
  return 0;
}
