/* test_printsize.c: the printing helpers (vectors §J): size in single
 * precision with its units and decimals, %Q, %F with the progress bar,
 * %L, %i, %d, %r, %t, and snprintf-style truncation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpstate.h"

static void
expect (int n, const char *buf, const char *want)
{
  assert_int_equal (n, (int) strlen (want));
  assert_string_equal (buf, want);
}

static const struct {
  uint64_t sectors;
  const char *text;
} sizes[] = {
  { 1, "0.0K" },
  { 2, "1.0K" },
  { 20, "10K" },
  { 2048, "1.0M" },
  { 2097152, "1.0G" },
  { 2097151, "1024M" },
  { 20971520, "10G" },
  { 209715200, "100G" },
  { UINT64_C (2147483648), "1.0T" },
  { UINT64_C (1953525168), "932G" },
  { UINT64_C (3907029168), "1.8T" },
  { UINT64_C (21474836480), "10T" },
  { UINT64_C (17179869184), "8.0T" },
  { UINT64_C (7814037168), "3.6T" },
  { UINT64_C (3298534883328), "1.5P" },
};

static void
test_size (void **state)
{
  char buf[32];
  size_t i;

  (void) state;
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    expect (braid_snprint_size (buf, sizeof buf, sizes[i].sectors), buf,
            sizes[i].text);
  /* Nothing above P. */
  expect (braid_snprint_size (buf, sizeof buf, UINT64_C (1) << 62), buf,
          "2097152P");
  expect (braid_snprint_size (buf, sizeof buf, 0), buf, "0.0K");
  /* Truncation keeps the length needed. */
  assert_int_equal (braid_snprint_size (buf, 3, 2097151), 5);
  assert_string_equal (buf, "10");
  assert_int_equal (braid_snprint_size (NULL, 0, 2097151), 5);
  assert_int_equal (braid_snprint_size (NULL, 4, 1), -EINVAL);
}

static void
test_queueing (void **state)
{
  char buf[32];

  (void) state;
  expect (braid_snprint_queueing (buf, sizeof buf, BRAID_NO_PATH_RETRY_FAIL,
                                  0, 2), buf, "off");
  expect (braid_snprint_queueing (buf, sizeof buf, BRAID_NO_PATH_RETRY_QUEUE,
                                  0, 0), buf, "on");
  expect (braid_snprint_queueing (buf, sizeof buf, BRAID_NO_PATH_RETRY_UNDEF,
                                  0, 2), buf, "-");
  expect (braid_snprint_queueing (buf, sizeof buf, 12, 0, 2), buf, "12 chk");
  expect (braid_snprint_queueing (buf, sizeof buf, 12, 37, 0), buf, "37 sec");
  expect (braid_snprint_queueing (buf, sizeof buf, 12, 0, 0), buf, "off");
}

static void
test_failback (void **state)
{
  char buf[32];

  (void) state;
  expect (braid_snprint_failback (buf, sizeof buf, BRAID_FAILBACK_IMMEDIATE,
                                  0), buf, "immediate");
  expect (braid_snprint_failback (buf, sizeof buf, BRAID_FAILBACK_FOLLOWOVER,
                                  0), buf, "followover");
  expect (braid_snprint_failback (buf, sizeof buf, BRAID_FAILBACK_MANUAL, 0),
          buf, "-");
  expect (braid_snprint_failback (buf, sizeof buf, 15, 0), buf, "-");
  expect (braid_snprint_failback (buf, sizeof buf, 15, 12), buf,
          "XXXXXXXX.. 12/15");
  expect (braid_snprint_progress (buf, sizeof buf, 15, 15), buf,
          "XXXXXXXXXX 15/15");
  expect (braid_snprint_progress (buf, sizeof buf, 1, 15), buf,
          ".......... 1/15");
  expect (braid_snprint_progress (buf, sizeof buf, 3, 0), buf, " 3/0");
}

static void
test_lun_hcil (void **state)
{
  char buf[32];

  (void) state;
  expect (braid_snprint_lunhex (buf, sizeof buf, 1), buf,
          "0x0001000000000000");
  expect (braid_snprint_lunhex (buf, sizeof buf, 0x4001), buf,
          "0x4001000000000000");
  expect (braid_snprint_lunhex (buf, sizeof buf, BRAID_LUN_INVALID), buf,
          "0xffffffffffffffff");
  expect (braid_snprint_lunhex (buf, sizeof buf, UINT64_C (0x0000000200010000)),
          buf, "0x0000000100020000");
  expect (braid_snprint_hcil (buf, sizeof buf, 2, 0, 0, 1), buf, "2:0:0:1");
  expect (braid_snprint_hcil (buf, sizeof buf, -1, 0, 0, 1), buf, "#:#:#:#");
}

static void
test_map_fields (void **state)
{
  char buf[32];

  (void) state;
  expect (braid_snprint_map_sysfs (buf, sizeof buf, 3), buf, "dm-3");
  expect (braid_snprint_map_sysfs (buf, sizeof buf, -1), buf, "undef");
  expect (braid_snprint_write_prot (buf, sizeof buf, 0), buf, "rw");
  expect (braid_snprint_write_prot (buf, sizeof buf, 1), buf, "ro");
  expect (braid_snprint_write_prot (buf, sizeof buf, -1), buf, "undef");
  expect (braid_snprint_map_dm_state (buf, sizeof buf, 0), buf, "active");
  expect (braid_snprint_map_dm_state (buf, sizeof buf, 1), buf, "suspend");
  expect (braid_snprint_map_dm_state (buf, sizeof buf, -1), buf, "undef");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_size),
    cmocka_unit_test (test_queueing),
    cmocka_unit_test (test_failback),
    cmocka_unit_test (test_lun_hcil),
    cmocka_unit_test (test_map_fields),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
