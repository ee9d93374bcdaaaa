/* test_bindings.c: the bindings file and alias selection (vectors §A.4,
 * §A.6-§A.8, reference §3.2-§3.3): reading fixtures the way 0.9.x reads
 * them, the 0.9.7+ consistency checks and repair, get_user_friendly_alias
 * case by case, sorted atomic rewrites compared byte for byte with
 * expected fixtures, read-only handling and a failing write. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/mpstate.h"
#include "mpstate-testutil.h"

#define A "360014051f8c5d3c1a3b4e5f6a7b8c9d0"
#define B "3600a098038303053453f463045727431"
#define C "36005076801810523100000000000000a"
#define D "2a1b2c3d4e5f60718"

/* ---- helpers (shared with test_wwids.c: mpstate-testutil.h) ---- */

static int
count_files (const char *dir)
{
  DIR *d = opendir (dir);
  struct dirent *de;
  int n = 0;

  if (d == NULL)
    return -1;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      n++;
  closedir (d);
  return n;
}

static int
setup (void **state)
{
  return env_setup (state, "bindings");
}

static struct braid_bindings *
open_b (const char *path, struct logs *l)
{
  struct braid_bindings *b = braid_bindings_new (path);

  assert_non_null (b);
  if (l != NULL)
    braid_bindings_set_log_fn (b, log_fn, l, BRAID_LOG_DEBUG);
  braid_bindings_set_lock_timeout (b, 1000);
  return b;
}

struct taken_set {
  const char *const *aliases;
};

static bool
taken_fn (void *opaque, const char *alias, const char *wwid)
{
  const struct taken_set *t = opaque;
  size_t i;

  (void) wwid;
  for (i = 0; t->aliases != NULL && t->aliases[i] != NULL; i++)
    if (strcmp (t->aliases[i], alias) == 0)
      return true;
  return false;
}

#define TAKEN(...) ((const char *const[]) { __VA_ARGS__, NULL })

/* ---- reading ---- */

static void
test_load_mpt (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  const char *alias, *wwid;
  struct logs l = { 0 };

  copy_fixture ("bindings.mpt", e->path);
  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_NOT_LOADED);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_OK);
  assert_int_equal (braid_bindings_count (b), 4);
  assert_int_equal (braid_bindings_get (b, 3, &alias, &wwid), 0);
  assert_string_equal (alias, "mpathaa");
  assert_string_equal (wwid, D);
  assert_int_equal (braid_bindings_get (b, 4, &alias, &wwid), -ERANGE);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "mpathz"), C);
  assert_string_equal (braid_bindings_alias_for_wwid (b, B), "mpathb");
  assert_null (braid_bindings_wwid_for_alias (b, "mpathc"));
  assert_null (braid_bindings_alias_for_wwid (b, "nope"));
  /* Nothing rewritten, nothing odd logged. */
  assert_same_as_fixture (e->path, "bindings.mpt");
  assert_int_equal (l.n, 0);
  braid_bindings_free (b);
}

static void
test_load_edited (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  struct logs l = { 0 };

  copy_fixture ("bindings.edited", e->path);
  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  /* Odd but consistent: read, not rewritten. */
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_OK);
  assert_same_as_fixture (e->path, "bindings.edited");
  assert_int_equal (braid_bindings_count (b), 4);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "mpatha"), A);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "mpathb"), B);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "mpathc"), C);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "data01"), D);
  assert_null (braid_bindings_wwid_for_alias (b, "mpathd"));
  assert_null (braid_bindings_wwid_for_alias (b, "mpathe"));
  assert_true (logged (&l, "bindings:12: extra args \"extra\" ignored"));
  assert_true (logged (&l, "bindings:13: missing WWID, line ignored"));
  assert_true (logged (&l, "bindings:14: WWID longer than 127 bytes"));
  assert_true (logged (&l, "bindings:15: duplicate line for alias mpatha"));
  braid_bindings_free (b);
}

static void
test_load_conflicts (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  struct logs l = { 0 };
  const struct braid_binding conf[] = {
    { "mpathc", "3600140500000000000000000000000c0" },
    { "root", A },
  };

  copy_fixture ("bindings.conflict", e->path);
  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_load (b, conf, 2, 0), 0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_REWRITTEN);
  assert_same_as_fixture (e->path, "bindings.conflict.repaired-expected");
  assert_true (logged (&l, "bindings:10: multiple bindings for alias "
                           "\"mpathb\", discarding binding to WWID " C));
  assert_true (logged (&l, "bindings:11: alias \"mpathc\" for WWID " D
                           " conflicts with multipath.conf entry for "
                           "3600140500000000000000000000000c0"));
  assert_true (logged (&l, "updated bindings file"));
  assert_string_equal (braid_bindings_wwid_for_alias (b, "mpathb"), B);
  assert_string_equal (braid_bindings_conf_alias (b, A), "root");
  /* Loading again finds a consistent file. */
  assert_int_equal (braid_bindings_load (b, conf, 2, 0), 0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_OK);
  braid_bindings_free (b);
}

static void
test_load_conflicts_read_only (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  struct logs l = { 0 };
  char out[64];

  copy_fixture ("bindings.conflict", e->path);
  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_load (b, NULL, 0, BRAID_BINDINGS_READ_ONLY),
                    -EROFS);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_BAD);
  assert_true (logged (&l, "bad settings in read-only bindings file"));
  /* Like multipath-tools, nothing of a bad file is used. */
  assert_int_equal (braid_bindings_count (b), 0);
  assert_int_equal (braid_bindings_get_alias (b, A, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), -EROFS);
  assert_same_as_fixture (e->path, "bindings.conflict");
  braid_bindings_free (b);
}

static void
test_load_old_header (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  struct logs l = { 0 };
  struct stat st;

  copy_fixture ("bindings.oldheader", e->path);
  assert_int_equal (chmod (e->path, 0644), 0);
  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_REWRITTEN);
  assert_true (logged (&l, "invalid header"));
  assert_same_as_fixture (e->path, "bindings.oldheader.repaired-expected");
  /* The rewrite is a fresh 0600 file, as multipath-tools' mkstemp. */
  assert_int_equal (stat (e->path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  assert_int_equal (count_files (e->dir), 1);
  braid_bindings_free (b);

  /* Shorter than the header. */
  put (e->path, "mpatha " A "\n");
  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_REWRITTEN);
  assert_true (logged (&l, "failed to read header"));
  assert_file_is (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\n");
  braid_bindings_free (b);
}

static void
test_load_creates (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  char path[600];
  struct stat st;

  snprintf (path, sizeof path, "%s/etc/multipath/bindings", e->dir);
  b = open_b (path, NULL);
  /* Read-only: a missing file stays missing and binds nothing. */
  assert_int_equal (braid_bindings_load (b, NULL, 0, BRAID_BINDINGS_READ_ONLY),
                    0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_OK);
  assert_int_equal (stat (path, &st), -1);
  /* Otherwise it is created holding the header, even if no alias is ever
   * allocated (multipath-tools does this at startup). */
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_same_as_fixture (path, "bindings.header-only");
  assert_int_equal (stat (path, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0600);
  braid_bindings_free (b);
}

static void
test_conf_aliases (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  struct logs l = { 0 };
  const struct braid_binding conf[] = {
    { "db", "3600140500000000000000000000000d2" },
    { "db", "3600140500000000000000000000000d1" },
    { "mpathb", "3600140500000000000000000000000bb" },
    { "web", A },
  };
  char out[64];

  b = open_b (e->path, &l);
  assert_int_equal (braid_bindings_load (b, conf, 4, 0), 0);
  /* One alias for two WWIDs: the smaller WWID keeps it. */
  assert_string_equal (braid_bindings_conf_alias (
                         b, "3600140500000000000000000000000d1"), "db");
  assert_null (braid_bindings_conf_alias (b,
                                          "3600140500000000000000000000000d2"));
  assert_true (logged (&l, "alias \"db\" bound to multiple wwids in "
                           "multipath.conf, discarding binding to "
                           "3600140500000000000000000000000d2"));
  /* "mpathb" is configured for another WWID, so allocation skips it. */
  assert_int_equal (braid_bindings_get_alias (b, B, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpatha");
  assert_int_equal (braid_bindings_get_alias (b, C, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpathc");
  /* ... and an existing map named "mpathb" is not adopted either. */
  assert_int_equal (braid_bindings_get_alias (b, D, "mpathb", "mpath", NULL,
                                              NULL, out, sizeof out), 1);
  assert_string_equal (out, "mpathd");
  assert_file_is (e->path, BRAID_BINDINGS_HEADER "mpatha " B "\n"
                           "mpathc " C "\n" "mpathd " D "\n");
  /* select_alias: the multipaths alias wins over everything. */
  assert_int_equal (braid_bindings_select_alias (b, A, true, NULL, "mpath",
                                                 NULL, NULL, out, sizeof out),
                    BRAID_ALIAS_FROM_CONF);
  assert_string_equal (out, "web");
  assert_int_equal (braid_bindings_select_alias (b, B, true, NULL, "mpath",
                                                 NULL, NULL, out, sizeof out),
                    BRAID_ALIAS_FROM_BINDINGS);
  assert_string_equal (out, "mpatha");
  assert_int_equal (braid_bindings_select_alias (
                      b, "3600140500000000000000000000000ee", true, NULL,
                      "mpath", NULL, NULL, out, sizeof out),
                    BRAID_ALIAS_NEW_BINDING);
  assert_string_equal (out, "mpathe");
  assert_int_equal (braid_bindings_select_alias (b, B, false, NULL, "mpath",
                                                 NULL, NULL, out, sizeof out),
                    BRAID_ALIAS_FROM_WWID);
  assert_string_equal (out, B);
  braid_bindings_free (b);
}

/* ---- A.6: get_user_friendly_alias ---- */

struct gufa {
  const char *name;
  const char *file;       /* lines after the header */
  const char *wwid;
  const char *alias_old;
  const char *const *taken;
  int rc;                 /* 0 existing, 1 written, <0 no alias */
  const char *alias;
  const char *file_after; /* lines after the header, NULL = unchanged */
};

static const struct gufa gufa_cases[] = {
  { "gufa_empty_new_rw", "", "WWID0", "", NULL, 1, "MPATHa",
    "MPATHa WWID0\n" },
  { "gufa_match_a_unused", "MPATHa WWID0\n", "WWID0", "", NULL, 0, "MPATHa",
    NULL },
  { "gufa_match_a_used", "MPATHa WWID0\n", "WWID0", "", TAKEN ("MPATHa"),
    -EBUSY, NULL, NULL },
  { "gufa_nomatch_a_c", "MPATHa WWID0\nMPATHc WWID2\n", "WWID1", "", NULL, 1,
    "MPATHb", "MPATHa WWID0\nMPATHb WWID1\nMPATHc WWID2\n" },
  { "gufa_nomatch_c_a", "MPATHc WWID2\nMPATHa WWID0\n", "WWID1", "", NULL, 1,
    "MPATHb", "MPATHa WWID0\nMPATHb WWID1\nMPATHc WWID2\n" },
  { "gufa_nomatch_c_b", "MPATHc WWID2\nMPATHb WWID1\n", "WWID0", "", NULL, 1,
    "MPATHa", "MPATHa WWID0\nMPATHb WWID1\nMPATHc WWID2\n" },
  { "gufa_nomatch_c_b_used", "MPATHc WWID2\nMPATHb WWID1\n", "WWID4", "",
    TAKEN ("MPATHa"), 1, "MPATHd",
    "MPATHb WWID1\nMPATHc WWID2\nMPATHd WWID4\n" },
  { "gufa_nomatch_b_f_a", "MPATHb WWID1\nMPATHf WWID6\nMPATHa WWID0\n",
    "WWID7", "", NULL, 1, "MPATHc",
    "MPATHa WWID0\nMPATHb WWID1\nMPATHc WWID7\nMPATHf WWID6\n" },
  { "gufa_old_empty", "", "WWID0", "MPATHz", NULL, 1, "MPATHz",
    "MPATHz WWID0\n" },
  { "gufa_old_match", "MPATHb WWID1\nMPATHz WWID0\n", "WWID0", "MPATHz", NULL,
    0, "MPATHz", NULL },
  { "gufa_old_match_other", "MPATHz WWID9\n", "WWID0", "MPATHz", NULL, 1,
    "MPATHa", "MPATHa WWID0\nMPATHz WWID9\n" },
  { "gufa_old_match_other_used", "MPATHz WWID9\n", "WWID0", "MPATHz",
    TAKEN ("MPATHa"), 1, "MPATHb", "MPATHb WWID0\nMPATHz WWID9\n" },
  { "gufa_old_match_other_wwidmatch", "MPATHz WWID9\nMPATHc WWID2\n", "WWID2",
    "MPATHz", NULL, 0, "MPATHc", NULL },
  { "gufa_old_match_other_wwidmatch_used", "MPATHz WWID9\nMPATHc WWID2\n",
    "WWID2", "MPATHz", TAKEN ("MPATHc"), -EBUSY, NULL, NULL },
  { "gufa_old_nomatch_wwidmatch", "MPATHa WWID0\n", "WWID0", "MPATHz", NULL,
    0, "MPATHa", NULL },
  { "gufa_old_nomatch_wwidmatch_used", "MPATHa WWID0\n", "WWID0", "MPATHz",
    TAKEN ("MPATHa"), -EBUSY, NULL, NULL },
  { "gufa_old_nomatch_nowwidmatch", "MPATHb WWID1\n", "WWID0", "MPATHz", NULL,
    1, "MPATHz", "MPATHb WWID1\nMPATHz WWID0\n" },
};

static void
test_a6_gufa (void **state)
{
  struct env *e = *state;
  char content[1024], want[1024], out[64];
  size_t i;

  for (i = 0; i < sizeof gufa_cases / sizeof gufa_cases[0]; i++) {
    const struct gufa *g = &gufa_cases[i];
    struct taken_set t = { g->taken };
    struct braid_bindings *b;
    char *after;
    int rc;

    snprintf (content, sizeof content, "%s%s", BRAID_BINDINGS_HEADER,
              g->file);
    put (e->path, content);
    b = open_b (e->path, NULL);
    assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
    out[0] = '\0';
    rc = braid_bindings_get_alias (b, g->wwid, g->alias_old, "MPATH",
                                   taken_fn, &t, out, sizeof out);
    if (rc != g->rc)
      fail_msg ("%s: rc %d, want %d (%s)", g->name, rc, g->rc,
                braid_bindings_get_error (b));
    if (g->alias != NULL && strcmp (out, g->alias) != 0)
      fail_msg ("%s: alias %s, want %s", g->name, out, g->alias);
    snprintf (want, sizeof want, "%s%s", BRAID_BINDINGS_HEADER,
              g->file_after != NULL ? g->file_after : g->file);
    after = slurp (e->path, NULL);
    if (strcmp (after, want) != 0)
      fail_msg ("%s: file\n%s\nwant\n%s", g->name, after, want);
    free (after);
    braid_bindings_free (b);
  }
}

static void
test_a6_gufa_self_and_read_only (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  char out[64];

  /* gufa_match_a_self: MPATHa is in use, but by this very WWID's map; the
   * taken callback says no for the same WWID. */
  put (e->path, BRAID_BINDINGS_HEADER "MPATHa WWID0\n");
  b = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_get_alias (b, "WWID0", NULL, "MPATH",
                                              NULL, NULL, out, sizeof out),
                    0);
  assert_string_equal (out, "MPATHa");
  braid_bindings_free (b);

  /* gufa_empty_new_ro_2: read-only, nothing may be allocated. */
  put (e->path, BRAID_BINDINGS_HEADER);
  b = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, BRAID_BINDINGS_READ_ONLY),
                    0);
  assert_int_equal (braid_bindings_get_alias (b, "WWID0", "", "MPATH", NULL,
                                              NULL, out, sizeof out), -EROFS);
  /* ... but existing bindings still work. */
  put (e->path, BRAID_BINDINGS_HEADER "MPATHa WWID0\n");
  assert_int_equal (braid_bindings_get_alias (b, "WWID0", "", "MPATH", NULL,
                                              NULL, out, sizeof out), 0);
  assert_string_equal (out, "MPATHa");
  assert_file_is (e->path, BRAID_BINDINGS_HEADER "MPATHa WWID0\n");
  /* select_alias falls back to the WWID. */
  assert_int_equal (braid_bindings_select_alias (b, "WWID1", true, NULL,
                                                 "MPATH", NULL, NULL, out,
                                                 sizeof out),
                    BRAID_ALIAS_FROM_WWID);
  assert_string_equal (out, "WWID1");
  braid_bindings_free (b);
}

/* gufa_empty_new_ro_1: writing the new file fails; the binding is dropped
 * and the old file stays. */
static void
test_a6_write_fails (void **state)
{
  struct env *e = *state;
  int status;
  pid_t pid;

  put (e->path, BRAID_BINDINGS_HEADER);
  pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0) {
    struct braid_bindings *b = braid_bindings_new (e->path);
    struct rlimit rl = { 100, 100 };
    char out[64];
    int rc;

    /* Files may not grow past 100 bytes: the 225-byte rewrite fails. */
    signal (SIGXFSZ, SIG_IGN);
    if (b == NULL || braid_bindings_load (b, NULL, 0, 0) != 0
        || setrlimit (RLIMIT_FSIZE, &rl) != 0)
      _exit (10);
    rc = braid_bindings_get_alias (b, "WWID0", "", "MPATH", NULL, NULL, out,
                                   sizeof out);
    if (rc != -EFBIG)
      _exit (11);
    if (braid_bindings_count (b) != 0)
      _exit (12);
    braid_bindings_free (b);
    _exit (0);
  }
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_file_is (e->path, BRAID_BINDINGS_HEADER);
  assert_int_equal (count_files (e->dir), 1);
}

/* ---- A.5: the 0.9.7+ column, read from real files ---- */

static void
test_a5_files (void **state)
{
  static const struct {
    const char *lines, *prefix, *want;
  } rows[] = {
    { "mpatha W1\nmpathb W2\nmpathd W3\n", "mpath", "mpathc" },
    { "mpathb W1\nmpathc W2\n", "mpath", "mpatha" },
    { "mpathc W1\nmpathb W2\nmpatha W3\n", "mpath", "mpathd" },
    { "mpatha W1\nmpathc W2\nmpathb W3\n", "mpath", "mpathd" },
    { "mpathz W1\nmpatha W2\n", "mpath", "mpathb" },
    { "mpathb W1\nmpatha W2\nmpathd W3\n", "mpath", "mpathc" },
    { "foo W1\nmpath0 W2\nmpatha W3\nmpathb\n", "mpath", "mpathb" },
    { "data01 W1\nmpathaa W2\nmpatha W3\n", "mpath", "mpathb" },
    { "mpatha W1\n", "mp", "mpa" },
    { "mpa W1\nmpb W2\nmpatha W3\n", "mp", "mpc" },
    { "# comment\n\nmpatha W1 # trailing comment\nmpathb\tW2\n", "mpath",
      "mpathc" },
  };
  struct env *e = *state;
  char content[1024], out[64];
  size_t i;

  for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    struct braid_bindings *b = open_b (e->path, NULL);

    snprintf (content, sizeof content, "%s%s", BRAID_BINDINGS_HEADER,
              rows[i].lines);
    put (e->path, content);
    assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
    assert_int_equal (braid_bindings_get_alias (b, "WNEW", NULL,
                                                rows[i].prefix, NULL, NULL,
                                                out, sizeof out), 1);
    if (strcmp (out, rows[i].want) != 0)
      fail_msg ("row %zu: %s, want %s", i + 1, out, rows[i].want);
    braid_bindings_free (b);
  }
}

/* ---- A.7: alias -> wwid ---- */

static void
test_a7_rlookup (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  char content[1024], big[140];

  b = open_b (e->path, NULL);
  put (e->path, BRAID_BINDINGS_HEADER);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_null (braid_bindings_wwid_for_alias (b, "MPATHa"));

  put (e->path, BRAID_BINDINGS_HEADER "MPATHa WWID0\n");
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "MPATHa"), "WWID0");
  assert_null (braid_bindings_wwid_for_alias (b, "MPATHb"));

  put (e->path, BRAID_BINDINGS_HEADER "MPATHa     \n");
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_null (braid_bindings_wwid_for_alias (b, "MPATHa"));

  memset (big, 'W', 135);
  big[135] = '\0';
  snprintf (content, sizeof content, "%sMPATHa %s\n", BRAID_BINDINGS_HEADER,
            big);
  put (e->path, content);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_null (braid_bindings_wwid_for_alias (b, "MPATHa"));

  put (e->path, BRAID_BINDINGS_HEADER
       "MPATHa WWID0\nMPATHz WWID26\nMPATHb WWID2\n");
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "MPATHb"), "WWID2");
  braid_bindings_free (b);
}

/* ---- A.8 and the 0.9.7+ rewrite ---- */

static void
test_a8_rewrite (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  char out[64];
  char path[600];

  /* A file 0.9.4 wrote (appended, unsorted): the first allocation rewrites
   * the whole file sorted. */
  copy_fixture ("bindings.094", e->path);
  b = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_same_as_fixture (e->path, "bindings.094");
  assert_int_equal (braid_bindings_get_alias (b, D, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpathd");
  assert_same_as_fixture (e->path, "bindings.094.alloc-expected");
  assert_int_equal (count_files (e->dir), 1);
  braid_bindings_free (b);

  /* The hand-edited file: comments and junk lines go. */
  copy_fixture ("bindings.edited", e->path);
  b = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_get_alias (
                      b, "3600140500000000000000000000000ff", NULL, "mpath",
                      NULL, NULL, out, sizeof out), 1);
  assert_string_equal (out, "mpathd");
  assert_same_as_fixture (e->path, "bindings.edited.alloc-expected");
  braid_bindings_free (b);

  /* A new file in new directories. */
  snprintf (path, sizeof path, "%s/etc/multipath/bindings", e->dir);
  b = open_b (path, NULL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_get_alias (b, D, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_same_as_fixture (path, "bindings.new.alloc-expected");
  braid_bindings_free (b);

  /* Ids 1..27 bound: the next is "ab" and sorts after "aa". */
  {
    char content[4096], alias[32], want[4096];
    size_t off, woff;
    int id;

    off = (size_t) snprintf (content, sizeof content, "%s",
                             BRAID_BINDINGS_HEADER);
    for (id = 27; id >= 1; id--) {
      braid_alias_format (alias, sizeof alias, "MPATH", id);
      off += (size_t) snprintf (content + off, sizeof content - off,
                                "%s WWID%d\n", alias, id - 1);
    }
    put (e->path, content);
    b = open_b (e->path, NULL);
    assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
    assert_int_equal (braid_bindings_get_alias (b, "WWID28", NULL, "MPATH",
                                                NULL, NULL, out, sizeof out),
                      1);
    assert_string_equal (out, "MPATHab");
    woff = (size_t) snprintf (want, sizeof want, "%s", BRAID_BINDINGS_HEADER);
    for (id = 1; id <= 27; id++) {
      braid_alias_format (alias, sizeof alias, "MPATH", id);
      woff += (size_t) snprintf (want + woff, sizeof want - woff,
                                 "%s WWID%d\n", alias, id - 1);
    }
    snprintf (want + woff, sizeof want - woff, "MPATHab WWID28\n");
    assert_file_is (e->path, want);
    braid_bindings_free (b);
  }
}

/* Another writer changed the file after we loaded it: we decide on what
 * is there now, like multipathd after its inotify event. */
static void
test_external_change (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  char out[64];

  put (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\n");
  b = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  /* An in-place edit: appended as 0.9.4 would. */
  {
    FILE *f = fopen (e->path, "a");

    assert_non_null (f);
    fputs ("mpathb " B "\n", f);
    fclose (f);
  }
  assert_int_equal (braid_bindings_get_alias (b, B, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 0);
  assert_string_equal (out, "mpathb");
  assert_int_equal (braid_bindings_get_alias (b, C, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpathc");
  /* Rewritten in place by someone else. */
  put (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\nmpathd " D "\n");
  assert_int_equal (braid_bindings_get_alias (b, C, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpathb");
  assert_file_is (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\n"
                           "mpathb " C "\n" "mpathd " D "\n");
  braid_bindings_free (b);
}

/* Two handles (two daemons, or braid and a second braid) on one file:
 * neither hands out an id the other already wrote. */
static void
test_two_writers (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b1, *b2;
  struct logs l = { 0 };
  char out[64];

  b1 = open_b (e->path, NULL);
  b2 = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_load (b1, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_load (b2, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_get_alias (b1, A, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpatha");
  assert_int_equal (braid_bindings_get_alias (b2, B, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpathb");
  assert_int_equal (braid_bindings_get_alias (b1, B, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 0);
  assert_string_equal (out, "mpathb");
  assert_file_is (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\n"
                           "mpathb " B "\n");

  /* Someone writes a conflicting file: the next decision repairs it
   * first, then allocates on the repaired file. */
  put (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\nmpatha " C "\n");
  braid_bindings_set_log_fn (b2, log_fn, &l, BRAID_LOG_DEBUG);
  assert_int_equal (braid_bindings_get_alias (b2, C, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), 1);
  assert_string_equal (out, "mpathb");
  assert_true (logged (&l, "multiple bindings for alias \"mpatha\""));
  assert_file_is (e->path, BRAID_BINDINGS_HEADER "mpatha " A "\n"
                           "mpathb " C "\n");
  assert_int_equal (count_files (e->dir), 1);
  braid_bindings_free (b1);
  braid_bindings_free (b2);
}

static void
test_bad_args (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  char out[8];

  errno = 0;
  assert_null (braid_bindings_new (NULL));
  assert_int_equal (errno, EINVAL);
  b = open_b (e->path, NULL);
  assert_int_equal (braid_bindings_get_alias (b, A, NULL, "mpath", NULL, NULL,
                                              out, sizeof out), -EINVAL);
  assert_string_equal (braid_bindings_get_error (b), "bindings not loaded");
  assert_int_equal (braid_bindings_load (b, NULL, 3, 0), -EINVAL);
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_get_alias (b, "", NULL, "mpath", NULL,
                                              NULL, out, sizeof out), -EINVAL);
  assert_int_equal (braid_bindings_get_alias (b, A, NULL, NULL, NULL, NULL,
                                              out, sizeof out), -EINVAL);
  assert_int_equal (braid_bindings_get_alias (b, A, NULL, "a/b", NULL, NULL,
                                              out, sizeof out), -EINVAL);
  /* "mpatha" does not fit in 4 bytes; nothing is written then. */
  assert_int_equal (braid_bindings_get_alias (b, A, NULL, "mpath", NULL, NULL,
                                              out, 4), -ENOSPC);
  assert_same_as_fixture (e->path, "bindings.header-only");
  braid_bindings_free (b);
  braid_bindings_free (NULL);
}

/* ---- reset (braid sysroot) ---- */

static void
test_reset (void **state)
{
  struct env *e = *state;
  struct braid_bindings *b;
  const struct braid_binding two[] = { { "mpathb", B }, { "mpatha", A } };
  const struct braid_binding clash[] = { { "mpatha", A }, { "mpatha", B } };
  const struct braid_binding twice[] = { { "mpatha", A }, { "mpathb", A } };
  const struct braid_binding blank[] = { { "my disk", A } };
  static const char want[] = BRAID_BINDINGS_HEADER "mpatha " A "\n"
                             "mpathb " B "\n";
  struct stat st;

  copy_fixture ("bindings.mpt", e->path);
  b = open_b (e->path, NULL);
  /* Exactly these two, sorted, whatever the file held before. */
  assert_int_equal (braid_bindings_reset (b, two, 2), 0);
  assert_bytes_are (e->path, want, sizeof want - 1, "reset");
  assert_int_equal (stat (e->path, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);
  assert_int_equal (braid_bindings_count (b), 2);
  assert_string_equal (braid_bindings_wwid_for_alias (b, "mpathb"), B);
  /* Refused lists write nothing. */
  assert_int_equal (braid_bindings_reset (b, clash, 2), -EINVAL);
  assert_int_equal (braid_bindings_reset (b, twice, 2), -EINVAL);
  assert_non_null (strstr (braid_bindings_get_error (b), "bound to both"));
  assert_int_equal (braid_bindings_reset (b, blank, 1), -EINVAL);
  assert_int_equal (braid_bindings_reset (b, NULL, 1), -EINVAL);
  assert_bytes_are (e->path, want, sizeof want - 1, "unchanged");
  /* An empty list leaves the header alone; the file reads back. */
  assert_int_equal (braid_bindings_reset (b, NULL, 0), 0);
  assert_bytes_are (e->path, BRAID_BINDINGS_HEADER,
                    strlen (BRAID_BINDINGS_HEADER), "empty");
  assert_int_equal (braid_bindings_load (b, NULL, 0, 0), 0);
  assert_int_equal (braid_bindings_state (b), BRAID_BINDINGS_OK);
  braid_bindings_free (b);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_load_mpt, setup, teardown),
    cmocka_unit_test_setup_teardown (test_load_edited, setup, teardown),
    cmocka_unit_test_setup_teardown (test_load_conflicts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_load_conflicts_read_only, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_load_old_header, setup, teardown),
    cmocka_unit_test_setup_teardown (test_load_creates, setup, teardown),
    cmocka_unit_test_setup_teardown (test_conf_aliases, setup, teardown),
    cmocka_unit_test_setup_teardown (test_a6_gufa, setup, teardown),
    cmocka_unit_test_setup_teardown (test_a6_gufa_self_and_read_only, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_a6_write_fails, setup, teardown),
    cmocka_unit_test_setup_teardown (test_a5_files, setup, teardown),
    cmocka_unit_test_setup_teardown (test_a7_rlookup, setup, teardown),
    cmocka_unit_test_setup_teardown (test_a8_rewrite, setup, teardown),
    cmocka_unit_test_setup_teardown (test_external_change, setup, teardown),
    cmocka_unit_test_setup_teardown (test_two_writers, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_args, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reset, setup, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
