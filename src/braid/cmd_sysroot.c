/* cmd_sysroot.c: "braid sysroot DIR [--only MAP...]", the installer's
 * last multipath step.
 *
 * Anaconda writes /mnt/sysimage/etc/multipath.conf and copies
 * /etc/multipath/wwids before dracut builds the initramfs, so that the
 * installed system coalesces the devices it was installed on; ESI asks the
 * admin to leave only the boot volume's WWID in wwids and bindings.  This
 * command does both from braidd's live maps: DIR/etc/multipath.conf (the
 * admin's defaults that shape names and claiming, a multipaths entry per
 * map so every name survives, and for --only a blacklist of every WWID
 * with an exception per chosen map), DIR/etc/multipath/wwids and
 * DIR/etc/multipath/bindings in multipath-tools' formats (written by
 * lib/mpconf).  Maps are named as every other command names them
 * (braid_map_ref_resolve): alias, WWID, disk/by-id/scsi-<wwid>,
 * /dev/mapper/<alias>.  Everything is checked before the first file is
 * written; each file is replaced atomically.
 */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "braid/ctl.h"
#include "braid/mpconf.h"
#include "braid/mpstate.h"
#include "cli.h"

struct sr_map {
  const char *name, *wwid;          /* owned by the parsed JSON */
  bool chosen;
};

static void
sr_map_get (const void *table, size_t i, const char **name, const char **wwid)
{
  const struct sr_map *m = table;

  *name = m[i].name;
  *wwid = m[i].wwid;
}

static void
usage (void)
{
  fprintf (stderr,
           "usage: braid sysroot DIR [--only MAP...]\n"
           "  writes DIR/etc/multipath.conf, DIR/etc/multipath/wwids and\n"
           "  DIR/etc/multipath/bindings for braidd's maps (only MAP... with\n"
           "  --only); MAP is an alias, a WWID, disk/by-id/scsi-<wwid> or\n"
           "  /dev/mapper/<alias>\n");
}

/* braidd's maps from "show maps json".  Returns the count (the array in
 * *out, names pointing into *json, which the caller puts) or -1 after
 * printing why. */
static long
get_maps (struct cli_env *env, json_object **json, struct sr_map **out)
{
  char *reply = NULL;
  json_object *maps;
  size_t n;

  *json = NULL;
  *out = NULL;
  if (cli_ctl_ask (env, "show maps json", &reply, "sysroot", false) < 0)
    return -1;
  *json = json_tokener_parse (reply);
  if (!*json || !json_object_object_get_ex (*json, "maps", &maps)
      || !json_object_is_type (maps, json_type_array))
    {
      cli_error ("sysroot: braidd's \"show maps json\" reply is no map "
                 "list: %.60s", reply);
      free (reply);
      return -1;
    }
  free (reply);
  n = json_object_array_length (maps);
  *out = calloc (n ? n : 1, sizeof **out);
  if (!*out)
    {
      cli_error ("out of memory");
      return -1;
    }
  for (size_t i = 0; i < n; i++)
    {
      json_object *m = json_object_array_get_idx (maps, i), *v;

      if (json_object_object_get_ex (m, "name", &v))
        (*out)[i].name = json_object_get_string (v);
      if (json_object_object_get_ex (m, "uuid", &v))
        (*out)[i].wwid = json_object_get_string (v);
      if (!(*out)[i].name || !(*out)[i].wwid)
        {
          cli_error ("sysroot: braidd listed a map without name or uuid");
          return -1;
        }
    }
  return (long) n;
}

/* A value as multipath.conf takes it: quoted when it is empty or holds a
 * blank, a quote, a comment sign or a brace, which the lexer would split
 * on. */
static void
put_value (struct braid_strbuf *b, const char *v)
{
  if (*v != '\0' && strpbrk (v, " \t\"#!{}") == NULL)
    {
      braid_strbuf_puts (b, v);
      return;
    }
  braid_strbuf_puts (b, "\"");
  for (const char *p = v; *p; p++)
    {
      braid_strbuf_add (b, p, 1);
      if (*p == '"')                /* multipath.conf doubles a quote */
        braid_strbuf_add (b, p, 1);
    }
  braid_strbuf_puts (b, "\"");
}

/* "^<wwid>$" with the regex metacharacters escaped, so the exception
 * matches this WWID and no longer one that merely contains it. */
static void
put_wwid_regex (struct braid_strbuf *b, const char *wwid)
{
  braid_strbuf_puts (b, "\"^");
  for (const char *p = wwid; *p; p++)
    {
      if (strchr (".[]()*+?{}|^$\\", *p))
        braid_strbuf_puts (b, "\\");
      braid_strbuf_add (b, p, 1);
      if (*p == '"')
        braid_strbuf_add (b, p, 1);
    }
  braid_strbuf_puts (b, "$\"");
}

/* The defaults section: user_friendly_names and find_multipaths always
 * (they decide names and which devices the installed system claims),
 * then every other setting the admin's defaults section sets. */
static void
put_defaults (struct braid_strbuf *b, const struct braid_mpconf_settings *s)
{
  char val[512];

  braid_strbuf_puts (b, "defaults {\n");
  for (int id = 0; id < BRAID_MPS__COUNT; id++)
    {
      bool always = id == BRAID_MPS_USER_FRIENDLY_NAMES
                    || id == BRAID_MPS_FIND_MULTIPATHS;

      if (!always && s->v[id].src != BRAID_MPCONF_SRC_DEFAULTS)
        continue;
      int len = braid_mpconf_setting_format (s, id, val, sizeof val);

      if (len <= 0 || (size_t) len >= sizeof val)
        continue;
      braid_strbuf_printf (b, "\t%s ", braid_mpconf_setting_name (id));
      put_value (b, val);
      braid_strbuf_puts (b, "\n");
    }
  braid_strbuf_puts (b, "}\n");
}

static char *
conf_text (const struct sr_map *maps, size_t n, bool only,
           const struct braid_mpconf_settings *s)
{
  struct braid_strbuf b = BRAID_STRBUF_INIT;

  braid_strbuf_puts (&b, "# multipath.conf written by braid sysroot from "
                         "braidd's maps:");
  for (size_t i = 0; i < n; i++)
    if (maps[i].chosen)
      braid_strbuf_printf (&b, " %s", maps[i].name);
  braid_strbuf_puts (&b, "\n# The installed system coalesces exactly "
                         "these; wwids and bindings are in\n"
                         "# /etc/multipath.  Keep both in the initramfs "
                         "(dracut --add multipath).\n");
  put_defaults (&b, s);
  if (only)
    {
      braid_strbuf_puts (&b, "blacklist {\n\twwid \".*\"\n}\n"
                             "blacklist_exceptions {\n");
      for (size_t i = 0; i < n; i++)
        if (maps[i].chosen)
          {
            braid_strbuf_puts (&b, "\twwid ");
            put_wwid_regex (&b, maps[i].wwid);
            braid_strbuf_puts (&b, "\n");
          }
      braid_strbuf_puts (&b, "}\n");
    }
  braid_strbuf_puts (&b, "multipaths {\n");
  for (size_t i = 0; i < n; i++)
    {
      if (!maps[i].chosen)
        continue;
      braid_strbuf_puts (&b, "\tmultipath {\n\t\twwid ");
      put_value (&b, maps[i].wwid);
      braid_strbuf_puts (&b, "\n");
      if (strcmp (maps[i].name, maps[i].wwid) != 0)
        {
          braid_strbuf_puts (&b, "\t\talias ");
          put_value (&b, maps[i].name);
          braid_strbuf_puts (&b, "\n");
        }
      braid_strbuf_puts (&b, "\t}\n");
    }
  braid_strbuf_puts (&b, "}\n");
  return braid_strbuf_steal (&b);
}

/* mkdir with 'mode' unless it exists as a directory. */
static int
make_dir (const char *path, mode_t mode)
{
  struct stat st;

  if (mkdir (path, mode) == 0)
    return chmod (path, mode) == 0 ? 0 : -1;   /* whatever the umask */
  if (errno == EEXIST && stat (path, &st) == 0 && S_ISDIR (st.st_mode))
    return 0;
  if (errno == EEXIST)
    errno = ENOTDIR;
  return -1;
}

/* A name multipath-tools reads back from the bindings file, and the only
 * kind it ever writes there: alias_prefix + letters. */
static bool
friendly (const struct sr_map *m, const char *prefix)
{
  return strcmp (m->name, m->wwid) != 0
         && braid_alias_scan (m->name, prefix ? prefix : "mpath") > 0;
}

static int
write_files (const char *dir, const struct sr_map *maps, size_t n,
             const char *text, const char *prefix)
{
  char etc[4096], mpdir[4096], conf[4096], wwids[4096], bindings[4096];
  const char **wv = calloc (n ? n : 1, sizeof *wv);
  struct braid_binding *bv = calloc (n ? n : 1, sizeof *bv);
  struct braid_wwids *w = NULL;
  struct braid_bindings *bd = NULL;
  size_t nw = 0, nb = 0;
  int rc = 1;

  if (!wv || !bv)
    {
      cli_error ("out of memory");
      goto out;
    }
  if (snprintf (bindings, sizeof bindings, "%s/etc/multipath/bindings", dir)
      >= (int) sizeof bindings)
    {
      cli_error ("sysroot: %s: name too long", dir);
      goto out;
    }
  snprintf (etc, sizeof etc, "%s/etc", dir);
  snprintf (mpdir, sizeof mpdir, "%s/etc/multipath", dir);
  snprintf (conf, sizeof conf, "%s/etc/multipath.conf", dir);
  snprintf (wwids, sizeof wwids, "%s/etc/multipath/wwids", dir);
  for (size_t i = 0; i < n; i++)
    if (maps[i].chosen)
      {
        wv[nw++] = maps[i].wwid;
        if (friendly (&maps[i], prefix))
          bv[nb++] = (struct braid_binding) { maps[i].name, maps[i].wwid };
      }
  if (make_dir (etc, 0755) < 0 || make_dir (mpdir, 0755) < 0)
    {
      cli_error ("sysroot: cannot create %s: %s", mpdir, strerror (errno));
      goto out;
    }
  if (cli_conf_write_text (conf, text, NULL) < 0)
    goto out;
  w = braid_wwids_new (wwids);
  bd = braid_bindings_new (bindings);
  if (!w || !bd)
    {
      cli_error ("out of memory");
      goto out;
    }
  if (braid_wwids_reset (w, wv, nw) < 0)
    {
      cli_error ("sysroot: %s", braid_wwids_get_error (w));
      goto out;
    }
  if (braid_bindings_reset (bd, bv, nb) < 0)
    {
      cli_error ("sysroot: %s", braid_bindings_get_error (bd));
      goto out;
    }
  printf ("%s\n%s\n%s\n", conf, wwids, bindings);
  rc = fflush (stdout) == 0 ? 0 : 1;

out:
  braid_wwids_free (w);
  braid_bindings_free (bd);
  free (wv);
  free (bv);
  return rc;
}

int
cli_sysroot (struct cli_env *env, int argc, char **argv)
{
  const char *dir = NULL;
  const char **only = calloc ((size_t) argc + 1, sizeof *only);
  size_t nonly = 0;
  bool in_only = false, any_only = false;
  json_object *json = NULL;
  struct sr_map *maps = NULL;
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_settings s;
  struct braid_mpconf_path_id id = { .protocol = "scsi:iscsi", .tpgs = -1 };
  char *text = NULL;
  struct stat st;
  long n;
  int rc = 1;

  if (!only)
    {
      cli_error ("out of memory");
      return 1;
    }
  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];

      if (strcmp (a, "--only") == 0)
        in_only = any_only = true;
      else if (strncmp (a, "--only=", 7) == 0)
        {
          any_only = true;
          in_only = false;
          only[nonly++] = a + 7;
        }
      else if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0)
        {
          usage ();
          free (only);
          return 0;
        }
      else if (a[0] == '-' && a[1] == '-')
        {
          cli_error ("sysroot: unknown option %s", a);
          usage ();
          free (only);
          return 2;
        }
      else if (in_only)
        only[nonly++] = a;
      else if (!dir)
        dir = a;
      else
        {
          cli_error ("sysroot: one DIR only (\"%s\" too; maps go after "
                     "--only)", a);
          free (only);
          return 2;
        }
    }
  if (!dir || (any_only && !nonly))
    {
      cli_error (dir ? "sysroot: --only needs at least one map"
                     : "sysroot: which DIR?");
      usage ();
      free (only);
      return 2;
    }
  if (stat (dir, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      int e = errno;

      cli_error ("sysroot: %s: %s", dir,
                 stat (dir, &st) < 0 ? strerror (e) : "not a directory");
      free (only);
      return 1;
    }

  n = get_maps (env, &json, &maps);
  if (n < 0)
    goto out;
  for (size_t i = 0; i < nonly; i++)
    {
      long k = braid_map_ref_resolve (only[i], (size_t) n, sr_map_get, maps);

      if (k < 0)
        {
          cli_error ("sysroot: no map '%s' in braidd (it has %ld map%s); "
                     "nothing written", only[i], n, n == 1 ? "" : "s");
          goto out;
        }
      maps[k].chosen = true;
    }
  if (!any_only)
    for (long i = 0; i < n; i++)
      maps[i].chosen = true;
  if (n == 0)
    {
      cli_error ("sysroot: braidd has no map; nothing written");
      goto out;
    }

  /* The admin's settings for a device no devices/overrides entry names:
   * what the defaults section (or the built-ins) say. */
  if (!(conf = cli_mpconf_load (env, BRAID_LOG_WARNING)))
    goto out;
  if (braid_mpconf_resolve (conf, &id, &s) < 0)
    {
      cli_error ("sysroot: cannot resolve the default settings");
      goto out;
    }
  text = conf_text (maps, (size_t) n, any_only, &s);
  if (!text)
    {
      cli_error ("out of memory");
      goto out;
    }
  rc = write_files (dir, maps, (size_t) n, text,
                    s.v[BRAID_MPS_ALIAS_PREFIX].str);

out:
  free (text);
  braid_mpconf_free (conf);
  free (maps);
  if (json)
    json_object_put (json);
  free (only);
  return rc;
}
