/* map.c: maps: which paths form them, how they are grouped, which group
 * carries I/O, and what happens when paths come and go.
 *
 * Settings come from the configuration's resolver for the map's first
 * path (multipaths > overrides > devices > defaults > built-in).  Groups
 * and the best group follow multipath-tools (lib/mpath); the selector
 * chooses among the usable paths of the current group.  When the current
 * group runs out of usable paths the best other group takes over at once
 * (dm-multipath does the same in the kernel); failback to a better group
 * follows the failback setting.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static const char *const *
props_vector (struct braid_mp_path *p, char **store, const char **vec, size_t cap)
{
  size_t n = 0;
  *store = p->props ? strdup (p->props) : NULL;
  for (char *save = NULL, *l = *store ? strtok_r (*store, "\n", &save) : NULL;
       l && n + 1 < cap; l = strtok_r (NULL, "\n", &save))
    vec[n++] = l;
  vec[n] = NULL;
  return vec;
}

static void
path_id (struct braid_mp_path *p, struct braid_mpconf_path_id *id,
         char **store, const char **vec, size_t cap)
{
  memset (id, 0, sizeof *id);
  id->vendor = p->vendor;
  id->product = p->product;
  id->revision = p->revision;
  id->wwid = p->wwid;
  id->protocol = "scsi:iscsi";
  id->devnode = p->name;
  id->properties = props_vector (p, store, vec, cap);
  id->flags = BRAID_MPCONF_PATH_BRAID;
  id->tpgs = p->tpgs;
}

int
map_usable_paths (const struct braid_mp_map *m)
{
  int n = 0;
  for (size_t i = 0; i < m->npaths; i++)
    if (mp_state_usable (m->paths[i]->chk) && m->paths[i]->map_state != MP_MAP_FAILED)
      n++;
  return n;
}

/* Priority of a path with the map's prioritizer. */
static int
path_prio (struct braid_mp_map *m, struct braid_mp_path *p)
{
  if (!strcmp (m->prio_name, "alua")) {
    if (p->alua_state < 0)
      return MP_PRIO_UNDEF;
    return mp_prio_alua (p->alua_state, p->alua_pref > 0, 0);
  }
  if (!strcmp (m->prio_name, "path_latency")) {
    if (!p->lat_n)
      return MP_PRIO_UNDEF;
    int pr = mp_prio_path_latency (p->lat_ring, p->lat_n, m->latency_base);
    return pr < 0 ? MP_PRIO_UNDEF : pr;
  }
  return mp_prio_const ();
}

static void
refresh_views (struct braid_mp_map *m)
{
  for (size_t i = 0; i < m->npaths; i++) {
    struct braid_mp_path *p = m->paths[i];
    p->prio = path_prio (m, p);
    m->views[i] = (struct mp_path_view) {
      .state = p->map_state == MP_MAP_FAILED && mp_state_usable (p->chk)
               ? MP_STATE_DOWN : p->chk,
      .prio = p->prio, .marginal = 0, .serial = p->serial,
      .node_name = p->node ? p->node->target : "", .tpg = p->tpg,
    };
  }
}

/* Which paths the selector may use: usable ones of the current group. */
static void
refresh_sel (struct braid_mp_map *m)
{
  for (size_t i = 0; i < m->npaths; i++)
    m->sel[i].usable = 0;
  if (m->cur_pg < 1 || (size_t) m->cur_pg > m->pg.ngroups)
    return;
  const struct mp_pgroup *g = &m->pg.groups[m->cur_pg - 1];
  for (size_t k = 0; k < g->npaths; k++) {
    size_t i = g->paths[k];
    struct braid_mp_path *p = m->paths[i];
    m->sel[i].usable = mp_state_usable (p->chk) && p->map_state != MP_MAP_FAILED;
    unsigned rq = (unsigned) m->set.v[BRAID_MPS_RR_MIN_IO_RQ].num;
    m->sel[i].repeat = rq ? rq : 1;
  }
}

static int
group_usable (const struct braid_mp_map *m, int g)
{
  if (g < 1 || (size_t) g > m->pg.ngroups)
    return 0;
  const struct mp_pgroup *pg = &m->pg.groups[g - 1];
  for (size_t k = 0; k < pg->npaths; k++) {
    struct braid_mp_path *p = m->paths[pg->paths[k]];
    if (mp_state_usable (p->chk) && p->map_state != MP_MAP_FAILED)
      return 1;
  }
  return 0;
}

/* The kernel's behaviour when the current group has no usable path left:
 * move to the best group that has one. */
static void
ensure_usable_group (struct braid_mp_map *m)
{
  if (group_usable (m, m->cur_pg))
    return;
  int best = mp_select_group (&m->pg, m->views);
  if (best != m->cur_pg && group_usable (m, best)) {
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: switching to path group %d "
               "(group %d has no usable path)", m->name, best, m->cur_pg);
    m->cur_pg = best;
    m->switch_grp++;
  }
}

void
map_regroup (struct braid_mp_map *m)
{
  refresh_views (m);
  mp_pgroups_free (&m->pg);
  int marginal = (int) m->set.v[BRAID_MPS_MARGINAL_PATHGROUPS].num;
  if (mp_group_paths (m->pgpolicy, m->views, m->npaths, marginal, &m->pg) < 0)
    memset (&m->pg, 0, sizeof m->pg);
  m->cur_pg = m->pg.ngroups ? mp_select_group (&m->pg, m->views) : 0;
  m->map_loads++;
  refresh_sel (m);
}

/* (Re)read the map's settings from the configuration. */
void
map_resolve (struct braid_mp_map *m)
{
  struct braid_mp *mp = m->mp;
  char *store = NULL;
  const char *vec[64];
  struct braid_mpconf_path_id id;

  if (!m->npaths || !mp->conf)
    return;
  path_id (m->paths[0], &id, &store, vec, 64);
  braid_mpconf_resolve (mp->conf, &id, &m->set);
  free (store);
  m->pgpolicy = (int) m->set.v[BRAID_MPS_PATH_GROUPING_POLICY].num;
  if (m->pgpolicy < MP_PGP_FAILOVER || m->pgpolicy > MP_PGP_GROUP_BY_TPG)
    m->pgpolicy = MP_PGP_FAILOVER;
  const char *sel = m->set.v[BRAID_MPS_PATH_SELECTOR].str;
  if (!sel || !*sel)
    sel = "service-time 0";
  if (strcmp (sel, m->selector_spec) != 0) {
    char err[128];
    struct mp_selector *ns = mp_selector_new (sel, err, sizeof err);
    if (!ns) {
      BRAID_LOG (&mp->log, BRAID_LOG_WARNING, "%s: path_selector \"%s\": %s; "
                 "using service-time", m->name, sel, err);
      ns = mp_selector_new ("service-time 0", err, sizeof err);
      sel = "service-time 0";
    }
    mp_selector_free (m->selector);
    m->selector = ns;
    snprintf (m->selector_spec, sizeof m->selector_spec, "%s", sel);
    for (size_t i = 0; i < m->npaths; i++) {
      uint32_t f = m->sel[i].in_flight;
      uint64_t b = m->sel[i].in_flight_bytes;
      mp_sel_path_init (&m->sel[i]);
      m->sel[i].in_flight = f;
      m->sel[i].in_flight_bytes = b;
    }
  }
  const char *chk = m->set.v[BRAID_MPS_PATH_CHECKER].str;
  snprintf (m->checker, sizeof m->checker, "%s",
            chk && (!strcmp (chk, "readsector0") || !strcmp (chk, "none")) ? chk : "tur");
  const char *prio = m->set.v[BRAID_MPS_PRIO].str;
  snprintf (m->prio_name, sizeof m->prio_name, "%s",
            prio && (!strcmp (prio, "alua") || !strcmp (prio, "path_latency")) ? prio : "const");
  if (!strcmp (m->prio_name, "path_latency")) {
    unsigned io_num;
    mp_prio_path_latency_args (m->set.v[BRAID_MPS_PRIO_ARGS].str, &io_num, &m->latency_base);
  }
  long long pi = m->set.v[BRAID_MPS_POLLING_INTERVAL].num;
  long long maxpi = m->set.v[BRAID_MPS_MAX_POLLING_INTERVAL].num;
  m->polling_interval = pi > 0 ? (unsigned) pi : 5;
  m->max_polling_interval = maxpi > 0 ? (unsigned) maxpi : 4 * m->polling_interval;
  long long ct = m->set.v[BRAID_MPS_CHECKER_TIMEOUT].num;
  m->checker_timeout = ct > 0 ? (unsigned) ct : 30;
  int fb = (int) m->set.v[BRAID_MPS_FAILBACK].num;
  if (fb != m->fb.mode)
    mp_failback_init (&m->fb, fb);
  int npr = (int) m->set.v[BRAID_MPS_NO_PATH_RETRY].num;
  mp_noqueue_set_policy (&m->nq, npr, m->polling_interval, braid_now_ns ());
}

static struct braid_mp_map *
map_new (struct braid_mp *mp, struct braid_mp_path *p)
{
  struct braid_mp_map *m = calloc (1, sizeof *m);
  struct braid_mp_map **nm = realloc (mp->maps, (mp->nmaps + 1) * sizeof *nm);
  if (!m || !nm) {
    free (m);
    return NULL;
  }
  mp->maps = nm;
  mp->maps[mp->nmaps++] = m;
  m->mp = mp;
  snprintf (m->wwid, sizeof m->wwid, "%s", p->wwid);
  snprintf (m->name, sizeof m->name, "%s", p->wwid);
  m->fb.mode = 0x7fffffff;          /* forces init in map_resolve */
  mp_noqueue_init (&m->nq, MP_NPR_FAIL, 5, 0, 0, braid_now_ns ());
  return m;
}

/* Name the map: multipaths alias, else user_friendly_names + bindings,
 * else the WWID. */
static void
map_name (struct braid_mp_map *m)
{
  struct braid_mp *mp = m->mp;
  const char *alias = m->set.v[BRAID_MPS_ALIAS].str;

  if (alias && *alias) {
    snprintf (m->name, sizeof m->name, "%s", alias);
    return;
  }
  if (m->set.v[BRAID_MPS_USER_FRIENDLY_NAMES].num && mp->bindings_path[0]) {
    if (!mp->bindings) {
      mp->bindings = braid_bindings_new (mp->bindings_path);
      if (mp->bindings)
        braid_bindings_load (mp->bindings, NULL, 0, 0);
    }
    const char *prefix = m->set.v[BRAID_MPS_ALIAS_PREFIX].str;
    char got[128];
    if (mp->bindings
        && braid_bindings_get_alias (mp->bindings, m->wwid, NULL,
                                     prefix ? prefix : "mpath", NULL, NULL,
                                     got, sizeof got) >= 0) {
      snprintf (m->name, sizeof m->name, "%s", got);
      return;
    }
  }
  snprintf (m->name, sizeof m->name, "%s", m->wwid);
}

/* find_multipaths, as multipath-tools decides it (lib/mpconf valid.c):
 * a WWID in the wwids file always forms a map; "no"/"greedy" take any
 * path; "yes"/"smart" also take a WWID seen through two paths.  A node
 * logged in explicitly with enroll set adds its WWIDs to the wwids file
 * first (the admin asked for exactly these). */
static int
count_wwid (struct braid_mp *mp, const char *wwid)
{
  int n = 0;
  for (size_t i = 0; i < mp->npaths; i++)
    if (mp->paths[i]->probe == PR_DONE && !strcmp (mp->paths[i]->wwid, wwid))
      n++;
  return n;
}

static int
should_map (struct braid_mp *mp, struct braid_mp_path *p)
{
  struct braid_mpconf_settings s;
  char *store = NULL;
  const char *vec[64];
  struct braid_mpconf_path_id id;
  long long fmc = BRAID_MPCONF_FIND_STRICT;

  if (mp->conf) {
    path_id (p, &id, &store, vec, 64);
    braid_mpconf_resolve (mp->conf, &id, &s);
    free (store);
    fmc = s.v[BRAID_MPS_FIND_MULTIPATHS].num;
  }
  enum braid_find_multipaths fm =
    fmc == BRAID_MPCONF_FIND_OFF ? BRAID_FIND_MP_OFF
    : fmc == BRAID_MPCONF_FIND_ON ? BRAID_FIND_MP_ON
    : fmc == BRAID_MPCONF_FIND_GREEDY ? BRAID_FIND_MP_GREEDY
    : fmc == BRAID_MPCONF_FIND_SMART ? BRAID_FIND_MP_SMART : BRAID_FIND_MP_STRICT;
  int known = mp->wwids && braid_wwids_check (mp->wwids, p->wwid) == 1;
  if (!known && p->node && p->node->enroll && mp->wwids
      && braid_wwids_add (mp->wwids, p->wwid) >= 0) {
    BRAID_LOG (&mp->log, BRAID_LOG_NOTICE, "%s: WWID %s added to the wwids "
               "file (explicit login)", p->name, p->wwid);
    known = 1;
  }
  /* multipathd creates a map for every usable path with "no" and
   * "greedy" (is_path_valid answers the udev question, not this one). */
  if (fm == BRAID_FIND_MP_OFF || fm == BRAID_FIND_MP_GREEDY)
    return 1;
  struct braid_path_valid_input in = {
    .find_multipaths = fm, .pathinfo = 0, .wwid = p->wwid, .wwid_failed = 0,
    .in_wwids_file = known, .map_exists = 0,
  };
  int v = braid_path_is_valid (&in);
  if (v == BRAID_PATH_IS_VALID || v == BRAID_PATH_IS_VALID_NO_CHECK)
    return 1;
  if ((v == BRAID_PATH_IS_MAYBE_VALID || fm == BRAID_FIND_MP_ON)
      && count_wwid (mp, p->wwid) >= 2)
    return 1;
  BRAID_LOG (&mp->log, BRAID_LOG_NOTICE, "%s: WWID %s not multipathed "
             "(find_multipaths %s, not in the wwids file)", p->name, p->wwid,
             fm == BRAID_FIND_MP_STRICT ? "strict" : fm == BRAID_FIND_MP_SMART
             ? "smart, one path so far" : "yes, one path so far");
  return 0;
}

/* H:C:T:L order: the session's host number, then the LUN. */
static int
path_before (const struct braid_mp_path *a, const struct braid_mp_path *b)
{
  int ha = a->node ? a->node->host : 0, hb = b->node ? b->node->host : 0;
  return ha != hb ? ha < hb : a->lun < b->lun;
}

void
map_add_path (struct braid_mp *mp, struct braid_mp_path *p)
{
  char why[256] = "";
  char *store = NULL;
  const char *vec[64];
  struct braid_mpconf_path_id id;

  /* A path whose session is being drained (logged out, waiting for its
   * in-flight I/O) never rejoins a map. */
  if (p->map || (p->node && p->node->draining))
    return;
  if (mp->conf) {
    path_id (p, &id, &store, vec, 64);
    int bl = braid_mpconf_blacklisted (mp->conf, &id, why, sizeof why);
    free (store);
    if (bl > 0) {
      BRAID_LOG (&mp->log, BRAID_LOG_NOTICE, "%s: blacklisted (%s)", p->name, why);
      return;
    }
  }
  struct braid_mp_map *m = braid_mp_find_map (mp, p->wwid);
  int fresh = 0;
  if (!m) {
    if (!should_map (mp, p))
      return;
    m = map_new (mp, p);
    if (!m)
      return;
    fresh = 1;
  }
  struct braid_mp_path **np = realloc (m->paths, (m->npaths + 1) * sizeof *np);
  struct mp_sel_path *ns = realloc (m->sel, (m->npaths + 1) * sizeof *ns);
  struct mp_path_view *nv = realloc (m->views, (m->npaths + 1) * sizeof *nv);
  if (np)
    m->paths = np;
  if (ns)
    m->sel = ns;
  if (nv)
    m->views = nv;
  if (!np || !ns || !nv)
    return;
  /* Keep the paths in H:C:T:L order, whatever order their probes finished
   * in, so a map's topology (and which path leads a failover group) is
   * the same after a flush and re-add as at start. */
  size_t at = m->npaths;
  for (size_t j = 0; j < m->npaths; j++)
    if (path_before (p, m->paths[j])) {
      at = j;
      break;
    }
  memmove (m->paths + at + 1, m->paths + at, (m->npaths - at) * sizeof *m->paths);
  memmove (m->sel + at + 1, m->sel + at, (m->npaths - at) * sizeof *m->sel);
  m->paths[at] = p;
  mp_sel_path_init (&m->sel[at]);
  m->npaths++;
  p->map = m;
  p->map_state = MP_MAP_ACTIVE;
  if (fresh) {
    map_resolve (m);
    map_name (m);
    m->size = p->blocks * p->block_size;
    m->block_size = p->block_size;
    if (mp->wwids)
      braid_wwids_add (mp->wwids, m->wwid);
  }
  mp_chk_timer_init (&p->timer, m->polling_interval);
  map_regroup (m);
  mp_noqueue_on_paths (&m->nq, (unsigned) map_usable_paths (m), 0, braid_now_ns ());
  BRAID_LOG (&mp->log, BRAID_LOG_NOTICE, "%s: added path %s (%s)", m->name,
             p->name, p->hcil);
  if (fresh)
    for (size_t i = 0; i < mp->npaths; i++) {
      struct braid_mp_path *o = mp->paths[i];
      if (o != p && !o->map && o->probe == PR_DONE && !strcmp (o->wwid, p->wwid))
        map_add_path (mp, o);       /* paths seen before the map existed */
    }
  if (!m->announced) {
    m->announced = 1;
    mp_event (mp, BRAID_MP_EV_MAP_ADDED, m, NULL);
  }
  else
    mp_event (mp, BRAID_MP_EV_PATH_STATE, m, p);
  io_dispatch_queue (m);
}

void
map_remove_path (struct braid_mp_map *m, struct braid_mp_path *p)
{
  size_t i;
  for (i = 0; i < m->npaths && m->paths[i] != p; i++)
    ;
  if (i == m->npaths)
    return;
  /* Its in-flight I/O completes through the session; mark it failed so
   * nothing new goes there, and requeue what comes back. */
  p->map_state = MP_MAP_FAILED;
  memmove (m->paths + i, m->paths + i + 1, (m->npaths - i - 1) * sizeof *m->paths);
  memmove (m->sel + i, m->sel + i + 1, (m->npaths - i - 1) * sizeof *m->sel);
  m->npaths--;
  p->map = NULL;
  BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: removed path %s", m->name, p->name);
  map_regroup (m);
  mp_noqueue_on_paths (&m->nq, (unsigned) map_usable_paths (m), 0, braid_now_ns ());
  mp_event (m->mp, BRAID_MP_EV_PATH_STATE, m, NULL);
}

/* A path's checker state or map state changed. */
void
map_path_state (struct braid_mp_map *m, struct braid_mp_path *p, int new_chk,
                int prev_chk)
{
  uint64_t now = braid_now_ns ();
  size_t idx = 0;
  for (idx = 0; idx < m->npaths && m->paths[idx] != p; idx++)
    ;
  refresh_views (m);
  for (size_t g = 0; g < m->pg.ngroups; g++)
    mp_pgroup_update (&m->pg.groups[g], m->views);
  int usable = mp_state_usable (new_chk) && p->map_state != MP_MAP_FAILED;
  if (!usable) {
    m->path_faults += mp_state_usable (prev_chk);
    mp_failback_path_failed (&m->fb);
    ensure_usable_group (m);
  }
  else {
    if (!group_usable (m, m->cur_pg))
      ensure_usable_group (m);
    if (idx < m->npaths) {
      struct mp_check_event ev = { .path = idx, .prev_state = prev_chk,
                                   .prio_changed = 0, .cur_pg = m->cur_pg,
                                   .pgpolicy = m->pgpolicy };
      struct mp_fb_decision d = { 0 };
      if (mp_failback_after_check (&m->fb, &m->pg, m->views, m->npaths, &ev, &d) == 0) {
        if (d.reload)
          map_regroup (m);
        else if (d.switch_to > 0 && d.switch_to != m->cur_pg) {
          BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: failback to path group %d",
                     m->name, d.switch_to);
          m->cur_pg = d.switch_to;
          m->switch_grp++;
        }
      }
    }
  }
  refresh_sel (m);
  if (usable && idx < m->npaths && !mp_state_usable (prev_chk))
    mp_selector_reinstate (m->selector, m->sel, m->npaths, idx);
  int left = map_usable_paths (m);
  if (!usable && left == 0) {
    /* fast_io_fail_tmo: how long a broken session may take to come back
     * before its I/O stops waiting (-1: off; unset: multipath's 5 s). */
    long long tmo = m->set.v[BRAID_MPS_FAST_IO_FAIL_TMO].num;
    if (m->set.v[BRAID_MPS_FAST_IO_FAIL_TMO].src == BRAID_MPCONF_SRC_UNSET)
      tmo = 5;
    m->grace_until = tmo > 0 ? now + (uint64_t) tmo * 1000000000ull : 0;
  }
  unsigned ev = mp_noqueue_on_paths (&m->nq, (unsigned) left, 0, now);
  if (left > 0)
    io_dispatch_queue (m);
  else if ((ev & MP_NQ_QUEUE_OFF || mp_noqueue_should_fail_queued (&m->nq))
           && now >= m->grace_until)
    io_fail_queue (m, EIO);
}

/* A path's priority may have changed (ALUA state).  group_by_prio groups
 * by priority, so the map is regrouped (multipathd reloads it); with other
 * policies the groups' priorities are refreshed and failback decides. */
void
map_prio_changed (struct braid_mp_map *m)
{
  int before = m->cur_pg;
  refresh_views (m);
  if (m->pgpolicy == MP_PGP_GROUP_BY_PRIO)
    map_regroup (m);
  else {
    for (size_t g = 0; g < m->pg.ngroups; g++)
      mp_pgroup_update (&m->pg.groups[g], m->views);
    int best = mp_select_group (&m->pg, m->views);
    if ((m->fb.mode == MP_FAILBACK_IMMEDIATE || !group_usable (m, m->cur_pg))
        && best != m->cur_pg && group_usable (m, best))
      m->cur_pg = best;
    refresh_sel (m);
  }
  if (m->cur_pg != before) {
    m->switch_grp++;
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: priorities changed, path group %d "
               "now carries I/O", m->name, m->cur_pg);
  }
  io_dispatch_queue (m);
}

void
map_tick (struct braid_mp_map *m, uint64_t now)
{
  /* Every path left (their nodes logged out): with nothing in flight the
   * map goes, as multipathd removes a map whose last path is deleted. */
  if (m->npaths == 0 && !m->inflight && !m->nqueued && !m->fenced) {
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: no path left, map removed", m->name);
    map_free (m);
    return;
  }
  unsigned ev = mp_noqueue_tick (&m->nq, now);
  if (m->nqueued && map_usable_paths (m) == 0)
    m->total_q_time++;
  if ((ev & MP_NQ_QUEUE_OFF || (m->nqueued && mp_noqueue_should_fail_queued (&m->nq)))
      && now >= m->grace_until) {
    if (m->nqueued) {
      BRAID_LOG (&m->mp->log, BRAID_LOG_WARNING, "%s: no path came back: failing "
                 "%u queued I/O", m->name, m->nqueued);
      m->map_failures++;
    }
    io_fail_queue (m, EIO);
  }
  if (mp_failback_tick (&m->fb)) {
    refresh_views (m);
    int to = mp_failback_due (&m->fb, &m->pg, m->views, m->cur_pg);
    if (to > 0 && to != m->cur_pg) {
      BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: deferred failback to path group %d",
                 m->name, to);
      m->cur_pg = to;
      m->switch_grp++;
      refresh_sel (m);
    }
  }
  io_fence_tick (m, now);
}

void
map_free (struct braid_mp_map *m)
{
  struct braid_mp *mp = m->mp;
  mp_event (mp, BRAID_MP_EV_MAP_REMOVED, m, NULL);
  io_fail_queue (m, EIO);
  io_fence_release (m, NULL);
  io_fail_queue (m, EIO);
  for (size_t i = 0; i < m->npaths; i++)
    m->paths[i]->map = NULL;
  for (size_t i = 0; i < mp->nmaps; i++)
    if (mp->maps[i] == m) {
      memmove (mp->maps + i, mp->maps + i + 1, (mp->nmaps - i - 1) * sizeof *mp->maps);
      mp->nmaps--;
      break;
    }
  mp_pgroups_free (&m->pg);
  mp_selector_free (m->selector);
  free (m->paths);
  free (m->sel);
  free (m->views);
  free (m);
}

/***** Admin actions *****/

int
braid_mp_map_switch_group (struct braid_mp_map *m, int group)
{
  if (group < 1 || (size_t) group > m->pg.ngroups) {
    mp_set_error (m->mp, "%s has no path group %d", m->name, group);
    return -EINVAL;
  }
  m->cur_pg = group;
  m->switch_grp++;
  refresh_sel (m);
  io_dispatch_queue (m);
  return 0;
}

int
braid_mp_map_set_queueing (struct braid_mp_map *m, int disable)
{
  uint64_t now = braid_now_ns ();
  unsigned ev = disable ? mp_noqueue_disable (&m->nq, now) : mp_noqueue_restore (&m->nq, now);
  m->queueing_disabled = disable;
  if ((ev & MP_NQ_QUEUE_OFF || mp_noqueue_should_fail_queued (&m->nq))
      && map_usable_paths (m) == 0)
    io_fail_queue (m, EIO);
  return 0;
}

int
braid_mp_map_suspend (struct braid_mp_map *m, int suspend)
{
  m->suspended = suspend;
  if (!suspend)
    io_dispatch_queue (m);
  return 0;
}

static void
resize_cb (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct braid_mp_path *p = opaque;
  struct braid_scsi_result *r = data;
  struct braid_scsi_capacity cap;
  (void) s;
  p->rtpg_inflight = 0;
  if (status != BRAID_STATUS_GOOD || !p->map
      || braid_scsi_parse_read_capacity16 (p->rtpg_buf, r->data_transferred, &cap) < 0)
    return;
  p->blocks = cap.blocks;
  p->block_size = cap.block_size;
  struct braid_mp_map *m = p->map;
  uint64_t size = cap.blocks * cap.block_size;
  if (size != m->size) {
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: size %llu -> %llu bytes", m->name,
               (unsigned long long) m->size, (unsigned long long) size);
    m->size = size;
    mp_event (m->mp, BRAID_MP_EV_MAP_RESIZED, m, NULL);
  }
}

/* "resize map": reread the capacity through a usable path (READ
 * CAPACITY(16)); the new size is applied when the answer comes. */
int
braid_mp_map_resize (struct braid_mp_map *m)
{
  for (size_t i = 0; i < m->npaths; i++) {
    struct braid_mp_path *p = m->paths[i];
    if (!mp_state_usable (p->chk) || p->rtpg_inflight || !p->node
        || !braid_iscsi_is_logged_in (p->node->sess))
      continue;
    int len = braid_scsi_cdb_read_capacity16 (p->rtpg_cdb, 32);
    p->rtpg_iov = (struct iovec) { p->rtpg_buf, 32 };
    struct braid_scsi_cmd c = { .lun = (uint64_t) p->lun, .cdb = p->rtpg_cdb,
                                .cdb_len = (uint8_t) len, .dir = BRAID_DIR_READ,
                                .iov = &p->rtpg_iov, .iovcnt = 1, .xfer_len = 32,
                                .timeout_ms = 10000 };
    if (braid_iscsi_command_async (p->node->sess, &c, resize_cb, p, NULL) == 0) {
      p->rtpg_inflight = 1;
      return 0;
    }
  }
  mp_set_error (m->mp, "%s has no usable path to read its size", m->name);
  return -EIO;
}

int
braid_mp_map_remove (struct braid_mp_map *m, int force)
{
  unsigned busy = m->nqueued;
  for (size_t i = 0; i < m->npaths; i++)
    busy += m->paths[i]->in_flight;
  (void) force;
  /* Requests in flight point at the map: it must outlive them. */
  if (busy || m->fenced) {
    mp_set_error (m->mp, "%s: map in use", m->name);   /* multipath -f says so */
    BRAID_LOG (&m->mp->log, BRAID_LOG_NOTICE, "%s: not removed: %u I/O in flight "
               "or queued", m->name, busy);
    return -EBUSY;
  }
  map_free (m);
  return 0;
}

int
braid_mp_add_map (struct braid_mp *mp, const char *name)
{
  const char *w;
  int kind = braid_map_ref_parse (name, &w);
  if (kind < 0) {
    mp_set_error (mp, "add map: no map named");
    return -EINVAL;
  }
  /* A name bound in the bindings file stands for its WWID. */
  const char *bound = mp->bindings && kind != BRAID_MAP_REF_WWID
                      ? braid_bindings_wwid_for_alias (mp->bindings, w) : NULL;
  if (bound)
    w = bound;
  int n = 0;
  for (size_t i = 0; i < mp->npaths; i++) {
    struct braid_mp_path *p = mp->paths[i];
    if (p->map || p->probe != PR_DONE || strcmp (p->wwid, w))
      continue;
    if (mp->wwids)
      braid_wwids_add (mp->wwids, p->wwid);
    map_add_path (mp, p);
    n += p->map != NULL;
  }
  if (!n) {
    mp_set_error (mp, "no path in no map has WWID %s", w);
    return -ENOENT;
  }
  return 0;
}
