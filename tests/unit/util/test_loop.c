/* test_loop.c: braid/loop.h.  fd readiness, mod/del (including from inside
 * callbacks, where already-fetched events must be dropped), timer order and
 * re-arm/free from callbacks, deferred call order, run/stop.
 *
 * No test asserts a duration.  Timeouts passed to braid_loop_run_once are
 * only safety bounds so a broken loop fails instead of hanging; the one
 * timing assertion is the lower bound "a timer never fires early". */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/loop.h"

#define SAFETY_MS 5000

static struct braid_loop *
new_loop (void)
{
  struct braid_loop *loop = braid_loop_new ();
  assert_non_null (loop);
  return loop;
}

/* ---- fds ---- */

struct fd_rec {
  int calls;
  int last_fd;
  unsigned last_revents;
};

static void
fd_count_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct fd_rec *r = opaque;

  (void) loop;
  r->calls++;
  r->last_fd = fd;
  r->last_revents = revents;
}

static void
test_fd_readable (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct fd_rec rec = { 0 };
  int p[2];
  char c = 'x';

  (void) state;
  assert_int_equal (pipe2 (p, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal (braid_loop_add_fd (loop, p[0], POLLIN, fd_count_cb, &rec),
                    0);
  assert_int_equal (braid_loop_add_fd (loop, p[0], POLLIN, fd_count_cb, &rec),
                    -EEXIST);
  assert_int_equal (braid_loop_add_fd (loop, -1, POLLIN, fd_count_cb, &rec),
                    -EBADF);

  /* Nothing to read yet. */
  assert_int_equal (braid_loop_run_once (loop, 0), 0);
  assert_int_equal (rec.calls, 0);

  assert_int_equal (write (p[1], &c, 1), 1);
  assert_int_equal (braid_loop_run_once (loop, SAFETY_MS), 1);
  assert_int_equal (rec.calls, 1);
  assert_int_equal (rec.last_fd, p[0]);
  assert_true (rec.last_revents & POLLIN);

  /* Level-triggered: still readable until drained. */
  assert_int_equal (braid_loop_run_once (loop, 0), 1);
  assert_int_equal (read (p[0], &c, 1), 1);
  assert_int_equal (braid_loop_run_once (loop, 0), 0);
  assert_int_equal (rec.calls, 2);

  /* Closing the writer reports POLLHUP. */
  close (p[1]);
  assert_int_equal (braid_loop_run_once (loop, SAFETY_MS), 1);
  assert_true (rec.last_revents & POLLHUP);

  assert_int_equal (braid_loop_del_fd (loop, p[0]), 0);
  close (p[0]);
  braid_loop_free (loop);
}

static void
test_fd_mod_del (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct fd_rec rec = { 0 };
  int sv[2];

  (void) state;
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
                    0);
  /* Registered for nothing: a writable socket stays silent. */
  assert_int_equal (braid_loop_add_fd (loop, sv[0], 0, fd_count_cb, &rec), 0);
  assert_int_equal (braid_loop_run_once (loop, 0), 0);

  assert_int_equal (braid_loop_mod_fd (loop, sv[0], POLLOUT), 0);
  assert_int_equal (braid_loop_run_once (loop, SAFETY_MS), 1);
  assert_int_equal (rec.last_revents, POLLOUT);

  assert_int_equal (braid_loop_mod_fd (loop, sv[0], POLLIN), 0);
  assert_int_equal (braid_loop_run_once (loop, 0), 0);
  assert_int_equal (rec.calls, 1);

  assert_int_equal (braid_loop_mod_fd (loop, sv[1], POLLIN), -ENOENT);
  assert_int_equal (braid_loop_del_fd (loop, sv[1]), -ENOENT);

  assert_int_equal (braid_loop_mod_fd (loop, sv[0], POLLOUT), 0);
  assert_int_equal (braid_loop_del_fd (loop, sv[0]), 0);
  assert_int_equal (braid_loop_run_once (loop, 0), 0);
  assert_int_equal (rec.calls, 1);
  assert_int_equal (braid_loop_mod_fd (loop, sv[0], POLLIN), -ENOENT);
  assert_int_equal (braid_loop_del_fd (loop, sv[0]), -ENOENT);

  /* Re-adding after del works. */
  assert_int_equal (braid_loop_add_fd (loop, sv[0], POLLOUT, fd_count_cb,
                                       &rec), 0);
  assert_int_equal (braid_loop_run_once (loop, SAFETY_MS), 1);
  assert_int_equal (rec.calls, 2);
  assert_int_equal (braid_loop_del_fd (loop, sv[0]), 0);

  close (sv[0]);
  close (sv[1]);
  braid_loop_free (loop);
}

/* mod_fd with an unchanged mask must not reach the kernel.  Once the fd is
 * closed, the kernel would answer EBADF to any epoll_ctl, so a 0 from an
 * unchanged mod proves no syscall was made. */
static void
test_fd_mod_unchanged_no_syscall (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct fd_rec rec = { 0 };
  int p[2];

  (void) state;
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  assert_int_equal (braid_loop_add_fd (loop, p[0], POLLIN, fd_count_cb, &rec),
                    0);
  close (p[0]);
  assert_int_equal (braid_loop_mod_fd (loop, p[0], POLLIN), 0);
  assert_int_equal (braid_loop_mod_fd (loop, p[0], POLLIN | POLLOUT), -EBADF);
  /* del still forgets the registration of an fd closed too early. */
  assert_int_equal (braid_loop_del_fd (loop, p[0]), 0);
  assert_int_equal (braid_loop_mod_fd (loop, p[0], POLLIN), -ENOENT);
  close (p[1]);
  braid_loop_free (loop);
}

struct del_ctx {
  int fds[2];
  int calls;
  int reregistered_calls;
  int readd;
};

static void
rereg_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct del_ctx *c = opaque;

  (void) loop;
  (void) fd;
  (void) revents;
  c->reregistered_calls++;
}

/* Whichever of the two readable fds comes first deletes both (itself
 * included); the other's event, already fetched by epoll_wait, must be
 * dropped.  With 'readd', the other fd is re-added with a new callback: the
 * stale event must not reach the new registration either. */
static void
del_both_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct del_ctx *c = opaque;
  int other = fd == c->fds[0] ? c->fds[1] : c->fds[0];

  (void) revents;
  c->calls++;
  assert_int_equal (braid_loop_del_fd (loop, other), 0);
  assert_int_equal (braid_loop_del_fd (loop, fd), 0);
  if (c->readd)
    assert_int_equal (braid_loop_add_fd (loop, other, POLLIN, rereg_cb, c), 0);
}

static void
run_del_inside (int readd)
{
  struct braid_loop *loop = new_loop ();
  struct del_ctx c = { { -1, -1 }, 0, 0, readd };
  int p1[2], p2[2];
  char ch = 'x';

  assert_int_equal (pipe2 (p1, O_CLOEXEC), 0);
  assert_int_equal (pipe2 (p2, O_CLOEXEC), 0);
  c.fds[0] = p1[0];
  c.fds[1] = p2[0];
  assert_int_equal (write (p1[1], &ch, 1), 1);
  assert_int_equal (write (p2[1], &ch, 1), 1);
  assert_int_equal (braid_loop_add_fd (loop, p1[0], POLLIN, del_both_cb, &c),
                    0);
  assert_int_equal (braid_loop_add_fd (loop, p2[0], POLLIN, del_both_cb, &c),
                    0);

  assert_int_equal (braid_loop_run_once (loop, SAFETY_MS), 1);
  assert_int_equal (c.calls, 1);
  assert_int_equal (c.reregistered_calls, 0);

  /* Next iteration: only the re-added registration, if any, is live. */
  assert_int_equal (braid_loop_run_once (loop, 0), readd ? 1 : 0);
  assert_int_equal (c.calls, 1);
  assert_int_equal (c.reregistered_calls, readd ? 1 : 0);

  braid_loop_free (loop);
  close (p1[0]);
  close (p1[1]);
  close (p2[0]);
  close (p2[1]);
}

static void
test_fd_del_inside_cb (void **state)
{
  (void) state;
  run_del_inside (0);
}

static void
test_fd_del_readd_inside_cb (void **state)
{
  (void) state;
  run_del_inside (1);
}

/* ---- timers ---- */

#define MAX_LOG 256

struct tlog {
  int n;
  int ids[MAX_LOG];
};

struct tctx {
  struct tlog *log;
  int id;
  uint64_t deadline;
  uint64_t fired_at;
  int rearm_left;
  struct braid_timer *victim;   /* freed by this timer's callback */
  int free_self;
};

static void
timer_cb (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  struct tctx *c = opaque;

  (void) loop;
  assert_false (braid_timer_armed (t));
  c->fired_at = braid_now_ns ();
  assert_true (c->log->n < MAX_LOG);
  c->log->ids[c->log->n++] = c->id;
  if (c->victim != NULL) {
    braid_timer_free (c->victim);
    c->victim = NULL;
  }
  if (c->rearm_left > 0) {
    c->rearm_left--;
    braid_timer_arm_ms (t, 0);
  }
  if (c->free_self)
    braid_timer_free (t);
}

static void
test_timer_order (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct tctx c[6];
  struct braid_timer *t[6];
  /* Deadlines in the past, so all are due at once; order must follow the
   * deadline, then arming order for equal deadlines. */
  uint64_t base = braid_now_ns () - 1000000000u;
  uint64_t dl[6] = { base + 50, base + 10, base + 30, base + 10, base + 20,
                     UINT64_MAX };
  int expect[5] = { 1, 3, 4, 2, 0 };
  int i;

  (void) state;
  for (i = 0; i < 6; i++) {
    memset (&c[i], 0, sizeof c[i]);
    c[i].log = &log;
    c[i].id = i;
    t[i] = braid_timer_new (loop, timer_cb, &c[i]);
    assert_non_null (t[i]);
    assert_false (braid_timer_armed (t[i]));
    braid_timer_arm_at (t[i], dl[i]);
    assert_true (braid_timer_armed (t[i]));
  }
  assert_int_equal (braid_loop_run_once (loop, 0), 5);
  assert_int_equal (log.n, 5);
  for (i = 0; i < 5; i++)
    assert_int_equal (log.ids[i], expect[i]);
  /* The far-future one is still waiting. */
  assert_true (braid_timer_armed (t[5]));
  assert_int_equal (braid_loop_run_once (loop, 0), 0);

  for (i = 0; i < 6; i++)
    braid_timer_free (t[i]);
  braid_loop_free (loop);
}

static void
test_timer_not_early (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct tctx c = { &log, 7, 0, 0, 0, NULL, 0 };
  struct braid_timer *t = braid_timer_new (loop, timer_cb, &c);
  int iter;

  (void) state;
  assert_non_null (t);
  /* 1.5 ms: the sub-millisecond part checks the round-up of the wait. */
  c.deadline = braid_now_ns () + 1500000u;
  braid_timer_arm_at (t, c.deadline);
  for (iter = 0; iter < 1000 && log.n == 0; iter++)
    assert_true (braid_loop_run_once (loop, -1) >= 0);
  assert_int_equal (log.n, 1);
  assert_true (c.fired_at >= c.deadline);

  /* arm_ms likewise. */
  c.deadline = braid_now_ns () + 2000000u;
  braid_timer_arm_ms (t, 2);
  for (iter = 0; iter < 1000 && log.n == 1; iter++)
    assert_true (braid_loop_run_once (loop, -1) >= 0);
  assert_int_equal (log.n, 2);
  assert_true (c.fired_at >= c.deadline);

  braid_timer_free (t);
  braid_loop_free (loop);
}

static void
test_timer_disarm_rearm (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct tctx c[2] = { { &log, 0, 0, 0, 0, NULL, 0 },
                       { &log, 1, 0, 0, 0, NULL, 0 } };
  struct braid_timer *a = braid_timer_new (loop, timer_cb, &c[0]);
  struct braid_timer *b = braid_timer_new (loop, timer_cb, &c[1]);
  uint64_t past = braid_now_ns () - 1000000u;

  (void) state;
  braid_timer_arm_at (a, past);
  braid_timer_arm_at (b, past + 1);
  braid_timer_disarm (a);
  assert_false (braid_timer_armed (a));
  braid_timer_disarm (a);     /* twice is fine */
  assert_int_equal (braid_loop_run_once (loop, 0), 1);
  assert_int_equal (log.n, 1);
  assert_int_equal (log.ids[0], 1);

  /* Re-arming an armed timer moves it rather than duplicating it. */
  braid_timer_arm_at (a, UINT64_MAX);
  braid_timer_arm_at (a, past);
  assert_int_equal (braid_loop_run_once (loop, 0), 1);
  assert_int_equal (braid_loop_run_once (loop, 0), 0);
  assert_int_equal (log.n, 2);
  assert_int_equal (log.ids[1], 0);

  braid_timer_free (a);
  braid_timer_free (b);
  braid_timer_free (NULL);
  braid_loop_free (loop);
}

/* A timer re-armed from its callback for "now" runs once per iteration, not
 * in a tight loop inside one iteration. */
static void
test_timer_rearm_from_cb (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct tctx c = { &log, 3, 0, 0, 3, NULL, 0 };
  struct braid_timer *t = braid_timer_new (loop, timer_cb, &c);
  int i;

  (void) state;
  braid_timer_arm_ms (t, 0);
  for (i = 1; i <= 4; i++) {
    assert_int_equal (braid_loop_run_once (loop, SAFETY_MS), 1);
    assert_int_equal (log.n, i);
  }
  assert_false (braid_timer_armed (t));
  assert_int_equal (braid_loop_run_once (loop, 0), 0);
  braid_timer_free (t);
  braid_loop_free (loop);
}

static void
test_timer_free_from_cb (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct tctx c[3] = { { &log, 0, 0, 0, 0, NULL, 1 },
                       { &log, 1, 0, 0, 0, NULL, 0 },
                       { &log, 2, 0, 0, 0, NULL, 0 } };
  struct braid_timer *t[3];
  uint64_t past = braid_now_ns () - 1000000u;
  int i;

  (void) state;
  for (i = 0; i < 3; i++)
    t[i] = braid_timer_new (loop, timer_cb, &c[i]);
  /* t0 frees itself; t1 frees t2, which was due too and must not run. */
  c[1].victim = t[2];
  braid_timer_arm_at (t[0], past);
  braid_timer_arm_at (t[1], past + 1);
  braid_timer_arm_at (t[2], past + 2);
  assert_int_equal (braid_loop_run_once (loop, 0), 2);
  assert_int_equal (log.n, 2);
  assert_int_equal (log.ids[0], 0);
  assert_int_equal (log.ids[1], 1);
  braid_timer_free (t[1]);
  braid_loop_free (loop);
}

/* Many timers, random deadlines, random disarms and re-arms: what fires is
 * exactly the armed set, in deadline order.  Exercises the heap. */
static void
test_timer_heap_stress (void **state)
{
  enum { N = 200 };
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct tctx *c = calloc (N, sizeof *c);
  struct braid_timer **t = calloc (N, sizeof *t);
  int *armed = calloc (N, sizeof *armed);
  uint64_t base = braid_now_ns () - 10000000000u;
  unsigned seed = 12345;
  int i, round, nexpect;

  (void) state;
  assert_non_null (c);
  assert_non_null (t);
  assert_non_null (armed);
  for (i = 0; i < N; i++) {
    c[i].log = &log;
    c[i].id = i;
    t[i] = braid_timer_new (loop, timer_cb, &c[i]);
    assert_non_null (t[i]);
  }
  for (round = 0; round < 2000; round++) {
    seed = seed * 1103515245u + 12345u;
    i = (int) ((seed >> 8) % N);
    if ((seed >> 4) % 3 == 0) {
      braid_timer_disarm (t[i]);
      armed[i] = 0;
    }
    else {
      /* Unique deadlines (id in the low bits) keep the order total. */
      c[i].deadline = base + (((seed >> 12) % 100000u) * N + (unsigned) i);
      braid_timer_arm_at (t[i], c[i].deadline);
      armed[i] = 1;
    }
  }
  nexpect = 0;
  for (i = 0; i < N; i++) {
    assert_int_equal (braid_timer_armed (t[i]) != 0, armed[i]);
    nexpect += armed[i];
  }
  assert_int_equal (braid_loop_run_once (loop, 0), nexpect);
  assert_int_equal (log.n, nexpect);
  for (i = 1; i < log.n; i++)
    assert_true (c[log.ids[i - 1]].deadline < c[log.ids[i]].deadline);
  for (i = 0; i < log.n; i++)
    assert_true (armed[log.ids[i]]);

  /* Free half, armed or not, and leave the rest to braid_loop_free. */
  for (i = 0; i < N; i += 2)
    braid_timer_free (t[i]);
  for (i = 1; i < N; i += 4)
    braid_timer_arm_ms (t[i], 100000);
  braid_loop_free (loop);
  free (c);
  free (t);
  free (armed);
}

/* ---- deferred calls ---- */

struct dctx {
  struct tlog *log;
  int id;
  int defer_more;     /* id to defer from inside this call, 0 = none */
  struct dctx *more;
  int stop;
};

static void
defer_cb (struct braid_loop *loop, void *opaque)
{
  struct dctx *d = opaque;

  d->log->ids[d->log->n++] = d->id;
  if (d->more != NULL)
    assert_int_equal (braid_loop_defer (loop, defer_cb, d->more), 0);
  if (d->stop)
    braid_loop_stop (loop);
}

static void
test_defer_order (void **state)
{
  struct braid_loop *loop = new_loop ();
  struct tlog log = { 0 };
  struct dctx d4 = { &log, 4, 0, NULL, 0 };
  struct dctx d5 = { &log, 5, 0, NULL, 0 };
  struct dctx d1 = { &log, 1, 0, &d4, 0 };
  struct dctx d2 = { &log, 2, 0, NULL, 0 };
  struct dctx d3 = { &log, 3, 0, &d5, 0 };
  int i;

  (void) state;
  assert_int_equal (braid_loop_defer (loop, NULL, NULL), -EINVAL);
  assert_int_equal (braid_loop_defer (loop, defer_cb, &d1), 0);
  assert_int_equal (braid_loop_defer (loop, defer_cb, &d2), 0);
  assert_int_equal (braid_loop_defer (loop, defer_cb, &d3), 0);
  /* -1: pending deferred calls must keep the wait from blocking. */
  assert_int_equal (braid_loop_run_once (loop, -1), 3);
  assert_int_equal (log.n, 3);
  assert_int_equal (braid_loop_run_once (loop, -1), 2);
  assert_int_equal (log.n, 5);
  for (i = 0; i < 5; i++)
    assert_int_equal (log.ids[i], i + 1);
  assert_int_equal (braid_loop_run_once (loop, 0), 0);

  /* Many, to cross the growth of the queue; and drop some on free. */
  {
    struct dctx many = { &log, 9, 0, NULL, 0 };
    log.n = 0;
    for (i = 0; i < 100; i++)
      assert_int_equal (braid_loop_defer (loop, defer_cb, &many), 0);
    assert_int_equal (braid_loop_run_once (loop, 0), 100);
    assert_int_equal (log.n, 100);
    assert_int_equal (braid_loop_defer (loop, defer_cb, &many), 0);
  }
  braid_loop_free (loop);
}

/* ---- run / stop ---- */

static void
stop_after_cb (struct braid_loop *loop, struct braid_timer *t, void *opaque)
{
  int *left = opaque;

  if (--*left == 0)
    braid_loop_stop (loop);
  else
    braid_timer_arm_ms (t, 0);
}

static void
test_run_stop (void **state)
{
  struct braid_loop *loop = new_loop ();
  int left = 3;
  struct braid_timer *t = braid_timer_new (loop, stop_after_cb, &left);
  struct tlog log = { 0 };
  struct dctx d = { &log, 1, 0, NULL, 1 };

  (void) state;
  braid_timer_arm_ms (t, 1);
  assert_int_equal (braid_loop_run (loop), 0);
  assert_int_equal (left, 0);

  /* Stop from a deferred call; run returns after that iteration, and the
   * stop request does not stick to the next run. */
  assert_int_equal (braid_loop_defer (loop, defer_cb, &d), 0);
  assert_int_equal (braid_loop_run (loop), 0);
  assert_int_equal (log.n, 1);
  left = 2;
  braid_timer_arm_ms (t, 0);
  assert_int_equal (braid_loop_run (loop), 0);
  assert_int_equal (left, 0);

  braid_timer_free (t);
  braid_loop_free (loop);
  braid_loop_free (NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fd_readable),
    cmocka_unit_test (test_fd_mod_del),
    cmocka_unit_test (test_fd_mod_unchanged_no_syscall),
    cmocka_unit_test (test_fd_del_inside_cb),
    cmocka_unit_test (test_fd_del_readd_inside_cb),
    cmocka_unit_test (test_timer_order),
    cmocka_unit_test (test_timer_not_early),
    cmocka_unit_test (test_timer_disarm_rearm),
    cmocka_unit_test (test_timer_rearm_from_cb),
    cmocka_unit_test (test_timer_free_from_cb),
    cmocka_unit_test (test_timer_heap_stress),
    cmocka_unit_test (test_defer_order),
    cmocka_unit_test (test_run_stop),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
