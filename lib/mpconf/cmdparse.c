/* cmdparse.c: the multipathd command language (multipathd -k, the control
 * socket, libmpathpersist's requests).
 *
 * A command is split like a multipath.conf line: blanks separate words,
 * '#' or '!' outside quotes end the line, '{' and '}' are words of their
 * own, a double quote opens a string that keeps blanks (a doubled quote in
 * it stands for one quote; a missing closing quote is tolerated), bytes
 * outside ASCII are dropped outside quotes.  Quote marks are not words.
 * Each word is matched against the keyword table, exactly or as the one
 * keyword it is a prefix of ("sho" is show, "s" is ambiguous); a keyword
 * that takes a parameter consumes the next word as is.  The codes of the
 * words, 8 bits each in command order, make the fingerprint that selects a
 * handler, so "show maps json" and "show json maps" differ.  Error codes
 * and the help text follow multipathd 0.9.4 (multipathd/cli.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf/mpstate-internal.h"

struct keyword {
  const char *str;
  uint8_t code;
  bool has_param;
};

/* load_keys() order: it decides which spelling the help text shows first
 * and nothing else (matching does not depend on order). */
static const struct keyword keys[] = {
  { "list", BRAID_CLI_VRB_LIST, false },
  { "show", BRAID_CLI_VRB_LIST, false },
  { "add", BRAID_CLI_VRB_ADD, false },
  { "remove", BRAID_CLI_VRB_DEL, false },
  { "del", BRAID_CLI_VRB_DEL, false },
  { "switch", BRAID_CLI_VRB_SWITCH, false },
  { "switchgroup", BRAID_CLI_VRB_SWITCH, false },
  { "suspend", BRAID_CLI_VRB_SUSPEND, false },
  { "resume", BRAID_CLI_VRB_RESUME, false },
  { "reinstate", BRAID_CLI_VRB_REINSTATE, false },
  { "fail", BRAID_CLI_VRB_FAIL, false },
  { "resize", BRAID_CLI_VRB_RESIZE, false },
  { "reset", BRAID_CLI_VRB_RESET, false },
  { "reload", BRAID_CLI_VRB_RELOAD, false },
  { "forcequeueing", BRAID_CLI_VRB_FORCEQ, false },
  { "disablequeueing", BRAID_CLI_VRB_DISABLEQ, false },
  { "restorequeueing", BRAID_CLI_VRB_RESTOREQ, false },
  { "paths", BRAID_CLI_KEY_PATHS, false },
  { "maps", BRAID_CLI_KEY_MAPS, false },
  { "multipaths", BRAID_CLI_KEY_MAPS, false },
  { "path", BRAID_CLI_KEY_PATH, true },
  { "map", BRAID_CLI_KEY_MAP, true },
  { "multipath", BRAID_CLI_KEY_MAP, true },
  { "group", BRAID_CLI_KEY_GROUP, true },
  { "reconfigure", BRAID_CLI_VRB_RECONFIGURE, false },
  { "daemon", BRAID_CLI_KEY_DAEMON, false },
  { "status", BRAID_CLI_KEY_STATUS, false },
  { "stats", BRAID_CLI_KEY_STATS, false },
  { "topology", BRAID_CLI_KEY_TOPOLOGY, false },
  { "config", BRAID_CLI_KEY_CONFIG, false },
  { "blacklist", BRAID_CLI_KEY_BLACKLIST, false },
  { "devices", BRAID_CLI_KEY_DEVICES, false },
  { "raw", BRAID_CLI_KEY_RAW, false },
  { "wildcards", BRAID_CLI_KEY_WILDCARDS, false },
  { "quit", BRAID_CLI_VRB_QUIT, false },
  { "exit", BRAID_CLI_VRB_QUIT, false },
  { "shutdown", BRAID_CLI_VRB_SHUTDOWN, false },
  { "getprstatus", BRAID_CLI_VRB_GETPRSTATUS, false },
  { "setprstatus", BRAID_CLI_VRB_SETPRSTATUS, false },
  { "unsetprstatus", BRAID_CLI_VRB_UNSETPRSTATUS, false },
  { "format", BRAID_CLI_KEY_FMT, true },
  { "json", BRAID_CLI_KEY_JSON, false },
  { "getprkey", BRAID_CLI_VRB_GETPRKEY, false },
  { "setprkey", BRAID_CLI_VRB_SETPRKEY, false },
  { "unsetprkey", BRAID_CLI_VRB_UNSETPRKEY, false },
  { "key", BRAID_CLI_KEY_KEY, true },
  { "local", BRAID_CLI_KEY_LOCAL, false },
  { "setmarginal", BRAID_CLI_VRB_SETMARGINAL, false },
  { "unsetmarginal", BRAID_CLI_VRB_UNSETMARGINAL, false },
  { "all", BRAID_CLI_KEY_ALL, false },
};

#define NKEYS (sizeof keys / sizeof keys[0])

#define L BRAID_CLI_VRB_LIST
#define K(x) BRAID_CLI_KEY_##x
#define V(x) BRAID_CLI_VRB_##x

/* The commands multipathd 0.9.4 has a handler for, in registration order
 * (the order of the help text). */
static const uint32_t handlers[] = {
  BRAID_CLI_FP2 (L, K (PATHS)),
  BRAID_CLI_FP3 (L, K (PATHS), K (FMT)),
  BRAID_CLI_FP4 (L, K (PATHS), K (RAW), K (FMT)),
  BRAID_CLI_FP2 (L, K (PATH)),
  BRAID_CLI_FP2 (L, K (MAPS)),
  BRAID_CLI_FP2 (L, K (STATUS)),
  BRAID_CLI_FP2 (L, K (DAEMON)),
  BRAID_CLI_FP3 (L, K (MAPS), K (STATUS)),
  BRAID_CLI_FP3 (L, K (MAPS), K (STATS)),
  BRAID_CLI_FP3 (L, K (MAPS), K (FMT)),
  BRAID_CLI_FP4 (L, K (MAPS), K (RAW), K (FMT)),
  BRAID_CLI_FP3 (L, K (MAPS), K (TOPOLOGY)),
  BRAID_CLI_FP2 (L, K (TOPOLOGY)),
  BRAID_CLI_FP3 (L, K (MAPS), K (JSON)),
  BRAID_CLI_FP3 (L, K (MAP), K (TOPOLOGY)),
  BRAID_CLI_FP3 (L, K (MAP), K (FMT)),
  BRAID_CLI_FP4 (L, K (MAP), K (RAW), K (FMT)),
  BRAID_CLI_FP3 (L, K (MAP), K (JSON)),
  BRAID_CLI_FP3 (L, K (CONFIG), K (LOCAL)),
  BRAID_CLI_FP2 (L, K (CONFIG)),
  BRAID_CLI_FP2 (L, K (BLACKLIST)),
  BRAID_CLI_FP2 (L, K (DEVICES)),
  BRAID_CLI_FP2 (L, K (WILDCARDS)),
  BRAID_CLI_FP3 (V (RESET), K (MAPS), K (STATS)),
  BRAID_CLI_FP3 (V (RESET), K (MAP), K (STATS)),
  BRAID_CLI_FP2 (V (ADD), K (PATH)),
  BRAID_CLI_FP2 (V (DEL), K (PATH)),
  BRAID_CLI_FP2 (V (ADD), K (MAP)),
  BRAID_CLI_FP2 (V (DEL), K (MAP)),
  BRAID_CLI_FP2 (V (DEL), K (MAPS)),
  BRAID_CLI_FP3 (V (SWITCH), K (MAP), K (GROUP)),
  BRAID_CLI_FP1 (V (RECONFIGURE)),
  BRAID_CLI_FP2 (V (RECONFIGURE), K (ALL)),
  BRAID_CLI_FP2 (V (SUSPEND), K (MAP)),
  BRAID_CLI_FP2 (V (RESUME), K (MAP)),
  BRAID_CLI_FP2 (V (RESIZE), K (MAP)),
  BRAID_CLI_FP2 (V (RELOAD), K (MAP)),
  BRAID_CLI_FP2 (V (RESET), K (MAP)),
  BRAID_CLI_FP2 (V (REINSTATE), K (PATH)),
  BRAID_CLI_FP2 (V (FAIL), K (PATH)),
  BRAID_CLI_FP2 (V (DISABLEQ), K (MAP)),
  BRAID_CLI_FP2 (V (RESTOREQ), K (MAP)),
  BRAID_CLI_FP2 (V (DISABLEQ), K (MAPS)),
  BRAID_CLI_FP2 (V (RESTOREQ), K (MAPS)),
  BRAID_CLI_FP1 (V (QUIT)),
  BRAID_CLI_FP1 (V (SHUTDOWN)),
  BRAID_CLI_FP2 (V (GETPRSTATUS), K (MAP)),
  BRAID_CLI_FP2 (V (SETPRSTATUS), K (MAP)),
  BRAID_CLI_FP2 (V (UNSETPRSTATUS), K (MAP)),
  BRAID_CLI_FP2 (V (FORCEQ), K (DAEMON)),
  BRAID_CLI_FP2 (V (RESTOREQ), K (DAEMON)),
  BRAID_CLI_FP2 (V (GETPRKEY), K (MAP)),
  BRAID_CLI_FP3 (V (SETPRKEY), K (MAP), K (KEY)),
  BRAID_CLI_FP2 (V (UNSETPRKEY), K (MAP)),
  BRAID_CLI_FP2 (V (SETMARGINAL), K (PATH)),
  BRAID_CLI_FP2 (V (UNSETMARGINAL), K (PATH)),
  BRAID_CLI_FP2 (V (UNSETMARGINAL), K (MAP)),
};

#undef L
#undef K
#undef V

#define NHANDLERS (sizeof handlers / sizeof handlers[0])

/* ---- tokenizer ---- */

/* A token; quote marks are remembered only so they can be skipped. */
struct token {
  char *s;
  bool quote;
};

struct tokens {
  struct token *t;
  size_t n, cap;
};

static void
tokens_free (struct tokens *tk)
{
  size_t i;

  for (i = 0; i < tk->n; i++)
    free (tk->t[i].s);
  free (tk->t);
}

static int
tokens_push (struct tokens *tk, const char *s, size_t len, bool quote)
{
  struct token *nt;
  char *copy;

  if (tk->n == tk->cap) {
    size_t ncap = tk->cap ? tk->cap * 2 : 8;

    nt = realloc (tk->t, ncap * sizeof *nt);
    if (nt == NULL)
      return -ENOMEM;
    tk->t = nt;
    tk->cap = ncap;
  }
  copy = malloc (len + 1);
  if (copy == NULL)
    return -ENOMEM;
  memcpy (copy, s, len);
  copy[len] = '\0';
  tk->t[tk->n].s = copy;
  tk->t[tk->n].quote = quote;
  tk->n++;
  return 0;
}

static bool
blank_or_high (unsigned char c)
{
  return c == ' ' || (c >= '\t' && c <= '\r') || c >= 0x80;
}

static bool
word_char (unsigned char c)
{
  return c != '\0' && !blank_or_high (c) && c != '!' && c != '#' && c != '{'
         && c != '}' && c != '"';
}

/* alloc_strvec() from libmultipath's parser. */
static int
tokenize (const char *cmd, struct tokens *tk)
{
  const unsigned char *cp = (const unsigned char *) cmd, *start;
  bool in_string = false;
  int rc;

  while (*cp != '\0' && blank_or_high (*cp))
    cp++;
  if (*cp == '\0' || *cp == '!' || *cp == '#')
    return 0;

  for (;;) {
    start = cp;
    if (*cp == '"' && !(in_string && cp[1] == '"')) {
      cp++;
      rc = tokens_push (tk, "\"", 1, true);
      in_string = !in_string;
    }
    else if (!in_string && (*cp == '{' || *cp == '}')) {
      cp++;
      rc = tokens_push (tk, (const char *) start, 1, false);
    }
    else {
      bool two_quotes = false;
      char *s, *qq;

      for (;;) {
        if (in_string)
          while (*cp != '\0' && *cp != '"')
            cp++;
        else
          while (word_char (*cp))
            cp++;
        /* Two quotes inside a string stand for one and do not end it. */
        if (in_string && cp[0] == '"' && cp[1] == '"') {
          two_quotes = true;
          cp += 2;
          continue;
        }
        break;
      }
      rc = tokens_push (tk, (const char *) start, (size_t) (cp - start),
                        false);
      if (rc == 0 && two_quotes) {
        s = tk->t[tk->n - 1].s;
        for (qq = strstr (s, "\"\""); qq != NULL;
             qq = strstr (qq + 1, "\"\""))
          memmove (qq + 1, qq + 2, strlen (qq + 2) + 1);
      }
    }
    if (rc < 0)
      return rc;

    while (!in_string && *cp != '\0' && blank_or_high (*cp))
      cp++;
    if (*cp == '\0' || (!in_string && (*cp == '!' || *cp == '#')))
      return 0;
  }
}

/* ---- keywords ---- */

/* find_key(): exact match wins at once; otherwise a prefix of exactly one
 * keyword.  Aliases with the same code still count as different keywords,
 * as in multipathd ("multipath" vs "multipaths" for "multi"). */
static const struct keyword *
find_key (const char *word)
{
  const struct keyword *found = NULL;
  size_t len = strlen (word), i;

  for (i = 0; i < NKEYS; i++) {
    if (strncmp (keys[i].str, word, len) != 0)
      continue;
    if (strlen (keys[i].str) == len)
      return &keys[i];
    if (found != NULL)
      return NULL;
    found = &keys[i];
  }
  return found;
}

void
braid_cli_cmd_free (struct braid_cli_cmd *c)
{
  size_t i;

  if (c == NULL)
    return;
  for (i = 0; i < c->nwords; i++)
    free (c->words[i].param);
  free (c->words);
  free (c);
}

static uint32_t
fingerprint (const struct braid_cli_cmd *c)
{
  uint32_t fp = 0;
  size_t i;

  if (c->nwords > 4)
    return 0;
  for (i = 0; i < c->nwords; i++)
    fp |= (uint32_t) c->words[i].code << (8 * i);
  return fp;
}

int
braid_cli_parse (const char *cmd, struct braid_cli_cmd **out)
{
  struct tokens tk = { 0 };
  struct braid_cli_cmd *c;
  const struct keyword *kw;
  bool get_param = false;
  size_t i;
  int rc;

  if (out == NULL)
    return -EINVAL;
  *out = NULL;
  if (cmd == NULL)
    return -EINVAL;
  rc = tokenize (cmd, &tk);
  if (rc < 0) {
    tokens_free (&tk);
    return rc;
  }
  if (tk.n == 0) {
    tokens_free (&tk);
    return -ENODATA;
  }
  c = calloc (1, sizeof *c);
  if (c == NULL || (c->words = calloc (tk.n, sizeof *c->words)) == NULL) {
    free (c);
    tokens_free (&tk);
    return -ENOMEM;
  }

  for (i = 0; i < tk.n && rc == 0; i++) {
    if (tk.t[i].quote)
      continue;
    if (get_param) {
      get_param = false;
      c->words[c->nwords - 1].param = strdup (tk.t[i].s);
      if (c->words[c->nwords - 1].param == NULL)
        rc = -ENOMEM;
      continue;
    }
    kw = find_key (tk.t[i].s);
    if (kw == NULL) {
      /* "Last token" counts quote marks, as upstream does. */
      rc = i == tk.n - 1 ? -ESRCH : -ENOENT;
      break;
    }
    c->words[c->nwords].code = kw->code;
    c->nwords++;
    get_param = kw->has_param;
  }
  if (rc == 0 && get_param)
    rc = -EINVAL;
  tokens_free (&tk);
  if (rc < 0) {
    braid_cli_cmd_free (c);
    return rc;
  }
  c->fingerprint = fingerprint (c);
  *out = c;
  return 0;
}

const char *
braid_cli_param (const struct braid_cli_cmd *c, uint8_t code)
{
  size_t i;

  if (c == NULL)
    return NULL;
  for (i = 0; i < c->nwords; i++)
    if (c->words[i].code == code)
      return c->words[i].param;
  return NULL;
}

bool
braid_cli_has_handler (uint32_t fingerprint)
{
  size_t i;

  if (fingerprint == 0)
    return false;
  for (i = 0; i < NHANDLERS; i++)
    if (handlers[i] == fingerprint)
      return true;
  return false;
}

/* ---- help text ---- */

struct out {
  char *buf;
  size_t len, used;
  bool bad;
};

static void BRAID_PRINTF (2, 3)
out_printf (struct out *o, const char *fmt, ...)
{
  va_list ap;
  size_t room = o->used < o->len ? o->len - o->used : 0;
  int n;

  va_start (ap, fmt);
  n = vsnprintf (room > 0 ? o->buf + o->used : NULL, room, fmt, ap);
  va_end (ap);
  if (n < 0)
    o->bad = true;
  else
    o->used += (size_t) n;
}

int
braid_cli_help (char *buf, size_t len, const char *cmd, int err,
                const char *version)
{
  struct out o = { buf, len, 0, false };
  size_t i, j, k;
  uint32_t fp, code;

  if ((buf == NULL && len > 0) || cmd == NULL)
    return -EINVAL;
  if (len > 0)
    buf[0] = '\0';
  switch (err) {
  case -ENOMEM:
  case -ENODATA:
    out_printf (&o, "%s: Not enough memory\n", cmd);
    break;
  case -ESRCH:
    out_printf (&o, "%s: not found\n", cmd);
    break;
  case -EINVAL:
    out_printf (&o, "%s: Missing argument\n", cmd);
    break;
  default:
    break;
  }
  out_printf (&o, "%s", version != NULL ? version : "");
  out_printf (&o, "CLI commands reference:\n");
  for (i = 0; i < NHANDLERS; i++) {
    fp = handlers[i];
    for (k = 0; k < 4; k++, fp >>= 8) {
      code = fp & 0xff;
      if (code == 0)
        break;
      for (j = 0; j < NKEYS; j++) {
        size_t a;

        if (keys[j].code != code)
          continue;
        out_printf (&o, " %s", keys[j].str);
        for (a = 0; a < NKEYS; a++)
          if (a != j && keys[a].code == code)
            out_printf (&o, "|%s", keys[a].str);
        if (keys[j].has_param)
          out_printf (&o, " $%s", keys[j].str);
        break;
      }
    }
    out_printf (&o, "\n");
  }
  if (o.bad || o.used > INT32_MAX)
    return -EINVAL;
  return (int) o.used;
}
