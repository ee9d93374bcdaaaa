/* test_mp_pgpolicy.c: path grouping, group order and best-group choice.
 *
 * The 55 grouping vectors of multipath-tools 0.9.4 (tests/pgpolicy.c,
 * transcribed in multipath-tools-vectors.md section B) run as one table:
 * every path UP, per-path prios, marginal bits and a key string (one
 * character per path: its node name or serial), and the expected groups
 * in final order, "*" marking a marginal group.  Then group_by_tpg,
 * undefined priorities, down paths in the sort, and select_path_group.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "braid/mpconf.h"
#include "mpath/policy.h"

#define MAXP 16

struct vector {
  const char *name;
  int policy;
  int n;
  int marginal_pathgroups;
  const char *prios;     /* comma separated; "" when n is 0 */
  const char *marginal;  /* one 0/1 per path */
  char key;              /* 'n' node name, 's' serial, 0 none */
  const char *keys;      /* one character per path */
  int null_paths;        /* pass paths == NULL */
  const char *expect;    /* "[0,1] [2]*", "" for no groups */
};

static const struct vector vectors[] = {
  { "test_one_group8", MP_PGP_MULTIBUS, 8, 0,
    "10,10,10,10,10,10,10,10", "00000000", 0, "", 0,
    "[0,1,2,3,4,5,6,7]" },
  { "test_one_group4", MP_PGP_MULTIBUS, 4, 0,
    "10,10,10,10", "0000", 0, "", 0,
    "[0,1,2,3]" },
  { "test_one_group1", MP_PGP_MULTIBUS, 1, 0,
    "10", "0", 0, "", 0,
    "[0]" },
  { "test_one_group0", MP_PGP_MULTIBUS, 0, 0,
    "", "", 0, "", 0,
    "" },
  { "test_one_group_null", MP_PGP_MULTIBUS, 0, 0,
    "", "", 0, "", 1,
    "" },
  { "test_one_group_all_marginal8", MP_PGP_MULTIBUS, 8, 1,
    "10,10,10,10,10,10,10,10", "11111111", 0, "", 0,
    "[0,1,2,3,4,5,6,7]*" },
  { "test_one_group_half_marginal8", MP_PGP_MULTIBUS, 8, 1,
    "10,10,10,10,10,10,10,10", "10101100", 0, "", 0,
    "[1,3,6,7] [0,2,4,5]*" },
  { "test_one_group_ignore_marginal8", MP_PGP_MULTIBUS, 8, 0,
    "10,10,10,10,10,10,10,10", "10101100", 0, "", 0,
    "[0,1,2,3,4,5,6,7]" },
  { "test_one_group_one_marginal8", MP_PGP_MULTIBUS, 8, 1,
    "10,10,10,10,10,10,10,10", "00000100", 0, "", 0,
    "[0,1,2,3,4,6,7] [5]*" },
  { "test_one_path_per_group_same8", MP_PGP_FAILOVER, 8, 0,
    "10,10,10,10,10,10,10,10", "00000000", 0, "", 0,
    "[0] [1] [2] [3] [4] [5] [6] [7]" },
  { "test_one_path_per_group_increasing8", MP_PGP_FAILOVER, 8, 0,
    "1,2,3,4,5,6,7,8", "00000000", 0, "", 0,
    "[7] [6] [5] [4] [3] [2] [1] [0]" },
  { "test_one_path_per_group_decreasing8", MP_PGP_FAILOVER, 8, 0,
    "8,7,6,5,4,3,2,1", "00000000", 0, "", 0,
    "[0] [1] [2] [3] [4] [5] [6] [7]" },
  { "test_one_path_per_group_mixed8", MP_PGP_FAILOVER, 8, 0,
    "7,1,3,3,5,2,8,2", "00000000", 0, "", 0,
    "[6] [0] [4] [2] [3] [5] [7] [1]" },
  { "test_one_path_per_group4", MP_PGP_FAILOVER, 4, 0,
    "10,10,10,10", "0000", 0, "", 0,
    "[0] [1] [2] [3]" },
  { "test_one_path_per_group1", MP_PGP_FAILOVER, 1, 0,
    "10", "0", 0, "", 0,
    "[0]" },
  { "test_one_path_per_group0", MP_PGP_FAILOVER, 0, 0,
    "", "", 0, "", 0,
    "" },
  { "test_one_path_per_group_null", MP_PGP_FAILOVER, 0, 0,
    "", "", 0, "", 1,
    "" },
  { "test_one_path_per_group_mixed_all_marginal8", MP_PGP_FAILOVER, 8, 1,
    "7,1,3,3,5,2,8,2", "11111111", 0, "", 0,
    "[6]* [0]* [4]* [2]* [3]* [5]* [7]* [1]*" },
  { "test_one_path_per_group_mixed_half_marginal8", MP_PGP_FAILOVER, 8, 1,
    "7,1,3,3,5,2,8,2", "01100011", 0, "", 0,
    "[0] [4] [3] [5] [6]* [2]* [7]* [1]*" },
  { "test_group_by_prio_same8", MP_PGP_GROUP_BY_PRIO, 8, 0,
    "10,10,10,10,10,10,10,10", "00000000", 0, "", 0,
    "[0,1,2,3,4,5,6,7]" },
  { "test_group_by_prio_increasing8", MP_PGP_GROUP_BY_PRIO, 8, 0,
    "1,2,3,4,5,6,7,8", "00000000", 0, "", 0,
    "[7] [6] [5] [4] [3] [2] [1] [0]" },
  { "test_group_by_prio_decreasing8", MP_PGP_GROUP_BY_PRIO, 8, 0,
    "8,7,6,5,4,3,2,1", "00000000", 0, "", 0,
    "[0] [1] [2] [3] [4] [5] [6] [7]" },
  { "test_group_by_prio_mixed8", MP_PGP_GROUP_BY_PRIO, 8, 0,
    "7,1,3,3,5,2,8,2", "00000000", 0, "", 0,
    "[6] [0] [4] [2,3] [5,7] [1]" },
  { "test_group_by_prio_mixed_no_marginal8", MP_PGP_GROUP_BY_PRIO, 8, 1,
    "7,1,3,3,5,2,8,2", "00000000", 0, "", 0,
    "[6] [0] [4] [2,3] [5,7] [1]" },
  { "test_group_by_prio_2_groups8", MP_PGP_GROUP_BY_PRIO, 8, 0,
    "1,2,2,1,2,1,1,2", "00000000", 0, "", 0,
    "[1,2,4,7] [0,3,5,6]" },
  { "test_group_by_prio_mixed4", MP_PGP_GROUP_BY_PRIO, 4, 0,
    "2,3,1,3", "0000", 0, "", 0,
    "[1,3] [0] [2]" },
  { "test_group_by_prio_2_groups4", MP_PGP_GROUP_BY_PRIO, 4, 0,
    "2,1,1,2", "0000", 0, "", 0,
    "[0,3] [1,2]" },
  { "test_group_by_prio1", MP_PGP_GROUP_BY_PRIO, 1, 0,
    "10", "0", 0, "", 0,
    "[0]" },
  { "test_group_by_prio0", MP_PGP_GROUP_BY_PRIO, 0, 0,
    "", "", 0, "", 0,
    "" },
  { "test_group_by_prio_null", MP_PGP_GROUP_BY_PRIO, 0, 0,
    "", "", 0, "", 1,
    "" },
  { "test_group_by_prio_mixed_all_marginal8", MP_PGP_GROUP_BY_PRIO, 8, 1,
    "7,1,3,3,5,2,8,2", "11111111", 0, "", 0,
    "[6]* [0]* [4]* [2,3]* [5,7]* [1]*" },
  { "test_group_by_prio_mixed_half_marginal8", MP_PGP_GROUP_BY_PRIO, 8, 1,
    "7,1,3,3,5,2,8,2", "00010111", 0, "", 0,
    "[0] [4] [2] [1] [6]* [3]* [5,7]*" },
  { "test_group_by_prio_mixed_one_marginal8", MP_PGP_GROUP_BY_PRIO, 8, 1,
    "7,1,3,3,5,2,8,2", "00000100", 0, "", 0,
    "[6] [0] [4] [2,3] [7] [1] [5]*" },
  { "test_group_by_node_name_same8", MP_PGP_GROUP_BY_NODE_NAME, 8, 0,
    "10,10,10,10,10,10,10,10", "00000000", 'n', "aaaaaaaa", 0,
    "[0,1,2,3,4,5,6,7]" },
  { "test_group_by_node_name_increasing8", MP_PGP_GROUP_BY_NODE_NAME, 8, 0,
    "1,2,3,4,5,6,7,8", "00000000", 'n', "abcdefgh", 0,
    "[7] [6] [5] [4] [3] [2] [1] [0]" },
  { "test_group_by_node_name_3_groups8", MP_PGP_GROUP_BY_NODE_NAME, 8, 0,
    "4,1,4,1,1,1,1,4", "00000000", 'n', "abacbcca", 0,
    "[0,2,7] [3,5,6] [1,4]" },
  { "test_group_by_node_name_2_groups8", MP_PGP_GROUP_BY_NODE_NAME, 8, 0,
    "4,1,2,1,2,2,2,1", "00000000", 'n', "aababbba", 0,
    "[2,4,5,6] [0,1,3,7]" },
  { "test_group_by_node_name_3_groups4", MP_PGP_GROUP_BY_NODE_NAME, 4, 0,
    "3,1,3,1", "0000", 'n', "abca", 0,
    "[2] [0,3] [1]" },
  { "test_group_by_node_name_2_groups4", MP_PGP_GROUP_BY_NODE_NAME, 4, 0,
    "2,1,1,2", "0000", 'n', "abba", 0,
    "[0,3] [1,2]" },
  { "test_group_by_node_name1", MP_PGP_GROUP_BY_NODE_NAME, 1, 0,
    "10", "0", 'n', "a", 0,
    "[0]" },
  { "test_group_by_node_name0", MP_PGP_GROUP_BY_NODE_NAME, 0, 0,
    "", "", 'n', "", 0,
    "" },
  { "test_group_by_node_name_null", MP_PGP_GROUP_BY_NODE_NAME, 0, 0,
    "", "", 'n', "", 1,
    "" },
  { "test_group_by_node_name_2_groups_all_marginal8",
    MP_PGP_GROUP_BY_NODE_NAME, 8, 1,
    "4,1,2,1,2,2,2,1", "11111111", 'n', "aababbba", 0,
    "[2,4,5,6]* [0,1,3,7]*" },
  { "test_group_by_node_name_2_groups_half_marginal8",
    MP_PGP_GROUP_BY_NODE_NAME, 8, 1,
    "4,1,2,1,2,2,2,1", "10110100", 'n', "aababbba", 0,
    "[4,6] [1,7] [0,3]* [2,5]*" },
  { "test_group_by_serial_same8", MP_PGP_GROUP_BY_SERIAL, 8, 0,
    "10,10,10,10,10,10,10,10", "00000000", 's', "11111111", 0,
    "[0,1,2,3,4,5,6,7]" },
  { "test_group_by_serial_increasing8", MP_PGP_GROUP_BY_SERIAL, 8, 0,
    "1,2,3,4,5,6,7,8", "00000000", 's', "12345678", 0,
    "[7] [6] [5] [4] [3] [2] [1] [0]" },
  { "test_group_by_serial_3_groups8", MP_PGP_GROUP_BY_SERIAL, 8, 0,
    "4,1,4,3,1,3,1,4", "00000000", 's', "12132321", 0,
    "[0,2,7] [3,5] [1,4,6]" },
  { "test_group_by_serial_2_groups8", MP_PGP_GROUP_BY_SERIAL, 8, 0,
    "3,2,2,1,2,2,1,2", "00000000", 's', "12112212", 0,
    "[1,4,5,7] [0,2,3,6]" },
  { "test_group_by_serial_3_groups4", MP_PGP_GROUP_BY_SERIAL, 4, 0,
    "3,1,3,1", "0000", 's', "1232", 0,
    "[0] [2] [1,3]" },
  { "test_group_by_serial_2_groups4", MP_PGP_GROUP_BY_SERIAL, 4, 0,
    "3,1,3,1", "0000", 's', "1212", 0,
    "[0,2] [1,3]" },
  { "test_group_by_serial1", MP_PGP_GROUP_BY_SERIAL, 1, 0,
    "10", "0", 's', "1", 0,
    "[0]" },
  { "test_group_by_serial0", MP_PGP_GROUP_BY_SERIAL, 0, 0,
    "", "", 's', "", 0,
    "" },
  { "test_group_by_serial_null", MP_PGP_GROUP_BY_SERIAL, 0, 0,
    "", "", 's', "", 1,
    "" },
  { "test_group_by_serial_2_groups8_all_marginal8",
    MP_PGP_GROUP_BY_SERIAL, 8, 1,
    "3,2,2,1,2,2,1,2", "11111111", 's', "12112212", 0,
    "[1,4,5,7]* [0,2,3,6]*" },
  { "test_group_by_serial_2_groups8_half_marginal8",
    MP_PGP_GROUP_BY_SERIAL, 8, 1,
    "3,2,2,1,2,2,1,2", "00111100", 's', "12112212", 0,
    "[0,6] [1,7] [4,5]* [2,3]*" },

};

/* Per-path storage for key strings: "a", "b", ... */
static char keybuf[MAXP][2];

static void
build_paths (const struct vector *v, struct mp_path_view *p)
{
  const char *s = v->prios;
  int i;

  for (i = 0; i < v->n; i++) {
    char *end;

    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 10,
                                   .tpg = -1 };
    p[i].prio = (int) strtol (s, &end, 10);
    s = *end == ',' ? end + 1 : end;
    p[i].marginal = v->marginal[i] == '1';
    if (v->key == 0)
      continue;
    keybuf[i][0] = v->keys[i];
    keybuf[i][1] = '\0';
    if (v->key == 'n')
      p[i].node_name = keybuf[i];
    else
      p[i].serial = keybuf[i];
  }
}

/* Render groups as the vectors write them. */
static void
render (const struct mp_pgroups *pg, char *buf, size_t len)
{
  size_t g, i, off = 0;

  buf[0] = '\0';
  for (g = 0; g < pg->ngroups; g++) {
    off += (size_t) snprintf (buf + off, len - off, "%s[", g ? " " : "");
    for (i = 0; i < pg->groups[g].npaths; i++)
      off += (size_t) snprintf (buf + off, len - off, "%s%zu", i ? "," : "",
                                pg->groups[g].paths[i]);
    off += (size_t) snprintf (buf + off, len - off, "]%s",
                              pg->groups[g].marginal ? "*" : "");
  }
}

/* One cmocka test per vector; the state is the vector. */
static void
run_vector (void **state)
{
  const struct vector *v = *state;
  struct mp_path_view paths[MAXP];
  struct mp_pgroups pg;
  char got[256];

  build_paths (v, paths);
  assert_int_equal (mp_group_paths (v->policy, v->null_paths ? NULL : paths,
                                    (size_t) v->n, v->marginal_pathgroups,
                                    &pg), 0);
  render (&pg, got, sizeof got);
  if (strcmp (got, v->expect) != 0)
    fail_msg ("%s: got \"%s\", expected \"%s\"", v->name, got, v->expect);
  mp_pgroups_free (&pg);
}

/* Group prio is the mean of the usable paths: check a few vectors'
 * numbers too, not just the order. */
static void
test_group_prio_values (void **state)
{
  struct mp_path_view p[8];
  struct mp_pgroups pg;
  const char *names = "abacbcca";
  int prios[8] = { 4, 1, 4, 1, 1, 1, 1, 4 };
  int i;

  (void) state;
  for (i = 0; i < 8; i++) {
    keybuf[i][0] = names[i];
    keybuf[i][1] = '\0';
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = prios[i],
                                   .node_name = keybuf[i], .tpg = -1 };
  }
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_NODE_NAME, p, 8, 0, &pg),
                    0);
  assert_int_equal (pg.ngroups, 3);
  assert_int_equal (pg.groups[0].prio, 4);
  assert_int_equal (pg.groups[0].enabled, 3);
  assert_int_equal (pg.groups[1].prio, 1);
  assert_int_equal (pg.groups[1].enabled, 3);
  assert_int_equal (pg.groups[2].prio, 1);
  assert_int_equal (pg.groups[2].enabled, 2);
  mp_pgroups_free (&pg);

  /* Mean is integer division: 7 + 8 -> 7. */
  p[0].prio = 7;
  p[1].prio = 8;
  assert_int_equal (mp_group_paths (MP_PGP_MULTIBUS, p, 2, 0, &pg), 0);
  assert_int_equal (pg.groups[0].prio, 7);
  mp_pgroups_free (&pg);
}

static void
test_group_by_tpg (void **state)
{
  struct mp_path_view p[6];
  struct mp_pgroups pg;
  char got[128];
  /* Two ports in TPG 1 (active/optimized, 50), two in TPG 2
   * (active/non-optimized, 10), listed interleaved. */
  int tpg[6] = { 2, 1, 2, 1, -1, -1 };
  int prio[6] = { 10, 50, 10, 50, 1, 1 };
  int i;

  (void) state;
  assert_int_equal (mp_pgpolicy_from_name ("group_by_tpg"),
                    MP_PGP_GROUP_BY_TPG);
  for (i = 0; i < 4; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = prio[i],
                                   .tpg = tpg[i] };
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_TPG, p, 4, 0, &pg), 0);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[1,3] [0,2]");
  assert_int_equal (pg.groups[0].prio, 50);
  assert_int_equal (pg.groups[1].prio, 10);
  assert_int_equal (mp_select_group (&pg, p), 1);
  mp_pgroups_free (&pg);

  /* The TPG decides, not the prio: two TPGs with equal prio stay apart,
   * and paths without a TPG (-1) form one group of their own. */
  for (i = 0; i < 6; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 10,
                                   .tpg = tpg[i] };
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_TPG, p, 6, 0, &pg), 0);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[0,2] [1,3] [4,5]");
  mp_pgroups_free (&pg);

  /* Same prio but different TPGs: group_by_prio would merge them. */
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_PRIO, p, 4, 0, &pg), 0);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[0,1,2,3]");
  mp_pgroups_free (&pg);

  /* A TPG whose ports are down sorts after a healthy one even if it was
   * the better group. */
  for (i = 0; i < 4; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = prio[i],
                                   .tpg = tpg[i] };
  p[1].state = MP_STATE_DOWN;
  p[3].state = MP_STATE_TIMEOUT;
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_TPG, p, 4, 0, &pg), 0);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[0,2] [1,3]");
  assert_int_equal (pg.groups[1].prio, 0);
  assert_int_equal (pg.groups[1].enabled, 0);
  mp_pgroups_free (&pg);

  /* Marginal ports of a TPG get their own group after the normal ones. */
  p[1].state = MP_STATE_UP;
  p[3].state = MP_STATE_UP;
  p[3].marginal = 1;
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_TPG, p, 4, 1, &pg), 0);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[1] [0,2] [3]*");
  mp_pgroups_free (&pg);
}

static void
test_undefined_prio (void **state)
{
  struct mp_path_view p[4];
  struct mp_pgroups pg;
  int i;

  (void) state;
  for (i = 0; i < 4; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 50,
                                   .tpg = -1 };
  /* One failed prioritizer does not drag the group's mean down. */
  p[1].prio = MP_PRIO_UNDEF;
  assert_int_equal (mp_group_paths (MP_PGP_MULTIBUS, p, 4, 0, &pg), 0);
  assert_int_equal (pg.groups[0].prio, 50);
  assert_int_equal (pg.groups[0].enabled, 4);
  /* All undefined: the group's prio is undefined too... */
  for (i = 0; i < 4; i++)
    p[i].prio = MP_PRIO_UNDEF;
  mp_pgroup_update (&pg.groups[0], p);
  assert_int_equal (pg.groups[0].prio, MP_PRIO_UNDEF);
  /* ... unless no path is usable: then 0. */
  for (i = 0; i < 4; i++)
    p[i].state = MP_STATE_DOWN;
  mp_pgroup_update (&pg.groups[0], p);
  assert_int_equal (pg.groups[0].prio, 0);
  assert_int_equal (pg.groups[0].enabled, 0);
  mp_pgroups_free (&pg);
}

static void
test_sort_enabled_and_states (void **state)
{
  struct mp_path_view p[6];
  struct mp_pgroups pg;
  char got[128];
  int i;

  (void) state;
  /* failover, equal prios: groups with a usable path come first (more
   * enabled paths), down and ghost paths handled by state. */
  for (i = 0; i < 6; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 10,
                                   .tpg = -1 };
  p[0].state = MP_STATE_DOWN;
  p[2].state = MP_STATE_GHOST;
  p[4].state = MP_STATE_PENDING;
  assert_int_equal (mp_group_paths (MP_PGP_FAILOVER, p, 6, 0, &pg), 0);
  render (&pg, got, sizeof got);
  /* Usable groups have prio 10, the others 0. */
  assert_string_equal (got, "[1] [2] [3] [5] [0] [4]");
  mp_pgroups_free (&pg);

  /* Re-sorting after states change. */
  assert_int_equal (mp_group_paths (MP_PGP_FAILOVER, p, 3, 0, &pg), 0);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[1] [2] [0]");
  p[0].state = MP_STATE_UP;
  p[0].prio = 20;
  mp_pgroups_sort (&pg, p);
  render (&pg, got, sizeof got);
  assert_string_equal (got, "[0] [1] [2]");
  mp_pgroups_free (&pg);
}

static void
test_select_group (void **state)
{
  struct mp_path_view p[6];
  struct mp_pgroups pg;
  int i;

  (void) state;
  for (i = 0; i < 6; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 10,
                                   .tpg = -1 };
  /* Three failover groups; best is the first usable with top prio. */
  assert_int_equal (mp_group_paths (MP_PGP_FAILOVER, p, 3, 0, &pg), 0);
  assert_int_equal (mp_select_group (&pg, p), 1);
  /* Group 1 down: group 2. */
  p[0].state = MP_STATE_DOWN;
  assert_int_equal (mp_select_group (&pg, p), 2);
  /* A later group needs a strictly higher prio to win. */
  p[0].state = MP_STATE_UP;
  p[2].prio = 11;
  assert_int_equal (mp_select_group (&pg, p), 3);
  p[2].prio = 10;
  assert_int_equal (mp_select_group (&pg, p), 1);
  /* Everything down: 1. */
  for (i = 0; i < 3; i++)
    p[i].state = MP_STATE_DOWN;
  assert_int_equal (mp_select_group (&pg, p), 1);
  mp_pgroups_free (&pg);

  /* Equal prio, more usable paths wins. */
  for (i = 0; i < 6; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 10,
                                   .tpg = i < 2 ? 1 : 2 };
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_TPG, p, 6, 0, &pg), 0);
  /* Sorted: [2,3,4,5] then [0,1]. */
  assert_int_equal (pg.groups[0].npaths, 4);
  assert_int_equal (mp_select_group (&pg, p), 1);
  /* Three of the big group's four paths fail: the pair wins. */
  p[2].state = p[3].state = p[4].state = MP_STATE_DOWN;
  assert_int_equal (mp_select_group (&pg, p), 2);
  /* The table order stays put (the engine reloads to re-sort). */
  assert_int_equal (pg.groups[0].npaths, 4);
  assert_int_equal (pg.groups[0].enabled, 1);
  mp_pgroups_free (&pg);

  /* Marginal groups: a usable normal group wins over any marginal group,
   * even one with a higher prio; marginal groups only serve when no
   * normal group has a usable path. */
  for (i = 0; i < 4; i++)
    p[i] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 10 * (i + 1),
                                   .tpg = -1, .marginal = i >= 2 };
  assert_int_equal (mp_group_paths (MP_PGP_FAILOVER, p, 4, 1, &pg), 0);
  /* [1] [0] [3]* [2]* */
  assert_int_equal (pg.groups[0].paths[0], 1);
  assert_int_equal (pg.groups[2].paths[0], 3);
  assert_true (pg.groups[2].marginal);
  assert_int_equal (mp_select_group (&pg, p), 1);
  p[1].state = MP_STATE_DOWN;
  assert_int_equal (mp_select_group (&pg, p), 2);
  p[0].state = MP_STATE_DOWN;
  assert_int_equal (mp_select_group (&pg, p), 3);
  p[3].state = MP_STATE_DOWN;
  assert_int_equal (mp_select_group (&pg, p), 4);
  mp_pgroups_free (&pg);

  /* A marginal group ahead of a normal one in the table (prios changed
   * since the sort) does not keep the normal group from winning. */
  {
    size_t idx[2] = { 0, 1 };
    struct mp_pgroup g[2] = {
      { .paths = &idx[0], .npaths = 1 },
      { .paths = &idx[1], .npaths = 1 },
    };
    struct mp_pgroups manual = { .groups = g, .ngroups = 2 };

    p[0] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 50,
                                   .marginal = 1, .tpg = -1 };
    p[1] = (struct mp_path_view) { .state = MP_STATE_UP, .prio = 1,
                                   .tpg = -1 };
    assert_int_equal (mp_select_group (&manual, p), 2);
  }
  assert_int_equal (mp_select_group (NULL, p), 1);
}

static void
test_names_and_errors (void **state)
{
  struct mp_pgroups pg;
  struct mp_path_view p = { .state = MP_STATE_UP };

  (void) state;
  /* Same numbering as the configuration layer. */
  assert_int_equal (MP_PGP_FAILOVER, BRAID_MPCONF_PGP_FAILOVER);
  assert_int_equal (MP_PGP_MULTIBUS, BRAID_MPCONF_PGP_MULTIBUS);
  assert_int_equal (MP_PGP_GROUP_BY_SERIAL, BRAID_MPCONF_PGP_GROUP_BY_SERIAL);
  assert_int_equal (MP_PGP_GROUP_BY_PRIO, BRAID_MPCONF_PGP_GROUP_BY_PRIO);
  assert_int_equal (MP_PGP_GROUP_BY_NODE_NAME,
                    BRAID_MPCONF_PGP_GROUP_BY_NODE_NAME);
  assert_int_equal (MP_FAILBACK_MANUAL, BRAID_MPCONF_FAILBACK_MANUAL);
  assert_int_equal (MP_FAILBACK_IMMEDIATE, BRAID_MPCONF_FAILBACK_IMMEDIATE);
  assert_int_equal (MP_FAILBACK_FOLLOWOVER, BRAID_MPCONF_FAILBACK_FOLLOWOVER);
  assert_int_equal (MP_NPR_FAIL, BRAID_MPCONF_NPR_FAIL);
  assert_int_equal (MP_NPR_QUEUE, BRAID_MPCONF_NPR_QUEUE);
  assert_int_equal (MP_NPR_UNDEF, BRAID_MPCONF_NPR_UNSET);

  assert_int_equal (mp_pgpolicy_from_name ("multibus"), MP_PGP_MULTIBUS);
  assert_int_equal (mp_pgpolicy_from_name ("failover"), MP_PGP_FAILOVER);
  assert_int_equal (mp_pgpolicy_from_name ("group_by_node"), -EINVAL);
  assert_int_equal (mp_pgpolicy_from_name (NULL), -EINVAL);
  assert_string_equal (mp_pgpolicy_name (MP_PGP_GROUP_BY_SERIAL),
                       "group_by_serial");
  assert_null (mp_pgpolicy_name (0));
  assert_null (mp_pgpolicy_name (7));

  assert_int_equal (mp_group_paths (0, &p, 1, 0, &pg), -EINVAL);
  assert_int_equal (pg.ngroups, 0);
  assert_int_equal (mp_group_paths (MP_PGP_MULTIBUS, NULL, 1, 0, &pg),
                    -EINVAL);
  mp_pgroups_free (&pg);
  mp_pgroups_free (NULL);
}

#define NVECTORS (sizeof vectors / sizeof vectors[0])

int
main (void)
{
  static const struct CMUnitTest others[] = {
    cmocka_unit_test (test_group_prio_values),
    cmocka_unit_test (test_group_by_tpg),
    cmocka_unit_test (test_undefined_prio),
    cmocka_unit_test (test_sort_enabled_and_states),
    cmocka_unit_test (test_select_group),
    cmocka_unit_test (test_names_and_errors),
  };
  struct CMUnitTest tests[NVECTORS + sizeof others / sizeof others[0]];
  size_t i;

  /* All 55 of section B, each reported under its upstream name. */
  _Static_assert (NVECTORS == 55, "multipath-tools has 55 grouping tests");
  for (i = 0; i < NVECTORS; i++)
    tests[i] = (struct CMUnitTest) {
      .name = vectors[i].name,
      .test_func = run_vector,
      .initial_state = (void *) &vectors[i],
    };
  for (i = 0; i < sizeof others / sizeof others[0]; i++)
    tests[NVECTORS + i] = others[i];
  return _cmocka_run_group_tests ("test_mp_pgpolicy", tests,
                                  sizeof tests / sizeof tests[0], NULL, NULL);
}
