/* test_mp_noqueue.c: no_path_retry and queue_if_no_path.
 *
 * Each mode is driven through path losses and returns on a simulated
 * monotonic clock (seconds written as S(n)), checking the events the
 * engine would act on and the two questions it asks: hold I/O that finds
 * no path? fail what is held?
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mpath/policy.h"

#define S(n) ((uint64_t) (n) * 1000000000ull)

static void
test_queue (void **state)
{
  struct mp_noqueue q;
  int s;

  (void) state;
  assert_int_equal (mp_noqueue_init (&q, MP_NPR_QUEUE, 5, 2, 0, S(100)), 0);
  assert_true (mp_noqueue_should_queue (&q));
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(101)), 0);
  for (s = 102; s < 10000; s += 7)
    assert_int_equal (mp_noqueue_tick (&q, S(s)), 0);
  assert_true (mp_noqueue_should_queue (&q));
  assert_false (mp_noqueue_should_fail_queued (&q));
  assert_int_equal (mp_noqueue_seconds_left (&q, S(200)), 0);
  assert_int_equal (q.recoveries, 0);
  assert_int_equal (mp_noqueue_on_paths (&q, 1, 0, S(10001)), 0);
  assert_true (mp_noqueue_should_queue (&q));
}

static void
test_fail (void **state)
{
  struct mp_noqueue q;
  int npr;

  (void) state;
  /* fail, and unset which acts as fail. */
  for (npr = MP_NPR_FAIL; npr <= MP_NPR_UNDEF; npr++) {
    assert_int_equal (mp_noqueue_init (&q, npr, 5, 2, 0, S(1)), 0);
    assert_false (mp_noqueue_should_queue (&q));
    /* Paths exist: anything waiting gets dispatched, not failed. */
    assert_false (mp_noqueue_should_fail_queued (&q));
    assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(2)), 0);
    assert_false (mp_noqueue_should_queue (&q));
    assert_true (mp_noqueue_should_fail_queued (&q));
    assert_int_equal (mp_noqueue_tick (&q, S(100)), 0);
    assert_int_equal (mp_noqueue_on_paths (&q, 1, 0, S(101)), 0);
    assert_false (mp_noqueue_should_fail_queued (&q));
  }
}

static void
test_retry_n (void **state)
{
  struct mp_noqueue q;

  (void) state;
  /* no_path_retry 3, polling_interval 5: queue 15 s after the last path
   * goes. */
  assert_int_equal (mp_noqueue_init (&q, 3, 5, 2, 0, S(0)), 0);
  assert_true (mp_noqueue_should_queue (&q));
  assert_int_equal (mp_noqueue_on_paths (&q, 1, 0, S(5)), 0);
  /* Last active path gone, but another path's check is in flight: wait
   * for it before starting the clock. */
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 1, S(9)), 0);
  assert_false (q.in_recovery);
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(10)), MP_NQ_RECOVERY);
  assert_true (mp_noqueue_should_queue (&q));
  assert_false (mp_noqueue_should_fail_queued (&q));
  assert_int_equal (mp_noqueue_seconds_left (&q, S(10)), 15);
  assert_int_equal (mp_noqueue_seconds_left (&q, S(24) + 1), 1);
  /* More bad news does not restart the clock. */
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(20)), 0);
  assert_int_equal (mp_noqueue_tick (&q, S(11)), 0);
  assert_int_equal (mp_noqueue_tick (&q, S(24) + 999999999), 0);
  assert_true (mp_noqueue_should_queue (&q));
  /* 15 s: queueing ends, held I/O fails. */
  assert_int_equal (mp_noqueue_tick (&q, S(25)), MP_NQ_QUEUE_OFF);
  assert_false (mp_noqueue_should_queue (&q));
  assert_true (mp_noqueue_should_fail_queued (&q));
  assert_int_equal (mp_noqueue_seconds_left (&q, S(25)), 0);
  assert_int_equal (q.expiries, 1);
  assert_int_equal (q.queued_ns, S(15));
  /* Still no path: stays off, no new countdown. */
  assert_int_equal (mp_noqueue_tick (&q, S(26)), 0);
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(30)), 0);
  assert_false (mp_noqueue_should_queue (&q));
  assert_int_equal (q.recoveries, 1);
  /* A path returns: queueing back on. */
  assert_int_equal (mp_noqueue_on_paths (&q, 1, 0, S(40)),
                    MP_NQ_QUEUE_ON | MP_NQ_RECOVERED);
  assert_true (mp_noqueue_should_queue (&q));
  assert_false (mp_noqueue_should_fail_queued (&q));

  /* Lost again, back within the countdown: nothing failed, the next loss
   * gets a full countdown again. */
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(50)), MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_tick (&q, S(60)), 0);
  assert_int_equal (mp_noqueue_on_paths (&q, 2, 0, S(61)), MP_NQ_RECOVERED);
  assert_int_equal (mp_noqueue_tick (&q, S(70)), 0);
  assert_true (mp_noqueue_should_queue (&q));
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(80)), MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_seconds_left (&q, S(80)), 15);
  assert_int_equal (mp_noqueue_tick (&q, S(95)), MP_NQ_QUEUE_OFF);
  assert_int_equal (q.recoveries, 3);
  assert_int_equal (q.expiries, 2);
  assert_int_equal (q.queued_ns, S(15) + S(11) + S(15));
}

static void
test_retry_n_at_creation (void **state)
{
  struct mp_noqueue q;

  (void) state;
  /* A map created with no usable path starts its countdown at once. */
  assert_int_equal (mp_noqueue_init (&q, 2, 10, 0, 0, S(1000)),
                    MP_NQ_RECOVERY);
  assert_true (mp_noqueue_should_queue (&q));
  assert_int_equal (mp_noqueue_tick (&q, S(1019)), 0);
  assert_int_equal (mp_noqueue_tick (&q, S(1020)), MP_NQ_QUEUE_OFF);

  /* A huge no_path_retry does not wrap the deadline around. */
  assert_int_equal (mp_noqueue_init (&q, INT_MAX, UINT_MAX, 0, 0, S(5)),
                    MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_tick (&q, UINT64_MAX - 1), 0);
  assert_int_equal (mp_noqueue_seconds_left (&q, S(6)), UINT_MAX);
}

static void
test_disable_restore (void **state)
{
  struct mp_noqueue q;

  (void) state;
  assert_int_equal (mp_noqueue_init (&q, 3, 5, 1, 0, S(0)), 0);
  /* disablequeueing: off even with paths, and through a path loss. */
  assert_int_equal (mp_noqueue_disable (&q, S(1)), MP_NQ_QUEUE_OFF);
  assert_false (mp_noqueue_should_queue (&q));
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(2)), 0);
  assert_false (q.in_recovery);
  assert_true (mp_noqueue_should_fail_queued (&q));
  assert_int_equal (mp_noqueue_on_paths (&q, 1, 0, S(3)), 0);
  assert_false (mp_noqueue_should_queue (&q));
  /* restorequeueing with paths: the policy again. */
  assert_int_equal (mp_noqueue_restore (&q, S(4)), MP_NQ_QUEUE_ON);
  assert_true (mp_noqueue_should_queue (&q));

  /* Disable during a countdown drops it; restore without paths starts a
   * fresh one. */
  assert_int_equal (mp_noqueue_on_paths (&q, 0, 0, S(10)), MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_disable (&q, S(12)), MP_NQ_QUEUE_OFF);
  assert_false (q.in_recovery);
  assert_int_equal (mp_noqueue_seconds_left (&q, S(12)), 0);
  assert_int_equal (mp_noqueue_tick (&q, S(40)), 0);
  assert_int_equal (mp_noqueue_restore (&q, S(50)),
                    MP_NQ_QUEUE_ON | MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_seconds_left (&q, S(50)), 15);
  assert_int_equal (mp_noqueue_tick (&q, S(65)), MP_NQ_QUEUE_OFF);

  /* Under "queue" too. */
  assert_int_equal (mp_noqueue_init (&q, MP_NPR_QUEUE, 5, 0, 0, S(0)), 0);
  assert_int_equal (mp_noqueue_disable (&q, S(1)), MP_NQ_QUEUE_OFF);
  assert_true (mp_noqueue_should_fail_queued (&q));
  assert_int_equal (mp_noqueue_restore (&q, S(2)), MP_NQ_QUEUE_ON);
  /* Under "fail", restore has nothing to turn on. */
  assert_int_equal (mp_noqueue_init (&q, MP_NPR_FAIL, 5, 0, 0, S(0)), 0);
  assert_int_equal (mp_noqueue_disable (&q, S(1)), 0);
  assert_int_equal (mp_noqueue_restore (&q, S(2)), 0);
  assert_false (mp_noqueue_should_queue (&q));
}

static void
test_set_policy (void **state)
{
  struct mp_noqueue q;

  (void) state;
  /* Reconfigured from N to queue mid-countdown: queue forever. */
  assert_int_equal (mp_noqueue_init (&q, 2, 5, 0, 0, S(0)), MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_set_policy (&q, MP_NPR_QUEUE, 5, S(3)), 0);
  assert_false (q.in_recovery);
  assert_int_equal (mp_noqueue_tick (&q, S(100)), 0);
  assert_true (mp_noqueue_should_queue (&q));
  /* ... then to fail: held I/O fails now. */
  assert_int_equal (mp_noqueue_set_policy (&q, MP_NPR_FAIL, 5, S(101)),
                    MP_NQ_QUEUE_OFF);
  assert_true (mp_noqueue_should_fail_queued (&q));
  /* ... then to N: still no path, a countdown starts. */
  assert_int_equal (mp_noqueue_set_policy (&q, 1, 5, S(102)),
                    MP_NQ_QUEUE_ON | MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_tick (&q, S(107)), MP_NQ_QUEUE_OFF);
  /* polling_interval 0 counts as 1. */
  assert_int_equal (mp_noqueue_init (&q, 4, 0, 0, 0, S(0)), MP_NQ_RECOVERY);
  assert_int_equal (mp_noqueue_seconds_left (&q, S(0)), 4);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_queue),
    cmocka_unit_test (test_fail),
    cmocka_unit_test (test_retry_n),
    cmocka_unit_test (test_retry_n_at_creation),
    cmocka_unit_test (test_disable_restore),
    cmocka_unit_test (test_set_policy),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
