/* test_luns.c: SAM LUN encoding/decoding round trips and REPORT LUNS. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/scsi.h"
#include "testutil.h"

static void
test_encode_known (void **state)
{
  (void) state;
  assert_int_equal (braid_scsi_lun_encode (0), 0);
  /* LUN 1: 00 01 00 00 00 00 00 00 */
  assert_int_equal (braid_scsi_lun_encode (1), 0x0001000000000000ull);
  assert_int_equal (braid_scsi_lun_encode (255), 0x00ff000000000000ull);
  /* Flat space: 01b in the top bits. 256 -> 41 00, 16383 -> 7f ff. */
  assert_int_equal (braid_scsi_lun_encode (256), 0x4100000000000000ull);
  assert_int_equal (braid_scsi_lun_encode (0x1234), 0x5234000000000000ull);
  assert_int_equal (braid_scsi_lun_encode (16383), 0x7fff000000000000ull);
  assert_int_equal (braid_scsi_lun_encode (16384), BRAID_SCSI_LUN_INVALID);
  assert_int_equal (braid_scsi_lun_encode (65535), BRAID_SCSI_LUN_INVALID);
}

static void
test_round_trip (void **state)
{
  unsigned lun;

  (void) state;
  for (lun = 0; lun < 16384; lun++) {
    uint16_t back = 0xffff;
    uint64_t sam = braid_scsi_lun_encode ((uint16_t) lun);
    assert_int_equal (braid_scsi_lun_decode (sam, &back), 0);
    assert_int_equal (back, lun);
  }
}

static void
test_decode_rejects (void **state)
{
  uint16_t lun;

  (void) state;
  /* Flat space addressing of a small LUN is legal and decodes. */
  assert_int_equal (braid_scsi_lun_decode (0x4005000000000000ull, &lun), 0);
  assert_int_equal (lun, 5);
  /* Peripheral with a bus id, second level, logical unit addressing,
   * extended addressing: not single-level numbers. */
  assert_int_equal (braid_scsi_lun_decode (0x0105000000000000ull, &lun),
                    -EINVAL);
  assert_int_equal (braid_scsi_lun_decode (0x0005000100000000ull, &lun),
                    -EINVAL);
  assert_int_equal (braid_scsi_lun_decode (0x8005000000000000ull, &lun),
                    -EINVAL);
  assert_int_equal (braid_scsi_lun_decode (0xc101000000000000ull, &lun),
                    -EINVAL);
  assert_int_equal (braid_scsi_lun_decode (0x0000000000000001ull, NULL),
                    -EINVAL);
}

static void
test_report_luns (void **state)
{
  /* 4 entries: LUN 0, LUN 1, flat LUN 300, a hierarchical one. */
  static const char *const hex =
    "00000020" "00000000"
    "0000000000000000"
    "0001000000000000"
    "412c000000000000"
    "0002000300000000";
  uint64_t luns[8];
  size_t total, len, cut;
  uint8_t *b = hex_decode (hex, &len);

  (void) state;
  assert_int_equal (braid_scsi_parse_report_luns (b, len, luns, 8, &total),
                    4);
  assert_int_equal (total, 4);
  assert_int_equal (luns[0], 0);
  assert_int_equal (luns[1], 1);
  assert_int_equal (luns[2], 300);
  assert_true (BRAID_SCSI_LUN_IS_RAW (luns[3]));
  assert_int_equal (luns[3], 0x0002000300000000ull);

  /* Room for 2. */
  assert_int_equal (braid_scsi_parse_report_luns (b, len, luns, 2, &total),
                    2);
  assert_int_equal (total, 4);
  /* Allocation too small: list says 4, buffer holds 2 and a half. */
  assert_int_equal (braid_scsi_parse_report_luns (b, 8 + 20, luns, 8,
                                                  &total), 2);
  assert_int_equal (total, 4);
  /* Header only. */
  assert_int_equal (braid_scsi_parse_report_luns (b, 8, luns, 8, &total), 0);
  assert_int_equal (total, 4);
  assert_int_equal (braid_scsi_parse_report_luns (b, 7, luns, 8, &total),
                    -EINVAL);
  assert_int_equal (total, 0);
  assert_int_equal (braid_scsi_parse_report_luns (b, len, NULL, 0, NULL), 0);

  for (cut = 0; cut <= len; cut++) {
    uint8_t *p = exact_copy (b, cut);
    int r = braid_scsi_parse_report_luns (p, cut, luns, 8, &total);
    assert_int_equal (r, cut < 8 ? -EINVAL : (int) ((cut - 8) / 8));
    free (p);
  }

  /* A list length that is not a multiple of 8, and one far larger than
   * the data. */
  b[3] = 0x13;
  assert_int_equal (braid_scsi_parse_report_luns (b, len, luns, 8, &total),
                    2);
  assert_int_equal (total, 2);
  b[0] = 0xff;
  assert_int_equal (braid_scsi_parse_report_luns (b, len, luns, 8, &total),
                    4);
  assert_int_equal (total, 0xff000013u / 8);
  free (b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_encode_known),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_decode_rejects),
    cmocka_unit_test (test_report_luns),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
