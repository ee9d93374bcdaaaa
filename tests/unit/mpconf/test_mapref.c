/* test_mapref.c: braid_map_ref_parse() and braid_map_ref_resolve(), the
 * one resolver every command that takes a map uses: aliases, WWIDs, the
 * udev by-id links and /dev/mapper names, with and without /dev/, and the
 * errors for what names no map. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpstate.h"

#define W1 "360000000000000000e00000000010001"
#define W2 "360000000000000000e00000000020001"

struct m {
  const char *name, *wwid;
};

/* The second map is named after its WWID (no user_friendly_names); the
 * third is named like the first map's WWID, to show aliases win. */
static const struct m maps[] = {
  { "mpatha", W1 },
  { W2, W2 },
  { W1 "x", "3600a" },
};

static void
get (const void *table, size_t i, const char **name, const char **wwid)
{
  const struct m *t = table;

  *name = t[i].name;
  *wwid = t[i].wwid;
}

#define R(ref) braid_map_ref_resolve ((ref), 3, get, maps)

static void
test_forms (void **state)
{
  (void) state;
  assert_int_equal (R ("mpatha"), 0);
  assert_int_equal (R (W1), 0);
  assert_int_equal (R ("disk/by-id/scsi-" W1), 0);
  assert_int_equal (R ("/dev/disk/by-id/scsi-" W1), 0);
  assert_int_equal (R ("/dev/disk/by-id/dm-uuid-mpath-" W1), 0);
  assert_int_equal (R ("disk/by-id/dm-name-mpatha"), 0);
  assert_int_equal (R ("/dev/mapper/mpatha"), 0);
  assert_int_equal (R ("mapper/mpatha"), 0);
  assert_int_equal (R (W2), 1);
  assert_int_equal (R ("/dev/mapper/" W2), 1);
  assert_int_equal (R ("/dev/disk/by-id/scsi-" W2), 1);
  assert_int_equal (R (W1 "x"), 2);
}

static void
test_kinds_are_strict (void **state)
{
  (void) state;
  /* by-id names a WWID, never an alias; mapper an alias, never a WWID. */
  assert_int_equal (R ("/dev/disk/by-id/scsi-mpatha"), -ENOENT);
  assert_int_equal (R ("/dev/mapper/" W1), -ENOENT);
  assert_int_equal (R ("disk/by-id/dm-name-" W1), -ENOENT);
  assert_int_equal (R ("/dev/disk/by-id/scsi-3600a"), 2);
  /* /dev/<alias> is no device-mapper name. */
  assert_int_equal (R ("/dev/mpatha"), -ENOENT);
  assert_int_equal (R ("mpathb"), -ENOENT);
  assert_int_equal (R ("MPATHA"), -ENOENT);
  assert_int_equal (R ("/dev/disk/by-id/scsi-"), -ENOENT);
}

static void
test_parse (void **state)
{
  const char *w = NULL;

  (void) state;
  assert_int_equal (braid_map_ref_parse ("/dev/disk/by-id/scsi-" W1, &w),
                    BRAID_MAP_REF_WWID);
  assert_string_equal (w, W1);
  assert_int_equal (braid_map_ref_parse ("/dev/mapper/db", &w),
                    BRAID_MAP_REF_NAME);
  assert_string_equal (w, "db");
  assert_int_equal (braid_map_ref_parse ("db", &w), BRAID_MAP_REF_ANY);
  assert_string_equal (w, "db");
  /* A bare prefix is taken whole. */
  assert_int_equal (braid_map_ref_parse ("/dev/mapper/", &w),
                    BRAID_MAP_REF_ANY);
  assert_string_equal (w, "/dev/mapper/");
}

static void
test_bad_args (void **state)
{
  const char *w;

  (void) state;
  assert_int_equal (R (NULL), -EINVAL);
  assert_int_equal (R (""), -EINVAL);
  assert_int_equal (braid_map_ref_resolve ("mpatha", 3, NULL, maps),
                    -EINVAL);
  assert_int_equal (braid_map_ref_resolve ("mpatha", 0, get, NULL),
                    -ENOENT);
  assert_int_equal (braid_map_ref_parse (NULL, &w), -EINVAL);
  assert_int_equal (braid_map_ref_parse ("x", NULL), -EINVAL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_forms),
    cmocka_unit_test (test_kinds_are_strict),
    cmocka_unit_test (test_parse),
    cmocka_unit_test (test_bad_args),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
