/* test_capacity.c: READ CAPACITY (10) and (16) decoding. */
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
test_rc10 (void **state)
{
  /* 1 GiB of 512-byte blocks: last LBA 0x1fffff. */
  static const uint8_t b[8] = { 0x00, 0x1f, 0xff, 0xff, 0x00, 0x00, 0x02, 0x00 };
  static const uint8_t big[8] = { 0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0 };
  static const uint8_t zero_bs[8] = { 0, 0, 0, 1, 0, 0, 0, 0 };
  struct braid_scsi_capacity c;

  (void) state;
  assert_int_equal (braid_scsi_parse_read_capacity10 (b, sizeof b, &c), 0);
  assert_int_equal (c.blocks, 0x200000);
  assert_int_equal (c.block_size, 512);
  assert_int_equal (c.lbpme, 0);
  /* Too big for (10): the caller must ask (16). */
  assert_int_equal (braid_scsi_parse_read_capacity10 (big, 8, &c),
                    -EOVERFLOW);
  assert_int_equal (braid_scsi_parse_read_capacity10 (zero_bs, 8, &c),
                    -EINVAL);
  assert_int_equal (braid_scsi_parse_read_capacity10 (b, 7, &c), -EINVAL);
  assert_int_equal (braid_scsi_parse_read_capacity10 (NULL, 8, &c), -EINVAL);
  assert_int_equal (braid_scsi_parse_read_capacity10 (b, 8, NULL), -EINVAL);
}

static void
test_rc16 (void **state)
{
  /* 16 TiB of 4096-byte blocks, PROT_EN type 2 (P_TYPE 1), P_I_EXPONENT 1,
   * LBPPBE 3, LBPME, LBPRZ, lowest aligned LBA 7. */
  static const char *const hex =
    "00000000ffffffff" "00001000" "03" "13" "c007"
    "0000000000000000000000000000000000";
  struct braid_scsi_capacity c;
  size_t len, cut;
  uint8_t *b = hex_decode (hex, &len);

  (void) state;
  assert_int_equal (len, 33);
  assert_int_equal (braid_scsi_parse_read_capacity16 (b, len, &c), 0);
  assert_int_equal (c.blocks, 0x100000000ull);
  assert_int_equal (c.block_size, 4096);
  assert_true (c.prot_en);
  assert_int_equal (c.p_type, 1);
  assert_int_equal (c.p_i_exponent, 1);
  assert_int_equal (c.lbppbe, 3);
  assert_true (c.lbpme);
  assert_true (c.lbprz);
  assert_int_equal (c.lowest_aligned, 7);

  /* 12 bytes: size only. */
  assert_int_equal (braid_scsi_parse_read_capacity16 (b, 12, &c), 0);
  assert_int_equal (c.blocks, 0x100000000ull);
  assert_false (c.prot_en);
  assert_false (c.lbpme);
  assert_int_equal (braid_scsi_parse_read_capacity16 (b, 11, &c), -EINVAL);
  for (cut = 0; cut <= len; cut++) {
    uint8_t *p = exact_copy (b, cut);
    assert_int_equal (braid_scsi_parse_read_capacity16 (p, cut, &c),
                      cut < 12 ? -EINVAL : 0);
    free (p);
  }

  /* Last LBA 2^64 - 1: the block count does not fit. */
  memset (b, 0xff, 8);
  assert_int_equal (braid_scsi_parse_read_capacity16 (b, len, &c),
                    -EOVERFLOW);
  /* Largest representable. */
  b[7] = 0xfe;
  assert_int_equal (braid_scsi_parse_read_capacity16 (b, len, &c), 0);
  assert_int_equal (c.blocks, UINT64_MAX);
  /* Zero block size. */
  memset (b + 8, 0, 4);
  assert_int_equal (braid_scsi_parse_read_capacity16 (b, len, &c), -EINVAL);
  free (b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_rc10),
    cmocka_unit_test (test_rc16),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
