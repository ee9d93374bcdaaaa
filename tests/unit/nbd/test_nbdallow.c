/* test_nbdallow.c: the TCP allow-list (lib/nbd/allow.c): prefix parsing,
 * matching at bit boundaries, IPv4-mapped IPv6 peers, and that the server
 * refuses a malformed prefix with a message. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>

#include "braid/loop.h"
#include "nbd/internal.h"

static struct sockaddr_storage
peer (const char *addr)
{
  struct sockaddr_storage ss;
  memset (&ss, 0, sizeof ss);
  struct sockaddr_in *s4 = (struct sockaddr_in *) &ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) &ss;
  if (inet_pton (AF_INET, addr, &s4->sin_addr) == 1)
    s4->sin_family = AF_INET;
  else {
    assert_int_equal (inet_pton (AF_INET6, addr, &s6->sin6_addr), 1);
    s6->sin6_family = AF_INET6;
  }
  return ss;
}

static bool
allowed (const char *const *cidrs, size_t n, const char *addr)
{
  struct nbd_allow list[8];
  assert_true (n <= 8);
  for (size_t i = 0; i < n; i++)
    assert_int_equal (nbd_allow_parse (cidrs[i], &list[i]), 0);
  struct sockaddr_storage ss = peer (addr);
  return nbd_allow_match (list, n, (struct sockaddr *) &ss);
}

static void
test_parse (void **state)
{
  (void) state;
  struct nbd_allow a;
  assert_int_equal (nbd_allow_parse ("192.0.2.0/24", &a), 0);
  assert_int_equal (a.family, AF_INET);
  assert_int_equal (a.plen, 24);
  assert_int_equal (nbd_allow_parse ("192.0.2.7", &a), 0);
  assert_int_equal (a.plen, 32);
  assert_int_equal (nbd_allow_parse ("2001:db8::/32", &a), 0);
  assert_int_equal (a.family, AF_INET6);
  assert_int_equal (a.plen, 32);
  assert_int_equal (nbd_allow_parse ("::1", &a), 0);
  assert_int_equal (a.plen, 128);
  assert_int_equal (nbd_allow_parse ("0.0.0.0/0", &a), 0);
  static const char *const bad[] = {
    "", "/24", "192.0.2.0/33", "2001:db8::/129", "192.0.2.0/", "192.0.2.0/-1",
    "192.0.2.0/24x", "192.0.2", "host.example", "192.0.2.0/ 24",
    "1111:2222:3333:4444:5555:6666:7777:8888:9999",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal (nbd_allow_parse (bad[i], &a), -EINVAL);
}

static void
test_match (void **state)
{
  (void) state;
  static const char *const l1[] = { "192.0.2.0/24" };
  assert_true (allowed (l1, 1, "192.0.2.1"));
  assert_true (allowed (l1, 1, "192.0.2.255"));
  assert_false (allowed (l1, 1, "192.0.3.1"));
  /* a prefix that does not end on a byte boundary */
  static const char *const l2[] = { "10.1.64.0/18" };
  assert_true (allowed (l2, 1, "10.1.64.0"));
  assert_true (allowed (l2, 1, "10.1.127.255"));
  assert_false (allowed (l2, 1, "10.1.128.0"));
  assert_false (allowed (l2, 1, "10.1.63.255"));
  /* IPv4 peers on an IPv6 listener arrive IPv4-mapped */
  assert_true (allowed (l1, 1, "::ffff:192.0.2.9"));
  assert_false (allowed (l1, 1, "::ffff:198.51.100.9"));
  static const char *const l3[] = { "2001:db8:1::/48", "127.0.0.1" };
  assert_true (allowed (l3, 2, "2001:db8:1:ffff::1"));
  assert_false (allowed (l3, 2, "2001:db8:2::1"));
  assert_true (allowed (l3, 2, "127.0.0.1"));
  assert_false (allowed (l3, 2, "127.0.0.2"));
  assert_false (allowed (l3, 2, "::1"));
  static const char *const all[] = { "0.0.0.0/0" };
  assert_true (allowed (all, 1, "203.0.113.200"));
  /* Unix peers are the socket file's business */
  struct sockaddr_un su = { .sun_family = AF_UNIX };
  struct nbd_allow a;
  assert_int_equal (nbd_allow_parse ("192.0.2.0/24", &a), 0);
  assert_true (nbd_allow_match (&a, 1, (struct sockaddr *) &su));
}

static void
test_server_api (void **state)
{
  (void) state;
  struct braid_loop *loop = braid_loop_new ();
  assert_non_null (loop);
  struct braid_nbd_server *srv = braid_nbd_server_new (loop, NULL);
  assert_non_null (srv);
  assert_int_equal (braid_nbd_server_allow (srv, "10.0.0.0/8"), 0);
  assert_int_equal (braid_nbd_server_allow (srv, "fd00::/8"), 0);
  assert_int_equal (braid_nbd_server_allow (srv, "10.0.0.0/99"), -EINVAL);
  assert_non_null (strstr (braid_nbd_server_get_error (srv), "10.0.0.0/99"));
  braid_nbd_server_free (srv);
  braid_loop_free (loop);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse),
    cmocka_unit_test (test_match),
    cmocka_unit_test (test_server_api),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
