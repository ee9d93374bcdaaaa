/* test_braidconf.c: braid.conf (lib/mpconf/braidconf.c).
 *
 * A full file (portal lists with and without ifaceN: prefixes, ports
 * filled in, san_hosts, export, networks, timers), a missing file (all
 * defaults), and bad files: every error names file and line, an iface
 * without a mapping is named, and nothing is returned on error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "braid/braidconf.h"
#include "braid/iscsi.h"

static char path[64];

static void
write_file (const char *text)
{
  strcpy (path, "/tmp/test_braidconf.XXXXXX");
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t) strlen (text));
  close (fd);
}

static int
load (const char *text, struct braid_bconf **c, char *err, size_t len)
{
  write_file (text);
  int r = braid_bconf_load (path, c, err, len);
  unlink (path);
  return r;
}

static void
test_full (void **state)
{
  (void) state;
  struct braid_bconf *c;
  char err[512];
  int r = load ("interfaces \"iface0=br0, iface1=eth1\"  # STORAGE_INTERFACES\n"
                "storage {\n"
                "  target iqn.2010-01.com.example:sp\n"
                "  paths \"iface0:192.168.1.100,iface1:sp2:3261,[::1]\"\n"
                "  san_hosts \"10.109.1.26,10.109.1.27:3270\"\n"
                "}\n"
                "storage {\n"
                "  target iqn.2010-01.com.example:other\n"
                "  paths \"10.0.0.1,10.0.0.2:3260\"\n"
                "}\n"
                "export {\n  owner 12\n  group 34\n  mode 0660\n}\n"
                "network {\n  name net-a\n  interface eth2\n}\n"
                "admin_group 77\n"
                "noop_out_interval 200\n"
                "header_digest crc32c\n"
                "data_digest \"CRC32C,None\"\n", &c, err, sizeof err);
  assert_int_equal (r, 0);
  assert_int_equal (c->nstorage, 2);
  assert_int_equal (c->storage[0].npaths, 3);
  assert_string_equal (c->storage[0].paths[0].iface, "iface0");
  assert_string_equal (c->storage[0].paths[0].dev, "br0");
  assert_string_equal (c->storage[0].paths[0].portal, "192.168.1.100:3260");
  assert_string_equal (c->storage[0].paths[1].dev, "eth1");
  assert_string_equal (c->storage[0].paths[1].portal, "sp2:3261");
  assert_string_equal (c->storage[0].paths[2].iface, "");
  assert_string_equal (c->storage[0].paths[2].portal, "[::1]:3260");
  assert_int_equal (c->storage[0].nsan_hosts, 2);
  assert_string_equal (c->storage[0].san_hosts[1], "10.109.1.27:3270");
  /* "host:port" is not an iface prefix */
  assert_string_equal (c->storage[1].paths[1].iface, "");
  assert_string_equal (c->storage[1].paths[1].portal, "10.0.0.2:3260");
  assert_int_equal (c->export_owner, 12);
  assert_int_equal (c->export_group, 34);
  assert_int_equal (c->export_mode, 0660);
  assert_int_equal (c->admin_group, 77);
  assert_int_equal (c->noop_out_interval, 200);
  assert_int_equal (c->noop_out_timeout, 1000);
  assert_int_equal (c->header_digest, BRAID_DIGEST_CRC32C);
  assert_int_equal (c->data_digest, BRAID_DIGEST_CRC32C_NONE);
  assert_non_null (braid_bconf_find_network (c, "net-a"));
  assert_null (braid_bconf_find_network (c, "net-b"));
  char *dump = braid_bconf_dump (c);
  assert_non_null (dump);
  assert_non_null (strstr (dump, "paths \"iface0:192.168.1.100:3260,iface1:sp2:3261,[::1]:3260\"\n"));
  assert_non_null (strstr (dump, "\tmode 0660\n"));
  assert_non_null (strstr (dump, "\nheader_digest CRC32C\n"));
  assert_non_null (strstr (dump, "\ndata_digest CRC32C,None\n"));
  /* the dump reads back to the same configuration */
  struct braid_bconf *c2;
  assert_int_equal (load (dump, &c2, err, sizeof err), 0);
  char *dump2 = braid_bconf_dump (c2);
  assert_string_equal (strchr (dump, '\n'), strchr (dump2, '\n'));
  free (dump);
  free (dump2);
  braid_bconf_free (c2);
  braid_bconf_free (c);
}

static void
test_missing (void **state)
{
  (void) state;
  struct braid_bconf *c;
  char err[128];
  assert_int_equal (braid_bconf_load ("/nonexistent/braid.conf", &c, err, sizeof err), 0);
  assert_int_equal (c->nstorage, 0);
  assert_int_equal (c->noop_out_interval, 500);
  assert_int_equal (c->export_mode, 0600);
  assert_int_equal (c->admin_group, -1);
  assert_int_equal (c->header_digest, BRAID_DIGEST_NONE_CRC32C);
  assert_int_equal (c->data_digest, BRAID_DIGEST_NONE);
  braid_bconf_free (c);
}

static void
expect_error (const char *text, const char *msg)
{
  struct braid_bconf *c = (void *) 1;
  char err[1024];
  int r = load (text, &c, err, sizeof err);
  assert_int_equal (r, -22);
  assert_null (c);
  char want[256];
  snprintf (want, sizeof want, "%s %s", path, msg);
  if (!strstr (err, want))
    fail_msg ("wanted \"%s\" in \"%s\"", want, err);
}

static void
test_errors (void **state)
{
  (void) state;
  expect_error ("frob yes\n", "line 1: unknown keyword \"frob\"");
  expect_error ("\nowner 3\n", "line 2: unknown keyword \"owner\" (it belongs in the export section)");
  expect_error ("storage {\n target iqn.x:y\n bogus 1\n}\n",
                "line 3: unknown keyword \"bogus\" in the storage section");
  expect_error ("interfaces \"iface0=br0\"\nstorage {\n target iqn.x:y\n"
                " paths \"iface0:1.2.3.4,iface2:1.2.3.5\"\n}\n",
                "line 4: paths: iface2 has no mapping in \"interfaces\"");
  expect_error ("storage {\n target iqn.x:y\n}\n",
                "line 1: storage section for iqn.x:y has neither paths nor san_hosts");
  expect_error ("storage {\n target iqn.x:y\n paths \"1.2.3.4:99999\"\n}\n",
                "line 3: paths: \"1.2.3.4:99999\" is not an address");
  expect_error ("storage {\n target iqn.x:y\n paths \"a,,b\"\n}\n",
                "line 3: paths: empty entry");
  expect_error ("export {\n mode 0888\n}\n", "line 2: mode:");
  expect_error ("noop_out_timeout 10\n", "line 1: noop_out_timeout: \"10\" is not a number");
  expect_error ("network {\n name a\n interface eth0\n}\nnetwork {\n name a\n interface eth1\n}\n",
                "line 5: network a is defined twice (first at line 1)");
  expect_error ("export {\n mode 0600\n", "line 1: export section not closed");
  expect_error ("storage\n", "line 1: storage: expected '{'");
  expect_error ("admin_group no-such-group-here\n", "line 1: admin_group: no such group");
  expect_error ("noop_out_interval 100 200\n", "line 1: noop_out_interval takes one value");
  expect_error ("\n\ndata_digest CRC64\n",
                "line 3: data_digest: \"CRC64\" is not None, CRC32C, None,CRC32C or CRC32C,None");
  expect_error ("header_digest None,CRC32C,None\n", "line 1: header_digest:");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_full),
    cmocka_unit_test (test_missing),
    cmocka_unit_test (test_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
