/* internal.h: the multipath engine's objects.
 *
 *   struct braid_mp
 *   ├── nodes: one iSCSI session each (portal, target)
 *   │     └── paths: one per disk LUN behind the session
 *   ├── maps: paths with the same WWID
 *   │     ├── groups (mp_pgroups, lib/mpath) and the current group
 *   │     ├── a selector over the current group's usable paths
 *   │     ├── queue: I/O waiting for a usable path (no_path_retry)
 *   │     └── fenced: writes held until their failed path can no longer
 *   │                 deliver them (LUN RESET through a live path, or
 *   │                 the quiesce time)
 *   └── a 1-second tick: checkers, failback countdowns, no_path_retry
 *
 * Life of a path: the node logs in, REPORT LUNS lists the LUNs, each disk
 * LUN is probed (TUR, INQUIRY, VPD 0x80/0x83, READ CAPACITY, RTPG), then
 * the path joins the map of its WWID (created on first sight unless the
 * blacklist or find_multipaths says otherwise).
 */
#ifndef BRAID_ENGINE_INTERNAL_H
#define BRAID_ENGINE_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "braid/iscsi.h"
#include "braid/loop.h"
#include "braid/mpath.h"
#include "braid/mpconf.h"
#include "braid/mpstate.h"
#include "braid/scsi.h"
#include "mpath/policy.h"
#include "util/log.h"

struct mp_node;
struct mp_io;

enum node_state { NODE_LOGIN, NODE_UP, NODE_DOWN, NODE_GONE };
enum probe_step { PR_TUR, PR_INQ, PR_VPD80, PR_VPD83, PR_CAP16, PR_CAP10,
                  PR_RTPG, PR_DONE, PR_FAILED };

struct mp_node {
  struct braid_mp *mp;
  struct mp_node *next;
  char portal[300];
  char target[224];
  char tag[64];
  char iface[16];                   /* bound device, "" for none */
  int enroll;
  struct braid_iscsi *sess;
  int host;                         /* H of H:C:T:L */
  enum node_state state;
  int draining;
  uint64_t drain_deadline;          /* give up waiting for in-flight I/O */
  braid_mp_cb first_cb;
  void *first_opaque;
  /* Never logged in and the last login failed: try again at relogin_at_ns
   * (0: not scheduled); relogin_ms is the last wait (relogin.c). */
  uint64_t relogin_at_ns;
  unsigned relogin_ms;
  int luns_probing;                 /* REPORT LUNS in flight */
  int lun_tries;
  uint8_t lunbuf[16384];            /* REPORT LUNS: up to 2047 LUNs */
  struct iovec luniov;
  uint8_t cdb[16];
};

struct braid_mp_path {
  struct braid_mp *mp;
  struct mp_node *node;
  struct braid_mp_map *map;
  int lun;
  char name[600];
  char hcil[32];
  /* identity */
  char vendor[9], product[17], revision[5];
  char serial[256];
  char wwid[128];
  char *props;                      /* "NAME=value\n" lines */
  uint64_t blocks;
  uint32_t block_size;
  int tpgs;                         /* INQUIRY TPGS field */
  int tpg;                          /* from VPD 0x83, -1 if none */
  int alua_state, alua_pref;        /* from RTPG, -1 unknown */
  enum probe_step probe;
  int probe_tries;
  /* checking */
  int chk;                          /* enum mp_state */
  int map_state;                    /* enum mp_map_state */
  int admin_failed;                 /* "fail path" until "reinstate path" */
  struct mp_chk_timer timer;
  int check_inflight;
  unsigned tur_attempt;
  uint64_t check_sent_ns;
  int prio;
  uint64_t failures;
  /* live figures */
  uint64_t ios, bytes_read, bytes_written;
  uint32_t in_flight;
  uint64_t lat_ewma_ns;
  /* command buffers for probe/check */
  uint8_t cdb[16];
  uint8_t buf[4096];
  struct iovec iov;
  int rtpg_inflight;
  uint64_t lat_ring[16];            /* checker round trips (path_latency) */
  unsigned lat_n, lat_pos;
  uint8_t rtpg_cdb[16];
  uint8_t rtpg_buf[1024];
  struct iovec rtpg_iov;
};

struct braid_mp_map {
  struct braid_mp *mp;
  char name[128];
  char wwid[128];
  struct braid_mp_path **paths;
  size_t npaths;
  struct mp_sel_path *sel;          /* parallel to paths */
  struct mp_path_view *views;       /* parallel to paths */
  struct mp_pgroups pg;
  int cur_pg;                       /* 1-based, 0 = none */
  struct mp_selector *selector;
  char selector_spec[64];
  struct braid_mpconf_settings set;
  int pgpolicy;
  unsigned polling_interval, max_polling_interval, checker_timeout;
  char checker[32];
  char prio_name[32];
  double latency_base;              /* prio path_latency */
  struct mp_failback fb;
  struct mp_noqueue nq;
  uint64_t size;
  uint32_t block_size;
  struct mp_io *queue, *queue_tail; /* waiting for a usable path */
  unsigned nqueued;
  struct mp_io *fenced;             /* writes held after a path failure */
  int fence_tmf;                    /* a LUN RESET is in flight */
  uint64_t fence_deadline;
  uint64_t grace_until;             /* fast_io_fail_tmo after the last path went */
  int no_unmap;                     /* the LU refused UNMAP once */
  unsigned inflight;                /* requests sent on some path */
  int suspended;
  int queueing_disabled;
  int open_count;
  int announced;
  uint64_t path_faults, switch_grp, map_loads, total_q_time, q_timeouts,
           map_failures;
};

struct braid_mp {
  struct braid_loop *loop;
  struct braid_mp_opts opts;
  char initiator[224];
  char wwids_path[4096], bindings_path[4096];
  struct braid_mpconf *conf;
  char err[512];
  struct braid_logger log;
  braid_mp_event_fn ev_fn;
  void *ev_opaque;
  struct mp_node *nodes;
  struct mp_node *draining;         /* removed, waiting for in-flight I/O */
  int next_host;
  struct braid_mp_map **maps;
  size_t nmaps;
  struct braid_mp_path **paths;
  size_t npaths;
  struct braid_timer *tick;
  struct braid_wwids *wwids;
  struct braid_bindings *bindings;
  struct mp_io *io_free;            /* recycled requests */
  unsigned io_free_n;
};

/* engine.c */
void mp_set_error (struct braid_mp *mp, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
void mp_event (struct braid_mp *mp, int ev, struct braid_mp_map *m,
               struct braid_mp_path *p);

/* probe.c */
void probe_node_luns (struct mp_node *n);
void probe_path (struct braid_mp_path *p);

/* map.c */
void map_add_path (struct braid_mp *mp, struct braid_mp_path *p);
void map_remove_path (struct braid_mp_map *m, struct braid_mp_path *p);
void map_path_state (struct braid_mp_map *m, struct braid_mp_path *p,
                     int new_chk, int prev_chk);
void map_regroup (struct braid_mp_map *m);
void map_resolve (struct braid_mp_map *m);
void map_tick (struct braid_mp_map *m, uint64_t now);
void map_free (struct braid_mp_map *m);
void map_prio_changed (struct braid_mp_map *m);
int map_usable_paths (const struct braid_mp_map *m);

/* check.c */
void check_path (struct braid_mp_path *p);
void path_session_down (struct braid_mp_path *p);
void path_refused (struct braid_mp_path *p, const struct braid_scsi_sense *s);
void path_refresh_alua (struct braid_mp_path *p);

/* io.c */
void io_dispatch_queue (struct braid_mp_map *m);
void io_fail_queue (struct braid_mp_map *m, int err);
void io_fence_release (struct braid_mp_map *m, const char *why);
void io_fence_release_node (struct braid_mp_map *m, struct mp_node *n);
void io_fence_tick (struct braid_mp_map *m, uint64_t now);
void io_free_cache (struct braid_mp *mp);

#endif
