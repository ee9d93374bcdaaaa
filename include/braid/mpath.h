/* braid/mpath.h: the multipath engine.
 *
 * The engine holds iSCSI sessions ("nodes": one target through one
 * portal), finds the LUNs behind each, and turns every (session, LUN) into
 * a path.  Paths with the same WWID (VPD 0x83, the udev/scsi_id rule) are
 * one map.  The engine checks paths, groups and selects them with
 * multipath-tools semantics (settings come from a loaded multipath.conf,
 * braid/mpconf.h), fails over and back, and runs I/O submitted to a map on
 * the right path, retrying path errors elsewhere.  Everything runs on one
 * struct braid_loop.
 *
 * Writes and failover: a write that was in flight on a failed path is
 * re-issued on another path only once the old path can no longer deliver
 * it: its session is torn down (abortive close) and its tasks are ended on
 * the target, either by a LOGICAL UNIT RESET through a surviving path or,
 * when that is not possible, after the configured quiesce time.  See
 * docs/failover.md.
 *
 * For "show" commands the engine hands out snapshots (plain structs, deep
 * copies) so formatting code never touches live objects.
 */
#ifndef BRAID_MPATH_H
#define BRAID_MPATH_H

#include <stdint.h>
#include <stddef.h>
#include <sys/uio.h>

#include "braid/common.h"
#include "braid/iscsi.h"

#ifdef __cplusplus
extern "C" {
#endif

struct braid_loop;
struct braid_mpconf;
struct braid_mp;
struct braid_mp_map;
struct braid_mp_path;

/***** Path and map states (names as multipath-tools prints them) *****/

/* Checker states (multipath-tools checkers.h order and meaning). */
enum braid_mp_chk {
  BRAID_CHK_WILD = 0, BRAID_CHK_UNCHECKED, BRAID_CHK_DOWN, BRAID_CHK_UP,
  BRAID_CHK_SHAKY, BRAID_CHK_GHOST, BRAID_CHK_PENDING, BRAID_CHK_TIMEOUT,
  BRAID_CHK_REMOVED, BRAID_CHK_DELAYED,
};

/* "ready", "faulty", "ghost", "i/o pending", "i/o timeout", "delayed",
 * "shaky" or "undef" (multipath-tools' snprint_chk_state). */
const char *braid_mp_chk_name (int chk);

/***** Engine *****/

struct braid_mp_opts {
  size_t size;                      /* sizeof (struct braid_mp_opts) */
  const char *initiator_name;       /* copied */
  braid_log_fn log_fn;              /* lines are prefixed "<map>/<path>: " */
  void *log_opaque;
  int log_level;
  const char *wwids_file;           /* NULL: do not read or write one */
  const char *bindings_file;        /* NULL: no user_friendly_names persistence */
  /* How long a write that may have reached the target through a failed
   * path is held before it is re-issued elsewhere, when no LUN RESET
   * through a surviving path could confirm the old tasks are gone. */
  uint32_t write_quiesce_ms;        /* default 10000 */
  /* NOP-Out ping interval and timeout for path sessions: how fast a
   * silently dead path is noticed. */
  uint32_t nop_interval_ms;         /* default 500 */
  uint32_t nop_timeout_ms;          /* default 1000 */
  /* ISID bytes B and C (RFC 7143's "random" ISID type) of every session.
   * One value per initiator instance, the same across its restarts: a
   * restarted daemon's login then reinstates (replaces) the sessions its
   * previous life left on the target, while two instances sharing an
   * initiator name never take each other's sessions.  All zero: a fixed
   * built-in value (one instance per initiator name). */
  uint8_t isid_random[3];
  /* Digests offered at login (enum braid_iscsi_digest), as open-iscsi's
   * HeaderDigest/DataDigest settings. */
  int header_digest;                /* default BRAID_DIGEST_NONE_CRC32C */
  int data_digest;                  /* default BRAID_DIGEST_NONE */
};

void braid_mp_opts_init (struct braid_mp_opts *o);

/* Create an engine on 'loop'.  Returns NULL with errno set.  The caller
 * frees it with braid_mp_free() (logs every node out abortively). */
struct braid_mp *braid_mp_new (struct braid_loop *loop,
                               const struct braid_mp_opts *o);
void braid_mp_free (struct braid_mp *mp);
const char *braid_mp_get_error (const struct braid_mp *mp);

/* Install a configuration.  The engine takes ownership of 'conf' (and frees
 * the previous one); settings are re-resolved for every map and path, maps
 * are regrouped.  Returns 0 or -errno (then 'conf' is not taken). */
int braid_mp_set_config (struct braid_mp *mp, struct braid_mpconf *conf);

/* The configuration in use (owned by the engine), or NULL. */
const struct braid_mpconf *braid_mp_get_config (const struct braid_mp *mp);

/* Engine events, for the daemon (NBD exports follow maps). */
enum braid_mp_event {
  BRAID_MP_EV_MAP_ADDED = 1,        /* map: new, usable */
  BRAID_MP_EV_MAP_REMOVED = 2,      /* map: about to be freed */
  BRAID_MP_EV_MAP_RESIZED = 3,
  BRAID_MP_EV_PATH_STATE = 4,       /* path: checker or map state changed */
  BRAID_MP_EV_NODE_STATE = 5,       /* a node logged in, failed or gave up */
};
typedef void (*braid_mp_event_fn) (void *opaque, int event,
                                   struct braid_mp_map *map,
                                   struct braid_mp_path *path);
void braid_mp_set_event_fn (struct braid_mp *mp, braid_mp_event_fn fn,
                            void *opaque);

/***** Nodes: a target through a portal *****/

struct braid_mp_node_spec {
  const char *portal;               /* "host:port", "[v6]:port" */
  const char *target;               /* iqn */
  const char *iface;                /* SO_BINDTODEVICE, or NULL */
  const char *source;               /* source address, or NULL */
  const char *chap_user;            /* NULL: no CHAP */
  const char *chap_secret;
  const char *chap_target_user;     /* mutual CHAP, or NULL */
  const char *chap_target_secret;
  const char *tag;                  /* free text the caller groups nodes by
                                       (e.g. an iSCSI bond name), or NULL */
  int enroll;                       /* add the WWIDs of this node's LUNs to
                                       the wwids file (an explicit login is
                                       the admin saying "multipath these",
                                       as multipath -a does), so
                                       find_multipaths strict accepts them */
};

/* Log in to a node.  The engine keeps retrying failed sessions; 'cb' runs
 * once with BRAID_STATUS_GOOD when the first login worked and the LUNs are
 * probed, or BRAID_STATUS_ERROR (message in braid_mp_get_error) when the
 * first login failed.  Strings are copied (secrets are wiped on free).
 * Returns 0, -EEXIST if the node is known, or -errno. */
typedef void (*braid_mp_cb) (void *opaque, int status);
int braid_mp_add_node (struct braid_mp *mp,
                       const struct braid_mp_node_spec *spec,
                       braid_mp_cb cb, void *opaque);

/* Log out of a node: its paths are drained first (new I/O goes to other
 * paths at once, the session logs out when the commands already sent
 * have completed, or after 30 s), then the session logs out.  Returns 0
 * or -ENOENT.  Without an iface: the first node of (portal, target),
 * bound or not; braid_mp_remove_node_iface() names the binding ("" or
 * NULL: the unbound node). */
int braid_mp_remove_node (struct braid_mp *mp, const char *portal,
                          const char *target);
int braid_mp_remove_node_iface (struct braid_mp *mp, const char *portal,
                                const char *target, const char *iface);

/* Nodes are (portal, target, iface): the same portal may be logged in to
 * once unbound and once per device.  Status of one: -ENOENT unknown, 0
 * logging in, down or still probing its LUNs, 1 up with its paths in
 * their maps. */
int braid_mp_node_status (struct braid_mp *mp, const char *portal,
                          const char *target, const char *iface);

/* NOP-Out timers of the sessions logged in from now on (see
 * braid_mp_opts; sessions already up keep theirs). */
void braid_mp_set_nop (struct braid_mp *mp, uint32_t interval_ms,
                       uint32_t timeout_ms);

/* Digests offered by the sessions logged in from now on (enum
 * braid_iscsi_digest; see braid_mp_opts; sessions already up, and their
 * reconnects, keep theirs).  Returns 0, or -EINVAL for an unknown value. */
int braid_mp_set_digests (struct braid_mp *mp, int header, int data);

/***** Maps and I/O *****/

enum braid_mp_op {
  BRAID_MP_READ = 0,
  BRAID_MP_WRITE = 1,
  BRAID_MP_FLUSH = 2,
  BRAID_MP_UNMAP = 3,               /* discard */
  BRAID_MP_WRITE_ZEROES = 4,
};

struct braid_mp_io {
  int op;                           /* enum braid_mp_op */
  uint64_t offset;                  /* bytes, a multiple of the block size */
  uint32_t len;                     /* bytes, a multiple of the block size */
  const struct iovec *iov;          /* READ/WRITE buffers, used in place */
  int iovcnt;
  int fua;                          /* WRITE: force unit access */
};

/* Submit I/O to a map.  'done' runs exactly once, later, with 0 or a
 * positive errno: EIO when no path could do it (and queueing is off or has
 * expired) or the target reported a medium or hardware error, ENOSPC when
 * a thin-provisioned LU is out of space, EINVAL for an out-of-range
 * request.  Buffers must stay valid until then.  Returns 0, or -errno if
 * the request is refused at once (then 'done' is not called). */
typedef void (*braid_mp_io_done) (void *opaque, int err);
int braid_mp_map_submit (struct braid_mp_map *m, const struct braid_mp_io *io,
                         braid_mp_io_done done, void *opaque);

const char *braid_mp_map_name (const struct braid_mp_map *m);
const char *braid_mp_map_wwid (const struct braid_mp_map *m);
uint64_t braid_mp_map_size (const struct braid_mp_map *m);     /* bytes */
uint32_t braid_mp_map_block_size (const struct braid_mp_map *m);

/* Find a map by any reference braid_map_ref_resolve() (braid/mpstate.h)
 * accepts: alias, WWID, [/dev/]disk/by-id/scsi-<wwid>, [/dev/]mapper/<alias>
 * ...  NULL if none.  The map stays the engine's. */
struct braid_mp_map *braid_mp_find_map (struct braid_mp *mp, const char *name);
/* Find a path by its name ("ip-<portal>-iscsi-<iqn>-lun-<n>"), its
 * H:C:T:L, or its index.  NULL if none. */
struct braid_mp_path *braid_mp_find_path (struct braid_mp *mp, const char *name);

/***** Admin actions (the daemon's control commands) *****/

int braid_mp_path_fail (struct braid_mp_path *p);        /* until reinstated */
int braid_mp_path_reinstate (struct braid_mp_path *p);
int braid_mp_map_switch_group (struct braid_mp_map *m, int group); /* 1-based */
int braid_mp_map_set_queueing (struct braid_mp_map *m, int disable); /* 1: disablequeueing */
int braid_mp_map_suspend (struct braid_mp_map *m, int suspend);     /* hold I/O */
int braid_mp_map_resize (struct braid_mp_map *m);                   /* reread capacity */
/* "add map": build (or rebuild) the map of a WWID (or alias, or by-id
 * name) from the known paths that are in no map, adding the WWID to the
 * wwids file.  Returns 0, or -ENOENT when no such path is known. */
int braid_mp_add_map (struct braid_mp *mp, const char *name);

/* Remove a map: refused with -EBUSY while it has I/O in flight or queued.
 * The map's paths stay known as orphans until their nodes log out (or
 * "add map" takes them back). */
int braid_mp_map_remove (struct braid_mp_map *m, int force);

/***** Snapshots for show commands *****/

struct braid_mp_path_info {
  char name[600];                   /* ip-127.0.0.1:3260-iscsi-<iqn>-lun-1 */
  char hcil[32];                    /* H:C:T:L, H = session number */
  char portal[300];
  char target[224];
  char iface[16];                   /* device its session is bound to, or "" */
  int lun;
  char map[128];                    /* alias of its map, "" for an orphan */
  char wwid[128];
  char vendor[9], product[17], revision[5];
  char serial[256];
  int tpg;                          /* ALUA target port group, -1 if none */
  int chk;                          /* enum braid_mp_chk */
  int dm_active;                    /* 1 active, 0 failed (the map's view) */
  int running;                      /* session logged in */
  int prio;                         /* -1 undefined */
  int marginal;
  uint32_t next_check_s, check_interval_s;
  uint64_t failures;
  uint64_t size_bytes;
  /* live figures */
  uint64_t ios, bytes_read, bytes_written;
  uint32_t in_flight;
  uint32_t latency_us;              /* recent service time (EWMA) */
  char checker[32];                 /* "tur", "readsector0", "none" */
  /* udev-style properties of the same disk: "NAME=value" lines */
  char *properties;
};

struct braid_mp_group_info {
  char selector[64];                /* "service-time 0" */
  int prio;
  int status;                       /* 0 active, 1 enabled, 2 disabled */
  int marginal;
  size_t npaths;
  struct braid_mp_path_info *paths;
};

struct braid_mp_map_info {
  char name[128];                   /* alias (or WWID) */
  char wwid[128];
  char vendor[9], product[17], revision[5];
  uint64_t size_bytes;
  uint32_t block_size;
  char features[128];               /* "1 queue_if_no_path" or "0" */
  char hwhandler[64];               /* "0" or "1 alua" */
  char failback[32];                /* as %F prints it */
  char queueing[32];                /* as %Q prints it */
  char export_uri[512];             /* NBD URI, or "" */
  int suspended;
  int active_paths;
  uint64_t path_faults, switch_grp, map_loads, total_q_time, q_timeouts,
           map_failures;
  size_t ngroups;
  struct braid_mp_group_info *groups;
};

struct braid_mp_snapshot {
  size_t nmaps;
  struct braid_mp_map_info *maps;
  size_t norphans;                  /* paths in no map */
  struct braid_mp_path_info *orphans;
  size_t npaths_total;
};

/* Deep copy of the engine's state.  Returns 0 or -ENOMEM; the caller frees
 * '*out' with braid_mp_snapshot_free(). */
int braid_mp_snapshot (struct braid_mp *mp, struct braid_mp_snapshot **out);
void braid_mp_snapshot_free (struct braid_mp_snapshot *s);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_MPATH_H */
