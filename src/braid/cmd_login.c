/* cmd_login.c: "braid login" and "braid logout" through braidd.
 *
 *   braid login --portal P [--portal P2...] --target IQN [--iface NAME]
 *               [--source ADDR] [--chap-file FILE] [--tag TEXT] [--no-enroll]
 *   braid logout [--portal P...] --target IQN
 *
 * The daemon holds the sessions; these commands only tell it what to do.
 * CHAP credentials travel as the path of a root-only file, never as
 * values: braidd reads the file itself.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "braid/ctl.h"
#include "cli.h"

static int
send_words (struct cli_env *env, struct braid_strbuf *cmd)
{
  char path[4200];
  char *reply = NULL;
  snprintf (path, sizeof path, "%s/braidd.sock", env->run_dir);
  int r = braid_ctl_call (path, braid_strbuf_str (cmd), 120000, &reply);
  braid_strbuf_free (cmd);
  if (r < 0) {
    cli_error ("cannot reach braidd at %s: %s", path, strerror (-r));
    return 1;
  }
  if (reply && strcmp (reply, "ok\n") != 0)
    fputs (reply, stdout);
  /* braidd puts the reasons first and "fail" last. */
  size_t rl = reply ? strlen (reply) : 0;
  int failed = r == 1 || (rl > 6 && strcmp (reply + rl - 6, "\nfail\n") == 0);
  free (reply);
  return failed;
}

void
cli_ctl_word (struct braid_strbuf *b, const char *w)
{
  braid_strbuf_puts (b, b->len ? " \"" : "\"");
  for (const char *p = w; *p; p++)
    braid_strbuf_add (b, *p == '"' ? "\"\"" : p, *p == '"' ? 2 : 1);
  braid_strbuf_puts (b, "\"");
}

static int
login_logout (struct cli_env *env, int argc, char **argv, int login)
{
  static const struct option opts[] = {
    { "portal", 1, NULL, 'p' }, { "target", 1, NULL, 't' },
    { "iface", 1, NULL, 'i' }, { "source", 1, NULL, 's' },
    { "chap-file", 1, NULL, 'c' }, { "tag", 1, NULL, 'g' },
    { "no-enroll", 0, NULL, 'n' }, { NULL, 0, NULL, 0 },
  };
  struct braid_strbuf cmd = BRAID_STRBUF_INIT;
  int c, nportals = 0, have_target = 0;

  braid_strbuf_puts (&cmd, login ? "login" : "logout");
  optind = 1;
  while ((c = getopt_long (argc, argv, "", opts, NULL)) != -1) {
    const char *key = NULL;
    switch (c) {
    case 'p': key = "portal"; nportals++; break;
    case 't': key = "target"; have_target = 1; break;
    case 'i': key = "iface"; break;
    case 's': key = "source"; break;
    case 'c': {
      /* braidd opens the file itself: hand it an absolute path. */
      char *abs = realpath (optarg, NULL);
      if (!abs) {
        cli_error ("%s: cannot resolve the path", optarg);
        braid_strbuf_free (&cmd);
        return 1;
      }
      cli_ctl_word (&cmd, "chap-file");
      cli_ctl_word (&cmd, abs);
      free (abs);
      continue;
    }
    case 'g': key = "tag"; break;
    case 'n': cli_ctl_word (&cmd, "no-enroll"); continue;
    default:
      braid_strbuf_free (&cmd);
      return 2;
    }
    cli_ctl_word (&cmd, key);
    cli_ctl_word (&cmd, optarg);
  }
  if (!have_target || (login && !nportals) || optind != argc) {
    fprintf (stderr, login
             ? "usage: braid login --portal P [--portal P2...] --target IQN [--iface NAME]\n"
               "                   [--source ADDR] [--chap-file FILE] [--tag TEXT] [--no-enroll]\n"
             : "usage: braid logout [--portal P...] --target IQN\n");
    braid_strbuf_free (&cmd);
    return 2;
  }
  return send_words (env, &cmd);
}

int
cli_login (struct cli_env *env, int argc, char **argv)
{
  return login_logout (env, argc, argv, 1);
}

int
cli_logout (struct cli_env *env, int argc, char **argv)
{
  return login_logout (env, argc, argv, 0);
}
