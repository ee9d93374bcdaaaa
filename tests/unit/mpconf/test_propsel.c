/* test_propsel.c: effective settings and their sources
 * (braid_mpconf_resolve), after multipath-tools' tests/hwtable.c
 * expectations (reference §8.1) and propsel.c's precedence (§1.8):
 * device entries matched by regex, newest first and combined keyword by
 * keyword, conf.d after the main file, multipaths > overrides > devices >
 * defaults > built-in, protocol entries for the transport timeouts, and
 * the special cases (detect_prio, detect_checker, uid_attrs,
 * hardware_handler, features reconciliation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mpconf-testutil.h"

static struct braid_mpconf_settings s;

static void
resolve (const struct braid_mpconf *conf, const char *vendor,
         const char *product, const char *wwid)
{
  struct braid_mpconf_path_id id = { .vendor = vendor, .product = product,
                                     .wwid = wwid, .protocol = "scsi:iscsi",
                                     .devnode = "sdb", .tpgs = -1 };
  assert_int_equal (braid_mpconf_resolve (conf, &id, &s), 0);
}

static const char *
str (int setting)
{
  return s.v[setting].str;
}

static int
src (int setting)
{
  return s.v[setting].src;
}

static void
test_single_entry (void **state)
{
  struct braid_mpconf *c = tconf_from_text (
    "devices {\n\tdevice {\n\t\tvendor foo\n\t\tproduct bar\n"
    "\t\tprio emc\n\t}\n}\n");

  (void) state;
  resolve (c, "foo", "bar", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  assert_int_equal (src (BRAID_MPS_PRIO), BRAID_MPCONF_SRC_DEVICE);
  resolve (c, "foo", "baz", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "const");
  assert_int_equal (src (BRAID_MPS_PRIO), BRAID_MPCONF_SRC_BUILTIN);
  resolve (c, "boo", "bar", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "const");
  braid_mpconf_free (c);
}

static void
test_quoted_quotes_and_regex (void **state)
{
  struct braid_mpconf *c = tconf_from_text (
    "devices {\n"
    "\tdevice {\n\t\tvendor foo\n\t\tproduct \"\"\"bar\"\"\"\n"
    "\t\tprio emc\n\t}\n"
    "\tdevice {\n\t\tvendor \"^.oo\"\n\t\tproduct \"(bar|baz|ba\\.)$\"\n"
    "\t\tprio hds\n\t}\n"
    "}\n");

  (void) state;
  resolve (c, "foo", "\"bar\"", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  resolve (c, "foo", "bar", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "hds");
  resolve (c, "boo", "baz", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "hds");
  resolve (c, "foo", "BAR", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "const");
  resolve (c, "bboo", "bar", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "const");
  braid_mpconf_free (c);
}

/* A regex entry then a string entry (kv1, kv2): both apply to devices
 * matching both, the newer wins conflicts; with the order reversed across
 * files, the regex entry (newer) wins. */
static void
test_regex_and_string_entries (void **state)
{
  struct tconf t;
  struct braid_mpconf *c = NULL;

  (void) state;
  tconf_init (&t);
  tconf_write (&t, "multipath.conf",
               "devices {\n"
               "\tdevice {\n\t\tvendor \"sa[mn]e\"\n\t\tproduct \"^dev\"\n"
               "\t\tprio emc\n\t\tpath_checker hp_sw\n\t}\n"
               "\tdevice {\n\t\tvendor same\n\t\tproduct device\n"
               "\t\tprio hds\n\t\tfailback 12\n\t}\n"
               "}\n");
  assert_int_equal (tconf_load (&t, &c, NULL), 0);
  resolve (c, "same", "device", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "hds");
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "hp_sw");
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num, 12);
  resolve (c, "sane", "device", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num, BRAID_MPCONF_FAILBACK_MANUAL);
  braid_mpconf_free (c);

  tconf_write (&t, "multipath.conf",
               "devices {\n"
               "\tdevice {\n\t\tvendor same\n\t\tproduct device\n"
               "\t\tprio hds\n\t\tfailback 12\n\t}\n"
               "}\n");
  tconf_write (&t, "conf.d/x.conf",
               "devices {\n"
               "\tdevice {\n\t\tvendor \"sa[mn]e\"\n\t\tproduct \"^dev\"\n"
               "\t\tprio emc\n\t}\n"
               "}\n");
  assert_int_equal (tconf_load (&t, &c, NULL), 0);
  resolve (c, "same", "device", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num, 12);
  braid_mpconf_free (c);
  tconf_cleanup (&t);
}

/* Three files, foo/ba. then foo/bar then foo/barz: later files win, the
 * middle entry's uid_attribute also applies to foo:barz (unanchored). */
static void
test_three_files (void **state)
{
  struct tconf t;
  struct braid_mpconf *c = NULL;

  (void) state;
  tconf_init (&t);
  tconf_write (&t, "multipath.conf",
               "devices {\n\tdevice {\n\t\tvendor foo\n\t\tproduct ba.\n"
               "\t\tprio emc\n\t\tpath_checker hp_sw\n\t\tfailback 5\n"
               "\t}\n}\n");
  tconf_write (&t, "conf.d/1.conf",
               "devices {\n\tdevice {\n\t\tvendor foo\n\t\tproduct bar\n"
               "\t\tprio hds\n\t\tuid_attribute ID_FOO\n\t}\n}\n");
  tconf_write (&t, "conf.d/2.conf",
               "devices {\n\tdevice {\n\t\tvendor foo\n\t\tproduct barz\n"
               "\t\tprio rdac\n\t}\n}\n");
  assert_int_equal (tconf_load (&t, &c, NULL), 0);
  resolve (c, "foo", "barz", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "rdac");
  assert_string_equal (str (BRAID_MPS_UID_ATTRIBUTE), "ID_FOO");
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "hp_sw");
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num, 5);
  resolve (c, "foo", "bar", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "hds");
  resolve (c, "foo", "baz", NULL);
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  assert_string_equal (str (BRAID_MPS_UID_ATTRIBUTE), "ID_SERIAL");
  braid_mpconf_free (c);
  tconf_cleanup (&t);
}

static void
test_multipaths (void **state)
{
  struct tconf t;
  struct braid_mpconf *c = NULL;

  (void) state;
  tconf_init (&t);
  tconf_write (&t, "multipath.conf",
               "devices {\n\tdevice {\n\t\tvendor foo\n\t\tproduct bar\n"
               "\t\tprio emc\n\t\tno_path_retry queue\n\t}\n}\n"
               "multipaths {\n\tmultipath {\n\t\twwid W1\n\t\tprio rdac\n"
               "\t\trr_min_io_rq 99\n\t\talias first\n\t}\n}\n");
  tconf_write (&t, "conf.d/m.conf",
               "multipaths {\n\tmultipath {\n\t\twwid W1\n"
               "\t\tno_path_retry 37\n\t\talias second\n\t}\n}\n");
  assert_int_equal (tconf_load (&t, &c, NULL), 0);
  resolve (c, "foo", "bar", "W1");
  assert_string_equal (str (BRAID_MPS_PRIO), "rdac");
  assert_int_equal (src (BRAID_MPS_PRIO), BRAID_MPCONF_SRC_MULTIPATH);
  assert_int_equal (s.v[BRAID_MPS_RR_MIN_IO_RQ].num, 99);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, 37);
  assert_string_equal (str (BRAID_MPS_ALIAS), "second");
  resolve (c, "foo", "bar", "W2");
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, BRAID_MPCONF_NPR_QUEUE);
  assert_null (str (BRAID_MPS_ALIAS));
  assert_int_equal (src (BRAID_MPS_ALIAS), BRAID_MPCONF_SRC_UNSET);
  braid_mpconf_free (c);
  tconf_cleanup (&t);
}

static void
test_builtin_nvme (void **state)
{
  struct braid_mpconf *c = tconf_from_text ("");

  (void) state;
  resolve (c, "NVMe", "whatever", NULL);
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "none");
  assert_string_equal (str (BRAID_MPS_UID_ATTRIBUTE), "ID_WWN");
  assert_int_equal (s.v[BRAID_MPS_PATH_GROUPING_POLICY].num,
                    BRAID_MPCONF_PGP_GROUP_BY_PRIO);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].src, BRAID_MPCONF_SRC_UNSET);
  resolve (c, "NVME", "NetApp ONTAP Controller", NULL);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, BRAID_MPCONF_NPR_QUEUE);
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "none");
  /* LIO: (LIO-ORG|SUSE) / .* */
  resolve (c, "LIO-ORG", "IBLOCK", NULL);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, 12);
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num,
                    BRAID_MPCONF_FAILBACK_IMMEDIATE);
  braid_mpconf_free (c);
}

static void
test_levels (void **state)
{
  struct braid_mpconf_path_id id = { .vendor = "LIO-ORG", .product = "IBLOCK",
                                     .protocol = "scsi:iscsi",
                                     .devnode = "ip-x", .tpgs = -1 };
  struct braid_mpconf *c = tconf_from_text (
    "defaults {\n\tfast_io_fail_tmo 20\n\tdev_loss_tmo 60\n"
    "\tno_path_retry 3\n\tuid_attrs \"sd:ID_A ip-:ID_BRAID\"\n}\n"
    "overrides {\n\tfailback manual\n\tdev_loss_tmo 70\n"
    "\tprotocol {\n\t\ttype scsi:iscsi\n\t\tdev_loss_tmo 80\n\t}\n"
    "\tprotocol {\n\t\ttype scsi:fcp\n\t\teh_deadline 9\n\t}\n}\n");

  (void) state;
  assert_int_equal (braid_mpconf_resolve (c, &id, &s), 0);
  /* overrides beats the built-in LIO entry's failback immediate */
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num, BRAID_MPCONF_FAILBACK_MANUAL);
  assert_int_equal (src (BRAID_MPS_FAILBACK), BRAID_MPCONF_SRC_OVERRIDES);
  /* the device entry beats defaults */
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, 12);
  assert_int_equal (src (BRAID_MPS_NO_PATH_RETRY), BRAID_MPCONF_SRC_DEVICE);
  /* protocol beats overrides for the transport timeouts */
  assert_int_equal (s.v[BRAID_MPS_DEV_LOSS_TMO].num, 80);
  assert_int_equal (src (BRAID_MPS_DEV_LOSS_TMO), BRAID_MPCONF_SRC_PROTOCOL);
  assert_int_equal (s.v[BRAID_MPS_FAST_IO_FAIL_TMO].num, 20);
  assert_int_equal (src (BRAID_MPS_FAST_IO_FAIL_TMO),
                    BRAID_MPCONF_SRC_DEFAULTS);
  assert_int_equal (src (BRAID_MPS_EH_DEADLINE), BRAID_MPCONF_SRC_UNSET);
  /* uid_attrs picks by devnode prefix */
  assert_string_equal (str (BRAID_MPS_UID_ATTRIBUTE), "ID_BRAID");
  assert_int_equal (src (BRAID_MPS_UID_ATTRIBUTE), BRAID_MPCONF_SRC_UID_ATTRS);
  id.devnode = "sdc";
  assert_int_equal (braid_mpconf_resolve (c, &id, &s), 0);
  assert_string_equal (str (BRAID_MPS_UID_ATTRIBUTE), "ID_A");
  braid_mpconf_free (c);
}

static void
test_autodetect (void **state)
{
  struct braid_mpconf_path_id id = { .vendor = "ACME", .product = "X",
                                     .protocol = "scsi:iscsi", .tpgs = 1 };
  struct braid_mpconf *c = tconf_from_text (
    "devices {\n\tdevice {\n\t\tvendor ACME\n\t\tproduct Y\n"
    "\t\tdetect_prio no\n\t\tdetect_checker no\n\t\tprio emc\n"
    "\t\tprio_args foo\n\t\thardware_handler \"1 emc\"\n\t}\n}\n");
  char buf[64];

  (void) state;
  assert_int_equal (braid_mpconf_resolve (c, &id, &s), 0);
  assert_string_equal (str (BRAID_MPS_PRIO), "alua");
  assert_int_equal (src (BRAID_MPS_PRIO), BRAID_MPCONF_SRC_AUTODETECT);
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "tur");
  assert_string_equal (str (BRAID_MPS_HARDWARE_HANDLER), "1 alua");
  id.tpgs = 0;
  assert_int_equal (braid_mpconf_resolve (c, &id, &s), 0);
  assert_string_equal (str (BRAID_MPS_PRIO), "const");
  assert_string_equal (str (BRAID_MPS_HARDWARE_HANDLER), "0");
  id.rdac = 1;
  assert_int_equal (braid_mpconf_resolve (c, &id, &s), 0);
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "rdac");
  /* detection off in the device entry: its own values */
  id = (struct braid_mpconf_path_id) { .vendor = "ACME", .product = "Y",
                                       .tpgs = 1 };
  assert_int_equal (braid_mpconf_resolve (c, &id, &s), 0);
  assert_string_equal (str (BRAID_MPS_PRIO), "emc");
  assert_string_equal (str (BRAID_MPS_PRIO_ARGS), "foo");
  assert_string_equal (str (BRAID_MPS_PATH_CHECKER), "tur");
  assert_int_equal (src (BRAID_MPS_PATH_CHECKER), BRAID_MPCONF_SRC_BUILTIN);
  assert_string_equal (str (BRAID_MPS_HARDWARE_HANDLER), "1 emc");
  braid_mpconf_setting_format (&s, BRAID_MPS_DETECT_PRIO, buf, sizeof buf);
  assert_string_equal (buf, "no");
  braid_mpconf_free (c);
}

static void
test_features (void **state)
{
  struct braid_mpconf *c = tconf_from_text (
    "devices {\n"
    "\tdevice {\n\t\tvendor A\n\t\tproduct B\n"
    "\t\tfeatures \"2 queue_if_no_path pg_init_retries\"\n\t}\n"
    "\tdevice {\n\t\tvendor A\n\t\tproduct C\n"
    "\t\tfeatures \"1 queue_if_no_path\"\n\t\tno_path_retry fail\n\t}\n"
    "}\n");
  char buf[64];

  (void) state;
  resolve (c, "A", "B", NULL);
  assert_string_equal (str (BRAID_MPS_FEATURES), "1 pg_init_retries");
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, BRAID_MPCONF_NPR_QUEUE);
  assert_int_equal (src (BRAID_MPS_NO_PATH_RETRY), BRAID_MPCONF_SRC_FEATURES);
  braid_mpconf_setting_format (&s, BRAID_MPS_NO_PATH_RETRY, buf, sizeof buf);
  assert_string_equal (buf, "queue");
  resolve (c, "A", "C", NULL);
  assert_string_equal (str (BRAID_MPS_FEATURES), "0");
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, BRAID_MPCONF_NPR_FAIL);
  braid_mpconf_free (c);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_single_entry),
    cmocka_unit_test (test_quoted_quotes_and_regex),
    cmocka_unit_test (test_regex_and_string_entries),
    cmocka_unit_test (test_three_files),
    cmocka_unit_test (test_multipaths),
    cmocka_unit_test (test_builtin_nvme),
    cmocka_unit_test (test_levels),
    cmocka_unit_test (test_autodetect),
    cmocka_unit_test (test_features),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
