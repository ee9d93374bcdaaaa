/* test_mp_checkstate.c: check results, check timing and the tur verdict.
 *
 * polling_interval 5 and max_polling_interval 20 (multipath-tools'
 * defaults: max is 4 x polling_interval) unless stated.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mpath/policy.h"

#define PI 5
#define MAXPI 20

static void
test_states (void **state)
{
  int s;

  (void) state;
  for (s = 0; s < MP_STATE__COUNT; s++)
    assert_int_equal (mp_state_usable (s),
                      s == MP_STATE_UP || s == MP_STATE_GHOST);
  assert_string_equal (mp_state_name (MP_STATE_WILD), "wild");
  assert_string_equal (mp_state_name (MP_STATE_UNCHECKED), "unchecked");
  assert_string_equal (mp_state_name (MP_STATE_DOWN), "down");
  assert_string_equal (mp_state_name (MP_STATE_UP), "up");
  assert_string_equal (mp_state_name (MP_STATE_SHAKY), "shaky");
  assert_string_equal (mp_state_name (MP_STATE_GHOST), "ghost");
  assert_string_equal (mp_state_name (MP_STATE_PENDING), "pending");
  assert_string_equal (mp_state_name (MP_STATE_TIMEOUT), "timeout");
  assert_string_equal (mp_state_name (MP_STATE_REMOVED), "removed");
  assert_string_equal (mp_state_name (MP_STATE_DELAYED), "delayed");
  assert_string_equal (mp_state_name (-1), "invalid");
  assert_string_equal (mp_state_name (MP_STATE__COUNT), "invalid");
}

static void
test_interval_growth (void **state)
{
  struct mp_chk_timer t;
  unsigned act;
  int st = MP_STATE_UNCHECKED, s;
  const unsigned want[6] = { 10, 20, 20, 20, 20, 20 };

  (void) state;
  mp_chk_timer_init (&t, PI);
  assert_true (mp_chk_tick (&t));  /* a new path is checked at once */
  /* First result: a change (unchecked -> up). */
  st = mp_check_apply (&t, st, MP_STATE_UP, MP_MAP_UNDEF, PI, MAXPI, &act);
  assert_int_equal (st, MP_STATE_UP);
  assert_int_equal (act, MP_CHK_REINSTATE | MP_CHK_CAME_UP
                    | MP_CHK_EVALUATE);
  assert_int_equal (t.tick, PI);
  /* Stays up with the map agreeing: the interval doubles to the max. */
  for (s = 0; s < 6; s++) {
    unsigned k, wait = t.tick;

    for (k = 1; k < wait; k++)
      assert_false (mp_chk_tick (&t));
    assert_true (mp_chk_tick (&t));
    st = mp_check_apply (&t, st, MP_STATE_UP, MP_MAP_ACTIVE, PI, MAXPI,
                         &act);
    assert_int_equal (act, MP_CHK_EVALUATE);
    assert_int_equal (t.tick, want[s]);
  }
  assert_int_equal (t.checkint, MAXPI);

  /* Any change goes back to polling_interval. */
  st = mp_check_apply (&t, st, MP_STATE_GHOST, MP_MAP_ACTIVE, PI, MAXPI,
                       &act);
  assert_int_equal (t.checkint, PI);
  assert_int_equal (t.tick, PI);
  assert_int_equal (act, MP_CHK_REINSTATE | MP_CHK_EVALUATE);
  /* Ghost that stays ghost doubles too. */
  st = mp_check_apply (&t, st, MP_STATE_GHOST, MP_MAP_ACTIVE, PI, MAXPI,
                       &act);
  assert_int_equal (t.tick, 10);
}

static void
test_interval_odd_limits (void **state)
{
  struct mp_chk_timer t;
  unsigned act;

  (void) state;
  /* max 25 with interval 5: 5, 10, 20, 25 (not 40). */
  mp_chk_timer_init (&t, 5);
  mp_check_apply (&t, MP_STATE_UP, MP_STATE_UP, MP_MAP_ACTIVE, 5, 25, &act);
  assert_int_equal (t.tick, 10);
  mp_check_apply (&t, MP_STATE_UP, MP_STATE_UP, MP_MAP_ACTIVE, 5, 25, &act);
  assert_int_equal (t.tick, 20);
  mp_check_apply (&t, MP_STATE_UP, MP_STATE_UP, MP_MAP_ACTIVE, 5, 25, &act);
  assert_int_equal (t.tick, 25);
  /* max below the interval: no growth. */
  mp_chk_timer_init (&t, 5);
  mp_check_apply (&t, MP_STATE_UP, MP_STATE_UP, MP_MAP_ACTIVE, 5, 2, &act);
  assert_int_equal (t.tick, 5);
  /* interval 0 counts as 1. */
  mp_chk_timer_init (&t, 0);
  assert_int_equal (t.checkint, 1);
  mp_check_apply (&t, MP_STATE_DOWN, MP_STATE_UP, MP_MAP_FAILED, 0, 0, &act);
  assert_int_equal (t.tick, 1);
}

static void
test_transitions (void **state)
{
  struct mp_chk_timer t;
  unsigned act;
  int st;

  (void) state;
  mp_chk_timer_init (&t, PI);
  t.checkint = MAXPI;

  /* Up -> down: fail it in the map, stop there (no failback work). */
  st = mp_check_apply (&t, MP_STATE_UP, MP_STATE_DOWN, MP_MAP_ACTIVE, PI,
                       MAXPI, &act);
  assert_int_equal (st, MP_STATE_DOWN);
  assert_int_equal (act, MP_CHK_FAIL_PATH | MP_CHK_WENT_DOWN);
  assert_int_equal (t.checkint, PI);
  assert_int_equal (t.tick, PI);

  /* Down -> timeout: a change between failed states still counts. */
  st = mp_check_apply (&t, st, MP_STATE_TIMEOUT, MP_MAP_FAILED, PI, MAXPI,
                       &act);
  assert_int_equal (st, MP_STATE_TIMEOUT);
  assert_int_equal (act, MP_CHK_FAIL_PATH | MP_CHK_WENT_DOWN);

  /* Stays failed, map agrees: nothing but the evaluation; the interval
   * does not grow for failed paths. */
  st = mp_check_apply (&t, st, MP_STATE_TIMEOUT, MP_MAP_FAILED, PI, MAXPI,
                       &act);
  assert_int_equal (act, MP_CHK_EVALUATE);
  assert_int_equal (t.tick, PI);
  /* Stays failed but the map still sends I/O there: fail it again. */
  st = mp_check_apply (&t, st, MP_STATE_TIMEOUT, MP_MAP_ACTIVE, PI, MAXPI,
                       &act);
  assert_int_equal (act, MP_CHK_FAIL_PATH | MP_CHK_EVALUATE);
  st = mp_check_apply (&t, st, MP_STATE_TIMEOUT, MP_MAP_UNDEF, PI, MAXPI,
                       &act);
  assert_int_equal (act, MP_CHK_FAIL_PATH | MP_CHK_EVALUATE);

  /* Back up. */
  st = mp_check_apply (&t, st, MP_STATE_GHOST, MP_MAP_FAILED, PI, MAXPI,
                       &act);
  assert_int_equal (st, MP_STATE_GHOST);
  assert_int_equal (act, MP_CHK_REINSTATE | MP_CHK_CAME_UP
                    | MP_CHK_EVALUATE);

  /* Up, but an I/O error failed it in the map meanwhile: reinstate
   * without growing the interval. */
  t.checkint = 10;
  st = mp_check_apply (&t, MP_STATE_UP, MP_STATE_UP, MP_MAP_FAILED, PI,
                       MAXPI, &act);
  assert_int_equal (act, MP_CHK_REINSTATE | MP_CHK_EVALUATE);
  assert_int_equal (t.checkint, 10);
  assert_int_equal (t.tick, PI);

  /* Pending: keep the old state, look again next second. */
  st = mp_check_apply (&t, MP_STATE_UP, MP_STATE_PENDING, MP_MAP_ACTIVE, PI,
                       MAXPI, &act);
  assert_int_equal (st, MP_STATE_UP);
  assert_int_equal (act, 0);
  assert_int_equal (t.tick, 1);
  assert_true (mp_chk_tick (&t));
  st = mp_check_apply (&t, MP_STATE_DOWN, MP_STATE_PENDING, MP_MAP_FAILED, PI,
                       MAXPI, &act);
  assert_int_equal (st, MP_STATE_DOWN);

  /* The checker itself failed: keep the state, normal interval. */
  st = mp_check_apply (&t, MP_STATE_UP, MP_STATE_WILD, MP_MAP_ACTIVE, PI,
                       MAXPI, &act);
  assert_int_equal (st, MP_STATE_UP);
  assert_int_equal (act, 0);
  assert_int_equal (t.tick, PI);
  st = mp_check_apply (&t, MP_STATE_GHOST, MP_STATE_UNCHECKED, MP_MAP_ACTIVE,
                       PI, MAXPI, &act);
  assert_int_equal (st, MP_STATE_GHOST);

  /* Device gone. */
  st = mp_check_apply (&t, MP_STATE_UP, MP_STATE_REMOVED, MP_MAP_ACTIVE, PI,
                       MAXPI, &act);
  assert_int_equal (st, MP_STATE_REMOVED);
  assert_int_equal (act, MP_CHK_REMOVE);

  /* Shaky and delayed are failed states. */
  st = mp_check_apply (&t, MP_STATE_UP, MP_STATE_SHAKY, MP_MAP_ACTIVE, PI,
                       MAXPI, &act);
  assert_int_equal (act, MP_CHK_FAIL_PATH | MP_CHK_WENT_DOWN);
  st = mp_check_apply (&t, MP_STATE_DELAYED, MP_STATE_UP, MP_MAP_FAILED, PI,
                       MAXPI, &act);
  assert_true (act & MP_CHK_CAME_UP);
}

static void
test_tick (void **state)
{
  struct mp_chk_timer t = { .checkint = 5, .tick = 3 };

  (void) state;
  assert_false (mp_chk_tick (&t));
  assert_false (mp_chk_tick (&t));
  assert_true (mp_chk_tick (&t));
  assert_true (mp_chk_tick (&t));  /* stays due until rescheduled */
}

static struct mp_tur_result
tur (int status, int key, int asc, int ascq)
{
  return (struct mp_tur_result) { .status = status, .sense_key = key,
                                  .asc = asc, .ascq = ascq };
}

static void
test_tur (void **state)
{
  struct mp_tur_result r;

  (void) state;
  r = tur (0x00, 0, 0, 0);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_UP);
  /* RESERVATION CONFLICT: another initiator holds the LUN; the path
   * works. */
  r = tur (0x18, 0, 0, 0);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_UP);
  /* NOT READY, 04/0B target port in standby. */
  r = tur (0x02, 0x2, 0x04, 0x0b);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_GHOST);
  /* Other NOT READY: 04/0A ALUA transition, 04/0C unavailable, 3A/00
   * medium not present. */
  r = tur (0x02, 0x2, 0x04, 0x0a);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  r = tur (0x02, 0x2, 0x04, 0x0c);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  r = tur (0x02, 0x2, 0x3a, 0x00);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  /* UNIT ATTENTION: retried, and down if it persists to the last of
   * three attempts. */
  r = tur (0x02, 0x6, 0x29, 0x00);
  assert_int_equal (mp_tur_state (&r, 1), -EAGAIN);
  assert_int_equal (mp_tur_state (&r, 2), -EAGAIN);
  assert_int_equal (mp_tur_state (&r, MP_TUR_ATTEMPTS), MP_STATE_DOWN);
  /* Other sense keys, statuses without sense, transport failures. */
  r = tur (0x02, 0x4, 0x44, 0x00);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  r = tur (0x02, 0x0, 0, 0);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  r = tur (0x08, 0, 0, 0);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  r = tur (0x28, 0, 0, 0);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  r = tur (0x00, 0, 0, 0);
  r.transport_error = 1;
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_DOWN);
  /* Sense fields are only read with CHECK CONDITION. */
  r = tur (0x18, 0x6, 0, 0);
  assert_int_equal (mp_tur_state (&r, 1), MP_STATE_UP);
  assert_int_equal (mp_tur_state (NULL, 1), -EINVAL);
}

static void
test_tur_wait (void **state)
{
  const uint64_t s = 1000000000ull;

  (void) state;
  /* checker_timeout 30: pending until 30 s have passed. */
  assert_int_equal (mp_tur_wait_state (100 * s, 100 * s, 30),
                    MP_STATE_PENDING);
  assert_int_equal (mp_tur_wait_state (100 * s, 130 * s - 1, 30),
                    MP_STATE_PENDING);
  assert_int_equal (mp_tur_wait_state (100 * s, 130 * s, 30),
                    MP_STATE_TIMEOUT);
  /* 0 counts as 1 s; a clock before the send is not a timeout. */
  assert_int_equal (mp_tur_wait_state (100 * s, 101 * s, 0),
                    MP_STATE_TIMEOUT);
  assert_int_equal (mp_tur_wait_state (100 * s, 50 * s, 1),
                    MP_STATE_PENDING);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_states),
    cmocka_unit_test (test_interval_growth),
    cmocka_unit_test (test_interval_odd_limits),
    cmocka_unit_test (test_transitions),
    cmocka_unit_test (test_tick),
    cmocka_unit_test (test_tur),
    cmocka_unit_test (test_tur_wait),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
