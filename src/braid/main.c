/* main.c: the braid command line.
 *
 * Global options say where the configuration and state live (the same
 * files multipath-tools uses, so moving to braid changes nothing else);
 * then either a multipath(8)-style flag (-t, -ll, -a ...) or a braid
 * subcommand (discover, inquiry, ...) follows.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void
cli_error (const char *fmt, ...)
{
  va_list ap;

  fputs ("braid: ", stderr);
  va_start (ap, fmt);
  vfprintf (stderr, fmt, ap);
  va_end (ap);
  fputc ('\n', stderr);
}

static const struct {
  const char *name;
  int (*fn) (struct cli_env *env, int argc, char **argv);
  const char *usage;
} commands[] = {
  { "discover", cli_discover, "discover [--iface NAME] [PORTAL...]    SendTargets through each portal (none: braid.conf's san_hosts, via braidd)" },
  { "inquiry", cli_inquiry, "inquiry PORTAL TARGET LUN | URL        identity, size and WWID of a LUN" },
  { "login", cli_login, "login --portal P [--portal P2...] --target IQN   sessions held by braidd" },
  { "logout", cli_logout, "logout [--portal P...] --target IQN    end them" },
  { "show", cli_daemon, "show topology|paths|maps|status|config... multipathd's commands, to braidd" },
  { "list", cli_daemon, NULL },
  { "add", cli_daemon, NULL },
  { "del", cli_daemon, NULL },
  { "remove", cli_daemon, NULL },
  { "fail", cli_daemon, "fail path X | reinstate path X | switch map X group N | reconfigure ..." },
  { "reinstate", cli_daemon, NULL },
  { "switch", cli_daemon, NULL },
  { "switchgroup", cli_daemon, NULL },
  { "reconfigure", cli_daemon, NULL },
  { "resize", cli_daemon, NULL },
  { "suspend", cli_daemon, NULL },
  { "resume", cli_daemon, NULL },
  { "disablequeueing", cli_daemon, NULL },
  { "restorequeueing", cli_daemon, NULL },
  { "activate", cli_activate, "activate --storage ID --volume NAME --target IQN --lun N --portal P...  attach a volume (docs/workflows/activate.md)" },
  { "deactivate", cli_deactivate, "deactivate --storage ID --volume NAME [--force]  detach it" },
  { "check", cli_check, "check                                  volume records vs live maps, stale wwids/bindings" },
  { "status", cli_status, "status                                 braidd's status and every volume" },
  { "nodes", cli_daemon, "nodes | exports                        braidd's sessions (with tags) / NBD exports (JSON)" },
  { "exports", cli_daemon, NULL },
  { "flush", cli_daemon, "flush MAP [force]                      remove a map; force: even with NBD clients on it" },
#ifdef BRAID_HAVE_MULTIPATH
  { "sysroot", cli_sysroot, "sysroot DIR [--only MAP...]             write DIR/etc/multipath.conf, wwids, bindings for braidd's maps" },
#endif
  { "conf", cli_conf, "conf [enable|disable] [--force] ...    write or show a default multipath.conf (mpathconf)" },
};

static void
usage (FILE *f)
{
  fprintf (f,
           "usage: braid [GLOBAL OPTIONS] COMMAND [ARGS]\n"
           "       braid [GLOBAL OPTIONS] -t | -T | -ll | -l | ...   (multipath flags)\n"
           "\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (commands[i].usage)
      fprintf (f, "  %s\n", commands[i].usage);
  fprintf (f,
           "\nglobal options:\n"
           "  --config FILE       multipath.conf (default /etc/multipath.conf)\n"
           "  --config-dir DIR    drop-in directory (default /etc/multipath/conf.d)\n"
           "  --wwids FILE        wwids file (default /etc/multipath/wwids)\n"
           "  --bindings FILE     bindings file (default /etc/multipath/bindings)\n"
           "  --state-dir DIR     braid state (default /var/lib/braid)\n"
           "  --run-dir DIR       sockets (default /run/braid or $BRAID_RUN_DIR)\n"
           "  --chap-file FILE    CHAP credentials (root-only file)\n"
           "  --iface NAME        bind iSCSI sessions to this network interface\n"
           "  --source ADDR       local address iSCSI sessions connect from\n"
           "  -v                  more logging (repeat for more)\n"
           "\nCHAP credentials may also come from BRAID_CHAP_USER, BRAID_CHAP_SECRET,\n"
           "BRAID_CHAP_TARGET_USER and BRAID_CHAP_TARGET_SECRET; never from arguments.\n");
}

/* Take "--name VALUE" or "--name=VALUE" at argv[*i]; returns 1 if matched. */
static int
take_opt (int argc, char **argv, int *i, const char *name, const char **out)
{
  size_t n = strlen (name);

  if (strncmp (argv[*i], name, n) != 0)
    return 0;
  if (argv[*i][n] == '=') {
    *out = argv[*i] + n + 1;
    return 1;
  }
  if (argv[*i][n] != 0)
    return 0;
  if (*i + 1 >= argc) {
    cli_error ("%s needs a value", name);
    exit (2);
  }
  *out = argv[++*i];
  return 1;
}

int
main (int argc, char **argv)
{
  struct cli_env env = {
    .config = "/etc/multipath.conf",
    .config_dir = "/etc/multipath/conf.d",
    .wwids = "/etc/multipath/wwids",
    .bindings = "/etc/multipath/bindings",
    .state_dir = "/var/lib/braid",
    .run_dir = getenv ("BRAID_RUN_DIR") ? getenv ("BRAID_RUN_DIR") : "/run/braid",
  };
  int i;

  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (take_opt (argc, argv, &i, "--config", &env.config)
        || take_opt (argc, argv, &i, "--config-dir", &env.config_dir)
        || take_opt (argc, argv, &i, "--wwids", &env.wwids)
        || take_opt (argc, argv, &i, "--bindings", &env.bindings)
        || take_opt (argc, argv, &i, "--state-dir", &env.state_dir)
        || take_opt (argc, argv, &i, "--run-dir", &env.run_dir)
        || take_opt (argc, argv, &i, "--chap-file", &env.chap_file)
        || take_opt (argc, argv, &i, "--iface", &env.iface)
        || take_opt (argc, argv, &i, "--source", &env.source))
      continue;
    if (strcmp (a, "-v") == 0 || strcmp (a, "--verbose") == 0) {
      env.verbose++;
      continue;
    }
    if (strcmp (a, "-h") == 0 || strcmp (a, "--help") == 0) {
      usage (stdout);
      return 0;
    }
    break;
  }
  if (i >= argc) {
    usage (stderr);
    return 2;
  }
  if (argv[i][0] == '-') {
#ifdef BRAID_HAVE_MULTIPATH
    return cli_multipath (&env, argc - i, argv + i);
#else
    cli_error ("multipath flags are not available in this build");
    return 2;
#endif
  }
  for (size_t c = 0; c < sizeof commands / sizeof commands[0]; c++)
    if (strcmp (argv[i], commands[c].name) == 0)
      return commands[c].fn (&env, argc - i, argv + i);
  cli_error ("unknown command \"%s\" (braid --help lists them)", argv[i]);
  return 2;
}
