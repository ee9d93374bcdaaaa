/* pgpolicy.c: path grouping, group order and best-group choice.
 *
 * A map's paths are split into path groups by the configured
 * path_grouping_policy; the kernel table lists the groups in a fixed
 * order and the engine uses one group at a time.  The rules here are the
 * ones multipath-tools 0.9.x applies (pgpolicies.c, switchgroup.c), so a
 * braid map has the same groups, in the same order, with the same
 * initial group as a multipathd map over the same paths; the 55 upstream
 * grouping vectors are unit tests (tests/unit/mpath/test_mp_pgpolicy.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpath/policy.h"

static const char *const pgpolicy_names[] = {
  [MP_PGP_FAILOVER] = "failover",
  [MP_PGP_MULTIBUS] = "multibus",
  [MP_PGP_GROUP_BY_SERIAL] = "group_by_serial",
  [MP_PGP_GROUP_BY_PRIO] = "group_by_prio",
  [MP_PGP_GROUP_BY_NODE_NAME] = "group_by_node_name",
  [MP_PGP_GROUP_BY_TPG] = "group_by_tpg",
};

#define NPOLICIES (sizeof pgpolicy_names / sizeof pgpolicy_names[0])

int
mp_pgpolicy_from_name (const char *name)
{
  size_t i;

  if (name == NULL)
    return -EINVAL;
  for (i = 1; i < NPOLICIES; i++)
    if (strcmp (name, pgpolicy_names[i]) == 0)
      return (int) i;
  return -EINVAL;
}

const char *
mp_pgpolicy_name (int policy)
{
  if (policy <= 0 || (size_t) policy >= NPOLICIES)
    return NULL;
  return pgpolicy_names[policy];
}

static const char *
str_or_empty (const char *s)
{
  return s != NULL ? s : "";
}

/* Do two paths belong in the same group under 'policy'?  failover never
 * groups, multibus always does. */
static bool
same_group (int policy, const struct mp_path_view *a,
            const struct mp_path_view *b)
{
  switch (policy) {
  case MP_PGP_MULTIBUS:
    return true;
  case MP_PGP_GROUP_BY_SERIAL:
    return strcmp (str_or_empty (a->serial), str_or_empty (b->serial)) == 0;
  case MP_PGP_GROUP_BY_PRIO:
    return a->prio == b->prio;
  case MP_PGP_GROUP_BY_NODE_NAME:
    return strcmp (str_or_empty (a->node_name),
                   str_or_empty (b->node_name)) == 0;
  case MP_PGP_GROUP_BY_TPG:
    return a->tpg == b->tpg;
  default:
    return false;
  }
}

void
mp_pgroup_update (struct mp_pgroup *g, const struct mp_path_view *paths)
{
  long long sum = 0;
  unsigned defined = 0, marginal = 0;
  size_t i;

  g->enabled = 0;
  for (i = 0; i < g->npaths; i++) {
    const struct mp_path_view *p = &paths[g->paths[i]];

    if (p->marginal)
      marginal++;
    if (!mp_state_usable (p->state))
      continue;
    g->enabled++;
    /* A prioritizer failure on one path should not drag its whole group
     * down (multipath-tools 0.9.6+ leaves undefined prios out). */
    if (p->prio != MP_PRIO_UNDEF) {
      sum += p->prio;
      defined++;
    }
  }
  if (defined > 0)
    g->prio = (int) (sum / (long long) defined);
  else if (g->enabled > 0)
    g->prio = MP_PRIO_UNDEF;
  else
    g->prio = 0;
  g->marginal = g->npaths > 0 && marginal == g->npaths;
}

/* Should group a come before group b?  Strictly: the sort is stable, so
 * equal groups keep their creation order. */
static bool
group_before (const struct mp_pgroup *a, const struct mp_pgroup *b)
{
  if (a->marginal != b->marginal)
    return !a->marginal;
  if (a->prio != b->prio)
    return a->prio > b->prio;
  return a->enabled > b->enabled;
}

void
mp_pgroups_sort (struct mp_pgroups *pg, const struct mp_path_view *paths)
{
  size_t i, j;

  if (pg == NULL)
    return;
  for (i = 0; i < pg->ngroups; i++)
    mp_pgroup_update (&pg->groups[i], paths);
  /* Insertion sort: a handful of groups, and it is stable. */
  for (i = 1; i < pg->ngroups; i++) {
    struct mp_pgroup g = pg->groups[i];

    for (j = i; j > 0 && group_before (&g, &pg->groups[j - 1]); j--)
      pg->groups[j] = pg->groups[j - 1];
    pg->groups[j] = g;
  }
}

/* Group the paths listed in sel[0..nsel) (indices into paths) first-seen,
 * appending groups to pg and their members to pg->storage at *used.
 * 'taken' marks paths already placed. */
static void
group_subset (int policy, const struct mp_path_view *paths,
              const size_t *sel, size_t nsel, bool *taken,
              struct mp_pgroups *pg, size_t *used)
{
  size_t i, j;

  for (i = 0; i < nsel; i++) {
    struct mp_pgroup *g;

    if (taken[sel[i]])
      continue;
    g = &pg->groups[pg->ngroups++];
    g->paths = &pg->storage[*used];
    g->npaths = 0;
    g->paths[g->npaths++] = sel[i];
    taken[sel[i]] = true;
    for (j = i + 1; j < nsel; j++) {
      if (taken[sel[j]]
          || !same_group (policy, &paths[sel[i]], &paths[sel[j]]))
        continue;
      g->paths[g->npaths++] = sel[j];
      taken[sel[j]] = true;
    }
    *used += g->npaths;
  }
}

int
mp_group_paths (int policy, const struct mp_path_view *paths, size_t n,
                int marginal_pathgroups, struct mp_pgroups *out)
{
  size_t *sel = NULL;
  bool *taken = NULL;
  size_t i, nnormal = 0, nmarginal = 0, used = 0;

  memset (out, 0, sizeof *out);
  if (mp_pgpolicy_name (policy) == NULL || (paths == NULL && n > 0))
    return -EINVAL;
  if (n == 0)
    return 0;

  out->groups = calloc (n, sizeof *out->groups);
  out->storage = calloc (n, sizeof *out->storage);
  sel = calloc (n, sizeof *sel);
  taken = calloc (n, sizeof *taken);
  if (out->groups == NULL || out->storage == NULL || sel == NULL
      || taken == NULL) {
    free (sel);
    free (taken);
    mp_pgroups_free (out);
    return -ENOMEM;
  }

  for (i = 0; i < n; i++) {
    if (paths[i].marginal)
      nmarginal++;
    else
      nnormal++;
  }

  /* Marginal paths get groups of their own, after the normal ones, only
   * when both kinds exist; otherwise everything is grouped together. */
  if (marginal_pathgroups && nnormal > 0 && nmarginal > 0) {
    size_t k = 0;

    for (i = 0; i < n; i++)
      if (!paths[i].marginal)
        sel[k++] = i;
    for (i = 0; i < n; i++)
      if (paths[i].marginal)
        sel[k++] = i;
    group_subset (policy, paths, sel, nnormal, taken, out, &used);
    group_subset (policy, paths, sel + nnormal, nmarginal, taken, out, &used);
  } else {
    for (i = 0; i < n; i++)
      sel[i] = i;
    group_subset (policy, paths, sel, n, taken, out, &used);
  }
  free (sel);
  free (taken);

  mp_pgroups_sort (out, paths);
  return 0;
}

void
mp_pgroups_free (struct mp_pgroups *pg)
{
  if (pg == NULL)
    return;
  free (pg->groups);
  free (pg->storage);
  memset (pg, 0, sizeof *pg);
}

int
mp_select_group (struct mp_pgroups *pg, const struct mp_path_view *paths)
{
  int best = 1, max_prio = 0;
  unsigned max_enabled = 1;
  bool seen_normal = false;
  size_t i;

  if (pg == NULL)
    return 1;
  for (i = 0; i < pg->ngroups; i++) {
    struct mp_pgroup *g = &pg->groups[i];

    if (g->npaths == 0)
      continue;
    mp_pgroup_update (g, paths);
    if (g->marginal && seen_normal)
      continue;
    if (g->enabled == 0)
      continue;
    if (!g->marginal && !seen_normal) {
      /* The first usable normal group wins over any marginal group
       * before it, whatever their prios. */
      seen_normal = true;
      max_prio = g->prio;
      max_enabled = g->enabled;
      best = (int) i + 1;
    } else if (g->prio > max_prio
               || (g->prio == max_prio && g->enabled > max_enabled)) {
      max_prio = g->prio;
      max_enabled = g->enabled;
      best = (int) i + 1;
    }
  }
  return best;
}
