/* test_log.c: util/log.h and util/errbuf.h: prefixing, truncation, level
 * gating without evaluating arguments, and errno preservation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "util/errbuf.h"
#include "util/log.h"

struct sink {
  int calls;
  int level;
  char msg[2048];
};

static void
sink_fn (void *opaque, int level, const char *msg)
{
  struct sink *s = opaque;

  s->calls++;
  s->level = level;
  strncpy (s->msg, msg, sizeof s->msg - 1);
  s->msg[sizeof s->msg - 1] = '\0';
  /* A callback that clobbers errno must not leak that to the caller. */
  errno = EPIPE;
}

static void
test_prefix (void **state)
{
  struct sink s = { 0 };
  struct braid_logger lg = { sink_fn, &s, BRAID_LOG_DEBUG, "mpatha/sdc" };

  (void) state;
  braid_logf (&lg, BRAID_LOG_NOTICE, "path %s is %d", "up", 1);
  assert_int_equal (s.calls, 1);
  assert_int_equal (s.level, BRAID_LOG_NOTICE);
  assert_string_equal (s.msg, "mpatha/sdc: path up is 1");
}

static void
test_no_prefix (void **state)
{
  struct sink s = { 0 };
  struct braid_logger lg = { sink_fn, &s, BRAID_LOG_DEBUG, NULL };

  (void) state;
  braid_logf (&lg, BRAID_LOG_ERR, "x=%d", 7);
  assert_string_equal (s.msg, "x=7");
  lg.prefix = "";
  braid_logf (&lg, BRAID_LOG_ERR, "y");
  assert_string_equal (s.msg, "y");
}

static void
test_truncate (void **state)
{
  struct sink s = { 0 };
  struct braid_logger lg = { sink_fn, &s, BRAID_LOG_DEBUG, "p" };
  char big[3000];

  (void) state;
  memset (big, 'a', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  braid_logf (&lg, BRAID_LOG_ERR, "%s", big);
  assert_int_equal (strlen (s.msg), BRAID_LOG_LINE_MAX - 1);
  assert_memory_equal (s.msg, "p: aaa", 6);

  /* A prefix longer than the line still produces a terminated line. */
  big[2000] = '\0';
  lg.prefix = big;
  braid_logf (&lg, BRAID_LOG_ERR, "msg");
  assert_int_equal (strlen (s.msg), BRAID_LOG_LINE_MAX - 1);
}

static int evaluated;

static int
side_effect (void)
{
  evaluated++;
  return 1;
}

static void
test_level_gate (void **state)
{
  struct sink s = { 0 };
  struct braid_logger lg = { sink_fn, &s, BRAID_LOG_NOTICE, NULL };
  struct braid_logger off = { NULL, NULL, BRAID_LOG_DEBUG, NULL };

  (void) state;
  evaluated = 0;
  BRAID_LOG (&lg, BRAID_LOG_DEBUG, "%d", side_effect ());
  assert_int_equal (s.calls, 0);
  assert_int_equal (evaluated, 0);
  BRAID_LOG (&off, BRAID_LOG_ERR, "%d", side_effect ());
  assert_int_equal (evaluated, 0);
  BRAID_LOG (&lg, BRAID_LOG_NOTICE, "%d", side_effect ());
  assert_int_equal (s.calls, 1);
  assert_int_equal (evaluated, 1);
  assert_string_equal (s.msg, "1");
  /* Direct calls with no callback are harmless. */
  braid_logf (&off, BRAID_LOG_ERR, "nothing");
  braid_logf (NULL, BRAID_LOG_ERR, "nothing");
}

static void
test_log_errno (void **state)
{
  struct sink s = { 0 };
  struct braid_logger lg = { sink_fn, &s, BRAID_LOG_DEBUG, NULL };

  (void) state;
  errno = ECONNRESET;
  braid_logf (&lg, BRAID_LOG_ERR, "read: %m");
  assert_int_equal (errno, ECONNRESET);
  assert_string_equal (s.msg, "read: Connection reset by peer");
}

static void
test_set_error (void **state)
{
  char buf[16];

  (void) state;
  errno = ETIMEDOUT;
  braid_set_error (buf, sizeof buf, "login %s: %d", "failed", 42);
  assert_int_equal (errno, ETIMEDOUT);
  assert_string_equal (buf, "login failed: 4");   /* truncated at 15 */

  errno = ENOENT;
  braid_set_error (buf, sizeof buf, "%m");
  assert_int_equal (errno, ENOENT);
  assert_string_equal (buf, "No such file or");

  braid_set_error (NULL, 0, "ignored");
  braid_set_error (buf, 0, "ignored");
  assert_string_equal (buf, "No such file or");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_prefix),
    cmocka_unit_test (test_no_prefix),
    cmocka_unit_test (test_truncate),
    cmocka_unit_test (test_level_gate),
    cmocka_unit_test (test_log_errno),
    cmocka_unit_test (test_set_error),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
