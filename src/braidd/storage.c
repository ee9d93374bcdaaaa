/* storage.c: the sessions braidd holds because braid.conf or a bond asks
 * for them ("managed" sessions), and the rest of braid.conf's effects.
 *
 * braid.conf storage sections and iSCSI bonds (bonds.c) both describe a
 * wanted set of sessions, each (portal, target, device).  Every change -
 * start, reconfigure, a bond verb, a login that finished, and a 1-second
 * timer - runs managed_reconcile(), which makes the engine's nodes follow
 * that set:
 *
 *   - a wanted session that does not exist is logged in; one whose first
 *     login failed is retried every few seconds;
 *   - a session no longer wanted is logged out only when that costs no
 *     client an I/O error: while it is the last usable path of its map
 *     and a replacement for its target is still wanted, it is kept (the
 *     replacement comes up first); the engine then drains it (no new I/O,
 *     in-flight commands finish) before the logout.
 *
 * Storage sections without "paths" get their portals from the first of
 * their san_hosts that answers a SendTargets.  The export socket's owner,
 * group and mode and the control socket's admin group are applied here
 * too.  Managed sessions are not written to nodes.json: braid.conf and
 * bonds.json are their record.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "braid/braidconf.h"
#include "braidd.h"

#define RETRY_NS (5ull * 1000000000ull)

enum { M_PENDING, M_UP, M_FAILED };

struct managed {
  struct managed *next;
  struct daemon *d;
  char portal[300], target[224], iface[16], tag[64];
  int state;
  int foreign;                      /* someone else's node: never logged out here */
  int wanted;
  int kept_logged;
  uint64_t retry_at;
};

/* Discovered portals of the storage sections that have no "paths". */
struct san_result {
  struct daemon *d;
  unsigned gen;                     /* the configuration it was asked for */
  size_t storage;
  char target[224];
  char (*portals)[300];
  size_t n;
};

void
wants_add (struct wants *w, const char *portal, const char *target,
           const char *iface, const char *tag)
{
  for (size_t i = 0; i < w->n; i++)
    if (!strcmp (w->v[i].portal, portal) && !strcmp (w->v[i].target, target)
        && !strcmp (w->v[i].iface, iface))
      return;
  struct want *nv = realloc (w->v, (w->n + 1) * sizeof *nv);
  if (!nv)
    return;
  w->v = nv;
  struct want *x = &w->v[w->n++];
  snprintf (x->portal, sizeof x->portal, "%s", portal);
  snprintf (x->target, sizeof x->target, "%s", target);
  snprintf (x->iface, sizeof x->iface, "%s", iface);
  snprintf (x->tag, sizeof x->tag, "%s", tag);
}

int
iface_present (const char *dev)
{
  return dev[0] && if_nametoindex (dev) != 0;
}

/***** Sessions *****/

static void
managed_login_done (void *opaque, int status)
{
  struct managed *m = opaque;
  struct daemon *d = m->d;
  if (status == BRAID_STATUS_GOOD) {
    m->state = M_UP;
    dlog (d, BRAID_LOG_NOTICE, "%s %s%s%s: session for %s up", m->portal, m->target,
          m->iface[0] ? " via " : "", m->iface, m->tag);
  }
  else {
    m->state = M_FAILED;
    m->retry_at = braid_now_ns () + RETRY_NS;
    dlog (d, BRAID_LOG_ERR, "%s %s%s%s: login for %s failed: %s", m->portal, m->target,
          m->iface[0] ? " via " : "", m->iface, m->tag, braid_mp_get_error (d->mp));
  }
  daemon_kick (d);
}

static void
managed_login (struct daemon *d, struct managed *m)
{
  struct braid_mp_node_spec s = {
    .portal = m->portal, .target = m->target,
    .iface = m->iface[0] ? m->iface : NULL, .tag = m->tag, .enroll = 1,
  };
  m->state = M_PENDING;
  int r = braid_mp_add_node (d->mp, &s, managed_login_done, m);
  if (r == -EEXIST) {
    /* Logged in by "braid login" (nodes.json): it serves, but is not ours. */
    m->foreign = 1;
    m->state = M_UP;
  }
  else if (r < 0) {
    m->state = M_FAILED;
    m->retry_at = braid_now_ns () + RETRY_NS;
    dlog (d, BRAID_LOG_ERR, "%s %s%s%s: %s", m->portal, m->target,
          m->iface[0] ? " via " : "", m->iface, braid_mp_get_error (d->mp));
  }
}

/* Usable paths of the maps this session serves, not counting sessions
 * in 'gone' (being removed in this pass).  Returns the name of a map the
 * session is the last usable path of, or NULL. */
static const char *
last_path_of (const struct braid_mp_snapshot *s, const struct managed *m,
              struct managed *const *gone, size_t ngone)
{
  for (size_t i = 0; i < s->nmaps; i++) {
    const struct braid_mp_map_info *mi = &s->maps[i];
    int mine = 0, others = 0;
    for (size_t g = 0; g < mi->ngroups; g++)
      for (size_t k = 0; k < mi->groups[g].npaths; k++) {
        const struct braid_mp_path_info *p = &mi->groups[g].paths[k];
        int is = !strcmp (p->portal, m->portal) && !strcmp (p->target, m->target)
                 && !strcmp (p->iface, m->iface);
        if (is) {
          mine = 1;
          continue;
        }
        int leaving = 0;
        for (size_t j = 0; j < ngone; j++)
          leaving |= !strcmp (p->portal, gone[j]->portal)
                     && !strcmp (p->target, gone[j]->target)
                     && !strcmp (p->iface, gone[j]->iface);
        if (!leaving && p->dm_active && p->running && p->chk == BRAID_CHK_UP)
          others++;
      }
    if (mine && !others)
      return mi->name;
  }
  return NULL;
}

static void
managed_remove_stale (struct daemon *d)
{
  struct braid_mp_snapshot *snap = NULL;
  struct managed *gone[256];
  size_t ngone = 0;

  for (struct managed **pp = &d->managed; *pp; ) {
    struct managed *m = *pp;
    if (m->wanted) {
      pp = &m->next;
      continue;
    }
    int replaced = 0;
    for (struct managed *o = d->managed; o; o = o->next)
      replaced |= o->wanted && !strcmp (o->target, m->target);
    if (replaced && !m->foreign && m->state == M_UP) {
      if (!snap && braid_mp_snapshot (d->mp, &snap) < 0)
        return;
      const char *map = last_path_of (snap, m, gone, ngone);
      if (map) {
        if (!m->kept_logged++)
          dlog (d, BRAID_LOG_NOTICE, "%s: keeping %s %s%s%s until another path is up "
                "(it is the map's last usable path)", map, m->portal, m->target,
                m->iface[0] ? " via " : "", m->iface);
        pp = &m->next;
        continue;
      }
    }
    if (ngone == sizeof gone / sizeof gone[0]) {
      pp = &m->next;
      continue;
    }
    *pp = m->next;
    if (!m->foreign) {
      dlog (d, BRAID_LOG_NOTICE, "%s %s%s%s: no longer wanted (%s), draining and logging out",
            m->portal, m->target, m->iface[0] ? " via " : "", m->iface, m->tag);
      braid_mp_remove_node_iface (d->mp, m->portal, m->target, m->iface);
    }
    gone[ngone++] = m;
  }
  braid_mp_snapshot_free (snap);
  for (size_t i = 0; i < ngone; i++)
    free (gone[i]);
}

void
managed_reconcile (struct daemon *d)
{
  struct wants w = { 0 };
  uint64_t now = braid_now_ns ();

  if (d->stopping)
    return;
  /* braid.conf storage sections */
  for (size_t i = 0; d->bconf && i < d->bconf->nstorage; i++) {
    const struct braid_bconf_storage *st = &d->bconf->storage[i];
    for (size_t k = 0; k < st->npaths; k++)
      wants_add (&w, st->paths[k].portal, st->target, st->paths[k].dev, "storage");
    if (!st->npaths && i < d->nsan && d->san[i])
      for (size_t k = 0; k < d->san[i]->n; k++)
        wants_add (&w, d->san[i]->portals[k], st->target, "", "storage");
  }
  bonds_wants (d, &w);

  for (struct managed *m = d->managed; m; m = m->next)
    m->wanted = 0;
  for (size_t i = 0; i < w.n; i++) {
    struct managed *m;
    for (m = d->managed; m; m = m->next)
      if (!strcmp (m->portal, w.v[i].portal) && !strcmp (m->target, w.v[i].target)
          && !strcmp (m->iface, w.v[i].iface))
        break;
    if (!m) {
      if (!(m = calloc (1, sizeof *m)))
        break;
      m->d = d;
      snprintf (m->portal, sizeof m->portal, "%s", w.v[i].portal);
      snprintf (m->target, sizeof m->target, "%s", w.v[i].target);
      snprintf (m->iface, sizeof m->iface, "%s", w.v[i].iface);
      snprintf (m->tag, sizeof m->tag, "%s", w.v[i].tag);
      m->next = d->managed;
      d->managed = m;
      m->wanted = 1;
      managed_login (d, m);
      continue;
    }
    m->wanted = 1;
    m->kept_logged = 0;
    if (m->state == M_FAILED && now >= m->retry_at) {
      braid_mp_remove_node_iface (d->mp, m->portal, m->target, m->iface);
      managed_login (d, m);
    }
  }
  free (w.v);
  managed_remove_stale (d);
  bonds_update_state (d);
}

int
managed_session_state (struct daemon *d, const char *portal, const char *target,
                       const char *iface)
{
  for (struct managed *m = d->managed; m; m = m->next)
    if (!strcmp (m->portal, portal) && !strcmp (m->target, target)
        && !strcmp (m->iface, iface)) {
      if (m->state == M_PENDING)
        return SESS_PENDING;
      if (m->state == M_FAILED)
        return SESS_FAILED;
      return braid_mp_node_status (d->mp, portal, target, iface) == 1 ? SESS_UP : SESS_DOWN;
    }
  return SESS_NONE;
}

const char *
sess_state_name (int st)
{
  switch (st) {
  case SESS_UP: return "up";
  case SESS_DOWN: return "down";
  case SESS_FAILED: return "login failed";
  case SESS_PENDING: return "logging in";
  default: return "none";
  }
}

void
managed_free_all (struct daemon *d)
{
  while (d->managed) {
    struct managed *m = d->managed;
    d->managed = m->next;
    free (m);
  }
  san_clear (d);
}

/***** SAN hosts *****/

static void
san_result_free (struct san_result *r)
{
  if (r) {
    free (r->portals);
    free (r);
  }
}

void
san_clear (struct daemon *d)
{
  for (size_t i = 0; i < d->nsan; i++)
    san_result_free (d->san[i]);
  free (d->san);
  d->san = NULL;
  d->nsan = 0;
}

static void
san_answer (void *opaque, const char *portal, struct braid_discovery *dv,
            const char *err)
{
  struct san_result *r = opaque;
  struct daemon *d = r->d;
  (void) err;
  if (r->gen != d->bconf_gen || r->storage >= d->nsan) {
    san_result_free (r);            /* asked for a configuration since replaced */
    return;
  }
  const struct braid_bconf_storage *st = &d->bconf->storage[r->storage];
  for (size_t t = 0; dv && t < dv->ntargets; t++) {
    if (strcmp (dv->targets[t].name, st->target))
      continue;
    for (size_t p = 0; p < dv->targets[t].nportals; p++) {
      char (*np)[300] = realloc (r->portals, (r->n + 1) * sizeof *np);
      if (!np)
        break;
      r->portals = np;
      discover_portal_string (&dv->targets[t].portals[p], r->portals[r->n], sizeof *np);
      r->n++;
    }
  }
  if (dv && !r->n)
    dlog (d, BRAID_LOG_ERR, "storage %s: SAN host %s does not list this target",
          st->target, portal);
  else if (dv)
    dlog (d, BRAID_LOG_NOTICE, "storage %s: %zu portal(s) from SAN host %s", st->target,
          r->n, portal);
  if (!r->n) {
    /* No answer: the portals found before (if any) stay in use. */
    san_result_free (r);
    return;
  }
  san_result_free (d->san[r->storage]);
  d->san[r->storage] = r;
  daemon_kick (d);
}

/* Ask the SAN hosts of every storage section that has no paths. */
static void
san_refresh (struct daemon *d)
{
  struct san_result **old = d->san;
  size_t nold = d->nsan;
  d->san = NULL;
  d->nsan = 0;
  if (d->bconf->nstorage && (d->san = calloc (d->bconf->nstorage, sizeof *d->san)))
    d->nsan = d->bconf->nstorage;
  /* A target already discovered keeps its portals (and sessions) while
   * its SAN hosts are asked again. */
  for (size_t i = 0; i < d->nsan; i++)
    for (size_t j = 0; j < nold; j++)
      if (old[j] && !d->bconf->storage[i].npaths
          && !strcmp (old[j]->target, d->bconf->storage[i].target)) {
        d->san[i] = old[j];
        d->san[i]->storage = i;
        old[j] = NULL;
        break;
      }
  for (size_t j = 0; j < nold; j++)
    san_result_free (old[j]);
  free (old);
  for (size_t i = 0; i < d->bconf->nstorage; i++) {
    struct braid_bconf_storage *st = &d->bconf->storage[i];
    if (st->npaths || !st->nsan_hosts)
      continue;
    struct san_result *r = calloc (1, sizeof *r);
    if (!r)
      continue;
    r->d = d;
    r->gen = d->bconf_gen;
    r->storage = i;
    snprintf (r->target, sizeof r->target, "%s", st->target);
    char what[300];
    snprintf (what, sizeof what, "storage %s", st->target);
    if (discover_first (d, what, st->san_hosts, st->nsan_hosts, san_answer, r) < 0)
      free (r);
  }
}

/***** Applying a configuration *****/

static void
apply_socket (struct daemon *d, const char *path, long long uid, long long gid,
              unsigned mode)
{
  if ((uid >= 0 || gid >= 0)
      && chown (path, uid >= 0 ? (uid_t) uid : (uid_t) -1,
                gid >= 0 ? (gid_t) gid : (gid_t) -1) < 0)
    dlog (d, BRAID_LOG_ERR, "%s: chown: %s", path, strerror (errno));
  if (chmod (path, mode) < 0)
    dlog (d, BRAID_LOG_ERR, "%s: chmod: %s", path, strerror (errno));
}

void
bconf_apply_sockets (struct daemon *d)
{
  const struct braid_bconf *c = d->bconf;
  if (!c)
    return;
  /* Others may reach a socket only through the run dir: let them pass
   * (not list) when a socket is opened to them. */
  int shared = (c->export_mode & 077) || c->admin_group >= 0;
  if (chmod (d->run_dir, shared ? 0711 : 0700) < 0)
    dlog (d, BRAID_LOG_ERR, "%s: chmod: %s", d->run_dir, strerror (errno));
  if (d->nbd && d->nbd_listening)
    apply_socket (d, d->nbd_path, c->export_owner, c->export_group, c->export_mode);
  if (d->ctl)
    apply_socket (d, d->ctl_path, -1, c->admin_group >= 0 ? c->admin_group : 0,
                  c->admin_group >= 0 ? 0660 : 0600);
}

void
bconf_install (struct daemon *d, struct braid_bconf *c)
{
  braid_bconf_free (d->bconf);
  d->bconf = c;
  d->bconf_gen++;
  braid_mp_set_nop (d->mp, c->noop_out_interval, c->noop_out_timeout);
  braid_mp_set_digests (d->mp, c->header_digest, c->data_digest);
  bconf_apply_sockets (d);
  bonds_config_changed (d);
  san_refresh (d);
  managed_reconcile (d);
}
