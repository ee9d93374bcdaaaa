/* test_inquiry.c: standard INQUIRY (lab.md tgtd and istgt answers) and VPD
 * pages 0x00, 0x80 (multipath-tools parse_vpd_pg80 semantics), 0xB0, 0xB2,
 * plus truncated and malformed inputs. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/scsi.h"
#include "testutil.h"

/* lab.md (e): "00 00 05 12 3d 00 00 02" "IET     " "VIRTUAL-DISK    "
 * "0001", padded to the 0x3d + 5 bytes tgtd declares. */
static const char *const TGTD_INQ =
  "000005123d000002" "4945542020202020" "5649525455414c2d4449534b20202020"
  "30303031" "00000000000000000000000000000000000000000000000000";
/* lab.md (e): "00 10 05 02 5b 00 10 02" "FreeBSD " "iSCSI DISK      "
 * "0001" (only 36 bytes asked for). */
static const char *const ISTGT_INQ =
  "001005025b001002" "4672656542534420" "6953435349204449534b202020202020"
  "30303031";

static void
test_std_inquiry (void **state)
{
  struct braid_scsi_inquiry inq;
  size_t len;
  uint8_t *b = hex_decode (TGTD_INQ, &len);

  (void) state;
  assert_int_equal (braid_scsi_parse_inquiry (b, len, &inq), 0);
  assert_int_equal (inq.qualifier, 0);
  assert_int_equal (inq.device_type, 0);
  assert_int_equal (inq.version, 5);
  assert_false (inq.removable);
  assert_int_equal (inq.tpgs, 0);
  assert_true (inq.cmdque);
  assert_false (inq.multip);
  assert_false (inq.protect);
  assert_string_equal (inq.vendor, "IET");
  assert_string_equal (inq.product, "VIRTUAL-DISK");
  assert_string_equal (inq.revision, "0001");
  free (b);

  b = hex_decode (ISTGT_INQ, &len);
  assert_int_equal (braid_scsi_parse_inquiry (b, len, &inq), 0);
  assert_false (inq.removable);      /* 0x10 in byte 1 is not RMB */
  assert_true (inq.multip);
  assert_true (inq.cmdque);
  assert_int_equal (inq.tpgs, 0);
  assert_string_equal (inq.vendor, "FreeBSD");
  assert_string_equal (inq.product, "iSCSI DISK");
  assert_string_equal (inq.revision, "0001");
  free (b);
}

static void
test_std_inquiry_odd (void **state)
{
  /* Peripheral qualifier 1 / type 0x1f, RMB, TPGS 3, PROTECT, a short
   * ADDITIONAL LENGTH (vendor only), non-printables in the vendor. */
  static const uint8_t b[40] = {
    0x3f, 0x80, 0x06, 0x02, 11, 0x31, 0x00, 0x00,
    'A', 0x01, 'B', 0, 'x', ' ', ' ', ' ',
    'P', 'R', 'O', 'D', 'U', 'C', 'T', ' ', ' ', ' ', ' ', ' ', ' ', ' ',
    ' ', ' ', 'R', 'E', 'V', '1', 0, 0, 0, 0,
  };
  struct braid_scsi_inquiry inq;
  size_t cut;

  (void) state;
  assert_int_equal (braid_scsi_parse_inquiry (b, sizeof b, &inq), 0);
  assert_int_equal (inq.qualifier, 1);
  assert_int_equal (inq.device_type, 0x1f);
  assert_true (inq.removable);
  assert_int_equal (inq.tpgs, 3);
  assert_true (inq.protect);
  /* bytes 8..15 are within the 11 + 5 declared bytes, stop at the NUL */
  assert_string_equal (inq.vendor, "A.B");
  assert_string_equal (inq.product, "");
  assert_string_equal (inq.revision, "");

  assert_int_equal (braid_scsi_parse_inquiry (b, 7, &inq), -EINVAL);
  assert_int_equal (braid_scsi_parse_inquiry (NULL, 0, &inq), -EINVAL);
  assert_int_equal (braid_scsi_parse_inquiry (b, 8, NULL), -EINVAL);
  for (cut = 0; cut <= sizeof b; cut++) {
    uint8_t *p = exact_copy (b, cut);
    braid_scsi_parse_inquiry (p, cut, &inq);
    free (p);
  }
  {
    size_t len;
    uint8_t *t = hex_decode (TGTD_INQ, &len);
    for (cut = 0; cut <= len; cut++) {
      uint8_t *p = exact_copy (t, cut);
      int r = braid_scsi_parse_inquiry (p, cut, &inq);
      assert_int_equal (r, cut < 8 ? -EINVAL : 0);
      if (cut == 20)
        assert_string_equal (inq.product, "VIRT");
      free (p);
    }
    free (t);
  }
}

static void
test_vpd00 (void **state)
{
  static const uint8_t b[] = { 0x00, 0x00, 0x00, 0x06,
                               0x00, 0x80, 0x83, 0xb0, 0xb1, 0xb2 };
  uint8_t pages[8];

  (void) state;
  assert_int_equal (braid_scsi_parse_vpd00 (b, sizeof b, pages, 8), 6);
  assert_int_equal (pages[2], 0x83);
  assert_int_equal (pages[5], 0xb2);
  /* Room for 3: the count is still 6. */
  memset (pages, 0, sizeof pages);
  assert_int_equal (braid_scsi_parse_vpd00 (b, sizeof b, pages, 3), 6);
  assert_int_equal (pages[2], 0x83);
  assert_int_equal (pages[3], 0);
  /* Short buffer: only what is there. */
  assert_int_equal (braid_scsi_parse_vpd00 (b, 7, pages, 8), 3);
  assert_int_equal (braid_scsi_parse_vpd00 (b, 3, pages, 8), -EINVAL);
  {
    uint8_t wrong[4] = { 0, 0x80, 0, 0 };
    assert_int_equal (braid_scsi_parse_vpd00 (wrong, 4, pages, 8), -EINVAL);
  }
}

static void
test_vpd80 (void **state)
{
  /* lab.md (e): tgtd right-aligns "beaf11" in 36 bytes. */
  static const char *const tgtd =
    "00800024" "202020202020202020202020202020202020202020202020202020202020"
    "626561663131";
  static const char *const istgt = "00800008" "3130303030303031";
  char s[64];
  size_t len, cut;
  uint8_t *b = hex_decode (tgtd, &len);

  (void) state;
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, sizeof s), 6);
  assert_string_equal (s, "beaf11");
  /* Truncated to cap - 1. */
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, 4), 3);
  assert_string_equal (s, "bea");
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, 1), 0);
  assert_string_equal (s, "");
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, 0), -EINVAL);
  for (cut = 0; cut <= len; cut++) {
    uint8_t *p = exact_copy (b, cut);
    braid_scsi_parse_vpd80 (p, cut, s, sizeof s);
    free (p);
  }
  free (b);

  b = hex_decode (istgt, &len);
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, sizeof s), 8);
  assert_string_equal (s, "10000001");
  free (b);

  /* Leading and trailing blanks, inner ones kept; all blank -> empty. */
  b = hex_decode ("00800008" "2041204220202020", &len);
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, sizeof s), 3);
  assert_string_equal (s, "A B");
  free (b);
  b = hex_decode ("00800003" "202020", &len);
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, sizeof s), 0);
  assert_string_equal (s, "");
  free (b);
  /* Not page 0x80. */
  b = hex_decode ("00830003" "414243", &len);
  assert_int_equal (braid_scsi_parse_vpd80 (b, len, s, sizeof s), -EINVAL);
  free (b);
}

static void
test_vpd80_long (void **state)
{
  /* 200 bytes of serial: multipath-tools keeps at most 128. */
  uint8_t b[204];
  char s[256];

  (void) state;
  b[0] = 0;
  b[1] = 0x80;
  b[2] = 0;
  b[3] = 200;
  memset (b + 4, 'S', 200);
  assert_int_equal (braid_scsi_parse_vpd80 (b, sizeof b, s, sizeof s), 128);
  assert_int_equal (strlen (s), 128);
}

static void
test_vpd_b0 (void **state)
{
  /* SBC-3 Block Limits, 0x3c bytes. */
  static const char *const hex =
    "00b0003c" "01" "10" "0008" "00000800" "00000100" "00001000"
    "00400000" "00000100" "00000010" "80000003" "0000000000010000"
    "0000000000000000000000000000000000000000";
  struct braid_scsi_vpd_b0 bl;
  size_t len, cut;
  uint8_t *b = hex_decode (hex, &len);

  (void) state;
  assert_int_equal (len, 64);
  assert_int_equal (braid_scsi_parse_vpd_b0 (b, len, &bl), 0);
  assert_true (bl.wsnz);
  assert_int_equal (bl.max_caw_len, 0x10);
  assert_int_equal (bl.opt_xfer_len_granularity, 8);
  assert_int_equal (bl.max_xfer_len, 0x800);
  assert_int_equal (bl.opt_xfer_len, 0x100);
  assert_int_equal (bl.max_prefetch_len, 0x1000);
  assert_int_equal (bl.max_unmap_lba_count, 0x400000);
  assert_int_equal (bl.max_unmap_desc_count, 0x100);
  assert_int_equal (bl.opt_unmap_granularity, 0x10);
  assert_true (bl.ugavalid);
  assert_int_equal (bl.unmap_granularity_alignment, 3);
  assert_int_equal (bl.max_write_same_len, 0x10000);

  /* An SBC-2 device declares 0x0c bytes: later fields are 0. */
  b[3] = 0x0c;
  assert_int_equal (braid_scsi_parse_vpd_b0 (b, len, &bl), 0);
  assert_int_equal (bl.opt_xfer_len, 0x100);
  assert_int_equal (bl.max_unmap_lba_count, 0);
  assert_int_equal (bl.max_write_same_len, 0);
  b[3] = 0x3c;

  for (cut = 0; cut <= len; cut++) {
    uint8_t *p = exact_copy (b, cut);
    assert_int_equal (braid_scsi_parse_vpd_b0 (p, cut, &bl),
                      cut < 4 ? -EINVAL : 0);
    free (p);
  }
  b[1] = 0xb2;
  assert_int_equal (braid_scsi_parse_vpd_b0 (b, len, &bl), -EINVAL);
  free (b);
}

static void
test_vpd_b2 (void **state)
{
  /* Threshold exponent 5; LBPU, LBPWS, LBPWS10, LBPRZ 1, ANC_SUP; thin. */
  static const uint8_t b[8] = { 0x00, 0xb2, 0x00, 0x04,
                                0x05, 0xe6, 0x02, 0x00 };
  struct braid_scsi_vpd_b2 lbp;

  (void) state;
  assert_int_equal (braid_scsi_parse_vpd_b2 (b, sizeof b, &lbp), 0);
  assert_int_equal (lbp.threshold_exponent, 5);
  assert_true (lbp.lbpu);
  assert_true (lbp.lbpws);
  assert_true (lbp.lbpws10);
  assert_int_equal (lbp.lbprz, 1);
  assert_true (lbp.anc_sup);
  assert_false (lbp.dp);
  assert_int_equal (lbp.provisioning_type, 2);
  assert_int_equal (braid_scsi_parse_vpd_b2 (b, 7, &lbp), -EINVAL);
  assert_int_equal (braid_scsi_parse_vpd_b2 (b, sizeof b, NULL), -EINVAL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_std_inquiry),
    cmocka_unit_test (test_std_inquiry_odd),
    cmocka_unit_test (test_vpd00),
    cmocka_unit_test (test_vpd80),
    cmocka_unit_test (test_vpd80_long),
    cmocka_unit_test (test_vpd_b0),
    cmocka_unit_test (test_vpd_b2),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
