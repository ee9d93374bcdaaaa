/* url.c: iscsi:// URLs and portal strings.
 *
 * braid accepts the URL form QEMU and libiscsi users already type,
 * iscsi://host[:port]/target-name[/lun], with IPv6 hosts in brackets and
 * the target name percent-decoded.  What it deliberately does not accept is
 * the user%password@ part (or libiscsi's ?target_password= option): a secret
 * in a URL ends up in argv, shell history and logs, so such URLs are refused
 * with -EPERM and a message pointing at the supported places for secrets.
 * Portals ("host", "host:port", "[v6]", "[v6]:port", a bare IPv6 address,
 * optionally followed by ",tpgt" as SendTargets prints them) are split into
 * a bracket-free host and a port, 3260 by default.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "braid/iscsi.h"
#include "util/bytes.h"

#define DEFAULT_PORT 3260
#define MAX_HOST 253            /* a DNS name; v6 literals are shorter */
#define MAX_TARGET 223          /* RFC 7143 §4.2.7.1: iSCSI names */
#define MAX_LUN 16383           /* what braid encodes (flat/peripheral) */

static void
set_err (char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void
set_err (char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL || errlen == 0)
    return;
  va_start (ap, fmt);
  vsnprintf (err, errlen, fmt, ap);
  va_end (ap);
}

/* A 16-bit decimal number of at most 5 digits, at least 'min'. */
static int
parse_u16 (const char *s, size_t len, unsigned min, uint16_t *out)
{
  unsigned v = 0;
  size_t i;

  if (len == 0 || len > 5)
    return -EINVAL;
  for (i = 0; i < len; i++)
    {
      if (s[i] < '0' || s[i] > '9')
        return -EINVAL;
      v = v * 10 + (unsigned) (s[i] - '0');
    }
  if (v < min || v > 65535)
    return -EINVAL;
  *out = (uint16_t) v;
  return 0;
}

/* A TCP port: 1..65535. */
static int
parse_port (const char *s, size_t len, uint16_t *port)
{
  return parse_u16 (s, len, 1, port);
}

/* A host name or IPv4 address: letters, digits, '.', '-', '_'. */
static int
name_ok (const char *s, size_t len)
{
  size_t i;

  if (len == 0 || len > MAX_HOST)
    return 0;
  for (i = 0; i < len; i++)
    {
      char c = s[i];
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_'))
        return 0;
    }
  return 1;
}

/* An IPv6 literal, optionally with a zone ("fe80::1%eth0"); the zone
 * separator is '%' in a portal and "%25" in a URL (RFC 6874). */
static int
v6_ok (const char *s, size_t len, const char *zone_sep)
{
  char addr[INET6_ADDRSTRLEN];
  struct in6_addr a;
  size_t alen = len, i;

  /* Address (at most 45) plus a zone that is an interface name or index. */
  if (len > 96)
    return 0;
  for (i = 0; i < len; i++)
    if (s[i] == '%')
      {
        size_t zl = strlen (zone_sep), j;

        if (len - i < zl || memcmp (s + i, zone_sep, zl) != 0)
          return 0;
        if (len - i == zl)
          return 0;             /* empty zone */
        for (j = i + zl; j < len; j++)
          {
            char c = s[j];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                  || (c >= '0' && c <= '9') || c == '.' || c == '-'
                  || c == '_'))
              return 0;
          }
        alen = i;
        break;
      }
  if (alen == 0 || alen >= sizeof addr)
    return 0;
  memcpy (addr, s, alen);
  addr[alen] = '\0';
  return inet_pton (AF_INET6, addr, &a) == 1;
}

int
braid_iscsi_parse_url (const char *url, struct braid_iscsi_url *out,
                       char *err, size_t errlen)
{
  const char *p, *auth, *slash, *hostp, *portp = NULL;
  size_t alen, hostlen, portlen = 0, tlen = 0;
  uint16_t port = DEFAULT_PORT;
  int v6 = 0;

  if (err != NULL && errlen > 0)
    err[0] = '\0';
  if (url == NULL || out == NULL)
    {
      set_err (err, errlen, "no URL given");
      return -EINVAL;
    }
  memset (out, 0, sizeof *out);
  out->lun = -1;

  if (strncasecmp (url, "iser://", 7) == 0)
    {
      set_err (err, errlen, "iser:// URLs are not supported: braid speaks "
               "iSCSI over TCP only");
      return -EINVAL;
    }
  if (strncasecmp (url, "iscsi://", 8) != 0)
    {
      set_err (err, errlen, "not an iscsi:// URL");
      return -EINVAL;
    }
  p = url + 8;

  /* Secrets first, before anything could echo the URL back: '@' cannot
   * occur in a host or an iSCSI name, so any '@' is a user[%password]
   * part, wherever a '/' in a password may have put it. */
  if (strchr (p, '@') != NULL
      || (strchr (p, '?') != NULL
          && (strstr (strchr (p, '?'), "user") != NULL
              || strstr (strchr (p, '?'), "password") != NULL)))
    {
      set_err (err, errlen, "credentials in the URL are refused: braid takes "
               "CHAP secrets from a root-only file or the environment only");
      return -EPERM;
    }
  if (strchr (p, '?') != NULL)
    {
      set_err (err, errlen, "URL options after '?' are not supported; set "
               "them in braid's configuration");
      return -EINVAL;
    }
  if (strchr (p, '#') != NULL)
    {
      set_err (err, errlen, "a '#' fragment has no meaning in an iscsi:// "
               "URL");
      return -EINVAL;
    }

  /* Authority: host[:port] up to the first '/'. */
  auth = p;
  slash = strchr (p, '/');
  alen = slash ? (size_t) (slash - p) : strlen (p);
  if (alen == 0)
    {
      set_err (err, errlen, "no host in the URL");
      return -EINVAL;
    }
  if (auth[0] == '[')
    {
      const char *close = memchr (auth, ']', alen);

      if (close == NULL)
        {
          set_err (err, errlen, "'[' without ']' around the IPv6 address");
          return -EINVAL;
        }
      hostp = auth + 1;
      hostlen = (size_t) (close - hostp);
      if (!v6_ok (hostp, hostlen, "%25"))
        {
          set_err (err, errlen, "'%.*s' is not an IPv6 address",
                   (int) (hostlen > 64 ? 64 : hostlen), hostp);
          return -EINVAL;
        }
      v6 = 1;
      if (close + 1 < auth + alen)
        {
          if (close[1] != ':')
            {
              set_err (err, errlen, "unexpected text after ']' (a port is "
                       "written \"]:3260\")");
              return -EINVAL;
            }
          portp = close + 2;
          portlen = (size_t) (auth + alen - portp);
        }
    }
  else
    {
      const char *colon = memchr (auth, ':', alen);

      if (colon != NULL && memchr (colon + 1, ':', (size_t) (auth + alen - colon - 1)))
        {
          set_err (err, errlen, "an IPv6 address in a URL must be written "
                   "in brackets, e.g. iscsi://[::1]:3260/...");
          return -EINVAL;
        }
      hostp = auth;
      hostlen = colon ? (size_t) (colon - auth) : alen;
      if (!name_ok (hostp, hostlen))
        {
          set_err (err, errlen, "'%.*s' is not a valid host name or address",
                   (int) (hostlen > 64 ? 64 : hostlen), hostp);
          return -EINVAL;
        }
      if (colon != NULL)
        {
          portp = colon + 1;
          portlen = (size_t) (auth + alen - portp);
        }
    }
  if (portp != NULL && parse_port (portp, portlen, &port) < 0)
    {
      set_err (err, errlen, "'%.*s' is not a TCP port (1..65535)",
               (int) (portlen > 16 ? 16 : portlen), portp);
      return -EINVAL;
    }

  /* The portal, normalised; hostlen <= 253, so it always fits in 300. */
  if (v6)
    {
      /* Store the zone with a plain '%', as the socket layer wants it. */
      char h[MAX_HOST + 1];
      const char *z = memchr (hostp, '%', hostlen);
      size_t hl;

      if (z != NULL)
        {
          size_t before = (size_t) (z - hostp);
          memcpy (h, hostp, before);
          h[before] = '%';
          memcpy (h + before + 1, z + 3, hostlen - before - 3);
          hl = hostlen - 2;
        }
      else
        {
          memcpy (h, hostp, hostlen);
          hl = hostlen;
        }
      h[hl] = '\0';
      snprintf (out->portal, sizeof out->portal, "[%s]:%u", h, port);
    }
  else
    snprintf (out->portal, sizeof out->portal, "%.*s:%u", (int) hostlen,
              hostp, port);

  /* A portal-only URL (iscsi://host[:port][/]) is what discovery uses. */
  if (slash == NULL || slash[1] == '\0')
    return 0;

  /* The target name, percent-decoded. */
  for (p = slash + 1; *p != '\0' && *p != '/'; p++)
    {
      unsigned char c = (unsigned char) *p;

      if (c == '%')
        {
          int hi = braid_hex_digit (p[1]), lo = hi < 0 ? -1 : braid_hex_digit (p[2]);

          if (hi < 0 || lo < 0)
            {
              set_err (err, errlen, "bad %%-escape in the target name "
                       "(\"%%\" must be followed by two hex digits)");
              return -EINVAL;
            }
          c = (unsigned char) (hi << 4 | lo);
          p += 2;
        }
      /* iSCSI names have no spaces, controls or '/'. */
      if (c <= 0x20 || c == 0x7f || c == '/')
        {
          set_err (err, errlen, "the target name contains a character "
                   "(0x%02x) that iSCSI names cannot have", c);
          return -EINVAL;
        }
      if (tlen >= MAX_TARGET)
        {
          set_err (err, errlen, "the target name is longer than %d bytes",
                   MAX_TARGET);
          return -EINVAL;
        }
      out->target[tlen++] = (char) c;
    }
  out->target[tlen] = '\0';
  if (tlen == 0)
    {
      set_err (err, errlen, "empty target name in the URL");
      return -EINVAL;
    }
  if (*p == '\0' || p[1] == '\0')
    return 0;                   /* no LUN ("iqn" or "iqn/") */

  /* The LUN, then at most one trailing '/'. */
  {
    const char *l = p + 1;
    long v = 0;
    size_t i = 0;

    while (l[i] >= '0' && l[i] <= '9' && i < 6)
      {
        v = v * 10 + (l[i] - '0');
        i++;
      }
    if (i == 0 || (l[i] != '\0' && !(l[i] == '/' && l[i + 1] == '\0')))
      {
        set_err (err, errlen, "the LUN must be a decimal number after the "
                 "target name, with nothing after it");
        return -EINVAL;
      }
    if (v > MAX_LUN)
      {
        set_err (err, errlen, "LUN %ld is out of range (0..%d)", v, MAX_LUN);
        return -EINVAL;
      }
    out->lun = (int) v;
  }
  return 0;
}

int
braid_iscsi_split_portal (const char *portal, char *host, size_t hostcap,
                          uint16_t *port)
{
  const char *end, *comma, *hostp, *portp = NULL;
  size_t len, hostlen, portlen = 0;
  uint16_t pv = DEFAULT_PORT;

  if (portal == NULL || host == NULL || hostcap == 0 || port == NULL)
    return -EINVAL;
  len = strnlen (portal, 1024);
  if (len == 0 || len >= 1024)
    return -EINVAL;
  end = portal + len;

  /* SendTargets writes "addr:port,tpgt": drop the tag. */
  comma = memchr (portal, ',', len);
  if (comma != NULL)
    {
      uint16_t tag;
      size_t tl = (size_t) (end - comma - 1);

      if (parse_u16 (comma + 1, tl, 0, &tag) < 0)
        return -EINVAL;
      end = comma;
      len = (size_t) (end - portal);
    }

  if (portal[0] == '[')
    {
      const char *close = memchr (portal, ']', len);

      if (close == NULL)
        return -EINVAL;
      hostp = portal + 1;
      hostlen = (size_t) (close - hostp);
      if (!v6_ok (hostp, hostlen, "%"))
        return -EINVAL;
      if (close + 1 < end)
        {
          if (close[1] != ':')
            return -EINVAL;
          portp = close + 2;
          portlen = (size_t) (end - portp);
        }
    }
  else
    {
      const char *colon = memchr (portal, ':', len);

      if (colon != NULL && memchr (colon + 1, ':', (size_t) (end - colon - 1)))
        {
          /* More than one ':' and no brackets: a bare IPv6 address, which
           * cannot carry a port. */
          if (!v6_ok (portal, len, "%"))
            return -EINVAL;
          hostp = portal;
          hostlen = len;
        }
      else
        {
          hostp = portal;
          hostlen = colon ? (size_t) (colon - portal) : len;
          if (!name_ok (hostp, hostlen))
            return -EINVAL;
          if (colon != NULL)
            {
              portp = colon + 1;
              portlen = (size_t) (end - portp);
            }
        }
    }
  if (portp != NULL && parse_port (portp, portlen, &pv) < 0)
    return -EINVAL;
  if (hostlen + 1 > hostcap)
    return -EINVAL;
  memcpy (host, hostp, hostlen);
  host[hostlen] = '\0';
  *port = pv;
  return 0;
}
