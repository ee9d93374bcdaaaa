/* volume.h: what the volume workflow's files share (activate, deactivate,
 * check, status).
 *
 * A volume record is the JSON file <state-dir>/<storage>/<volume>.json
 * that says which target and LUN a storage volume is, which portals it was
 * activated through, its WWID and map, and how far the last activate or
 * deactivate got (state).  volume_record.c reads and writes records
 * (atomically) and lists them; volume_live.c asks braidd what is live
 * (paths, sessions with their tags, NBD exports with their open
 * connections).  Both are used only by the CLI.
 */
#ifndef BRAID_VOLUME_H
#define BRAID_VOLUME_H

#include <stddef.h>

#include "cli.h"

#define VOL_NAME_MAX 128            /* storage and volume names, bytes */
#define VOL_MAX_PORTALS 16
#define VOL_TAG "braid-activate"    /* login tag of the sessions activate opens */

struct vol_portals {
  int n;
  char p[VOL_MAX_PORTALS][300];
  int multipath;                    /* 0: a session through p[0] only */
};

struct vol_record {
  char file[4400];                  /* where it lives */
  char storage[VOL_NAME_MAX + 1], volume[VOL_NAME_MAX + 1];
  char target[224];
  int lun;
  struct vol_portals applied;       /* what the live sessions follow */
  int has_pending;
  struct vol_portals pending;       /* asked while active: next activation */
  char wwid[128];
  char map[256];
  char uri[4400];
  char state[16];                   /* activating, active, deactivating */
  char created[32], activated[32], updated[32];
};

/* volume_record.c */

/* 0, or -EINVAL after printing why 'name' cannot be a storage or volume
 * name ('what' says which). */
int vol_check_name (const char *what, const char *name);
/* The record's file name into rec->file. */
void vol_record_file (const struct cli_env *env, struct vol_record *rec);
/* Read rec->file.  0, -ENOENT (no record), or -EINVAL / -errno after
 * printing why (naming the file). */
int vol_record_read (struct vol_record *rec);
/* Write it atomically (temporary file, fsync, rename, fsync of the
 * directory), creating the directories (0700); the file is 0600.
 * Stamps rec->updated.  0 or -errno after printing why. */
int vol_record_write (const struct cli_env *env, struct vol_record *rec);
/* Remove it (and fsync the directory; an empty storage directory goes
 * too).  0 or -errno after printing why. */
int vol_record_delete (const struct cli_env *env, const struct vol_record *rec);
/* Every record under the state dir (storage directories whose names are
 * valid, files <volume>.json).  Unreadable ones are reported through
 * 'bad' (file, reason) and left out.  *out is malloc'd.  0 or -ENOMEM. */
int vol_record_list (const struct cli_env *env, struct vol_record **out,
                     size_t *n,
                     void (*bad) (void *opaque, const char *file, const char *why),
                     void *opaque);
/* The portals a session is opened through (all, or the first one). */
int vol_session_portals (const struct vol_portals *p, const char **out);
int vol_portals_equal (const struct vol_portals *a, const struct vol_portals *b);
/* "A,B" into buf. */
void vol_portals_str (const struct vol_portals *p, char *buf, size_t len);
/* Take the process-wide volume lock (<state-dir>/.volumes.lock), waiting
 * at most 'seconds'.  Returns the fd (close it to release) or -1 after
 * printing why. */
int vol_lock (const struct cli_env *env, int seconds);
/* The fault-injection hook: SIGKILL ourselves when $BRAID_FAULT names
 * this point. */
void vol_fault (const char *point);
/* Current UTC time, ISO 8601 ("2026-11-21T13:45:02Z"). */
void vol_now (char *buf, size_t len);

/* volume_live.c */

struct vol_path {
  char portal[300], target[224];
  int lun;
  char wwid[128];
  char map[256];                    /* "" when the path is in no map */
  int active;                       /* dm_st "active" */
};
struct vol_node {
  char portal[300], target[224], tag[64];
};
struct vol_export {
  char name[256], wwid[128], uri[4400];
  unsigned connections;
};
struct vol_live {
  size_t npaths, nnodes, nexports;
  struct vol_path *paths;
  struct vol_node *nodes;
  struct vol_export *exports;
};

/* Send a braid verb or multipathd command to braidd; *reply is malloc'd.
 * Returns 0, or -errno when braidd cannot be asked (printed unless 'quiet'). */
int vol_ctl (const struct cli_env *env, const char *cmd, char **reply, int quiet);
/* Did braidd answer "ok" (or nothing)? */
int vol_reply_ok (const char *reply);
/* Paths, nodes and exports as braidd sees them now.  0 or -errno (printed
 * unless 'quiet'). */
int vol_live_load (const struct cli_env *env, struct vol_live *l, int quiet);
void vol_live_free (struct vol_live *l);
const struct vol_node *vol_live_node (const struct vol_live *l,
                                      const char *portal, const char *target);
const struct vol_export *vol_live_export (const struct vol_live *l,
                                          const char *wwid);
/* The map holding paths of 'wwid' ("" if none), into map. */
void vol_live_map (const struct vol_live *l, const char *wwid, char *map,
                   size_t len);
/* Paths of 'wwid': total and active. */
void vol_live_count (const struct vol_live *l, const char *wwid, int *total,
                     int *active);

#endif
