/* test_crc32c.c: util/crc32c.h against the RFC 7143 digest vectors, and the
 * hardware path against the table path on every length 0..300 at every
 * alignment, plus chaining split at every point. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/crc32c.h"

static void
check_both (const void *buf, size_t len, uint32_t expect)
{
  assert_int_equal (braid_crc32c (0, buf, len), expect);
  assert_int_equal (braid_crc32c_sw (0, buf, len), expect);
}

static void
test_vectors (void **state)
{
  uint8_t buf[32];
  int i;

  (void) state;
  memset (buf, 0, sizeof buf);
  check_both (buf, 32, 0x8a9136aau);
  memset (buf, 0xff, sizeof buf);
  check_both (buf, 32, 0x62a8ab43u);
  for (i = 0; i < 32; i++)
    buf[i] = (uint8_t) i;
  check_both (buf, 32, 0x46dd794eu);
  check_both ("123456789", 9, 0xe3069283u);
  /* Empty input leaves the running value unchanged. */
  check_both (NULL, 0, 0);
  assert_int_equal (braid_crc32c (0x12345678u, NULL, 0), 0x12345678u);
  assert_int_equal (braid_crc32c_sw (0x12345678u, "", 0), 0x12345678u);
}

/* xorshift: deterministic, so a failure reproduces. */
static uint32_t rng_state = 0x9e3779b9u;

static uint8_t
rnd (void)
{
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return (uint8_t) rng_state;
}

static void
test_hw_matches_sw (void **state)
{
  uint8_t buf[300 + 8];
  size_t len, off, i;

  (void) state;
  print_message ("hardware crc32c: %s\n",
                 braid_crc32c_hw_available () ? "yes" : "no");
  for (i = 0; i < sizeof buf; i++)
    buf[i] = rnd ();
  for (off = 0; off < 8; off++)
    for (len = 0; len <= 300; len++) {
      uint32_t seed = (uint32_t) len * 2654435761u;
      assert_int_equal (braid_crc32c (0, buf + off, len),
                        braid_crc32c_sw (0, buf + off, len));
      assert_int_equal (braid_crc32c (seed, buf + off, len),
                        braid_crc32c_sw (seed, buf + off, len));
    }
}

static void
test_chaining (void **state)
{
  uint8_t buf[300];
  size_t len, split, i;

  (void) state;
  for (i = 0; i < sizeof buf; i++)
    buf[i] = rnd ();
  for (len = 0; len <= 300; len += 7)
    for (split = 0; split <= len; split++) {
      uint32_t whole = braid_crc32c (0, buf, len);
      assert_int_equal (braid_crc32c (braid_crc32c (0, buf, split),
                                      buf + split, len - split), whole);
      assert_int_equal (braid_crc32c_sw (braid_crc32c_sw (0, buf, split),
                                         buf + split, len - split), whole);
      /* Mixing the two paths mid-stream is fine too. */
      assert_int_equal (braid_crc32c_sw (braid_crc32c (0, buf, split),
                                         buf + split, len - split), whole);
    }
  /* The running value after the 9 ASCII digits, fed in one at a time. */
  {
    uint32_t c = 0;
    for (i = 0; i < 9; i++)
      c = braid_crc32c (c, "123456789" + i, 1);
    assert_int_equal (c, 0xe3069283u);
  }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_vectors),
    cmocka_unit_test (test_hw_matches_sw),
    cmocka_unit_test (test_chaining),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
