/* test_text.c: the iSCSI text key=value parser and builder (text.c).
 *
 * Covers the RFC 7143 §6.1 syntax checks the parser applies to whatever a
 * target sends (key charset and length, '=' and NUL terminator, padding,
 * value length), the builder's round trip, and strict number parsing.
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

#include "iscsi/text.h"

/* Parse a literal that may contain NULs (sizeof - 1 drops the C NUL). */
#define PARSE(lit, l, e) \
  iscsi_text_parse ((const uint8_t *) (lit), sizeof (lit) - 1, (l), (e), sizeof (e))

static void
test_parse_basic (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[128];

  (void) state;
  assert_int_equal (PARSE ("HeaderDigest=None\0MaxRecvDataSegmentLength=262144\0",
                           &l, err), 0);
  assert_int_equal (l.n, 2);
  assert_string_equal (l.v[0].key, "HeaderDigest");
  assert_string_equal (l.v[0].value, "None");
  assert_string_equal (l.v[1].key, "MaxRecvDataSegmentLength");
  assert_string_equal (l.v[1].value, "262144");
  assert_string_equal (iscsi_kvlist_get (&l, "HeaderDigest"), "None");
  assert_null (iscsi_kvlist_get (&l, "DataDigest"));
  iscsi_kvlist_free (&l);
  assert_null (l.v);
  assert_int_equal (l.n, 0);
}

static void
test_parse_padding_and_empty (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[128];

  (void) state;
  /* Data segments are padded to 4 bytes with NULs. */
  assert_int_equal (PARSE ("A=b\0\0\0\0", &l, err), 0);
  assert_int_equal (l.n, 1);
  iscsi_kvlist_free (&l);

  assert_int_equal (iscsi_text_parse (NULL, 0, &l, err, sizeof err), 0);
  assert_int_equal (l.n, 0);
  iscsi_kvlist_free (&l);

  /* Empty value is syntactically fine (SendTargets= is one). */
  assert_int_equal (PARSE ("SendTargets=\0", &l, err), 0);
  assert_string_equal (iscsi_kvlist_get (&l, "SendTargets"), "");
  iscsi_kvlist_free (&l);

  /* Text after padding is an empty pair in the middle. */
  assert_int_equal (PARSE ("A=b\0\0C=d\0", &l, err), -EINVAL);
  assert_string_equal (err, "pair 2: empty pair");
  assert_null (l.v);
}

static void
test_parse_errors (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[128];

  (void) state;
  assert_int_equal (PARSE ("A=b\0C=d", &l, err), -EINVAL);
  assert_string_equal (err, "pair 2: not NUL-terminated");

  assert_int_equal (PARSE ("A=b\0NoEquals\0", &l, err), -EINVAL);
  assert_string_equal (err, "pair 2: no '=' after the key");

  assert_int_equal (PARSE ("=value\0", &l, err), -EINVAL);
  assert_string_equal (err, "pair 1: empty key");

  assert_int_equal (PARSE ("1Key=1\0", &l, err), -EINVAL);
  assert_string_equal (err, "pair 1: key does not start with a letter");
  assert_int_equal (PARSE (".Key=1\0", &l, err), -EINVAL);

  assert_int_equal (PARSE ("A=1\0B=2\0Bad Key=3\0", &l, err), -EINVAL);
  assert_string_equal (err, "pair 3: invalid character in key");

  /* ':' is not in the standard-label set, not even in X- keys. */
  assert_int_equal (PARSE ("X-com.example:thing=1\0", &l, err), -EINVAL);
  assert_int_equal (PARSE ("Key\xc3\xa9=1\0", &l, err), -EINVAL);
  assert_null (l.v);
}

static void
test_parse_key_charset (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[128];

  (void) state;
  assert_int_equal (PARSE ("X-com.example.do_some+thing@v-1=x\0"
                           "X#NodeArchitecture=braid\0", &l, err), 0);
  assert_int_equal (l.n, 2);
  assert_string_equal (l.v[1].key, "X#NodeArchitecture");
  iscsi_kvlist_free (&l);
  /* '#' only right after the leading X. */
  assert_int_equal (PARSE ("Y#Foo=1\0", &l, err), -EINVAL);
  assert_int_equal (PARSE ("XY#Foo=1\0", &l, err), -EINVAL);

  assert_true (iscsi_text_key_valid ("MaxBurstLength"));
  assert_false (iscsi_text_key_valid (""));
  assert_true (iscsi_text_key_valid ("iSCSIProtocolLevel"));
  assert_false (iscsi_text_key_valid ("_a"));
  assert_false (iscsi_text_key_valid (NULL));
}

static void
test_parse_key_length (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[128];
  uint8_t buf[200];
  size_t n;

  (void) state;
  /* 63 characters: accepted. */
  memset (buf, 'K', 63);
  memcpy (buf + 63, "=v", 3);
  assert_int_equal (iscsi_text_parse (buf, 66, &l, err, sizeof err), 0);
  assert_int_equal (strlen (l.v[0].key), 63);
  iscsi_kvlist_free (&l);
  /* 64: refused, with the message the header promises. */
  memset (buf, 'K', 64);
  memcpy (buf + 64, "=v", 3);
  n = 67;
  assert_int_equal (iscsi_text_parse (buf, n, &l, err, sizeof err), -EINVAL);
  assert_string_equal (err, "pair 1: key longer than 63 characters");
}

static void
test_parse_value_length (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[160];
  size_t vlen = ISCSI_TEXT_MAX_VALUE;
  uint8_t *buf = malloc (8 + vlen + 2);

  (void) state;
  assert_non_null (buf);
  memcpy (buf, "CHAP_C=", 7);
  memset (buf + 7, 'a', vlen);
  buf[7 + vlen] = '\0';
  assert_int_equal (iscsi_text_parse (buf, 7 + vlen + 1, &l, err, sizeof err), 0);
  assert_int_equal (strlen (l.v[0].value), vlen);
  iscsi_kvlist_free (&l);

  buf[7 + vlen] = 'a';
  buf[8 + vlen] = '\0';
  assert_int_equal (iscsi_text_parse (buf, 7 + vlen + 2, &l, err, sizeof err),
                    -EINVAL);
  assert_non_null (strstr (err, "CHAP_C"));
  assert_non_null (strstr (err, "8192"));
  free (buf);
}

static void
test_parse_copies_input (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[64];
  uint8_t buf[] = "TargetAlias=disk\0";

  (void) state;
  assert_int_equal (iscsi_text_parse (buf, sizeof buf - 1, &l, err, sizeof err), 0);
  memset (buf, 'Z', sizeof buf);
  assert_string_equal (iscsi_kvlist_get (&l, "TargetAlias"), "disk");
  iscsi_kvlist_free (&l);
}

static void
test_get_count_duplicates (void **state)
{
  struct iscsi_kvlist l = { 0 };
  char err[64];

  (void) state;
  assert_int_equal (PARSE ("TargetName=a\0TargetAddress=1\0TargetName=b\0",
                           &l, err), 0);
  assert_string_equal (iscsi_kvlist_get (&l, "TargetName"), "a");
  assert_int_equal (iscsi_kvlist_count (&l, "TargetName"), 2);
  assert_int_equal (iscsi_kvlist_count (&l, "TargetAddress"), 1);
  assert_int_equal (iscsi_kvlist_count (&l, "Nope"), 0);
  iscsi_kvlist_free (&l);
  iscsi_kvlist_free (&l);               /* idempotent */
}

static void
test_builder (void **state)
{
  struct iscsi_textbuf b = { 0 };
  struct iscsi_kvlist l = { 0 };
  char err[64];
  size_t i;

  (void) state;
  assert_int_equal (iscsi_text_add (&b, "InitiatorName", "iqn.2024-01.test:init"), 0);
  assert_int_equal (iscsi_text_addf (&b, "MaxBurstLength", "%u", 1048576u), 0);
  assert_int_equal (b.len, strlen ("InitiatorName=iqn.2024-01.test:init") + 1
                    + strlen ("MaxBurstLength=1048576") + 1);
  assert_memory_equal (b.data, "InitiatorName=iqn.2024-01.test:init\0MaxBurstLength=1048576\0",
                       b.len);
  assert_int_equal (iscsi_text_append (&b, "A=", 2), 0);
  assert_int_equal (iscsi_text_append (&b, "b\0", 2), 0);

  assert_int_equal (iscsi_text_parse (b.data, b.len, &l, err, sizeof err), 0);
  assert_int_equal (l.n, 3);
  assert_string_equal (iscsi_kvlist_get (&l, "A"), "b");
  iscsi_kvlist_free (&l);

  /* Bad keys are refused and leave the buffer alone. */
  i = b.len;
  assert_int_equal (iscsi_text_add (&b, "1bad", "x"), -EINVAL);
  assert_int_equal (iscsi_text_add (&b, "Bad=Key", "x"), -EINVAL);
  assert_int_equal (iscsi_text_addf (&b, "", "%d", 1), -EINVAL);
  assert_int_equal (b.len, i);

  /* Growth over many pairs. */
  for (i = 0; i < 1000; i++)
    assert_int_equal (iscsi_text_addf (&b, "X-test.k", "%zu", i), 0);
  assert_int_equal (iscsi_text_parse (b.data, b.len, &l, err, sizeof err), 0);
  assert_int_equal (iscsi_kvlist_count (&l, "X-test.k"), 1000);
  iscsi_kvlist_free (&l);

  iscsi_textbuf_reset (&b);
  assert_int_equal (b.len, 0);
  assert_non_null (b.data);
  iscsi_textbuf_free (&b);
  assert_null (b.data);
  assert_int_equal (b.cap, 0);
}

static void
test_builder_value_limit (void **state)
{
  struct iscsi_textbuf b = { 0 };
  char *v = malloc (ISCSI_TEXT_MAX_VALUE + 2);

  (void) state;
  assert_non_null (v);
  memset (v, 'f', ISCSI_TEXT_MAX_VALUE + 1);
  v[ISCSI_TEXT_MAX_VALUE + 1] = '\0';
  assert_int_equal (iscsi_text_add (&b, "CHAP_R", v), -EINVAL);
  v[ISCSI_TEXT_MAX_VALUE] = '\0';
  assert_int_equal (iscsi_text_add (&b, "CHAP_R", v), 0);
  iscsi_textbuf_free (&b);
  free (v);
}

static void
test_number (void **state)
{
  uint64_t v;

  (void) state;
  assert_int_equal (iscsi_text_parse_number ("0", 0, UINT64_MAX, &v), 0);
  assert_int_equal (v, 0);
  assert_int_equal (iscsi_text_parse_number ("8192", 0, UINT64_MAX, &v), 0);
  assert_int_equal (v, 8192);
  assert_int_equal (iscsi_text_parse_number ("0x2000", 0, UINT64_MAX, &v), 0);
  assert_int_equal (v, 8192);
  assert_int_equal (iscsi_text_parse_number ("0X2000", 0, UINT64_MAX, &v), 0);
  assert_int_equal (v, 8192);
  assert_int_equal (iscsi_text_parse_number ("0xfFfF", 0, UINT64_MAX, &v), 0);
  assert_int_equal (v, 65535);
  assert_int_equal (iscsi_text_parse_number ("18446744073709551615", 0,
                                             UINT64_MAX, &v), 0);
  assert_true (v == UINT64_MAX);
  assert_int_equal (iscsi_text_parse_number ("0xffffffffffffffff", 0,
                                             UINT64_MAX, &v), 0);
  assert_true (v == UINT64_MAX);
  assert_int_equal (iscsi_text_parse_number ("0x0000000000000000001", 0,
                                             UINT64_MAX, &v), 0);
  assert_int_equal (v, 1);
  assert_int_equal (iscsi_text_parse_number ("007", 0, 10, &v), 0);
  assert_int_equal (v, 7);
}

static void
test_number_rejects (void **state)
{
  static const char *const bad[] = {
    "", "+5", "-5", " 5", "5 ", "0x", "0X", "0x 1", "0b1234", "0B==",
    "12a", "1.5", "1e3", "0xg", "18446744073709551616",
    "99999999999999999999999", "0x10000000000000000", "Yes", "5,6",
  };
  uint64_t v = 42;
  size_t i;

  (void) state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      if (iscsi_text_parse_number (bad[i], 0, UINT64_MAX, &v) != -EINVAL)
        fail_msg ("accepted \"%s\"", bad[i]);
    }
  assert_int_equal (v, 42);                     /* untouched on error */
  assert_int_equal (iscsi_text_parse_number (NULL, 0, 1, &v), -EINVAL);
  /* Range. */
  assert_int_equal (iscsi_text_parse_number ("511", 512, 16777215, &v), -EINVAL);
  assert_int_equal (iscsi_text_parse_number ("512", 512, 16777215, &v), 0);
  assert_int_equal (iscsi_text_parse_number ("16777215", 512, 16777215, &v), 0);
  assert_int_equal (iscsi_text_parse_number ("16777216", 512, 16777215, &v), -EINVAL);
  assert_int_equal (iscsi_text_parse_number ("0x1000000", 512, 16777215, &v), -EINVAL);
}

static void
test_bool (void **state)
{
  int b = 7;

  (void) state;
  assert_int_equal (iscsi_text_parse_bool ("Yes", &b), 0);
  assert_int_equal (b, 1);
  assert_int_equal (iscsi_text_parse_bool ("No", &b), 0);
  assert_int_equal (b, 0);
  assert_int_equal (iscsi_text_parse_bool ("yes", &b), -EINVAL);
  assert_int_equal (iscsi_text_parse_bool ("NO", &b), -EINVAL);
  assert_int_equal (iscsi_text_parse_bool ("", &b), -EINVAL);
  assert_int_equal (iscsi_text_parse_bool ("Yes ", &b), -EINVAL);
  assert_int_equal (iscsi_text_parse_bool ("1", &b), -EINVAL);
  assert_int_equal (iscsi_text_parse_bool (NULL, &b), -EINVAL);
  assert_int_equal (b, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_basic),
    cmocka_unit_test (test_parse_padding_and_empty),
    cmocka_unit_test (test_parse_errors),
    cmocka_unit_test (test_parse_key_charset),
    cmocka_unit_test (test_parse_key_length),
    cmocka_unit_test (test_parse_value_length),
    cmocka_unit_test (test_parse_copies_input),
    cmocka_unit_test (test_get_count_duplicates),
    cmocka_unit_test (test_builder),
    cmocka_unit_test (test_builder_value_limit),
    cmocka_unit_test (test_number),
    cmocka_unit_test (test_number_rejects),
    cmocka_unit_test (test_bool),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
