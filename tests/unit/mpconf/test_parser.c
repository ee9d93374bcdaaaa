/* test_parser.c: whole files through braid_mpconf_load.
 *
 * Diagnostics (text, file, line, level), refused configurations (the
 * caller gets no object and a message naming file and line), the value
 * rules of 0.9.4 that matter to the engine (clamping, 0 meaning unset,
 * polling interval derivation), conf.d ordering and precedence, and the
 * sections' structure quirks.  The byte-exact comparison with
 * multipath-tools is the integration test test-4001-mpconf-oracle; these
 * cases pin the API behaviour around it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mpconf-testutil.h"

/* Effective settings of an anonymous iSCSI path. */
static void
resolve_any (const struct braid_mpconf *conf, struct braid_mpconf_settings *s)
{
  struct braid_mpconf_path_id id = { .protocol = "scsi:iscsi", .tpgs = -1 };
  assert_int_equal (braid_mpconf_resolve (conf, &id, s), 0);
}

static void
test_missing_files (void **state)
{
  struct braid_mpconf_load_args a = {
    .config_file = "/nonexistent/multipath.conf",
    .config_dir = "/nonexistent/conf.d",
  };
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  struct braid_mpconf_settings s;

  (void) state;
  assert_int_equal (braid_mpconf_load (&a, &conf, &d), 0);
  assert_non_null (conf);
  assert_int_equal (braid_mpconf_diags_count (d), 0);
  resolve_any (conf, &s);
  assert_int_equal (s.v[BRAID_MPS_POLLING_INTERVAL].num, 5);
  assert_int_equal (s.v[BRAID_MPS_MAX_POLLING_INTERVAL].num, 20);
  assert_int_equal (s.v[BRAID_MPS_FIND_MULTIPATHS].num,
                    BRAID_MPCONF_FIND_STRICT);
  assert_int_equal (s.v[BRAID_MPS_FIND_MULTIPATHS].src,
                    BRAID_MPCONF_SRC_BUILTIN);
  braid_mpconf_free (conf);
  braid_mpconf_diags_free (d);
  assert_int_equal (braid_mpconf_builtin_hwtable_size (), 123);
}

static void
test_diagnostics (void **state)
{
  struct tconf t;
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  const struct braid_mpconf_diag *g;
  char expect[512], line[1024];

  (void) state;
  tconf_init (&t);
  tconf_write (&t, "multipath.conf",
               "defaults {\n"
               "\tbogus 1\n"
               "\tverbosity 9\n"
               "\tuser_friendly_names maybe\n"
               "}\n"
               "multipaths {\n"
               "\tmultipath {\n"
               "\t\talias x\n"
               "\t}\n"
               "}\n");
  assert_int_equal (tconf_load (&t, &conf, &d), 0);
  assert_int_equal (braid_mpconf_diags_count (d), 4);

  g = braid_mpconf_diags_get (d, 0);
  snprintf (expect, sizeof expect,
            "%s line 2, invalid keyword in the defaults section: bogus",
            t.main);
  assert_string_equal (g->text, expect);
  assert_string_equal (g->file, t.main);
  assert_int_equal (g->line, 2);
  assert_true (g->text_has_location);

  g = braid_mpconf_diags_get (d, 1);
  snprintf (expect, sizeof expect,
            "%s line 3, value for verbosity too large, capping at 4", t.main);
  assert_string_equal (g->text, expect);

  g = braid_mpconf_diags_get (d, 2);
  assert_int_equal (g->line, 4);
  assert_int_equal (g->level, BRAID_LOG_WARNING);

  /* post-parse messages do not name their line; braid appends it */
  g = braid_mpconf_diags_get (d, 3);
  assert_string_equal (g->text, "multipaths config section missing wwid");
  assert_false (g->text_has_location);
  assert_int_equal (g->line, 7);
  braid_mpconf_diag_format (g, line, sizeof line);
  snprintf (expect, sizeof expect,
            "multipaths config section missing wwid [%s:7]", t.main);
  assert_string_equal (line, expect);

  braid_mpconf_free (conf);
  braid_mpconf_diags_free (d);
  tconf_cleanup (&t);
}

static int log_calls;

static void
count_log (void *opaque, int level, const char *msg)
{
  (void) opaque;
  (void) level;
  (void) msg;
  log_calls++;
}

static void
test_fatal_keeps_nothing (void **state)
{
  struct tconf t;
  struct braid_mpconf *conf = (struct braid_mpconf *) 1;
  struct braid_mpconf_diags *d = NULL;
  struct braid_mpconf_load_args a;
  char expect[512];

  (void) state;
  tconf_init (&t);
  tconf_write (&t, "multipath.conf",
               "blacklist {\n"
               "\tdevnode \"^sd[a-\"\n"
               "}\n"
               "bogus\n");
  a = (struct braid_mpconf_load_args) { .config_file = t.main,
                                        .config_dir = t.confd,
                                        .log = count_log };
  log_calls = 0;
  assert_int_equal (braid_mpconf_load (&a, &conf, &d), -EINVAL);
  assert_null (conf);
  snprintf (expect, sizeof expect,
            "%s line 2, parsing failed: \tdevnode \"^sd[a-\"", t.main);
  assert_string_equal (braid_mpconf_diags_get (d, 0)->text, expect);
  assert_int_equal (braid_mpconf_diags_get (d, 0)->level, BRAID_LOG_ERR);
  assert_true (tconf_has_diag (d, "missing value for option 'bogus'"));
  assert_true (tconf_has_diag (d, "error parsing config file"));
  assert_int_equal ((size_t) log_calls, braid_mpconf_diags_count (d));
  braid_mpconf_diags_free (d);

  /* the same error in a drop-in is only logged */
  tconf_write (&t, "multipath.conf", "defaults {\n}\n");
  tconf_write (&t, "conf.d/a.conf", "defaults {\n\treservation_key xyz\n}\n");
  assert_int_equal (tconf_load (&t, &conf, &d), 0);
  assert_non_null (conf);
  assert_true (tconf_has_diag (d, "parsing failed:"));
  braid_mpconf_free (conf);
  braid_mpconf_diags_free (d);

  /* a bad reservation key in the main file */
  tconf_write (&t, "multipath.conf", "defaults {\n\treservation_key 0\n}\n");
  assert_int_equal (tconf_load (&t, &conf, &d), -EINVAL);
  assert_null (conf);
  braid_mpconf_diags_free (d);
  tconf_cleanup (&t);
}

static void
test_values (void **state)
{
  struct braid_mpconf_settings s;
  struct braid_mpconf *conf = tconf_from_text (
    "defaults {\n"
    "\tpolling_interval 3\n"
    "\tfailback 0\n"             /* 0 = unset: the built-in manual */
    "\trr_min_io_rq 0\n"         /* unset */
    "\tno_path_retry 0\n"        /* 0 = fail */
    "\tfast_io_fail_tmo -3\n"    /* clamped to 1 */
    "\tdev_loss_tmo infinity\n"
    "\tghost_delay 0\n"          /* no */
    "\tfind_multipaths yes\n"    /* on */
    "\tpath_grouping_policy group_by_prioXYZ\n"  /* prefix match */
    "\tuser_friendly_names yes\n"
    "\tmode 640\n"
    "}\n");

  (void) state;
  resolve_any (conf, &s);
  assert_int_equal (s.v[BRAID_MPS_POLLING_INTERVAL].num, 3);
  assert_int_equal (s.v[BRAID_MPS_MAX_POLLING_INTERVAL].num, 12);
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].num, BRAID_MPCONF_FAILBACK_MANUAL);
  assert_int_equal (s.v[BRAID_MPS_FAILBACK].src, BRAID_MPCONF_SRC_BUILTIN);
  assert_int_equal (s.v[BRAID_MPS_RR_MIN_IO_RQ].num, 1);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].num, BRAID_MPCONF_NPR_FAIL);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].src,
                    BRAID_MPCONF_SRC_DEFAULTS);
  assert_int_equal (s.v[BRAID_MPS_FAST_IO_FAIL_TMO].num, 1);
  assert_int_equal (s.v[BRAID_MPS_DEV_LOSS_TMO].num, 4294967295LL);
  assert_int_equal (s.v[BRAID_MPS_GHOST_DELAY].num, 0);
  assert_int_equal (s.v[BRAID_MPS_GHOST_DELAY].src, BRAID_MPCONF_SRC_DEFAULTS);
  assert_int_equal (s.v[BRAID_MPS_FIND_MULTIPATHS].num, BRAID_MPCONF_FIND_ON);
  assert_int_equal (s.v[BRAID_MPS_PATH_GROUPING_POLICY].num,
                    BRAID_MPCONF_PGP_GROUP_BY_PRIO);
  assert_int_equal (s.v[BRAID_MPS_USER_FRIENDLY_NAMES].num, 1);
  assert_int_equal (s.v[BRAID_MPS_MODE].num, 0640);
  assert_int_equal (s.v[BRAID_MPS_UID].num, -1);
  braid_mpconf_free (conf);

  /* only max_polling_interval: polling_interval is a quarter of it */
  conf = tconf_from_text ("defaults {\n\tmax_polling_interval 10\n}\n");
  resolve_any (conf, &s);
  assert_int_equal (s.v[BRAID_MPS_POLLING_INTERVAL].num, 2);
  assert_int_equal (s.v[BRAID_MPS_MAX_POLLING_INTERVAL].num, 10);
  braid_mpconf_free (conf);
}

static void
test_confd_order (void **state)
{
  struct tconf t;
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  struct braid_mpconf_settings s;

  (void) state;
  tconf_init (&t);
  tconf_write (&t, "multipath.conf",
               "defaults {\n\talias_prefix main\n\tprio emc\n}\n");
  tconf_write (&t, "conf.d/20-b.conf", "defaults {\n\talias_prefix b\n}\n");
  tconf_write (&t, "conf.d/10-a.conf",
               "defaults {\n\talias_prefix a\n\tprio rdac\n}\n");
  tconf_write (&t, "conf.d/30-c.conf.bak", "defaults {\n\talias_prefix c\n}\n");
  tconf_write (&t, "conf.d/40.cfg", "defaults {\n\talias_prefix d\n}\n");
  assert_int_equal (tconf_load (&t, &conf, &d), 0);
  resolve_any (conf, &s);
  assert_string_equal (s.v[BRAID_MPS_ALIAS_PREFIX].str, "b");
  assert_string_equal (s.v[BRAID_MPS_PRIO].str, "rdac");
  assert_int_equal (s.v[BRAID_MPS_PRIO].src, BRAID_MPCONF_SRC_DEFAULTS);
  assert_int_equal (braid_mpconf_diags_count (d), 0);
  braid_mpconf_free (conf);
  braid_mpconf_diags_free (d);
  tconf_cleanup (&t);
}

static void
test_structure (void **state)
{
  struct tconf t;
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  struct braid_mpconf_settings s;
  char expect[512];

  (void) state;
  tconf_init (&t);
  /* '{' on the next line still opens the section; an unknown subsection's
   * '}' closes the enclosing one; a missing final '}' is reported */
  tconf_write (&t, "multipath.conf",
               "defaults\n"
               "{\n"
               "\tuser_friendly_names yes\n"
               "}\n"
               "overrides {\n"
               "\tdevice {\n"
               "\t}\n"
               "\tno_path_retry queue\n"
               "}\n"
               "multipaths {\n"
               "\tmultipath {\n"
               "\t\twwid w\n");
  assert_int_equal (tconf_load (&t, &conf, &d), 0);
  snprintf (expect, sizeof expect, "missing '{' on line 1 of %s", t.main);
  assert_string_equal (braid_mpconf_diags_get (d, 0)->text, expect);
  snprintf (expect, sizeof expect, "invalid keyword '{' on line 2 of %s",
            t.main);
  assert_string_equal (braid_mpconf_diags_get (d, 1)->text, expect);
  assert_true (tconf_has_diag (d, "invalid keyword in the overrides section: "
                                  "device"));
  assert_true (tconf_has_diag (d, "line 8, invalid keyword: no_path_retry"));
  assert_true (tconf_has_diag (d, "unmatched '}' at line 9"));
  assert_true (tconf_has_diag (d, "missing '}' at end of"));
  resolve_any (conf, &s);
  assert_int_equal (s.v[BRAID_MPS_USER_FRIENDLY_NAMES].num, 1);
  assert_int_equal (s.v[BRAID_MPS_NO_PATH_RETRY].src, BRAID_MPCONF_SRC_UNSET);
  braid_mpconf_free (conf);
  braid_mpconf_diags_free (d);
  tconf_cleanup (&t);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_missing_files),
    cmocka_unit_test (test_diagnostics),
    cmocka_unit_test (test_fatal_keeps_nothing),
    cmocka_unit_test (test_values),
    cmocka_unit_test (test_confd_order),
    cmocka_unit_test (test_structure),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
