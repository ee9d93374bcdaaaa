/* test_blacklist.c: braid_mpconf_blacklisted against multipath-tools'
 * tests/blacklist.c (VECTORS §C): each criterion with plain, inverted
 * ('!') and catch-all entries, exceptions first, the property rule with
 * its "udev property missing" case, the filter_path order, the built-in
 * entries, and braid path names.
 *
 * The vector tables assume nothing but the lists they name, so each case
 * starts from a configuration whose lists were emptied (the built-in
 * entries are tested separately at the end).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mpconf-testutil.h"
#include "mpconf/mpconf-internal.h"

static struct braid_mpconf *conf;

static void
clear_lists (void)
{
  struct mpc_blist *bls[] = { &conf->bl, &conf->ble };

  for (int b = 0; b < 2; b++)
    for (int l = 0; l < MPC_BL__COUNT; l++)
      {
        for (size_t i = 0; i < bls[b]->l[l].n; i++)
          mpc_blentry_free (bls[b]->l[l].v[i]);
        bls[b]->l[l].n = 0;
      }
}

static int
setup (void **state)
{
  (void) state;
  conf = tconf_from_text ("");
  clear_lists ();
  return 0;
}

static int
teardown (void **state)
{
  (void) state;
  braid_mpconf_free (conf);
  return 0;
}

/* add(exception?, list, regex[, product regex for devices]) */
static void
add (bool exc, int list, const char *re, const char *product)
{
  struct mpc_blentry *e = calloc (1, sizeof *e);
  struct mpc_blist *bl = exc ? &conf->ble : &conf->bl;

  assert_non_null (e);
  if (list == MPC_BL_DEVICE)
    {
      if (re)
        assert_int_equal (mpc_regex_set (&e->vendor, re), 0);
      if (product)
        assert_int_equal (mpc_regex_set (&e->product, product), 0);
    }
  else
    assert_int_equal (mpc_regex_set (&e->r, re), 0);
  assert_int_equal (mpc_vec_push (&bl->l[list], e), 0);
}

static int
check (const struct braid_mpconf_path_id *id)
{
  char why[256];
  return braid_mpconf_blacklisted (conf, id, why, sizeof why);
}

static int
devnode (const char *dev)
{
  struct braid_mpconf_path_id id = { .devnode = dev };
  return check (&id);
}

static int
device (const char *vendor, const char *product)
{
  struct braid_mpconf_path_id id = { .devnode = "sdb", .vendor = vendor,
                                     .product = product };
  return check (&id);
}

static int
wwid (const char *w)
{
  struct braid_mpconf_path_id id = { .devnode = "sdb", .wwid = w };
  return check (&id);
}

static int
protocol (const char *p)
{
  struct braid_mpconf_path_id id = { .devnode = "sdb", .protocol = p };
  return check (&id);
}

#define BL(x) (x)
#define WL(x) (-(x))

static void
test_devnode (void **state)
{
  (void) state;
  add (false, MPC_BL_DEVNODE, "sdb", NULL);
  assert_int_equal (devnode ("sdb"), BL (BRAID_MPCONF_BL_DEVNODE));
  assert_int_equal (devnode ("sdc"), 0);
  clear_lists ();
  add (false, MPC_BL_DEVNODE, "!sdb", NULL);
  assert_int_equal (devnode ("sdb"), 0);
  assert_int_equal (devnode ("sdc"), BL (BRAID_MPCONF_BL_DEVNODE));
  clear_lists ();
  add (false, MPC_BL_DEVNODE, ".*", NULL);
  add (true, MPC_BL_DEVNODE, "sdb", NULL);
  /* whitelisted for devnode, then nothing else decides: 0 (wwid) */
  assert_int_equal (devnode ("sdb"), 0);
  assert_int_equal (devnode ("sdc"), BL (BRAID_MPCONF_BL_DEVNODE));
}

static void
test_device (void **state)
{
  (void) state;
  add (false, MPC_BL_DEVICE, "foo", "bar");
  assert_int_equal (device ("foo", "bar"), BL (BRAID_MPCONF_BL_DEVICE));
  assert_int_equal (device ("foo", "baz"), 0);
  clear_lists ();
  add (false, MPC_BL_DEVICE, "!foo", "bar");
  assert_int_equal (device ("foo", "bar"), 0);
  assert_int_equal (device ("baz", "bar"), BL (BRAID_MPCONF_BL_DEVICE));
  clear_lists ();
  add (false, MPC_BL_DEVICE, "foo", "!bar");
  assert_int_equal (device ("foo", "bar"), 0);
  assert_int_equal (device ("foo", "baz"), BL (BRAID_MPCONF_BL_DEVICE));
  clear_lists ();
  add (false, MPC_BL_DEVICE, ".*", ".*");
  add (true, MPC_BL_DEVICE, "foo", "bar");
  assert_int_equal (device ("foo", "bar"), 0);
  assert_int_equal (device ("foo", "baz"), BL (BRAID_MPCONF_BL_DEVICE));
  clear_lists ();
  /* a vendor-only entry matches any product */
  add (false, MPC_BL_DEVICE, "foo", NULL);
  assert_int_equal (device ("foo", "anything"), BL (BRAID_MPCONF_BL_DEVICE));
}

static void
test_wwid_protocol (void **state)
{
  (void) state;
  add (false, MPC_BL_WWID, "xyzzy", NULL);
  assert_int_equal (wwid ("xyzzy"), BL (BRAID_MPCONF_BL_WWID));
  assert_int_equal (wwid ("plugh"), 0);
  /* unanchored: blacklisting X also blacklists X1 */
  assert_int_equal (wwid ("xyzzy1"), BL (BRAID_MPCONF_BL_WWID));
  clear_lists ();
  add (false, MPC_BL_WWID, "!xyzzy", NULL);
  assert_int_equal (wwid ("xyzzy"), 0);
  assert_int_equal (wwid ("plugh"), BL (BRAID_MPCONF_BL_WWID));
  clear_lists ();
  add (false, MPC_BL_WWID, ".*", NULL);
  add (true, MPC_BL_WWID, "xyzzy", NULL);
  assert_int_equal (wwid ("xyzzy"), WL (BRAID_MPCONF_BL_WWID));
  assert_int_equal (wwid ("plugh"), BL (BRAID_MPCONF_BL_WWID));
  clear_lists ();

  add (false, MPC_BL_PROTOCOL, "scsi:fcp", NULL);
  assert_int_equal (protocol ("scsi:fcp"), BL (BRAID_MPCONF_BL_PROTOCOL));
  assert_int_equal (protocol ("scsi:iscsi"), 0);
  clear_lists ();
  add (false, MPC_BL_PROTOCOL, "!scsi:fcp", NULL);
  assert_int_equal (protocol ("scsi:fcp"), 0);
  assert_int_equal (protocol ("scsi:ata"), BL (BRAID_MPCONF_BL_PROTOCOL));
  clear_lists ();
  add (false, MPC_BL_PROTOCOL, ".*", NULL);
  add (true, MPC_BL_PROTOCOL, "scsi:fcp", NULL);
  assert_int_equal (protocol ("scsi:fcp"), 0);
  assert_int_equal (protocol ("scsi:iscsi"), BL (BRAID_MPCONF_BL_PROTOCOL));
}

static int
props (const char *const *p, const char *uid_attr, char *why, size_t len)
{
  struct braid_mpconf_path_id id = { .devnode = "sdb", .properties = p };

  mpc_val_clear (&conf->def.v[KW_UID_ATTRIBUTE]);
  if (uid_attr)
    {
      conf->def.v[KW_UID_ATTRIBUTE].s = strdup (uid_attr);
      conf->def.v[KW_UID_ATTRIBUTE].set = true;
    }
  return braid_mpconf_blacklisted (conf, &id, why, len);
}

static void
test_property (void **state)
{
  static const char *const p1[] = { "ID_FOO=1", "ID_WWN=2", "ID_BAR=3",
                                    NULL };
  static const char *const p2[] = { "ID_WWN=2", NULL };
  static const char *const p3[] = { "ID_FOO=1", "ID_BAZ=1", "ID_BAR=3",
                                    "ID_SERIAL=4", NULL };
  char why[256];

  (void) state;
  add (false, MPC_BL_PROPERTY, "ID_WWN", NULL);
  assert_int_equal (props (p1, "ID_SERIAL", why, sizeof why),
                    BL (BRAID_MPCONF_BL_PROPERTY));
  assert_string_equal (why, "sdb: udev property ID_WWN blacklisted");
  /* uid attribute present, nothing matched: "property missing" */
  assert_int_equal (props (p3, "ID_SERIAL", why, sizeof why),
                    BL (BRAID_MPCONF_BL_PROPERTY_MISSING));
  assert_string_equal (why, "sdb: blacklisted, udev property missing");
  assert_int_equal (props (p3, "ID_BLAH", why, sizeof why), 0);
  assert_int_equal (props (p3, "", why, sizeof why), 0);
  clear_lists ();

  add (false, MPC_BL_PROPERTY, "!ID_WWN", NULL);
  assert_int_equal (props (p1, "ID_SERIAL", why, sizeof why),
                    BL (BRAID_MPCONF_BL_PROPERTY));
  assert_string_equal (why, "sdb: udev property ID_FOO blacklisted");
  assert_int_equal (props (p2, "ID_SERIAL", why, sizeof why), 0);
  clear_lists ();

  add (true, MPC_BL_PROPERTY, "ID_WWN", NULL);
  assert_int_equal (props (p1, "ID_SERIAL", why, sizeof why), 0);
}

/* filter_path: property, devnode, device, protocol, wwid, first BL wins */
static void
test_filter_path (void **state)
{
  static const char *const p1[] = { "ID_FOO=1", "ID_WWN=2", "ID_BAR=3",
                                    NULL };
  static const char *const p3[] = { "ID_FOO=1", "ID_BAZ=1", "ID_BAR=3",
                                    "ID_SERIAL=4", NULL };
  struct braid_mpconf_path_id path = {
    .devnode = "sdb", .protocol = "scsi:fcp", .vendor = "foo",
    .product = "bar", .wwid = "xyzzy", .properties = p1,
  };
  struct braid_mpconf_path_id other = {
    .devnode = "sdc", .protocol = "scsi:iscsi", .vendor = "foo",
    .product = "baz", .wwid = "plugh", .properties = p3,
  };
  static const int lists[] = { MPC_BL_PROPERTY, MPC_BL_DEVNODE,
                               MPC_BL_DEVICE, MPC_BL_PROTOCOL, MPC_BL_WWID };
  static const int codes[] = { BRAID_MPCONF_BL_PROPERTY,
                               BRAID_MPCONF_BL_DEVNODE,
                               BRAID_MPCONF_BL_DEVICE,
                               BRAID_MPCONF_BL_PROTOCOL,
                               BRAID_MPCONF_BL_WWID };
  static const char *const res[] = { "ID_WWN", "sdb", "foo", "scsi:fcp",
                                     "xyzzy" };

  (void) state;
  mpc_val_clear (&conf->def.v[KW_UID_ATTRIBUTE]);
  /* one criterion blacklisted, the other four excepted */
  for (int b = 0; b < 5; b++)
    {
      clear_lists ();
      for (int l = 0; l < 5; l++)
        add (l != b, lists[l], res[l], lists[l] == MPC_BL_DEVICE ? "bar"
                                                                 : NULL);
      assert_int_equal (check (&path), codes[b]);
    }
  /* all excepted: the wwid exception decides */
  clear_lists ();
  for (int l = 0; l < 5; l++)
    add (true, lists[l], res[l], lists[l] == MPC_BL_DEVICE ? "bar" : NULL);
  assert_int_equal (check (&path), WL (BRAID_MPCONF_BL_WWID));

  /* all blacklisted, a path matching none but having its uid attribute
   * (ID_SERIAL, the default): property missing */
  clear_lists ();
  for (int l = 0; l < 5; l++)
    add (false, lists[l], res[l], lists[l] == MPC_BL_DEVICE ? "bar" : NULL);
  assert_int_equal (check (&other), BRAID_MPCONF_BL_PROPERTY_MISSING);
  /* property excepted instead: nothing */
  clear_lists ();
  add (true, MPC_BL_PROPERTY, "ID_WWN", NULL);
  for (int l = 1; l < 5; l++)
    add (false, lists[l], res[l], lists[l] == MPC_BL_DEVICE ? "bar" : NULL);
  other.properties = p1;
  assert_int_equal (check (&other), 0);
}

/* The built-in entries: devnode rule, exception property, product
 * blacklists of the hardware table; braid path names. */
static void
test_builtin (void **state)
{
  static const char *const scsi[] = { "SCSI_IDENT_LUN_NAA_REGEXT=6001",
                                      "ID_SERIAL=36001", NULL };
  static const char *const usb[] = { "ID_SERIAL=Kingston", NULL };
  struct braid_mpconf *c = tconf_from_text ("");
  struct braid_mpconf_path_id id = { .properties = scsi };
  char why[256];

  (void) state;
  id.devnode = "sdaa";
  assert_true (braid_mpconf_blacklisted (c, &id, why, sizeof why) <= 0);
  id.devnode = "nvme0n1";
  assert_true (braid_mpconf_blacklisted (c, &id, why, sizeof why) <= 0);
  id.devnode = "dasda";
  assert_true (braid_mpconf_blacklisted (c, &id, why, sizeof why) <= 0);
  id.devnode = "hda";
  assert_int_equal (braid_mpconf_blacklisted (c, &id, why, sizeof why),
                    BRAID_MPCONF_BL_DEVNODE);
  assert_string_equal (why, "hda: device node name hda blacklisted");

  /* a braid path name passes the built-in devnode rule */
  id.devnode = "ip-127.0.0.1:3260-iscsi-iqn.2024-01.test.lab:tgt1-lun-1";
  assert_int_equal (braid_mpconf_blacklisted (c, &id, why, sizeof why),
                    BRAID_MPCONF_BL_DEVNODE);
  id.flags = BRAID_MPCONF_PATH_BRAID;
  assert_true (braid_mpconf_blacklisted (c, &id, why, sizeof why) <= 0);

  /* product_blacklist of the built-in RDAC entries */
  id.vendor = "DELL";
  id.product = "Universal Xport";
  assert_int_equal (braid_mpconf_blacklisted (c, &id, why, sizeof why),
                    BRAID_MPCONF_BL_DEVICE);
  assert_string_equal (why, "ip-127.0.0.1:3260-iscsi-iqn.2024-01.test.lab:"
                            "tgt1-lun-1: (DELL:Universal Xport) "
                            "vendor/product blacklisted");
  id.product = "MD3800i";
  assert_true (braid_mpconf_blacklisted (c, &id, why, sizeof why) <= 0);

  /* no SCSI_IDENT_ / ID_WWN property but an ID_SERIAL: excluded */
  id.properties = usb;
  assert_int_equal (braid_mpconf_blacklisted (c, &id, why, sizeof why),
                    BRAID_MPCONF_BL_PROPERTY_MISSING);
  braid_mpconf_free (c);

  /* config-file devnode rules do apply to braid path names */
  c = tconf_from_text ("blacklist {\n\tdevnode \"^ip-10\\.0\\.0\\.5:\"\n}\n");
  id.properties = scsi;
  id.devnode = "ip-10.0.0.5:3260-iscsi-iqn.x:t-lun-0";
  assert_int_equal (braid_mpconf_blacklisted (c, &id, NULL, 0),
                    BRAID_MPCONF_BL_DEVNODE);
  id.devnode = "ip-10.0.0.6:3260-iscsi-iqn.x:t-lun-0";
  assert_true (braid_mpconf_blacklisted (c, &id, NULL, 0) <= 0);
  braid_mpconf_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_devnode, setup, teardown),
    cmocka_unit_test_setup_teardown (test_device, setup, teardown),
    cmocka_unit_test_setup_teardown (test_wwid_protocol, setup, teardown),
    cmocka_unit_test_setup_teardown (test_property, setup, teardown),
    cmocka_unit_test_setup_teardown (test_filter_path, setup, teardown),
    cmocka_unit_test (test_builtin),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
