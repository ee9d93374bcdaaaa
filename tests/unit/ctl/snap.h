/* snap.h: hand-built engine snapshots for the control plane tests.
 *
 * The formatters only read plain structs, so tests build the structs
 * directly: a fixed arena of maps, groups and paths, filled with values
 * that look like a LIO target seen through braid.
 */
#ifndef BRAID_TEST_CTL_SNAP_H
#define BRAID_TEST_CTL_SNAP_H

#include "braid/ctl.h"

#define SNAP_MAX_MAPS 8
#define SNAP_MAX_GROUPS 16
#define SNAP_MAX_PATHS 64

struct snap {
  struct braid_mp_snapshot s;
  struct braid_mp_map_info maps[SNAP_MAX_MAPS];
  struct braid_mp_group_info groups[SNAP_MAX_GROUPS];
  struct braid_mp_path_info paths[SNAP_MAX_PATHS];
  struct braid_mp_path_info orphans[SNAP_MAX_PATHS];
  size_t ngroups_used, npaths_used;
};

/* Empty snapshot (no maps, no orphans). */
void snap_init (struct snap *sn);

/* Add a map: alias (may be ""), WWID, size in bytes.  Defaults: LIO-ORG,
 * IBLOCK, 4.0, features "0", hwhandler "0", failback "-", queueing "-". */
struct braid_mp_map_info *snap_map (struct snap *sn, const char *name,
                                    const char *wwid, uint64_t size);

/* Add a group to the last map. */
struct braid_mp_group_info *snap_group (struct snap *sn,
                                        const char *selector, int prio,
                                        int status);

/* Add a path to the last group: name, H:C:T:L, checker state, dm active,
 * priority.  Defaults: running, checker "tur", LUN 1, 0/5 next check. */
struct braid_mp_path_info *snap_path (struct snap *sn, const char *name,
                                      const char *hcil, int chk,
                                      int dm_active, int prio);

/* Add an orphan path. */
struct braid_mp_path_info *snap_orphan (struct snap *sn, const char *name,
                                        const char *hcil);

/* The two-group ALUA map of VECTORS.md §K/§L ("sdb", "sdc" as names). */
void snap_vector_k (struct snap *sn);

#endif
