/* cmd_volume.c: "braid activate" and "braid deactivate", the volume
 * workflow of a hypervisor storage plugin (JovianDSS Proxmox plugin's
 * activation and deactivation, with braidd in multipathd's place).
 *
 *   braid activate --storage ID --volume NAME --target IQN --lun N
 *                  --portal A [--portal B...] [--multipath 0|1]
 *                  [--chap-file F] [--timeout S]
 *   braid deactivate --storage ID --volume NAME [--force]
 *                  [--target IQN --lun N]
 *
 * Crash safety comes from order and idempotence: activate writes the
 * record (state "activating", what was asked) before it touches anything
 * live, deactivate writes "deactivating" before it undoes anything and
 * deletes the record last; every step accepts what an earlier, killed run
 * left (a session that exists, a WWID already listed, a map already built,
 * a map already gone), so running the same command again converges.  One
 * lock (<state-dir>/.volumes.lock) serialises activations and
 * deactivations, so "is this session used by another volume" is asked of
 * a stable set of records.  $BRAID_FAULT=<point> kills braid at a named
 * point (docs/workflows/activate.md lists them), for the crash tests.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "braid/ctl.h"
#include "braid/mpstate.h"
#include "volume.h"

#define LOCK_WAIT_S 300

struct vol_args {
  const char *storage, *volume, *target, *chap_file;
  int lun;                          /* -1: not given */
  struct vol_portals portals;
  int force;
  int timeout_s;
};

static int
parse_int (const char *opt, const char *s, int lo, int hi, int *out)
{
  char *end;
  long v;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi) {
    cli_error ("%s \"%s\": want a number from %d to %d", opt, s, lo, hi);
    return -1;
  }
  *out = (int) v;
  return 0;
}

/* Parse the options both commands share; 2 on a usage error. */
static int
parse_args (int argc, char **argv, struct vol_args *a, int activate)
{
  static const struct option opts[] = {
    { "storage", 1, NULL, 's' }, { "volume", 1, NULL, 'v' },
    { "target", 1, NULL, 't' }, { "lun", 1, NULL, 'l' },
    { "portal", 1, NULL, 'p' }, { "multipath", 1, NULL, 'm' },
    { "chap-file", 1, NULL, 'c' }, { "timeout", 1, NULL, 'T' },
    { "force", 0, NULL, 'f' }, { NULL, 0, NULL, 0 },
  };
  int c, timeout_given = 0;

  memset (a, 0, sizeof *a);
  a->lun = -1;
  a->portals.multipath = 1;
  a->timeout_s = 30;
  optind = 1;
  opterr = 1;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    switch (c) {
    case 's': a->storage = optarg; break;
    case 'v': a->volume = optarg; break;
    case 't': a->target = optarg; break;
    case 'c': a->chap_file = optarg; break;
    case 'f': a->force = 1; break;
    case 'l':
      if (parse_int ("--lun", optarg, 0, 16383, &a->lun) < 0)
        return 2;
      break;
    case 'm':
      if (parse_int ("--multipath", optarg, 0, 1, &a->portals.multipath) < 0)
        return 2;
      break;
    case 'T':
      if (parse_int ("--timeout", optarg, 1, 3600, &a->timeout_s) < 0)
        return 2;
      timeout_given = 1;
      break;
    case 'p':
      if (a->portals.n == VOL_MAX_PORTALS) {
        cli_error ("at most %d portals", VOL_MAX_PORTALS);
        return 2;
      }
      if (!optarg[0] || strlen (optarg) >= sizeof a->portals.p[0]
          || strpbrk (optarg, " \t\n\",")) {
        cli_error ("--portal \"%s\": want HOST:PORT", optarg);
        return 2;
      }
      for (int i = 0; i < a->portals.n; i++)
        if (!strcmp (a->portals.p[i], optarg)) {
          cli_error ("--portal %s given twice", optarg);
          return 2;
        }
      snprintf (a->portals.p[a->portals.n++], sizeof a->portals.p[0], "%s", optarg);
      break;
    default:
      return 2;
    }
  }
  if (optind != argc || !a->storage || !a->volume
      || (activate && (!a->target || a->lun < 0 || !a->portals.n || a->force))
      || (!activate && (a->portals.n || a->chap_file || timeout_given
                        || (!a->target) != (a->lun < 0)))) {
    fputs (activate
           ? "usage: braid activate --storage ID --volume NAME --target IQN --lun N\n"
             "                      --portal A [--portal B...] [--multipath 0|1]\n"
             "                      [--chap-file FILE] [--timeout SECONDS]\n"
           : "usage: braid deactivate --storage ID --volume NAME [--force]\n"
             "                        [--target IQN --lun N]\n",
           stderr);
    return 2;
  }
  if (vol_check_name ("storage", a->storage) < 0 || vol_check_name ("volume", a->volume) < 0)
    return 2;
  if (a->target && (!a->target[0] || strlen (a->target) >= 224
                    || strpbrk (a->target, " \t\n\""))) {
    cli_error ("--target \"%s\": want an iSCSI name (IQN)", a->target);
    return 2;
  }
  return 0;
}

static void
sleep_ms (long ms)
{
  struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
  nanosleep (&ts, NULL);
}

/* Is (portal, target) a session of another record (any state)? */
static int
session_used_elsewhere (const struct cli_env *env, const struct vol_record *self,
                        const char *portal, const char *target)
{
  struct vol_record *recs;
  size_t n;
  int used = 0;
  if (vol_record_list (env, &recs, &n, NULL, NULL) < 0)
    return 1;                       /* cannot tell: keep the session */
  for (size_t i = 0; i < n && !used; i++) {
    const char *sess[VOL_MAX_PORTALS];
    if (!strcmp (recs[i].storage, self->storage) && !strcmp (recs[i].volume, self->volume))
      continue;
    if (strcmp (recs[i].target, target))
      continue;
    int ns = vol_session_portals (&recs[i].applied, sess);
    for (int k = 0; k < ns; k++)
      used |= !strcmp (sess[k], portal);
  }
  free (recs);
  return used;
}

/* Is 'wwid' the WWID of another record? */
static int
wwid_used_elsewhere (const struct cli_env *env, const struct vol_record *self,
                     const char *wwid)
{
  struct vol_record *recs;
  size_t n;
  int used = 0;
  if (vol_record_list (env, &recs, &n, NULL, NULL) < 0)
    return 1;
  for (size_t i = 0; i < n; i++)
    if ((strcmp (recs[i].storage, self->storage) || strcmp (recs[i].volume, self->volume))
        && !strcmp (recs[i].wwid, wwid))
      used = 1;
  free (recs);
  return used;
}

/* Log out of the sessions of 'rec' that braid activate opened (tag) and
 * no other record uses; 'keep' (may be NULL) are sessions still wanted. */
static int
logout_unused (const struct cli_env *env, const struct vol_live *live,
               const struct vol_record *rec, const struct vol_portals *keep)
{
  const char *sess[VOL_MAX_PORTALS], *kept[VOL_MAX_PORTALS];
  int ns = vol_session_portals (&rec->applied, sess);
  int nk = keep ? vol_session_portals (keep, kept) : 0;
  int failed = 0;

  for (int i = 0; i < ns; i++) {
    int wanted = 0;
    for (int k = 0; k < nk; k++)
      wanted |= !strcmp (kept[k], sess[i]);
    const struct vol_node *node = vol_live_node (live, sess[i], rec->target);
    if (wanted || !node)
      continue;
    if (strcmp (node->tag, VOL_TAG)) {
      fprintf (stderr, "braid: %s %s: session kept (not opened by braid activate)\n",
               sess[i], rec->target);
      continue;
    }
    if (session_used_elsewhere (env, rec, sess[i], rec->target))
      continue;
    struct braid_strbuf cmd = BRAID_STRBUF_INIT;
    char *reply = NULL;
    braid_strbuf_puts (&cmd, "logout");
    cli_ctl_word (&cmd, "portal");
    cli_ctl_word (&cmd, sess[i]);
    cli_ctl_word (&cmd, "target");
    cli_ctl_word (&cmd, rec->target);
    int r = vol_ctl (env, braid_strbuf_str (&cmd), &reply, 0);
    braid_strbuf_free (&cmd);
    /* "no session to ..." means an earlier run got there first. */
    if (r < 0 || (!vol_reply_ok (reply) && !strstr (reply, "no session to"))) {
      if (r == 0)
        cli_error ("logout %s %s: %s", sess[i], rec->target, reply);
      failed = 1;
    }
    free (reply);
  }
  return failed ? -EIO : 0;
}

/* The paths of target/lun through the record's session portals, waited
 * for until every one has a WWID or 'timeout_s' passes.  Fills live.
 * Returns how many there are (0: none), or -errno. */
static int
wait_paths (const struct cli_env *env, const struct vol_record *rec,
            int timeout_s, struct vol_live *live, int *want_out)
{
  const char *sess[VOL_MAX_PORTALS];
  int ns = vol_session_portals (&rec->applied, sess);
  int found = 0;
  *want_out = ns;
  for (int tries = 0; tries <= timeout_s * 5; tries++) {
    if (tries)
      sleep_ms (200);
    vol_live_free (live);
    int r = vol_live_load (env, live, 0);
    if (r < 0)
      return r;
    found = 0;
    for (size_t i = 0; i < live->npaths; i++) {
      const struct vol_path *p = &live->paths[i];
      if (strcmp (p->target, rec->target) || p->lun != rec->lun || !p->wwid[0])
        continue;
      for (int k = 0; k < ns; k++)
        found += !strcmp (p->portal, sess[k]);
    }
    if (found >= ns)
      break;
  }
  return found;
}

/* The WWID of target/lun through the session portals ("" if no path);
 * -EINVAL when the portals disagree (different LUNs behind them). */
static int
live_wwid (const struct vol_live *live, const struct vol_record *rec, char *wwid,
           size_t len)
{
  const char *sess[VOL_MAX_PORTALS];
  int ns = vol_session_portals (&rec->applied, sess);
  wwid[0] = 0;
  for (size_t i = 0; i < live->npaths; i++) {
    const struct vol_path *p = &live->paths[i];
    int ours = 0;
    for (int k = 0; k < ns; k++)
      ours |= !strcmp (p->portal, sess[k]);
    if (!ours || strcmp (p->target, rec->target) || p->lun != rec->lun || !p->wwid[0])
      continue;
    if (wwid[0] && strcmp (wwid, p->wwid)) {
      cli_error ("%s lun %d has WWID %s through one portal and %s through %s: "
                 "not the same LUN, refusing", rec->target, rec->lun, wwid, p->wwid,
                 p->portal);
      return -EINVAL;
    }
    snprintf (wwid, len, "%s", p->wwid);
  }
  return 0;
}

static int
wwids_edit (const struct cli_env *env, const char *wwid, int add)
{
  struct braid_wwids *w = braid_wwids_new (env->wwids);
  if (!w) {
    cli_error ("%s: %s", env->wwids, strerror (errno));
    return -errno;
  }
  int r = add ? braid_wwids_add (w, wwid) : braid_wwids_remove (w, wwid);
  if (r < 0)
    cli_error ("%s: cannot %s %s: %s", env->wwids, add ? "add" : "remove", wwid,
               braid_wwids_get_error (w));
  braid_wwids_free (w);
  return r < 0 ? r : 0;
}

/* Log in to the session portals braidd does not hold yet. */
static int
login_missing (const struct cli_env *env, const struct vol_record *rec,
               const char *chap_file, const struct vol_live *live)
{
  const char *sess[VOL_MAX_PORTALS];
  int ns = vol_session_portals (&rec->applied, sess), missing = 0;
  struct braid_strbuf cmd = BRAID_STRBUF_INIT;
  braid_strbuf_puts (&cmd, "login");
  for (int i = 0; i < ns; i++)
    if (!vol_live_node (live, sess[i], rec->target)) {
      cli_ctl_word (&cmd, "portal");
      cli_ctl_word (&cmd, sess[i]);
      missing++;
    }
  if (!missing) {
    braid_strbuf_free (&cmd);
    return 0;
  }
  cli_ctl_word (&cmd, "target");
  cli_ctl_word (&cmd, rec->target);
  /* Tagged, so check and deactivate know braid activate opened them;
   * not enrolled: only this LUN's WWID goes to the wwids file, not every
   * LUN of the target. */
  cli_ctl_word (&cmd, "tag");
  cli_ctl_word (&cmd, VOL_TAG);
  cli_ctl_word (&cmd, "no-enroll");
  if (chap_file) {
    char *abs = realpath (chap_file, NULL);
    if (!abs) {
      cli_error ("%s: %s", chap_file, strerror (errno));
      braid_strbuf_free (&cmd);
      return -ENOENT;
    }
    cli_ctl_word (&cmd, "chap-file");
    cli_ctl_word (&cmd, abs);
    free (abs);
  }
  char *reply = NULL;
  int r = vol_ctl (env, braid_strbuf_str (&cmd), &reply, 0);
  braid_strbuf_free (&cmd);
  if (r == 0 && !vol_reply_ok (reply)) {
    cli_error ("login to %s failed:\n%s", rec->target, reply);
    r = -EIO;
  }
  free (reply);
  return r;
}

static void
print_pending (const struct vol_record *rec)
{
  char now[1200], next[1200];
  vol_portals_str (&rec->applied, now, sizeof now);
  vol_portals_str (&rec->pending, next, sizeof next);
  fprintf (stderr, "braid: %s/%s is active with portals %s multipath %d; "
           "portals %s multipath %d take effect at the next deactivate + activate\n",
           rec->storage, rec->volume, now, rec->applied.multipath, next,
           rec->pending.multipath);
}

/* Undo what activate did for 'rec' (recorded: the record exists and is
 * rewritten "deactivating", then deleted): refuse while an NBD client has
 * the map open (unless 'force'), WWID out of the wwids file, map flushed,
 * unused braid-activate sessions logged out.  The map's name goes to
 * 'map'.  0, or -1 after printing why. */
static int
undo (struct cli_env *env, struct vol_record *rec, struct vol_live *live,
      int recorded, int force, char *map, size_t maplen)
{
  char was[sizeof rec->state];
  memcpy (was, rec->state, sizeof was);
  map[0] = 0;
  if (!rec->wwid[0] && live_wwid (live, rec, rec->wwid, sizeof rec->wwid) < 0)
    return -1;
  vol_live_map (live, rec->wwid, map, maplen);
  const struct vol_export *e = vol_live_export (live, rec->wwid);
  if (e && e->connections && !force) {
    /* Checked before the record changes: a refusal leaves it as it was. */
    cli_error ("%s/%s: map %s is in use by %u NBD client%s (a guest still has "
               "it open); stop the guest first or use --force", rec->storage,
               rec->volume, map, e->connections, e->connections == 1 ? "" : "s");
    return -1;
  }

  if (recorded) {
    snprintf (rec->state, sizeof rec->state, "deactivating");
    if (vol_record_write (env, rec) < 0)
      return -1;
  }
  vol_fault ("deactivate:after-record");

  if (rec->wwid[0] && !wwid_used_elsewhere (env, rec, rec->wwid)
      && wwids_edit (env, rec->wwid, 0) < 0)
    return -1;
  vol_fault ("deactivate:after-unenroll");

  if (map[0]) {
    struct braid_strbuf cmd = BRAID_STRBUF_INIT;
    char *reply = NULL;
    braid_strbuf_puts (&cmd, "flush");
    cli_ctl_word (&cmd, rec->wwid);
    if (force)
      cli_ctl_word (&cmd, "force");
    int r = vol_ctl (env, braid_strbuf_str (&cmd), &reply, 0);
    braid_strbuf_free (&cmd);
    if (r == 0 && !vol_reply_ok (reply) && !strstr (reply, "not found")) {
      cli_error ("%s/%s: map %s not flushed: %s", rec->storage, rec->volume, map, reply);
      if (strstr (reply, "in use") && recorded) {
        /* A client came in meanwhile, or I/O is in flight: the volume
         * stays as it was. */
        wwids_edit (env, rec->wwid, 1);
        memcpy (rec->state, was, sizeof rec->state);
        vol_record_write (env, rec);
      }
      r = -EBUSY;
    }
    free (reply);
    if (r < 0)
      return -1;
  }
  vol_fault ("deactivate:after-flush");

  if (logout_unused (env, live, rec, NULL) < 0)
    return -1;
  vol_fault ("deactivate:after-logout");

  if (recorded && vol_record_delete (env, rec) < 0)
    return -1;
  return 0;
}

/* What both commands start with: arguments, the lock, the record.
 * Returns 0 with *lockfd held and *recorded 1 (read into rec) or 0 (no
 * record; rec holds the names), or the exit status to return. */
static int
begin (struct cli_env *env, int argc, char **argv, int activate,
       struct vol_args *a, struct vol_record *rec, int *lockfd, int *recorded)
{
  int rc = parse_args (argc, argv, a, activate);
  if (rc)
    return rc;
  if ((*lockfd = vol_lock (env, LOCK_WAIT_S)) < 0)
    return 1;
  memset (rec, 0, sizeof *rec);
  snprintf (rec->storage, sizeof rec->storage, "%s", a->storage);
  snprintf (rec->volume, sizeof rec->volume, "%s", a->volume);
  vol_record_file (env, rec);
  rc = vol_record_read (rec);
  if (rc < 0 && rc != -ENOENT) {
    close (*lockfd);
    return 1;
  }
  *recorded = rc == 0;
  return 0;
}

int
cli_activate (struct cli_env *env, int argc, char **argv)
{
  struct vol_args a;
  struct vol_record rec, old;
  struct vol_live live = { 0 };
  int lockfd, have_old, ret = 1, fresh = 0;
  int rc = begin (env, argc, argv, 1, &a, &old, &lockfd, &have_old);
  if (rc)
    return rc;
  memset (&rec, 0, sizeof rec);
  memcpy (rec.file, old.file, sizeof rec.file);
  memcpy (rec.storage, old.storage, sizeof rec.storage);
  memcpy (rec.volume, old.volume, sizeof rec.volume);
  if (have_old && (strcmp (old.target, a.target) || old.lun != a.lun)) {
    cli_error ("%s/%s is recorded as %s lun %d (%s), not %s lun %d: "
               "deactivate it first", a.storage, a.volume, old.target, old.lun,
               old.file, a.target, a.lun);
    goto out;
  }

  if (have_old && !strcmp (old.state, "active")) {
    /* Live: the sessions stay as they are; a different request waits
     * for the next deactivate + activate (as multipathd-based plugins
     * behave).  Repair whatever is missing of the applied state. */
    rec = old;
    int differs = !vol_portals_equal (&rec.applied, &a.portals);
    if (differs != rec.has_pending
        || (differs && !vol_portals_equal (&rec.pending, &a.portals))) {
      rec.has_pending = differs;
      rec.pending = a.portals;
      if (vol_record_write (env, &rec) < 0)
        goto out;
    }
    if (differs)
      print_pending (&rec);
  }
  else {
    /* New, or an earlier activate/deactivate died: what is asked now is
     * what will be live. */
    snprintf (rec.target, sizeof rec.target, "%s", a.target);
    rec.lun = a.lun;
    rec.applied = a.portals;
    snprintf (rec.state, sizeof rec.state, "activating");
    if (have_old) {
      memcpy (rec.created, old.created, sizeof rec.created);
      memcpy (rec.wwid, old.wwid, sizeof rec.wwid);
    }
    if (vol_record_write (env, &rec) < 0)
      goto out;
    fresh = 1;
  }
  vol_fault ("activate:after-record");

  if (vol_live_load (env, &live, 0) < 0)
    goto out;
  if (login_missing (env, &rec, a.chap_file, &live) < 0)
    goto out;
  vol_fault ("activate:after-login");

  int want = 0;
  int found = wait_paths (env, &rec, a.timeout_s, &live, &want);
  if (found < 0)
    goto out;
  if (found == 0) {
    cli_error ("%s/%s: no path to %s lun %d after %d s (is the LUN there? "
               "\"braid show paths\" lists what braidd has)", rec.storage,
               rec.volume, rec.target, rec.lun, a.timeout_s);
    goto out;
  }
  if (found < want)
    fprintf (stderr, "braid: %s/%s: %d of %d paths after %d s; going on with those\n",
             rec.storage, rec.volume, found, want, a.timeout_s);
  char wwid[128];
  if (live_wwid (&live, &rec, wwid, sizeof wwid) < 0)
    goto out;
  if (rec.wwid[0] && strcmp (rec.wwid, wwid)) {
    /* The storage re-created the volume (a clone, a restored copy): the
     * old WWID is gone for good. */
    fprintf (stderr, "braid: %s/%s: WWID changed from %s to %s\n", rec.storage,
             rec.volume, rec.wwid, wwid);
    if (!wwid_used_elsewhere (env, &rec, rec.wwid))
      wwids_edit (env, rec.wwid, 0);
  }
  snprintf (rec.wwid, sizeof rec.wwid, "%s", wwid);

  if (wwids_edit (env, wwid, 1) < 0)
    goto out;
  vol_fault ("activate:after-enroll");

  /* A map of every path braidd has for the WWID ("add map" takes the
   * orphans; it fails when there is none, which is fine). */
  int orphans = 0;
  for (size_t i = 0; i < live.npaths; i++)
    orphans += !strcmp (live.paths[i].wwid, wwid) && !live.paths[i].map[0];
  if (orphans) {
    struct braid_strbuf cmd = BRAID_STRBUF_INIT;
    char *reply = NULL;
    braid_strbuf_printf (&cmd, "add map %s", wwid);
    int r = vol_ctl (env, braid_strbuf_str (&cmd), &reply, 0);
    braid_strbuf_free (&cmd);
    if (r == 0 && !vol_reply_ok (reply) && !strstr (reply, "no path in no map"))
      fprintf (stderr, "braid: add map %s: %s", wwid, reply);
    free (reply);
    if (r < 0)
      goto out;
  }
  rec.map[0] = 0;
  for (int tries = 0; tries <= a.timeout_s * 5; tries++) {
    if (tries)
      sleep_ms (200);
    vol_live_free (&live);
    if (vol_live_load (env, &live, 0) < 0)
      goto out;
    const struct vol_export *e = vol_live_export (&live, wwid);
    if (e && e->uri[0]) {
      snprintf (rec.map, sizeof rec.map, "%s", e->name);
      snprintf (rec.uri, sizeof rec.uri, "%s", e->uri);
      break;
    }
  }
  if (!rec.map[0]) {
    cli_error ("%s/%s: braidd made no map of WWID %s (is it blacklisted in "
               "multipath.conf?)", rec.storage, rec.volume, wwid);
    goto out;
  }
  vol_fault ("activate:after-map");
  int total, active;
  vol_live_count (&live, wwid, &total, &active);
  if (!rec.applied.multipath && total > 1)
    /* The map takes every path braidd has to the LUN: another volume's
     * sessions to the same target reach it through more portals. */
    fprintf (stderr, "braid: %s/%s: --multipath 0, but map %s has %d paths: other "
             "volumes hold sessions to %s through more portals\n", rec.storage,
             rec.volume, rec.map, total, rec.target);

  /* Sessions an interrupted run opened for portals no longer asked. */
  if (have_old && strcmp (old.state, "active"))
    logout_unused (env, &live, &old, &rec.applied);

  if (strcmp (rec.state, "active") || !rec.activated[0]) {
    snprintf (rec.state, sizeof rec.state, "active");
    vol_now (rec.activated, sizeof rec.activated);
  }
  if (vol_record_write (env, &rec) < 0)
    goto out;
  printf ("%s\n", rec.uri);
  ret = 0;
out:
  if (ret && fresh) {
    /* A failed activation leaves nothing behind (no guest was given the
     * URI); if even that fails, the record says "activating" and the
     * next activate or deactivate finishes the job. */
    char map[256];
    fprintf (stderr, "braid: %s/%s: activation failed; undoing it\n", rec.storage,
             rec.volume);
    vol_live_free (&live);
    if (vol_live_load (env, &live, 0) == 0)
      undo (env, &rec, &live, 1, 0, map, sizeof map);
  }
  vol_live_free (&live);
  close (lockfd);
  return ret;
}

/* No record: the map of target/lun, if braid activate's sessions carry
 * it and no record claims its WWID, goes (check's "map without record"). */
static int
deactivate_unrecorded (struct cli_env *env, const struct vol_args *a,
                       struct vol_record *rec, const struct vol_live *live)
{
  snprintf (rec->target, sizeof rec->target, "%s", a->target);
  rec->lun = a->lun;
  for (size_t i = 0; i < live->npaths && rec->applied.n < VOL_MAX_PORTALS; i++) {
    const struct vol_path *p = &live->paths[i];
    const struct vol_node *node = vol_live_node (live, p->portal, p->target);
    if (strcmp (p->target, a->target) || p->lun != a->lun || !node
        || strcmp (node->tag, VOL_TAG))
      continue;
    snprintf (rec->applied.p[rec->applied.n++], sizeof rec->applied.p[0], "%s", p->portal);
    snprintf (rec->wwid, sizeof rec->wwid, "%s", p->wwid);
  }
  rec->applied.multipath = 1;
  if (!rec->applied.n || !rec->wwid[0])
    return 0;
  if (wwid_used_elsewhere (env, rec, rec->wwid)) {
    fprintf (stderr, "braid: %s lun %d (WWID %s) belongs to another volume record; "
             "left alone\n", a->target, a->lun, rec->wwid);
    return 0;
  }
  return 1;
}

int
cli_deactivate (struct cli_env *env, int argc, char **argv)
{
  struct vol_args a;
  struct vol_record rec;
  struct vol_live live = { 0 };
  int lockfd, ret = 1, recorded;
  int rc = begin (env, argc, argv, 0, &a, &rec, &lockfd, &recorded);
  if (rc)
    return rc;
  if (recorded && a.target && (strcmp (a.target, rec.target) || a.lun != rec.lun)) {
    cli_error ("%s/%s is recorded as %s lun %d (%s), not %s lun %d", a.storage,
               a.volume, rec.target, rec.lun, rec.file, a.target, a.lun);
    goto out;
  }
  if (vol_live_load (env, &live, recorded) < 0) {
    if (recorded)
      goto out;
    /* No record, and no braidd: nothing of this volume can be live. */
    printf ("%s/%s: not active\n", a.storage, a.volume);
    ret = 0;
    goto out;
  }
  if (!recorded && !(a.target && deactivate_unrecorded (env, &a, &rec, &live))) {
    printf ("%s/%s: not active\n", a.storage, a.volume);
    ret = 0;
    goto out;
  }
  char map[256];
  if (undo (env, &rec, &live, recorded, a.force, map, sizeof map) < 0)
    goto out;
  if (recorded)
    printf ("%s/%s: deactivated\n", a.storage, a.volume);
  else
    printf ("%s/%s: no record; removed the map %s of %s lun %d\n", a.storage,
            a.volume, map[0] ? map : "(none)", rec.target, rec.lun);
  ret = 0;
out:
  vol_live_free (&live);
  close (lockfd);
  return ret;
}
