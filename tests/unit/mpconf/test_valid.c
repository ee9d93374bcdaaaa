/* test_valid.c: find_multipaths and multipath -u/-c (vectors §I,
 * reference §1.9): every row of the decision order, the released-to-
 * systemd rule, the smart wait with its stamp file and output lines, the
 * timeout selection, -i, and should_multipath(). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpstate.h"

static const enum braid_find_multipaths all_modes[] = {
  BRAID_FIND_MP_OFF, BRAID_FIND_MP_ON, BRAID_FIND_MP_GREEDY,
  BRAID_FIND_MP_SMART, BRAID_FIND_MP_STRICT,
};

/* A path that gets all the way to the wwids-file test. */
static struct braid_path_valid_input
plain (enum braid_find_multipaths fm)
{
  struct braid_path_valid_input in = { 0 };

  in.find_multipaths = fm;
  in.check_daemon = true;
  in.daemon_available = true;
  in.wwid = "360014051f8c5d3c1a3b4e5f6a7b8c9d0";
  return in;
}

static void
test_row1_invalid (void **state)
{
  struct braid_path_valid_input in = plain (BRAID_FIND_MP_UNDEF);

  (void) state;
  assert_int_equal (braid_path_is_valid (NULL), BRAID_PATH_IS_ERROR);
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_ERROR);
  in.find_multipaths = (enum braid_find_multipaths) 6;
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_ERROR);
}

static void
test_row2_member (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof all_modes / sizeof all_modes[0]; i++) {
    struct braid_path_valid_input in = plain (all_modes[i]);

    in.is_multipath_member = true;
    in.member_wwid = in.wwid;
    /* Decisive before anything else, even a blacklist hit. */
    in.daemon_available = false;
    in.pathinfo = 1;
    assert_int_equal (braid_path_is_valid (&in),
                      BRAID_PATH_IS_VALID_NO_CHECK);
    in.member_wwid = "";
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_ERROR);
  }
}

static void
test_row3_daemon (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof all_modes / sizeof all_modes[0]; i++) {
    struct braid_path_valid_input in = plain (all_modes[i]);

    in.in_wwids_file = true;
    in.daemon_available = false;
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
    /* -c (not udev) does not ask about the daemon. */
    in.check_daemon = false;
    assert_int_not_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
  }
}

static void
test_row4_pathinfo (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof all_modes / sizeof all_modes[0]; i++) {
    struct braid_path_valid_input in = plain (all_modes[i]);

    in.in_wwids_file = true;
    in.pathinfo = 1;    /* blacklisted, hidden, foreign, partition */
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
    in.pathinfo = -1;
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_ERROR);
    in.pathinfo = 0;
    in.wwid = "";
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
    in.wwid = NULL;
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
  }
}

static void
test_row5_failed (void **state)
{
  size_t i;

  (void) state;
  for (i = 0; i < sizeof all_modes / sizeof all_modes[0]; i++) {
    struct braid_path_valid_input in = plain (all_modes[i]);

    in.in_wwids_file = true;
    in.wwid_failed = 1;
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
    in.wwid_failed = -1;
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_ERROR);
  }
}

static void
test_rows6_to_10 (void **state)
{
  struct braid_path_valid_input in;
  size_t i;

  (void) state;
  /* greedy: valid, with or without the daemon check. */
  in = plain (BRAID_FIND_MP_GREEDY);
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_VALID);
  in.check_daemon = false;
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_VALID);

  for (i = 0; i < sizeof all_modes / sizeof all_modes[0]; i++) {
    if (all_modes[i] == BRAID_FIND_MP_GREEDY)
      continue;
    /* wwids file hit: valid, immune to "released". */
    in = plain (all_modes[i]);
    in.in_wwids_file = true;
    in.map_exists = true;
    assert_int_equal (braid_path_is_valid (&in),
                      BRAID_PATH_IS_VALID_NO_CHECK);
    /* a map with this WWID exists */
    in.in_wwids_file = false;
    assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_VALID);
    /* neither */
    in.map_exists = false;
    assert_int_equal (braid_path_is_valid (&in),
                      all_modes[i] == BRAID_FIND_MP_SMART
                        ? BRAID_PATH_IS_MAYBE_VALID
                        : BRAID_PATH_IS_NOT_VALID);
  }
}

static void
test_in_use_096 (void **state)
{
  struct braid_path_valid_input in;

  (void) state;
  in = plain (BRAID_FIND_MP_GREEDY);
  in.in_use = true;
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
  in = plain (BRAID_FIND_MP_SMART);
  in.in_use = true;
  in.in_wwids_file = true;
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_NOT_VALID);
  /* Only greedy and smart look at it. */
  in.find_multipaths = BRAID_FIND_MP_STRICT;
  assert_int_equal (braid_path_is_valid (&in), BRAID_PATH_IS_VALID_NO_CHECK);
}

static void
test_ignore_wwids (void **state)
{
  (void) state;
  assert_int_equal (braid_find_multipaths_ignore_wwids (BRAID_FIND_MP_STRICT),
                    BRAID_FIND_MP_SMART);
  assert_int_equal (braid_find_multipaths_ignore_wwids (BRAID_FIND_MP_ON),
                    BRAID_FIND_MP_SMART);
  assert_int_equal (braid_find_multipaths_ignore_wwids (BRAID_FIND_MP_OFF),
                    BRAID_FIND_MP_GREEDY);
  assert_int_equal (braid_find_multipaths_ignore_wwids (BRAID_FIND_MP_SMART),
                    BRAID_FIND_MP_SMART);
  assert_int_equal (braid_find_multipaths_ignore_wwids (BRAID_FIND_MP_GREEDY),
                    BRAID_FIND_MP_GREEDY);
}

static void
test_timeout_select (void **state)
{
  (void) state;
  assert_int_equal (braid_find_multipaths_timeout (0, true), 10);
  assert_int_equal (braid_find_multipaths_timeout (0, false), 1);
  assert_int_equal (braid_find_multipaths_timeout (-10, true), 10);
  assert_int_equal (braid_find_multipaths_timeout (-30, false), 1);
  assert_int_equal (braid_find_multipaths_timeout (7, false), 7);
  assert_int_equal (braid_find_multipaths_timeout (7, true), 7);
}

/* ---- check_path_valid / print_cmd_valid ---- */

static struct braid_path_check_input
chk (int valid)
{
  struct braid_path_check_input in = { 0 };

  in.valid = valid;
  in.npaths = 1;
  in.timeout = 10;
  in.now.tv_sec = 1000;
  in.now.tv_nsec = 250000000;
  return in;
}

static void
expect_out (const struct braid_path_check_result *r, const char *want)
{
  char buf[256];
  int n = braid_path_check_format (r, buf, sizeof buf);

  assert_int_equal (n, (int) strlen (want));
  assert_string_equal (buf, want);
}

static void
test_check_released (void **state)
{
  struct braid_path_check_input in;
  struct braid_path_check_result r;

  (void) state;
  /* Valid from a map or greedy: released devices stay released. */
  in = chk (BRAID_PATH_IS_VALID);
  in.released_to_systemd = true;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 0);
  assert_int_equal (r.exit_c, 1);
  expect_out (&r, "DM_MULTIPATH_DEVICE_PATH=\"0\"\n");
  /* wwids file or map member: claimed anyway. */
  in.valid = BRAID_PATH_IS_VALID_NO_CHECK;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 1);
  assert_int_equal (r.exit_c, 0);
  expect_out (&r, "DM_MULTIPATH_DEVICE_PATH=\"1\"\n");
  /* maybe: released too. */
  in.valid = BRAID_PATH_IS_MAYBE_VALID;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 0);
  assert_int_equal (r.wait, BRAID_WAIT_NONE);
  assert_false (r.create_stamp);
  /* Not released: plain valid. */
  in = chk (BRAID_PATH_IS_VALID);
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 1);
  in.valid = BRAID_PATH_IS_NOT_VALID;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 0);
  assert_int_equal (r.exit_c, 1);
}

static void
test_check_maybe (void **state)
{
  struct braid_path_check_input in;
  struct braid_path_check_result r;

  (void) state;
  /* First sight: stamp created at now + timeout, wait the full time. */
  in = chk (BRAID_PATH_IS_MAYBE_VALID);
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 2);
  assert_int_equal (r.exit_c, 0);
  assert_int_equal (r.wait, BRAID_WAIT_PENDING);
  assert_true (r.create_stamp);
  assert_int_equal (r.stamp.tv_sec, 1010);
  assert_int_equal (r.stamp.tv_nsec, 250000000);
  expect_out (&r, "FIND_MULTIPATHS_WAIT_UNTIL=\"10.000000\"\n"
                  "DM_MULTIPATH_DEVICE_PATH=\"2\"\n");

  /* Later: stamp exists, 3.5 s left. */
  in.stamp_exists = true;
  in.stamp.tv_sec = 1003;
  in.stamp.tv_nsec = 750000000;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_false (r.create_stamp);
  assert_int_equal (r.device_path, 2);
  expect_out (&r, "FIND_MULTIPATHS_WAIT_UNTIL=\"3.500000\"\n"
                  "DM_MULTIPATH_DEVICE_PATH=\"2\"\n");

  /* Less than a second left counts as over. */
  in.stamp.tv_sec = 1001;
  in.stamp.tv_nsec = 0;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 0);
  assert_int_equal (r.exit_c, 1);
  expect_out (&r, "FIND_MULTIPATHS_WAIT_UNTIL=\"0\"\n"
                  "DM_MULTIPATH_DEVICE_PATH=\"0\"\n");

  /* Expired long ago. */
  in.stamp.tv_sec = 500;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 0);
  assert_int_equal (r.wait, BRAID_WAIT_DONE);

  /* A second path appeared: valid; an old stamp is still reported. */
  in = chk (BRAID_PATH_IS_MAYBE_VALID);
  in.npaths = 2;
  assert_int_equal (braid_path_check (&in, &r), 0);
  assert_int_equal (r.device_path, 1);
  assert_false (r.create_stamp);
  expect_out (&r, "DM_MULTIPATH_DEVICE_PATH=\"1\"\n");
  in.stamp_exists = true;
  in.stamp.tv_sec = 1005;
  in.stamp.tv_nsec = 250000000;
  assert_int_equal (braid_path_check (&in, &r), 0);
  expect_out (&r, "FIND_MULTIPATHS_WAIT_UNTIL=\"5.000000\"\n"
                  "DM_MULTIPATH_DEVICE_PATH=\"1\"\n");

  /* Device in use (O_EXCL failed): not claimed, no wait line ... */
  in = chk (BRAID_PATH_IS_MAYBE_VALID);
  in.open_excl_failed = true;
  assert_int_equal (braid_path_check (&in, &r), 0);
  expect_out (&r, "DM_MULTIPATH_DEVICE_PATH=\"0\"\n");
  /* ... unless multipathd took it meanwhile. */
  in.became_member = true;
  assert_int_equal (braid_path_check (&in, &r), 0);
  expect_out (&r, "DM_MULTIPATH_DEVICE_PATH=\"1\"\n");

  /* No timeout and no stamp: never waited, not valid. */
  in = chk (BRAID_PATH_IS_MAYBE_VALID);
  in.timeout = 0;
  assert_int_equal (braid_path_check (&in, &r), 0);
  expect_out (&r, "DM_MULTIPATH_DEVICE_PATH=\"0\"\n");
}

static void
test_check_bad (void **state)
{
  struct braid_path_check_input in = chk (BRAID_PATH_IS_ERROR);
  struct braid_path_check_result r;
  char small[8];

  (void) state;
  assert_int_equal (braid_path_check (&in, &r), -EINVAL);
  assert_int_equal (braid_path_check (NULL, &r), -EINVAL);
  in.valid = BRAID_PATH_IS_VALID;
  assert_int_equal (braid_path_check (&in, NULL), -EINVAL);
  assert_int_equal (braid_path_check (&in, &r), 0);
  /* snprintf semantics: the needed length, truncated output. */
  assert_int_equal (braid_path_check_format (&r, small, sizeof small), 29);
  assert_string_equal (small, "DM_MULT");
  assert_int_equal (braid_path_check_format (&r, NULL, 0), 29);
}

static void
test_should_multipath (void **state)
{
  (void) state;
  /* off and greedy: every non-blacklisted path. */
  assert_true (braid_should_multipath (BRAID_FIND_MP_OFF, false, 0, false));
  assert_true (braid_should_multipath (BRAID_FIND_MP_GREEDY, false, 0,
                                       false));
  /* on and smart: a map, another path, or the wwids file. */
  assert_false (braid_should_multipath (BRAID_FIND_MP_ON, false, 0, false));
  assert_true (braid_should_multipath (BRAID_FIND_MP_ON, true, 0, false));
  assert_true (braid_should_multipath (BRAID_FIND_MP_ON, false, 1, false));
  assert_true (braid_should_multipath (BRAID_FIND_MP_SMART, false, 0, true));
  assert_false (braid_should_multipath (BRAID_FIND_MP_SMART, false, 0,
                                        false));
  /* strict: the wwids file only. */
  assert_false (braid_should_multipath (BRAID_FIND_MP_STRICT, true, 3,
                                        false));
  assert_true (braid_should_multipath (BRAID_FIND_MP_STRICT, false, 0,
                                       true));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_row1_invalid),
    cmocka_unit_test (test_row2_member),
    cmocka_unit_test (test_row3_daemon),
    cmocka_unit_test (test_row4_pathinfo),
    cmocka_unit_test (test_row5_failed),
    cmocka_unit_test (test_rows6_to_10),
    cmocka_unit_test (test_in_use_096),
    cmocka_unit_test (test_ignore_wwids),
    cmocka_unit_test (test_timeout_select),
    cmocka_unit_test (test_check_released),
    cmocka_unit_test (test_check_maybe),
    cmocka_unit_test (test_check_bad),
    cmocka_unit_test (test_should_multipath),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
