/* allow.c: which TCP peers may open an NBD connection.
 *
 * Exports listen on a Unix socket, whose file mode decides who connects.
 * TCP has no such gate, so when an admin opens a TCP listener they may also
 * name the networks its clients live in; a peer outside every prefix is
 * closed at accept, before a byte of the handshake.  An IPv4 client that
 * reaches an IPv6 listener arrives as ::ffff:a.b.c.d and is matched
 * against the IPv4 prefixes, so one list serves both families.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nbd/internal.h"

int
nbd_allow_parse (const char *cidr, struct nbd_allow *out)
{
  char host[INET6_ADDRSTRLEN + 1];
  const char *slash = strchr (cidr, '/');
  size_t hl = slash ? (size_t) (slash - cidr) : strlen (cidr);
  unsigned max;

  if (hl == 0 || hl >= sizeof host)
    return -EINVAL;
  memcpy (host, cidr, hl);
  host[hl] = '\0';
  memset (out, 0, sizeof *out);
  if (inet_pton (AF_INET, host, out->addr) == 1) {
    out->family = AF_INET;
    max = 32;
  }
  else if (inet_pton (AF_INET6, host, out->addr) == 1) {
    out->family = AF_INET6;
    max = 128;
  }
  else
    return -EINVAL;
  out->plen = max;
  if (slash) {
    char *end;
    unsigned long v;

    if (slash[1] < '0' || slash[1] > '9')
      return -EINVAL;
    v = strtoul (slash + 1, &end, 10);
    if (*end != '\0' || v > max)
      return -EINVAL;
    out->plen = (unsigned) v;
  }
  return 0;
}

/* Do the first 'plen' bits of a and b agree? */
static bool
prefix_eq (const unsigned char *a, const unsigned char *b, unsigned plen)
{
  unsigned whole = plen / 8, rest = plen % 8;

  if (memcmp (a, b, whole) != 0)
    return false;
  if (rest == 0)
    return true;
  return ((a[whole] ^ b[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

bool
nbd_allow_match (const struct nbd_allow *list, size_t n,
                 const struct sockaddr *sa)
{
  static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const unsigned char *a4 = NULL, *a6 = NULL;

  if (sa->sa_family == AF_INET)
    a4 = (const unsigned char *) &((const struct sockaddr_in *) sa)->sin_addr;
  else if (sa->sa_family == AF_INET6) {
    a6 = (const unsigned char *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
    if (memcmp (a6, v4mapped, sizeof v4mapped) == 0)
      a4 = a6 + 12;
  }
  else
    return true;                /* Unix peers: the file mode decides */
  for (size_t i = 0; i < n; i++) {
    if (list[i].family == AF_INET && a4 && prefix_eq (list[i].addr, a4, list[i].plen))
      return true;
    if (list[i].family == AF_INET6 && a6 && prefix_eq (list[i].addr, a6, list[i].plen))
      return true;
  }
  return false;
}

int
braid_nbd_server_allow (struct braid_nbd_server *srv, const char *cidr)
{
  struct nbd_allow a, *grown;

  if (srv == NULL || cidr == NULL)
    return -EINVAL;
  if (nbd_allow_parse (cidr, &a) < 0) {
    nbd_server_set_error (srv, "\"%s\" is not an address or address/prefix "
                          "(e.g. 192.0.2.0/24, 2001:db8::/32)", cidr);
    return -EINVAL;
  }
  grown = realloc (srv->allow, (srv->nallow + 1) * sizeof *grown);
  if (grown == NULL) {
    nbd_server_set_error (srv, "out of memory");
    return -ENOMEM;
  }
  srv->allow = grown;
  srv->allow[srv->nallow++] = a;
  return 0;
}
