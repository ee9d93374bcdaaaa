/* show.c: the read-only "show"/"list" commands as control handlers.
 *
 * Each command takes a fresh snapshot of the engine, formats it and frees
 * it, so formatting never touches live objects and a reply always shows
 * one consistent moment.  The fingerprint picks the formatter; map and
 * path arguments are looked up in the snapshot the way multipathd looks
 * them up (alias, then WWID; by-path name, then H:C:T:L), and a miss
 * answers "fail" like multipathd's handlers returning 1.
 */
#include <errno.h>
#include <stddef.h>

#include "braid/ctl.h"

#define L BRAID_CLI_VRB_LIST
#define K(x) BRAID_CLI_KEY_##x

static const uint32_t show_fps[] = {
  BRAID_CLI_FP2 (L, K (PATHS)),
  BRAID_CLI_FP3 (L, K (PATHS), K (FMT)),
  BRAID_CLI_FP4 (L, K (PATHS), K (RAW), K (FMT)),
  BRAID_CLI_FP3 (L, K (PATHS), K (STATS)),      /* braid */
  BRAID_CLI_FP3 (L, K (PATHS), K (JSON)),       /* braid */
  BRAID_CLI_FP2 (L, K (PATH)),
  BRAID_CLI_FP2 (L, K (MAPS)),
  BRAID_CLI_FP3 (L, K (MAPS), K (STATUS)),
  BRAID_CLI_FP3 (L, K (MAPS), K (STATS)),
  BRAID_CLI_FP3 (L, K (MAPS), K (FMT)),
  BRAID_CLI_FP4 (L, K (MAPS), K (RAW), K (FMT)),
  BRAID_CLI_FP3 (L, K (MAPS), K (TOPOLOGY)),
  BRAID_CLI_FP2 (L, K (TOPOLOGY)),
  BRAID_CLI_FP3 (L, K (MAPS), K (JSON)),
  BRAID_CLI_FP3 (L, K (MAP), K (TOPOLOGY)),
  BRAID_CLI_FP3 (L, K (MAP), K (FMT)),
  BRAID_CLI_FP4 (L, K (MAP), K (RAW), K (FMT)),
  BRAID_CLI_FP3 (L, K (MAP), K (JSON)),
  BRAID_CLI_FP2 (L, K (STATUS)),
  BRAID_CLI_FP2 (L, K (WILDCARDS)),
};

#define NFPS (sizeof show_fps / sizeof show_fps[0])

/* The command on one map: 1 (multipathd's "not found") if it is unknown. */
static int
show_map (const struct braid_mp_snapshot *s, const struct braid_cli_cmd *cmd,
          struct braid_strbuf *reply)
{
  const struct braid_mp_map_info *m;
  const char *fmt = braid_cli_param (cmd, K (FMT));

  m = braid_ctl_find_map (s, braid_cli_param (cmd, K (MAP)));
  if (m == NULL)
    return 1;
  switch (cmd->fingerprint) {
  case BRAID_CLI_FP3 (L, K (MAP), K (TOPOLOGY)):
    return braid_ctl_fmt_topology (reply, s, m, 0);
  case BRAID_CLI_FP3 (L, K (MAP), K (FMT)):
    return braid_ctl_fmt_map (reply, s, m, fmt, 0);
  case BRAID_CLI_FP4 (L, K (MAP), K (RAW), K (FMT)):
    /* multipathd routes "raw" here to the padded handler too
     * (cli_list_map_fmt); scripts see the same bytes from braid. */
    return braid_ctl_fmt_map (reply, s, m, fmt, 0);
  case BRAID_CLI_FP3 (L, K (MAP), K (JSON)):
    return braid_ctl_fmt_map_json (reply, m);
  default:
    return -EINVAL;
  }
}

static int
show_format (const struct braid_ctl_show_ops *ops,
             const struct braid_mp_snapshot *s,
             const struct braid_cli_cmd *cmd, struct braid_strbuf *reply)
{
  const char *fmt = braid_cli_param (cmd, K (FMT));
  const struct braid_mp_path_info *p;

  switch (cmd->fingerprint) {
  case BRAID_CLI_FP2 (L, K (PATHS)):
    return braid_ctl_fmt_paths (reply, s, BRAID_CTL_FMT_PATHS, 0);
  case BRAID_CLI_FP3 (L, K (PATHS), K (FMT)):
    return braid_ctl_fmt_paths (reply, s, fmt, 0);
  case BRAID_CLI_FP4 (L, K (PATHS), K (RAW), K (FMT)):
    return braid_ctl_fmt_paths (reply, s, fmt, BRAID_CTL_FMT_RAW);
  case BRAID_CLI_FP3 (L, K (PATHS), K (STATS)):
    return braid_ctl_fmt_paths_stats (reply, s);
  case BRAID_CLI_FP3 (L, K (PATHS), K (JSON)):
    return braid_ctl_fmt_paths_json (reply, s);
  case BRAID_CLI_FP2 (L, K (PATH)):
    p = braid_ctl_find_path (s, braid_cli_param (cmd, K (PATH)), NULL);
    return p != NULL ? braid_ctl_fmt_path (reply, s, p,
                                           BRAID_CTL_FMT_PATH_ONE)
                     : 1;
  case BRAID_CLI_FP2 (L, K (MAPS)):
    return braid_ctl_fmt_maps (reply, s, BRAID_CTL_FMT_MAPS, 0);
  case BRAID_CLI_FP3 (L, K (MAPS), K (STATUS)):
    return braid_ctl_fmt_maps (reply, s, BRAID_CTL_FMT_MAPS_STATUS, 0);
  case BRAID_CLI_FP3 (L, K (MAPS), K (STATS)):
    return braid_ctl_fmt_maps (reply, s, BRAID_CTL_FMT_MAPS_STATS, 0);
  case BRAID_CLI_FP3 (L, K (MAPS), K (FMT)):
    return braid_ctl_fmt_maps (reply, s, fmt, 0);
  case BRAID_CLI_FP4 (L, K (MAPS), K (RAW), K (FMT)):
    return braid_ctl_fmt_maps (reply, s, fmt, BRAID_CTL_FMT_RAW);
  case BRAID_CLI_FP3 (L, K (MAPS), K (TOPOLOGY)):
  case BRAID_CLI_FP2 (L, K (TOPOLOGY)):
    return braid_ctl_fmt_topology (reply, s, NULL, 0);
  case BRAID_CLI_FP3 (L, K (MAPS), K (JSON)):
    return braid_ctl_fmt_maps_json (reply, s);
  case BRAID_CLI_FP2 (L, K (STATUS)):
    return braid_ctl_fmt_status (reply, s,
                                 ops->busy != NULL && ops->busy (ops->opaque));
  default:
    return show_map (s, cmd, reply);
  }
}

static int
show_handler (void *opaque, const struct braid_cli_cmd *cmd,
              struct braid_strbuf *reply)
{
  const struct braid_ctl_show_ops *ops = opaque;
  struct braid_mp_snapshot *s = NULL;
  int rc;

  /* The only one that needs no state. */
  if (cmd->fingerprint == BRAID_CLI_FP2 (L, K (WILDCARDS)))
    return braid_ctl_fmt_wildcards (reply);
  rc = ops->snapshot (ops->opaque, &s);
  if (rc < 0 || s == NULL)
    return rc < 0 ? rc : -EIO;
  rc = show_format (ops, s, cmd, reply);
  ops->snapshot_free (ops->opaque, s);
  return rc;
}

int
braid_ctl_register_show (struct braid_ctl_server *srv,
                         const struct braid_ctl_show_ops *ops)
{
  size_t i;
  int rc;

  if (srv == NULL || ops == NULL || ops->snapshot == NULL
      || ops->snapshot_free == NULL)
    return -EINVAL;
  for (i = 0; i < NFPS; i++) {
    /* The const is dropped only to fit the handler's opaque type; the
     * handler never writes through it. */
    rc = braid_ctl_server_set_handler (srv, show_fps[i], show_handler,
                                       (void *) (uintptr_t) ops);
    if (rc < 0)
      return rc;
  }
  return 0;
}
