/* ctl/internal.h: what the control plane's files share and nothing else
 * needs to see: the wildcard value printers (format.c), which the JSON
 * writer (json.c) reuses so that a JSON value is always the same text as
 * the matching column.
 */
#ifndef BRAID_CTL_INTERNAL_H
#define BRAID_CTL_INTERNAL_H

#include "braid/ctl.h"

/* A path together with the map it is in (NULL for an orphan): several
 * wildcards (%m, %t, %T, %o, %C) print differently for orphans. */
struct ctl_path_ref {
  const struct braid_mp_path_info *p;
  const struct braid_mp_map_info *m;
};

/* Append the value of wildcard 'wc' for a map / path / path group.
 * Return 0, -ENOENT for a wildcard that does not exist (nothing is
 * appended), or -ENOMEM. */
int ctl_map_field (struct braid_strbuf *sb, const struct braid_mp_map_info *m,
                   char wc);
int ctl_path_field (struct braid_strbuf *sb, const struct ctl_path_ref *r,
                    char wc);
int ctl_group_field (struct braid_strbuf *sb,
                     const struct braid_mp_group_info *g, char wc);

/* Every path of 's': maps' paths in map, group and path order, then the
 * orphans.  *out is malloc'd (NULL when there are none); returns the count
 * or -ENOMEM. */
long ctl_all_paths (const struct braid_mp_snapshot *s,
                    struct ctl_path_ref **out);

#endif /* BRAID_CTL_INTERNAL_H */
