/* test_tokenizer.c: multipath.conf lines and tokens (lib/mpconf/lexer.c).
 *
 * The 20 tokenizer cases of multipath-tools' tests/parser.c (VECTORS §D:
 * quote markers, doubled quotes, comments, blanks), then the line reader:
 * 1024-byte chunks counted as lines, CR and LF cut, NUL bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mpconf/mpconf-internal.h"

/* Expected token lists use Q for a quote marker. */
#define Q "\001Q"

struct vec {
  const char *line;
  const char *tokens[8];
  const char *value;
};

static const struct vec vectors[] = {
  { "keyword value", { "keyword", "value" }, "value" },
  { "keyword \"value\"", { "keyword", Q, "value", Q }, "value" },
  { "keyword value\n", { "keyword", "value" }, "value" },
  { "keyword \t   value   \t \n   ", { "keyword", "value" }, "value" },
  { "keyword \t   value   \t ! comment  ", { "keyword", "value" }, "value" },
  { "keyword \t   value   # \n comment  ", { "keyword", "value" }, "value" },
  { "keyword \t   value   more  ", { "keyword", "value", "more" }, "value" },
  { "keyword \t \"  value   more  \"", { "keyword", Q, "  value   more  ", Q },
    "  value   more  " },
  { "keyword \"value # more\"", { "keyword", Q, "value # more", Q },
    "value # more" },
  { "keyword \"value ! more\"", { "keyword", Q, "value ! more", Q },
    "value ! more" },
  { "keyword\"value comment\"", { "keyword", Q, "value comment", Q },
    "value comment" },
  { "key\"word\"", { "key", Q, "word", Q }, "word" },
  { "keyword value \"quoted\"", { "keyword", "value", Q, "quoted", Q },
    "value" },
  { "keyword \"value \"  comment\"\"",
    { "keyword", Q, "value ", Q, "comment", Q, Q }, "value " },
  { "key\"word  value\n  comment\"", { "key", Q, "word  value\n  comment", Q },
    "word  value\n  comment" },
  { "keyword \"2.5\"\" SSD\"", { "keyword", Q, "2.5\" SSD", Q }, "2.5\" SSD" },
  { "keyword \"\"\"\"\" is empty\"", { "keyword", Q, "\"\" is empty", Q },
    "\"\" is empty" },
  { "keyword \"\"\"\"", { "keyword", Q, "\"", Q }, "\"" },
  { "key \"!value\"", { "key", Q, "!value", Q }, "!value" },
  { "key \"#value\"", { "key", Q, "#value", Q }, "#value" },
};

static void
check_tokens (const struct vec *v)
{
  struct mpc_tokens tok = { 0 };
  size_t n = 0;
  char *value;

  assert_int_equal (mpc_tokenize (v->line, &tok), 0);
  while (n < 8 && v->tokens[n])
    n++;
  if (tok.n != n)
    fail_msg ("line '%s': %zu tokens, expected %zu", v->line, tok.n, n);
  for (size_t i = 0; i < n; i++)
    {
      if (strcmp (v->tokens[i], Q) == 0)
        assert_true (MPC_IS_QUOTE (tok.t[i]));
      else
        {
          assert_false (MPC_IS_QUOTE (tok.t[i]));
          assert_string_equal (tok.t[i], v->tokens[i]);
        }
    }
  value = mpc_token_value (&tok);
  assert_non_null (value);
  assert_string_equal (value, v->value);
  free (value);
  mpc_tokens_clear (&tok);
}

static void
test_vectors (void **state)
{
  (void) state;
  for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++)
    check_tokens (&vectors[i]);
}

static void
test_braces_and_comments (void **state)
{
  static const struct vec more[] = {
    /* braces are tokens of their own outside quotes */
    { "defaults{", { "defaults", "{" }, "{" },
    { "yes}", { "yes", "}" }, "}" },
    { "k \"a{b}\"", { "k", Q, "a{b}", Q }, "a{b}" },
    /* a comment may start inside a word */
    { "alias_prefix ab#cd", { "alias_prefix", "ab" }, "ab" },
    { "path_checker xx!yy", { "path_checker", "xx" }, "xx" },
    /* non-ASCII bytes act as blanks outside quotes */
    { "k \xc3\xa9" "abc\xc3\xa9", { "k", "abc" }, "abc" },
    /* missing closing quote: the value is still taken */
    { "k \"abc", { "k", Q, "abc" }, "abc" },
    { "k \"", { "k", Q }, "" },
    { "k \"\"", { "k", Q, Q }, "" },
  };
  (void) state;
  for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
    check_tokens (&more[i]);
}

static void
test_comment_lines (void **state)
{
  static const char *const lines[] = { "", "   \t ", "# x", "  ! y",
                                       "\xc3\xa9", NULL };
  struct mpc_tokens tok = { 0 };

  (void) state;
  for (size_t i = 0; lines[i]; i++)
    {
      assert_int_equal (mpc_tokenize (lines[i], &tok), 0);
      assert_int_equal (tok.n, 0);
    }
  mpc_tokens_clear (&tok);
}

static void
test_read_line (void **state)
{
  char text[3000], buf[MPC_MAXBUF];
  size_t n = 0;
  FILE *f;

  (void) state;
  /* 1500 characters: parsed as a 1023-byte line and a 477-byte one */
  memset (text, 'a', 1500);
  n = 1500;
  memcpy (text + n, "\nx\r\ny\rz\n\r\rw\rv\n", 14);
  n += 14;
  f = fmemopen (text, n, "r");
  assert_non_null (f);
  assert_true (mpc_read_line (f, buf));
  assert_int_equal (strlen (buf), 1023);
  assert_true (mpc_read_line (f, buf));
  assert_int_equal (strlen (buf), 477);
  assert_true (mpc_read_line (f, buf));
  assert_string_equal (buf, "x");
  /* a CR ends the line */
  assert_true (mpc_read_line (f, buf));
  assert_string_equal (buf, "y");
  /* leading CRs are skipped over (and kept: they read as blanks) */
  assert_true (mpc_read_line (f, buf));
  assert_string_equal (buf, "\r\rw");
  assert_false (mpc_read_line (f, buf));
  fclose (f);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_vectors),
    cmocka_unit_test (test_braces_and_comments),
    cmocka_unit_test (test_comment_lines),
    cmocka_unit_test (test_read_line),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
