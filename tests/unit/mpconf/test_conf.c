/* test_conf.c: "braid conf"'s text functions (src/braid/cmd_conf.c).
 * The default file carries braid's marker and is accepted by the
 * configuration parser without a single diagnostic; edits change only the
 * lines they concern (user_friendly_names and find_multipaths in defaults,
 * the blacklist-everything line of the top-level blacklist), are
 * idempotent, and disable then enable gives the original text back. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/mpconf.h"
#include "cli.h"

/* Load 'text' as a multipath.conf; return the number of diagnostics (all
 * levels), or -1 if the parser refuses it. */
static int
diagnostics (const char *text)
{
  char path[] = "/tmp/braid-test-conf-XXXXXX";
  int fd = mkstemp (path);
  struct braid_mpconf_load_args a = { .config_file = path,
                                      .log_level = BRAID_LOG_DEBUG };
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  int rc, n;

  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
  rc = braid_mpconf_load (&a, &conf, &d);
  n = (int) braid_mpconf_diags_count (d);
  for (int i = 0; i < n; i++)
    {
      char line[1024];

      braid_mpconf_diag_format (braid_mpconf_diags_get (d, i), line,
                                sizeof line);
      fprintf (stderr, "diagnostic: %s\n", line);
    }
  braid_mpconf_diags_free (d);
  braid_mpconf_free (conf);
  unlink (path);
  return rc < 0 ? -1 : n;
}

/* The effective defaults-level value of a setting, formatted. */
static void
setting (const char *text, int id, char *out, size_t len)
{
  char path[] = "/tmp/braid-test-conf-XXXXXX";
  int fd = mkstemp (path);
  struct braid_mpconf_load_args a = { .config_file = path };
  struct braid_mpconf_path_id pid = { .protocol = "scsi:iscsi", .tpgs = -1 };
  struct braid_mpconf_settings s;
  struct braid_mpconf *conf = NULL;

  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
  assert_int_equal (braid_mpconf_load (&a, &conf, NULL), 0);
  assert_int_equal (braid_mpconf_resolve (conf, &pid, &s), 0);
  braid_mpconf_setting_format (&s, id, out, len);
  braid_mpconf_free (conf);
  unlink (path);
}

static void
test_default_text (void **state)
{
  char *t = cli_conf_default_text (NULL, NULL, 0);
  char v[64];

  (void) state;
  assert_non_null (t);
  assert_true (cli_conf_is_ours (t));
  assert_true (strncmp (t, "# Written by \"braid conf enable\"", 32) == 0);
  assert_non_null (strstr (t, "\ndefaults {\n\tuser_friendly_names yes\n"
                              "\tfind_multipaths yes\n}\n"));
  assert_int_equal (cli_conf_blacklists_all (t), 0);
  assert_int_equal (diagnostics (t), 0);
  setting (t, BRAID_MPS_USER_FRIENDLY_NAMES, v, sizeof v);
  assert_string_equal (v, "yes");
  free (t);

  t = cli_conf_default_text ("no", "strict", 1);
  assert_non_null (t);
  assert_non_null (strstr (t, "\tuser_friendly_names no\n"
                              "\tfind_multipaths strict\n"));
  assert_non_null (strstr (t, "\nblacklist {\n\tdevnode \".*\"\n"));
  assert_int_equal (cli_conf_blacklists_all (t), 1);
  assert_int_equal (diagnostics (t), 0);
  setting (t, BRAID_MPS_FIND_MULTIPATHS, v, sizeof v);
  assert_string_equal (v, "strict");
  free (t);
}

static void
test_marker (void **state)
{
  (void) state;
  assert_false (cli_conf_is_ours (NULL));
  assert_false (cli_conf_is_ours (""));
  assert_false (cli_conf_is_ours ("defaults {\n}\n"));
  /* the marker must be the first line, not any line */
  assert_false (cli_conf_is_ours ("\n# Written by \"braid conf enable\"; "
                                  "\"braid conf\" edits this file only "
                                  "while this line stays first.\n"));
}

static void
test_disable_enable_round_trip (void **state)
{
  char *t = cli_conf_default_text (NULL, NULL, 0);
  char *off, *off2, *on;

  (void) state;
  off = cli_conf_edit_text (t, NULL, NULL, 1);
  assert_non_null (off);
  assert_int_equal (cli_conf_blacklists_all (off), 1);
  assert_non_null (strstr (off, "\nblacklist {\n\tdevnode \".*\"\n#\twwid"));
  assert_true (cli_conf_is_ours (off));
  /* once is enough */
  off2 = cli_conf_edit_text (off, NULL, NULL, 1);
  assert_string_equal (off2, off);
  on = cli_conf_edit_text (off, NULL, NULL, 0);
  assert_string_equal (on, t);
  free (t);
  free (off);
  free (off2);
  free (on);
}

static void
test_set_keys (void **state)
{
  static const char before[] = "\tuser_friendly_names yes\n"
                               "\tfind_multipaths yes\n";
  static const char after[] = "\tuser_friendly_names no\n"
                              "\tfind_multipaths greedy\n";
  char *t = cli_conf_default_text (NULL, NULL, 0);
  char *e, *e2, expect[4096];
  const char *p;

  (void) state;
  /* the expected text: the default with those two lines replaced */
  p = strstr (t, before);
  assert_non_null (p);
  snprintf (expect, sizeof expect, "%.*s%s%s", (int) (p - t), t, after,
            p + strlen (before));
  e = cli_conf_edit_text (t, "no", "greedy", -1);
  assert_non_null (e);
  assert_string_equal (e, expect);
  /* setting the same values again changes nothing */
  e2 = cli_conf_edit_text (e, "no", "greedy", -1);
  assert_string_equal (e2, e);
  assert_int_equal (diagnostics (e), 0);
  free (t);
  free (e);
  free (e2);
}

static void
test_edit_foreign_shapes (void **state)
{
  /* no defaults section, a blacklist with a device block and exceptions */
  const char *in =
    "# admin's own file\n"
    "blacklist_exceptions {\n"
    "\tdevnode \".*\"\n"
    "}\n"
    "blacklist {\n"
    "\tdevice {\n"
    "\t\tdevnode \".*\"\n"
    "\t}\n"
    "#\tdevnode \".*\"\n"
    "}";
  char *e;

  (void) state;
  /* exceptions, nested blocks and comments never blacklist everything */
  assert_int_equal (cli_conf_blacklists_all (in), 0);
  e = cli_conf_edit_text (in, "yes", NULL, 1);
  assert_non_null (e);
  assert_string_equal (e,
    "# admin's own file\n"
    "blacklist_exceptions {\n"
    "\tdevnode \".*\"\n"
    "}\n"
    "blacklist {\n"
    "\tdevnode \".*\"\n"
    "\tdevice {\n"
    "\t\tdevnode \".*\"\n"
    "\t}\n"
    "#\tdevnode \".*\"\n"
    "}\n"
    "\n"
    "defaults {\n"
    "\tuser_friendly_names yes\n"
    "}\n");
  assert_int_equal (cli_conf_blacklists_all (e), 1);
  free (e);

  /* duplicates: the first takes the value, the others go; "*" and an
   * unquoted .* count as blacklist-everything lines too */
  in = "defaults {\n"
       "    find_multipaths no   # old\n"
       "    polling_interval 10\n"
       "    find_multipaths \"yes\"\n"
       "}\n"
       "blacklist {\n"
       "    devnode \"*\"\n"
       "    devnode .*\n"
       "    wwid \"x\"\n"
       "}\n";
  assert_int_equal (cli_conf_blacklists_all (in), 1);
  e = cli_conf_edit_text (in, NULL, "smart", 0);
  assert_non_null (e);
  assert_string_equal (e,
    "defaults {\n"
    "\tfind_multipaths smart\n"
    "    polling_interval 10\n"
    "}\n"
    "blacklist {\n"
    "    wwid \"x\"\n"
    "}\n");
  free (e);

  /* nothing to do: the text comes back as it was */
  e = cli_conf_edit_text ("", NULL, NULL, 0);
  assert_string_equal (e, "");
  free (e);
  e = cli_conf_edit_text ("", NULL, NULL, 1);
  assert_string_equal (e, "\nblacklist {\n\tdevnode \".*\"\n}\n");
  assert_int_equal (diagnostics (e), 0);
  free (e);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_default_text),
    cmocka_unit_test (test_marker),
    cmocka_unit_test (test_disable_enable_round_trip),
    cmocka_unit_test (test_set_keys),
    cmocka_unit_test (test_edit_foreign_shapes),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
