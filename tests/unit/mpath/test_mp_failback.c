/* test_mp_failback.c: failback modes.
 *
 * One map throughout: paths 0 and 1 form the preferred group (ALUA
 * active/optimized, prio 50), paths 2 and 3 the other (prio 10).  The
 * preferred group failed earlier and the map now runs on group 2; the
 * tests bring paths back and check when each mode switches to group 1.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mpath/policy.h"

struct fixture {
  struct mp_path_view p[4];
  struct mp_pgroups pg;
  struct mp_failback fb;
  int cur_pg;
};

static struct fixture fx;

static void
setup_map (int failback)
{
  int i;

  for (i = 0; i < 4; i++)
    fx.p[i] = (struct mp_path_view) { .state = MP_STATE_UP,
                                      .prio = i < 2 ? 50 : 10,
                                      .tpg = i < 2 ? 1 : 2 };
  assert_int_equal (mp_group_paths (MP_PGP_GROUP_BY_TPG, fx.p, 4, 0, &fx.pg),
                    0);
  assert_int_equal (fx.pg.groups[0].paths[0], 0);
  assert_int_equal (mp_select_group (&fx.pg, fx.p), 1);
  mp_failback_init (&fx.fb, failback);
  /* The preferred group went down; I/O failed over to group 2. */
  fx.p[0].state = fx.p[1].state = MP_STATE_DOWN;
  mp_failback_path_failed (&fx.fb);
  fx.cur_pg = 2;
}

static int
teardown (void **state)
{
  (void) state;
  mp_pgroups_free (&fx.pg);
  return 0;
}

/* A check of path 'i' that found it in state 'st'. */
static struct mp_fb_decision
check (size_t i, int st)
{
  struct mp_check_event ev = {
    .path = i, .prev_state = fx.p[i].state, .cur_pg = fx.cur_pg,
    .pgpolicy = MP_PGP_GROUP_BY_TPG,
  };
  struct mp_fb_decision d;

  fx.p[i].state = st;
  assert_int_equal (mp_failback_after_check (&fx.fb, &fx.pg, fx.p, 4, &ev,
                                             &d), 0);
  if (d.switch_to > 0)
    fx.cur_pg = d.switch_to;
  return d;
}

static void
test_manual (void **state)
{
  struct mp_fb_decision d;
  int s;

  (void) state;
  setup_map (MP_FAILBACK_MANUAL);
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  assert_int_equal (d.reload, 0);
  d = check (1, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  for (s = 0; s < 100; s++)
    assert_false (mp_failback_tick (&fx.fb));
  assert_int_equal (mp_failback_due (&fx.fb, &fx.pg, fx.p, fx.cur_pg), 0);
  assert_int_equal (fx.cur_pg, 2);
  mp_pgroups_free (&fx.pg);

  /* Unset (0) behaves as manual. */
  setup_map (0);
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  assert_int_equal (fx.fb.tick, 0);
}

static void
test_immediate (void **state)
{
  struct mp_fb_decision d;
  struct mp_check_event ev;

  (void) state;
  setup_map (MP_FAILBACK_IMMEDIATE);
  /* A path of the other group checked: best group is still down. */
  d = check (2, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  /* The first preferred path returns: switch at once. */
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 1);
  assert_int_equal (fx.cur_pg, 1);
  /* Already there: nothing more. */
  d = check (1, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);

  /* Not only on path returns: any check that finds the best group
   * differs, e.g. after priorities moved. */
  fx.p[2].prio = fx.p[3].prio = 90;
  d = check (3, MP_STATE_UP);
  assert_int_equal (d.switch_to, 2);

  /* group_by_prio: a changed prio regroups instead. */
  ev = (struct mp_check_event) { .path = 3, .prev_state = MP_STATE_UP,
                                 .prio_changed = 1, .cur_pg = fx.cur_pg,
                                 .pgpolicy = MP_PGP_GROUP_BY_PRIO };
  assert_int_equal (mp_failback_after_check (&fx.fb, &fx.pg, fx.p, 4, &ev,
                                             &d), 0);
  assert_int_equal (d.reload, 1);
  assert_int_equal (d.switch_to, 0);
  /* Other policies do not regroup on prio changes. */
  ev.pgpolicy = MP_PGP_GROUP_BY_TPG;
  assert_int_equal (mp_failback_after_check (&fx.fb, &fx.pg, fx.p, 4, &ev,
                                             &d), 0);
  assert_int_equal (d.reload, 0);

  /* Bad arguments. */
  ev.path = 4;
  assert_int_equal (mp_failback_after_check (&fx.fb, &fx.pg, fx.p, 4, &ev,
                                             &d), -EINVAL);
}

static void
test_followover (void **state)
{
  struct mp_fb_decision d;

  (void) state;
  setup_map (MP_FAILBACK_FOLLOWOVER);
  /* The first path of the preferred group returns while its partner is
   * still DOWN: follow it. */
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 1);

  /* Another host moved the LUN back to group 2 (the engine followed);
   * the preferred group's paths stay up.  Followover does not fight it:
   * rechecks of up paths and the return of the second path switch
   * nothing. */
  mp_pgroups_free (&fx.pg);
  setup_map (MP_FAILBACK_FOLLOWOVER);
  fx.p[0].state = MP_STATE_UP;
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  d = check (1, MP_STATE_UP);  /* second of its group back */
  assert_int_equal (d.switch_to, 0);
  assert_int_equal (fx.cur_pg, 2);

  /* Only DOWN or SHAKY partners count as "not yet back": a partner that
   * timed out or is pending blocks the switch. */
  mp_pgroups_free (&fx.pg);
  setup_map (MP_FAILBACK_FOLLOWOVER);
  fx.p[1].state = MP_STATE_TIMEOUT;
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  mp_pgroups_free (&fx.pg);
  setup_map (MP_FAILBACK_FOLLOWOVER);
  fx.p[1].state = MP_STATE_SHAKY;
  d = check (0, MP_STATE_GHOST);
  assert_int_equal (d.switch_to, 1);

  /* A returning path outside the best group does not switch, though the
   * map is not on the best group. */
  mp_pgroups_free (&fx.pg);
  setup_map (MP_FAILBACK_FOLLOWOVER);
  fx.p[0].state = MP_STATE_UP;
  fx.p[2].state = fx.p[3].state = MP_STATE_DOWN;
  d = check (2, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  assert_int_equal (fx.fb.bestpg, 1);
  /* Nor do ticks. */
  assert_false (mp_failback_tick (&fx.fb));
}

static void
test_deferred (void **state)
{
  struct mp_fb_decision d;
  int s;

  (void) state;
  setup_map (3);
  /* Preferred path back: no switch yet, a 3 s countdown (+1 tick). */
  d = check (0, MP_STATE_UP);
  assert_int_equal (d.switch_to, 0);
  assert_int_equal (fx.fb.tick, 4);
  /* Rechecks meanwhile do not restart it. */
  assert_false (mp_failback_tick (&fx.fb));
  d = check (0, MP_STATE_UP);
  assert_int_equal (fx.fb.tick, 3);
  assert_false (mp_failback_tick (&fx.fb));
  assert_false (mp_failback_tick (&fx.fb));
  assert_true (mp_failback_tick (&fx.fb));
  assert_int_equal (mp_failback_due (&fx.fb, &fx.pg, fx.p, fx.cur_pg), 1);
  assert_false (mp_failback_tick (&fx.fb));

  /* A path failure cancels the countdown. */
  mp_pgroups_free (&fx.pg);
  setup_map (3);
  d = check (0, MP_STATE_UP);
  assert_false (mp_failback_tick (&fx.fb));
  fx.p[3].state = MP_STATE_DOWN;
  mp_failback_path_failed (&fx.fb);
  assert_int_equal (fx.fb.tick, 0);
  for (s = 0; s < 10; s++)
    assert_false (mp_failback_tick (&fx.fb));

  /* ... and the next check that finds a switch needed starts a new one,
   * even without a path returning. */
  d = check (0, MP_STATE_UP);
  assert_int_equal (fx.fb.tick, 4);

  /* Another path returning restarts it from the top. */
  assert_false (mp_failback_tick (&fx.fb));
  assert_false (mp_failback_tick (&fx.fb));
  d = check (1, MP_STATE_UP);
  assert_int_equal (fx.fb.tick, 4);

  /* At the end of the countdown things may have changed: the preferred
   * group went away again, nothing to do. */
  for (s = 0; s < 3; s++)
    assert_false (mp_failback_tick (&fx.fb));
  fx.p[0].state = fx.p[1].state = MP_STATE_DOWN;
  assert_true (mp_failback_tick (&fx.fb));
  assert_int_equal (mp_failback_due (&fx.fb, &fx.pg, fx.p, fx.cur_pg), 0);

  /* No countdown when no switch is needed. */
  mp_pgroups_free (&fx.pg);
  setup_map (3);
  d = check (2, MP_STATE_UP);
  assert_int_equal (fx.fb.tick, 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_teardown (test_manual, teardown),
    cmocka_unit_test_teardown (test_immediate, teardown),
    cmocka_unit_test_teardown (test_followover, teardown),
    cmocka_unit_test_teardown (test_deferred, teardown),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
