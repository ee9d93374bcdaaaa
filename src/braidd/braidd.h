/* braidd.h: what the daemon's files share.
 *
 * One struct daemon holds the loop, the engine, the NBD server with one
 * export per map, the control socket and the paths of the files braidd
 * reads and writes.  main.c owns it; export.c keeps NBD exports in step
 * with the engine's maps; nodes.c remembers the nodes logged in to
 * (state dir) so they come back after a restart.
 */
#ifndef BRAIDD_H
#define BRAIDD_H

#include "braid/loop.h"
#include "braid/mpath.h"
#include "braid/mpconf.h"
#include "braid/nbd.h"

struct daemon {
  struct braid_loop *loop;
  struct braid_mp *mp;
  struct braid_nbd_server *nbd;
  const char *config, *config_dir, *wwids, *bindings, *state_dir, *run_dir;
  char nbd_path[4096], ctl_path[4096], nodes_path[4096];
  const char *nbd_tcp;              /* "host:port" or NULL */
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

/* control.c */
int control_start (struct daemon *d);
void control_stop (struct daemon *d);

/* nodes.c */
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
