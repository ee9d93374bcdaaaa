/* braidd.h: what the daemon's files share.
 *
 * One struct daemon holds the loop, the engine, the NBD server with one
 * export per map, the control socket and the paths of the files braidd
 * reads and writes.  main.c owns it; export.c keeps NBD exports in step
 * with the engine's maps; nodes.c remembers the nodes logged in to
 * (state dir) so they come back after a restart; storage.c holds the
 * sessions braid.conf and the iSCSI bonds (bonds.c) ask for; discover.c
 * runs SendTargets on the loop.
 */
#ifndef BRAIDD_H
#define BRAIDD_H

#include <json-c/json.h>

#include "braid/loop.h"
#include "braid/mpath.h"
#include "braid/mpconf.h"
#include "braid/nbd.h"

struct braid_bconf;
struct braid_strbuf;
struct braid_cli_cmd;
struct braid_discovery;
struct braid_discovery_portal;
struct managed;
struct bond;
struct san_result;

struct daemon {
  struct braid_loop *loop;
  struct braid_mp *mp;
  struct braid_nbd_server *nbd;
  const char *config, *config_dir, *wwids, *bindings, *state_dir, *run_dir;
  const char *braid_config;         /* braid.conf */
  char nbd_path[4096], ctl_path[4096], nodes_path[4096], bonds_path[4096];
  struct braid_bconf *bconf;        /* the running braid.conf (never NULL once started) */
  unsigned bconf_gen;               /* bumped on every install */
  struct managed *managed;          /* sessions braid.conf and bonds want (storage.c) */
  struct san_result **san;          /* per storage section: SAN host answers */
  size_t nsan;
  struct bond *bonds;               /* bonds.c */
  struct bond *loose;               /* connections left by deleted bonds */
  char host_state[1024];            /* last logged reason, "" operational */
  struct braid_timer *tick;         /* reconciliation, every second */
  int kicked;
  const char *nbd_tcp;              /* --nbd-tcp "host:port" as given, or NULL */
  char nbd_tcp_host[256];           /* its host, brackets of "[v6]" removed */
  char nbd_tcp_port[16];
  struct braid_nbd_tls_config nbd_tls; /* --nbd-tls*: reloaded with the
                                       configuration (certificate rotation) */
  int verbose;
  int foreground;
  int stopping;
  struct daemon_node *nodes;        /* what we logged in to (nodes.c) */
  void *ctl;                        /* control server (control.c) */
  /* Startup: the NBD socket opens once the nodes logged in to at start
   * have each logged in and been scanned, or failed once (main.c). */
  int startup_pending;
  struct braid_timer *startup_timer;
  int nbd_listening;
  int exit_code;
};

/* main.c */
void dlog (struct daemon *d, int level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
int daemon_reconfigure (struct daemon *d, char *err, size_t errlen);
void daemon_startup_node_done (void *opaque, int status);

/* export.c */
void export_event (void *opaque, int event, struct braid_mp_map *m,
                   struct braid_mp_path *p);
void export_uri (struct daemon *d, const struct braid_mp_map *m, char *buf,
                 size_t len);
void export_tcp_uri (struct daemon *d, const struct braid_mp_map *m, char *buf, size_t len);

/* main.c: --nbd-tls mode names, by enum braid_nbd_tls_mode. */
extern const char *const nbd_tls_mode_names[3];

/* control.c */
int control_start (struct daemon *d);
void control_stop (struct daemon *d);

/* main.c */
void daemon_kick (struct daemon *d);   /* reconcile soon (from callbacks) */

/* discover.c: SendTargets through 'portal'; 'cb' gets the answer (owned by
 * the caller of cb, freed after it returns) or NULL and a reason. */
typedef void (*discover_cb) (void *opaque, const char *portal,
                             struct braid_discovery *dv, const char *err);
int discover_start (struct daemon *d, const char *portal, const char *iface,
                    discover_cb cb, void *opaque);
/* The first of 'hosts' that answers (each failure logged, naming 'what'),
 * or cb (NULL portal, NULL, reason) when none does. */
int discover_first (struct daemon *d, const char *what, char (*hosts)[300],
                    size_t n, discover_cb cb, void *opaque);
void discover_portal_string (const struct braid_discovery_portal *dp, char *buf,
                             size_t len);

/* storage.c */
struct want {
  char portal[300], target[224], iface[16], tag[64];
};
struct wants {
  struct want *v;
  size_t n;
};
enum { SESS_NONE, SESS_PENDING, SESS_UP, SESS_DOWN, SESS_FAILED };
void wants_add (struct wants *w, const char *portal, const char *target,
                const char *iface, const char *tag);
int iface_present (const char *dev);
void managed_reconcile (struct daemon *d);
int managed_session_state (struct daemon *d, const char *portal,
                           const char *target, const char *iface);
const char *sess_state_name (int st);
void managed_free_all (struct daemon *d);
void san_clear (struct daemon *d);
void bconf_install (struct daemon *d, struct braid_bconf *c);  /* takes c */
void bconf_apply_sockets (struct daemon *d);

/* bonds.c */
int bonds_load (struct daemon *d);
void bonds_wants (struct daemon *d, struct wants *w);
void bonds_status_line (struct daemon *d, struct braid_strbuf *r);
void bonds_update_state (struct daemon *d);
void bonds_config_changed (struct daemon *d);
void bonds_free_all (struct daemon *d);
int bonds_verb (struct daemon *d, const struct braid_cli_cmd *c,
                struct braid_strbuf *r);
void bonds_show (struct daemon *d, struct braid_strbuf *r);
int bonds_del_connection (struct daemon *d, const struct braid_cli_cmd *c,
                          struct braid_strbuf *r);
/* volumes.c: braid verbs for the volume workflow (nodes, exports, flush). */
void volumes_control_register (struct daemon *d, void *srv);
/* NBD clients in transmission on the export named 'map' (0 if none). */
unsigned export_connections (struct daemon *d, const char *map);
/* -EBUSY with "<map>: map in use" (multipath -f's words) appended to 'r'
 * while an NBD client has the map's export open, else 0. */
struct braid_strbuf;
int export_refuse_open (struct daemon *d, const struct braid_mp_map *m,
                        struct braid_strbuf *r);

/* nodes.c */
/* Write 'root' to 'path' atomically (temporary file, fsync, rename, fsync
 * of the state dir) and drop the reference to it.  Returns 0 or -errno
 * (logged). */
int state_write_json (struct daemon *d, const char *path, json_object *root);
struct daemon_node {
  struct daemon_node *next;
  char portal[300];
  char target[224];
  char iface[64];
  char source[64];
  char tag[64];
  char chap_file[4096];             /* credentials stay in that root-only file */
  int enroll;                       /* add its WWIDs to the wwids file */
};
int nodes_load (struct daemon *d);
int nodes_save (struct daemon *d);
int nodes_login (struct daemon *d, const struct daemon_node *spec,
                 braid_mp_cb cb, void *opaque);
int nodes_logout (struct daemon *d, const char *portal, const char *target);

#endif
