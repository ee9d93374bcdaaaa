/* cmd_multipath.c: the multipath(8)-style flags of the braid CLI.
 *
 *   -t            the merged configuration exactly like `multipath -t`
 *                 (warnings on stderr in multipath-tools' words, each
 *                 naming its file and line; exit 1 if it is refused);
 *   -T [DEV] [k=v...]  effective settings, and where each comes from,
 *                 for a path described by vendor=, product=, revision=,
 *                 wwid=, protocol= (default scsi:iscsi), devnode=, tpgs=
 *                 (0..3), starting from what braidd knows of DEV (a path,
 *                 or a map's first path) when one is named;
 *   -ll | -l [DEV]  the topology braidd has ("show topology" / "show map
 *                 M topology"); -v1 prints map names only;
 *   -a DEV        add DEV's WWID to the wwids file ("wwid 'W' added");
 *   -w DEV        disable it there ("wwid 'W' removed");
 *   -W            reset the wwids file to the WWIDs of braidd's maps;
 *   -f MAP, -F    remove one map / every map from braidd ("del map M";
 *                 "del maps", fanned out here when braidd lacks it);
 *   -r            "reconfigure all";
 *   -d [DEV]      dry run: the maps braidd's orphan paths would form,
 *                 printed as `multipath -d` prints them ("create: ...").
 *
 * DEV is a map alias, a WWID, disk/by-id/scsi-<wwid> or mapper/<alias>
 * (with or without /dev/), a braid path name (ip-...-lun-N) or its
 * H:C:T:L.  Names are resolved the way multipath resolves them: braidd's
 * maps, then its paths, then the bindings file, then the word itself is
 * taken as a WWID - so a bare WWID needs no daemon.
 *
 * Like `multipath`, which hands -r, -f and -F to multipathd when it runs,
 * these talk to braidd on <run-dir>/braidd.sock with multipathd's command
 * words; braid has no kernel maps to act on without it.
 *
 * The configuration options come before the multipath flag, like every
 * braid global option.  Diagnostics at the level `multipath` shows by
 * default (its -v2) are printed; each extra -v shows one level more, and
 * multipath's own "-v N" after the flag is understood too.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "braid/ctl.h"
#include "braid/mpconf.h"
#include "braid/mpstate.h"
#include "cli.h"
#include "mpath/policy.h"

#define CTL_SOCKET "braidd.sock"
#define CTL_DEFAULT_TIMEOUT_MS 60000

/* ---------------------------------------------------------------------- */
/* configuration (-t, -T)                                                  */
/* ---------------------------------------------------------------------- */

static void
print_diags (const struct braid_mpconf_diags *d, int level)
{
  char line[2048];

  for (size_t i = 0; i < braid_mpconf_diags_count (d); i++)
    {
      const struct braid_mpconf_diag *g = braid_mpconf_diags_get (d, i);

      if (g->level > level)
        continue;
      braid_mpconf_diag_format (g, line, sizeof line);
      fprintf (stderr, "%s\n", line);
    }
}

/* Load the configuration the CLI was pointed at; prints diagnostics.
 * Returns NULL (message printed) if the configuration is refused. */
static struct braid_mpconf *
load (struct cli_env *env, int level)
{
  struct braid_mpconf_load_args args = {
    .config_file = env->config ? env->config : BRAID_MPCONF_DEFAULT_FILE,
    .config_dir = env->config_dir ? env->config_dir
                                  : BRAID_MPCONF_DEFAULT_DIR,
  };
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *diags = NULL;
  int rc = braid_mpconf_load (&args, &conf, &diags);

  print_diags (diags, level);
  braid_mpconf_diags_free (diags);
  if (rc == -ENOMEM)
    cli_error ("out of memory reading the configuration");
  return rc == 0 ? conf : NULL;
}

struct braid_mpconf *
cli_mpconf_load (struct cli_env *env, int level)
{
  return load (env, level);
}

static int
cmd_dump (struct cli_env *env, int level)
{
  struct braid_mpconf *conf = load (env, level);
  int rc;

  if (!conf)
    return 1;
  rc = braid_mpconf_dump (conf, stdout);
  braid_mpconf_free (conf);
  if (rc < 0 || fflush (stdout) != 0)
    {
      cli_error ("writing the configuration: %s", strerror (rc < 0 ? -rc
                                                                  : errno));
      return 1;
    }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* talking to braidd                                                       */
/* ---------------------------------------------------------------------- */

static int
ctl_timeout_ms (void)
{
  const char *s = getenv ("BRAID_CTL_TIMEOUT_MS");
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return CTL_DEFAULT_TIMEOUT_MS;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0 || v > 86400000L)
    return CTL_DEFAULT_TIMEOUT_MS;
  return (int) v;
}

static void
ctl_path (const struct cli_env *env, char *buf, size_t len)
{
  snprintf (buf, len, "%s/%s", env->run_dir ? env->run_dir : "/run/braid",
            CTL_SOCKET);
}

/* Send 'cmd' to braidd.  Returns 0 with *reply (malloc'd; "fail\n" is a
 * reply too), or -errno when braidd could not be asked; then, unless
 * 'quiet', says why, naming 'what' (the flag that needed braidd). */
static int
ctl_ask (const struct cli_env *env, const char *cmd, char **reply,
         const char *what, bool quiet)
{
  char path[4200];
  int rc;

  *reply = NULL;
  ctl_path (env, path, sizeof path);
  rc = braid_ctl_call (path, cmd, ctl_timeout_ms (), reply);
  if (rc >= 0 && strcmp (*reply, BRAID_CTL_PERMISSION_DENY) == 0)
    {
      /* braidd answers only root */
      free (*reply);
      *reply = NULL;
      if (!quiet)
        cli_error ("%s: braidd says: permission deny: need to be root", what);
      return -EACCES;
    }
  if (rc >= 0)
    return 0;
  if (!quiet)
    {
      if (rc == -ETIMEDOUT)
        cli_error ("%s: timeout receiving the reply from braidd at %s", what,
                   path);
      else
        cli_error ("%s needs braidd: cannot reach it at %s: %s", what, path,
                   strerror (-rc));
    }
  return rc;
}

int
cli_ctl_ask (const struct cli_env *env, const char *cmd, char **reply,
             const char *what, bool quiet)
{
  return ctl_ask (env, cmd, reply, what, quiet);
}

/* Append 'w' to 'cmd' double-quoted with the multipath.conf rules (an
 * inner quote doubled), so the daemon's tokenizer gives it back as is. */
static void
add_quoted (struct braid_strbuf *cmd, const char *w)
{
  braid_strbuf_puts (cmd, " \"");
  for (const char *p = w; *p; p++)
    {
      braid_strbuf_add (cmd, p, 1);
      if (*p == '"')
        braid_strbuf_add (cmd, p, 1);
    }
  braid_strbuf_puts (cmd, "\"");
}

/* Send "<verb words> <quoted arg> [<tail>]". */
static int
ctl_ask_arg (const struct cli_env *env, const char *head, const char *arg,
             const char *tail, char **reply, const char *what, bool quiet)
{
  struct braid_strbuf cmd = BRAID_STRBUF_INIT;
  int rc;

  braid_strbuf_puts (&cmd, head);
  add_quoted (&cmd, arg);
  if (tail)
    braid_strbuf_printf (&cmd, " %s", tail);
  if (cmd.err)
    {
      braid_strbuf_free (&cmd);
      *reply = NULL;
      cli_error ("out of memory");
      return -ENOMEM;
    }
  rc = ctl_ask (env, braid_strbuf_str (&cmd), reply, what, quiet);
  braid_strbuf_free (&cmd);
  return rc;
}

/* A reply that means "nothing to show": multipathd turns an empty reply
 * into "ok\n". */
static bool
reply_empty (const char *r)
{
  return r == NULL || *r == '\0' || strcmp (r, "ok\n") == 0;
}

/* The reply multipathd gives to a command it has no handler for: the
 * help text. */
static bool
reply_is_help (const char *r)
{
  return r != NULL && strstr (r, "CLI commands reference:\n") != NULL;
}

/* ---------------------------------------------------------------------- */
/* braidd's maps and paths, from raw formats                               */
/* ---------------------------------------------------------------------- */

/* Fields are separated by ASCII's unit separator (0x1f), which no name,
 * WWID or INQUIRY string holds; inside the quoted format word the
 * daemon's tokenizer keeps it as it is. */
#define SEP '\x1f'
#define MAPS_FORMAT "%n\x1f%w"
#define PATHS_FORMAT "%d\x1f%i\x1f%m\x1f%p\x1f%z\x1f%n\x1f%S\x1f%s\x1f%w"

struct mp_map {
  char *name, *wwid;
};

struct mp_path {
  char *dev, *hcil, *map, *prio, *serial, *target, *size, *vpr, *wwid;
};

struct mp_view {
  char *maps_text, *paths_text;     /* the replies, cut in place */
  struct mp_map *maps;
  size_t nmaps;
  struct mp_path *paths;
  size_t npaths;
};

static void
view_free (struct mp_view *v)
{
  free (v->maps_text);
  free (v->paths_text);
  free (v->maps);
  free (v->paths);
  memset (v, 0, sizeof *v);
}

/* Cut 'text' into lines of 'nf' SEP-separated fields (the last takes the
 * rest of the line); 'out' gets an array of nlines * nf pointers.  A line
 * with too few fields is not what was asked for: the lines are still
 * returned, but with -EPROTO (the caller frees *out either way). */
static int
split_lines (char *text, size_t nf, char ***out, size_t *nlines)
{
  size_t cap = 0, n = 0;
  char **f = NULL;
  bool bad = false;

  *out = NULL;
  *nlines = 0;
  if (reply_empty (text))
    return 0;
  for (char *line = text, *next; line && *line; line = next)
    {
      char *fields[16];
      size_t k = 0;

      next = strchr (line, '\n');
      if (next)
        *next++ = '\0';
      fields[k++] = line;
      for (char *p = line; k < nf && (p = strchr (p, SEP)); )
        {
          *p++ = '\0';
          fields[k++] = p;
        }
      if (k < nf)
        {
          bad = true;
          continue;
        }
      if (n == cap)
        {
          size_t ncap = cap ? cap * 2 : 16;
          char **nfp = realloc (f, ncap * nf * sizeof *nfp);

          if (!nfp)
            {
              free (f);
              return -ENOMEM;
            }
          f = nfp;
          cap = ncap;
        }
      memcpy (f + n * nf, fields, nf * sizeof *fields);
      n++;
    }
  *out = f;
  *nlines = n;
  return bad ? -EPROTO : 0;
}

/* Ask braidd for its maps and (if 'paths') its paths.  Returns 0, or
 * -errno (message printed unless 'quiet'; -EPROTO for a "fail" reply). */
static int
view_get (const struct cli_env *env, struct mp_view *v, bool paths,
          const char *what, bool quiet)
{
  char **f = NULL;
  size_t n;
  int rc;

  memset (v, 0, sizeof *v);
  rc = ctl_ask (env, "show maps raw format \"" MAPS_FORMAT "\"",
                &v->maps_text, what, quiet);
  if (rc < 0)
    return rc;
  if (strcmp (v->maps_text, "fail\n") == 0 || reply_is_help (v->maps_text))
    {
      if (!quiet)
        cli_error ("%s: braidd cannot list its maps", what);
      view_free (v);
      return -EPROTO;
    }
  if ((rc = split_lines (v->maps_text, 2, &f, &n)) < 0)
    goto bad;
  v->maps = calloc (n ? n : 1, sizeof *v->maps);
  if (!v->maps)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    v->maps[i] = (struct mp_map) { f[2 * i], f[2 * i + 1] };
  v->nmaps = n;
  free (f);
  f = NULL;
  if (!paths)
    return 0;

  rc = ctl_ask (env, "show paths raw format \"" PATHS_FORMAT "\"",
                &v->paths_text, what, quiet);
  if (rc < 0)
    {
      view_free (v);
      return rc;
    }
  if (strcmp (v->paths_text, "fail\n") == 0 || reply_is_help (v->paths_text))
    {
      if (!quiet)
        cli_error ("%s: braidd cannot list its paths", what);
      view_free (v);
      return -EPROTO;
    }
  if ((rc = split_lines (v->paths_text, 9, &f, &n)) < 0)
    goto bad;
  v->paths = calloc (n ? n : 1, sizeof *v->paths);
  if (!v->paths)
    goto nomem;
  for (size_t i = 0; i < n; i++)
    {
      char **l = f + 9 * i;

      v->paths[i] = (struct mp_path) { l[0], l[1], l[2], l[3], l[4], l[5],
                                       l[6], l[7], l[8] };
    }
  v->npaths = n;
  free (f);
  return 0;

bad:
  if (rc == -EPROTO)
    {
      free (f);
      if (!quiet)
        cli_error ("%s: braidd's reply is not the list asked for", what);
      view_free (v);
      return rc;
    }
nomem:
  free (f);
  view_free (v);
  if (!quiet)
    cli_error ("out of memory");
  return -ENOMEM;
}

static void
view_map_get (const void *table, size_t i, const char **name,
              const char **wwid)
{
  const struct mp_map *maps = table;

  *name = maps[i].name;
  *wwid = maps[i].wwid;
}

/* braidd's map that 'ref' names (alias, WWID, by-id or mapper form). */
static const struct mp_map *
view_map_by_ref (const struct mp_view *v, const char *ref)
{
  long i = braid_map_ref_resolve (ref, v->nmaps, view_map_get, v->maps);

  return i >= 0 ? &v->maps[i] : NULL;
}

static const struct mp_map *
view_map_by_wwid (const struct mp_view *v, const char *wwid)
{
  for (size_t i = 0; i < v->nmaps; i++)
    if (strcmp (v->maps[i].wwid, wwid) == 0)
      return &v->maps[i];
  return NULL;
}

static const struct mp_path *
view_path (const struct mp_view *v, const char *name)
{
  for (size_t i = 0; i < v->npaths; i++)
    if (strcmp (v->paths[i].dev, name) == 0
        || strcmp (v->paths[i].hcil, name) == 0)
      return &v->paths[i];
  return NULL;
}

/* ---------------------------------------------------------------------- */
/* DEV arguments                                                           */
/* ---------------------------------------------------------------------- */

/* A braid path name or an H:C:T:L: only braidd can say which WWID. */
static bool
looks_like_path (const char *w)
{
  unsigned a, b, c, d;
  char extra;

  if (strncmp (w, "ip-", 3) == 0)
    return true;
  return sscanf (w, "%u:%u:%u:%u%c", &a, &b, &c, &d, &extra) == 4;
}

static bool
wwid_ok (const char *w)
{
  size_t n = strlen (w);

  return n > 0 && n < BRAID_WWID_SIZE && !strchr (w, '/')
         && !strchr (w, '\n');
}

/* The WWID the bindings file gives alias 'w', copied to out. */
static bool
bindings_lookup (const struct cli_env *env, const char *w, char *out,
                 size_t len)
{
  struct braid_bindings *b = braid_bindings_new (env->bindings);
  const char *wwid;
  bool found = false;

  if (!b)
    return false;
  if (braid_bindings_load (b, NULL, 0, BRAID_BINDINGS_READ_ONLY) == 0
      && (wwid = braid_bindings_wwid_for_alias (b, w)) != NULL)
    {
      snprintf (out, len, "%s", wwid);
      found = true;
    }
  braid_bindings_free (b);
  return found;
}

/* Resolve a DEV argument to a WWID (multipath's get_refwwid): a map of
 * braidd by name, a path of braidd by name or H:C:T:L, a map by WWID, the
 * bindings file, and finally the word itself.  'v' may be NULL (braidd not
 * reachable).  Returns 0, or 1 after printing why not. */
static int
resolve_wwid (const struct cli_env *env, const struct mp_view *v,
              const char *dev, char *out, size_t len)
{
  const char *w;
  int kind = braid_map_ref_parse (dev, &w);
  bool by_id = kind == BRAID_MAP_REF_WWID;
  const struct mp_map *m;
  const struct mp_path *p;

  if (kind < 0)
    {
      cli_error ("'%s' is not a valid argument", dev);
      return 1;
    }
  if (v && (m = view_map_by_ref (v, dev)) != NULL)
    {
      snprintf (out, len, "%s", m->wwid);
      return 0;
    }
  if (!by_id && v)
    {
      if ((p = view_path (v, w)) != NULL)
        {
          snprintf (out, len, "%s", p->wwid);
          return 0;
        }
    }
  if (!by_id && bindings_lookup (env, w, out, len))
    return 0;
  if (!by_id && looks_like_path (w))
    {
      if (v)
        cli_error ("'%s': braidd has no such path", dev);
      else
        cli_error ("'%s' is a path: braidd must run to name its WWID", dev);
      return 1;
    }
  if (!wwid_ok (w))
    {
      cli_error ("'%s' is not a valid argument", dev);
      return 1;
    }
  snprintf (out, len, "%s", w);
  return 0;
}

/* ---------------------------------------------------------------------- */
/* wwids file: -a, -w, -W                                                  */
/* ---------------------------------------------------------------------- */

static void
wwids_log (void *opaque, int level, const char *msg)
{
  (void) opaque;
  (void) level;
  fprintf (stderr, "%s\n", msg);
}

static struct braid_wwids *
wwids_open (const struct cli_env *env, int level)
{
  struct braid_wwids *w = braid_wwids_new (env->wwids);

  if (!w)
    cli_error ("%s: %s", env->wwids, strerror (errno));
  else
    braid_wwids_set_log_fn (w, wwids_log, NULL, level);
  return w;
}

static int
cmd_wwid (struct cli_env *env, int level, const char *dev, bool add)
{
  struct mp_view v;
  char wwid[BRAID_WWID_SIZE];
  struct braid_wwids *w;
  bool have_view;
  int rc;

  if (!dev)
    {
      cli_error ("the %s option requires a device", add ? "-a" : "-w");
      return 1;
    }
  /* braidd names paths and maps; without it a WWID or a binding will do */
  have_view = view_get (env, &v, true, add ? "-a" : "-w", true) == 0;
  rc = resolve_wwid (env, have_view ? &v : NULL, dev, wwid, sizeof wwid);
  if (have_view)
    view_free (&v);
  if (rc)
    return 1;
  if (!(w = wwids_open (env, level)))
    return 1;
  rc = add ? braid_wwids_add (w, wwid) : braid_wwids_remove (w, wwid);
  if (add && rc >= 0)
    printf ("wwid '%s' added\n", wwid);
  else if (add)
    {
      printf ("failed adding '%s' to wwids file\n", wwid);
      cli_error ("%s: %s", env->wwids, braid_wwids_get_error (w));
    }
  else if (rc == 1)
    printf ("wwid '%s' removed\n", wwid);
  else if (rc == 0)
    printf ("wwid '%s' not in wwids file\n", wwid);
  else
    cli_error ("cannot remove '%s' from %s: %s", wwid, env->wwids,
               braid_wwids_get_error (w));
  braid_wwids_free (w);
  return rc < 0 ? 1 : 0;
}

static int
cmd_reset_wwids (struct cli_env *env, int level)
{
  struct mp_view v;
  struct braid_wwids *w;
  const char **list;
  int rc;

  if (view_get (env, &v, false, "-W", false) < 0)
    return 1;
  list = calloc (v.nmaps ? v.nmaps : 1, sizeof *list);
  if (!list || !(w = wwids_open (env, level)))
    {
      if (!list)
        cli_error ("out of memory");
      free (list);
      view_free (&v);
      return 1;
    }
  for (size_t i = 0; i < v.nmaps; i++)
    list[i] = v.maps[i].wwid;
  rc = braid_wwids_reset (w, list, v.nmaps);
  if (rc == 0)
    printf ("successfully reset wwids\n");
  else
    cli_error ("cannot reset %s: %s", env->wwids, braid_wwids_get_error (w));
  braid_wwids_free (w);
  free (list);
  view_free (&v);
  return rc == 0 ? 0 : 1;
}

/* ---------------------------------------------------------------------- */
/* -ll / -l                                                                */
/* ---------------------------------------------------------------------- */

static int
print_reply (const char *reply)
{
  if (reply_empty (reply))
    return 0;
  fputs (reply, stdout);
  if (fflush (stdout) != 0)
    {
      cli_error ("writing the reply: %s", strerror (errno));
      return 1;
    }
  return 0;
}

static int
cmd_list (struct cli_env *env, int verbosity, const char *dev, bool lng)
{
  const char *what = lng ? "-ll" : "-l";
  const struct mp_map *m = NULL;
  struct mp_view v;
  char wwid[BRAID_WWID_SIZE];
  char *reply = NULL;
  int rc = 0;

  if (view_get (env, &v, dev != NULL, what, false) < 0)
    return 1;
  if (dev)
    {
      if (resolve_wwid (env, &v, dev, wwid, sizeof wwid))
        {
          view_free (&v);
          return 1;
        }
      /* like multipath: a name that is no map shows nothing */
      if (!(m = view_map_by_wwid (&v, wwid)))
        {
          view_free (&v);
          return 0;
        }
    }
  if (verbosity <= 0)
    ;
  else if (verbosity == 1)
    {
      for (size_t i = 0; i < v.nmaps; i++)
        if (!m || m == &v.maps[i])
          printf ("%s\n", v.maps[i].name);
    }
  else if (m)
    {
      if (ctl_ask_arg (env, "show map", m->wwid, "topology", &reply, what,
                       false) < 0)
        rc = 1;
      else if (strcmp (reply, "fail\n") != 0)
        rc = print_reply (reply);
    }
  else if (ctl_ask (env, "show topology", &reply, what, false) < 0)
    rc = 1;
  else if (strcmp (reply, "fail\n") == 0)
    {
      cli_error ("%s: braidd cannot show its topology", what);
      rc = 1;
    }
  else
    rc = print_reply (reply);
  free (reply);
  view_free (&v);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* -f, -F, -r                                                              */
/* ---------------------------------------------------------------------- */

/* Print a failure reply on stderr without its bare "fail" lines (the
 * explanation is what an admin needs); "fail" alone if that is all. */
static void
print_failure (const char *reply)
{
  const char *r = reply;
  bool said = false;

  while (*r)
    {
      const char *nl = strchr (r, '\n');
      size_t len = nl ? (size_t) (nl - r) : strlen (r);

      if (!(len == 4 && strncmp (r, "fail", 4) == 0))
        {
          fprintf (stderr, "%.*s\n", (int) len, r);
          said = true;
        }
      r += len + (nl ? 1 : 0);
    }
  if (!said)
    fputs ("fail\n", stderr);
}

/* "del map M", retried 'retries' times one second apart while M is busy.
 * Returns 0 (removed), 1 (failed, message printed). */
static int
del_map (struct cli_env *env, const char *name, int retries, const char *what)
{
  for (;;)
    {
      char *reply = NULL;
      bool busy;

      if (ctl_ask_arg (env, "del map", name, NULL, &reply, what, false) < 0)
        return 1;
      if (reply_empty (reply))
        {
          free (reply);
          return 0;
        }
      if (strcmp (reply, "delayed\n") == 0)
        {
          /* multipathd: a deferred remove was scheduled */
          fputs (reply, stdout);
          free (reply);
          return 0;
        }
      busy = strstr (reply, " busy") != NULL || strstr (reply, "in use");
      if (busy && retries-- > 0)
        {
          free (reply);
          sleep (1);
          continue;
        }
      if (busy)
        fprintf (stderr, "%s: map in use\n", name);
      else if (strcmp (reply, "fail\n") == 0)
        fprintf (stderr, "%s: cannot remove the map\n", name);
      else
        print_failure (reply);
      free (reply);
      return 1;
    }
}

static int
cmd_flush_one (struct cli_env *env, const char *dev, int retries)
{
  struct mp_view v;
  const struct mp_map *m;
  bool by_id;
  const char *w;
  int rc;

  if (!dev)
    {
      cli_error ("the -f option requires a map name to remove");
      return 1;
    }
  if (view_get (env, &v, false, "-f", false) < 0)
    return 1;
  by_id = braid_map_ref_parse (dev, &w) == BRAID_MAP_REF_WWID;
  m = view_map_by_ref (&v, dev);
  if (!m)
    {
      if (!by_id && looks_like_path (w))
        cli_error ("the -f option requires a map name to remove");
      else
        fprintf (stderr, "%s is not a multipath device\n", dev);
      view_free (&v);
      return 1;
    }
  rc = del_map (env, m->name, retries, "-f");
  view_free (&v);
  return rc;
}

static int
cmd_flush_all (struct cli_env *env, int retries)
{
  struct mp_view v;
  char *reply = NULL;
  int failed = 0;

  if (ctl_ask (env, "del maps", &reply, "-F", false) < 0)
    return 1;
  if (!reply_is_help (reply))
    {
      /* braidd removes them itself */
      int rc = 0;

      if (strcmp (reply, "delayed\n") == 0)
        fputs (reply, stdout);
      else if (!reply_empty (reply))
        {
          print_failure (reply);
          rc = 1;
        }
      free (reply);
      return rc;
    }
  free (reply);
  /* braidd does not know "del maps": one "del map" per map, as
   * multipath's dm_flush_maps goes through every map */
  if (view_get (env, &v, false, "-F", false) < 0)
    return 1;
  for (size_t i = 0; i < v.nmaps; i++)
    failed |= del_map (env, v.maps[i].name, retries, "-F");
  view_free (&v);
  return failed ? 1 : 0;
}

static int
cmd_reconfigure (struct cli_env *env)
{
  char *reply = NULL;
  int rc = 0;

  if (ctl_ask (env, "reconfigure all", &reply, "-r", false) < 0)
    return 1;
  if (!reply_empty (reply))
    {
      /* multipath prints whatever multipathd says beyond "ok" */
      bool failed = strncmp (reply, "fail\n", 5) == 0
                    || strstr (reply, "\nfail\n") != NULL;

      if (failed)
        print_failure (reply);
      else
        fputs (reply, stdout);
      rc = failed ? 1 : 0;
    }
  free (reply);
  return rc;
}

/* ---------------------------------------------------------------------- */
/* -d: dry run                                                             */
/* ---------------------------------------------------------------------- */

/* Aliases the dry run has handed out so far, with braidd's live maps: an
 * id whose alias either holds is taken. */
struct dry_names {
  const struct mp_view *v;
  char (*given)[128];
  size_t ngiven;
};

static bool
dry_alias_taken (void *opaque, const char *alias, const char *wwid)
{
  const struct dry_names *dn = opaque;
  for (size_t i = 0; i < dn->v->nmaps; i++)
    if (strcmp (dn->v->maps[i].name, alias) == 0
        && strcmp (dn->v->maps[i].wwid, wwid) != 0)
      return true;
  for (size_t i = 0; i < dn->ngiven; i++)
    if (strcmp (dn->given[i], alias) == 0)
      return true;
  return false;
}

/* The name braidd would give a new map of 'wwid': the multipaths alias,
 * else with user_friendly_names its binding or the alias it would
 * allocate (the bindings file is only read), else the WWID. */
static void
dry_name (const struct cli_env *env, const struct braid_mpconf_settings *s,
          const char *wwid, struct dry_names *dn, char *out, size_t len)
{
  const char *alias = s->v[BRAID_MPS_ALIAS].str;
  const char *prefix = s->v[BRAID_MPS_ALIAS_PREFIX].str;
  struct braid_bindings *b;

  snprintf (out, len, "%s", wwid);
  if (alias && *alias)
    {
      snprintf (out, len, "%s", alias);
      return;
    }
  if (!s->v[BRAID_MPS_USER_FRIENDLY_NAMES].num)
    return;
  if (!prefix || !*prefix)
    prefix = "mpath";
  b = braid_bindings_new (env->bindings);
  if (!b)
    return;
  if (braid_bindings_load (b, NULL, 0, BRAID_BINDINGS_READ_ONLY) == 0)
    {
      const char *bound = braid_bindings_alias_for_wwid (b, wwid);
      size_t n = braid_bindings_count (b);
      struct braid_binding *tab = calloc (n ? n : 1, sizeof *tab);
      int id;

      if (bound)
        snprintf (out, len, "%s", bound);
      else if (tab)
        {
          for (size_t i = 0; i < n; i++)
            braid_bindings_get (b, i, &tab[i].alias, &tab[i].wwid);
          id = braid_alias_free_id (tab, n, prefix, wwid, dry_alias_taken,
                                    dn);
          if (id > 0)
            braid_alias_format (out, len, prefix, id);
        }
      free (tab);
    }
  braid_bindings_free (b);
}

/* mpconf's find_multipaths numbering to mpstate's. */
static enum braid_find_multipaths
dry_fm (long long v)
{
  switch (v)
    {
    case BRAID_MPCONF_FIND_OFF: return BRAID_FIND_MP_OFF;
    case BRAID_MPCONF_FIND_ON: return BRAID_FIND_MP_ON;
    case BRAID_MPCONF_FIND_GREEDY: return BRAID_FIND_MP_GREEDY;
    case BRAID_MPCONF_FIND_SMART: return BRAID_FIND_MP_SMART;
    default: return BRAID_FIND_MP_STRICT;
    }
}

static void
dry_path_id (const struct mp_path *p, char *vendor, char *product,
             struct braid_mpconf_path_id *id)
{
  const char *comma = strchr (p->vpr, ',');

  snprintf (vendor, 64, "%.*s", comma ? (int) (comma - p->vpr) : 63,
            p->vpr);
  snprintf (product, 64, "%s", comma ? comma + 1 : "");
  memset (id, 0, sizeof *id);
  id->vendor = vendor;
  id->product = product;
  id->wwid = p->wwid;
  id->protocol = "scsi:iscsi";
  id->devnode = p->dev;
  id->flags = BRAID_MPCONF_PATH_BRAID;
  id->tpgs = -1;
}

/* Print one would-be map the way multipath -d does (print_multipath_topology
 * of an ACT_CREATE map that has no dm device yet: sysfs, wp, group status
 * and path dm state are "undef"); path lines padded per map. */
static void
dry_print (const char *name, const char *wwid, const struct mp_path *const *pp,
           size_t n, const struct braid_mpconf_settings *s, int pgpolicy)
{
  const char *sel = s->v[BRAID_MPS_PATH_SELECTOR].str;
  const char *prio = s->v[BRAID_MPS_PRIO].str;
  long long npr = s->v[BRAID_MPS_NO_PATH_RETRY].num;
  struct mp_path_view *views = calloc (n, sizeof *views);
  struct mp_pgroups pg = { 0 };
  /* %i %d %D %t %T %o: braid's orphans are not checked by braidd */
  const char *fixed[3] = { "undef", "undef", "unknown" };
  size_t wi = 0, wd = 0;
  const size_t wD = 3, wt = 5, wT = 5, wo = 7;

  if (!views)
    {
      cli_error ("out of memory");
      return;
    }
  if (!sel || !*sel)
    sel = "service-time 0";
  bool cnst = !prio || !*prio || strcmp (prio, "const") == 0;
  for (size_t i = 0; i < n; i++)
    {
      char *end;
      long pr = strtol (pp[i]->prio, &end, 10);

      views[i].state = MP_STATE_UP;
      views[i].prio = cnst ? 1 : (*end == '\0' && pr >= 0 ? (int) pr
                                                          : MP_PRIO_UNDEF);
      views[i].serial = pp[i]->serial;
      views[i].node_name = pp[i]->target;
      views[i].tpg = -1;
      if (strlen (pp[i]->hcil) > wi)
        wi = strlen (pp[i]->hcil);
      if (strlen (pp[i]->dev) > wd)
        wd = strlen (pp[i]->dev);
    }
  if (mp_group_paths (pgpolicy, views, n, 0, &pg) < 0)
    {
      /* an unknown policy: one group, as multibus */
      mp_group_paths (MP_PGP_MULTIBUS, views, n, 0, &pg);
    }

  if (strcmp (name, wwid) != 0)
    printf ("create: %s (%s) undef %s\n", name, wwid, pp[0]->vpr);
  else
    printf ("create: %s undef %s\n", name, pp[0]->vpr);
  printf ("size=%s features='%s' hwhandler='%s' wp=undef\n", pp[0]->size,
          npr == BRAID_MPCONF_NPR_QUEUE || npr > 0 ? "1 queue_if_no_path"
                                                   : "0",
          prio && strcmp (prio, "alua") == 0 ? "1 alua" : "0");
  for (size_t g = 0; g < pg.ngroups; g++)
    {
      const struct mp_pgroup *grp = &pg.groups[g];
      bool last = g + 1 == pg.ngroups;

      printf ("%s policy='%s' prio=%d status=undef\n",
              last ? "`-+-" : "|-+-", sel, grp->prio);
      for (size_t k = 0; k < grp->npaths; k++)
        {
          const struct mp_path *p = pp[grp->paths[k]];

          printf ("%c %c- %-*s %-*s %-*s %-*s %-*s %-*s\n",
                  last ? ' ' : '|', k + 1 == grp->npaths ? '`' : '|',
                  (int) wi, p->hcil, (int) wd, p->dev, (int) wD, "#:#",
                  (int) wt, fixed[0], (int) wT, fixed[1], (int) wo,
                  fixed[2]);
        }
    }
  mp_pgroups_free (&pg);
  free (views);
}

/* -d -v3: multipath's "paths list" (print_all_paths with its banner and
 * PRINT_PATH_LONG), then, in multipath's -v3 log words, what happens to
 * the maps braidd already has and which paths are their members - the
 * paths an installer must not offer on their own. */
static void
dry_existing (const struct cli_env *env, const struct mp_view *v,
              const char *want)
{
  char *reply = NULL;

  if (ctl_ask (env, "show paths format \"%w %i %d %D %p %t %T %s %o\"",
               &reply, "-d", true) == 0
      && !reply_empty (reply) && strcmp (reply, "fail\n") != 0)
    {
      fputs ("===== paths list =====\n", stdout);
      fputs (reply, stdout);
    }
  free (reply);
  for (size_t i = 0; i < v->nmaps; i++)
    {
      const struct mp_map *m = &v->maps[i];

      if (*want && strcmp (want, m->wwid) != 0)
        continue;
      for (size_t j = 0; j < v->npaths; j++)
        if (strcmp (v->paths[j].map, m->name) == 0)
          fprintf (stderr, "%s: %s: multipath member of %s (%s)\n",
                   v->paths[j].dev, v->paths[j].hcil, m->name, m->wwid);
      fprintf (stderr, "%s: set ACT_NOTHING (map unchanged)\n", m->name);
    }
}

static int
cmd_dry_run (struct cli_env *env, int level, const char *dev,
             bool ignore_wwids, int pgpolicy_flag)
{
  struct braid_mpconf *conf;
  struct braid_wwids *ww = NULL;
  struct mp_view v;
  struct dry_names dn = { 0 };
  char want[BRAID_WWID_SIZE] = "";
  const struct mp_path **group = NULL;
  bool *done = NULL;
  int rc = 1;

  if (!(conf = load (env, level)))
    return 1;
  if (view_get (env, &v, true, "-d", false) < 0)
    {
      braid_mpconf_free (conf);
      return 1;
    }
  if (dev && resolve_wwid (env, &v, dev, want, sizeof want))
    goto out;
  group = calloc (v.npaths ? v.npaths : 1, sizeof *group);
  done = calloc (v.npaths ? v.npaths : 1, sizeof *done);
  dn.v = &v;
  dn.given = calloc (v.npaths ? v.npaths : 1, sizeof *dn.given);
  ww = braid_wwids_new (env->wwids);
  if (!group || !done || !dn.given || !ww)
    {
      cli_error ("out of memory");
      goto out;
    }
  if (level > BRAID_LOG_NOTICE)
    dry_existing (env, &v, want);

  /* orphan paths, one would-be map per WWID, in braidd's path order */
  for (size_t i = 0; i < v.npaths; i++)
    {
      struct braid_mpconf_settings s;
      struct braid_mpconf_path_id id;
      char vendor[64], product[64], name[128], why[256];
      const char *wwid = v.paths[i].wwid;
      size_t n = 0;

      if (done[i] || strcmp (v.paths[i].map, "[orphan]") != 0 || !*wwid
          || view_map_by_wwid (&v, wwid) || (*want && strcmp (want, wwid)))
        continue;
      for (size_t j = i; j < v.npaths; j++)
        {
          if (done[j] || strcmp (v.paths[j].wwid, wwid) != 0
              || strcmp (v.paths[j].map, "[orphan]") != 0)
            continue;
          done[j] = true;
          dry_path_id (&v.paths[j], vendor, product, &id);
          if (braid_mpconf_blacklisted (conf, &id, why, sizeof why) > 0)
            {
              if (level > BRAID_LOG_NOTICE)
                fprintf (stderr, "%s: blacklisted (%s)\n", v.paths[j].dev,
                         why);
              continue;
            }
          group[n++] = &v.paths[j];
        }
      if (!n)
        continue;
      dry_path_id (group[0], vendor, product, &id);
      if (braid_mpconf_resolve (conf, &id, &s) < 0)
        continue;
      if (!*want)
        {
          /* multipath without a device honours find_multipaths */
          enum braid_find_multipaths fm
            = dry_fm (s.v[BRAID_MPS_FIND_MULTIPATHS].num);
          bool listed;

          if (ignore_wwids)
            fm = braid_find_multipaths_ignore_wwids (fm);
          listed = !ignore_wwids && braid_wwids_check (ww, wwid) == 1;
          if (!braid_should_multipath (fm, false, (unsigned) n - 1, listed))
            {
              if (level > BRAID_LOG_NOTICE)
                fprintf (stderr, "%s: %s, skipping (find_multipaths)\n",
                         group[0]->dev, wwid);
              continue;
            }
        }
      dry_name (env, &s, wwid, &dn, name, sizeof name);
      snprintf (dn.given[dn.ngiven++], sizeof dn.given[0], "%s", name);
      dry_print (name, wwid, group, n, &s,
                 pgpolicy_flag ? pgpolicy_flag
                 : (int) s.v[BRAID_MPS_PATH_GROUPING_POLICY].num);
    }
  rc = fflush (stdout) == 0 ? 0 : 1;

out:
  braid_wwids_free (ww);
  free (dn.given);
  free (done);
  free (group);
  view_free (&v);
  braid_mpconf_free (conf);
  return rc;
}

/* -T: the settings for a path described by key=value words, or for a
 * path (or the first path of a map) braidd has, named as DEV. */
static int
cmd_settings (struct cli_env *env, int level, int argc, char **argv)
{
  struct braid_mpconf_path_id id = { .protocol = "scsi:iscsi", .tpgs = -1 };
  struct braid_mpconf_settings s;
  struct braid_mpconf *conf;
  struct mp_view v = { 0 };
  char val[512], vendor[64], product[64];
  const char *dev = NULL;

  for (int i = 0; i < argc; i++)
    if (!strchr (argv[i], '='))
      {
        if (dev)
          goto usage;
        dev = argv[i];
      }
  if (dev)
    {
      /* a live path: braidd knows its vendor, product, WWID and name */
      char wwid[BRAID_WWID_SIZE];
      const struct mp_path *p = NULL;
      const char *w = dev;

      if (view_get (env, &v, true, "-T", false) < 0)
        return 1;
      if (resolve_wwid (env, &v, dev, wwid, sizeof wwid))
        {
          view_free (&v);
          return 1;
        }
      braid_map_ref_parse (dev, &w);
      p = view_path (&v, w);
      for (size_t i = 0; !p && i < v.npaths; i++)
        if (strcmp (v.paths[i].wwid, wwid) == 0)
          p = &v.paths[i];
      if (!p)
        {
          cli_error ("braidd has no path to '%s'", dev);
          view_free (&v);
          return 1;
        }
      dry_path_id (p, vendor, product, &id);
      /* key=value words below still override what braidd says */
    }
  for (int i = 0; i < argc; i++)
    {
      char *eq = strchr (argv[i], '=');
      const char *w = eq ? eq + 1 : NULL;
      size_t n = eq ? (size_t) (eq - argv[i]) : 0;

      if (!eq)
        continue;   /* the DEV */
      if (n == 6 && strncmp (argv[i], "vendor", n) == 0)
        id.vendor = w;
      else if (n == 7 && strncmp (argv[i], "product", n) == 0)
        id.product = w;
      else if (n == 8 && strncmp (argv[i], "revision", n) == 0)
        id.revision = w;
      else if (n == 4 && strncmp (argv[i], "wwid", n) == 0)
        id.wwid = w;
      else if (n == 8 && strncmp (argv[i], "protocol", n) == 0)
        id.protocol = w;
      else if (n == 7 && strncmp (argv[i], "devnode", n) == 0)
        id.devnode = w;
      else if (n == 4 && strncmp (argv[i], "tpgs", n) == 0)
        id.tpgs = atoi (w);
      else
        goto usage;
    }
  if (id.devnode && strncmp (id.devnode, "ip-", 3) == 0)
    id.flags |= BRAID_MPCONF_PATH_BRAID;

  if (!(conf = load (env, level)))
    {
      view_free (&v);
      return 1;
    }
  if (braid_mpconf_resolve (conf, &id, &s) < 0)
    {
      braid_mpconf_free (conf);
      view_free (&v);
      cli_error ("cannot resolve the settings");
      return 1;
    }
  for (int i = 0; i < BRAID_MPS__COUNT; i++)
    {
      braid_mpconf_setting_format (&s, i, val, sizeof val);
      printf ("%-34s %-24s # %s\n", braid_mpconf_setting_name (i),
              s.v[i].src == BRAID_MPCONF_SRC_UNSET ? "-" : val,
              braid_mpconf_source_name (s.v[i].src));
    }
  braid_mpconf_free (conf);
  view_free (&v);
  return 0;

usage:
  view_free (&v);
  cli_error ("-T takes a path or map braidd has, or vendor=, product=, "
             "revision=, wwid=, protocol=, devnode=, tpgs= arguments");
  return 2;
}

/* ---------------------------------------------------------------------- */
/* the flags                                                               */
/* ---------------------------------------------------------------------- */

enum mp_cmd {
  CMD_NONE,
  CMD_LIST_LONG,
  CMD_LIST_SHORT,
  CMD_ADD_WWID,
  CMD_REMOVE_WWID,
  CMD_RESET_WWIDS,
  CMD_FLUSH_ONE,
  CMD_FLUSH_ALL,
  CMD_DRY_RUN,
  CMD_SETTINGS,
  CMD_UNIMPLEMENTED,
};

int
cli_multipath (struct cli_env *env, int argc, char **argv)
{
  static const char *const later[] = { "-c", "-C", "-u", "-U", NULL };
  int level = BRAID_LOG_NOTICE + (env->verbose > 0 ? env->verbose : 0);
  enum mp_cmd cmd = CMD_NONE;
  const char *flag = NULL, *dev = NULL;
  bool force_reload = false, ignore_wwids = false;
  int retries = 0, pgpolicy = 0;
  int i = 0;

  /* tolerate the command word itself in argv[0] */
  if (argc > 0 && argv[0][0] != '-')
    i = 1;
  for (; i < argc; i++)
    {
      const char *a = argv[i];
      enum mp_cmd set = CMD_NONE;

      if (a[0] != '-' || a[1] == '\0')
        {
          if (dev)
            {
              cli_error ("unexpected argument '%s'", a);
              return 2;
            }
          dev = a;
          continue;
        }
      if (strcmp (a, "-t") == 0)
        return cmd_dump (env, level);
      if (strcmp (a, "-T") == 0)
        {
          /* the rest describes the path */
          return cmd_settings (env, level, argc - i - 1, argv + i + 1);
        }
      if (strncmp (a, "-v", 2) == 0)
        {
          /* multipath's -v N: 2 is the default level */
          const char *n = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : "2");
          if (*n < '0' || *n > '9')
            {
              cli_error ("-v takes a verbosity level (0..5)");
              return 2;
            }
          level = atoi (n) + 1;
          continue;
        }
      if (strcmp (a, "-R") == 0 || strcmp (a, "-p") == 0
          || strcmp (a, "-b") == 0)
        {
          if (i + 1 >= argc)
            {
              cli_error ("%s needs a value", a);
              return 2;
            }
          const char *val = argv[++i];
          if (a[1] == 'R')
            retries = atoi (val);
          else if (a[1] == 'b')
            env->bindings = val;
          else if ((pgpolicy = mp_pgpolicy_from_name (val)) < 0)
            {
              cli_error ("'%s' is not a valid policy", val);
              return 2;
            }
          continue;
        }
      if (strcmp (a, "-r") == 0)
        force_reload = true;
      else if (strcmp (a, "-i") == 0)
        ignore_wwids = true;
      else if (strcmp (a, "-q") == 0 || strcmp (a, "-B") == 0)
        ;   /* nothing to allow or protect: braidd owns the maps */
      else if (strcmp (a, "-ll") == 0)
        set = CMD_LIST_LONG;
      else if (strcmp (a, "-l") == 0)
        set = CMD_LIST_SHORT;
      else if (strcmp (a, "-a") == 0)
        set = CMD_ADD_WWID;
      else if (strcmp (a, "-w") == 0)
        set = CMD_REMOVE_WWID;
      else if (strcmp (a, "-W") == 0)
        set = CMD_RESET_WWIDS;
      else if (strcmp (a, "-f") == 0)
        set = CMD_FLUSH_ONE;
      else if (strcmp (a, "-F") == 0)
        set = CMD_FLUSH_ALL;
      else if (strcmp (a, "-d") == 0)
        {
          /* multipath: -d only turns plain map creation into a dry run */
          if (cmd == CMD_NONE)
            {
              cmd = CMD_DRY_RUN;
              flag = a;
            }
          continue;
        }
      else
        {
          for (int k = 0; later[k]; k++)
            if (strcmp (a, later[k]) == 0)
              set = CMD_UNIMPLEMENTED;
          if (set == CMD_NONE)
            {
              cli_error ("unknown multipath option '%s'", a);
              return 2;
            }
        }
      if (set != CMD_NONE)
        {
          cmd = set;
          flag = a;
        }
    }

  switch (cmd)
    {
    case CMD_LIST_LONG:
    case CMD_LIST_SHORT:
      return cmd_list (env, level - 1, dev, cmd == CMD_LIST_LONG);
    case CMD_ADD_WWID:
      return cmd_wwid (env, level, dev, true);
    case CMD_REMOVE_WWID:
      return cmd_wwid (env, level, dev, false);
    case CMD_RESET_WWIDS:
      return cmd_reset_wwids (env, level);
    case CMD_FLUSH_ONE:
      return cmd_flush_one (env, dev, retries);
    case CMD_FLUSH_ALL:
      return cmd_flush_all (env, retries);
    case CMD_DRY_RUN:
      return cmd_dry_run (env, level, dev, ignore_wwids, pgpolicy);
    case CMD_UNIMPLEMENTED:
      cli_error ("%s is not implemented yet", flag);
      return 1;
    case CMD_SETTINGS:
    case CMD_NONE:
      break;
    }
  if (force_reload)
    return cmd_reconfigure (env);
  cli_error ("which multipath operation? (-t, -T, -ll, -l, -a, -w, -W, -f, "
             "-F, -r, -d)");
  return 2;
}
