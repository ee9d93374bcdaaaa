/* cmd_multipath.c: the multipath(8)-style flags of the braid CLI.
 *
 *   braid [--config F] [--config-dir D] -t
 *       print the merged configuration exactly like `multipath -t`
 *       (warnings on stderr in multipath-tools' words, each naming its
 *       file and line; exit 1 if the configuration is refused);
 *   braid [--config F] [--config-dir D] -T [key=value...]
 *       effective settings, and where each comes from, for a path
 *       described by vendor=, product=, revision=, wwid=, protocol=
 *       (default scsi:iscsi), devnode=, tpgs= (ALUA support, 0..3);
 *       for now from the configuration only, no live path is consulted;
 *   -ll -l -a -w -W -d -f -F -r -c -u -i need the daemon (not yet).
 *
 * The configuration options come before the multipath flag, like every
 * braid global option.  Diagnostics at the level `multipath` shows by
 * default (its -v2) are printed; each extra -v shows one level more.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/mpconf.h"
#include "cli.h"

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

static int
cmd_settings (struct cli_env *env, int level, int argc, char **argv)
{
  struct braid_mpconf_path_id id = { .protocol = "scsi:iscsi", .tpgs = -1 };
  struct braid_mpconf_settings s;
  struct braid_mpconf *conf;
  char val[512];

  for (int i = 0; i < argc; i++)
    {
      char *eq = strchr (argv[i], '=');
      const char *v = eq ? eq + 1 : NULL;
      size_t n = eq ? (size_t) (eq - argv[i]) : 0;

      if (!eq)
        goto usage;
      if (n == 6 && strncmp (argv[i], "vendor", n) == 0)
        id.vendor = v;
      else if (n == 7 && strncmp (argv[i], "product", n) == 0)
        id.product = v;
      else if (n == 8 && strncmp (argv[i], "revision", n) == 0)
        id.revision = v;
      else if (n == 4 && strncmp (argv[i], "wwid", n) == 0)
        id.wwid = v;
      else if (n == 8 && strncmp (argv[i], "protocol", n) == 0)
        id.protocol = v;
      else if (n == 7 && strncmp (argv[i], "devnode", n) == 0)
        id.devnode = v;
      else if (n == 4 && strncmp (argv[i], "tpgs", n) == 0)
        id.tpgs = atoi (v);
      else
        goto usage;
    }
  if (id.devnode && strncmp (id.devnode, "ip-", 3) == 0)
    id.flags |= BRAID_MPCONF_PATH_BRAID;

  if (!(conf = load (env, level)))
    return 1;
  if (braid_mpconf_resolve (conf, &id, &s) < 0)
    {
      braid_mpconf_free (conf);
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
  return 0;

usage:
  cli_error ("-T takes vendor=, product=, revision=, wwid=, protocol=, "
             "devnode=, tpgs= arguments");
  return 2;
}

int
cli_multipath (struct cli_env *env, int argc, char **argv)
{
  static const char *const daemon_flags[] = {
    "-ll", "-l", "-a", "-w", "-W", "-d", "-f", "-F", "-r", "-c", "-u", "-i",
    "-C", "-q", NULL
  };
  int level = BRAID_LOG_NOTICE + (env->verbose > 0 ? env->verbose : 0);
  int i = 0;

  /* tolerate the command word itself in argv[0] */
  if (argc > 0 && argv[0][0] != '-')
    i = 1;
  for (; i < argc; i++)
    {
      const char *a = argv[i];

      if (strcmp (a, "-t") == 0)
        return cmd_dump (env, level);
      if (strcmp (a, "-T") == 0)
        return cmd_settings (env, level, argc - i - 1, argv + i + 1);
      if (strncmp (a, "-v", 2) == 0)
        {
          /* multipath's -v N: 2 is the default level */
          const char *n = a[2] ? a + 2 : (i + 1 < argc ? argv[++i] : "2");
          level = atoi (n) + 1;
          continue;
        }
      for (int k = 0; daemon_flags[k]; k++)
        if (strcmp (a, daemon_flags[k]) == 0)
          {
            cli_error ("%s needs braidd (not yet implemented)", a);
            return 1;
          }
      cli_error ("unknown multipath option '%s'", a);
      return 2;
    }
  cli_error ("which multipath operation? (-t, -T)");
  return 2;
}
