/* test_sense.c: sense decoding (fixed and descriptor), names, the ASC
 * table and the classifier's rules. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/common.h"
#include "braid/scsi.h"
#include "testutil.h"

static void
test_fixed (void **state)
{
  /* Current, VALID, MEDIUM ERROR, INFORMATION 0x00012345, 11/00. */
  static const uint8_t s[18] = {
    0xf0, 0x00, 0x03, 0x00, 0x01, 0x23, 0x45, 0x0a,
    0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  struct braid_scsi_sense out;

  (void) state;
  assert_int_equal (braid_scsi_parse_sense (s, sizeof s, &out), 0);
  assert_int_equal (out.format, 1);
  assert_false (out.deferred);
  assert_int_equal (out.key, BRAID_SCSI_SK_MEDIUM_ERROR);
  assert_int_equal (out.asc, 0x11);
  assert_int_equal (out.ascq, 0x00);
  assert_true (out.info_valid);
  assert_int_equal (out.info, 0x12345);
}

static void
test_fixed_deferred_short (void **state)
{
  /* Deferred, no VALID, NOT READY 04/0A, as a target with 14 bytes. */
  static const uint8_t s[14] = {
    0x71, 0x00, 0x02, 0xff, 0xff, 0xff, 0xff, 0x06,
    0x00, 0x00, 0x00, 0x00, 0x04, 0x0a,
  };
  /* ADDITIONAL SENSE LENGTH 4 hides bytes 12/13 even though present. */
  static const uint8_t cut[18] = {
    0x70, 0x00, 0x06, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0,
  };
  struct braid_scsi_sense out;

  (void) state;
  assert_int_equal (braid_scsi_parse_sense (s, sizeof s, &out), 0);
  assert_true (out.deferred);
  assert_false (out.info_valid);
  assert_int_equal (out.key, BRAID_SCSI_SK_NOT_READY);
  assert_int_equal (out.asc, 0x04);
  assert_int_equal (out.ascq, 0x0a);

  assert_int_equal (braid_scsi_parse_sense (cut, sizeof cut, &out), 0);
  assert_int_equal (out.key, BRAID_SCSI_SK_UNIT_ATTENTION);
  assert_int_equal (out.asc, 0);
  assert_int_equal (out.ascq, 0);

  /* Three bytes are enough for the key. */
  assert_int_equal (braid_scsi_parse_sense (s, 3, &out), 0);
  assert_int_equal (out.key, BRAID_SCSI_SK_NOT_READY);
  assert_int_equal (out.asc, 0);
}

static void
test_descriptor (void **state)
{
  /* Current, ILLEGAL REQUEST 24/00, then a sense-key-specific descriptor
   * (type 2) and an Information descriptor (type 0, VALID) 0x1122334455. */
  static const uint8_t s[8 + 8 + 12] = {
    0x72, 0x05, 0x24, 0x00, 0, 0, 0, 20,
    0x02, 0x06, 0, 0, 0, 0, 0, 0,
    0x00, 0x0a, 0x80, 0x00, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55,
  };
  static const uint8_t deferred[8] = { 0x73, 0x0b, 0x47, 0x00, 0, 0, 0, 0 };
  struct braid_scsi_sense out;

  (void) state;
  assert_int_equal (braid_scsi_parse_sense (s, sizeof s, &out), 0);
  assert_int_equal (out.format, 2);
  assert_int_equal (out.key, BRAID_SCSI_SK_ILLEGAL_REQUEST);
  assert_int_equal (out.asc, 0x24);
  assert_true (out.info_valid);
  assert_int_equal (out.info, 0x1122334455ull);

  assert_int_equal (braid_scsi_parse_sense (deferred, sizeof deferred, &out),
                    0);
  assert_true (out.deferred);
  assert_int_equal (out.key, BRAID_SCSI_SK_ABORTED_COMMAND);
  assert_false (out.info_valid);

  /* A descriptor cut short is skipped, not read past. */
  assert_int_equal (braid_scsi_parse_sense (s, sizeof s - 1, &out), 0);
  assert_false (out.info_valid);
}

static void
test_unusable (void **state)
{
  static const uint8_t bad_code[18] = { 0x7f, 0, 0x03 };
  static const uint8_t fixed2[2] = { 0x70, 0x00 };
  static const uint8_t desc1[1] = { 0x72 };
  struct braid_scsi_sense out;

  (void) state;
  memset (&out, 0xaa, sizeof out);
  assert_int_equal (braid_scsi_parse_sense (bad_code, sizeof bad_code, &out),
                    -EINVAL);
  assert_int_equal (out.format, 0);
  assert_int_equal (braid_scsi_parse_sense (fixed2, 2, &out), -EINVAL);
  assert_int_equal (braid_scsi_parse_sense (desc1, 1, &out), -EINVAL);
  assert_int_equal (braid_scsi_parse_sense (NULL, 0, &out), -EINVAL);
  assert_int_equal (braid_scsi_parse_sense (bad_code, 0, &out), -EINVAL);
  assert_int_equal (braid_scsi_parse_sense (bad_code, 3, NULL), -EINVAL);
}

/* Every prefix of some sense buffers, exact-size on the heap (ASan). */
static void
test_truncations (void **state)
{
  static const char *const hex[] = {
    "f0000300012345 0a00000000110000000000",
    "7205240000000014 0206000000000000 000a800000000011223344 55",
    "72052400000000ff 00ff",
    "7205240000000008 00ff",
  };
  size_t i, len, cut;

  (void) state;
  for (i = 0; i < sizeof hex / sizeof hex[0]; i++) {
    uint8_t *s = hex_decode (hex[i], &len);
    for (cut = 0; cut <= len; cut++) {
      uint8_t *p = exact_copy (s, cut);
      struct braid_scsi_sense out;
      braid_scsi_parse_sense (p, cut, &out);
      free (p);
    }
    free (s);
  }
}

static void
test_names (void **state)
{
  (void) state;
  assert_string_equal (braid_scsi_sense_key_name (2), "NOT READY");
  assert_string_equal (braid_scsi_sense_key_name (6), "UNIT ATTENTION");
  assert_string_equal (braid_scsi_sense_key_name (0xb), "ABORTED COMMAND");
  assert_string_equal (braid_scsi_sense_key_name (0xc), "RESERVED");
  assert_string_equal (braid_scsi_sense_key_name (16), "UNKNOWN");
  assert_string_equal (braid_scsi_sense_key_name (-1), "UNKNOWN");

  assert_string_equal (braid_scsi_asc_str (0x04, 0x0a),
                       "logical unit not accessible, asymmetric access "
                       "state transition");
  assert_non_null (braid_scsi_asc_str (0x04, 0x0b));
  assert_non_null (braid_scsi_asc_str (0x04, 0x0c));
  assert_string_equal (braid_scsi_asc_str (0x2a, 0x06),
                       "asymmetric access state changed");
  assert_string_equal (braid_scsi_asc_str (0x2a, 0x09),
                       "capacity data has changed");
  assert_string_equal (braid_scsi_asc_str (0x3f, 0x0e),
                       "reported luns data has changed");
  assert_string_equal (braid_scsi_asc_str (0x24, 0x00),
                       "invalid field in cdb");
  assert_non_null (braid_scsi_asc_str (0x29, 0x00));
  assert_non_null (braid_scsi_asc_str (0x29, 0x07));
  assert_non_null (braid_scsi_asc_str (0x2a, 0x01));
  assert_non_null (braid_scsi_asc_str (0x20, 0x00));
  assert_non_null (braid_scsi_asc_str (0x25, 0x00));
  assert_non_null (braid_scsi_asc_str (0x11, 0x00));
  assert_non_null (braid_scsi_asc_str (0x0c, 0x00));
  assert_non_null (braid_scsi_asc_str (0x3a, 0x00));
  assert_non_null (braid_scsi_asc_str (0x47, 0x00));
  assert_non_null (braid_scsi_asc_str (0x4b, 0x00));
  assert_non_null (braid_scsi_asc_str (0x44, 0x00));
  assert_non_null (braid_scsi_asc_str (0x00, 0x00));
  assert_non_null (braid_scsi_asc_str (0x5d, 0x00));
  assert_null (braid_scsi_asc_str (0x04, 0xff));
  assert_null (braid_scsi_asc_str (0xff, 0xff));
  assert_null (braid_scsi_asc_str (0x01, 0x00));
}

/* Every entry of the table is found by the binary search, i.e. it is
 * sorted: probe all 65536 pairs and count hits against known ones. */
static void
test_asc_table_sorted (void **state)
{
  unsigned a, q, hits = 0;

  (void) state;
  for (a = 0; a < 256; a++)
    for (q = 0; q < 256; q++)
      if (braid_scsi_asc_str ((uint8_t) a, (uint8_t) q) != NULL)
        hits++;
  assert_int_equal (hits, 68);
}

static enum braid_scsi_disposition
cc (uint8_t key, uint8_t asc, uint8_t ascq)
{
  struct braid_scsi_sense s = { 1, 0, key, asc, ascq, 0, 0 };
  return braid_scsi_classify (BRAID_STATUS_CHECK_CONDITION, &s);
}

static void
test_classify (void **state)
{
  struct braid_scsi_sense none = { 0 };

  (void) state;
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_GOOD, NULL),
                    BRAID_SCSI_GOOD);
  assert_int_equal (braid_scsi_classify (0x04, NULL), BRAID_SCSI_GOOD);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_BUSY, NULL),
                    BRAID_SCSI_RETRY_SAME_PATH);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_TASK_SET_FULL, NULL),
                    BRAID_SCSI_RETRY_SAME_PATH);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_TASK_ABORTED, NULL),
                    BRAID_SCSI_RETRY_SAME_PATH);
  assert_int_equal (braid_scsi_classify (0x30, NULL),
                    BRAID_SCSI_RETRY_SAME_PATH);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_RESERVATION_CONFLICT,
                                         NULL),
                    BRAID_SCSI_RESERVATION_CONFLICT);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_TRANSPORT, NULL),
                    BRAID_SCSI_PATH_ERROR);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_TIMEOUT, NULL),
                    BRAID_SCSI_PATH_ERROR);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_ERROR, NULL),
                    BRAID_SCSI_PATH_ERROR);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_TARGET_FAILURE, NULL),
                    BRAID_SCSI_PATH_ERROR);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_CANCELLED, NULL),
                    BRAID_SCSI_PATH_ERROR);
  assert_int_equal (braid_scsi_classify (0x22, NULL), BRAID_SCSI_PATH_ERROR);
  /* CHECK CONDITION without usable sense. */
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_CHECK_CONDITION, NULL),
                    BRAID_SCSI_PATH_ERROR);
  assert_int_equal (braid_scsi_classify (BRAID_STATUS_CHECK_CONDITION,
                                         &none), BRAID_SCSI_PATH_ERROR);

  /* Sense keys. */
  assert_int_equal (cc (0x0, 0x00, 0x1d), BRAID_SCSI_GOOD);
  assert_int_equal (cc (0x1, 0x17, 0x01), BRAID_SCSI_GOOD);
  assert_int_equal (cc (0x2, 0x04, 0x0a), BRAID_SCSI_PATH_ERROR);
  assert_int_equal (cc (0x2, 0x04, 0x0b), BRAID_SCSI_PATH_ERROR);
  assert_int_equal (cc (0x2, 0x04, 0x0c), BRAID_SCSI_PATH_ERROR);
  assert_int_equal (cc (0x2, 0x04, 0x01), BRAID_SCSI_RETRY_SAME_PATH);
  assert_int_equal (cc (0x2, 0x04, 0x03), BRAID_SCSI_PATH_ERROR);
  assert_int_equal (cc (0x2, 0x3a, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0x3, 0x11, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0x4, 0x44, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0x5, 0x24, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0x5, 0x20, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0x6, 0x29, 0x00), BRAID_SCSI_UNIT_ATTENTION);
  assert_int_equal (cc (0x6, 0x2a, 0x06), BRAID_SCSI_UNIT_ATTENTION);
  assert_int_equal (cc (0x6, 0x3f, 0x0e), BRAID_SCSI_UNIT_ATTENTION);
  assert_int_equal (cc (0x7, 0x27, 0x07), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0xb, 0x47, 0x00), BRAID_SCSI_PATH_ERROR);
  assert_int_equal (cc (0xb, 0x10, 0x01), BRAID_SCSI_PATH_ERROR);
  assert_int_equal (cc (0xd, 0x00, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0xe, 0x1d, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);
  assert_int_equal (cc (0x9, 0x80, 0x00), BRAID_SCSI_MEDIUM_OR_TARGET_ERROR);

  assert_string_equal (braid_scsi_disposition_name (BRAID_SCSI_PATH_ERROR),
                       "PATH ERROR");
  assert_string_equal (braid_scsi_disposition_name (BRAID_SCSI_GOOD), "GOOD");
  assert_string_equal (braid_scsi_disposition_name (
                         (enum braid_scsi_disposition) 99), "UNKNOWN");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fixed),
    cmocka_unit_test (test_fixed_deferred_short),
    cmocka_unit_test (test_descriptor),
    cmocka_unit_test (test_unusable),
    cmocka_unit_test (test_truncations),
    cmocka_unit_test (test_names),
    cmocka_unit_test (test_asc_table_sorted),
    cmocka_unit_test (test_classify),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
