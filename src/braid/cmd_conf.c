/* cmd_conf.c: "braid conf": a starting multipath.conf, the way Red Hat's
 * mpathconf gives one.
 *
 *   braid conf                         what the configuration says
 *   braid conf enable [--user-friendly-names y|n] [--find-multipaths V]
 *                     [--with-multipathd y|n] [--force]
 *   braid conf disable [--with-multipathd y|n] [--force]
 *
 * "enable" writes the file (--config, default /etc/multipath.conf) when
 * there is none: user_friendly_names and find_multipaths "yes" in
 * defaults, an empty blacklist with commented examples.  The first line
 * is braid's marker; a file that has it is edited in place (only the
 * lines concerned change, the admin's other edits stay), a file without
 * it is someone else's and is left alone unless --force (enable then
 * replaces it, disable edits it).  "disable" adds a blacklist line that
 * matches every device (devnode ".*"), "enable" removes such lines, as
 * mpathconf does.  Every result is loaded by the configuration parser
 * before it replaces the old file (written aside, synced, renamed).
 * --with-multipathd y also acts on braidd: reconfigure it (or start
 * braidd.service) after enable, stop braidd.service after disable.
 *
 * The text functions at the top are pure (tests/unit/mpconf/test_conf.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "braid/ctl.h"
#include "braid/mpconf.h"
#include "cli.h"

#define MARKER \
  "# Written by \"braid conf enable\"; \"braid conf\" edits this file only " \
  "while this line stays first.\n"

/* ---------------------------------------------------------------------- */
/* text (pure)                                                             */
/* ---------------------------------------------------------------------- */

int
cli_conf_is_ours (const char *text)
{
  return text != NULL && strncmp (text, MARKER, strlen (MARKER)) == 0;
}

char *
cli_conf_default_text (const char *ufn, const char *fm, int blacklist_all)
{
  struct braid_strbuf b = BRAID_STRBUF_INIT;

  braid_strbuf_puts (&b, MARKER);
  braid_strbuf_puts (&b,
    "#\n"
    "# multipath.conf, read by braidd and by multipath-tools alike.\n"
    "# \"braid -t\" (or \"multipath -t\") prints the configuration in "
    "effect,\n"
    "# built-in defaults included; multipath.conf(5) and braid.conf(5)\n"
    "# describe the keywords.  Files in /etc/multipath/conf.d/*.conf are "
    "read\n"
    "# after this one.\n"
    "\n"
    "defaults {\n");
  braid_strbuf_printf (&b, "\tuser_friendly_names %s\n",
                       ufn ? ufn : "yes");
  braid_strbuf_printf (&b, "\tfind_multipaths %s\n", fm ? fm : "yes");
  braid_strbuf_puts (&b,
    "}\n"
    "\n"
    "# Devices that must never be multipathed.  Examples, to be "
    "uncommented:\n"
    "blacklist {\n");
  if (blacklist_all > 0)
    braid_strbuf_puts (&b, "\tdevnode \".*\"\n");
  braid_strbuf_puts (&b,
    "#\twwid \"<WWID>\"\n"
    "#\tdevnode \"^(ram|zram|loop|fd|md|dm-|sr|scd|st)[0-9]*\"\n"
    "#\tdevice {\n"
    "#\t\tvendor \"<VENDOR>\"\n"
    "#\t\tproduct \"<PRODUCT>\"\n"
    "#\t}\n"
    "}\n"
    "\n"
    "# Exceptions to the blacklist.  To multipath chosen LUNs only, "
    "blacklist\n"
    "# wwid \".*\" above and name them here:\n"
    "#blacklist_exceptions {\n"
    "#\twwid \"<WWID>\"\n"
    "#}\n");
  return braid_strbuf_steal (&b);
}

/* One line of a configuration file, as far as editing needs it. */
struct line {
  const char *text;                 /* start, in the source text */
  size_t len;                       /* without the newline */
  int depth;                        /* brace depth at its start */
  int opens;                        /* a top-level section starts here */
  char word[64];                    /* first word (keyword), "" if none */
  char value[256];                  /* second word, quotes removed */
  int section;                      /* index of the top-level section
                                       line it is inside, -1 if none */
};

/* The words of a line the way the configuration lexer splits them:
 * blanks separate, '"' quotes ("" inside is one quote), '#' or '!' starts
 * a comment, '{' and '}' are words of their own.  Fills the first two
 * words and returns the brace balance of the line. */
static int
scan_line (const char *s, size_t len, char *w1, size_t l1, char *w2,
           size_t l2)
{
  int balance = 0, nword = 0;
  size_t i = 0;

  w1[0] = w2[0] = '\0';
  while (i < len)
    {
      char *dst = nword == 0 ? w1 : nword == 1 ? w2 : NULL;
      size_t cap = nword == 0 ? l1 : l2, n = 0;

      if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')
        {
          i++;
          continue;
        }
      if (s[i] == '#' || s[i] == '!')
        break;
      if (s[i] == '{' || s[i] == '}')
        {
          balance += s[i] == '{' ? 1 : -1;
          if (dst)
            snprintf (dst, cap, "%c", s[i]);
          nword++;
          i++;
          continue;
        }
      if (s[i] == '"')
        {
          for (i++; i < len; i++)
            {
              if (s[i] == '"' && i + 1 < len && s[i + 1] == '"')
                i++;
              else if (s[i] == '"')
                break;
              if (dst && n + 1 < cap)
                dst[n++] = s[i];
            }
          i++;
        }
      else
        for (; i < len && !strchr (" \t\r{}#!\"", s[i]); i++)
          if (dst && n + 1 < cap)
            dst[n++] = s[i];
      if (dst)
        dst[n] = '\0';
      nword++;
    }
  return balance;
}

static struct line *
split (const char *text, size_t *n)
{
  size_t cap = 16, count = 0;
  struct line *l = malloc (cap * sizeof *l);
  int depth = 0, section = -1;

  if (!l)
    return NULL;
  for (const char *p = text; *p; )
    {
      const char *nl = strchr (p, '\n');
      size_t len = nl ? (size_t) (nl - p) : strlen (p);
      struct line *cur;

      if (count == cap)
        {
          struct line *nlines = realloc (l, 2 * cap * sizeof *l);
          if (!nlines)
            {
              free (l);
              return NULL;
            }
          l = nlines;
          cap *= 2;
        }
      cur = &l[count];
      cur->text = p;
      cur->len = len;
      cur->depth = depth;
      int bal = scan_line (p, len, cur->word, sizeof cur->word, cur->value,
                           sizeof cur->value);
      cur->opens = depth == 0 && bal > 0 && cur->word[0] != '{';
      if (cur->opens)
        section = (int) count;
      cur->section = depth > 0 ? section : -1;
      depth += bal;
      if (depth < 0)
        depth = 0;
      if (depth == 0 && !cur->opens)
        section = -1;
      count++;
      p += len + (nl ? 1 : 0);
    }
  *n = count;
  return l;
}

static bool
in_section (const struct line *l, const struct line *all, const char *name)
{
  return l->depth == 1 && l->section >= 0
         && strcmp (all[l->section].word, name) == 0;
}

/* "devnode .*" (or "*"): the line mpathconf --disable adds. */
static bool
blacklists_all (const struct line *l, const struct line *all)
{
  return in_section (l, all, "blacklist") && strcmp (l->word, "devnode") == 0
         && (strcmp (l->value, ".*") == 0 || strcmp (l->value, "*") == 0);
}

int
cli_conf_blacklists_all (const char *text)
{
  size_t n;
  struct line *l = split (text, &n);
  int found = 0;

  if (!l)
    return -ENOMEM;
  for (size_t i = 0; i < n && !found; i++)
    found = blacklists_all (&l[i], l);
  free (l);
  return found;
}

/* The index of the line that closes the section opened at 'open'. */
static size_t
section_end (const struct line *l, size_t n, size_t open)
{
  for (size_t i = open + 1; i < n; i++)
    if (l[i].depth == 1 && l[i].word[0] == '}')
      return i;
  return n;
}

static void
put_line (struct braid_strbuf *b, const struct line *l)
{
  braid_strbuf_add (b, l->text, l->len);
  braid_strbuf_puts (b, "\n");
}

char *
cli_conf_edit_text (const char *text, const char *ufn, const char *fm,
                    int blacklist_all)
{
  const char *keys[2] = { "user_friendly_names", "find_multipaths" };
  const char *vals[2] = { ufn, fm };
  struct braid_strbuf b = BRAID_STRBUF_INIT;
  size_t n, defaults = (size_t) -1, blacklist = (size_t) -1;
  bool have[2] = { false, false }, have_all = false;
  struct line *l = split (text, &n);

  if (!l)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      if (l[i].opens && strcmp (l[i].word, "defaults") == 0
          && defaults == (size_t) -1)
        defaults = i;
      if (l[i].opens && strcmp (l[i].word, "blacklist") == 0
          && blacklist == (size_t) -1)
        blacklist = i;
      if (blacklists_all (&l[i], l))
        have_all = true;
    }
  size_t dend = defaults != (size_t) -1 ? section_end (l, n, defaults) : n;

  for (size_t i = 0; i < n; i++)
    {
      bool done = false;

      /* the keys: the first occurrence in defaults takes the value,
       * later ones go (the last would win) */
      for (int k = 0; k < 2; k++)
        if (vals[k] && in_section (&l[i], l, "defaults")
            && strcmp (l[i].word, keys[k]) == 0)
          {
            if (!have[k])
              braid_strbuf_printf (&b, "\t%s %s\n", keys[k], vals[k]);
            have[k] = true;
            done = true;
          }
      if (!done && i == dend)
        for (int k = 0; k < 2; k++)
          if (vals[k] && !have[k])
            {
              braid_strbuf_printf (&b, "\t%s %s\n", keys[k], vals[k]);
              have[k] = true;
            }
      if (!done && blacklist_all == 0 && blacklists_all (&l[i], l))
        done = true;
      if (!done)
        put_line (&b, &l[i]);
      if (i == blacklist && blacklist_all > 0 && !have_all)
        {
          braid_strbuf_puts (&b, "\tdevnode \".*\"\n");
          have_all = true;
        }
    }
  if ((vals[0] && !have[0]) || (vals[1] && !have[1]))
    {
      braid_strbuf_puts (&b, "\ndefaults {\n");
      for (int k = 0; k < 2; k++)
        if (vals[k] && !have[k])
          braid_strbuf_printf (&b, "\t%s %s\n", keys[k], vals[k]);
      braid_strbuf_puts (&b, "}\n");
    }
  if (blacklist_all > 0 && !have_all)
    braid_strbuf_puts (&b, "\nblacklist {\n\tdevnode \".*\"\n}\n");
  free (l);
  if (b.err)
    {
      braid_strbuf_free (&b);
      return NULL;
    }
  /* an empty result is still a (empty) file */
  return b.buf ? braid_strbuf_steal (&b) : strdup ("");
}

/* ---------------------------------------------------------------------- */
/* files                                                                   */
/* ---------------------------------------------------------------------- */

/* The file's text (NULL and errno ENOENT when missing). */
static char *
read_text (const char *path, struct stat *st)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  struct braid_strbuf b = BRAID_STRBUF_INIT;
  char buf[8192];
  ssize_t r;

  if (fd < 0)
    return NULL;
  if (fstat (fd, st) < 0 || !S_ISREG (st->st_mode))
    {
      close (fd);
      errno = EINVAL;
      return NULL;
    }
  while ((r = read (fd, buf, sizeof buf)) > 0)
    braid_strbuf_add (&b, buf, (size_t) r);
  close (fd);
  if (r < 0 || b.err)
    {
      int e = r < 0 ? errno : ENOMEM;
      braid_strbuf_free (&b);
      errno = e;
      return NULL;
    }
  return b.buf ? braid_strbuf_steal (&b) : strdup ("");
}

/* Does the configuration parser accept the text of 'path'?  Prints its
 * diagnostics (warnings and errors) and returns 0 or -1. */
static int
check_file (const char *path, const char *shown_as)
{
  struct braid_mpconf_load_args a = { .config_file = path };
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  char msg[2048];
  int rc = braid_mpconf_load (&a, &conf, &d);

  for (size_t i = 0; i < braid_mpconf_diags_count (d); i++)
    {
      const struct braid_mpconf_diag *g = braid_mpconf_diags_get (d, i);

      if (g->level > BRAID_LOG_WARNING)
        continue;
      braid_mpconf_diag_format (g, msg, sizeof msg);
      fprintf (stderr, "%s: %s\n", shown_as, msg);
    }
  braid_mpconf_diags_free (d);
  braid_mpconf_free (conf);
  return rc < 0 ? -1 : 0;
}

/* Replace 'path' with 'text': a temporary file next to it (the old file's
 * mode and owner, else 0644), checked by the parser, synced, renamed over
 * it, the directory synced. */
int
cli_conf_write_text (const char *path, const char *text,
                     const struct stat *old)
{
  char tmp[4200], dir[4200];
  size_t len = strlen (text);
  const char *slash = strrchr (path, '/');
  int fd, dfd;

  if (snprintf (tmp, sizeof tmp, "%s.braid-XXXXXX", path) >= (int) sizeof tmp)
    {
      cli_error ("%s: name too long", path);
      return -1;
    }
  snprintf (dir, sizeof dir, "%.*s", slash ? (int) (slash - path + 1) : 1,
            slash ? path : ".");
  fd = mkstemp (tmp);
  if (fd < 0)
    {
      cli_error ("cannot create a file next to %s: %s", path,
                 strerror (errno));
      return -1;
    }
  if (fchmod (fd, old ? old->st_mode & 07777 : 0644) < 0
      || (old && geteuid () == 0 && fchown (fd, old->st_uid, old->st_gid) < 0)
      || write (fd, text, len) != (ssize_t) len || fsync (fd) < 0)
    {
      cli_error ("writing %s: %s", tmp, errno ? strerror (errno)
                                              : "short write");
      close (fd);
      unlink (tmp);
      return -1;
    }
  close (fd);
  if (check_file (tmp, path) < 0)
    {
      cli_error ("%s: the new text is refused by the parser; %s is unchanged",
                 tmp, path);
      unlink (tmp);
      return -1;
    }
  if (rename (tmp, path) < 0)
    {
      cli_error ("cannot replace %s: %s", path, strerror (errno));
      unlink (tmp);
      return -1;
    }
  dfd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    {
      fsync (dfd);
      close (dfd);
    }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* braidd                                                                  */
/* ---------------------------------------------------------------------- */

static int
ask_braidd (const struct cli_env *env, const char *cmd, char **reply)
{
  char path[4200];

  snprintf (path, sizeof path, "%s/braidd.sock",
            env->run_dir ? env->run_dir : "/run/braid");
  return braid_ctl_call (path, cmd, 60000, reply);
}

static bool
braidd_running (const struct cli_env *env)
{
  char *reply = NULL;
  int rc = ask_braidd (env, "show daemon", &reply);

  free (reply);
  return rc >= 0;
}

/* systemctl VERB braidd.service; 0 if it ran and succeeded. */
static int
systemctl (const char *verb)
{
  pid_t pid;
  int status;

  if (access ("/run/systemd/system", F_OK) != 0)
    {
      cli_error ("systemd is not running here: %s braidd yourself", verb);
      return -1;
    }
  fflush (stdout);
  pid = fork ();
  if (pid < 0)
    {
      cli_error ("fork: %s", strerror (errno));
      return -1;
    }
  if (pid == 0)
    {
      execlp ("systemctl", "systemctl", verb, "braidd.service", (char *) NULL);
      _exit (127);
    }
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return -1;
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
    {
      cli_error ("systemctl %s braidd.service failed", verb);
      return -1;
    }
  return 0;
}

/* ---------------------------------------------------------------------- */
/* the command                                                             */
/* ---------------------------------------------------------------------- */

static const char *
yes_no (const char *opt, const char *v)
{
  if (!strcmp (v, "y") || !strcmp (v, "yes"))
    return "yes";
  if (!strcmp (v, "n") || !strcmp (v, "no"))
    return "no";
  cli_error ("%s takes y or n, not \"%s\"", opt, v);
  return NULL;
}

static const char *
find_value (const char *v)
{
  static const char *const ok[] = { "yes", "no", "on", "off", "strict",
                                    "greedy", "smart", NULL };

  if (!strcmp (v, "y"))
    return "yes";
  if (!strcmp (v, "n"))
    return "no";
  for (int i = 0; ok[i]; i++)
    if (!strcmp (v, ok[i]))
      return ok[i];
  cli_error ("--find-multipaths takes y, n, strict, greedy or smart, "
             "not \"%s\"", v);
  return NULL;
}

static int
conf_status (struct cli_env *env, const char *path)
{
  struct braid_mpconf_load_args a = { .config_file = path,
                                      .config_dir = env->config_dir };
  struct braid_mpconf_path_id id = { .protocol = "scsi:iscsi", .tpgs = -1 };
  struct braid_mpconf_settings s;
  struct braid_mpconf *conf = NULL;
  struct braid_mpconf_diags *d = NULL;
  struct stat st;
  char *text = read_text (path, &st);
  char val[64];

  if (!text)
    {
      if (errno != ENOENT)
        {
          cli_error ("%s: %s", path, strerror (errno));
          return 1;
        }
      printf ("%s does not exist (braid conf enable writes one)\n", path);
    }
  else
    {
      printf ("multipath is %s\n",
              cli_conf_blacklists_all (text) > 0 ? "disabled" : "enabled");
      if (braid_mpconf_load (&a, &conf, &d) == 0
          && braid_mpconf_resolve (conf, &id, &s) == 0)
        {
          braid_mpconf_setting_format (&s, BRAID_MPS_FIND_MULTIPATHS, val,
                                       sizeof val);
          printf ("find_multipaths is %s\n", val);
          printf ("user_friendly_names is %s\n",
                  s.v[BRAID_MPS_USER_FRIENDLY_NAMES].num ? "enabled"
                                                         : "disabled");
        }
      else
        printf ("%s is refused by the parser (braid -t says why)\n", path);
      printf ("%s %s written by braid conf\n", path,
              cli_conf_is_ours (text) ? "was" : "was not");
      braid_mpconf_diags_free (d);
      braid_mpconf_free (conf);
      free (text);
    }
  printf ("braidd is %s\n", braidd_running (env) ? "running" : "not running");
  return 0;
}

static void
usage (void)
{
  fprintf (stderr,
    "usage: braid [--config FILE] conf [enable|disable]\n"
    "         [--user-friendly-names y|n] [--find-multipaths y|n|strict|greedy|smart]\n"
    "         [--with-multipathd y|n] [--force]\n");
}

int
cli_conf (struct cli_env *env, int argc, char **argv)
{
  static const struct option opts[] = {
    { "user-friendly-names", 1, NULL, 'u' },
    { "find-multipaths", 1, NULL, 'm' },
    { "with-multipathd", 1, NULL, 'd' },
    { "with-braidd", 1, NULL, 'd' },
    { "force", 0, NULL, 'f' },
    { "help", 0, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *path = env->config ? env->config : BRAID_MPCONF_DEFAULT_FILE;
  const char *ufn = NULL, *fm = NULL, *daemon = NULL, *verb = NULL;
  bool force = false, enable;
  struct stat st;
  char *text, *next;
  int c;

  /* argv[0] is "conf"; the verb may come before or after the options */
  if (argc > 1 && argv[1][0] != '-')
    {
      verb = argv[1];
      argv++;
      argc--;
    }
  optind = 1;
  opterr = 0;
  while ((c = getopt_long (argc, argv, "+h", opts, NULL)) != -1)
    switch (c)
      {
      case 'u':
        if (!(ufn = yes_no ("--user-friendly-names", optarg)))
          return 2;
        break;
      case 'm':
        if (!(fm = find_value (optarg)))
          return 2;
        break;
      case 'd':
        if (!(daemon = yes_no ("--with-multipathd", optarg)))
          return 2;
        break;
      case 'f':
        force = true;
        break;
      case 'h':
        usage ();
        return 0;
      default:
        cli_error ("conf: unknown option \"%s\"", argv[optind - 1]);
        usage ();
        return 2;
      }
  if (!verb && optind < argc)
    verb = argv[optind++];
  if (optind < argc)
    {
      cli_error ("conf: unexpected argument \"%s\"", argv[optind]);
      return 2;
    }
  if (!verb || !strcmp (verb, "show") || !strcmp (verb, "status"))
    {
      if (ufn || fm || daemon || force)
        {
          cli_error ("conf: options need enable or disable");
          return 2;
        }
      return conf_status (env, path);
    }
  if (strcmp (verb, "enable") && strcmp (verb, "disable"))
    {
      cli_error ("conf: \"%s\"? (enable, disable or nothing)", verb);
      return 2;
    }
  enable = !strcmp (verb, "enable");

  text = read_text (path, &st);
  if (!text && errno != ENOENT)
    {
      cli_error ("%s: %s", path, strerror (errno));
      return 1;
    }
  if (text && !cli_conf_is_ours (text) && !force)
    {
      cli_error ("%s was not written by braid conf: leaving it alone "
                 "(--force %s it)", path, enable ? "replaces" : "edits");
      free (text);
      return 1;
    }
  if (!text || (enable && !cli_conf_is_ours (text)))
    next = cli_conf_default_text (ufn, fm, enable ? 0 : 1);
  else
    next = cli_conf_edit_text (text, ufn, fm, enable ? 0 : 1);
  if (!next)
    {
      cli_error ("out of memory");
      free (text);
      return 1;
    }
  if (text && strcmp (text, next) == 0)
    printf ("%s is unchanged\n", path);
  else if (cli_conf_write_text (path, next, text ? &st : NULL) < 0)
    {
      free (text);
      free (next);
      return 1;
    }
  else
    printf ("%s %s\n", text ? "updated" : "wrote", path);
  free (text);
  free (next);

  if (daemon && !strcmp (daemon, "yes"))
    {
      if (!enable)
        return systemctl ("stop") < 0 ? 1 : 0;
      if (braidd_running (env))
        {
          char *reply = NULL;
          int rc = ask_braidd (env, "reconfigure", &reply);

          if (rc < 0 || (reply && strcmp (reply, "ok\n") != 0))
            {
              cli_error ("braidd reconfigure: %s",
                         rc < 0 ? strerror (-rc) : reply);
              free (reply);
              return 1;
            }
          free (reply);
          printf ("braidd reconfigured\n");
          return 0;
        }
      return systemctl ("start") < 0 ? 1 : 0;
    }
  return 0;
}
