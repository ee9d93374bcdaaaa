/* test_rtpg.c: REPORT TARGET PORT GROUPS decoding (lab.md (f) istgt answer,
 * extended header, several groups, truncation and malformed data). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/scsi.h"
#include "testutil.h"

/* lab.md (f): one group, PREF, active/optimized, AO+AN supported, id 1,
 * status 2 (implicit change), relative ports 1 and 2. */
static const char *const ISTGT_RTPG =
  "00000010" "8003000100020002" "00000001" "00000002";

static void
test_istgt (void **state)
{
  struct braid_scsi_tpg t[2];
  size_t len, cut;
  uint8_t *b = hex_decode (ISTGT_RTPG, &len);

  (void) state;
  assert_int_equal (braid_scsi_parse_rtpg (b, len, t, 2), 1);
  assert_int_equal (t[0].id, 1);
  assert_true (t[0].pref);
  assert_int_equal (t[0].state, BRAID_SCSI_ALUA_ACTIVE_OPTIMIZED);
  assert_int_equal (t[0].supported, 0x03);
  assert_int_equal (t[0].status, 2);
  assert_int_equal (t[0].nports, 2);
  assert_int_equal (t[0].nports_total, 2);
  assert_int_equal (t[0].ports[0], 1);
  assert_int_equal (t[0].ports[1], 2);
  assert_string_equal (braid_scsi_alua_state_name (t[0].state),
                       "active/optimized");
  assert_int_equal (braid_scsi_rtpg_length (b, len), 20);

  /* Every truncation: the allocation was short, never an error, never a
   * partial group. */
  for (cut = 0; cut <= len; cut++) {
    uint8_t *p = exact_copy (b, cut);
    int r = braid_scsi_parse_rtpg (p, cut, t, 2);
    assert_int_equal (r, cut < 4 ? -EINVAL : cut == len ? 1 : 0);
    free (p);
  }
  free (b);
}

static void
test_ext_header_two_groups (void **state)
{
  /* Extended header (format 1, transition time 10 s); group 1 standby with
   * one port, group 2 transitioning, not preferred, 40 ports. */
  uint8_t b[8 + 12 + 8 + 40 * 4];
  struct braid_scsi_tpg t[4];
  size_t i;

  (void) state;
  memset (b, 0, sizeof b);
  b[3] = (uint8_t) (sizeof b - 4);
  b[4] = 0x10;
  b[5] = 10;
  b[8] = 0x02; b[9] = 0x8f; b[11] = 1; b[15] = 1; b[19] = 7;
  b[20] = 0x0f; b[21] = 0x8f; b[23] = 2; b[25] = 0; b[27] = 40;
  for (i = 0; i < 40; i++)
    b[28 + 4 * i + 3] = (uint8_t) (100 + i);
  assert_int_equal (braid_scsi_parse_rtpg (b, sizeof b, t, 4), 2);
  assert_int_equal (t[0].state, BRAID_SCSI_ALUA_STANDBY);
  assert_false (t[0].pref);
  assert_int_equal (t[0].nports, 1);
  assert_int_equal (t[0].ports[0], 7);
  assert_int_equal (t[1].id, 2);
  assert_int_equal (t[1].state, BRAID_SCSI_ALUA_TRANSITIONING);
  assert_int_equal (t[1].nports, BRAID_SCSI_TPG_MAX_PORTS);
  assert_int_equal (t[1].nports_total, 40);
  assert_int_equal (t[1].ports[31], 131);
  /* One slot: the count says 2. */
  assert_int_equal (braid_scsi_parse_rtpg (b, sizeof b, t, 1), 2);
  assert_int_equal (braid_scsi_parse_rtpg (b, sizeof b, NULL, 0), 2);
}

static void
test_malformed (void **state)
{
  struct braid_scsi_tpg t[2];
  size_t len;
  uint8_t *b;

  (void) state;
  /* RETURN DATA LENGTH ends inside the port list: malformed. */
  b = hex_decode ("0000000c" "8003000100020002" "00000001" "00000002", &len);
  assert_int_equal (braid_scsi_parse_rtpg (b, len, t, 2), -EINVAL);
  free (b);
  /* Stray bytes after the last group within the declared length. */
  b = hex_decode ("0000000b" "8003000100020000" "000000", &len);
  assert_int_equal (braid_scsi_parse_rtpg (b, len, t, 2), -EINVAL);
  free (b);
  /* Extended header claiming less than its own size. */
  b = hex_decode ("00000002" "1000", &len);
  assert_int_equal (braid_scsi_parse_rtpg (b, len, t, 2), -EINVAL);
  free (b);
  /* Empty list. */
  b = hex_decode ("00000000", &len);
  assert_int_equal (braid_scsi_parse_rtpg (b, len, t, 2), 0);
  free (b);
  assert_int_equal (braid_scsi_parse_rtpg (NULL, 0, t, 2), -EINVAL);
  assert_int_equal (braid_scsi_rtpg_length (NULL, 0), 0);
}

static void
test_state_names (void **state)
{
  (void) state;
  assert_string_equal (braid_scsi_alua_state_name (1),
                       "active/non-optimized");
  assert_string_equal (braid_scsi_alua_state_name (2), "standby");
  assert_string_equal (braid_scsi_alua_state_name (3), "unavailable");
  assert_string_equal (braid_scsi_alua_state_name (4), "lba-dependent");
  assert_string_equal (braid_scsi_alua_state_name (0xe), "offline");
  assert_string_equal (braid_scsi_alua_state_name (0xf), "transitioning");
  assert_string_equal (braid_scsi_alua_state_name (5), "unknown");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_istgt),
    cmocka_unit_test (test_ext_header_two_groups),
    cmocka_unit_test (test_malformed),
    cmocka_unit_test (test_state_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
