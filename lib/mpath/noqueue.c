/* noqueue.c: whether I/O waits or fails while a map has no usable path.
 *
 * no_path_retry decides what happens to I/O when the last path of a map
 * fails: "queue" holds it until a path returns, however long; "fail"
 * (and unset) fails it at once; N holds it for N polling intervals, then
 * fails what is held and everything after, until a path comes back.
 * This follows multipathd 0.9.x (set_no_path_retry, enter/leave
 * recovery mode, retry_count_tick), with one difference of form: the
 * countdown is a deadline on the caller's monotonic clock rather than a
 * count of one-second ticks, so it does not stretch when ticks are late.
 * "disablequeueing" / "restorequeueing" override the policy at run time.
 */
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "mpath/policy.h"

#define NS_PER_SEC 1000000000ull

static bool
policy_queues (int npr)
{
  return npr == MP_NPR_QUEUE || npr > 0;
}

/* Turn queueing on or off, reporting the edge. */
static unsigned
set_queueing (struct mp_noqueue *q, bool on)
{
  if (q->queueing == on)
    return 0;
  q->queueing = on;
  return on ? MP_NQ_QUEUE_ON : MP_NQ_QUEUE_OFF;
}

static void
account (struct mp_noqueue *q, uint64_t now_ns)
{
  if (q->in_recovery && !q->expired && now_ns > q->last_tick_ns) {
    uint64_t end = now_ns < q->deadline_ns ? now_ns : q->deadline_ns;

    if (end > q->last_tick_ns)
      q->queued_ns += end - q->last_tick_ns;
  }
  if (now_ns > q->last_tick_ns)
    q->last_tick_ns = now_ns;
}

static unsigned
leave_recovery (struct mp_noqueue *q)
{
  bool was = q->in_recovery;

  q->in_recovery = false;
  q->expired = false;
  q->deadline_ns = 0;
  return was ? MP_NQ_RECOVERED : 0;
}

/* now + n x interval seconds, saturating: a huge no_path_retry means
 * "practically forever", not a wrapped-around deadline in the past. */
static uint64_t
deadline (uint64_t now_ns, int n, unsigned interval)
{
  uint64_t secs = (uint64_t) n * interval, ns;

  if (secs > UINT64_MAX / NS_PER_SEC)
    return UINT64_MAX;
  ns = secs * NS_PER_SEC;
  return ns > UINT64_MAX - now_ns ? UINT64_MAX : now_ns + ns;
}

/* Bring queueing in line with the policy and the path counts. */
static unsigned
apply (struct mp_noqueue *q, unsigned active, unsigned pending,
       uint64_t now_ns)
{
  unsigned ev = 0;

  account (q, now_ns);
  q->active = active;
  q->pending = pending;

  if (q->disabled) {
    leave_recovery (q);
    return set_queueing (q, false);
  }
  if (q->no_path_retry == MP_NPR_QUEUE) {
    leave_recovery (q);
    return set_queueing (q, true);
  }
  if (q->no_path_retry <= 0) {
    leave_recovery (q);
    return set_queueing (q, false);
  }

  /* no_path_retry N > 0. */
  if (active > 0) {
    ev |= leave_recovery (q);
    ev |= set_queueing (q, true);
    return ev;
  }
  if (q->in_recovery) {
    /* Already counting down (or run out): more bad news does not restart
     * the clock. */
    if (q->expired)
      ev |= set_queueing (q, false);
    return ev;
  }
  /* A check in flight may still bring a path back: decide after it. */
  if (pending > 0)
    return ev;
  q->in_recovery = true;
  q->expired = false;
  q->deadline_ns = deadline (now_ns, q->no_path_retry, q->polling_interval);
  q->last_tick_ns = now_ns;
  q->recoveries++;
  ev |= MP_NQ_RECOVERY;
  /* Queueing stays on (it is on while paths exist); make sure. */
  ev |= set_queueing (q, true);
  return ev;
}

unsigned
mp_noqueue_init (struct mp_noqueue *q, int no_path_retry,
                 unsigned polling_interval, unsigned active,
                 unsigned pending, uint64_t now_ns)
{
  *q = (struct mp_noqueue) {
    .no_path_retry = no_path_retry,
    .polling_interval = polling_interval > 0 ? polling_interval : 1,
    .last_tick_ns = now_ns,
  };
  /* The table is loaded with queue_if_no_path for queue and N > 0, so
   * that is the starting point; no event for it. */
  q->queueing = policy_queues (no_path_retry);
  return apply (q, active, pending, now_ns);
}

unsigned
mp_noqueue_on_paths (struct mp_noqueue *q, unsigned active, unsigned pending,
                     uint64_t now_ns)
{
  return apply (q, active, pending, now_ns);
}

unsigned
mp_noqueue_tick (struct mp_noqueue *q, uint64_t now_ns)
{
  account (q, now_ns);
  if (!q->in_recovery || q->expired || now_ns < q->deadline_ns)
    return 0;
  q->expired = true;
  q->expiries++;
  return set_queueing (q, false);
}

unsigned
mp_noqueue_set_policy (struct mp_noqueue *q, int no_path_retry,
                       unsigned polling_interval, uint64_t now_ns)
{
  q->no_path_retry = no_path_retry;
  q->polling_interval = polling_interval > 0 ? polling_interval : 1;
  /* A running countdown keeps its deadline; a countdown under a policy
   * that no longer has one ends in apply(). */
  return apply (q, q->active, q->pending, now_ns);
}

unsigned
mp_noqueue_disable (struct mp_noqueue *q, uint64_t now_ns)
{
  q->disabled = true;
  return apply (q, q->active, q->pending, now_ns);
}

unsigned
mp_noqueue_restore (struct mp_noqueue *q, uint64_t now_ns)
{
  q->disabled = false;
  return apply (q, q->active, q->pending, now_ns);
}

bool
mp_noqueue_should_queue (const struct mp_noqueue *q)
{
  return q->queueing;
}

bool
mp_noqueue_should_fail_queued (const struct mp_noqueue *q)
{
  return !q->queueing && q->active == 0;
}

unsigned
mp_noqueue_seconds_left (const struct mp_noqueue *q, uint64_t now_ns)
{
  uint64_t left;

  if (!q->in_recovery || q->expired || now_ns >= q->deadline_ns)
    return 0;
  left = (q->deadline_ns - now_ns) / NS_PER_SEC
         + ((q->deadline_ns - now_ns) % NS_PER_SEC != 0);
  return left > UINT_MAX ? UINT_MAX : (unsigned) left;
}
