/* cmd_volcheck.c: "braid check" and "braid status" for the volume
 * workflow.
 *
 * check compares the volume records with what braidd holds and with the
 * wwids and bindings files, one greppable line per finding:
 *
 *   crashed: S/V: state activating (FILE): ...
 *   record-without-map: S/V: ...
 *   map-without-record: MAP: ...
 *   stale-wwid: FILE:LINE: WWID: no live path has this WWID
 *   stale-binding: FILE:LINE: ALIAS WWID: no live path has this WWID
 *   bad-record: FILE: ...
 *   braidd-unreachable: ...
 *
 * and exits 1 when there is any.  status prints braidd's "show status"
 * reply, then one line per volume record; it exits 1 when braidd cannot
 * be asked and 3 when braidd reports "host state: non-operational".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/mpstate.h"
#include "volume.h"

static int findings;

static void
finding (const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
finding (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  vprintf (fmt, ap);
  va_end (ap);
  putchar ('\n');
  findings++;
}

static void
bad_record (void *opaque, const char *file, const char *why)
{
  (void) opaque;
  finding ("bad-record: %s: %s", file, why);
}

static int
path_has_wwid (const struct vol_live *l, const char *wwid)
{
  for (size_t i = 0; i < l->npaths; i++)
    if (!strcmp (l->paths[i].wwid, wwid))
      return 1;
  return 0;
}

static int
record_has_wwid (const struct vol_record *r, size_t n, const char *wwid)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp (r[i].wwid, wwid))
      return 1;
  return 0;
}

/* Entries of the wwids file ("/<wwid>/") with their line numbers. */
static void
check_wwids (const struct cli_env *env, const struct vol_live *l)
{
  FILE *f = fopen (env->wwids, "r");
  char line[512];
  int ln = 0;
  while (f && fgets (line, sizeof line, f)) {
    ln++;
    char *end;
    if (line[0] != '/' || !(end = strchr (line + 1, '/')) || end == line + 1)
      continue;
    *end = 0;
    if (!path_has_wwid (l, line + 1))
      finding ("stale-wwid: %s:%d: %s: no live path has this WWID", env->wwids, ln,
               line + 1);
  }
  if (f)
    fclose (f);
}

/* Lines "alias wwid" of the bindings file. */
static void
check_bindings (const struct cli_env *env, const struct vol_live *l)
{
  FILE *f = fopen (env->bindings, "r");
  char line[512];
  int ln = 0;
  while (f && fgets (line, sizeof line, f)) {
    char alias[256], wwid[256];
    ln++;
    if (line[0] == '#' || sscanf (line, " %255s %255s", alias, wwid) != 2
        || alias[0] == '#')
      continue;
    if (!path_has_wwid (l, wwid))
      finding ("stale-binding: %s:%d: %s %s: no live path has this WWID",
               env->bindings, ln, alias, wwid);
  }
  if (f)
    fclose (f);
}

int
cli_check (struct cli_env *env, int argc, char **argv)
{
  struct vol_record *recs = NULL;
  struct vol_live live;
  size_t n = 0, nmaps = 0;
  (void) argv;
  if (argc != 1) {
    fputs ("usage: braid check\n", stderr);
    return 2;
  }
  findings = 0;
  if (vol_record_list (env, &recs, &n, bad_record, NULL) < 0) {
    cli_error ("out of memory");
    return 1;
  }
  for (size_t i = 0; i < n; i++)
    if (strcmp (recs[i].state, "active"))
      finding ("crashed: %s/%s: left in state %s (%s): an activate or deactivate "
               "did not finish; run it again", recs[i].storage, recs[i].volume,
               recs[i].state, recs[i].file);
  if (vol_live_load (env, &live, 1) < 0) {
    finding ("braidd-unreachable: %s/braidd.sock: live maps, paths and files not checked",
             env->run_dir);
    free (recs);
    return 1;
  }
  for (size_t i = 0; i < n; i++) {
    char map[256];
    if (strcmp (recs[i].state, "active"))
      continue;
    vol_live_map (&live, recs[i].wwid, map, sizeof map);
    if (!map[0])
      finding ("record-without-map: %s/%s: state active, WWID %s, %s lun %d, "
               "but braidd has no map of it (%s); braid activate rebuilds it, "
               "braid deactivate removes the record", recs[i].storage,
               recs[i].volume, recs[i].wwid[0] ? recs[i].wwid : "unknown",
               recs[i].target, recs[i].lun, recs[i].file);
  }
  /* A braid-activated map: one of its paths comes through a session
   * braid activate opened (tag). */
  for (size_t e = 0; e < live.nexports; e++) {
    const struct vol_export *x = &live.exports[e];
    const struct vol_path *ours = NULL;
    nmaps++;
    for (size_t i = 0; i < live.npaths && !ours; i++) {
      const struct vol_node *node = vol_live_node (&live, live.paths[i].portal,
                                                   live.paths[i].target);
      if (!strcmp (live.paths[i].wwid, x->wwid) && node && !strcmp (node->tag, VOL_TAG))
        ours = &live.paths[i];
    }
    if (ours && !record_has_wwid (recs, n, x->wwid))
      finding ("map-without-record: %s: WWID %s, %s lun %d, activated by braid "
               "but no volume record under %s has it; braid activate adopts it, "
               "braid deactivate --storage S --volume V --target %s --lun %d "
               "removes it", x->name, x->wwid, ours->target, ours->lun,
               env->state_dir, ours->target, ours->lun);
  }
  check_wwids (env, &live);
  check_bindings (env, &live);
  vol_live_free (&live);
  free (recs);
  if (!findings)
    printf ("check: %zu volume record%s, %zu map%s: nothing to report\n", n,
            n == 1 ? "" : "s", nmaps, nmaps == 1 ? "" : "s");
  return findings ? 1 : 0;
}

int
cli_status (struct cli_env *env, int argc, char **argv)
{
  struct vol_record *recs = NULL;
  struct vol_live live;
  size_t n = 0;
  char *reply = NULL;
  int ret = 0, have_live;
  (void) argv;
  if (argc != 1) {
    fputs ("usage: braid status\n", stderr);
    return 2;
  }
  if (vol_ctl (env, "show status", &reply, 0) < 0)
    ret = 1;
  else {
    fputs (reply, stdout);
    /* A line of its own, at the start of a line. */
    for (const char *p = reply; p; p = strchr (p, '\n'), p = p ? p + 1 : NULL)
      if (!strncmp (p, "host state: non-operational", 27))
        ret = 3;
  }
  free (reply);
  have_live = ret != 1 && vol_live_load (env, &live, 0) == 0;
  if (vol_record_list (env, &recs, &n, NULL, NULL) < 0) {
    cli_error ("out of memory");
    return 1;
  }
  printf ("\nvolumes: %zu\n", n);
  for (size_t i = 0; i < n; i++) {
    const struct vol_record *r = &recs[i];
    char map[256] = "", paths[64] = "paths unknown";
    if (have_live) {
      int total, active;
      vol_live_map (&live, r->wwid, map, sizeof map);
      vol_live_count (&live, r->wwid, &total, &active);
      snprintf (paths, sizeof paths, "paths %d/%d active", active, total);
    }
    printf ("%s/%s %s map %s %s\n", r->storage, r->volume, r->state,
            map[0] ? map : have_live ? "(none)" : "unknown", paths);
    if (r->has_pending) {
      char now[1200], next[1200];
      vol_portals_str (&r->applied, now, sizeof now);
      vol_portals_str (&r->pending, next, sizeof next);
      printf ("  pending: portals %s -> %s, multipath %d -> %d "
              "(at the next deactivate + activate)\n", now, next,
              r->applied.multipath, r->pending.multipath);
    }
  }
  if (have_live)
    vol_live_free (&live);
  free (recs);
  return ret;
}
