/* engine.c: the engine object, its nodes (sessions) and its tick.
 *
 * A node is one iSCSI session to one target through one portal.  Its
 * session is configured for fast failure detection (NOP-Out pings every
 * opts.nop_interval_ms) and reinstates itself after failures; the engine
 * only reacts to its events: a failed connection takes every path of the
 * node down at once (I/O moves to other paths without waiting for a
 * checker), a new login triggers a recheck and a fresh LUN scan.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

void
braid_mp_opts_init (struct braid_mp_opts *o)
{
  memset (o, 0, sizeof *o);
  o->size = sizeof *o;
  o->write_quiesce_ms = 10000;
  o->nop_interval_ms = 500;
  o->nop_timeout_ms = 1000;
  o->header_digest = BRAID_DIGEST_NONE_CRC32C;
  o->data_digest = BRAID_DIGEST_NONE;
}

void
mp_set_error (struct braid_mp *mp, const char *fmt, ...)
{
  char tmp[sizeof mp->err];
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (tmp, sizeof tmp, fmt, ap);
  va_end (ap);
  memcpy (mp->err, tmp, sizeof tmp);
}

const char *
braid_mp_get_error (const struct braid_mp *mp)
{
  return mp->err;
}

void
mp_event (struct braid_mp *mp, int ev, struct braid_mp_map *m,
          struct braid_mp_path *p)
{
  if (mp->ev_fn)
    mp->ev_fn (mp->ev_opaque, ev, m, p);
}

void
braid_mp_set_event_fn (struct braid_mp *mp, braid_mp_event_fn fn, void *opaque)
{
  mp->ev_fn = fn;
  mp->ev_opaque = opaque;
}

static void drain_tick (struct braid_mp *mp, uint64_t now);
static void node_relogin (struct mp_node *n);

static void
on_tick (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  struct braid_mp *mp = opaque;
  uint64_t now = braid_now_ns ();
  (void) loop;

  drain_tick (mp, now);
  for (struct mp_node *n = mp->nodes; n; n = n->next)
    if (n->state == NODE_DOWN && n->relogin_at_ns && now >= n->relogin_at_ns)
      node_relogin (n);

  for (size_t i = 0; i < mp->npaths; i++) {
    struct braid_mp_path *p = mp->paths[i];
    if (p->probe == PR_DONE && mp_chk_tick (&p->timer))
      check_path (p);
  }
  for (size_t i = mp->nmaps; i-- > 0; )
    map_tick (mp->maps[i], now);    /* backwards: a map may free itself */
  braid_timer_arm_ms (t, 1000);
}

struct braid_mp *
braid_mp_new (struct braid_loop *loop, const struct braid_mp_opts *o)
{
  struct braid_mp *mp = calloc (1, sizeof *mp);
  if (!mp)
    return NULL;
  braid_mp_opts_init (&mp->opts);
  memcpy (&mp->opts, o, o->size < sizeof mp->opts ? o->size : sizeof mp->opts);
  mp->opts.size = sizeof mp->opts;
  mp->loop = loop;
  snprintf (mp->initiator, sizeof mp->initiator, "%s",
            o->initiator_name ? o->initiator_name : "iqn.2026-11.dev.braid:initiator");
  mp->log.fn = o->log_fn;
  mp->log.opaque = o->log_opaque;
  mp->log.level = o->log_level;
  if (o->wwids_file) {
    snprintf (mp->wwids_path, sizeof mp->wwids_path, "%s", o->wwids_file);
    mp->wwids = braid_wwids_new (mp->wwids_path);
  }
  if (o->bindings_file) {
    snprintf (mp->bindings_path, sizeof mp->bindings_path, "%s", o->bindings_file);
    /* Like multipathd, create the bindings file (header only) at start
     * whether or not user_friendly_names is on. */
    mp->bindings = braid_bindings_new (mp->bindings_path);
    if (mp->bindings)
      braid_bindings_load (mp->bindings, NULL, 0, 0);
  }
  mp->opts.wwids_file = mp->opts.bindings_file = NULL;
  mp->opts.initiator_name = NULL;
  mp->tick = braid_timer_new (loop, on_tick, mp);
  if (!mp->tick) {
    free (mp);
    return NULL;
  }
  braid_timer_arm_ms (mp->tick, 1000);
  return mp;
}

const struct braid_mpconf *
braid_mp_get_config (const struct braid_mp *mp)
{
  return mp->conf;
}

int
braid_mp_set_config (struct braid_mp *mp, struct braid_mpconf *conf)
{
  struct braid_mpconf *old = mp->conf;
  mp->conf = conf;
  for (size_t i = 0; i < mp->nmaps; i++) {
    map_resolve (mp->maps[i]);
    map_regroup (mp->maps[i]);
  }
  /* As multipathd's reconfigure does: a path the old configuration kept
   * out (blacklisted, or not multipathed) is looked at again.  Paths the
   * new one would blacklist stay in their maps until those are flushed:
   * pulling them from under open exports is the admin's call. */
  for (size_t i = 0; i < mp->npaths; i++) {
    struct braid_mp_path *p = mp->paths[i];
    if (!p->map && p->probe == PR_DONE)
      map_add_path (mp, p);
  }
  braid_mpconf_free (old);
  return 0;
}

/* The node of (portal, target) bound to 'iface' ("" = unbound); iface
 * NULL: the first node of (portal, target) whatever its binding. */
static struct mp_node *
node_find (struct braid_mp *mp, const char *portal, const char *target,
           const char *iface)
{
  for (struct mp_node *n = mp->nodes; n; n = n->next)
    if (strcmp (n->portal, portal) == 0 && strcmp (n->target, target) == 0
        && (!iface || strcmp (n->iface, iface) == 0))
      return n;
  return NULL;
}

void
braid_mp_set_nop (struct braid_mp *mp, uint32_t interval_ms, uint32_t timeout_ms)
{
  mp->opts.nop_interval_ms = interval_ms;
  mp->opts.nop_timeout_ms = timeout_ms;
}

int
braid_mp_set_digests (struct braid_mp *mp, int header, int data)
{
  if (header < BRAID_DIGEST_NONE || header > BRAID_DIGEST_CRC32C_NONE
      || data < BRAID_DIGEST_NONE || data > BRAID_DIGEST_CRC32C_NONE)
    return -EINVAL;
  mp->opts.header_digest = header;
  mp->opts.data_digest = data;
  return 0;
}

int
braid_mp_node_status (struct braid_mp *mp, const char *portal,
                      const char *target, const char *iface)
{
  struct mp_node *n = node_find (mp, portal, target, iface ? iface : "");
  if (!n)
    return -ENOENT;
  if (n->state != NODE_UP)
    return 0;
  /* Up, and its disk LUNs are probed and in maps (or refused by them). */
  if (n->first_cb || n->luns_probing)
    return 0;
  for (size_t i = 0; i < mp->npaths; i++)
    if (mp->paths[i]->node == n && mp->paths[i]->probe < PR_DONE)
      return 0;
  return 1;
}

static void
node_event (struct braid_iscsi *s, int ev, void *data, void *opaque)
{
  struct mp_node *n = opaque;
  (void) s;

  switch (ev) {
  case BRAID_ISCSI_EV_LOGGED_IN:
    n->state = NODE_UP;
    BRAID_LOG (&n->mp->log, BRAID_LOG_NOTICE, "%s %s: session up", n->portal, n->target);
    /* Recheck every path of the node now, and look for new LUNs. */
    for (size_t i = 0; i < n->mp->npaths; i++) {
      struct braid_mp_path *p = n->mp->paths[i];
      if (p->node == n) {
        p->timer.tick = 0;
        if (p->probe == PR_FAILED)
          probe_path (p);
      }
    }
    probe_node_luns (n);
    for (size_t i = 0; i < n->mp->nmaps; i++)
      io_fence_release_node (n->mp->maps[i], n);
    mp_event (n->mp, BRAID_MP_EV_NODE_STATE, NULL, NULL);
    break;
  case BRAID_ISCSI_EV_CONN_FAILED:
  case BRAID_ISCSI_EV_GAVE_UP:
    if (n->state == NODE_GONE)
      break;
    n->state = NODE_DOWN;
    BRAID_LOG (&n->mp->log, BRAID_LOG_WARNING, "%s %s: session down: %s",
               n->portal, n->target, data ? (const char *) data : "");
    for (size_t i = 0; i < n->mp->npaths; i++)
      if (n->mp->paths[i]->node == n)
        path_session_down (n->mp->paths[i]);
    mp_event (n->mp, BRAID_MP_EV_NODE_STATE, NULL, NULL);
    break;
  default:
    break;
  }
}

static void
node_log (void *opaque, int level, const char *msg)
{
  struct mp_node *n = opaque;
  if (n->mp->log.fn)
    n->mp->log.fn (n->mp->log.opaque, level, msg);
}

/* A login of a node that never logged in failed: the iSCSI layer does not
 * retry those (it hands them back), so the engine does, unless the target
 * refused us for good. */
static void
node_schedule_relogin (struct mp_node *n, int login_status)
{
  n->relogin_ms = mp_relogin_delay_ms (login_status, n->relogin_ms);
  if (!n->relogin_ms) {
    n->relogin_at_ns = 0;
    BRAID_LOG (&n->mp->log, BRAID_LOG_ERR, "%s %s: login refused (%s): "
               "not retrying", n->portal, n->target,
               braid_iscsi_login_status_str (login_status));
    return;
  }
  n->relogin_at_ns = braid_now_ns () + (uint64_t) n->relogin_ms * 1000000u;
  BRAID_LOG (&n->mp->log, BRAID_LOG_WARNING, "%s %s: login failed, trying "
             "again in %u s", n->portal, n->target, n->relogin_ms / 1000);
}

static void node_connected (struct braid_iscsi *s, int status, void *data,
                            void *opaque);

static void
node_relogin (struct mp_node *n)
{
  n->relogin_at_ns = 0;
  n->state = NODE_LOGIN;
  if (braid_iscsi_connect_async (n->sess, node_connected, n) < 0) {
    n->state = NODE_DOWN;
    node_schedule_relogin (n, 0);
  }
}

static void
node_connected (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct mp_node *n = opaque;
  (void) data;
  if (status == BRAID_STATUS_GOOD)
    n->relogin_ms = 0;
  else {
    mp_set_error (n->mp, "%s", braid_iscsi_get_error (s));
    n->state = NODE_DOWN;
    node_schedule_relogin (n, braid_iscsi_login_status (s));
    if (n->first_cb) {
      braid_mp_cb cb = n->first_cb;
      n->first_cb = NULL;
      cb (n->first_opaque, BRAID_STATUS_ERROR);
    }
  }
  /* success: node_event(LOGGED_IN) already started the LUN scan; the
   * first callback runs when it is done (probe.c). */
}

int
braid_mp_add_node (struct braid_mp *mp, const struct braid_mp_node_spec *spec,
                   braid_mp_cb cb, void *opaque)
{
  if (!spec->portal || !spec->target) {
    mp_set_error (mp, "a node needs a portal and a target");
    return -EINVAL;
  }
  if (spec->iface && strlen (spec->iface) >= sizeof ((struct mp_node *) 0)->iface) {
    mp_set_error (mp, "interface name %s is too long", spec->iface);
    return -EINVAL;
  }
  if (node_find (mp, spec->portal, spec->target, spec->iface ? spec->iface : "")) {
    mp_set_error (mp, "already logged in to %s through %s%s%s", spec->target,
                  spec->portal, spec->iface ? " via " : "", spec->iface ? spec->iface : "");
    return -EEXIST;
  }
  struct mp_node *n = calloc (1, sizeof *n);
  if (!n)
    return -ENOMEM;
  n->mp = mp;
  snprintf (n->portal, sizeof n->portal, "%s", spec->portal);
  snprintf (n->target, sizeof n->target, "%s", spec->target);
  snprintf (n->tag, sizeof n->tag, "%s", spec->tag ? spec->tag : "");
  snprintf (n->iface, sizeof n->iface, "%s", spec->iface ? spec->iface : "");
  n->enroll = spec->enroll;
  n->host = mp->next_host++;
  n->state = NODE_LOGIN;
  n->first_cb = cb;
  n->first_opaque = opaque;
  n->sess = braid_iscsi_new (mp->initiator);
  if (!n->sess) {
    free (n);
    return -ENOMEM;
  }
  struct braid_iscsi_opts o;
  braid_iscsi_opts_init (&o);
  o.nop_interval_ms = mp->opts.nop_interval_ms;
  o.nop_timeout_ms = mp->opts.nop_timeout_ms;
  o.header_digest = mp->opts.header_digest;
  o.data_digest = mp->opts.data_digest;
  /* A path that cannot carry I/O is the multipath layer's business: no
   * queueing in the session, quick reconnect attempts. */
  o.queue_while_down = 0;
  o.reconnect = 1;
  o.reconnect_min_ms = 250;
  o.reconnect_max_ms = 5000;
  o.default_time2wait = 0;
  o.connect_timeout_ms = 5000;
  o.tcp_user_timeout_ms = mp->opts.nop_interval_ms + mp->opts.nop_timeout_ms;
  if (spec->iface)
    snprintf (o.bind_iface, sizeof o.bind_iface, "%s", spec->iface);
  if (spec->source)
    snprintf (o.bind_addr, sizeof o.bind_addr, "%s", spec->source);
  /* A stable ISID per node, so reinstatement after a failure replaces the
   * old session on the target: random type, the instance's random bytes,
   * qualifier = host number. */
  const uint8_t *rnd = mp->opts.isid_random;
  uint8_t isid[6] = { 0x80, 0xb7, 0xa1, 0xd0, (uint8_t) (n->host >> 8), (uint8_t) n->host };
  if (rnd[0] | rnd[1] | rnd[2])
    memcpy (isid + 1, rnd, 3);
  int r = braid_iscsi_set_opts (n->sess, &o);
  if (!r)
    r = braid_iscsi_set_portal (n->sess, spec->portal);
  if (!r)
    r = braid_iscsi_set_target (n->sess, spec->target);
  if (!r)
    r = braid_iscsi_set_isid (n->sess, isid);
  if (!r && spec->chap_user)
    r = braid_iscsi_set_chap (n->sess, spec->chap_user, spec->chap_secret,
                              strlen (spec->chap_secret));
  if (!r && spec->chap_target_user)
    r = braid_iscsi_set_target_chap (n->sess, spec->chap_target_user,
                                     spec->chap_target_secret,
                                     strlen (spec->chap_target_secret));
  if (r < 0) {
    mp_set_error (mp, "%s", braid_iscsi_get_error (n->sess));
    braid_iscsi_free (n->sess);
    free (n);
    return r;
  }
  braid_iscsi_set_event_cb (n->sess, node_event, n);
  braid_iscsi_set_log_fn (n->sess, node_log, n, mp->log.level);
  braid_iscsi_attach (n->sess, mp->loop);
  r = braid_iscsi_connect_async (n->sess, node_connected, n);
  if (r < 0) {
    mp_set_error (mp, "%s", braid_iscsi_get_error (n->sess));
    braid_iscsi_detach (n->sess);
    braid_iscsi_free (n->sess);
    free (n);
    return r;
  }
  n->next = mp->nodes;
  mp->nodes = n;
  return 0;
}

/* Free a path object of a node being freed (its session, and with it
 * every callback that could still name the path, is gone). */
static void
path_free (struct braid_mp_path *p)
{
  struct braid_mp *mp = p->mp;
  for (size_t i = 0; i < mp->npaths; i++)
    if (mp->paths[i] == p) {
      memmove (mp->paths + i, mp->paths + i + 1, (mp->npaths - i - 1) * sizeof *mp->paths);
      mp->npaths--;
      break;
    }
  free (p->props);
  free (p);
}

static void
node_free (struct braid_mp *mp, struct mp_node *n)
{
  struct mp_node **pp = &mp->nodes;
  while (*pp && *pp != n)
    pp = &(*pp)->next;
  if (*pp)
    *pp = n->next;
  n->state = NODE_GONE;
  /* Paths leave their maps first, so I/O coming back from the session goes
   * to other paths; then the session is freed, which completes whatever it
   * still held (the callbacks still find their path objects); then the
   * paths go. */
  for (size_t i = 0; i < mp->npaths; i++) {
    struct braid_mp_path *p = mp->paths[i];
    if (p->node == n && p->map)
      map_remove_path (p->map, p);
  }
  braid_iscsi_detach (n->sess);
  braid_iscsi_free (n->sess);
  for (size_t i = mp->npaths; i-- > 0; ) {
    struct braid_mp_path *p = mp->paths[i];
    if (p->node == n)
      path_free (p);
  }
  free (n);
}

static void
node_free_deferred (struct braid_loop *loop, void *opaque)
{
  struct mp_node *n = opaque;
  (void) loop;
  node_free (n->mp, n);
}

static void
node_logged_out (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct mp_node *n = opaque;
  (void) s;
  (void) status;
  (void) data;
  /* A session may not be freed from inside its own callback: do it on the
   * next loop iteration. */
  n->draining = 2;
  braid_loop_defer (n->mp->loop, node_free_deferred, n);
}

/* Commands sent on the node's session and not yet answered. */
static unsigned
node_busy (struct mp_node *n)
{
  return braid_iscsi_is_logged_in (n->sess) ? braid_iscsi_queue_length (n->sess) : 0;
}

/* Log a drained node out (or free it when it cannot log out cleanly). */
static void
node_logout (struct braid_mp *mp, struct mp_node *n)
{
  if (braid_iscsi_is_logged_in (n->sess) && node_busy (n) == 0
      && braid_iscsi_logout_async (n->sess, node_logged_out, n) == 0)
    return;
  node_free (mp, n);
}

/* Nodes being removed wait here until the I/O they carried has finished
 * (a few seconds at most), so taking a path away never turns into an
 * abortive close with writes of unknown fate. */
static void
drain_tick (struct braid_mp *mp, uint64_t now)
{
  for (struct mp_node **pp = &mp->draining; *pp; ) {
    struct mp_node *n = *pp;
    unsigned busy = node_busy (n);
    if (busy && now < n->drain_deadline) {
      pp = &n->next;
      continue;
    }
    *pp = n->next;
    n->next = NULL;
    if (busy)
      BRAID_LOG (&mp->log, BRAID_LOG_WARNING, "%s %s: still %u command(s) in flight "
                 "after the drain time, closing", n->portal, n->target, busy);
    node_logout (mp, n);
  }
}

static int
remove_node (struct braid_mp *mp, struct mp_node *n)
{
  /* Take the paths out of their maps (no new I/O is sent there), then
   * log out once what was already sent has come back. */
  for (size_t i = 0; i < mp->npaths; i++) {
    struct braid_mp_path *p = mp->paths[i];
    if (p->node == n && p->map)
      map_remove_path (p->map, p);
  }
  n->draining = 1;
  /* Out of the list now: a new login to the same node must not find the
   * one that is logging out. */
  struct mp_node **pp = &mp->nodes;
  while (*pp && *pp != n)
    pp = &(*pp)->next;
  if (*pp)
    *pp = n->next;
  n->next = NULL;
  /* Whoever waits for its first login (a "login" command, braidd's start)
   * gets an answer now: that login will never finish. */
  if (n->first_cb) {
    braid_mp_cb cb = n->first_cb;
    n->first_cb = NULL;
    mp_set_error (mp, "%s %s: logged out before its login finished",
                  n->portal, n->target);
    cb (n->first_opaque, BRAID_STATUS_ERROR);
  }
  unsigned busy = node_busy (n);
  if (busy) {
    BRAID_LOG (&mp->log, BRAID_LOG_NOTICE, "%s %s%s%s: waiting for %u command(s) "
               "in flight before logging out", n->portal, n->target,
               n->iface[0] ? " via " : "", n->iface, busy);
    n->drain_deadline = braid_now_ns () + 30ull * 1000000000ull;
    n->next = mp->draining;
    mp->draining = n;
    return 0;
  }
  node_logout (mp, n);
  return 0;
}

/* iface NULL: the node of (portal, target) whatever its binding. */
static int
remove_node_by (struct braid_mp *mp, const char *portal, const char *target,
                const char *iface)
{
  struct mp_node *n = node_find (mp, portal, target, iface);
  if (!n) {
    mp_set_error (mp, "no session to %s through %s%s%s", target, portal,
                  iface && *iface ? " via " : "", iface ? iface : "");
    return -ENOENT;
  }
  return remove_node (mp, n);
}

int
braid_mp_remove_node (struct braid_mp *mp, const char *portal, const char *target)
{
  return remove_node_by (mp, portal, target, NULL);
}

int
braid_mp_remove_node_iface (struct braid_mp *mp, const char *portal,
                            const char *target, const char *iface)
{
  return remove_node_by (mp, portal, target, iface ? iface : "");
}

void
braid_mp_free (struct braid_mp *mp)
{
  if (!mp)
    return;
  while (mp->nodes)
    node_free (mp, mp->nodes);
  while (mp->draining) {
    struct mp_node *n = mp->draining;
    mp->draining = n->next;
    node_free (mp, n);
  }
  while (mp->nmaps)
    map_free (mp->maps[mp->nmaps - 1]);
  free (mp->maps);
  free (mp->paths);
  braid_timer_free (mp->tick);
  io_free_cache (mp);
  braid_wwids_free (mp->wwids);
  braid_bindings_free (mp->bindings);
  braid_mpconf_free (mp->conf);
  free (mp);
}

const char *
braid_mp_chk_name (int chk)
{
  switch (chk) {
  case BRAID_CHK_UP: return "ready";
  case BRAID_CHK_DOWN: return "faulty";
  case BRAID_CHK_SHAKY: return "shaky";
  case BRAID_CHK_GHOST: return "ghost";
  case BRAID_CHK_PENDING: return "i/o pending";
  case BRAID_CHK_TIMEOUT: return "i/o timeout";
  case BRAID_CHK_DELAYED: return "delayed";
  default: return "undef";
  }
}

static void
map_ref_get (const void *table, size_t i, const char **name, const char **wwid)
{
  const struct braid_mp_map *const *maps = table;
  *name = maps[i]->name;
  *wwid = maps[i]->wwid;
}

struct braid_mp_map *
braid_mp_find_map (struct braid_mp *mp, const char *name)
{
  long i = braid_map_ref_resolve (name, mp->nmaps, map_ref_get, mp->maps);
  return i >= 0 ? mp->maps[i] : NULL;
}

struct braid_mp_path *
braid_mp_find_path (struct braid_mp *mp, const char *name)
{
  for (size_t i = 0; i < mp->npaths; i++) {
    struct braid_mp_path *p = mp->paths[i];
    if (strcmp (p->name, name) == 0 || strcmp (p->hcil, name) == 0)
      return p;
  }
  return NULL;
}

const char *braid_mp_map_name (const struct braid_mp_map *m) { return m->name; }
const char *braid_mp_map_wwid (const struct braid_mp_map *m) { return m->wwid; }
uint64_t braid_mp_map_size (const struct braid_mp_map *m) { return m->size; }
uint32_t braid_mp_map_block_size (const struct braid_mp_map *m) { return m->block_size; }
