/* test_dump.c: the `multipath -t` dump (braid_mpconf_dump).
 *
 *   - the built-in configuration prints exactly what multipath-tools 0.9.4
 *     prints (tests/compat/expected-default.t, recorded from the real
 *     binary), except the three lines `multipath` forces for itself,
 *     which braid prints with the daemon's values;
 *   - dump, re-read, dump again gives the same text (multipath-tools'
 *     hwtable tests re-run every case that way), for files that use every
 *     section and the quoting rules;
 *   - the quirks braid keeps (octal uid/gid, unquoted uid_attrs: neither
 *     reads back as written) and the ones it does not (balanced blacklist
 *     device blocks, partition_delimiter "/UNSET/").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mpconf-testutil.h"

#ifndef MPCONF_COMPAT_DIR
#error MPCONF_COMPAT_DIR must name tests/compat
#endif

static char *
slurp (const char *path)
{
  FILE *f = fopen (path, "r");
  char *s = NULL;
  size_t cap = 0, n = 0, r;

  assert_non_null (f);
  do
    {
      if (n + 4096 + 1 > cap)
        {
          cap = cap ? cap * 2 : 65536;
          s = realloc (s, cap);
          assert_non_null (s);
        }
      r = fread (s + n, 1, 4096, f);
      n += r;
    }
  while (r > 0);
  s[n] = '\0';
  fclose (f);
  return s;
}

/* Remove the lines the differential test filters (compat-lib.sh). */
static void
drop_client_lines (char *s)
{
  static const char *const drop[] = { "\tforce_sync ", "\tretrigger_tries ",
                                      "\tmax_fds ", NULL };
  char *r = s, *w = s;

  while (*r)
    {
      char *nl = strchr (r, '\n');
      size_t len = nl ? (size_t) (nl - r + 1) : strlen (r);
      bool keep = true;

      for (int i = 0; drop[i]; i++)
        if (strncmp (r, drop[i], strlen (drop[i])) == 0)
          keep = false;
      if (keep)
        {
          memmove (w, r, len);
          w += len;
        }
      r += len;
    }
  *w = '\0';
}

static void
test_default_dump (void **state)
{
  struct braid_mpconf *c = tconf_from_text ("");
  char *dump = braid_mpconf_dump_string (c);
  char *expect = slurp (MPCONF_COMPAT_DIR "/expected-default.t");

  (void) state;
  assert_non_null (dump);
  /* braid prints the daemon's values where `multipath` forces its own */
  assert_non_null (strstr (dump, "\tforce_sync \"no\"\n"));
  assert_non_null (strstr (dump, "\tretrigger_tries 3\n"));
  assert_non_null (strstr (dump, "\tmax_fds \"max\"\n"));
  drop_client_lines (dump);
  assert_string_equal (dump, expect);
  free (dump);
  free (expect);
  braid_mpconf_free (c);
}

static char *
dump_of (const char *text)
{
  struct braid_mpconf *c = tconf_from_text (text);
  char *d = braid_mpconf_dump_string (c);

  assert_non_null (d);
  braid_mpconf_free (c);
  return d;
}

static void
round_trip (const char *text)
{
  char *d1 = dump_of (text);
  char *d2 = dump_of (d1);

  assert_string_equal (d1, d2);
  free (d1);
  free (d2);
}

static void
test_round_trip (void **state)
{
  (void) state;
  round_trip ("");
  round_trip (
    "defaults {\n\tverbosity 3\n\tpolling_interval 7\n"
    "\tpath_selector \"round-robin 0\"\n\tuid_attrs \"sd:A\"\n"
    "\tfeatures \"1 queue_if_no_path\"\n\tfailback followover\n"
    "\tno_path_retry queue\n\tfast_io_fail_tmo off\n\teh_deadline 0\n"
    "\tdev_loss_tmo infinity\n\tmode 0600\n\treservation_key 0x1:aptpl\n"
    "\tfind_multipaths greedy\n\tmarginal_pathgroups on\n"
    "\tghost_delay 4\n\tmax_fds 1000\n\tpartition_delimiter -part\n}\n"
    "blacklist {\n\twwid \"^36\"\n\tdevice {\n\t\tvendor only\n\t}\n"
    "\tdevice {\n\t\tproduct \"alone\"\n\t}\n\tproperty \"!X\"\n}\n"
    "blacklist_exceptions {\n\tdevnode \"sd[a-z]\"\n\tprotocol fcp\n}\n"
    "devices {\n\tdevice {\n\t\tvendor \"QUO\"\"TE\"\n\t\tproduct \"\"\n"
    "\t\trevision \"a b\"\n\t\thardware_handler \"1 alua\"\n"
    "\t\tvpd_vendor hp3par\n\t\tproduct_blacklist \"x\"\n\t}\n}\n"
    "overrides {\n\tno_path_retry 5\n\tprotocol {\n\t\ttype scsi:iscsi\n"
    "\t\tdev_loss_tmo 30\n\t}\n}\n"
    "multipaths {\n\tmultipath {\n\t\twwid \"3600 x\"\n\t\talias a\"b\n"
    "\t\treservation_key file\n\t}\n}\n");
}

static void
test_quirks (void **state)
{
  char *d;

  (void) state;
  /* uid and gid print in octal (1000 -> 01750), mode too */
  d = dump_of ("defaults {\n\tuid 1000\n\tgid 100\n\tmode 644\n}\n");
  assert_non_null (strstr (d, "\tmode 0644\n\tuid 01750\n\tgid 0144\n"));
  free (d);
  /* uid_attrs prints unquoted, so several records do not read back
   * (0.9.4 does the same) */
  d = dump_of ("defaults {\n\tuid_attrs \"sd:A dasd:B\"\n}\n");
  assert_non_null (strstr (d, "\tuid_attrs sd:A dasd:B\n"));
  free (d);
  /* a vendor-only blacklist device entry is a balanced block */
  d = dump_of ("blacklist {\n\tdevice {\n\t\tvendor V\n\t}\n}\n");
  assert_non_null (strstr (d, "blacklist {\n"
                              "\tdevnode \"!^(sd[a-z]|dasd[a-z]|nvme[0-9])\"\n"
                              "\tdevice {\n\t\tvendor \"V\"\n\t}\n"
                              "\tdevice {\n\t\tvendor \"SGI\"\n"));
  free (d);
  /* the documented "/UNSET/" value clears partition_delimiter (0.9.4
   * crashes on it) */
  d = dump_of ("defaults {\n\tpartition_delimiter p\n"
               "\tpartition_delimiter /UNSET/\n}\n");
  assert_null (strstr (d, "partition_delimiter"));
  free (d);
  /* multipaths appear only when there are some; overrides always */
  d = dump_of ("");
  assert_null (strstr (d, "multipaths {"));
  assert_non_null (strstr (d, "}\noverrides {\n}\n"));
  free (d);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_default_dump),
    cmocka_unit_test (test_round_trip),
    cmocka_unit_test (test_quirks),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
