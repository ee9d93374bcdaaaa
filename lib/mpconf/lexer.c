/* lexer.c: lines and tokens of multipath.conf, as multipath-tools 0.9.4
 * cuts them.
 *
 * Compatibility matters more than elegance here, because admins' files
 * were written against that tokenizer and its accidents:
 *   - a "line" is what fgets() returns into a 1024-byte buffer, so a
 *     longer physical line is parsed as several lines, each counting for
 *     the line numbers of the messages;
 *   - the line ends at its first '\n' or '\r' after any leading ones
 *     (CRLF files work; a stray CR hides the rest of the line);
 *   - leading blanks and non-ASCII bytes are skipped; '#' and '!' start a
 *     comment outside quotes, even in the middle of a word;
 *   - '{' and '}' are tokens of their own outside quotes;
 *   - a double quote emits a quote marker token, the quoted text is one
 *     token in which "" stands for one ", and the closing quote emits a
 *     second marker.  The marker's text is "" (messages print it as '').
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf-internal.h"

const char mpc_quote[] = "";

bool
mpc_read_line (FILE *f, char buf[MPC_MAXBUF])
{
  char *p;

  if (!fgets (buf, MPC_MAXBUF, f))
    return false;
  /* 0.9.4 runs strtok (buf, "\n\r") and ignores the result: leading CR
   * and LF are skipped (and stay in the buffer, where they read as
   * blanks), and the line ends at the next CR or LF */
  p = buf + strspn (buf, "\r\n");
  if ((p = strpbrk (p, "\r\n")))
    *p = '\0';
  return true;
}

void
mpc_tokens_clear (struct mpc_tokens *tok)
{
  for (size_t i = 0; i < tok->n; i++)
    if (!MPC_IS_QUOTE (tok->t[i]))
      free (tok->t[i]);
  free (tok->t);
  tok->t = NULL;
  tok->n = tok->cap = 0;
}

static int
tok_push (struct mpc_tokens *tok, char *s)
{
  if (!s)
    return -ENOMEM;
  if (tok->n == tok->cap)
    {
      size_t cap = tok->cap ? tok->cap * 2 : 8;
      char **t = realloc (tok->t, cap * sizeof *t);
      if (!t)
        {
          if (!MPC_IS_QUOTE (s))
            free (s);
          return -ENOMEM;
        }
      tok->t = t;
      tok->cap = cap;
    }
  tok->t[tok->n++] = s;
  return 0;
}

/* Bytes the tokenizer treats as blanks between tokens: white space and,
 * like multipath-tools, anything outside 7-bit ASCII. */
static bool
is_blank (unsigned char c)
{
  return c != '\0' && (isspace (c) || !isascii (c));
}

/* Characters that may continue an unquoted word. */
static bool
is_word (unsigned char c)
{
  return c != '\0' && !isspace (c) && isascii (c) && c != '!' && c != '#'
         && c != '{' && c != '}' && c != '"';
}

/* Copy [start, end) collapsing every "" into ". */
static char *
unquote_copy (const char *start, const char *end)
{
  char *s = malloc ((size_t) (end - start) + 1);
  char *q = s;

  if (!s)
    return NULL;
  for (const char *p = start; p < end; p++)
    {
      *q++ = *p;
      if (*p == '"' && p + 1 < end && p[1] == '"')
        p++;
    }
  *q = '\0';
  return s;
}

int
mpc_tokenize (const char *line, struct mpc_tokens *tok)
{
  const unsigned char *p = (const unsigned char *) line;
  bool in_string = false;
  int r;

  /* reuse the array, not the previous line's tokens */
  for (size_t i = 0; i < tok->n; i++)
    if (!MPC_IS_QUOTE (tok->t[i]))
      free (tok->t[i]);
  tok->n = 0;
  while (is_blank (*p))
    p++;
  if (*p == '\0' || *p == '!' || *p == '#')
    return 0;

  for (;;)
    {
      if (*p == '"' && !(in_string && p[1] == '"'))
        {
          /* opening or closing quote: a marker token */
          r = tok_push (tok, (char *) mpc_quote);
          p++;
          in_string = !in_string;
        }
      else if (!in_string && (*p == '{' || *p == '}'))
        {
          char b[2] = { (char) *p, '\0' };
          r = tok_push (tok, strdup (b));
          p++;
        }
      else
        {
          const unsigned char *start = p;

          for (;;)
            {
              if (in_string)
                while (*p != '\0' && *p != '"')
                  p++;
              else
                while (is_word (*p))
                  p++;
              /* a doubled quote inside a string does not end it */
              if (in_string && *p == '"' && p[1] == '"')
                {
                  p += 2;
                  continue;
                }
              break;
            }
          r = tok_push (tok, unquote_copy ((const char *) start,
                                           (const char *) p));
        }
      if (r < 0)
        return r;

      if (!in_string)
        while (is_blank (*p))
          p++;
      if (*p == '\0' || (!in_string && (*p == '!' || *p == '#')))
        return 0;
    }
}

char *
mpc_token_value (const struct mpc_tokens *tok)
{
  if (tok->n < 2)
    return strdup ("");
  if (!MPC_IS_QUOTE (tok->t[1]))
    return strdup (tok->t[1]);
  if (tok->n > 2 && !MPC_IS_QUOTE (tok->t[2]))
    return strdup (tok->t[2]);
  return strdup ("");
}

/* The keywords multipath-tools' validator treats as section openers.
 * "overrides" and "protocol" are missing from its list, so a bare
 * "overrides" line is "missing a value" there (and skipped), while a bare
 * "defaults" line still opens its section. */
static bool
is_sublevel_keyword (const char *s)
{
  static const char *const names[] = {
    "defaults", "blacklist", "blacklist_exceptions", "devices", "device",
    "multipaths", "multipath", NULL
  };
  for (size_t i = 0; names[i]; i++)
    if (strcmp (s, names[i]) == 0)
      return true;
  return false;
}

int
mpc_validate_line (struct mpc_ctx *ctx, const struct mpc_tokens *tok)
{
  const char *str = tok->t[0];
  const char *f = ctx->file;
  int ln = ctx->line;

  if (str[0] == '}')
    {
      if (tok->n > 1)
        mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                  "ignoring extra data starting with '%s' on line %d of %s",
                  tok->t[1], ln, f);
      return 0;
    }
  if (str[0] == '{')
    {
      mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                "invalid keyword '%s' on line %d of %s", str, ln, f);
      return -1;
    }
  if (is_sublevel_keyword (str))
    {
      if (tok->n < 2)
        mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                  "missing '{' on line %d of %s", ln, f);
      else if (tok->t[1][0] != '{')
        mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                  "expecting '{' on line %d of %s. found '%s'", ln, f,
                  tok->t[1]);
      else if (tok->n > 2)
        mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                  "ignoring extra data starting with '%s' on line %d of %s",
                  tok->t[2], ln, f);
      return 0;
    }
  if (tok->n < 2)
    {
      mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                "missing value for option '%s' on line %d of %s", str, ln, f);
      return -1;
    }
  if (!MPC_IS_QUOTE (tok->t[1]))
    {
      if (tok->n > 2)
        mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                  "ignoring extra data starting with '%s' on line %d of %s",
                  tok->t[2], ln, f);
      return 0;
    }
  for (size_t i = 2; i < tok->n; i++)
    {
      if (MPC_IS_QUOTE (tok->t[i]))
        {
          if (tok->n > i + 1)
            mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                      "ignoring extra data starting with '%s' on line %d "
                      "of %s", tok->t[i + 1], ln, f);
          return 0;
        }
      /* a quoted value is one token: a second one before the closing
       * quote means the quotes are not where they should be */
      if (i > 2)
        {
          mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
                    "parsing error starting with '%s' on line %d of %s",
                    tok->t[i], ln, f);
          return -1;
        }
    }
  mpc_diag (ctx, BRAID_LOG_WARNING, f, ln, true,
            "missing closing quotes on line %d of %s", ln, f);
  return 0;
}
