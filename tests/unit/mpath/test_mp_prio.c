/* test_mp_prio.c: prioritizer values.
 *
 * alua over every access state with and without the PREF bit and
 * exclusive_pref_bit; path_latency against values computed with the C
 * library's log() the way multipath-tools does (including results that
 * sit just below an integer, where a sloppy logarithm would round the
 * other way); prio_args parsing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mpath/policy.h"

static void
test_const (void **state)
{
  (void) state;
  assert_int_equal (mp_prio_const (), 1);
}

static void
test_alua (void **state)
{
  static const struct {
    int aas, plain, pref, pref_exclusive;
  } t[] = {
    { MP_ALUA_OPTIMIZED, 50, 50, 130 },
    { MP_ALUA_NON_OPTIMIZED, 10, 90, 90 },
    { MP_ALUA_STANDBY, 1, 81, 81 },
    { MP_ALUA_UNAVAILABLE, 0, 80, 80 },
    { MP_ALUA_LBA_DEPENDENT, 5, 85, 85 },
    { MP_ALUA_OFFLINE, 0, 80, 80 },
    { MP_ALUA_TRANSITIONING, 0, 80, 80 },
    { 0x7, 0, 80, 80 },  /* reserved */
  };
  size_t i;

  (void) state;
  for (i = 0; i < sizeof t / sizeof t[0]; i++) {
    assert_int_equal (mp_prio_alua (t[i].aas, false, false), t[i].plain);
    assert_int_equal (mp_prio_alua (t[i].aas, false, true), t[i].plain);
    assert_int_equal (mp_prio_alua (t[i].aas, true, false), t[i].pref);
    assert_int_equal (mp_prio_alua (t[i].aas, true, true),
                      t[i].pref_exclusive);
  }
  /* From an RTPG descriptor's first byte: PREF is bit 7, the state the
   * low nibble; reserved bits 4-6 are ignored. */
  assert_int_equal (mp_prio_alua_byte (0x00, false), 50);
  assert_int_equal (mp_prio_alua_byte (0x80, false), 50);
  assert_int_equal (mp_prio_alua_byte (0x80, true), 130);
  assert_int_equal (mp_prio_alua_byte (0x81, false), 90);
  assert_int_equal (mp_prio_alua_byte (0x71, false), 10);
  assert_int_equal (mp_prio_alua_byte (0x0e, false), 0);
  assert_int_equal (mp_prio_alua_byte (0x8f, false), 80);
}

#define US(n) ((uint64_t) (n) * 1000u)

static int
lat1 (uint64_t us, double base)
{
  uint64_t ns = US (us);

  return mp_prio_path_latency (&ns, 1, base);
}

static void
test_path_latency (void **state)
{
  const double d = MP_LATENCY_BASE_DEFAULT;
  uint64_t v[100];
  int i;

  (void) state;
  /* Base 10: one prio step per decade below 100 s. */
  assert_int_equal (lat1 (1000, 10), 5);
  assert_int_equal (lat1 (100, 10), 6);
  assert_int_equal (lat1 (10, 10), 7);
  assert_int_equal (lat1 (1, 10), 8);
  assert_int_equal (lat1 (250, 10), 5);
  assert_int_equal (lat1 (3162, 10), 4);
  assert_int_equal (lat1 (5000000, 10), 1);
  /* Default base 10^(1/4) (slightly above, as multipath-tools defines
   * it): the top of the scale is 31.99999999997, so 1 ms gives 19, not
   * 20. */
  assert_int_equal (lat1 (1000, d), 19);
  assert_int_equal (lat1 (100, d), 23);
  assert_int_equal (lat1 (10, d), 27);
  assert_int_equal (lat1 (250, d), 22);
  assert_int_equal (lat1 (3162, d), 18);
  assert_int_equal (lat1 (5000000, d), 5);
  assert_int_equal (lat1 (1, d), 31);
  /* Other bases. */
  assert_int_equal (lat1 (1000, 2), 16);
  assert_int_equal (lat1 (100, 2), 19);
  assert_int_equal (lat1 (1000, 1.1), 120);
  assert_int_equal (lat1 (1, 1.1), 193);
  /* Sub-microsecond counts as 1 us. */
  assert_int_equal (lat1 (0, 10), 8);
  v[0] = 999;
  assert_int_equal (mp_prio_path_latency (v, 1, 10), 8);
  /* 100 s and beyond: 0. */
  assert_int_equal (lat1 (99999999, 10), 0);
  assert_int_equal (lat1 (100000000, 10), 0);
  assert_int_equal (lat1 (100000001, d), 0);

  /* The mean is geometric: 100 us and 10 ms average to 1 ms. */
  v[0] = US (100);
  v[1] = US (10000);
  assert_int_equal (mp_prio_path_latency (v, 2, 10), 5);
  /* 99 samples of 1 ms and one of 100 ms: log mean 3.02 -> 4. */
  for (i = 0; i < 99; i++)
    v[i] = US (1000);
  v[99] = US (100000);
  assert_int_equal (mp_prio_path_latency (v, 100, 10), 4);
  assert_int_equal (mp_prio_path_latency (v, 100, d), 19);
  /* A zero sample pulls the mean towards 1 us: (0 + 3) / 2 -> 6. */
  v[0] = 0;
  v[1] = US (1000);
  assert_int_equal (mp_prio_path_latency (v, 2, 10), 6);

  /* Bad input. */
  assert_int_equal (mp_prio_path_latency (v, 0, 10), -EINVAL);
  assert_int_equal (mp_prio_path_latency (NULL, 1, 10), -EINVAL);
  assert_int_equal (mp_prio_path_latency (v, 1, 1.0), -EINVAL);
  assert_int_equal (mp_prio_path_latency (v, 1, 10.5), -EINVAL);
}

static void
test_path_latency_args (void **state)
{
  unsigned io;
  double base;

  (void) state;
  assert_int_equal (mp_prio_path_latency_args ("io_num=20 base_num=10", &io,
                                               &base), 0);
  assert_int_equal (io, 20);
  assert_true (base == 10.0);
  assert_int_equal (mp_prio_path_latency_args ("base_num=1.5\tio_num=200",
                                               &io, &base), 0);
  assert_int_equal (io, 200);
  assert_true (base == 1.5);
  /* Only the first two words are read. */
  assert_int_equal (mp_prio_path_latency_args ("io_num=50 base_num=2 x",
                                               &io, &base), 0);
  assert_int_equal (io, 50);

  /* Failures leave the defaults. */
  assert_int_equal (mp_prio_path_latency_args ("io_num=19 base_num=10", &io,
                                               &base), -EINVAL);
  assert_int_equal (io, MP_LATENCY_IO_NUM_DEFAULT);
  assert_true (base == MP_LATENCY_BASE_DEFAULT);
  assert_int_equal (mp_prio_path_latency_args ("io_num=201 base_num=10", &io,
                                               &base), -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("io_num=20 base_num=1.05",
                                               &io, &base), -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("io_num=20 base_num=11", &io,
                                               &base), -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("io_num=20", &io, &base),
                    -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("io_num=x base_num=2", &io,
                                               &base), -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("io_num=20 base_num=2q", &io,
                                               &base), -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("20|10", &io, &base),
                    -EINVAL);
  assert_int_equal (mp_prio_path_latency_args ("", &io, &base), -EINVAL);
  assert_int_equal (mp_prio_path_latency_args (NULL, &io, &base), -EINVAL);
  assert_int_equal (io, MP_LATENCY_IO_NUM_DEFAULT);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_const),
    cmocka_unit_test (test_alua),
    cmocka_unit_test (test_path_latency),
    cmocka_unit_test (test_path_latency_args),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
