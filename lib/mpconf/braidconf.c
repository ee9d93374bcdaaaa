/* braidconf.c: braid.conf, braidd's own settings (include/braid/braidconf.h).
 *
 * Lines and tokens come from lexer.c, so quoting and comments behave as in
 * multipath.conf.  The grammar on top is deliberately strict, unlike
 * multipath-tools': braid.conf is new, nobody's old file depends on
 * leniency, and a typo in a portal list or an iface mapping is better
 * refused at load time than discovered as a missing path later.
 *
 * keywords[] is the single description of the file: the parser looks
 * keywords up in it, the dump walks it, and braid_bconf_docs() writes
 * docs/braid.conf.md from it (braid-mpconf-doc --braidconf; the unit
 * suite checks the committed page).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "braid/braidconf.h"
#include "braid/iscsi.h"
#include "mpconf-internal.h"

enum bc_sect { BC_TOP, BC_STORAGE, BC_EXPORT, BC_NETWORK, BC__NSECT };

static const char *const sect_names[BC__NSECT] = {
  [BC_TOP] = NULL, [BC_STORAGE] = "storage", [BC_EXPORT] = "export",
  [BC_NETWORK] = "network",
};

enum bc_type {
  T_SECTION, T_IQN, T_PATHS, T_HOSTS, T_IFACES, T_USER, T_GROUP, T_MODE,
  T_MS, T_NAME, T_IFNAME, T_DIGEST,
};

/* Enum order is dump and docs order: plain keywords, then sections. */
enum bc_kw {
  K_INTERFACES, K_ADMIN_GROUP, K_NOOP_INTERVAL, K_NOOP_TIMEOUT,
  K_HEADER_DIGEST, K_DATA_DIGEST,
  K_STORAGE, K_TARGET, K_PATHS, K_SAN_HOSTS,
  K_EXPORT, K_OWNER, K_GROUP, K_MODE,
  K_NETWORK, K_NET_NAME, K_NET_INTERFACE, K__COUNT
};

struct bc_keyword {
  const char *name;
  unsigned char sect;               /* where it may appear */
  unsigned char type;
  unsigned char child;              /* T_SECTION: the section it opens */
  unsigned char multi;              /* may repeat */
  long long lo, hi;                 /* T_MS bounds */
  const char *def;                  /* default as documented */
  const char *syntax;               /* value syntax as documented */
  const char *doc;                  /* what it does */
};

static const struct bc_keyword keywords[K__COUNT] = {
  [K_INTERFACES] = { "interfaces", BC_TOP, T_IFACES, 0, 0, 0, 0, "none",
    "`\"IFACE=DEV,IFACE=DEV...\"`",
    "Eucalyptus' `STORAGE_INTERFACES`: maps the `ifaceN:` prefixes of "
    "`paths` to network devices.  A session to a prefixed portal is bound "
    "to that device (SO_BINDTODEVICE).  A prefix with no mapping is an "
    "error." },
  [K_ADMIN_GROUP] = { "admin_group", BC_TOP, T_GROUP, 0, 0, 0, 0, "none",
    "group name or GID",
    "Members of this group (primary or supplementary) may run the bond "
    "verbs and the `show` commands on the control socket, which is then "
    "made mode 0660 with this group.  Every other command stays root-only." },
  [K_NOOP_INTERVAL] = { "noop_out_interval", BC_TOP, T_MS, 0, 0, 50, 3600000,
    "500", "milliseconds, 50..3600000",
    "Idle time after which a session braidd creates sends a NOP-Out ping "
    "(open-iscsi's `noop_out_interval`, in milliseconds here).  Applies "
    "to sessions logged in after the configuration is (re)loaded." },
  [K_NOOP_TIMEOUT] = { "noop_out_timeout", BC_TOP, T_MS, 0, 0, 50, 3600000,
    "1000", "milliseconds, 50..3600000",
    "How long a ping may go unanswered before the session is declared "
    "dead and its paths fail (open-iscsi's `noop_out_timeout`, in "
    "milliseconds).  Applies to sessions logged in after the load." },
  [K_HEADER_DIGEST] = { "header_digest", BC_TOP, T_DIGEST, 0, 0, 0, 0,
    "None,CRC32C", "`None`, `CRC32C`, `None,CRC32C` or `CRC32C,None`",
    "The HeaderDigest values offered at login, most wanted first "
    "(open-iscsi's `node.conn[0].iscsi.HeaderDigest`); the target picks.  "
    "`CRC32C` alone fails the login of a target that refuses it.  A CRC32C "
    "mismatch drops that connection, which is logged in again.  Applies "
    "to sessions logged in after the configuration is (re)loaded." },
  [K_DATA_DIGEST] = { "data_digest", BC_TOP, T_DIGEST, 0, 0, 0, 0,
    "None", "`None`, `CRC32C`, `None,CRC32C` or `CRC32C,None`",
    "The DataDigest values offered (open-iscsi's "
    "`node.conn[0].iscsi.DataDigest`): a CRC32C over every data segment, "
    "catching what TCP's checksum misses on a bad NIC or switch, for some "
    "CPU.  Applies to sessions logged in after the load." },
  [K_STORAGE] = { "storage", BC_TOP, T_SECTION, BC_STORAGE, 1, 0, 0, NULL,
    "`{ ... }`, may repeat",
    "A target braidd logs in to through every portal of `paths` (or, "
    "without `paths`, every portal the first answering `san_hosts` entry "
    "reports).  Sessions made for a storage section are not saved in "
    "nodes.json: the file is their record." },
  [K_TARGET] = { "target", BC_STORAGE, T_IQN, 0, 0, 0, 0, "required",
    "iSCSI name (`iqn.`, `eui.` or `naa.`)", "The target's name." },
  [K_PATHS] = { "paths", BC_STORAGE, T_PATHS, 0, 0, 0, 0, "none",
    "`\"ADDR,ADDR...\"` or `\"iface0:ADDR,iface1:ADDR...\"`; ADDR is "
    "`host`, `host:port` or `[v6]:port`",
    "Eucalyptus' `storage.ncpaths`/`storage.scpaths`: one session per "
    "portal; the port defaults to 3260.  `ifaceN:` binds that session to "
    "the device `interfaces` maps ifaceN to." },
  [K_SAN_HOSTS] = { "san_hosts", BC_STORAGE, T_HOSTS, 0, 0, 0, 0, "none",
    "`\"ADDR,ADDR...\"`",
    "Eucalyptus' `storage.sanhost`: discovery (SendTargets) hosts, tried "
    "in order; an unreachable one is logged and the next is tried.  Used "
    "when the section has no `paths`, and by `braid discover` without a "
    "portal.  A section needs `paths` or `san_hosts`." },
  [K_EXPORT] = { "export", BC_TOP, T_SECTION, BC_EXPORT, 0, 0, 0, NULL,
    "`{ ... }`",
    "Who may open the NBD export socket `<run-dir>/nbd.sock` (what "
    "Eucalyptus' 12-dm-permissions.rules udev rule does for dm devices)." },
  [K_OWNER] = { "owner", BC_EXPORT, T_USER, 0, 0, 0, 0, "root (braidd's user)",
    "user name or UID", "Owner of the export socket." },
  [K_GROUP] = { "group", BC_EXPORT, T_GROUP, 0, 0, 0, 0, "braidd's group",
    "group name or GID", "Group of the export socket." },
  [K_MODE] = { "mode", BC_EXPORT, T_MODE, 0, 0, 0, 0, "0600",
    "octal, at most 0777", "Mode of the export socket." },
  [K_NETWORK] = { "network", BC_TOP, T_SECTION, BC_NETWORK, 1, 0, 0, NULL,
    "`{ ... }`, may repeat",
    "A network an iSCSI bond may use (oVirt's data-center networks)." },
  [K_NET_NAME] = { "name", BC_NETWORK, T_NAME, 0, 0, 0, 0, "required",
    "letters, digits, `-`, `_`, `.` (at most 63)",
    "The network's name, unique in the file; bonds refer to it." },
  [K_NET_INTERFACE] = { "interface", BC_NETWORK, T_IFNAME, 0, 0, 0, 0,
    "required", "a network device name (at most 15 bytes)",
    "The device that carries this network on this host.  A host where it "
    "does not exist does not have the network." },
};

/* ------------------------------------------------------------------ */
/* Loading                                                            */
/* ------------------------------------------------------------------ */

struct bc_ctx {
  struct braid_bconf *c;
  const char *file;
  int line;
  char *err;
  size_t errlen, errused;
  int nerr;
  int nomem;
  /* which storage path lines named which iface (checked at the end,
   * when every "interfaces" line has been read) */
  struct { char iface[64]; int line; } *pending;
  size_t npending;
};

static void
bc_error (struct bc_ctx *x, int line, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
bc_error (struct bc_ctx *x, int line, const char *fmt, ...)
{
  char msg[700];
  va_list ap;
  int n;

  va_start (ap, fmt);
  vsnprintf (msg, sizeof msg, fmt, ap);
  va_end (ap);
  x->nerr++;
  if (!x->err || x->errused + 1 >= x->errlen)
    return;
  if (line > 0)
    n = snprintf (x->err + x->errused, x->errlen - x->errused, "%s%s line %d: %s",
                  x->errused ? "\n" : "", x->file, line, msg);
  else
    n = snprintf (x->err + x->errused, x->errlen - x->errused, "%s%s: %s",
                  x->errused ? "\n" : "", x->file, msg);
  if (n > 0)
    x->errused += (size_t) n < x->errlen - x->errused ? (size_t) n
                  : x->errlen - x->errused - 1;
}

static int
find_kw (const char *name, int sect)
{
  for (int i = 0; i < K__COUNT; i++)
    if (keywords[i].sect == sect && strcmp (keywords[i].name, name) == 0)
      return i;
  return -1;
}

static int
grow (void **arr, size_t n, size_t elsize)
{
  void *p = realloc (*arr, (n + 1) * elsize);
  if (!p)
    return -ENOMEM;
  memset ((char *) p + n * elsize, 0, elsize);
  *arr = p;
  return 0;
}

/* "host", "host:port", "[v6]:port", "[v6]" -> "host:port" with the port
 * filled in.  Returns 0 or -EINVAL. */
static int
norm_portal (const char *s, char *out, size_t len)
{
  const char *colon;
  char host[256];
  unsigned long port = BRAID_BCONF_DEFAULT_PORT;

  if (!*s)
    return -EINVAL;
  if (*s == '[') {
    const char *close = strchr (s, ']');
    if (!close || close == s + 1 || (size_t) (close - s) >= sizeof host)
      return -EINVAL;
    snprintf (host, sizeof host, "%.*s", (int) (close - s + 1), s);
    colon = close[1] == ':' ? close + 1 : NULL;
    if (!colon && close[1])
      return -EINVAL;
  }
  else {
    colon = strchr (s, ':');
    if (colon && strchr (colon + 1, ':'))
      return -EINVAL;              /* bare IPv6 needs brackets */
    size_t hl = colon ? (size_t) (colon - s) : strlen (s);
    if (hl == 0 || hl >= sizeof host)
      return -EINVAL;
    snprintf (host, sizeof host, "%.*s", (int) hl, s);
    for (size_t i = 0; host[i]; i++)
      if (!isalnum ((unsigned char) host[i]) && host[i] != '.' && host[i] != '-'
          && host[i] != '_')
        return -EINVAL;
  }
  if (colon) {
    char *end;
    errno = 0;
    port = strtoul (colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port == 0 || port > 65535)
      return -EINVAL;
  }
  if ((size_t) snprintf (out, len, "%s:%lu", host, port) >= len)
    return -EINVAL;
  return 0;
}

/* Split a comma list in place; empty items are an error. */
static int
split_list (char *s, char **items, size_t max, size_t *n)
{
  *n = 0;
  for (;;) {
    char *comma = strchr (s, ',');
    if (*n == max)
      return -E2BIG;
    if (comma)
      *comma = 0;
    while (*s == ' ')
      s++;
    char *end = s + strlen (s);
    while (end > s && end[-1] == ' ')
      *--end = 0;
    if (!*s)
      return -EINVAL;
    items[(*n)++] = s;
    if (!comma)
      return 0;
    s = comma + 1;
  }
}

/* The digest settings as open-iscsi writes them, by enum braid_iscsi_digest
 * value (matched without regard to case). */
static const char *const digest_names[] = {
  [BRAID_DIGEST_NONE] = "None", [BRAID_DIGEST_CRC32C] = "CRC32C",
  [BRAID_DIGEST_NONE_CRC32C] = "None,CRC32C",
  [BRAID_DIGEST_CRC32C_NONE] = "CRC32C,None",
};

static int
digest_value (const char *v)
{
  for (int i = 0; i < (int) (sizeof digest_names / sizeof digest_names[0]); i++)
    if (!strcasecmp (v, digest_names[i]))
      return i;
  return -1;
}

static bool
valid_ident (const char *s, size_t max)
{
  size_t n = strlen (s);
  if (n == 0 || n > max)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!isalnum ((unsigned char) s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
      return false;
  return true;
}

/* An "ifaceN:" style prefix: a name that starts with a letter, followed by
 * a colon and something that is not just a port number. */
static const char *
iface_prefix (const char *item, char *name, size_t len)
{
  const char *colon = strchr (item, ':');
  if (!colon || item[0] == '[' || !isalpha ((unsigned char) item[0]))
    return NULL;
  for (const char *p = item; p < colon; p++)
    if (!isalnum ((unsigned char) *p) && *p != '_' && *p != '-')
      return NULL;
  if (colon[1] && strspn (colon + 1, "0123456789") == strlen (colon + 1))
    return NULL;                    /* "host:3260" */
  if ((size_t) (colon - item) >= len)
    return NULL;
  snprintf (name, len, "%.*s", (int) (colon - item), item);
  return colon + 1;
}

static int
parse_id (const char *v, bool group, long long *out)
{
  char *end;
  errno = 0;
  unsigned long long n = strtoull (v, &end, 10);
  if (*v && !*end && !errno && n < (unsigned long long) UINT32_MAX) {
    *out = (long long) n;
    return 0;
  }
  if (group) {
    struct group *g = getgrnam (v);
    if (g) {
      *out = g->gr_gid;
      return 0;
    }
  }
  else {
    struct passwd *pw = getpwnam (v);
    if (pw) {
      *out = pw->pw_uid;
      return 0;
    }
  }
  return -ENOENT;
}

static void
set_value (struct bc_ctx *x, int kw, struct braid_bconf_storage *st,
           struct braid_bconf_network *net, char *v)
{
  struct braid_bconf *c = x->c;
  const struct bc_keyword *k = &keywords[kw];
  char *items[256];
  size_t n;
  int r;

  switch (k->type) {
  case T_IQN:
    if (strlen (v) >= sizeof st->target
        || (strncmp (v, "iqn.", 4) && strncmp (v, "eui.", 4) && strncmp (v, "naa.", 4))) {
      bc_error (x, x->line, "%s: \"%s\" is not an iSCSI name", k->name, v);
      return;
    }
    snprintf (st->target, sizeof st->target, "%s", v);
    return;
  case T_PATHS:
  case T_HOSTS:
    if ((r = split_list (v, items, 256, &n)) < 0) {
      bc_error (x, x->line, "%s: %s", k->name,
                r == -E2BIG ? "more than 256 entries" : "empty entry in the list");
      return;
    }
    for (size_t i = 0; i < n; i++) {
      char iface[64] = "", portal[300];
      const char *addr = items[i];
      if (k->type == T_PATHS) {
        const char *rest = iface_prefix (items[i], iface, sizeof iface);
        if (rest)
          addr = rest;
      }
      if (norm_portal (addr, portal, sizeof portal) < 0) {
        bc_error (x, x->line, "%s: \"%s\" is not an address (host, host:port or [v6]:port)",
                  k->name, addr);
        continue;
      }
      if (k->type == T_HOSTS) {
        if (grow ((void **) &st->san_hosts, st->nsan_hosts, sizeof *st->san_hosts) < 0) {
          x->nomem = 1;
          return;
        }
        snprintf (st->san_hosts[st->nsan_hosts++], sizeof *st->san_hosts, "%s", portal);
        continue;
      }
      if (grow ((void **) &st->paths, st->npaths, sizeof *st->paths) < 0
          || (iface[0] && grow ((void **) &x->pending, x->npending, sizeof *x->pending) < 0)) {
        x->nomem = 1;
        return;
      }
      struct braid_bconf_path *p = &st->paths[st->npaths++];
      snprintf (p->iface, sizeof p->iface, "%s", iface);
      snprintf (p->portal, sizeof p->portal, "%s", portal);
      if (iface[0]) {
        snprintf (x->pending[x->npending].iface, sizeof x->pending->iface, "%s", iface);
        x->pending[x->npending++].line = x->line;
      }
    }
    return;
  case T_IFACES:
    if ((r = split_list (v, items, 256, &n)) < 0) {
      bc_error (x, x->line, "%s: %s", k->name,
                r == -E2BIG ? "more than 256 entries" : "empty entry in the list");
      return;
    }
    for (size_t i = 0; i < n; i++) {
      char *eq = strchr (items[i], '=');
      if (!eq) {
        bc_error (x, x->line, "interfaces: \"%s\" is not IFACE=DEVICE", items[i]);
        continue;
      }
      *eq = 0;
      if (!valid_ident (items[i], 63) || !valid_ident (eq + 1, 15)) {
        bc_error (x, x->line, "interfaces: bad name in \"%s=%s\" (device names are "
                  "at most 15 bytes)", items[i], eq + 1);
        continue;
      }
      for (size_t j = 0; j < c->nifaces; j++)
        if (!strcmp (c->ifaces[j].name, items[i]))
          bc_error (x, x->line, "interfaces: %s is mapped twice", items[i]);
      if (grow ((void **) &c->ifaces, c->nifaces, sizeof *c->ifaces) < 0) {
        x->nomem = 1;
        return;
      }
      snprintf (c->ifaces[c->nifaces].name, sizeof c->ifaces->name, "%s", items[i]);
      snprintf (c->ifaces[c->nifaces++].dev, sizeof c->ifaces->dev, "%s", eq + 1);
    }
    return;
  case T_USER:
  case T_GROUP: {
    long long id;
    if (parse_id (v, k->type == T_GROUP, &id) < 0) {
      bc_error (x, x->line, "%s: no such %s \"%s\"", k->name,
                k->type == T_GROUP ? "group" : "user", v);
      return;
    }
    if (kw == K_OWNER)
      c->export_owner = id;
    else if (kw == K_GROUP)
      c->export_group = id;
    else
      c->admin_group = id;
    return;
  }
  case T_MODE: {
    char *end;
    errno = 0;
    unsigned long m = strtoul (v, &end, 8);
    if (!*v || *end || errno || m > 0777) {
      bc_error (x, x->line, "mode: \"%s\" is not an octal mode (at most 0777)", v);
      return;
    }
    c->export_mode = (unsigned) m;
    return;
  }
  case T_MS: {
    char *end;
    errno = 0;
    long long ms = strtoll (v, &end, 10);
    if (!*v || *end || errno || ms < k->lo || ms > k->hi) {
      bc_error (x, x->line, "%s: \"%s\" is not a number of milliseconds in %lld..%lld",
                k->name, v, k->lo, k->hi);
      return;
    }
    if (kw == K_NOOP_INTERVAL)
      c->noop_out_interval = (uint32_t) ms;
    else
      c->noop_out_timeout = (uint32_t) ms;
    return;
  }
  case T_DIGEST: {
    int d = digest_value (v);
    if (d < 0) {
      bc_error (x, x->line, "%s: \"%s\" is not None, CRC32C, None,CRC32C or "
                "CRC32C,None", k->name, v);
      return;
    }
    if (kw == K_HEADER_DIGEST)
      c->header_digest = d;
    else
      c->data_digest = d;
    return;
  }
  case T_NAME:
    if (!valid_ident (v, sizeof net->name - 1)) {
      bc_error (x, x->line, "name: \"%s\" is not a name (letters, digits, -, _, .)", v);
      return;
    }
    snprintf (net->name, sizeof net->name, "%s", v);
    return;
  case T_IFNAME:
    if (!valid_ident (v, sizeof net->interface - 1)) {
      bc_error (x, x->line, "interface: \"%s\" is not a device name (at most 15 bytes)", v);
      return;
    }
    snprintf (net->interface, sizeof net->interface, "%s", v);
    return;
  default:
    return;
  }
}

/* A section just closed (or the file ended inside it): is it complete? */
static void
close_section (struct bc_ctx *x, int sect, struct braid_bconf_storage *st,
               struct braid_bconf_network *net, int line)
{
  if (sect == BC_STORAGE) {
    if (!st->target[0])
      bc_error (x, line, "storage section without a target");
    else if (!st->npaths && !st->nsan_hosts)
      bc_error (x, line, "storage section for %s has neither paths nor san_hosts",
                st->target);
  }
  else if (sect == BC_NETWORK) {
    if (!net->name[0] || !net->interface[0])
      bc_error (x, line, "network section needs a name and an interface");
    else
      for (size_t i = 0; i + 1 < x->c->nnetworks; i++)
        if (!strcmp (x->c->networks[i].name, net->name))
          bc_error (x, line, "network %s is defined twice (first at line %d)",
                    net->name, x->c->networks[i].line);
  }
}

static void
parse (struct bc_ctx *x, FILE *f)
{
  struct mpc_tokens tok = { 0 };
  char buf[MPC_MAXBUF];
  int sect = BC_TOP, sect_line = 0;
  unsigned char seen[K__COUNT] = { 0 }, seen_top[K__COUNT] = { 0 };
  struct braid_bconf_storage *st = NULL;
  struct braid_bconf_network *net = NULL;
  struct braid_bconf *c = x->c;

  while (!x->nomem && mpc_read_line (f, buf)) {
    x->line++;
    if (mpc_tokenize (buf, &tok) < 0) {
      x->nomem = 1;
      break;
    }
    if (tok.n == 0)
      continue;
    const char *w = tok.t[0];
    if (MPC_IS_QUOTE (w)) {
      bc_error (x, x->line, "a line must start with a keyword, not a quoted string");
      continue;
    }
    if (!strcmp (w, "}")) {
      if (sect == BC_TOP)
        bc_error (x, x->line, "'}' without an open section");
      else {
        if (tok.n > 1)
          bc_error (x, x->line, "text after '}'");
        close_section (x, sect, st, net, sect_line);
        sect = BC_TOP;
      }
      continue;
    }
    int kw = find_kw (w, sect);
    if (kw < 0) {
      int other = -1;
      for (int s = 0; s < BC__NSECT && other < 0; s++)
        if (s != sect && find_kw (w, s) >= 0)
          other = s;
      if (sect == BC_TOP)
        bc_error (x, x->line, "unknown keyword \"%s\"%s%s%s", w,
                  other > 0 ? " (it belongs in the " : "",
                  other > 0 ? sect_names[other] : "", other > 0 ? " section)" : "");
      else
        bc_error (x, x->line, "unknown keyword \"%s\" in the %s section", w,
                  sect_names[sect]);
      continue;
    }
    unsigned char *seenv = sect == BC_TOP ? seen_top : seen;
    if (!keywords[kw].multi && seenv[kw]++)
      bc_error (x, x->line, "%s given twice", w);
    if (keywords[kw].type == T_SECTION) {
      if (tok.n < 2 || strcmp (tok.t[1], "{")) {
        bc_error (x, x->line, "%s: expected '{' on the same line", w);
        continue;
      }
      if (tok.n > 2) {
        bc_error (x, x->line, "text after '%s {' (one keyword per line)", w);
        continue;
      }
      memset (seen, 0, sizeof seen);
      sect = keywords[kw].child;
      sect_line = x->line;
      if (sect == BC_STORAGE) {
        if (grow ((void **) &c->storage, c->nstorage, sizeof *c->storage) < 0) {
          x->nomem = 1;
          break;
        }
        st = &c->storage[c->nstorage++];
        st->line = x->line;
      }
      else if (sect == BC_NETWORK) {
        if (grow ((void **) &c->networks, c->nnetworks, sizeof *c->networks) < 0) {
          x->nomem = 1;
          break;
        }
        net = &c->networks[c->nnetworks++];
        net->line = x->line;
      }
      continue;
    }
    /* KEY VALUE or KEY "VALUE" and nothing else */
    bool quoted = tok.n >= 2 && MPC_IS_QUOTE (tok.t[1]);
    size_t want = quoted ? (tok.n >= 3 && MPC_IS_QUOTE (tok.t[2]) ? 3 : 4) : 2;
    if (tok.n < 2) {
      bc_error (x, x->line, "%s needs a value", w);
      continue;
    }
    if (quoted && !MPC_IS_QUOTE (tok.t[tok.n - 1])) {
      bc_error (x, x->line, "%s: missing closing quote", w);
      continue;
    }
    if (tok.n != want || (!quoted && (!strcmp (tok.t[1], "{") || !strcmp (tok.t[1], "}")))) {
      bc_error (x, x->line, "%s takes one value (quote a value with blanks)", w);
      continue;
    }
    char *v = mpc_token_value (&tok);
    if (!v) {
      x->nomem = 1;
      break;
    }
    set_value (x, kw, st, net, v);
    free (v);
  }
  mpc_tokens_clear (&tok);
  if (sect != BC_TOP) {
    bc_error (x, sect_line, "%s section not closed (missing '}')", sect_names[sect]);
    close_section (x, sect, st, net, sect_line);
  }
}

/* Every ifaceN: prefix needs a mapping; storage sections get their
 * devices filled in. */
static void
resolve_ifaces (struct bc_ctx *x)
{
  struct braid_bconf *c = x->c;
  size_t pi = 0;
  for (size_t s = 0; s < c->nstorage; s++)
    for (size_t i = 0; i < c->storage[s].npaths; i++) {
      struct braid_bconf_path *p = &c->storage[s].paths[i];
      if (!p->iface[0])
        continue;
      int line = pi < x->npending ? x->pending[pi].line : c->storage[s].line;
      pi++;
      size_t j;
      for (j = 0; j < c->nifaces && strcmp (c->ifaces[j].name, p->iface); j++)
        ;
      if (j == c->nifaces)
        bc_error (x, line, "paths: %s has no mapping in \"interfaces\" "
                  "(add %s=DEVICE there)", p->iface, p->iface);
      else
        snprintf (p->dev, sizeof p->dev, "%s", c->ifaces[j].dev);
    }
}

struct braid_bconf *
braid_bconf_new_default (void)
{
  struct braid_bconf *c = calloc (1, sizeof *c);
  if (!c)
    return NULL;
  c->export_owner = c->export_group = c->admin_group = -1;
  c->export_mode = 0600;
  c->noop_out_interval = 500;
  c->noop_out_timeout = 1000;
  c->header_digest = BRAID_DIGEST_NONE_CRC32C;
  c->data_digest = BRAID_DIGEST_NONE;
  return c;
}

void
braid_bconf_free (struct braid_bconf *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->nstorage; i++) {
    free (c->storage[i].paths);
    free (c->storage[i].san_hosts);
  }
  free (c->storage);
  free (c->ifaces);
  free (c->networks);
  free (c);
}

int
braid_bconf_load (const char *file, struct braid_bconf **out, char *err,
                  size_t errlen)
{
  struct bc_ctx x = { .err = err, .errlen = errlen };
  FILE *f;

  *out = NULL;
  if (err && errlen)
    err[0] = 0;
  if (!file)
    file = BRAID_BCONF_DEFAULT_FILE;
  x.file = file;
  if (!(x.c = braid_bconf_new_default ()))
    return -ENOMEM;
  f = fopen (file, "re");
  if (!f) {
    int e = errno;
    if (e == ENOENT) {
      *out = x.c;
      return 0;
    }
    bc_error (&x, 0, "cannot read: %s", strerror (e));
    braid_bconf_free (x.c);
    return -e;
  }
  snprintf (x.c->file, sizeof x.c->file, "%s", file);
  parse (&x, f);
  fclose (f);
  if (!x.nomem)
    resolve_ifaces (&x);
  free (x.pending);
  if (x.nomem || x.nerr) {
    braid_bconf_free (x.c);
    return x.nomem ? -ENOMEM : -EINVAL;
  }
  *out = x.c;
  return 0;
}

const struct braid_bconf_network *
braid_bconf_find_network (const struct braid_bconf *c, const char *name)
{
  for (size_t i = 0; c && i < c->nnetworks; i++)
    if (!strcmp (c->networks[i].name, name))
      return &c->networks[i];
  return NULL;
}

/* ------------------------------------------------------------------ */
/* Dump and docs                                                      */
/* ------------------------------------------------------------------ */

static void
dump_value (struct mpc_buf *b, const struct braid_bconf *c, int kw,
            const struct braid_bconf_storage *st,
            const struct braid_bconf_network *net, const char *indent)
{
  const struct bc_keyword *k = &keywords[kw];
  switch (kw) {
  case K_INTERFACES:
    mpc_buf_addf (b, "%s%s \"", indent, k->name);
    for (size_t i = 0; i < c->nifaces; i++)
      mpc_buf_addf (b, "%s%s=%s", i ? "," : "", c->ifaces[i].name, c->ifaces[i].dev);
    mpc_buf_add (b, "\"\n");
    return;
  case K_ADMIN_GROUP:
    if (c->admin_group >= 0)
      mpc_buf_addf (b, "%s%s %lld\n", indent, k->name, c->admin_group);
    else
      mpc_buf_addf (b, "%s# %s (none)\n", indent, k->name);
    return;
  case K_NOOP_INTERVAL:
    mpc_buf_addf (b, "%s%s %u\n", indent, k->name, c->noop_out_interval);
    return;
  case K_NOOP_TIMEOUT:
    mpc_buf_addf (b, "%s%s %u\n", indent, k->name, c->noop_out_timeout);
    return;
  case K_HEADER_DIGEST:
  case K_DATA_DIGEST:
    mpc_buf_addf (b, "%s%s %s\n", indent, k->name,
                  digest_names[kw == K_HEADER_DIGEST ? c->header_digest
                                                     : c->data_digest]);
    return;
  case K_TARGET:
    mpc_buf_addf (b, "%s%s %s\n", indent, k->name, st->target);
    return;
  case K_PATHS:
    if (!st->npaths)
      return;
    mpc_buf_addf (b, "%s%s \"", indent, k->name);
    for (size_t i = 0; i < st->npaths; i++)
      mpc_buf_addf (b, "%s%s%s%s", i ? "," : "", st->paths[i].iface,
                    st->paths[i].iface[0] ? ":" : "", st->paths[i].portal);
    mpc_buf_add (b, "\"\n");
    return;
  case K_SAN_HOSTS:
    if (!st->nsan_hosts)
      return;
    mpc_buf_addf (b, "%s%s \"", indent, k->name);
    for (size_t i = 0; i < st->nsan_hosts; i++)
      mpc_buf_addf (b, "%s%s", i ? "," : "", st->san_hosts[i]);
    mpc_buf_add (b, "\"\n");
    return;
  case K_OWNER:
  case K_GROUP: {
    long long id = kw == K_OWNER ? c->export_owner : c->export_group;
    if (id >= 0)
      mpc_buf_addf (b, "%s%s %lld\n", indent, k->name, id);
    else
      mpc_buf_addf (b, "%s# %s (braidd's)\n", indent, k->name);
    return;
  }
  case K_MODE:
    mpc_buf_addf (b, "%s%s 0%o\n", indent, k->name, c->export_mode);
    return;
  case K_NET_NAME:
    mpc_buf_addf (b, "%s%s %s\n", indent, k->name, net->name);
    return;
  case K_NET_INTERFACE:
    mpc_buf_addf (b, "%s%s %s\n", indent, k->name, net->interface);
    return;
  default:
    return;
  }
}

static void
dump_section (struct mpc_buf *b, const struct braid_bconf *c, int sect,
              const struct braid_bconf_storage *st,
              const struct braid_bconf_network *net)
{
  for (int kw = 0; kw < K__COUNT; kw++)
    if (keywords[kw].sect == sect && keywords[kw].type != T_SECTION)
      dump_value (b, c, kw, st, net, "\t");
}

char *
braid_bconf_dump (const struct braid_bconf *c)
{
  struct mpc_buf b = { 0 };
  mpc_buf_addf (&b, "# braid.conf: %s\n", c->file[0] ? c->file : "(no file, defaults)");
  for (int kw = 0; kw < K__COUNT; kw++) {
    const struct bc_keyword *k = &keywords[kw];
    if (k->sect != BC_TOP)
      continue;
    if (k->type != T_SECTION) {
      dump_value (&b, c, kw, NULL, NULL, "");
      continue;
    }
    if (k->child == BC_EXPORT) {
      mpc_buf_add (&b, "export {\n");
      dump_section (&b, c, BC_EXPORT, NULL, NULL);
      mpc_buf_add (&b, "}\n");
    }
    for (size_t i = 0; k->child == BC_STORAGE && i < c->nstorage; i++) {
      mpc_buf_add (&b, "storage {\n");
      dump_section (&b, c, BC_STORAGE, &c->storage[i], NULL);
      mpc_buf_add (&b, "}\n");
    }
    for (size_t i = 0; k->child == BC_NETWORK && i < c->nnetworks; i++) {
      mpc_buf_add (&b, "network {\n");
      dump_section (&b, c, BC_NETWORK, NULL, &c->networks[i]);
      mpc_buf_add (&b, "}\n");
    }
  }
  if (b.err) {
    free (b.s);
    return NULL;
  }
  return b.s;
}

static const char docs_intro[] =
  "# braid.conf\n"
  "\n"
  "<!-- GENERATED by braid-mpconf-doc --braidconf from the keyword table\n"
  "     in lib/mpconf/braidconf.c.  Do not edit: change the table and run\n"
  "     `build/lib/mpconf/braid-mpconf-doc --braidconf > docs/braid.conf.md`. -->\n"
  "\n"
  "braidd's own settings: what it logs in to (portal lists and SAN hosts,\n"
  "as Eucalyptus configures them), the networks iSCSI bonds use (oVirt),\n"
  "who may open the NBD export socket, who may manage bonds, and session\n"
  "timers.  How paths are grouped and checked stays in multipath.conf.\n"
  "\n"
  "    braidd --braid-config FILE        # default /etc/braid/braid.conf\n"
  "    braid show braidconf              # the configuration braidd runs\n"
  "    braid reconfigure                 # reread it (and multipath.conf)\n"
  "\n"
  "A missing file is an empty configuration.  The lexical rules are those\n"
  "of multipath.conf (`#` and `!` comments, double quotes, `{` and `}` as\n"
  "words), the grammar is strict: one keyword and one value per line, a\n"
  "section's `{` on its line and `}` on a line of its own.  Any error\n"
  "(unknown keyword, bad value, `ifaceN:` prefix without a mapping,\n"
  "unclosed section) is reported as `FILE line N: ...` and the whole file\n"
  "is refused: braidd does not start, or, on `reconfigure` or SIGHUP,\n"
  "keeps running with its last good configuration.\n"
  "\n"
  "Example (Eucalyptus' properties and STORAGE_INTERFACES, oVirt networks):\n"
  "\n"
  "    interfaces \"iface0=br0,iface1=eth1\"\n"
  "    storage {\n"
  "        target iqn.2010-01.com.example:sp\n"
  "        paths \"iface0:192.168.1.100,iface1:192.168.1.101\"\n"
  "        san_hosts \"10.109.1.26,10.109.1.27\"\n"
  "    }\n"
  "    export {\n"
  "        owner eucalyptus\n"
  "        group disk\n"
  "        mode 0660\n"
  "    }\n"
  "    network {\n"
  "        name storage-a\n"
  "        interface eth2\n"
  "    }\n"
  "    admin_group ovirt\n"
  "    noop_out_interval 500\n"
  "    noop_out_timeout 1000\n"
  "    data_digest None,CRC32C\n"
  "\n"
  "## Keywords\n"
  "\n";

char *
braid_bconf_docs (void)
{
  struct mpc_buf b = { 0 };
  mpc_buf_add (&b, docs_intro);
  for (int s = 0; s < BC__NSECT; s++) {
    mpc_buf_addf (&b, "### %s\n\n", s == BC_TOP ? "Top level"
                  : s == BC_STORAGE ? "Inside `storage { }`"
                  : s == BC_EXPORT ? "Inside `export { }`" : "Inside `network { }`");
    mpc_buf_add (&b, "| keyword | value | default | what it does |\n|---|---|---|---|\n");
    for (int kw = 0; kw < K__COUNT; kw++) {
      const struct bc_keyword *k = &keywords[kw];
      if (k->sect != s)
        continue;
      mpc_buf_addf (&b, "| `%s` | %s | %s | %s |\n", k->name, k->syntax,
                    k->def ? k->def : "-", k->doc);
    }
    mpc_buf_add (&b, "\n");
  }
  if (b.err) {
    free (b.s);
    return NULL;
  }
  return b.s;
}
