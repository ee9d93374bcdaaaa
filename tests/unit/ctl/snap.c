/* snap.c: the snapshot builder of snap.h. */
#include <string.h>

#include "snap.h"

#define TARGET "iqn.2003-01.org.linux-iscsi.tgt:sn.1"

/* Bounded copy that always terminates (the fields are fixed arrays). */
static void
copy (char *dst, size_t cap, const char *src)
{
  size_t n = strnlen (src, cap - 1);

  memmove (dst, src, n);
  dst[n] = '\0';
}

#define COPY(dst, src) copy ((dst), sizeof (dst), (src))

void
snap_init (struct snap *sn)
{
  memset (sn, 0, sizeof *sn);
  sn->s.maps = sn->maps;
  sn->s.orphans = sn->orphans;
}

struct braid_mp_map_info *
snap_map (struct snap *sn, const char *name, const char *wwid, uint64_t size)
{
  struct braid_mp_map_info *m = &sn->maps[sn->s.nmaps++];

  COPY (m->name, name);
  COPY (m->wwid, wwid);
  /* Blank-padded like INQUIRY data: printed trimmed. */
  COPY (m->vendor, "LIO-ORG ");
  COPY (m->product, "IBLOCK          ");
  COPY (m->revision, "4.0 ");
  m->size_bytes = size;
  m->block_size = 512;
  COPY (m->features, "0");
  COPY (m->hwhandler, "0");
  COPY (m->failback, "-");
  COPY (m->queueing, "-");
  m->groups = &sn->groups[sn->ngroups_used];
  return m;
}

struct braid_mp_group_info *
snap_group (struct snap *sn, const char *selector, int prio, int status)
{
  struct braid_mp_map_info *m = &sn->maps[sn->s.nmaps - 1];
  struct braid_mp_group_info *g = &sn->groups[sn->ngroups_used++];

  m->ngroups++;
  COPY (g->selector, selector);
  g->prio = prio;
  g->status = status;
  g->paths = &sn->paths[sn->npaths_used];
  return g;
}

static void
path_defaults (struct braid_mp_path_info *p, const char *name,
               const char *hcil)
{
  COPY (p->name, name);
  COPY (p->hcil, hcil);
  COPY (p->portal, "127.0.0.1:3260");
  COPY (p->target, TARGET);
  p->lun = 1;
  COPY (p->vendor, "LIO-ORG ");
  COPY (p->product, "IBLOCK          ");
  COPY (p->revision, "4.0 ");
  COPY (p->serial, "5b9485a9-d431-4afc-92a5-e3b12");
  COPY (p->checker, "tur");
  p->tpg = 1;
  p->running = 1;
  p->prio = -1;
  p->check_interval_s = 5;
}

struct braid_mp_path_info *
snap_path (struct snap *sn, const char *name, const char *hcil, int chk,
           int dm_active, int prio)
{
  struct braid_mp_map_info *m = &sn->maps[sn->s.nmaps - 1];
  struct braid_mp_group_info *g = &m->groups[m->ngroups - 1];
  struct braid_mp_path_info *p = &sn->paths[sn->npaths_used++];

  g->npaths++;
  path_defaults (p, name, hcil);
  COPY (p->map, m->name[0] ? m->name : m->wwid);
  COPY (p->wwid, m->wwid);
  p->size_bytes = m->size_bytes;
  p->chk = chk;
  p->dm_active = dm_active;
  p->prio = prio;
  if (dm_active && chk == BRAID_CHK_UP)
    m->active_paths++;
  sn->s.npaths_total++;
  return p;
}

struct braid_mp_path_info *
snap_orphan (struct snap *sn, const char *name, const char *hcil)
{
  struct braid_mp_path_info *p = &sn->orphans[sn->s.norphans++];

  path_defaults (p, name, hcil);
  p->chk = BRAID_CHK_UNCHECKED;
  sn->s.npaths_total++;
  return p;
}

void
snap_vector_k (struct snap *sn)
{
  struct braid_mp_map_info *m;

  snap_init (sn);
  m = snap_map (sn, "mpatha", "360014055b9485a9d4314afc92a5e3b12",
                10737418240ULL);
  COPY (m->features, "1 queue_if_no_path");
  COPY (m->hwhandler, "1 alua");
  COPY (m->failback, "immediate");
  COPY (m->queueing, "12 chk");
  m->map_loads = 1;
  snap_group (sn, "service-time 0", 50, 0);
  snap_path (sn, "sdb", "2:0:0:1", BRAID_CHK_UP, 1, 50);
  snap_group (sn, "service-time 0", 10, 1);
  snap_path (sn, "sdc", "3:0:0:1", BRAID_CHK_UP, 1, 10);
}
