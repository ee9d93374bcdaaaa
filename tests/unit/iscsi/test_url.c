/* test_url.c: iscsi:// URLs and portal strings (url.c).
 *
 * The accepted forms are the ones libiscsi and QEMU users type; the refused
 * ones matter as much: credentials in a URL must give -EPERM with a message
 * that says where secrets go instead, everything else malformed -EINVAL
 * with a message naming the problem.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "braid/iscsi.h"

static void
ok_url (const char *url, const char *portal, const char *target, int lun)
{
  struct braid_iscsi_url u;
  char err[256] = "unset";
  int r = braid_iscsi_parse_url (url, &u, err, sizeof err);

  if (r != 0)
    fail_msg ("%s: %d (%s)", url, r, err);
  assert_string_equal (err, "");
  assert_string_equal (u.portal, portal);
  assert_string_equal (u.target, target);
  assert_int_equal (u.lun, lun);
}

static void
bad_url (const char *url, int want, const char *needle)
{
  struct braid_iscsi_url u;
  char err[256] = "";
  int r = braid_iscsi_parse_url (url, &u, err, sizeof err);

  if (r != want)
    fail_msg ("%s: got %d, want %d (%s)", url, r, want, err);
  if (strstr (err, needle) == NULL)
    fail_msg ("%s: message \"%s\" lacks \"%s\"", url, err, needle);
}

static void
test_url_ok (void **state)
{
  (void) state;
  ok_url ("iscsi://127.0.0.1/iqn.2024-01.test.lab:tgt1/1",
          "127.0.0.1:3260", "iqn.2024-01.test.lab:tgt1", 1);
  ok_url ("iscsi://127.0.0.1:3261/iqn.2024-01.test.lab.istgt:disk1/0",
          "127.0.0.1:3261", "iqn.2024-01.test.lab.istgt:disk1", 0);
  ok_url ("iscsi://[::1]:3260/iqn.2024-01.test.lab:tgt1/2",
          "[::1]:3260", "iqn.2024-01.test.lab:tgt1", 2);
  ok_url ("iscsi://[::1]/iqn.2024-01.test.lab:tgt1/2",
          "[::1]:3260", "iqn.2024-01.test.lab:tgt1", 2);
  ok_url ("iscsi://[fe80::1%25eth0]:3262/iqn.x:y/3",
          "[fe80::1%eth0]:3262", "iqn.x:y", 3);
  ok_url ("ISCSI://Storage-01.example.com/iqn.2024-01.test.lab:tgt1",
          "Storage-01.example.com:3260", "iqn.2024-01.test.lab:tgt1", -1);
  /* Percent-decoding of the target name (libiscsi users write %3A). */
  ok_url ("iscsi://host/iqn.2024-01.test.lab%3Atgt1/16383",
          "host:3260", "iqn.2024-01.test.lab:tgt1", 16383);
  ok_url ("iscsi://host/iqn.2024-01.test.lab%3atgt1/",
          "host:3260", "iqn.2024-01.test.lab:tgt1", -1);
  ok_url ("iscsi://host/iqn.a:b/7/", "host:3260", "iqn.a:b", 7);
  ok_url ("iscsi://host/eui.02004567A425678D/0", "host:3260",
          "eui.02004567A425678D", 0);
  /* Portal-only URLs, as discovery uses them. */
  ok_url ("iscsi://127.0.0.2:3261", "127.0.0.2:3261", "", -1);
  ok_url ("iscsi://127.0.0.2/", "127.0.0.2:3260", "", -1);
}

static void
test_url_credentials (void **state)
{
  static const char *const urls[] = {
    "iscsi://inituser%initsecret12@127.0.0.1/iqn.2024-01.test.lab:chap/1",
    "iscsi://inituser@127.0.0.1/iqn.2024-01.test.lab:chap/1",
    "iscsi://user%pa/ss@127.0.0.1/iqn.x:y/1",
    "iscsi://127.0.0.1/iqn.x:y/1?target_user=tgtuser&target_password=tgtsecret123",
    "iscsi://@127.0.0.1/iqn.x:y/1",
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof urls / sizeof urls[0]; i++)
    {
      struct braid_iscsi_url u;
      char err[256] = "";

      assert_int_equal (braid_iscsi_parse_url (urls[i], &u, err, sizeof err),
                        -EPERM);
      assert_non_null (strstr (err, "root-only file or the environment only"));
      /* The message never repeats the secret. */
      assert_null (strstr (err, "initsecret12"));
      assert_null (strstr (err, "tgtsecret123"));
    }
}

static void
test_url_bad (void **state)
{
  (void) state;
  bad_url ("http://127.0.0.1/iqn.x:y/1", -EINVAL, "not an iscsi:// URL");
  bad_url ("iscsi:/127.0.0.1/iqn.x:y/1", -EINVAL, "not an iscsi:// URL");
  bad_url ("iser://127.0.0.1/iqn.x:y/1", -EINVAL, "iser");
  bad_url ("", -EINVAL, "not an iscsi:// URL");
  bad_url (NULL, -EINVAL, "no URL");
  bad_url ("iscsi://", -EINVAL, "no host");
  bad_url ("iscsi:///iqn.x:y/1", -EINVAL, "no host");
  bad_url ("iscsi://::1/iqn.x:y/1", -EINVAL, "in brackets");
  bad_url ("iscsi://fe80::1:3260/iqn.x:y/1", -EINVAL, "in brackets");
  bad_url ("iscsi://[::1/iqn.x:y/1", -EINVAL, "'[' without ']'");
  bad_url ("iscsi://[::g]/iqn.x:y/1", -EINVAL, "not an IPv6 address");
  bad_url ("iscsi://[127.0.0.1]/iqn.x:y/1", -EINVAL, "not an IPv6 address");
  bad_url ("iscsi://[]/iqn.x:y/1", -EINVAL, "not an IPv6 address");
  bad_url ("iscsi://[fe80::1%eth0]/iqn.x:y/1", -EINVAL, "not an IPv6 address");
  bad_url ("iscsi://[::1]x/iqn.x:y/1", -EINVAL, "after ']'");
  bad_url ("iscsi://host:/iqn.x:y/1", -EINVAL, "not a TCP port");
  bad_url ("iscsi://host:0/iqn.x:y/1", -EINVAL, "not a TCP port");
  bad_url ("iscsi://host:65536/iqn.x:y/1", -EINVAL, "not a TCP port");
  bad_url ("iscsi://host:32a/iqn.x:y/1", -EINVAL, "not a TCP port");
  bad_url ("iscsi://[::1]:99999/iqn.x:y/1", -EINVAL, "not a TCP port");
  bad_url ("iscsi://ho st/iqn.x:y/1", -EINVAL, "not a valid host");
  bad_url ("iscsi://host%41/iqn.x:y/1", -EINVAL, "not a valid host");
  bad_url ("iscsi://host//1", -EINVAL, "empty target name");
  bad_url ("iscsi://host/iqn.x:y/abc", -EINVAL, "LUN must be a decimal number");
  bad_url ("iscsi://host/iqn.x:y/-1", -EINVAL, "LUN must be a decimal number");
  bad_url ("iscsi://host/iqn.x:y/1/2", -EINVAL, "nothing after it");
  bad_url ("iscsi://host/iqn.x:y/1//", -EINVAL, "nothing after it");
  bad_url ("iscsi://host/iqn.x:y/16384", -EINVAL, "LUN 16384 is out of range");
  bad_url ("iscsi://host/iqn.x:y/99999999999", -EINVAL, "LUN");
  bad_url ("iscsi://host/iqn.x%3/1", -EINVAL, "bad %-escape");
  bad_url ("iscsi://host/iqn.x%zz/1", -EINVAL, "bad %-escape");
  bad_url ("iscsi://host/iqn.x%/1", -EINVAL, "bad %-escape");
  bad_url ("iscsi://host/iqn.x%00y/1", -EINVAL, "cannot have");
  bad_url ("iscsi://host/iqn.x%20y/1", -EINVAL, "cannot have");
  bad_url ("iscsi://host/iqn.x%2Fy/1", -EINVAL, "cannot have");
  bad_url ("iscsi://host/iqn.x:y/1?header_digest=crc32c", -EINVAL, "'?'");
  bad_url ("iscsi://host/iqn.x:y/1#frag", -EINVAL, "fragment");
}

static void
test_url_long (void **state)
{
  char url[1200], name[300];
  struct braid_iscsi_url u;
  char err[256];

  (void) state;
  /* 223-byte target: the maximum; 224 is refused. */
  memset (name, 'a', 223);
  name[223] = '\0';
  snprintf (url, sizeof url, "iscsi://h/%s/1", name);
  assert_int_equal (braid_iscsi_parse_url (url, &u, err, sizeof err), 0);
  assert_int_equal (strlen (u.target), 223);
  memset (name, 'a', 224);
  name[224] = '\0';
  snprintf (url, sizeof url, "iscsi://h/%s/1", name);
  assert_int_equal (braid_iscsi_parse_url (url, &u, err, sizeof err), -EINVAL);
  assert_non_null (strstr (err, "longer than 223"));
  /* 253-character host fits the portal field; 254 is refused. */
  memset (name, 'h', 253);
  name[253] = '\0';
  snprintf (url, sizeof url, "iscsi://%s:65535/iqn.x:y", name);
  assert_int_equal (braid_iscsi_parse_url (url, &u, err, sizeof err), 0);
  assert_int_equal (strlen (u.portal), 253 + 6);
  memset (name, 'h', 254);
  name[254] = '\0';
  snprintf (url, sizeof url, "iscsi://%s/iqn.x:y", name);
  assert_int_equal (braid_iscsi_parse_url (url, &u, err, sizeof err), -EINVAL);
  /* A huge zone id must not overflow anything. */
  memset (name, 'z', 280);
  name[280] = '\0';
  snprintf (url, sizeof url, "iscsi://[fe80::1%%25%s]/iqn.x:y", name);
  assert_int_equal (braid_iscsi_parse_url (url, &u, err, sizeof err), -EINVAL);
  /* A NULL error buffer is fine. */
  assert_int_equal (braid_iscsi_parse_url ("iscsi://h/t/1", &u, NULL, 0), 0);
}

static void
ok_portal (const char *portal, const char *host, uint16_t port)
{
  char h[256];
  uint16_t p = 0;
  int r = braid_iscsi_split_portal (portal, h, sizeof h, &p);

  if (r != 0)
    fail_msg ("%s: %d", portal, r);
  assert_string_equal (h, host);
  assert_int_equal (p, port);
}

static void
test_split_portal (void **state)
{
  (void) state;
  ok_portal ("127.0.0.1", "127.0.0.1", 3260);
  ok_portal ("127.0.0.1:3261", "127.0.0.1", 3261);
  ok_portal ("[::1]", "::1", 3260);
  ok_portal ("[::1]:3262", "::1", 3262);
  ok_portal ("::1", "::1", 3260);
  ok_portal ("fe80::1:2", "fe80::1:2", 3260);
  ok_portal ("fe80::1%eth0", "fe80::1%eth0", 3260);
  ok_portal ("[fe80::1%eth0]:99", "fe80::1%eth0", 99);
  ok_portal ("storage.example.com", "storage.example.com", 3260);
  /* SendTargets form, with the tag. */
  ok_portal ("127.0.0.1:3260,1", "127.0.0.1", 3260);
  ok_portal ("[::1]:3260,1", "::1", 3260);
  ok_portal ("10.0.0.1,0", "10.0.0.1", 3260);
  ok_portal ("[1080::8:800:200C:417A],65", "1080::8:800:200C:417A", 3260);
  ok_portal ("[1080::8:800:200C:417A]:5003,65535", "1080::8:800:200C:417A", 5003);
}

static void
test_split_portal_bad (void **state)
{
  static const char *const bad[] = {
    "", ":3260", "host:", "host:0", "host:65536", "host:12ab", "[::1",
    "[::1]x", "[::1]:", "[]", "[::g]", "::g", "1:2:3:4:5:6:7:8:9",
    "host,", "host,x", "host,65536", "host:3260,1,2", "ho st", "host/x",
    "[::1]:3260:1",
  };
  char h[64];
  uint16_t p = 7;
  size_t i;

  (void) state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (braid_iscsi_split_portal (bad[i], h, sizeof h, &p) != -EINVAL)
      fail_msg ("accepted \"%s\"", bad[i]);
  assert_int_equal (p, 7);
  /* Host buffer too small. */
  assert_int_equal (braid_iscsi_split_portal ("abcdef", h, 6, &p), -EINVAL);
  assert_int_equal (braid_iscsi_split_portal ("abcde", h, 6, &p), 0);
  assert_int_equal (braid_iscsi_split_portal (NULL, h, sizeof h, &p), -EINVAL);
  assert_int_equal (braid_iscsi_split_portal ("h", NULL, 0, &p), -EINVAL);
}

/* What parse_url normalises, split_portal takes apart again. */
static void
test_roundtrip (void **state)
{
  static const char *const urls[] = {
    "iscsi://[::1]:3261/iqn.x:y/1", "iscsi://10.1.2.3/iqn.x:y",
    "iscsi://[fe80::2%25lo]/iqn.x:y/0",
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof urls / sizeof urls[0]; i++)
    {
      struct braid_iscsi_url u;
      char h[128], err[128];
      uint16_t p;

      assert_int_equal (braid_iscsi_parse_url (urls[i], &u, err, sizeof err), 0);
      assert_int_equal (braid_iscsi_split_portal (u.portal, h, sizeof h, &p), 0);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_url_ok),
    cmocka_unit_test (test_url_credentials),
    cmocka_unit_test (test_url_bad),
    cmocka_unit_test (test_url_long),
    cmocka_unit_test (test_split_portal),
    cmocka_unit_test (test_split_portal_bad),
    cmocka_unit_test (test_roundtrip),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
