/* test_ctl_strbuf.c: the growable reply buffer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "braid/ctl.h"

static void
test_append_and_grow (void **state)
{
  struct braid_strbuf sb = BRAID_STRBUF_INIT;
  char big[5000];
  size_t i;

  (void) state;
  assert_string_equal (braid_strbuf_str (&sb), "");
  assert_int_equal (braid_strbuf_puts (&sb, "ok"), 0);
  assert_int_equal (braid_strbuf_add (&sb, "\n!!", 1), 0);
  assert_string_equal (braid_strbuf_str (&sb), "ok\n");
  assert_int_equal (sb.len, 3);
  /* printf longer than the room left: a second pass after growing. */
  memset (big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal (braid_strbuf_printf (&sb, "<%s>%d", big, 42), 0);
  assert_int_equal (sb.len, 3 + 1 + 4999 + 1 + 2);
  assert_int_equal (sb.buf[sb.len], '\0');
  assert_string_equal (sb.buf + sb.len - 3, ">42");
  for (i = 0; i < 1000; i++)
    assert_int_equal (braid_strbuf_printf (&sb, "%zu,", i), 0);
  assert_string_equal (sb.buf + sb.len - 4, "999,");
  assert_int_equal (braid_strbuf_fill (&sb, ' ', 3), 0);
  assert_string_equal (sb.buf + sb.len - 5, "9,   ");
  braid_strbuf_truncate (&sb, 2);
  assert_string_equal (braid_strbuf_str (&sb), "ok");
  braid_strbuf_truncate (&sb, 10);
  assert_string_equal (braid_strbuf_str (&sb), "ok");
  braid_strbuf_reset (&sb);
  assert_int_equal (sb.len, 0);
  assert_string_equal (braid_strbuf_str (&sb), "");
  braid_strbuf_free (&sb);
  assert_null (sb.buf);
}

static void
test_steal_and_sticky_error (void **state)
{
  struct braid_strbuf sb;
  char *s;

  (void) state;
  braid_strbuf_init (&sb);
  assert_null (braid_strbuf_steal (&sb));
  braid_strbuf_puts (&sb, "text");
  s = braid_strbuf_steal (&sb);
  assert_string_equal (s, "text");
  free (s);
  assert_int_equal (sb.len, 0);
  assert_null (sb.buf);
  /* Once failed, appends refuse until reset, and steal gives nothing. */
  braid_strbuf_puts (&sb, "a");
  sb.err = -ENOMEM;
  assert_int_equal (braid_strbuf_puts (&sb, "b"), -ENOMEM);
  assert_int_equal (braid_strbuf_printf (&sb, "%d", 1), -ENOMEM);
  assert_int_equal (braid_strbuf_fill (&sb, 'c', 2), -ENOMEM);
  assert_string_equal (braid_strbuf_str (&sb), "a");
  assert_null (braid_strbuf_steal (&sb));
  /* A size that cannot be represented fails cleanly. */
  braid_strbuf_puts (&sb, "a");
  assert_int_equal (braid_strbuf_fill (&sb, 'c', SIZE_MAX), -ENOMEM);
  assert_int_equal (sb.err, -ENOMEM);
  braid_strbuf_reset (&sb);
  assert_int_equal (braid_strbuf_puts (&sb, "again"), 0);
  assert_string_equal (braid_strbuf_str (&sb), "again");
  braid_strbuf_free (&sb);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_append_and_grow),
    cmocka_unit_test (test_steal_and_sticky_error),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
