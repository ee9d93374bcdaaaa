/* fuzz_chap.c: CHAP value decoding and the choices made from target input.
 *
 * The input stands for one value a target sends during CHAP: a CHAP_C
 * challenge or CHAP_R response ("0x" hex / "0b" base64), a CHAP_A answer
 * or a CHAP_I identifier.  Decoding must never write past the buffer, and
 * whatever decodes must survive a round trip through braid's own hex
 * encoding unchanged; a decoded challenge is answered and the answer must
 * verify, which runs the libcrypto path for every algorithm number.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/chap.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const uint8_t ours[] = { 8, 7, 6, 5, 0 };
  static const uint8_t secret[] = "initsecret12";
  uint8_t bin[CHAP_MAX_CHALLENGE], again[CHAP_MAX_CHALLENGE];
  uint8_t resp[CHAP_MAX_DIGEST];
  char hex[2 * CHAP_MAX_CHALLENGE + 3], *s;
  size_t n = 0, n2 = 0, rlen = 0;
  uint8_t id = 0;
  int alg;

  /* Values are NUL-terminated strings by the time CHAP sees them. */
  s = malloc (size + 1);
  if (s == NULL)
    return 0;
  memcpy (s, data, size);
  s[size] = '\0';

  if (chap_decode (s, bin, sizeof bin, &n) == 0)
    {
      if (n == 0 || n > sizeof bin)
        abort ();
      if (chap_encode_hex (bin, n, hex, sizeof hex) != 0)
        abort ();
      if (chap_decode (hex, again, sizeof again, &n2) != 0 || n2 != n
          || memcmp (bin, again, n) != 0)
        abort ();
      alg = 5 + (int) (n % 4);
      if (chap_response (alg, (uint8_t) n, secret, sizeof secret - 1, bin, n,
                         resp, &rlen) == 0
          && chap_verify (alg, (uint8_t) n, secret, sizeof secret - 1, bin, n,
                          resp, rlen) != 0)
        abort ();
    }
  /* Small capacities exercise the -E2BIG paths. */
  (void) chap_decode (s, bin, size % 17, &n);

  alg = chap_pick (s, ours);
  if (alg >= 0 && chap_digest_len (alg) == 0)
    abort ();
  (void) chap_parse_id (s, &id);

  free (s);
  return 0;
}
