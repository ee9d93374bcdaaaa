/* snapshot.c: deep copies of the engine's state for "show" commands.
 *
 * Formatting code works on these plain structs only, so it can be tested
 * without an engine and can never disturb live objects.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/internal.h"

static void
fill_path (const struct braid_mp_path *p, struct braid_mp_path_info *o)
{
  memset (o, 0, sizeof *o);
  snprintf (o->name, sizeof o->name, "%s", p->name);
  snprintf (o->hcil, sizeof o->hcil, "%s", p->hcil);
  if (p->node) {
    snprintf (o->portal, sizeof o->portal, "%s", p->node->portal);
    snprintf (o->target, sizeof o->target, "%s", p->node->target);
    snprintf (o->iface, sizeof o->iface, "%s", p->node->iface);
    o->running = p->node->state == NODE_UP;
  }
  o->lun = p->lun;
  snprintf (o->map, sizeof o->map, "%s", p->map ? p->map->name : "");
  snprintf (o->wwid, sizeof o->wwid, "%s", p->wwid);
  memcpy (o->vendor, p->vendor, sizeof o->vendor);
  memcpy (o->product, p->product, sizeof o->product);
  memcpy (o->revision, p->revision, sizeof o->revision);
  snprintf (o->serial, sizeof o->serial, "%s", p->serial);
  o->tpg = p->tpg;
  o->chk = p->chk;
  o->dm_active = p->map_state != MP_MAP_FAILED;
  o->prio = p->prio;
  o->next_check_s = p->timer.tick;
  o->check_interval_s = p->timer.checkint;
  o->failures = p->failures;
  o->size_bytes = p->blocks * p->block_size;
  o->ios = p->ios;
  o->bytes_read = p->bytes_read;
  o->bytes_written = p->bytes_written;
  o->in_flight = p->in_flight;
  o->latency_us = (uint32_t) (p->lat_ewma_ns / 1000);
  snprintf (o->checker, sizeof o->checker, "%s", p->map ? p->map->checker : "tur");
  o->properties = p->props ? strdup (p->props) : NULL;
}

static const char *
failback_str (const struct braid_mp_map *m, char *buf, size_t n)
{
  switch (m->fb.mode) {
  case MP_FAILBACK_IMMEDIATE: return "immediate";
  case MP_FAILBACK_FOLLOWOVER: return "followover";
  case MP_FAILBACK_MANUAL: return "-";
  default:
    if (m->fb.tick > 0 && m->fb.mode > 0) {
      snprintf (buf, n, "%d/%d", m->fb.mode - m->fb.tick + 1, m->fb.mode);
      return buf;
    }
    return "-";
  }
}

int
braid_mp_snapshot (struct braid_mp *mp, struct braid_mp_snapshot **out)
{
  struct braid_mp_snapshot *s = calloc (1, sizeof *s);
  if (!s)
    return -ENOMEM;
  s->maps = calloc (mp->nmaps ? mp->nmaps : 1, sizeof *s->maps);
  s->orphans = calloc (mp->npaths ? mp->npaths : 1, sizeof *s->orphans);
  if (!s->maps || !s->orphans) {
    braid_mp_snapshot_free (s);
    return -ENOMEM;
  }
  s->npaths_total = mp->npaths;
  for (size_t i = 0; i < mp->nmaps; i++) {
    const struct braid_mp_map *m = mp->maps[i];
    struct braid_mp_map_info *o = &s->maps[s->nmaps++];
    char buf[32];
    snprintf (o->name, sizeof o->name, "%s", m->name);
    snprintf (o->wwid, sizeof o->wwid, "%s", m->wwid);
    if (m->npaths) {
      memcpy (o->vendor, m->paths[0]->vendor, sizeof o->vendor);
      memcpy (o->product, m->paths[0]->product, sizeof o->product);
      memcpy (o->revision, m->paths[0]->revision, sizeof o->revision);
    }
    o->size_bytes = m->size;
    o->block_size = m->block_size;
    int queue = mp_noqueue_should_queue (&m->nq) && !m->queueing_disabled;
    snprintf (o->features, sizeof o->features, "%s", queue ? "1 queue_if_no_path" : "0");
    snprintf (o->hwhandler, sizeof o->hwhandler, "%s",
              !strcmp (m->prio_name, "alua") ? "1 alua" : "0");
    snprintf (o->failback, sizeof o->failback, "%s", failback_str (m, buf, sizeof buf));
    long long npr = m->set.v[BRAID_MPS_NO_PATH_RETRY].num;
    if (m->queueing_disabled || npr == MP_NPR_FAIL)
      snprintf (o->queueing, sizeof o->queueing, "off");
    else if (npr == MP_NPR_QUEUE)
      snprintf (o->queueing, sizeof o->queueing, "on");
    else if (npr > 0 && map_usable_paths (m) == 0)
      snprintf (o->queueing, sizeof o->queueing, "%u sec",
                mp_noqueue_seconds_left (&m->nq, braid_now_ns ()));
    else if (npr > 0)
      snprintf (o->queueing, sizeof o->queueing, "%lld chk", npr);
    else
      snprintf (o->queueing, sizeof o->queueing, "-");
    o->suspended = m->suspended;
    o->active_paths = map_usable_paths (m);
    o->path_faults = m->path_faults;
    o->switch_grp = m->switch_grp;
    o->map_loads = m->map_loads;
    o->total_q_time = m->total_q_time;
    o->q_timeouts = m->nq.recoveries;
    o->map_failures = m->map_failures;
    o->groups = calloc (m->pg.ngroups ? m->pg.ngroups : 1, sizeof *o->groups);
    if (!o->groups) {
      braid_mp_snapshot_free (s);
      return -ENOMEM;
    }
    o->ngroups = m->pg.ngroups;
    for (size_t g = 0; g < m->pg.ngroups; g++) {
      const struct mp_pgroup *pg = &m->pg.groups[g];
      struct braid_mp_group_info *gi = &o->groups[g];
      snprintf (gi->selector, sizeof gi->selector, "%s", m->selector_spec);
      gi->prio = pg->prio;
      gi->status = (int) g + 1 == m->cur_pg ? 0 : 1;
      gi->marginal = pg->marginal;
      gi->paths = calloc (pg->npaths ? pg->npaths : 1, sizeof *gi->paths);
      if (!gi->paths) {
        braid_mp_snapshot_free (s);
        return -ENOMEM;
      }
      gi->npaths = pg->npaths;
      for (size_t k = 0; k < pg->npaths; k++)
        fill_path (m->paths[pg->paths[k]], &gi->paths[k]);
    }
  }
  for (size_t i = 0; i < mp->npaths; i++)
    if (!mp->paths[i]->map && mp->paths[i]->probe == PR_DONE)
      fill_path (mp->paths[i], &s->orphans[s->norphans++]);
  *out = s;
  return 0;
}

void
braid_mp_snapshot_free (struct braid_mp_snapshot *s)
{
  if (!s)
    return;
  for (size_t i = 0; i < s->nmaps; i++) {
    for (size_t g = 0; g < s->maps[i].ngroups; g++) {
      for (size_t k = 0; k < s->maps[i].groups[g].npaths; k++)
        free (s->maps[i].groups[g].paths[k].properties);
      free (s->maps[i].groups[g].paths);
    }
    free (s->maps[i].groups);
  }
  for (size_t i = 0; i < s->norphans; i++)
    free (s->orphans[i].properties);
  free (s->maps);
  free (s->orphans);
  free (s);
}
