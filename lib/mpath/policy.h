/* mpath/policy.h: the multipath engine's pure decisions.
 *
 * Everything the engine has to decide about a map without touching a
 * socket or a clock lives behind this header: how paths are grouped and
 * which group is best (pgpolicy.c), which path gets the next I/O
 * (selector.c, hst.c), when to fail back (failback.c), whether I/O
 * queues while no path is usable (noqueue.c), how a check result moves a
 * path's state and its next check time (checkstate.c), and path
 * priorities (prio.c).  Semantics follow multipath-tools 0.9.x and the
 * kernel's dm-multipath path selectors; the reference is
 * /work/shared/reference/multipath-tools.md section 5.
 *
 * The engine owns every object; these functions only read and update the
 * plain structs they are given.  Times are monotonic nanoseconds passed
 * in by the caller, so every decision is reproducible in a unit test.
 * Nothing here allocates except mp_group_paths and mp_selector_new, and
 * nothing prints.
 */
#ifndef BRAID_MPATH_POLICY_H
#define BRAID_MPATH_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------- */
/* path states (checkstate.c)                                              */
/* ---------------------------------------------------------------------- */

/* Checker states, numbered as multipath-tools' checkers.h so that values
 * printed or exchanged with its tools mean the same thing. */
enum mp_state {
  MP_STATE_WILD = 0,      /* checker unusable */
  MP_STATE_UNCHECKED = 1, /* checker gave no result */
  MP_STATE_DOWN = 2,
  MP_STATE_UP = 3,
  MP_STATE_SHAKY = 4,
  MP_STATE_GHOST = 5,     /* standby / passive: usable, not preferred */
  MP_STATE_PENDING = 6,   /* asynchronous check in flight */
  MP_STATE_TIMEOUT = 7,   /* no answer within checker_timeout */
  MP_STATE_REMOVED = 8,   /* device gone */
  MP_STATE_DELAYED = 9,   /* up, but its reinstatement is held back */
  MP_STATE__COUNT
};

/* UP and GHOST carry I/O; every other state counts as failed. */
bool mp_state_usable (int state);

/* multipath-tools' name for a state ("up", "ghost", ...); "invalid" for
 * values outside the enum.  Static storage. */
const char *mp_state_name (int state);

/* ---------------------------------------------------------------------- */
/* path grouping and group choice (pgpolicy.c)                             */
/* ---------------------------------------------------------------------- */

/* Undefined priority (the prioritizer failed).  Such paths do not count in
 * a group's mean priority (multipath-tools 0.9.6+). */
#define MP_PRIO_UNDEF (-1)

/* What grouping and group choice need to know about one path. */
struct mp_path_view {
  int state;              /* enum mp_state */
  int prio;               /* >= 0, or MP_PRIO_UNDEF */
  int marginal;           /* non-zero: a marginal path (see below) */
  const char *serial;     /* VPD 0x80 unit serial; NULL counts as "" */
  const char *node_name;  /* iSCSI target name; NULL counts as "" */
  int tpg;                /* ALUA target port group id, -1 if none */
};

/* path_grouping_policy, numbered as multipath-tools and braid/mpconf.h
 * (GROUP_BY_TPG is multipath-tools 0.9.6+). */
enum mp_pgpolicy {
  MP_PGP_FAILOVER = 1,           /* one group per path */
  MP_PGP_MULTIBUS = 2,           /* all paths in one group */
  MP_PGP_GROUP_BY_SERIAL = 3,
  MP_PGP_GROUP_BY_PRIO = 4,
  MP_PGP_GROUP_BY_NODE_NAME = 5,
  MP_PGP_GROUP_BY_TPG = 6,
};

/* The policy for a multipath.conf name, or -EINVAL. */
int mp_pgpolicy_from_name (const char *name);
/* The multipath.conf name of a policy; NULL for an unknown value. */
const char *mp_pgpolicy_name (int policy);

/* One path group.  'paths' lists indices into the path array the groups
 * were built from, in path order. */
struct mp_pgroup {
  size_t *paths;
  size_t npaths;
  int prio;          /* integer mean prio of its usable paths (see below) */
  unsigned enabled;  /* number of usable (UP/GHOST) paths */
  int marginal;      /* every path of the group is marginal */
};

/* The groups of a map, in table order (group N of the kernel table and of
 * switch_group is groups[N - 1]).  Built by mp_group_paths, released by
 * mp_pgroups_free; 'storage' backs every group's 'paths'. */
struct mp_pgroups {
  struct mp_pgroup *groups;
  size_t ngroups;
  size_t *storage;
};

/* Group paths[0..n) by 'policy' and sort the groups (multipath-tools
 * group_paths + sort_pathgroups):
 *   - grouping is first-seen: walking paths in order, each path not yet
 *     grouped starts a group and pulls in every later path with an equal
 *     key (serial, prio, node name or tpg);
 *   - with marginal_pathgroups set and both normal and marginal paths
 *     present, normal and marginal paths are grouped separately, the
 *     marginal groups after;
 *   - a stable sort then puts non-marginal groups first, then higher
 *     group prio, then more usable paths.
 * Group prio is the integer mean of the prios of the group's usable
 * paths that are not MP_PRIO_UNDEF; MP_PRIO_UNDEF if all usable paths are
 * undefined; 0 if none is usable.  A group is marginal when all its paths
 * are (so the engine should set path marginal flags only when
 * marginal_pathgroups is on, as multipathd does).
 * 'paths' may be NULL when n is 0 (no groups).  *out is overwritten, not
 * freed first; free it with mp_pgroups_free.  Returns 0, -EINVAL (unknown
 * policy, NULL paths with n > 0) or -ENOMEM (then *out is empty). */
int mp_group_paths (int policy, const struct mp_path_view *paths, size_t n,
                    int marginal_pathgroups, struct mp_pgroups *out);

/* Release what mp_group_paths allocated and empty *pg.  NULL is fine. */
void mp_pgroups_free (struct mp_pgroups *pg);

/* Recompute one group's prio, enabled count and marginal flag from the
 * current path views (multipath-tools path_group_prio_update). */
void mp_pgroup_update (struct mp_pgroup *g, const struct mp_path_view *paths);

/* Recompute every group, then stable-sort them as mp_group_paths does.
 * Group numbers change: use before loading a new table, not on a live
 * one. */
void mp_pgroups_sort (struct mp_pgroups *pg, const struct mp_path_view *paths);

/* The best group, 1-based (multipath-tools select_path_group): groups
 * without usable paths are skipped; marginal groups are skipped once a
 * normal group has been seen; the first normal group with usable paths
 * becomes the candidate and a later group replaces it only with a
 * strictly higher prio, or an equal prio and strictly more usable paths.
 * Marginal groups seen before any normal one compete the same way
 * against a start of prio 0 and one usable path.  1 when nothing
 * qualifies.  Refreshes every group's prio/enabled/marginal first. */
int mp_select_group (struct mp_pgroups *pg, const struct mp_path_view *paths);

/* ---------------------------------------------------------------------- */
/* path selectors (selector.c, hst.c)                                      */
/* ---------------------------------------------------------------------- */

/* Per-path storage that belongs to the selector.  Zero it when a path is
 * added or the map's selector changes; never interpret it. */
struct mp_sel_slot {
  uint64_t u[4];
};

/* What a selector sees of one path of the group it chooses within. */
struct mp_sel_path {
  int usable;                    /* may carry I/O now */
  unsigned repeat;               /* round-robin: I/Os in a row (rr_min_io_rq,
                                    times prio with rr_weight priorities);
                                    0 counts as 1 */
  unsigned relative_throughput;  /* service-time: 0..100, default 1; 0 is
                                    used only when no path has more */
  uint32_t in_flight;            /* I/Os started, not done, and */
  uint64_t in_flight_bytes;      /* their bytes: both kept by
                                    mp_selector_start / _done */
  struct mp_sel_slot slot;
};

/* A path with the defaults: usable, repeat 1, throughput 1, idle. */
void mp_sel_path_init (struct mp_sel_path *p);

struct mp_selector;

/* A selector from a multipath.conf path_selector value: a name, then
 * optionally the number of arguments and the arguments, as in
 * "service-time 0" or "historical-service-time 2 972 2".  Names:
 * round-robin, queue-length, service-time (no arguments) and
 * historical-service-time ([base_weight [threshold_multiplier]]: base
 * weight in 1024ths, 0..1023, default 972; multiplier default 0, see
 * hst.c).  On error returns NULL with errno set (EINVAL, ENOMEM) and a
 * message naming the problem in err (errlen bytes, may be 0). */
struct mp_selector *mp_selector_new (const char *spec, char *err,
                                     size_t errlen);

void mp_selector_free (struct mp_selector *s);

/* The selector's name ("service-time").  Static storage. */
const char *mp_selector_name (const struct mp_selector *s);

/* The path for the next I/O of io_bytes bytes: an index into paths[0..n)
 * of a usable path, or -1 when none is usable.  Does not change any
 * state: call mp_selector_start when the I/O is actually sent. */
int mp_selector_pick (struct mp_selector *s, const struct mp_sel_path *paths,
                      size_t n, uint32_t io_bytes, uint64_t now_ns);

/* An I/O of io_bytes was sent on paths[idx]: counts it in the path's
 * in_flight / in_flight_bytes and advances the rotation. */
void mp_selector_start (struct mp_selector *s, struct mp_sel_path *paths,
                        size_t n, size_t idx, uint32_t io_bytes,
                        uint64_t now_ns);

/* That I/O finished (successfully or not) at now_ns; start_ns is when it
 * was sent.  Uncounts it and feeds historical-service-time's average. */
void mp_selector_done (struct mp_selector *s, struct mp_sel_path *paths,
                       size_t n, size_t idx, uint32_t io_bytes,
                       uint64_t start_ns, uint64_t now_ns);

/* paths[idx] became usable again.  Round-robin puts it first in the
 * rotation, the others last, as the kernel selectors do.  Optional. */
void mp_selector_reinstate (struct mp_selector *s, struct mp_sel_path *paths,
                            size_t n, size_t idx);

/* ---------------------------------------------------------------------- */
/* failback (failback.c)                                                   */
/* ---------------------------------------------------------------------- */

/* failback, encoded as multipath-tools and braid/mpconf.h: > 0 is a
 * deferred failback after that many seconds; 0 (unset) acts as manual. */
#define MP_FAILBACK_MANUAL (-1)
#define MP_FAILBACK_IMMEDIATE (-2)
#define MP_FAILBACK_FOLLOWOVER (-3)

struct mp_failback {
  int mode;   /* the failback setting */
  int tick;   /* deferred: seconds until re-evaluation + 1; 0 = idle.
                 Also what %F / "show maps" print as progress. */
  int bestpg; /* best group found by the last evaluation (1-based) */
};

void mp_failback_init (struct mp_failback *fb, int failback);

/* What the engine knows right after checking one path, once its new
 * state and priority are in 'paths' and the groups' prios are current. */
struct mp_check_event {
  size_t path;       /* index of the checked path */
  int prev_state;    /* its checker state before this check */
  int prio_changed;  /* its priority changed with this check */
  int cur_pg;        /* group the map uses (or will: a switch pending) */
  int pgpolicy;      /* the map's path_grouping_policy */
};

struct mp_fb_decision {
  int reload;     /* regroup and reload the map (group_by_prio, immediate
                     failback, priority changed) */
  int switch_to;  /* > 0: switch to this 1-based group now */
};

/* Failback evaluation after a check whose actions include
 * MP_CHK_EVALUATE, as multipathd check_path does it:
 *   manual:     nothing;
 *   immediate:  switch as soon as the best group differs from cur_pg
 *               (group_by_prio with a changed prio: reload instead);
 *   followover: switch only when this path just came up, it is in the
 *               best group and every other path of that group is DOWN
 *               or SHAKY (the first path of the group to return);
 *   N seconds:  when a switch is needed and (this path just came up or
 *               no countdown runs) start a countdown of N seconds.
 * A path "just came up" when it is usable now and prev_state was not.
 * Returns 0 or -EINVAL. */
int mp_failback_after_check (struct mp_failback *fb, struct mp_pgroups *pg,
                             const struct mp_path_view *paths, size_t n,
                             const struct mp_check_event *ev,
                             struct mp_fb_decision *out);

/* A path went from usable to failed: cancel any countdown. */
void mp_failback_path_failed (struct mp_failback *fb);

/* Once a second.  Returns true when a deferred countdown has just run
 * out: refresh every path's priority, then call mp_failback_due. */
bool mp_failback_tick (struct mp_failback *fb);

/* The re-evaluation at the end of a countdown: the group to switch to
 * now, or 0 when none (best group already in use, or manual). */
int mp_failback_due (struct mp_failback *fb, struct mp_pgroups *pg,
                     const struct mp_path_view *paths, int cur_pg);

/* ---------------------------------------------------------------------- */
/* no_path_retry / queue_if_no_path (noqueue.c)                            */
/* ---------------------------------------------------------------------- */

/* no_path_retry, encoded as multipath-tools and braid/mpconf.h: > 0 is a
 * number of polling intervals to queue; 0 (unset) acts as fail. */
#define MP_NPR_UNDEF 0
#define MP_NPR_FAIL (-1)
#define MP_NPR_QUEUE (-2)

/* Events returned by the mp_noqueue_* calls (bit mask). */
enum mp_nq_event {
  MP_NQ_QUEUE_ON = 1 << 0,     /* queueing turned on (queue_if_no_path) */
  MP_NQ_QUEUE_OFF = 1 << 1,    /* turned off: fail what is queued
                                  (fail_if_no_path) */
  MP_NQ_RECOVERY = 1 << 2,     /* last path lost: N x interval countdown */
  MP_NQ_RECOVERED = 1 << 3,    /* a path came back during recovery */
};

struct mp_noqueue {
  /* Effective settings; the engine resolves config, overrides and the
   * queue_if_no_path feature into no_path_retry before passing it in. */
  int no_path_retry;
  unsigned polling_interval;   /* seconds */
  bool disabled;               /* "disablequeueing" in force */
  /* State. */
  bool queueing;               /* queue_if_no_path is on */
  bool in_recovery;            /* all paths lost with N > 0 */
  bool expired;                /* ... and the countdown ran out */
  unsigned active;             /* last active path count seen */
  unsigned pending;            /* last pending path count seen */
  uint64_t deadline_ns;        /* end of the countdown */
  uint64_t last_tick_ns;
  /* Statistics. */
  uint64_t recoveries;         /* countdowns started (q_timeouts) */
  uint64_t expiries;           /* countdowns run out */
  uint64_t queued_ns;          /* time spent counting down */
};

/* Set up for a new map: queueing starts on for queue and N > 0 (the table
 * carries queue_if_no_path), off otherwise, then 'active' / 'pending' are
 * applied as by mp_noqueue_on_paths.  Returns events like on_paths. */
unsigned mp_noqueue_init (struct mp_noqueue *q, int no_path_retry,
                          unsigned polling_interval, unsigned active,
                          unsigned pending, uint64_t now_ns);

/* The number of usable paths changed (or was re-counted): active usable
 * paths and pending (check in flight) paths.  With N > 0: 0 active and 0
 * pending starts the countdown (once; it is not restarted by later calls
 * while still without paths); a usable path ends recovery and turns
 * queueing back on. */
unsigned mp_noqueue_on_paths (struct mp_noqueue *q, unsigned active,
                              unsigned pending, uint64_t now_ns);

/* Once a second (any cadence works): ends an expired countdown by
 * turning queueing off, and accounts queueing time. */
unsigned mp_noqueue_tick (struct mp_noqueue *q, uint64_t now_ns);

/* A new effective no_path_retry / polling_interval (reconfigure). */
unsigned mp_noqueue_set_policy (struct mp_noqueue *q, int no_path_retry,
                                unsigned polling_interval, uint64_t now_ns);

/* "disablequeueing": queueing off until mp_noqueue_restore, whatever the
 * policy; any countdown is dropped. */
unsigned mp_noqueue_disable (struct mp_noqueue *q, uint64_t now_ns);

/* "restorequeueing": back to the policy, re-applied to the current path
 * count (with N > 0 and no path, a fresh countdown starts). */
unsigned mp_noqueue_restore (struct mp_noqueue *q, uint64_t now_ns);

/* Hold I/O that finds no usable path (queue_if_no_path is on). */
bool mp_noqueue_should_queue (const struct mp_noqueue *q);

/* I/O held for lack of a path must be failed now: queueing is off and no
 * path is active. */
bool mp_noqueue_should_fail_queued (const struct mp_noqueue *q);

/* Whole seconds left in the countdown (rounded up), 0 when none runs: the
 * "<n> sec" of %Q. */
unsigned mp_noqueue_seconds_left (const struct mp_noqueue *q,
                                  uint64_t now_ns);

/* ---------------------------------------------------------------------- */
/* check results and check timing (checkstate.c)                           */
/* ---------------------------------------------------------------------- */

/* What the map (the engine's dm equivalent) currently does with a path. */
enum mp_map_state {
  MP_MAP_UNDEF = 0,   /* not known yet */
  MP_MAP_ACTIVE = 1,  /* I/O may be sent to it */
  MP_MAP_FAILED = 2,  /* I/O bypasses it */
};

/* Actions for the engine after a check (bit mask). */
enum mp_chk_action {
  MP_CHK_FAIL_PATH = 1 << 0,  /* mark the path failed in the map */
  MP_CHK_REINSTATE = 1 << 1,  /* mark it active in the map */
  MP_CHK_WENT_DOWN = 1 << 2,  /* state changed to failed: count a path
                                 failure, mp_failback_path_failed, recount
                                 active paths for no_path_retry */
  MP_CHK_CAME_UP = 1 << 3,    /* changed from failed to usable: re-enable
                                 its group, recount active paths */
  MP_CHK_EVALUATE = 1 << 4,   /* go on: refresh prio, failback evaluation */
  MP_CHK_REMOVE = 1 << 5,     /* the device is gone */
};

/* Per-path check timing, in seconds (multipathd's checkint and tick). */
struct mp_chk_timer {
  unsigned checkint;  /* current interval */
  unsigned tick;      /* seconds to the next check; 0 = due */
};

/* A new path: check now, then every polling_interval. */
void mp_chk_timer_init (struct mp_chk_timer *t, unsigned polling_interval);

/* Once a second: true when the path is due for a check. */
bool mp_chk_tick (struct mp_chk_timer *t);

/* Apply a checker result new_state to a path in old_state that the map
 * holds as map_state.  Sets the next check time and *actions, and
 * returns the state to record:
 *   - PENDING: keep old_state, recheck next second;
 *   - WILD / UNCHECKED (checker failed): keep old_state, recheck after
 *     polling_interval;
 *   - REMOVED: MP_CHK_REMOVE;
 *   - changed state: checkint back to polling_interval; to a failed state
 *     FAIL_PATH | WENT_DOWN (and nothing else); to UP/GHOST REINSTATE |
 *     CAME_UP | EVALUATE;
 *   - unchanged UP/GHOST: REINSTATE if the map has it failed (or does not
 *     know), else the interval doubles, capped at max_polling_interval;
 *   - unchanged failed: FAIL_PATH again if the map has it active (or does
 *     not know).
 * polling_interval 0 counts as 1; a max below polling_interval counts as
 * polling_interval. */
int mp_check_apply (struct mp_chk_timer *t, int old_state, int new_state,
                    int map_state, unsigned polling_interval,
                    unsigned max_polling_interval, unsigned *actions);

/* The result of one TEST UNIT READY, as the transport reported it. */
struct mp_tur_result {
  int transport_error;  /* no SCSI status: connection or task failed */
  int status;           /* SCSI status byte (GOOD 0x00, CHECK CONDITION
                           0x02, RESERVATION CONFLICT 0x18, ...) */
  int sense_key;        /* with CHECK CONDITION, when sense came back; */
  int asc;              /* otherwise 0 */
  int ascq;
};

/* TUR attempts per check: a UNIT ATTENTION is retried this many times in
 * all (multipath-tools' tur checker). */
#define MP_TUR_ATTEMPTS 3

/* The tur checker's verdict on attempt number 'attempt' (1-based):
 * GOOD or RESERVATION CONFLICT: UP; NOT READY with 04/0B (target port in
 * standby): GHOST; UNIT ATTENTION: -EAGAIN (send the TUR again) until the
 * last attempt, then DOWN; any other status or sense, or a transport
 * error: DOWN. */
int mp_tur_state (const struct mp_tur_result *r, unsigned attempt);

/* The state of a TUR still unanswered: PENDING until checker_timeout
 * seconds (0 counts as 1) have passed since it was sent, then TIMEOUT. */
int mp_tur_wait_state (uint64_t sent_ns, uint64_t now_ns,
                       unsigned checker_timeout);

/* ---------------------------------------------------------------------- */
/* priorities (prio.c)                                                     */
/* ---------------------------------------------------------------------- */

/* prio "const". */
int mp_prio_const (void);

/* ALUA asymmetric access states (SPC-4 REPORT TARGET PORT GROUPS). */
enum mp_alua_state {
  MP_ALUA_OPTIMIZED = 0x0,
  MP_ALUA_NON_OPTIMIZED = 0x1,
  MP_ALUA_STANDBY = 0x2,
  MP_ALUA_UNAVAILABLE = 0x3,
  MP_ALUA_LBA_DEPENDENT = 0x4,
  MP_ALUA_OFFLINE = 0xe,
  MP_ALUA_TRANSITIONING = 0xf,
};

/* prio "alua" (and "sysfs") from an access state and the PREF bit:
 * active/optimized 50, active/non-optimized 10, LBA-dependent 5,
 * standby 1, anything else 0; plus 80 when 'pref' is set, except on an
 * active/optimized port unless the exclusive_pref_bit argument is given
 * (multipath-tools prioritizers/alua.c). */
int mp_prio_alua (int access_state, bool pref, bool exclusive_pref_bit);

/* Same from byte 0 of an RTPG target port group descriptor (PREF bit
 * 0x80, state in the low four bits). */
int mp_prio_alua_byte (uint8_t b0, bool exclusive_pref_bit);

/* path_latency defaults and limits (multipath-tools 0.9.x). */
#define MP_LATENCY_IO_NUM_DEFAULT 100
#define MP_LATENCY_IO_NUM_MIN 20
#define MP_LATENCY_IO_NUM_MAX 200
#define MP_LATENCY_BASE_DEFAULT 1.77827941004  /* 10^(1/4): four prio
                                                  steps per factor 10 */
#define MP_LATENCY_BASE_MIN 1.1
#define MP_LATENCY_BASE_MAX 10.0

/* Parse prio_args "io_num=<n> base_num=<x>" (either order, blank
 * separated, both required, each within its limits).  Returns 0, or
 * -EINVAL with the defaults stored (multipath-tools falls back to the
 * defaults too, logging it). */
int mp_prio_path_latency_args (const char *args, unsigned *io_num,
                               double *base_num);

/* prio "path_latency" from n measured read latencies in nanoseconds
 * (multipath-tools measures io_num 4 KiB direct reads of sector 0).
 * Latencies are taken in whole microseconds (a 0 us sample counts as
 * 1 us) and averaged geometrically; the priority is the number of
 * base_num steps from that average up to 100 s:
 *     prio = trunc (log_base (1e8 us) - mean (log_base (latency_us)))
 * clamped to 0 .. trunc (log_base (1e8)); e.g. with base 10, 1 ms -> 5.
 * Returns the prio, or -EINVAL (n == 0, base_num out of limits). */
int mp_prio_path_latency (const uint64_t *lat_ns, size_t n, double base_num);

/***** Login retries of a node never logged in (relogin.c) *****/

#define MP_RELOGIN_MIN_MS 1000u
#define MP_RELOGIN_MAX_MS 30000u

/* The wait before the next login attempt of a node whose logins have all
 * failed, given the last failure's login status (0 when the target never
 * answered with one) and the previous wait (0 the first time).  0 means
 * do not retry: a class 2 status other than 0x0206. */
unsigned mp_relogin_delay_ms (int login_status, unsigned prev_ms);

#endif /* BRAID_MPATH_POLICY_H */
