/* test_cmdparse.c: the multipathd command tokenizer (vectors §H, quoting
 * as the config lexer, §D): keyword prefixes and ambiguity, the error
 * codes, ordered fingerprints, parameters, handler lookup and the help
 * reply. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpstate.h"

#define L BRAID_CLI_VRB_LIST
#define K(x) BRAID_CLI_KEY_##x
#define V(x) BRAID_CLI_VRB_##x

static int
parse_rc (const char *cmd)
{
  struct braid_cli_cmd *c = (struct braid_cli_cmd *) 1;
  int rc = braid_cli_parse (cmd, &c);

  if (rc == 0)
    braid_cli_cmd_free (c);
  else
    assert_null (c);
  return rc;
}

/* Parse, check fingerprint and whether a handler exists. */
static struct braid_cli_cmd *
parse_ok (const char *cmd, uint32_t fp, bool handler)
{
  struct braid_cli_cmd *c = NULL;
  int rc = braid_cli_parse (cmd, &c);

  if (rc != 0)
    fail_msg ("'%s': rc %d", cmd, rc);
  if (c->fingerprint != fp)
    fail_msg ("'%s': fingerprint 0x%08x, want 0x%08x", cmd, c->fingerprint,
              fp);
  if (braid_cli_has_handler (c->fingerprint) != handler)
    fail_msg ("'%s': handler %d, want %d", cmd, !handler, handler);
  return c;
}

static void
ok (const char *cmd, uint32_t fp, bool handler)
{
  braid_cli_cmd_free (parse_ok (cmd, fp, handler));
}

static void
test_errors (void **state)
{
  (void) state;
  assert_int_equal (parse_rc (""), -ENODATA);
  assert_int_equal (parse_rc ("   \t "), -ENODATA);
  assert_int_equal (parse_rc ("# just a comment"), -ENODATA);
  assert_int_equal (parse_rc ("bogus"), -ESRCH);
  assert_int_equal (parse_rc ("s"), -ESRCH);
  assert_int_equal (parse_rc ("sh"), -ESRCH);
  assert_int_equal (parse_rc ("disable queueing"), -ESRCH);
  assert_int_equal (parse_rc ("queueing disable"), -ENOENT);
  assert_int_equal (parse_rc ("sh maps"), -ENOENT);
  assert_int_equal (parse_rc ("show map"), -EINVAL);
  assert_int_equal (parse_rc ("show ma"), -ESRCH);
  assert_int_equal (parse_rc ("show map xy bogus"), -ESRCH);
  /* "multi" could be multipaths or multipath. */
  assert_int_equal (parse_rc ("show multi"), -ESRCH);
  assert_int_equal (braid_cli_parse ("show", NULL), -EINVAL);
  {
    struct braid_cli_cmd *c;

    assert_int_equal (braid_cli_parse (NULL, &c), -EINVAL);
  }
}

static void
test_verbs (void **state)
{
  (void) state;
  ok ("list", BRAID_CLI_FP1 (L), false);
  ok ("show", BRAID_CLI_FP1 (L), false);
  ok ("sho", BRAID_CLI_FP1 (L), false);
  ok ("add", BRAID_CLI_FP1 (V (ADD)), false);
  ok ("resume", BRAID_CLI_FP1 (V (RESUME)), false);
  ok ("disablequeueing", BRAID_CLI_FP1 (V (DISABLEQ)), false);
  ok ("disable", BRAID_CLI_FP1 (V (DISABLEQ)), false);
  ok ("setprkey", BRAID_CLI_FP1 (V (SETPRKEY)), false);
  ok ("quit", BRAID_CLI_FP1 (V (QUIT)), true);
  ok ("exit", BRAID_CLI_FP1 (V (QUIT)), true);
  ok ("shutdown", BRAID_CLI_FP1 (V (SHUTDOWN)), true);
  ok ("reconfigure", BRAID_CLI_FP1 (V (RECONFIGURE)), true);
  ok ("reconfigure all", BRAID_CLI_FP2 (V (RECONFIGURE), K (ALL)), true);
}

static void
test_order_and_length (void **state)
{
  (void) state;
  ok ("show maps", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("sho maps", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("sho multipaths", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("show list maps", BRAID_CLI_FP3 (L, L, K (MAPS)), false);
  ok ("show maps list", BRAID_CLI_FP3 (L, K (MAPS), L), false);
  ok ("maps show", BRAID_CLI_FP2 (K (MAPS), L), false);
  ok ("show maps json", BRAID_CLI_FP3 (L, K (MAPS), K (JSON)), true);
  ok ("show json maps", BRAID_CLI_FP3 (L, K (JSON), K (MAPS)), false);
  ok ("show maps list json", BRAID_CLI_FP4 (L, K (MAPS), L, K (JSON)), false);
  ok ("q q q q",
      BRAID_CLI_FP4 (V (QUIT), V (QUIT), V (QUIT), V (QUIT)), false);
  {
    struct braid_cli_cmd *c = parse_ok ("show maps list json raw", 0, false);

    assert_int_equal (c->nwords, 5);
    braid_cli_cmd_free (c);
  }
}

static void
test_params (void **state)
{
  struct braid_cli_cmd *c;

  (void) state;
  c = parse_ok ("show path xy", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_int_equal (c->nwords, 2);
  assert_null (c->words[0].param);
  assert_string_equal (c->words[1].param, "xy");
  assert_string_equal (braid_cli_param (c, K (PATH)), "xy");
  assert_null (braid_cli_param (c, K (MAP)));
  braid_cli_cmd_free (c);

  c = parse_ok ("show path \"xy\"", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "xy");
  braid_cli_cmd_free (c);
  c = parse_ok ("show path \"x y\"", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "x y");
  braid_cli_cmd_free (c);
  c = parse_ok ("show path \"2\"\"\"", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "2\"");
  braid_cli_cmd_free (c);
  c = parse_ok ("show path \"2\"\"", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "2\"");
  braid_cli_cmd_free (c);

  c = parse_ok ("show map xy", BRAID_CLI_FP2 (L, K (MAP)), false);
  assert_string_equal (braid_cli_param (c, K (MAP)), "xy");
  braid_cli_cmd_free (c);
  c = parse_ok ("show map xy form %h", BRAID_CLI_FP3 (L, K (MAP), K (FMT)),
                true);
  assert_string_equal (braid_cli_param (c, K (MAP)), "xy");
  assert_string_equal (braid_cli_param (c, K (FMT)), "%h");
  braid_cli_cmd_free (c);
  c = parse_ok ("show map xy raw form %h",
                BRAID_CLI_FP4 (L, K (MAP), K (RAW), K (FMT)), true);
  assert_string_equal (braid_cli_param (c, K (FMT)), "%h");
  braid_cli_cmd_free (c);
  ok ("show map xy form %h raw", BRAID_CLI_FP4 (L, K (MAP), K (FMT), K (RAW)),
      false);
  c = parse_ok ("list path sda", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "sda");
  braid_cli_cmd_free (c);
  c = parse_ok ("add path sda", BRAID_CLI_FP2 (V (ADD), K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "sda");
  braid_cli_cmd_free (c);
  ok ("list list path sda", BRAID_CLI_FP3 (L, L, K (PATH)), false);

  /* Parameters are taken verbatim, even when they look like keywords. */
  c = parse_ok ("del map maps", BRAID_CLI_FP2 (V (DEL), K (MAP)), true);
  assert_string_equal (braid_cli_param (c, K (MAP)), "maps");
  braid_cli_cmd_free (c);
  c = parse_ok ("switch map mpatha group 2",
                BRAID_CLI_FP3 (V (SWITCH), K (MAP), K (GROUP)), true);
  assert_string_equal (braid_cli_param (c, K (GROUP)), "2");
  braid_cli_cmd_free (c);
  c = parse_ok ("setprkey map mpatha key 0x1234",
                BRAID_CLI_FP3 (V (SETPRKEY), K (MAP), K (KEY)), true);
  assert_string_equal (braid_cli_param (c, K (KEY)), "0x1234");
  braid_cli_cmd_free (c);
  /* Verb first in 0.9.x, as libmpathpersist sends it. */
  ok ("getprstatus map mpatha", BRAID_CLI_FP2 (V (GETPRSTATUS), K (MAP)),
      true);
  ok ("map mpatha getprstatus", BRAID_CLI_FP2 (K (MAP), V (GETPRSTATUS)),
      false);
}

static void
test_lexing (void **state)
{
  struct braid_cli_cmd *c;

  (void) state;
  /* Blanks, tabs, comments. */
  ok ("  show \t maps  ", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("show maps # and a comment", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("show maps! comment", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("show maps\n", BRAID_CLI_FP2 (L, K (MAPS)), true);
  /* Quoted keywords still match; quote marks are not words. */
  ok ("show \"maps\"", BRAID_CLI_FP2 (L, K (MAPS)), true);
  ok ("\"show\"maps", BRAID_CLI_FP2 (L, K (MAPS)), true);
  /* Bytes outside ASCII separate words outside quotes ... */
  ok ("show\xc2\xa0maps", BRAID_CLI_FP2 (L, K (MAPS)), true);
  /* ... and are kept inside them, with '#', '!' and braces. */
  c = parse_ok ("show path \"a#b!{c}\xc3\xa9\"", BRAID_CLI_FP2 (L, K (PATH)),
                true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "a#b!{c}\xc3\xa9");
  braid_cli_cmd_free (c);
  /* Braces are words of their own outside quotes. */
  assert_int_equal (parse_rc ("show {maps}"), -ENOENT);
  c = parse_ok ("show path {", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "{");
  braid_cli_cmd_free (c);
  /* An empty quoted string is no parameter: quote marks are skipped. */
  assert_int_equal (parse_rc ("show path \"\""), -EINVAL);
  /* Doubled quotes inside strings. */
  c = parse_ok ("show path \"\"\"\"", BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "\"");
  braid_cli_cmd_free (c);
  c = parse_ok ("show path \"2.5\"\" SSD\"", BRAID_CLI_FP2 (L, K (PATH)),
                true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "2.5\" SSD");
  braid_cli_cmd_free (c);
  c = parse_ok ("show path \"\"\"\"\" is empty\"",
                BRAID_CLI_FP2 (L, K (PATH)), true);
  assert_string_equal (braid_cli_param (c, K (PATH)), "\"\" is empty");
  braid_cli_cmd_free (c);
  /* The unknown word counts as last only if no quote mark follows. */
  assert_int_equal (parse_rc ("show \"bogus\""), -ENOENT);
  assert_int_equal (parse_rc ("show \"bogus"), -ESRCH);
}

static void
test_help (void **state)
{
  char *buf;
  int n, m;

  (void) state;
  n = braid_cli_help (NULL, 0, "bogus", -ESRCH,
                      "multipath-tools v0.9.4 (12/19, 2022)\n");
  assert_true (n > 0);
  buf = malloc ((size_t) n + 1);
  assert_non_null (buf);
  m = braid_cli_help (buf, (size_t) n + 1, "bogus", -ESRCH,
                      "multipath-tools v0.9.4 (12/19, 2022)\n");
  assert_int_equal (m, n);
  assert_int_equal ((int) strlen (buf), n);
  assert_true (strncmp (buf,
                        "bogus: not found\n"
                        "multipath-tools v0.9.4 (12/19, 2022)\n"
                        "CLI commands reference:\n"
                        " list|show paths\n"
                        " list|show paths format $format\n"
                        " list|show paths raw format $format\n"
                        " list|show path $path\n"
                        " list|show maps|multipaths\n",
                        strlen ("bogus: not found\n")) == 0);
  assert_non_null (strstr (buf, "CLI commands reference:\n"
                                " list|show paths\n"
                                " list|show paths format $format\n"
                                " list|show paths raw format $format\n"
                                " list|show path $path\n"
                                " list|show maps|multipaths\n"));
  assert_non_null (strstr (buf, "\n switch|switchgroup map|multipath $map "
                                "group $group\n"));
  assert_non_null (strstr (buf, "\n remove|del maps|multipaths\n"));
  assert_non_null (strstr (buf, "\n quit|exit\n"));
  assert_non_null (strstr (buf, "\n setprkey map|multipath $map key $key\n"));
  assert_true (n > 10 && strcmp (buf + n - strlen (" unsetmarginal "
                                                   "map|multipath $map\n"),
                                 " unsetmarginal map|multipath $map\n") == 0);
  free (buf);

  /* The first line depends on the error. */
  buf = malloc (8192);
  assert_non_null (buf);
  braid_cli_help (buf, 8192, "show map", -EINVAL, "");
  assert_true (strncmp (buf, "show map: Missing argument\n"
                             "CLI commands reference:\n", 51) == 0);
  braid_cli_help (buf, 8192, "", -ENODATA, "");
  assert_true (strncmp (buf, ": Not enough memory\n", 20) == 0);
  braid_cli_help (buf, 8192, "sh maps", -ENOENT, "");
  assert_true (strncmp (buf, "CLI commands reference:\n", 24) == 0);
  /* Truncation is safe and reports the full length. */
  assert_int_equal (braid_cli_help (buf, 5, "x", -ESRCH, ""), n - 4 - 37);
  assert_string_equal (buf, "x: n");
  free (buf);
  assert_int_equal (braid_cli_help (NULL, 4, "x", 0, ""), -EINVAL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_errors),
    cmocka_unit_test (test_verbs),
    cmocka_unit_test (test_order_and_length),
    cmocka_unit_test (test_params),
    cmocka_unit_test (test_lexing),
    cmocka_unit_test (test_help),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
