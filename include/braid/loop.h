/* braid/loop.h: the one event loop the whole stack runs on.
 *
 * One thread, one epoll set, one timer queue.  Every braid object that needs
 * I/O or time (iSCSI sessions, path checkers, NBD connections, the control
 * socket) registers here; nothing in braid starts a hidden thread.  Embedders
 * with their own loop can skip this and drive sessions through the
 * fd/which_events/service contract in braid/iscsi.h instead.
 *
 * Event masks use the poll(2) bits POLLIN, POLLOUT, POLLERR, POLLHUP.
 * Times are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef BRAID_LOOP_H
#define BRAID_LOOP_H

#include <stdint.h>
#include <poll.h>

#ifdef __cplusplus
extern "C" {
#endif

struct braid_loop;
struct braid_timer;

/* Called with the poll(2) bits that are ready on 'fd'. */
typedef void (*braid_fd_cb) (struct braid_loop *loop, int fd,
                             unsigned revents, void *opaque);
/* Called once when an armed timer's deadline has passed.  The timer is
 * disarmed before the call; re-arming it from inside the callback is fine. */
typedef void (*braid_timer_cb) (struct braid_loop *loop,
                                struct braid_timer *timer, void *opaque);
/* A deferred call, run once at the start of the next loop iteration. */
typedef void (*braid_defer_cb) (struct braid_loop *loop, void *opaque);

/* Current CLOCK_MONOTONIC time in nanoseconds. */
uint64_t braid_now_ns (void);

/* Create a loop.  Returns NULL with errno set on failure.
 * The caller frees it with braid_loop_free(). */
struct braid_loop *braid_loop_new (void);

/* Free a loop.  Registered fds are not closed (their owners close them);
 * timers still attached are freed.  Deferred calls are dropped. */
void braid_loop_free (struct braid_loop *loop);

/* Watch 'fd' for 'events' (POLLIN|POLLOUT).  POLLERR and POLLHUP are always
 * reported.  The fd stays owned by the caller, who must braid_loop_del_fd()
 * it before closing it.  Returns 0 or -errno (-EEXIST if already watched). */
int braid_loop_add_fd (struct braid_loop *loop, int fd, unsigned events,
                       braid_fd_cb cb, void *opaque);

/* Change the events watched on 'fd'.  Cheap when nothing changes (no
 * syscall).  Returns 0 or -errno (-ENOENT if not watched). */
int braid_loop_mod_fd (struct braid_loop *loop, int fd, unsigned events);

/* Stop watching 'fd'.  Safe to call from inside that fd's callback; no
 * further callback for this fd is delivered in the current iteration.
 * Returns 0 or -errno. */
int braid_loop_del_fd (struct braid_loop *loop, int fd);

/* Create a disarmed timer.  Owned by the caller: braid_timer_free(). */
struct braid_timer *braid_timer_new (struct braid_loop *loop,
                                     braid_timer_cb cb, void *opaque);

/* Arm (or re-arm) at an absolute monotonic deadline in nanoseconds. */
void braid_timer_arm_at (struct braid_timer *t, uint64_t deadline_ns);

/* Arm (or re-arm) 'ms' milliseconds from now. */
void braid_timer_arm_ms (struct braid_timer *t, uint64_t ms);

/* Disarm; the callback will not run until armed again. */
void braid_timer_disarm (struct braid_timer *t);

/* Non-zero if armed. */
int braid_timer_armed (const struct braid_timer *t);

/* Disarm and free.  Safe from inside its own callback.  NULL is ignored. */
void braid_timer_free (struct braid_timer *t);

/* Queue 'cb(opaque)' to run at the start of the next iteration (used to
 * complete requests without re-entering the caller).  Returns 0 or -ENOMEM. */
int braid_loop_defer (struct braid_loop *loop, braid_defer_cb cb, void *opaque);

/* Run one iteration: deferred calls, then wait up to 'timeout_ms' (-1 =
 * until something happens, bounded by the next timer) for fd events,
 * dispatch them, then run due timers.  The wait is skipped (timeout 0) when
 * deferred calls ran or are pending, or a stop was requested, so a caller
 * looping on run_once until a completion arrives never sleeps past it.
 * Timers never fire before their deadline; a timer armed by a callback of
 * this iteration runs in a later one.  Returns the number of callbacks run
 * (>= 0) or -errno (EINTR counts as "no fd events"). */
int braid_loop_run_once (struct braid_loop *loop, int timeout_ms);

/* Run until braid_loop_stop() is called.  Returns 0 or -errno. */
int braid_loop_run (struct braid_loop *loop);

/* Make braid_loop_run() return after the current iteration. */
void braid_loop_stop (struct braid_loop *loop);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_LOOP_H */
