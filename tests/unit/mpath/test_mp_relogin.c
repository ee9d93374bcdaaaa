/* test_mp_relogin.c: the retry schedule of a node whose first login
 * failed: doubling waits with a ceiling for transport failures and target
 * errors, none for the class 2 statuses a retry cannot fix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mpath/policy.h"

static void
test_backoff (void **state)
{
  (void) state;
  /* No login response at all (connect refused, timed out). */
  unsigned want[] = { 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000 };
  unsigned ms = 0;
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    ms = mp_relogin_delay_ms (0, ms);
    assert_int_equal (ms, want[i]);
  }
  /* Target errors (class 3) are worth retrying too. */
  assert_int_equal (mp_relogin_delay_ms (0x0300, 0), 1000);
  assert_int_equal (mp_relogin_delay_ms (0x0301, 4000), 8000);
  /* An odd previous wait still ends at the ceiling, never above. */
  assert_int_equal (mp_relogin_delay_ms (0, 17000), 30000);
  assert_int_equal (mp_relogin_delay_ms (0, 999), 1000);
}

static void
test_permanent (void **state)
{
  (void) state;
  for (int st = 0x0200; st <= 0x020b; st++)
    if (st != 0x0206)
      assert_int_equal (mp_relogin_delay_ms (st, 0), 0);
  /* Too many connections clears by itself. */
  assert_int_equal (mp_relogin_delay_ms (0x0206, 0), 1000);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_backoff),
    cmocka_unit_test (test_permanent),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
