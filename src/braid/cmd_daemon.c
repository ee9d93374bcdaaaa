/* cmd_daemon.c: "braid show ...", "braid fail path P", ...: multipathd -k
 * for braidd.
 *
 * The words after "braid" are the command, in multipathd's language:
 * they are joined with blanks (a word the tokenizer would split or eat,
 * such as a format string "%n %w", is double-quoted with inner quotes
 * doubled) and sent to braidd's control socket <run-dir>/braidd.sock.
 * The reply is printed as it came, and like multipathd -k the exit status
 * is 1 when the reply is "fail\n" (or ends with a "fail" line after braidd's
 * reason), the command was refused ("permission denied") or braidd could
 * not be asked.
 * The wait for the reply is BRAID_CTL_TIMEOUT_MS milliseconds (default
 * 60000: "reconfigure" may wait for logins).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "braid/ctl.h"
#include "cli.h"

#define DEFAULT_TIMEOUT_MS 60000
#define SOCKET_NAME "braidd.sock"

/* Would the multipathd tokenizer not give this word back as it is? */
static int
needs_quotes (const char *w)
{
  const unsigned char *p = (const unsigned char *) w;

  if (*p == '\0')
    return 1;
  for (; *p != '\0'; p++)
    if (*p == ' ' || (*p >= '\t' && *p <= '\r') || *p >= 0x80 || *p == '"'
        || *p == '#' || *p == '!' || *p == '{' || *p == '}')
      return 1;
  return 0;
}

static int
join_words (struct braid_strbuf *cmd, int argc, char **argv)
{
  const char *p;
  int i;

  for (i = 0; i < argc; i++) {
    if (i > 0)
      braid_strbuf_puts (cmd, " ");
    if (!needs_quotes (argv[i])) {
      braid_strbuf_puts (cmd, argv[i]);
      continue;
    }
    braid_strbuf_puts (cmd, "\"");
    for (p = argv[i]; *p != '\0'; p++) {
      braid_strbuf_add (cmd, p, 1);
      /* Inside quotes a doubled quote stands for one. */
      if (*p == '"')
        braid_strbuf_add (cmd, p, 1);
    }
    braid_strbuf_puts (cmd, "\"");
  }
  return cmd->err;
}

static int
timeout_ms (void)
{
  const char *s = getenv ("BRAID_CTL_TIMEOUT_MS");
  char *end;
  long v;

  if (s == NULL || *s == '\0')
    return DEFAULT_TIMEOUT_MS;
  errno = 0;
  v = strtol (s, &end, 10);
  if (errno != 0 || *end != '\0' || v <= 0 || v > 86400000L) {
    cli_error ("ignoring BRAID_CTL_TIMEOUT_MS=\"%s\" (want 1..86400000)", s);
    return DEFAULT_TIMEOUT_MS;
  }
  return (int) v;
}

int
cli_daemon (struct cli_env *env, int argc, char **argv)
{
  struct braid_strbuf cmd = BRAID_STRBUF_INIT;
  struct braid_strbuf path = BRAID_STRBUF_INIT;
  const char *run_dir = env->run_dir != NULL ? env->run_dir : "/run/braid";
  char *reply = NULL;
  int fd, rc;

  if (argc < 1) {
    cli_error ("no command for braidd");
    return 2;
  }
  if (join_words (&cmd, argc, argv) < 0
      || braid_strbuf_printf (&path, "%s/%s", run_dir, SOCKET_NAME) < 0) {
    cli_error ("out of memory");
    rc = 1;
    goto out;
  }
  fd = braid_ctl_connect (braid_strbuf_str (&path));
  if (fd < 0) {
    cli_error ("cannot reach braidd at %s: %s", braid_strbuf_str (&path),
               strerror (-fd));
    rc = 1;
    goto out;
  }
  rc = braid_ctl_request (fd, braid_strbuf_str (&cmd), timeout_ms (), &reply,
                          NULL);
  close (fd);
  if (rc == -ETIMEDOUT) {
    cli_error ("timeout receiving the reply from braidd at %s",
               braid_strbuf_str (&path));
    rc = 1;
    goto out;
  }
  if (rc < 0) {
    cli_error ("braidd at %s: %s", braid_strbuf_str (&path), strerror (-rc));
    rc = 1;
    goto out;
  }
  fputs (reply, stdout);
  if (fflush (stdout) != 0) {
    cli_error ("writing the reply: %s", strerror (errno));
    rc = 1;
    goto out;
  }
  /* multipathd -k fails only on an exact "fail\n"; braidd may put the
   * reason first ("...\nfail\n"), which fails too. */
  size_t rl = strlen (reply);
  rc = strcmp (reply, "fail\n") == 0
       || (rl > 6 && strcmp (reply + rl - 6, "\nfail\n") == 0) ? 1 : 0;
  /* A refused command (multipathd's "permission deny", braidd's
   * "permission denied") failed too. */
  if (strncmp (reply, "permission den", 14) == 0)
    rc = 1;

out:
  free (reply);
  braid_strbuf_free (&cmd);
  braid_strbuf_free (&path);
  return rc;
}
