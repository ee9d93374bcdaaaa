/* loop.c: the event loop of braid/loop.h, on epoll plus a timer heap.
 *
 * One iteration is: run the deferred calls queued before it started, wait in
 * epoll_wait (bounded by the caller's timeout and the earliest timer), run
 * the fd callbacks, then the timers that are due.
 *
 * fd registrations live in a table indexed by fd.  Each registration gets a
 * generation number that travels in epoll_event.data together with the fd,
 * so an event that epoll_wait already returned for an fd that a callback
 * deleted (or deleted and re-added) in this iteration is recognised as stale
 * and dropped rather than delivered to the wrong owner.
 *
 * Timers sit in a binary min-heap ordered by (deadline, arm sequence) and
 * remember their own heap index, so arm, disarm and free are O(log n).  The
 * arm sequence makes timers with equal deadlines fire in arming order and
 * lets the timer phase skip timers armed during it: a callback that re-arms
 * itself "now" runs again next iteration instead of spinning here.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "braid/loop.h"

#define MAX_EVENTS 64
#define NOT_ARMED SIZE_MAX

struct fd_reg {
  braid_fd_cb cb;
  void *opaque;
  unsigned events;   /* poll(2) bits asked for (POLLIN|POLLOUT|POLLPRI) */
  uint32_t gen;      /* bumped on every add and del */
  int used;
};

struct defer_item {
  braid_defer_cb cb;
  void *opaque;
};

struct defer_vec {
  struct defer_item *items;
  size_t len, cap;
};

struct braid_timer {
  struct braid_loop *loop;
  braid_timer_cb cb;
  void *opaque;
  uint64_t deadline;
  uint64_t seq;            /* loop->timer_seq at arm time, for tie-breaks */
  size_t idx;              /* index in loop->heap, NOT_ARMED if disarmed */
  struct braid_timer *prev, *next;  /* every timer of the loop */
};

struct braid_loop {
  int epfd;
  struct fd_reg *fds;
  size_t nfds;             /* table size (max fd + 1 ever registered) */
  uint32_t next_gen;

  struct braid_timer **heap;
  size_t heap_len, heap_cap;
  uint64_t timer_seq;
  struct braid_timer *timers;   /* list of all timers, armed or not */
  size_t ntimers;               /* length of that list */

  struct defer_vec defer_q;     /* queued for the next iteration */
  struct defer_vec defer_spare; /* recycled storage, avoids malloc churn */

  int stopped;
  struct epoll_event events[MAX_EVENTS];
};

uint64_t
braid_now_ns (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The poll and epoll bits coincide on Linux, but translating keeps the code
 * honest and costs nothing. */
static uint32_t
poll_to_epoll (unsigned events)
{
  uint32_t ev = 0;

  if (events & POLLIN)
    ev |= EPOLLIN;
  if (events & POLLOUT)
    ev |= EPOLLOUT;
  if (events & POLLPRI)
    ev |= EPOLLPRI;
  return ev;
}

static unsigned
epoll_to_poll (uint32_t ev)
{
  unsigned events = 0;

  if (ev & EPOLLIN)
    events |= POLLIN;
  if (ev & EPOLLOUT)
    events |= POLLOUT;
  if (ev & EPOLLPRI)
    events |= POLLPRI;
  if (ev & EPOLLERR)
    events |= POLLERR;
  if (ev & EPOLLHUP)
    events |= POLLHUP;
  return events;
}

struct braid_loop *
braid_loop_new (void)
{
  struct braid_loop *loop = calloc (1, sizeof *loop);

  if (loop == NULL)
    return NULL;
  loop->epfd = epoll_create1 (EPOLL_CLOEXEC);
  if (loop->epfd < 0) {
    int err = errno;
    free (loop);
    errno = err;
    return NULL;
  }
  return loop;
}

void
braid_loop_free (struct braid_loop *loop)
{
  struct braid_timer *t, *next;

  if (loop == NULL)
    return;
  for (t = loop->timers; t != NULL; t = next) {
    next = t->next;
    free (t);
  }
  free (loop->heap);
  free (loop->fds);
  free (loop->defer_q.items);
  free (loop->defer_spare.items);
  close (loop->epfd);
  free (loop);
}

/* ---- fds ---- */

static struct fd_reg *
lookup_fd (struct braid_loop *loop, int fd)
{
  if (fd < 0 || (size_t) fd >= loop->nfds || !loop->fds[fd].used)
    return NULL;
  return &loop->fds[fd];
}

static int
grow_fd_table (struct braid_loop *loop, int fd)
{
  size_t want = (size_t) fd + 1;
  size_t n = loop->nfds ? loop->nfds : 16;
  struct fd_reg *p;

  if (want <= loop->nfds)
    return 0;
  while (n < want)
    n *= 2;
  p = realloc (loop->fds, n * sizeof *p);
  if (p == NULL)
    return -ENOMEM;
  memset (p + loop->nfds, 0, (n - loop->nfds) * sizeof *p);
  loop->fds = p;
  loop->nfds = n;
  return 0;
}

static uint64_t
pack_data (int fd, uint32_t gen)
{
  return ((uint64_t) gen << 32) | (uint32_t) fd;
}

int
braid_loop_add_fd (struct braid_loop *loop, int fd, unsigned events,
                   braid_fd_cb cb, void *opaque)
{
  struct epoll_event ev;
  struct fd_reg *r;
  int err;

  if (loop == NULL || cb == NULL)
    return -EINVAL;
  if (fd < 0)
    return -EBADF;
  if (lookup_fd (loop, fd) != NULL)
    return -EEXIST;
  err = grow_fd_table (loop, fd);
  if (err < 0)
    return err;

  r = &loop->fds[fd];
  memset (&ev, 0, sizeof ev);
  ev.events = poll_to_epoll (events);
  ev.data.u64 = pack_data (fd, loop->next_gen);
  if (epoll_ctl (loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
    return -errno;

  r->cb = cb;
  r->opaque = opaque;
  r->events = events & (POLLIN | POLLOUT | POLLPRI);
  r->gen = loop->next_gen++;
  r->used = 1;
  return 0;
}

int
braid_loop_mod_fd (struct braid_loop *loop, int fd, unsigned events)
{
  struct epoll_event ev;
  struct fd_reg *r;

  if (loop == NULL)
    return -EINVAL;
  r = lookup_fd (loop, fd);
  if (r == NULL)
    return -ENOENT;
  events &= POLLIN | POLLOUT | POLLPRI;
  /* Sessions call this after every PDU to toggle POLLOUT; most calls change
   * nothing and must stay free. */
  if (events == r->events)
    return 0;

  memset (&ev, 0, sizeof ev);
  ev.events = poll_to_epoll (events);
  ev.data.u64 = pack_data (fd, r->gen);
  if (epoll_ctl (loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
    return -errno;
  r->events = events;
  return 0;
}

int
braid_loop_del_fd (struct braid_loop *loop, int fd)
{
  struct fd_reg *r;
  int err = 0;

  if (loop == NULL)
    return -EINVAL;
  r = lookup_fd (loop, fd);
  if (r == NULL)
    return -ENOENT;
  if (epoll_ctl (loop->epfd, EPOLL_CTL_DEL, fd, NULL) < 0) {
    /* EBADF/ENOENT: the fd was closed before being deleted, so the kernel
     * has already dropped it; the registration is still ours to forget. */
    if (errno != EBADF && errno != ENOENT)
      err = -errno;
  }
  /* Forget the registration even if epoll_ctl failed: the owner is going
   * away and must never be called again.  Clearing 'used' is what makes
   * already-fetched events for this fd stale. */
  r->used = 0;
  r->cb = NULL;
  r->opaque = NULL;
  r->events = 0;
  return err;
}

/* ---- timers ---- */

static int
timer_before (const struct braid_timer *a, const struct braid_timer *b)
{
  if (a->deadline != b->deadline)
    return a->deadline < b->deadline;
  return a->seq < b->seq;
}

static void
heap_set (struct braid_loop *loop, size_t i, struct braid_timer *t)
{
  loop->heap[i] = t;
  t->idx = i;
}

static void
heap_sift_up (struct braid_loop *loop, size_t i)
{
  struct braid_timer *t = loop->heap[i];

  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!timer_before (t, loop->heap[parent]))
      break;
    heap_set (loop, i, loop->heap[parent]);
    i = parent;
  }
  heap_set (loop, i, t);
}

static void
heap_sift_down (struct braid_loop *loop, size_t i)
{
  struct braid_timer *t = loop->heap[i];
  size_t n = loop->heap_len;

  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && timer_before (loop->heap[child + 1],
                                       loop->heap[child]))
      child++;
    if (!timer_before (loop->heap[child], t))
      break;
    heap_set (loop, i, loop->heap[child]);
    i = child;
  }
  heap_set (loop, i, t);
}

static void
heap_remove (struct braid_loop *loop, struct braid_timer *t)
{
  size_t i = t->idx;
  struct braid_timer *last;

  t->idx = NOT_ARMED;
  last = loop->heap[--loop->heap_len];
  if (last == t)
    return;
  heap_set (loop, i, last);
  heap_sift_down (loop, i);
  heap_sift_up (loop, last->idx);
}

struct braid_timer *
braid_timer_new (struct braid_loop *loop, braid_timer_cb cb, void *opaque)
{
  struct braid_timer *t;

  if (loop == NULL || cb == NULL) {
    errno = EINVAL;
    return NULL;
  }
  /* Reserve the heap slot now so that arming, which cannot report errors,
   * never needs to allocate. */
  if (loop->heap_cap <= loop->ntimers) {
    size_t ncap = loop->heap_cap ? loop->heap_cap * 2 : 16;
    struct braid_timer **h = realloc (loop->heap, ncap * sizeof *h);
    if (h == NULL)
      return NULL;
    loop->heap = h;
    loop->heap_cap = ncap;
  }
  t = calloc (1, sizeof *t);
  if (t == NULL)
    return NULL;
  t->loop = loop;
  t->cb = cb;
  t->opaque = opaque;
  t->idx = NOT_ARMED;
  t->next = loop->timers;
  if (loop->timers != NULL)
    loop->timers->prev = t;
  loop->timers = t;
  loop->ntimers++;
  return t;
}

void
braid_timer_arm_at (struct braid_timer *t, uint64_t deadline_ns)
{
  struct braid_loop *loop;

  if (t == NULL)
    return;
  loop = t->loop;
  if (t->idx != NOT_ARMED)
    heap_remove (loop, t);
  t->deadline = deadline_ns;
  t->seq = loop->timer_seq++;
  /* Capacity for every timer was reserved by braid_timer_new. */
  loop->heap[loop->heap_len] = t;
  t->idx = loop->heap_len++;
  heap_sift_up (loop, t->idx);
}

void
braid_timer_arm_ms (struct braid_timer *t, uint64_t ms)
{
  uint64_t now = braid_now_ns ();
  uint64_t delta;

  /* Saturate instead of wrapping: a huge timeout means "never". */
  if (ms > (UINT64_MAX - now) / 1000000u)
    delta = UINT64_MAX - now;
  else
    delta = ms * 1000000u;
  braid_timer_arm_at (t, now + delta);
}

void
braid_timer_disarm (struct braid_timer *t)
{
  if (t != NULL && t->idx != NOT_ARMED)
    heap_remove (t->loop, t);
}

int
braid_timer_armed (const struct braid_timer *t)
{
  return t != NULL && t->idx != NOT_ARMED;
}

void
braid_timer_free (struct braid_timer *t)
{
  struct braid_loop *loop;

  if (t == NULL)
    return;
  loop = t->loop;
  braid_timer_disarm (t);
  if (t->prev != NULL)
    t->prev->next = t->next;
  else
    loop->timers = t->next;
  if (t->next != NULL)
    t->next->prev = t->prev;
  loop->ntimers--;
  free (t);
}

/* ---- deferred calls ---- */

int
braid_loop_defer (struct braid_loop *loop, braid_defer_cb cb, void *opaque)
{
  struct defer_vec *q;

  if (loop == NULL || cb == NULL)
    return -EINVAL;
  q = &loop->defer_q;
  if (q->len == q->cap) {
    size_t ncap = q->cap ? q->cap * 2 : 16;
    struct defer_item *p = realloc (q->items, ncap * sizeof *p);
    if (p == NULL)
      return -ENOMEM;
    q->items = p;
    q->cap = ncap;
  }
  q->items[q->len].cb = cb;
  q->items[q->len].opaque = opaque;
  q->len++;
  return 0;
}

/* Run the calls queued so far, in order.  The queue is swapped out first, so
 * calls deferred by these callbacks land in the fresh queue and wait for the
 * next iteration: a callback that re-defers itself cannot starve I/O. */
static int
run_deferred (struct braid_loop *loop)
{
  struct defer_vec run = loop->defer_q;
  size_t i;

  if (run.len == 0)
    return 0;
  loop->defer_q = loop->defer_spare;
  loop->defer_q.len = 0;
  loop->defer_spare.items = NULL;
  loop->defer_spare.len = loop->defer_spare.cap = 0;

  for (i = 0; i < run.len; i++)
    run.items[i].cb (loop, run.items[i].opaque);

  /* Keep the larger buffer for reuse; free the other. */
  run.len = 0;
  if (loop->defer_q.len == 0 && loop->defer_q.cap < run.cap) {
    free (loop->defer_q.items);
    loop->defer_q = run;
  }
  else
    loop->defer_spare = run;
  return (int) i;
}

/* ---- running ---- */

/* epoll_wait timeout in ms: the caller's, shortened to the earliest timer,
 * rounded up so that we never wake before the deadline and then spin on a
 * zero timeout until it is reached. */
static int
wait_timeout (struct braid_loop *loop, int timeout_ms, int ran_deferred)
{
  uint64_t now, delta, ms;

  /* Do not block when deferred calls are pending, or when some just ran or
   * asked to stop: a synchronous wrapper looping on run_once(-1) until its
   * completion arrives must not sleep after the completion was delivered
   * by a deferred call. */
  if (loop->defer_q.len > 0 || ran_deferred || loop->stopped)
    return 0;
  if (loop->heap_len == 0)
    return timeout_ms < 0 ? -1 : timeout_ms;
  now = braid_now_ns ();
  if (loop->heap[0]->deadline <= now)
    return 0;
  delta = loop->heap[0]->deadline - now;
  ms = delta / 1000000u + (delta % 1000000u != 0);
  if (ms > INT_MAX)
    ms = INT_MAX;
  if (timeout_ms >= 0 && (uint64_t) timeout_ms < ms)
    return timeout_ms;
  return (int) ms;
}

static int
run_timers (struct braid_loop *loop)
{
  uint64_t now = braid_now_ns ();
  uint64_t limit = loop->timer_seq;
  int n = 0;

  while (loop->heap_len > 0) {
    struct braid_timer *t = loop->heap[0];
    /* Timers armed during this phase (seq >= limit) wait for the next
     * iteration; with the (deadline, seq) order, once the top is one of them
     * every older timer that is still due has already run. */
    if (t->deadline > now || t->seq >= limit)
      break;
    heap_remove (loop, t);
    /* t may be freed or re-armed by its callback: do not touch it after. */
    t->cb (loop, t, t->opaque);
    n++;
  }
  return n;
}

int
braid_loop_run_once (struct braid_loop *loop, int timeout_ms)
{
  int count, n, i;

  if (loop == NULL)
    return -EINVAL;
  count = run_deferred (loop);

  n = epoll_wait (loop->epfd, loop->events, MAX_EVENTS,
                  wait_timeout (loop, timeout_ms, count > 0));
  if (n < 0) {
    if (errno != EINTR)
      return -errno;
    n = 0;
  }

  for (i = 0; i < n; i++) {
    uint64_t data = loop->events[i].data.u64;
    int fd = (int) (uint32_t) data;
    uint32_t gen = (uint32_t) (data >> 32);
    struct fd_reg *r = lookup_fd (loop, fd);

    /* Deleted (or deleted and re-added) by an earlier callback of this
     * iteration: the event belongs to a registration that no longer
     * exists. */
    if (r == NULL || r->gen != gen)
      continue;
    r->cb (loop, fd, epoll_to_poll (loop->events[i].events), r->opaque);
    count++;
  }

  count += run_timers (loop);
  return count;
}

int
braid_loop_run (struct braid_loop *loop)
{
  int r = 0;

  if (loop == NULL)
    return -EINVAL;
  /* A stop() issued before run() (say from a deferred call queued during
   * setup) still takes effect after the first iteration. */
  do {
    r = braid_loop_run_once (loop, -1);
    if (r < 0)
      break;
  } while (!loop->stopped);
  loop->stopped = 0;
  return r < 0 ? r : 0;
}

void
braid_loop_stop (struct braid_loop *loop)
{
  if (loop != NULL)
    loop->stopped = 1;
}
