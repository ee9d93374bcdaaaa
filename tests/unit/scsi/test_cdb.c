/* test_cdb.c: byte layout of every CDB builder and of the UNMAP parameter
 * list (SBC-4 / SPC-4 field positions). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/scsi.h"

static void
check (const uint8_t *cdb, const uint8_t *want, size_t n)
{
  size_t i;

  assert_memory_equal (cdb, want, n);
  for (i = n; i < BRAID_SCSI_CDB_MAX; i++)
    assert_int_equal (cdb[i], 0);
}

static void
test_small (void **state)
{
  uint8_t cdb[16];

  (void) state;
  memset (cdb, 0xee, sizeof cdb);
  assert_int_equal (braid_scsi_cdb_tur (cdb), 6);
  check (cdb, (const uint8_t[]) { 0, 0, 0, 0, 0, 0 }, 6);

  memset (cdb, 0xee, sizeof cdb);
  assert_int_equal (braid_scsi_cdb_inquiry (cdb, 1, 0x83, 0x1234), 6);
  check (cdb, (const uint8_t[]) { 0x12, 0x01, 0x83, 0x12, 0x34, 0 }, 6);
  /* No EVPD: page forced to 0. */
  assert_int_equal (braid_scsi_cdb_inquiry (cdb, 0, 0x83, 36), 6);
  check (cdb, (const uint8_t[]) { 0x12, 0, 0, 0, 36, 0 }, 6);

  assert_int_equal (braid_scsi_cdb_read_capacity10 (cdb), 10);
  check (cdb, (const uint8_t[]) { 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 10);

  assert_int_equal (braid_scsi_cdb_read_capacity16 (cdb, 32), 16);
  check (cdb, (const uint8_t[]) { 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
                                  0, 0, 0, 32, 0, 0 }, 16);

  assert_int_equal (braid_scsi_cdb_report_luns (cdb, 2, 0x10000), 12);
  check (cdb, (const uint8_t[]) { 0xa0, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0 },
         12);

  assert_int_equal (braid_scsi_cdb_rtpg (cdb, 1024), 12);
  check (cdb, (const uint8_t[]) { 0xa3, 0x0a, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0 },
         12);

  assert_int_equal (braid_scsi_cdb_unmap (cdb, 24), 10);
  check (cdb, (const uint8_t[]) { 0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0 }, 10);
}

static void
test_lba16 (void **state)
{
  uint8_t cdb[16];
  static const uint8_t lba[8] = { 0x01, 0x23, 0x45, 0x67,
                                  0x89, 0xab, 0xcd, 0xef };

  (void) state;
  assert_int_equal (braid_scsi_cdb_read16 (cdb, 0x0123456789abcdefull,
                                           0x11223344, 0), 16);
  assert_int_equal (cdb[0], 0x88);
  assert_int_equal (cdb[1], 0);
  assert_memory_equal (cdb + 2, lba, 8);
  assert_memory_equal (cdb + 10,
                       ((const uint8_t[]) { 0x11, 0x22, 0x33, 0x44, 0, 0 }), 6);

  braid_scsi_cdb_read16 (cdb, 0, 1, 1);
  assert_int_equal (cdb[1], 0x08);
  braid_scsi_cdb_write16 (cdb, 7, 8, 1);
  assert_int_equal (cdb[0], 0x8a);
  assert_int_equal (cdb[1], 0x08);
  assert_int_equal (cdb[9], 7);
  assert_int_equal (cdb[13], 8);
  braid_scsi_cdb_write16 (cdb, 7, 8, 0);
  assert_int_equal (cdb[1], 0);

  assert_int_equal (braid_scsi_cdb_sync_cache16 (cdb, 0, 0, 1), 16);
  assert_int_equal (cdb[0], 0x91);
  assert_int_equal (cdb[1], 0x02);
  braid_scsi_cdb_sync_cache16 (cdb, 0, 0, 0);
  assert_int_equal (cdb[1], 0);

  assert_int_equal (braid_scsi_cdb_write_same16 (cdb, 1, 2, 1, 0, 0), 16);
  assert_int_equal (cdb[0], 0x93);
  assert_int_equal (cdb[1], 0x08);
  braid_scsi_cdb_write_same16 (cdb, 1, 2, 0, 1, 0);
  assert_int_equal (cdb[1], 0x10);
  braid_scsi_cdb_write_same16 (cdb, 1, 2, 1, 0, 1);
  assert_int_equal (cdb[1], 0x09);
  assert_int_equal (cdb[9], 1);
  assert_int_equal (cdb[13], 2);
  assert_int_equal (cdb[14], 0);
  assert_int_equal (cdb[15], 0);
}

static void
test_unmap_params (void **state)
{
  struct braid_scsi_extent ext[2] = { { 0x1000, 8 }, { 0x0102030405ull, 16 } };
  uint8_t buf[64];
  static const uint8_t want[40] = {
    0x00, 0x26, 0x00, 0x20, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0x10, 0x00, 0, 0, 0, 8, 0, 0, 0, 0,
    0, 0, 0, 0x01, 0x02, 0x03, 0x04, 0x05, 0, 0, 0, 16, 0, 0, 0, 0,
  };

  (void) state;
  memset (buf, 0xee, sizeof buf);
  assert_int_equal (braid_scsi_unmap_params (buf, sizeof buf, ext, 2), 40);
  assert_memory_equal (buf, want, 40);
  assert_int_equal (buf[40], 0xee);
  assert_int_equal (braid_scsi_unmap_params (buf, 39, ext, 2), -ENOSPC);
  assert_int_equal (braid_scsi_unmap_params (buf, sizeof buf, NULL, 0), 8);
  assert_int_equal (buf[1], 6);
  assert_int_equal (buf[3], 0);
  assert_int_equal (braid_scsi_unmap_params (buf, sizeof buf, NULL, 1),
                    -EINVAL);
  assert_int_equal (braid_scsi_unmap_params (buf, sizeof buf, ext, 4096),
                    -EINVAL);
  assert_int_equal (braid_scsi_unmap_params (NULL, 0, ext, 1), -ENOSPC);
}

static void
test_unmap_max (void **state)
{
  enum { N = 4095 };
  static struct braid_scsi_extent ext[N];
  static uint8_t buf[8 + 16 * N];

  (void) state;
  assert_int_equal (braid_scsi_unmap_params (buf, sizeof buf, ext, N),
                    8 + 16 * N);
  assert_int_equal (buf[0] << 8 | buf[1], 6 + 16 * N);
  assert_int_equal (buf[2] << 8 | buf[3], 16 * N);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_small),
    cmocka_unit_test (test_lba16),
    cmocka_unit_test (test_unmap_params),
    cmocka_unit_test (test_unmap_max),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
