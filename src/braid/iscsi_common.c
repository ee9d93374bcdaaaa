/* iscsi_common.c: sessions for CLI commands.
 *
 * Credentials come from a root-only file or the environment, never from
 * the command line (argv is world-readable through /proc), and are wiped
 * from memory once handed to the session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "braid/iscsi.h"
#include "cli.h"

const char *
cli_initiator_name (void)
{
  return braid_iscsi_default_initiator_name ();
}

void
cli_chap_wipe (struct cli_chap *chap)
{
  explicit_bzero (chap, sizeof *chap);
}

static char *
trim (char *s)
{
  while (*s == ' ' || *s == '\t')
    s++;
  char *e = s + strlen (s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
    *--e = 0;
  return s;
}

/* "SHA3-256,SHA256,SHA1,MD5" (open-iscsi's node.session.auth.chap_algs
 * spelling) into CHAP_A values.  Returns 0 or -1 after printing why. */
static int
parse_algs (const char *where, const char *v, unsigned char *out)
{
  static const struct { const char *name; unsigned char a; } names[] = {
    { "MD5", 5 }, { "SHA1", 6 }, { "SHA-1", 6 }, { "SHA256", 7 }, { "SHA-256", 7 },
    { "SHA3-256", 8 },
  };
  char buf[128];
  int n = 0;

  snprintf (buf, sizeof buf, "%s", v);
  memset (out, 0, 5);
  for (char *save = NULL, *tok = strtok_r (buf, ", ", &save); tok;
       tok = strtok_r (NULL, ", ", &save)) {
    size_t i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
      if (strcasecmp (tok, names[i].name) == 0)
        break;
    if (i == sizeof names / sizeof names[0] || n == 4) {
      cli_error ("%s: unknown or too many CHAP algorithms \"%s\" "
                 "(MD5, SHA1, SHA256, SHA3-256)", where, tok);
      return -1;
    }
    out[n++] = names[i].a;
  }
  return 0;
}

/* The file holds "key = value" lines: username, password, and for mutual
 * CHAP target_username, target_password (open-iscsi's node.session.auth.*
 * spellings are accepted too).  '#' starts a comment line. */
static int
load_chap_file (const char *path, struct cli_chap *chap)
{
  char err[600];
  int fd = braid_secret_file_open (path, 1, err, sizeof err);

  if (fd < 0) {
    cli_error ("CHAP file %s", err);
    return -1;
  }
  FILE *f = fdopen (fd, "r");
  if (!f) {
    close (fd);
    return -1;
  }
  char line[600];
  int lineno = 0, rc = 0;
  while (fgets (line, sizeof line, f)) {
    lineno++;
    char *l = trim (line);
    if (!*l || *l == '#')
      continue;
    char *eq = strchr (l, '=');
    if (!eq) {
      cli_error ("%s:%d: expected \"key = value\"", path, lineno);
      rc = -1;
      break;
    }
    *eq = 0;
    char *k = trim (l), *v = trim (eq + 1);
    char *dst = NULL;
    if (!strcmp (k, "username") || !strcmp (k, "node.session.auth.username"))
      dst = chap->user;
    else if (!strcmp (k, "password") || !strcmp (k, "node.session.auth.password"))
      dst = chap->secret;
    else if (!strcmp (k, "target_username") || !strcmp (k, "node.session.auth.username_in"))
      dst = chap->tuser;
    else if (!strcmp (k, "target_password") || !strcmp (k, "node.session.auth.password_in"))
      dst = chap->tsecret;
    else if (!strcmp (k, "algorithms") || !strcmp (k, "node.session.auth.chap_algs")) {
      char where[300];
      snprintf (where, sizeof where, "%s:%d", path, lineno);
      if (parse_algs (where, v, chap->algs) < 0) {
        rc = -1;
        break;
      }
      continue;
    }
    else {
      cli_error ("%s:%d: unknown key \"%s\"", path, lineno, k);
      rc = -1;
      break;
    }
    if (strlen (v) >= 256) {
      cli_error ("%s:%d: value longer than 255 bytes", path, lineno);
      rc = -1;
      break;
    }
    strcpy (dst, v);
  }
  explicit_bzero (line, sizeof line);
  fclose (f);
  return rc;
}

int
cli_load_chap (const struct cli_env *env, struct cli_chap *chap)
{
  memset (chap, 0, sizeof *chap);
  if (env->chap_file) {
    if (load_chap_file (env->chap_file, chap) < 0)
      return -1;
  }
  else {
    const char *u = getenv ("BRAID_CHAP_USER"), *p = getenv ("BRAID_CHAP_SECRET");
    const char *tu = getenv ("BRAID_CHAP_TARGET_USER");
    const char *tp = getenv ("BRAID_CHAP_TARGET_SECRET");
    if (u)
      snprintf (chap->user, sizeof chap->user, "%s", u);
    if (p)
      snprintf (chap->secret, sizeof chap->secret, "%s", p);
    if (tu)
      snprintf (chap->tuser, sizeof chap->tuser, "%s", tu);
    if (tp)
      snprintf (chap->tsecret, sizeof chap->tsecret, "%s", tp);
  }
  const char *algs = getenv ("BRAID_CHAP_ALGS");
  if (algs && !chap->algs[0] && parse_algs ("BRAID_CHAP_ALGS", algs, chap->algs) < 0)
    return -1;
  if (!chap->user[0] != !chap->secret[0]) {
    cli_error ("CHAP needs both a user name and a secret");
    return -1;
  }
  if (!chap->tuser[0] != !chap->tsecret[0] || (chap->tuser[0] && !chap->user[0])) {
    cli_error ("mutual CHAP needs the target's user name and secret, and ours");
    return -1;
  }
  return 0;
}

static void
log_stderr (void *opaque, int level, const char *msg)
{
  static const char *names[] = { "", "error", "warning", "notice", "info", "debug" };
  (void) opaque;
  fprintf (stderr, "braid: %s: %s\n", level >= 1 && level <= 5 ? names[level] : "log", msg);
}

struct braid_iscsi *
cli_session_new (const struct cli_env *env, const struct cli_chap *chap,
                 const char *portal, const char *target)
{
  struct braid_iscsi *s = braid_iscsi_new (cli_initiator_name ());
  struct braid_iscsi_opts o;

  if (!s) {
    cli_error ("cannot create a session: %s", strerror (errno));
    return NULL;
  }
  braid_iscsi_set_log_fn (s, log_stderr, NULL,
                          env->verbose ? BRAID_LOG_WARNING + env->verbose : 0);
  braid_iscsi_opts_init (&o);
  o.reconnect = 0;                  /* one-shot commands report failures */
  if (env->iface)
    snprintf (o.bind_iface, sizeof o.bind_iface, "%s", env->iface);
  if (env->source)
    snprintf (o.bind_addr, sizeof o.bind_addr, "%s", env->source);
  if (chap && chap->algs[0])
    memcpy (o.chap_algs, chap->algs, sizeof o.chap_algs);
  if (braid_iscsi_set_opts (s, &o) < 0
      || braid_iscsi_set_portal (s, portal) < 0
      || (target && braid_iscsi_set_target (s, target) < 0)
      || (!target && braid_iscsi_set_session_type (s, BRAID_ISCSI_SESSION_DISCOVERY) < 0)
      || (chap && chap->user[0]
          && braid_iscsi_set_chap (s, chap->user, chap->secret, strlen (chap->secret)) < 0)
      || (chap && chap->tuser[0]
          && braid_iscsi_set_target_chap (s, chap->tuser, chap->tsecret,
                                          strlen (chap->tsecret)) < 0)) {
    cli_error ("%s", braid_iscsi_get_error (s));
    braid_iscsi_free (s);
    return NULL;
  }
  return s;
}
