/* test_chap.c: CHAP responses, decoding and algorithm choice (chap.c).
 *
 * The expected digests were computed independently with Python's hashlib
 * over identifier || secret || challenge, e.g.
 *   python3 -c 'import hashlib; print(hashlib.md5(bytes([0x2a]) +
 *               b"initsecret12" + bytes(range(16))).hexdigest())'
 * so a mistake in the order of the hashed fields or in the algorithm
 * mapping (5 MD5, 6 SHA-1, 7 SHA-256, 8 SHA3-256) shows up here.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "iscsi/chap.h"

struct vector {
  int alg;
  uint8_t id;
  const char *secret;
  const char *challenge_hex;    /* as it would arrive in CHAP_C */
  const char *response_hex;     /* as braid sends CHAP_R */
};

#define CH16 "0x000102030405060708090a0b0c0d0e0f"
#define CH50 "0x030a11181f262d343b424950575e656c737a81888f969da4abb2b9c0c7" \
             "ced5dce3eaf1f8ff060d141b222930373e454c535a"

static const struct vector vectors[] = {
  { 5, 0x2a, "initsecret12", CH16, "0x1f079d8e61d98ebfc28667a4627557db" },
  { 6, 0x2a, "initsecret12", CH16, "0x1f88a3553f4a82f7ecf37bb2285a96e4b3836e35" },
  { 7, 0x2a, "initsecret12", CH16,
    "0x7c0bc7d75abbd58cd6107f543d6e1556b4412f3b6106fafe85ef164973abc611" },
  { 8, 0x2a, "initsecret12", CH16,
    "0x30ccfe8a81977972491aee11fc85ce96048eb6b823ae7230b04ac693e012d273" },
  /* tgtd-sized (50-byte) challenge, identifier 255, the mutual secret. */
  { 5, 255, "tgtsecret123", CH50, "0xebfe552f5ab4467639bb85a2ee4e5b8d" },
  { 6, 255, "tgtsecret123", CH50, "0x85b8e4fa7ff2dbd4c5b985665182af4e3a6382c0" },
  { 7, 255, "tgtsecret123", CH50,
    "0xa07365c9b3dd4bd5821ea690f6009d0d93f792e48bb0bcebf7fa79e739cb4778" },
  { 8, 255, "tgtsecret123", CH50,
    "0x739bb13e686e487ce97d4ec3ac8034516d7fd57995353d798a1a701af5f3a9df" },
};

static void
test_alg_table (void **state)
{
  (void) state;
  assert_int_equal (chap_digest_len (5), 16);
  assert_int_equal (chap_digest_len (6), 20);
  assert_int_equal (chap_digest_len (7), 32);
  assert_int_equal (chap_digest_len (8), 32);
  assert_int_equal (chap_digest_len (0), 0);
  assert_int_equal (chap_digest_len (4), 0);
  assert_int_equal (chap_digest_len (9), 0);
  assert_int_equal (chap_digest_len (-1), 0);
  assert_string_equal (chap_alg_name (5), "MD5");
  assert_string_equal (chap_alg_name (6), "SHA-1");
  assert_string_equal (chap_alg_name (7), "SHA-256");
  assert_string_equal (chap_alg_name (8), "SHA3-256");
  assert_null (chap_alg_name (9));
}

static void
test_vectors (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
    {
      const struct vector *v = &vectors[i];
      uint8_t ch[CHAP_MAX_CHALLENGE], out[CHAP_MAX_DIGEST];
      size_t chlen = 0, outlen = 0;
      char hex[2 * CHAP_MAX_DIGEST + 3];

      assert_int_equal (chap_decode (v->challenge_hex, ch, sizeof ch, &chlen), 0);
      assert_int_equal (chap_response (v->alg, v->id, (const uint8_t *) v->secret,
                                       strlen (v->secret), ch, chlen, out,
                                       &outlen), 0);
      assert_int_equal (outlen, chap_digest_len (v->alg));
      assert_int_equal (chap_encode_hex (out, outlen, hex, sizeof hex), 0);
      if (strcmp (hex, v->response_hex) != 0)
        fail_msg ("vector %zu (alg %d): got %s want %s", i, v->alg, hex,
                  v->response_hex);
      assert_int_equal (chap_verify (v->alg, v->id, (const uint8_t *) v->secret,
                                     strlen (v->secret), ch, chlen, out,
                                     outlen), 0);
    }
}

static void
test_verify_mismatch (void **state)
{
  const struct vector *v = &vectors[0];
  uint8_t ch[64], resp[CHAP_MAX_DIGEST];
  size_t chlen, rlen;

  (void) state;
  assert_int_equal (chap_decode (v->challenge_hex, ch, sizeof ch, &chlen), 0);
  assert_int_equal (chap_decode (v->response_hex, resp, sizeof resp, &rlen), 0);
  assert_int_equal (chap_verify (5, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, resp, rlen), 0);
  /* Wrong identifier, secret, challenge, one flipped bit, wrong length. */
  assert_int_equal (chap_verify (5, 0x2b, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, resp, rlen), -EACCES);
  assert_int_equal (chap_verify (5, 0x2a, (const uint8_t *) "initsecret13", 12,
                                 ch, chlen, resp, rlen), -EACCES);
  assert_int_equal (chap_verify (5, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen - 1, resp, rlen), -EACCES);
  resp[15] ^= 1;
  assert_int_equal (chap_verify (5, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, resp, rlen), -EACCES);
  resp[15] ^= 1;
  assert_int_equal (chap_verify (5, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, resp, rlen - 1), -EACCES);
  assert_int_equal (chap_verify (5, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, NULL, 0), -EACCES);
  /* An MD5 response is not a SHA-256 one (the tgtd "7" quirk is not ours). */
  assert_int_equal (chap_verify (7, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, resp, rlen), -EACCES);
  assert_int_equal (chap_verify (9, 0x2a, (const uint8_t *) "initsecret12", 12,
                                 ch, chlen, resp, rlen), -ENOTSUP);
}

static void
test_response_unknown_alg (void **state)
{
  uint8_t out[CHAP_MAX_DIGEST];
  size_t outlen;

  (void) state;
  assert_int_equal (chap_response (0, 1, (const uint8_t *) "s", 1,
                                   (const uint8_t *) "c", 1, out, &outlen),
                    -ENOTSUP);
  assert_int_equal (chap_response (4, 1, (const uint8_t *) "s", 1,
                                   (const uint8_t *) "c", 1, out, &outlen),
                    -ENOTSUP);
}

static void
test_decode_hex (void **state)
{
  uint8_t out[8];
  size_t n = 0;

  (void) state;
  assert_int_equal (chap_decode ("0x00ff7F80", out, sizeof out, &n), 0);
  assert_int_equal (n, 4);
  assert_memory_equal (out, "\x00\xff\x7f\x80", 4);
  assert_int_equal (chap_decode ("0XABcd", out, sizeof out, &n), 0);
  assert_int_equal (n, 2);
  assert_memory_equal (out, "\xab\xcd", 2);
  /* Exactly the capacity, and one byte over. */
  assert_int_equal (chap_decode ("0x0102030405060708", out, sizeof out, &n), 0);
  assert_int_equal (n, 8);
  assert_int_equal (chap_decode ("0x010203040506070809", out, sizeof out, &n), -E2BIG);
  /* Bad syntax. */
  assert_int_equal (chap_decode ("0x", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0xabc", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0xzz", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0x12 4", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0x-1", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("1234", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("x1234", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0y12", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode (NULL, out, sizeof out, &n), -EINVAL);
}

static void
test_decode_base64 (void **state)
{
  uint8_t out[32];
  size_t n = 0;

  (void) state;
  assert_int_equal (chap_decode ("0bAAECAwQFBgcICQoLDA0ODw==", out, sizeof out, &n), 0);
  assert_int_equal (n, 16);
  assert_memory_equal (out, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b"
                       "\x0c\x0d\x0e\x0f", 16);
  assert_int_equal (chap_decode ("0B//4=", out, sizeof out, &n), 0);
  assert_int_equal (n, 2);
  assert_memory_equal (out, "\xff\xfe", 2);
  assert_int_equal (chap_decode ("0bYWJj", out, sizeof out, &n), 0);
  assert_int_equal (n, 3);
  assert_memory_equal (out, "abc", 3);
  assert_int_equal (chap_decode ("0bYQ==", out, sizeof out, &n), 0);
  assert_int_equal (n, 1);
  assert_memory_equal (out, "a", 1);
  /* Capacity. */
  assert_int_equal (chap_decode ("0bYWJj", out, 2, &n), -E2BIG);
  /* Strictness: length, alphabet, padding position, stray bits. */
  assert_int_equal (chap_decode ("0b", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYQ", out, sizeof out, &n), -EINVAL);   /* unpadded */
  assert_int_equal (chap_decode ("0bYQ=", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYQ===", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0b====", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bY===", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYQ==YWJj", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bY=Jj", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYW=j", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYW J", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYW-j", out, sizeof out, &n), -EINVAL);  /* url-safe */
  assert_int_equal (chap_decode ("0bYW_j", out, sizeof out, &n), -EINVAL);
  assert_int_equal (chap_decode ("0bYR==", out, sizeof out, &n), -EINVAL);  /* bits */
  assert_int_equal (chap_decode ("0b//5=", out, sizeof out, &n), -EINVAL);  /* bits */
}

static void
test_encode_hex (void **state)
{
  char buf[9];

  (void) state;
  assert_int_equal (chap_encode_hex ((const uint8_t *) "\x00\xab\xff", 3, buf,
                                     sizeof buf), 0);
  assert_string_equal (buf, "0x00abff");
  assert_int_equal (chap_encode_hex ((const uint8_t *) "\x00\xab\xff\x01", 4,
                                     buf, sizeof buf), -E2BIG);
  assert_int_equal (chap_encode_hex (NULL, 0, buf, 3), 0);
  assert_string_equal (buf, "0x");
  assert_int_equal (chap_encode_hex (NULL, 0, buf, 2), -E2BIG);
}

static void
test_random (void **state)
{
  uint8_t a[64], b[64];

  (void) state;
  memset (a, 0, sizeof a);
  memset (b, 0, sizeof b);
  assert_int_equal (chap_random (a, sizeof a), 0);
  assert_int_equal (chap_random (b, sizeof b), 0);
  assert_memory_not_equal (a, b, sizeof a);
  assert_int_equal (chap_random (a, 0), 0);
}

static void
test_pick (void **state)
{
  static const uint8_t md5_only[] = { 5, 0 };
  static const uint8_t all[] = { 8, 7, 6, 5, 0 };
  static const uint8_t with_unknown[] = { 9, 5, 0 };

  (void) state;
  assert_int_equal (chap_pick ("5", md5_only), 5);
  assert_int_equal (chap_pick ("7", all), 7);
  assert_int_equal (chap_pick ("8", all), 8);
  assert_int_equal (chap_pick ("0x5", md5_only), 5);
  /* Not offered, Reject, a list, junk. */
  assert_int_equal (chap_pick ("7", md5_only), -EPROTO);
  assert_int_equal (chap_pick ("Reject", all), -EPROTO);
  assert_int_equal (chap_pick ("7,5", all), -EPROTO);
  assert_int_equal (chap_pick ("", all), -EPROTO);
  assert_int_equal (chap_pick (" 5", all), -EPROTO);
  assert_int_equal (chap_pick ("5 ", all), -EPROTO);
  assert_int_equal (chap_pick ("-5", all), -EPROTO);
  assert_int_equal (chap_pick ("261", all), -EPROTO);   /* 261 & 0xff == 5 */
  assert_int_equal (chap_pick ("0", all), -EPROTO);
  assert_int_equal (chap_pick (NULL, all), -EPROTO);
  assert_int_equal (chap_pick ("5", NULL), -EPROTO);
  /* A value in our list but one braid cannot compute. */
  assert_int_equal (chap_pick ("9", with_unknown), -EPROTO);
  assert_int_equal (chap_pick ("5", with_unknown), 5);
}

static void
test_format_list (void **state)
{
  static const uint8_t all[] = { 8, 7, 6, 5, 0 };
  static const uint8_t md5_only[] = { 5, 0 };
  static const uint8_t none[] = { 0 };
  char buf[16];

  (void) state;
  chap_format_list (md5_only, buf, sizeof buf);
  assert_string_equal (buf, "5");
  chap_format_list (all, buf, sizeof buf);
  assert_string_equal (buf, "8,7,6,5");
  chap_format_list (none, buf, sizeof buf);
  assert_string_equal (buf, "");
  /* Too small: whole entries only. */
  chap_format_list (all, buf, 5);
  assert_string_equal (buf, "8,7");
  chap_format_list (all, buf, 1);
  assert_string_equal (buf, "");
}

static void
test_parse_id (void **state)
{
  uint8_t id = 9;

  (void) state;
  assert_int_equal (chap_parse_id ("0", &id), 0);
  assert_int_equal (id, 0);
  assert_int_equal (chap_parse_id ("255", &id), 0);
  assert_int_equal (id, 255);
  assert_int_equal (chap_parse_id ("0x2a", &id), 0);
  assert_int_equal (id, 42);
  assert_int_equal (chap_parse_id ("0XFF", &id), 0);
  assert_int_equal (id, 255);
  assert_int_equal (chap_parse_id ("256", &id), -EINVAL);
  assert_int_equal (chap_parse_id ("0x100", &id), -EINVAL);
  assert_int_equal (chap_parse_id ("-1", &id), -EINVAL);
  assert_int_equal (chap_parse_id ("", &id), -EINVAL);
  assert_int_equal (chap_parse_id ("1a", &id), -EINVAL);
  assert_int_equal (chap_parse_id (NULL, &id), -EINVAL);
  assert_int_equal (id, 255);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_alg_table),
    cmocka_unit_test (test_vectors),
    cmocka_unit_test (test_verify_mismatch),
    cmocka_unit_test (test_response_unknown_alg),
    cmocka_unit_test (test_decode_hex),
    cmocka_unit_test (test_decode_base64),
    cmocka_unit_test (test_encode_hex),
    cmocka_unit_test (test_random),
    cmocka_unit_test (test_pick),
    cmocka_unit_test (test_format_list),
    cmocka_unit_test (test_parse_id),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
