/* test_alias.c: alias arithmetic and id choice (vectors §A.1-§A.5):
 * bijective base-26 suffixes, scan_devname, the 0.9.4 file-order walk and
 * the 0.9.7+ smallest-free-id rule, with "taken by another map" sets. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpstate.h"

/* ---- A.1 ---- */

static const struct {
  int id;
  const char *suffix;
} a1[] = {
  { 1, "a" },           { 2, "b" },           { 3, "c" },
  { 25, "y" },          { 26, "z" },          { 27, "aa" },
  { 28, "ab" },         { 52, "az" },         { 53, "ba" },
  { 78, "bz" },         { 100, "cv" },        { 701, "zy" },
  { 702, "zz" },        { 703, "aaa" },       { 704, "aab" },
  { 728, "aaz" },       { 1000, "all" },      { 18277, "zzy" },
  { 18278, "zzz" },     { 18279, "aaaa" },    { 475254, "zzzz" },
  { 475255, "aaaaa" },  { 12356630, "zzzzz" }, { 12356631, "aaaaaa" },
  { 321272406, "zzzzzz" }, { 321272407, "aaaaaaa" },
  { 2147483646, "fxshrxv" }, { 2147483647, "fxshrxw" },
};

static void
test_a1_format (void **state)
{
  char buf[64], want[64];
  size_t i;

  (void) state;
  for (i = 0; i < sizeof a1 / sizeof a1[0]; i++) {
    snprintf (want, sizeof want, "MPATH%s", a1[i].suffix);
    assert_int_equal (braid_alias_format (buf, sizeof buf, "MPATH", a1[i].id),
                      (int) strlen (want));
    assert_string_equal (buf, want);
    assert_int_equal (braid_alias_scan (want, "MPATH"), a1[i].id);
  }
}

static void
test_a1_bad_ids (void **state)
{
  char buf[16];

  (void) state;
  assert_int_equal (braid_alias_format (buf, sizeof buf, "MPATH", 0),
                    -EINVAL);
  assert_int_equal (braid_alias_format (buf, sizeof buf, "MPATH", -2),
                    -EINVAL);
  assert_int_equal (braid_alias_format (buf, sizeof buf, "MPATH", INT_MIN),
                    -EINVAL);
  assert_int_equal (braid_alias_format (buf, sizeof buf, NULL, 1), -EINVAL);
  /* "MPATHfxshrxw" needs 13 bytes. */
  assert_int_equal (braid_alias_format (buf, 12, "MPATH", INT_MAX), -ENOSPC);
  assert_int_equal (braid_alias_format (buf, 13, "MPATH", INT_MAX), 12);
}

static void
test_a1_round_trip (void **state)
{
  char buf[32];
  int i;
  unsigned int seed = 12345;

  (void) state;
  for (i = 1; i < 5000; i++) {
    assert_true (braid_alias_format (buf, sizeof buf, "MPATH", i) > 0);
    assert_int_equal (braid_alias_scan (buf, "MPATH"), i);
  }
  for (i = 0; i < 1000; i++) {
    int id;

    seed = seed * 1103515245u + 12345u;
    id = (int) ((seed >> 8) % 65535) + 1;
    assert_true (braid_alias_format (buf, sizeof buf, "MPATH", id) > 0);
    assert_int_equal (braid_alias_scan (buf, "MPATH"), id);
  }
}

/* ---- A.2 ---- */

static void
test_a2_scan (void **state)
{
  (void) state;
  assert_int_equal (braid_alias_scan ("MPATHa", "MPATH"), 1);
  assert_int_equal (braid_alias_scan ("MPATHa  00", "MPATH"), 1);
  assert_int_equal (braid_alias_scan ("MPATHa\t00", "MPATH"), 1);
  assert_int_equal (braid_alias_scan ("MPATHa       ", "MPATH"), -1);
  assert_int_equal (braid_alias_scan ("MPATHabcdefgh", "MPATH"), -1);
  assert_int_equal (braid_alias_scan ("MPATHa", NULL), -1);
  assert_int_equal (braid_alias_scan ("MPATHa", "mpath"), -1);
  assert_int_equal (braid_alias_scan ("MPATH", "MPATH"), -1);
  assert_int_equal (braid_alias_scan ("MPATH0", "MPATH"), -1);
  assert_int_equal (braid_alias_scan ("MPATHa0c", "MPATH"), -1);
  assert_int_equal (braid_alias_scan ("MPATHfxshrxw", "MPATH"), INT_MAX);
  assert_int_equal (braid_alias_scan ("MPATHfxshrxx", "MPATH"), -1);
}

/* ---- taken sets ---- */

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
#define LINES(...) ((const struct braid_binding[]) { __VA_ARGS__ })
#define NLINES(...)                                                         \
  (sizeof ((const struct braid_binding[]) { __VA_ARGS__ })                  \
   / sizeof (struct braid_binding))

/* ---- A.3: 0.9.4 lookup_binding ---- */

struct a3 {
  const char *name;
  const struct braid_binding *lines;
  size_t n;
  const char *wwid;
  const char *prefix;
  bool check;
  const char *const *taken;
  int want;          /* id, 0 for "existing", -ENOSPC */
  size_t match;
};

#define A3(nm, lns, w, p, c, tk, res, m)                                    \
  { nm, lns, sizeof (lns) / sizeof (struct braid_binding), w, p, c, tk, res, m }

static const struct braid_binding l_a[] = { { "MPATHa", "WWID0" } };
static const struct braid_binding l_a_c[] = { { "MPATHa", "WWID0" },
                                              { "MPATHc", "WWID1" } };
static const struct braid_binding l_a_d[] = { { "MPATHa", "WWID0" },
                                              { "MPATHd", "WWID1" } };
static const struct braid_binding l_c_a[] = { { "MPATHc", "WWID1" },
                                              { "MPATHa", "WWID0" } };
static const struct braid_binding l_c_a_d[] = { { "MPATHc", "WWID1" },
                                                { "MPATHa", "WWID0" },
                                                { "MPATHd", "WWID0" } };
static const struct braid_binding l_a_z_b[] = { { "MPATHa", "WWID0" },
                                                { "MPATHz", "WWID26" },
                                                { "MPATHb", "WWID1" } };
static const struct braid_binding l_a_z_bbad[] = { { "MPATHa", "WWID0" },
                                                   { "MPATHz", "WWID26" },
                                                   { "MPATHb", NULL } };
static const struct braid_binding l_b_z_a[] = { { "MPATHb", "WWID1" },
                                                { "MPATHz", "WWID26" },
                                                { "MPATHa", "WWID0" } };
static const struct braid_binding l_b_max_a[] = { { "MPATHb", "WWID1" },
                                                  { "MPATHfxshrxw",
                                                    "WWIDMAX" },
                                                  { "MPATHa", "WWID0" } };
static const struct braid_binding l_b_max[] = { { "MPATHb", "WWID1" },
                                                { "MPATHfxshrxw",
                                                  "WWIDMAX" } };
static const struct braid_binding l_b_m1_a[] = { { "MPATHb", "WWID1" },
                                                 { "MPATHfxshrxv",
                                                   "WWIDMAX" },
                                                 { "MPATHa", "WWID0" } };
static const struct braid_binding l_b_m1[] = { { "MPATHb", "WWID1" },
                                               { "MPATHfxshrxv",
                                                 "WWIDMAX" } };
static const struct braid_binding l_none[] = { { NULL, NULL } };

static const struct a3 a3_cases[] = {
  { "lb_empty", l_none, 0, "WWID0", NULL, false, NULL, 1, 0 },
  { "lb_empty_unused", l_none, 0, "WWID0", "MPATH", true, NULL, 1, 0 },
  { "lb_empty_1_used", l_none, 0, "WWID0", "MPATH", true, TAKEN ("MPATHa"),
    2, 0 },
  A3 ("lb_match_a", l_a, "WWID0", "MPATH", false, NULL, 0, 0),
  A3 ("lb_nomatch_a", l_a, "WWID1", "MPATH", false, NULL, 2, 0),
  A3 ("lb_nomatch_a_bad_check", l_a, "WWID1", NULL, true, NULL, -ENOSPC, 0),
  A3 ("lb_nomatch_a_3_used_failed_self", l_a, "WWID1", "MPATH", true,
      TAKEN ("MPATHb", "MPATHc", "MPATHd", "MPATHe"), 6, 0),
  A3 ("lb_match_c", l_a_c, "WWID1", "MPATH", true, NULL, 0, 1),
  A3 ("lb_nomatch_a_c", l_a_c, "WWID2", "MPATH", false, NULL, 2, 0),
  A3 ("lb_nomatch_a_d_1_used", l_a_d, "WWID2", "MPATH", true,
      TAKEN ("MPATHb"), 3, 0),
  A3 ("lb_nomatch_a_d_2_used", l_a_d, "WWID2", "MPATH", true,
      TAKEN ("MPATHb", "MPATHc"), 5, 0),
  A3 ("lb_nomatch_a_d_3_used", l_a_d, "WWID2", "MPATH", true,
      TAKEN ("MPATHb", "MPATHc", "MPATHe"), 6, 0),
  A3 ("lb_nomatch_c_a", l_c_a, "WWID2", "MPATH", false, NULL, 2, 0),
  A3 ("lb_nomatch_d_a_unused", l_c_a_d, "WWID2", "MPATH", true, NULL, 2, 0),
  A3 ("lb_nomatch_d_a_1_used", l_c_a_d, "WWID2", "MPATH", true,
      TAKEN ("MPATHb"), 5, 0),
  A3 ("lb_nomatch_a_b", l_a_z_b, "WWID2", "MPATH", false, NULL, 3, 0),
  A3 ("lb_nomatch_a_b_bad", l_a_z_bbad, "WWID2", "MPATH", false, NULL, 3, 0),
  A3 ("lb_nomatch_b_a", l_b_z_a, "WWID2", "MPATH", false, NULL, 27, 0),
  A3 ("lb_nomatch_b_a_3_used", l_b_z_a, "WWID2", "MPATH", true,
      TAKEN ("MPATHaa", "MPATHab", "MPATHac"), 30, 0),
  A3 ("lb_nomatch_int_max", l_b_max_a, "WWID2", "MPATH", false, NULL,
      -ENOSPC, 0),
  A3 ("lb_nomatch_int_max_used", l_b_max, "WWID2", "MPATH", true,
      TAKEN ("MPATHa"), -ENOSPC, 0),
  A3 ("lb_nomatch_int_max_m1", l_b_m1_a, "WWID2", "MPATH", false, NULL,
      INT_MAX, 0),
  A3 ("lb_nomatch_int_max_m1_used", l_b_m1_a, "WWID2", "MPATH", true,
      TAKEN ("MPATHfxshrxw"), -ENOSPC, 0),
  A3 ("lb_nomatch_int_max_m1_1_used", l_b_m1, "WWID2", "MPATH", true,
      TAKEN ("MPATHa"), INT_MAX, 0),
  A3 ("lb_nomatch_int_max_m1_2_used", l_b_m1, "WWID2", "MPATH", true,
      TAKEN ("MPATHa", "MPATHfxshrxw"), -ENOSPC, 0),
};

static void
test_a3_lookup_094 (void **state)
{
  size_t i, match;

  (void) state;
  for (i = 0; i < sizeof a3_cases / sizeof a3_cases[0]; i++) {
    const struct a3 *c = &a3_cases[i];
    struct taken_set t = { c->taken };
    int rc;

    match = 999;
    rc = braid_alias_lookup_094 (c->lines, c->n, c->wwid, c->prefix,
                                 c->check, taken_fn, &t, &match);
    if (rc != c->want)
      fail_msg ("%s: got %d, want %d", c->name, rc, c->want);
    if (c->want == 0)
      assert_int_equal (match, c->match);
  }
}

/* ---- A.4: 0.9.7+ get_free_id over sorted bindings ---- */

static int
cmp_binding (const void *a, const void *b)
{
  const char *x = ((const struct braid_binding *) a)->alias;
  const char *y = ((const struct braid_binding *) b)->alias;

  if (strlen (x) != strlen (y))
    return strlen (x) < strlen (y) ? -1 : 1;
  return strcmp (x, y);
}

/* Ids lo..hi as MPATH<suffix> WWID<id-1>, plus an optional extra line. */
static size_t
make_range (struct braid_binding *v, char (*names)[2][32], int lo, int hi,
            const char *extra_alias, const char *extra_wwid)
{
  size_t n = 0;
  int id;

  for (id = lo; id <= hi; id++, n++) {
    braid_alias_format (names[n][0], 32, "MPATH", id);
    snprintf (names[n][1], 32, "WWID%d", id - 1);
    v[n].alias = names[n][0];
    v[n].wwid = names[n][1];
  }
  if (extra_alias != NULL) {
    v[n].alias = extra_alias;
    v[n].wwid = extra_wwid;
    n++;
  }
  qsort (v, n, sizeof *v, cmp_binding);
  return n;
}

static int
free_id (const struct braid_binding *lines, size_t n, const char *wwid,
         const char *const *taken)
{
  struct braid_binding v[64];
  struct taken_set t = { taken };
  size_t i, m = 0;

  /* What the loader keeps: well-formed lines, sorted. */
  for (i = 0; i < n; i++)
    if (lines[i].wwid != NULL)
      v[m++] = lines[i];
  qsort (v, m, sizeof *v, cmp_binding);
  return braid_alias_free_id (v, m, "MPATH", wwid, taken_fn, &t);
}

static void
test_a4_free_id (void **state)
{
  struct braid_binding v[64];
  char names[64][2][32];
  struct taken_set t;
  size_t n;

  (void) state;
  assert_int_equal (free_id (l_none, 0, "WWID0", NULL), 1);
  assert_int_equal (free_id (l_none, 0, "WWID0", TAKEN ("MPATHa")), 2);
  assert_int_equal (free_id (l_a, 1, "WWID1", NULL), 2);
  assert_int_equal (free_id (l_a, 1, "WWID1",
                             TAKEN ("MPATHb", "MPATHc", "MPATHd")), 5);
  assert_int_equal (free_id (l_a_c, 2, "WWID2", NULL), 2);
  assert_int_equal (free_id (l_a_d, 2, "WWID2", TAKEN ("MPATHb")), 3);
  assert_int_equal (free_id (l_a_d, 2, "WWID2", TAKEN ("MPATHb", "MPATHc")),
                    5);
  assert_int_equal (free_id (l_a_d, 2, "WWID2",
                             TAKEN ("MPATHb", "MPATHc", "MPATHe")), 6);
  assert_int_equal (free_id (l_c_a, 2, "WWID2", NULL), 2);
  assert_int_equal (free_id (l_c_a_d, 3, "WWID2", TAKEN ("MPATHb")), 5);
  assert_int_equal (free_id (l_a_z_b, 3, "WWID2", NULL), 3);
  assert_int_equal (free_id (l_a_z_bbad, 3, "WWID2", NULL), 2);
  assert_int_equal (free_id (l_b_z_a, 3, "WWID2", NULL), 3);
  assert_int_equal (free_id (LINES ({ "MPATHb", "WWID1" },
                                    { "MPATHa", "WWID0" }),
                             2, "WWID2", NULL), 3);
  assert_int_equal (free_id (LINES ({ "MPATHc", "WWID2" },
                                    { "MPATHb", "WWID1" }),
                             2, "WWID0", NULL), 1);
  assert_int_equal (free_id (LINES ({ "MPATHc", "WWID2" },
                                    { "MPATHb", "WWID1" }),
                             2, "WWID4", TAKEN ("MPATHa")), 4);
  assert_int_equal (free_id (LINES ({ "MPATHb", "WWID1" },
                                    { "MPATHf", "WWID6" },
                                    { "MPATHa", "WWID0" }),
                             3, "WWID7", NULL), 3);

  /* lb_nomatch_b_a_aa: ids 1..27 bound. */
  n = make_range (v, names, 1, 27, NULL, NULL);
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWID28", NULL, NULL),
                    28);
  /* lb_nomatch_b_a_aa_zz: plus MPATHzz. */
  n = make_range (v, names, 1, 27, "MPATHzz", "WWID676");
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWID703", NULL,
                                         NULL), 28);
  /* lb_nomatch_b_a_3_used */
  n = make_range (v, names, 1, 27, NULL, NULL);
  t.aliases = TAKEN ("MPATHab", "MPATHac", "MPATHad");
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWID31", taken_fn,
                                         &t), 31);
  /* lb_nomatch_int_max */
  n = make_range (v, names, 1, 27, "MPATHfxshrxw", "WWIDMAX");
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWIDNOMORE", NULL,
                                         NULL), 28);
  /* lb_nomatch_int_max_used */
  n = make_range (v, names, 2, 27, "MPATHfxshrxw", "WWIDMAX");
  t.aliases = TAKEN ("MPATHa");
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWIDNOMORE",
                                         taken_fn, &t), 28);
  /* lb_nomatch_int_max_m1_used */
  n = make_range (v, names, 1, 27, "MPATHfxshrxv", "WWIDMAXM1");
  t.aliases = TAKEN ("MPATHab");
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWIDMAX", taken_fn,
                                         &t), 29);
  /* lb_nomatch_int_max_m1_2_used */
  n = make_range (v, names, 2, 27, "MPATHfxshrxv", "WWIDMAXM1");
  t.aliases = TAKEN ("MPATHa", "MPATHab");
  assert_int_equal (braid_alias_free_id (v, n, "MPATH", "WWIDMAX", taken_fn,
                                         &t), 29);
}

static void
test_a4_edges (void **state)
{
  struct braid_binding v[] = { { "MPATHfxshrxv", "W1" },
                               { "MPATHfxshrxw", "W2" } };
  struct braid_binding unsorted[] = { { "MPATHa", "W1" },
                                      { "MPATHb", "W2" },
                                      { "MPATHa", "W3" } };
  struct taken_set t;

  (void) state;
  /* A gap below the largest ids is still found. */
  t.aliases = TAKEN ("MPATHa");
  assert_int_equal (braid_alias_free_id (v, 2, "MPATH", "W3", taken_fn, &t),
                    2);
  assert_int_equal (braid_alias_free_id (unsorted, 3, "MPATH", "W4", NULL,
                                         NULL), -EINVAL);
  assert_int_equal (braid_alias_free_id (NULL, 0, NULL, "W", NULL, NULL),
                    -EINVAL);
}

/* ---- A.5: 0.9.4 vs 0.9.7+ on the same files ---- */

static void
check_a5 (const struct braid_binding *lines, size_t n, const char *prefix,
          const char *want094, const char *want097)
{
  struct braid_binding v[16];
  char got[32];
  size_t i, m = 0;
  int id;

  id = braid_alias_lookup_094 (lines, n, "WNEW", prefix, false, NULL, NULL,
                               NULL);
  assert_true (id > 0);
  braid_alias_format (got, sizeof got, prefix, id);
  assert_string_equal (got, want094);

  for (i = 0; i < n; i++)
    if (lines[i].wwid != NULL)
      v[m++] = lines[i];
  qsort (v, m, sizeof *v, cmp_binding);
  id = braid_alias_free_id (v, m, prefix, "WNEW", NULL, NULL);
  assert_true (id > 0);
  braid_alias_format (got, sizeof got, prefix, id);
  assert_string_equal (got, want097);
}

#define A5(pfx, w4, w7, ...)                                                \
  check_a5 (LINES (__VA_ARGS__), NLINES (__VA_ARGS__), pfx, w4, w7)

static void
test_a5_compare (void **state)
{
  (void) state;
  A5 ("mpath", "mpathc", "mpathc", { "mpatha", "W1" }, { "mpathb", "W2" },
      { "mpathd", "W3" });
  A5 ("mpath", "mpatha", "mpatha", { "mpathb", "W1" }, { "mpathc", "W2" });
  A5 ("mpath", "mpathd", "mpathd", { "mpathc", "W1" }, { "mpathb", "W2" },
      { "mpatha", "W3" });
  A5 ("mpath", "mpathd", "mpathd", { "mpatha", "W1" }, { "mpathc", "W2" },
      { "mpathb", "W3" });
  A5 ("mpath", "mpathb", "mpathb", { "mpathz", "W1" }, { "mpatha", "W2" });
  A5 ("mpath", "mpathe", "mpathc", { "mpathb", "W1" }, { "mpatha", "W2" },
      { "mpathd", "W3" });
  A5 ("mpath", "mpathc", "mpathb", { "foo", "W1" }, { "mpath0", "W2" },
      { "mpatha", "W3" }, { "mpathb", NULL });
  A5 ("mpath", "mpathb", "mpathb", { "data01", "W1" }, { "mpathaa", "W2" },
      { "mpatha", "W3" });
  A5 ("mp", "mpa", "mpa", { "mpatha", "W1" });
  A5 ("mp", "mpc", "mpc", { "mpa", "W1" }, { "mpb", "W2" },
      { "mpatha", "W3" });
  /* "# comment", blank, "mpatha W1 # trailing comment", "mpathb<TAB>W2":
   * what both readers keep of those lines. */
  A5 ("mpath", "mpathc", "mpathc", { "mpatha", "W1" }, { "mpathb", "W2" });
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_a1_format),
    cmocka_unit_test (test_a1_bad_ids),
    cmocka_unit_test (test_a1_round_trip),
    cmocka_unit_test (test_a2_scan),
    cmocka_unit_test (test_a3_lookup_094),
    cmocka_unit_test (test_a4_free_id),
    cmocka_unit_test (test_a4_edges),
    cmocka_unit_test (test_a5_compare),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
