/* braid/braidconf.h: braid.conf, braidd's own settings.
 *
 * multipath.conf says how paths are grouped and checked; braid.conf says
 * what braidd itself logs in to and how it is reached: storage targets
 * and their portal lists (Eucalyptus' storage.ncpaths and sanhost
 * properties, with its STORAGE_INTERFACES iface mapping), the networks an
 * iSCSI bond may use (oVirt), the owner, group and mode of the NBD
 * export socket, the group allowed to manage bonds, and session timers.
 *
 * The file has multipath.conf's lexical rules (lib/mpconf's lexer: '#'
 * and '!' comments, double quotes, "{" and "}" as words) but a strict
 * grammar: an unknown keyword, a bad value, a missing brace or an iface
 * with no mapping is an error naming the file and line, and the load
 * fails as a whole, so a daemon that reloads keeps what it runs.  Every
 * keyword (name, section, value, bounds, default, documentation) is one
 * row of a table in lib/mpconf/braidconf.c; the parser, the dump ("show
 * braidconf") and docs/braid.conf.md all come from it.
 *
 * A loaded configuration is a plain read-only struct owned by the caller
 * (braid_bconf_free).  Nothing here prints.
 */
#ifndef BRAID_BRAIDCONF_H
#define BRAID_BRAIDCONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BRAID_BCONF_DEFAULT_FILE "/etc/braid/braid.conf"
#define BRAID_BCONF_DEFAULT_PORT 3260

/* One portal of a storage section's "paths": the portal as "host:port"
 * (port filled in), the iface name it was prefixed with ("" for none)
 * and the network device that iface maps to ("" for no binding). */
struct braid_bconf_path {
  char iface[64];
  char dev[16];
  char portal[300];
};

struct braid_bconf_storage {
  char target[224];
  struct braid_bconf_path *paths;   /* empty: ask the san_hosts */
  size_t npaths;
  char (*san_hosts)[300];           /* "host:port", in the order to try */
  size_t nsan_hosts;
  int line;                         /* of the "storage" line */
};

/* "iface0=br0": Eucalyptus' STORAGE_INTERFACES. */
struct braid_bconf_iface {
  char name[64];
  char dev[16];
};

/* An oVirt network: a name a bond refers to, and the interface carrying
 * it on this host. */
struct braid_bconf_network {
  char name[64];
  char interface[16];
  int line;
};

struct braid_bconf {
  char file[4096];                  /* what was read ("" = built-in) */
  struct braid_bconf_storage *storage;
  size_t nstorage;
  struct braid_bconf_iface *ifaces;
  size_t nifaces;
  struct braid_bconf_network *networks;
  size_t nnetworks;
  /* NBD export socket: owner and group (-1: braidd's), mode. */
  long long export_owner, export_group;
  unsigned export_mode;
  /* Control socket delegation: -1 none. */
  long long admin_group;
  /* Session NOP-Out timers of the sessions braidd creates, ms. */
  uint32_t noop_out_interval, noop_out_timeout;
  /* Digests offered by the sessions braidd creates: enum
   * braid_iscsi_digest values (braid/iscsi.h). */
  int header_digest, data_digest;
};

/* Read 'file' (NULL: BRAID_BCONF_DEFAULT_FILE).  A missing file is an
 * empty configuration (every default).  On success *out is a new object
 * and 0 is returned.  On an error nothing is returned (*out NULL), 'err'
 * gets one line per problem, each "FILE line N: ..." (or "FILE: ..."),
 * and the result is -EINVAL (bad content), -errno (unreadable) or
 * -ENOMEM. */
int braid_bconf_load (const char *file, struct braid_bconf **out, char *err,
                      size_t errlen);

/* A configuration with every default (for a daemon that has read no file
 * yet).  NULL with errno ENOMEM. */
struct braid_bconf *braid_bconf_new_default (void);

void braid_bconf_free (struct braid_bconf *c);

/* The effective configuration in braid.conf syntax, every keyword with its
 * value (defaults included), as "show braidconf" prints it.  malloc'd;
 * NULL on ENOMEM. */
char *braid_bconf_dump (const struct braid_bconf *c);

/* The network named 'name', or NULL. */
const struct braid_bconf_network *
braid_bconf_find_network (const struct braid_bconf *c, const char *name);

/* docs/braid.conf.md as generated from the keyword table (malloc'd; NULL
 * on ENOMEM). */
char *braid_bconf_docs (void);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_BRAIDCONF_H */
