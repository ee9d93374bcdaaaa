/* failback.c: when to move I/O back to the best path group.
 *
 * After a failover the map keeps using the group it fell back to, even
 * once a better group is healthy again, until the failback policy says
 * to switch.  The policies are multipath-tools' (multipathd
 * need_switch_pathgroup, followover_should_failback and
 * deferred_failback_tick): manual, immediate, followover (only when the
 * first path of the best group comes back, so two hosts sharing a LUN
 * with different preferences do not ping-pong it) and a deferred switch
 * N seconds after the need arose, which rides out a flapping link.  The
 * engine reports checks, failures and seconds; this file answers with
 * "switch to group X now" or "reload".
 */
#include <errno.h>

#include "mpath/policy.h"

void
mp_failback_init (struct mp_failback *fb, int failback)
{
  fb->mode = failback;
  fb->tick = 0;
  fb->bestpg = 1;
}

static bool
is_manual (const struct mp_failback *fb)
{
  return fb->mode == MP_FAILBACK_MANUAL || fb->mode == 0
         || (fb->mode < 0 && fb->mode != MP_FAILBACK_IMMEDIATE
             && fb->mode != MP_FAILBACK_FOLLOWOVER);
}

/* need_switch_pathgroup: recompute the best group; true when it differs
 * from the one in use.  Manual failback does not even look. */
static bool
need_switch (struct mp_failback *fb, struct mp_pgroups *pg,
             const struct mp_path_view *paths, int cur_pg)
{
  if (pg == NULL || pg->ngroups == 0)
    return false;
  if (is_manual (fb))
    return false;
  fb->bestpg = mp_select_group (pg, paths);
  return fb->bestpg != cur_pg;
}

/* The group (1-based) holding path 'idx', 0 if none. */
static size_t
group_of (const struct mp_pgroups *pg, size_t idx)
{
  size_t g, i;

  for (g = 0; g < pg->ngroups; g++)
    for (i = 0; i < pg->groups[g].npaths; i++)
      if (pg->groups[g].paths[i] == idx)
        return g + 1;
  return 0;
}

/* Followover: the returning path is in the best group and every other
 * path of that group is still DOWN or SHAKY, i.e. it is the first of its
 * group back.  A group whose other paths are merely pending or timed out
 * does not qualify, as in multipathd. */
static bool
followover_ok (const struct mp_failback *fb, const struct mp_pgroups *pg,
               const struct mp_path_view *paths, size_t idx)
{
  const struct mp_pgroup *g;
  size_t gi = group_of (pg, idx), i;

  if (gi == 0 || (int) gi != fb->bestpg)
    return false;
  g = &pg->groups[gi - 1];
  for (i = 0; i < g->npaths; i++) {
    int st = paths[g->paths[i]].state;

    if (g->paths[i] == idx)
      continue;
    if (st != MP_STATE_DOWN && st != MP_STATE_SHAKY)
      return false;
  }
  return true;
}

int
mp_failback_after_check (struct mp_failback *fb, struct mp_pgroups *pg,
                         const struct mp_path_view *paths, size_t n,
                         const struct mp_check_event *ev,
                         struct mp_fb_decision *out)
{
  int cur;
  bool new_up, first_up;

  if (fb == NULL || ev == NULL || out == NULL || paths == NULL
      || ev->path >= n)
    return -EINVAL;
  out->reload = 0;
  out->switch_to = 0;

  cur = paths[ev->path].state;
  /* Two readings of "came up", as multipathd has: any change into a
   * usable state (new_path_up; restarts a deferred countdown), and a
   * return from a failed state (what followover waits for). */
  new_up = mp_state_usable (cur) && cur != ev->prev_state;
  first_up = mp_state_usable (cur) && !mp_state_usable (ev->prev_state);

  /* With group_by_prio the groups themselves depend on prios, so a
   * changed prio under immediate failback means regrouping, not
   * switching. */
  if (ev->prio_changed && ev->pgpolicy == MP_PGP_GROUP_BY_PRIO
      && fb->mode == MP_FAILBACK_IMMEDIATE) {
    out->reload = 1;
    return 0;
  }
  if (!need_switch (fb, pg, paths, ev->cur_pg))
    return 0;

  if (fb->mode > 0) {
    /* N + 1 because the first tick may come right away: the switch
     * happens no sooner than N whole seconds from now. */
    if (new_up || fb->tick <= 0)
      fb->tick = fb->mode + 1;
  } else if (fb->mode == MP_FAILBACK_IMMEDIATE) {
    out->switch_to = fb->bestpg;
  } else if (fb->mode == MP_FAILBACK_FOLLOWOVER && first_up
             && followover_ok (fb, pg, paths, ev->path)) {
    out->switch_to = fb->bestpg;
  }
  return 0;
}

void
mp_failback_path_failed (struct mp_failback *fb)
{
  fb->tick = 0;
}

bool
mp_failback_tick (struct mp_failback *fb)
{
  if (fb->mode <= 0 || fb->tick <= 0)
    return false;
  fb->tick--;
  return fb->tick == 0;
}

int
mp_failback_due (struct mp_failback *fb, struct mp_pgroups *pg,
                 const struct mp_path_view *paths, int cur_pg)
{
  if (!need_switch (fb, pg, paths, cur_pg))
    return 0;
  return fb->bestpg;
}
