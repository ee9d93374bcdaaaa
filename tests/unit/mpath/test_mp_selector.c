/* test_mp_selector.c: the path selectors.
 *
 * Hand-built scenarios check each selector's rule (rotation and
 * rr_min_io_rq, fewest in flight, service time with relative throughput,
 * the history of historical-service-time), then a small discrete-event
 * model runs a closed loop of I/Os over paths that are FIFO servers with
 * fixed service times, to check the load each selector ends up putting
 * on equal paths and on one slow path.  Simulated time only: nothing
 * here depends on the machine's speed.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mpath/policy.h"

#define MAXP 8
#define MS 1000000ull

static struct mp_selector *
new_sel (const char *spec)
{
  char err[128];
  struct mp_selector *s = mp_selector_new (spec, err, sizeof err);

  if (s == NULL)
    fail_msg ("%s: %s", spec, err);
  return s;
}

static void
init_paths (struct mp_sel_path *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    mp_sel_path_init (&p[i]);
}

/* pick + start, as the engine does for each I/O. */
static int
send (struct mp_selector *s, struct mp_sel_path *p, size_t n, uint32_t bytes,
      uint64_t now)
{
  int i = mp_selector_pick (s, p, n, bytes, now);

  if (i >= 0)
    mp_selector_start (s, p, n, (size_t) i, bytes, now);
  return i;
}

static void
test_spec_parsing (void **state)
{
  char err[128];
  struct mp_selector *s;

  (void) state;
  s = new_sel ("service-time 0");
  assert_string_equal (mp_selector_name (s), "service-time");
  mp_selector_free (s);
  s = new_sel ("round-robin 0");
  assert_string_equal (mp_selector_name (s), "round-robin");
  mp_selector_free (s);
  s = new_sel ("queue-length");
  assert_string_equal (mp_selector_name (s), "queue-length");
  mp_selector_free (s);
  s = new_sel ("  historical-service-time\t0 ");
  assert_string_equal (mp_selector_name (s), "historical-service-time");
  mp_selector_free (s);
  s = new_sel ("historical-service-time 2 972 2");
  mp_selector_free (s);
  s = new_sel ("historical-service-time 1 0");
  mp_selector_free (s);
  /* The kernel's simple selectors ignore arguments. */
  s = new_sel ("round-robin 1 7");
  mp_selector_free (s);

  assert_null (mp_selector_new ("least-pending 0", err, sizeof err));
  assert_int_equal (errno, EINVAL);
  assert_non_null (strstr (err, "\"least-pending\""));
  assert_null (mp_selector_new ("service-time 2 1", err, sizeof err));
  assert_non_null (strstr (err, "argument count"));
  assert_null (mp_selector_new ("service-time x", err, sizeof err));
  assert_null (mp_selector_new ("historical-service-time 1 1024", err,
                                sizeof err));
  assert_non_null (strstr (err, "1024"));
  assert_null (mp_selector_new ("historical-service-time 3 1 1 1", err,
                                sizeof err));
  assert_null (mp_selector_new ("historical-service-time 2 972 -1", err,
                                sizeof err));
  assert_null (mp_selector_new ("", err, sizeof err));
  assert_null (mp_selector_new (NULL, err, sizeof err));
  /* A zero-length error buffer is fine. */
  assert_null (mp_selector_new ("bogus", NULL, 0));
}

static void
test_round_robin (void **state)
{
  struct mp_selector *s = new_sel ("round-robin 0");
  struct mp_sel_path p[3];
  int seq[9], i;

  (void) state;
  init_paths (p, 3);
  for (i = 0; i < 6; i++)
    seq[i] = send (s, p, 3, 4096, 0);
  assert_int_equal (seq[0], 0);
  assert_int_equal (seq[1], 1);
  assert_int_equal (seq[2], 2);
  assert_int_equal (seq[3], 0);
  assert_int_equal (seq[4], 1);
  assert_int_equal (seq[5], 2);
  /* Load is no concern of round-robin. */
  assert_int_equal (p[0].in_flight, 2);
  assert_int_equal (p[0].in_flight_bytes, 8192);

  /* A failed path is skipped, the rotation goes on around it. */
  p[1].usable = 0;
  assert_int_equal (send (s, p, 3, 512, 0), 0);
  assert_int_equal (send (s, p, 3, 512, 0), 2);
  assert_int_equal (send (s, p, 3, 512, 0), 0);
  /* Reinstated: first in line, as dm-round-robin does. */
  p[1].usable = 1;
  mp_selector_reinstate (s, p, 3, 1);
  assert_int_equal (send (s, p, 3, 512, 0), 1);
  assert_int_equal (send (s, p, 3, 512, 0), 2);

  /* pick alone changes nothing. */
  assert_int_equal (mp_selector_pick (s, p, 3, 512, 0), 0);
  assert_int_equal (mp_selector_pick (s, p, 3, 512, 0), 0);

  /* Nothing usable. */
  p[0].usable = p[1].usable = p[2].usable = 0;
  assert_int_equal (mp_selector_pick (s, p, 3, 512, 0), -1);
  assert_int_equal (mp_selector_pick (s, p, 0, 512, 0), -1);
  mp_selector_free (s);
}

static void
test_round_robin_repeat (void **state)
{
  struct mp_selector *s = new_sel ("round-robin 0");
  struct mp_sel_path p[3];
  int got[12], i;
  const int want[12] = { 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0 };

  (void) state;
  init_paths (p, 3);
  /* rr_min_io_rq 3: three I/Os per path before moving on. */
  for (i = 0; i < 3; i++)
    p[i].repeat = 3;
  for (i = 0; i < 12; i++)
    got[i] = send (s, p, 3, 4096, 0);
  assert_memory_equal (got, want, sizeof want);

  /* Per-path counts (rr_weight priorities: repeat x prio). */
  p[0].repeat = 1;
  p[1].repeat = 2;
  p[2].repeat = 4;
  /* Path 0 is current with 0 left after the loop above. */
  for (i = 0; i < 7; i++)
    got[i] = send (s, p, 3, 4096, 0);
  assert_int_equal (got[0], 1);
  assert_int_equal (got[1], 1);
  assert_int_equal (got[2], 2);
  assert_int_equal (got[5], 2);
  assert_int_equal (got[6], 0);

  /* The current path fails mid-run: the next one takes over at once. */
  p[1].repeat = 5;
  assert_int_equal (send (s, p, 3, 4096, 0), 1);
  assert_int_equal (send (s, p, 3, 4096, 0), 1);
  p[1].usable = 0;
  /* repeat 0 counts as 1. */
  p[2].repeat = 0;
  assert_int_equal (send (s, p, 3, 4096, 0), 2);
  assert_int_equal (send (s, p, 3, 4096, 0), 0);
  assert_int_equal (send (s, p, 3, 4096, 0), 2);
  mp_selector_free (s);
}

static void
test_queue_length (void **state)
{
  struct mp_selector *s = new_sel ("queue-length 0");
  struct mp_sel_path p[3];

  (void) state;
  init_paths (p, 3);
  p[0].in_flight = 5;
  p[1].in_flight = 2;
  p[2].in_flight = 3;
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 1);
  /* Counted by start and done. */
  mp_selector_start (s, p, 3, 1, 4096, 0);
  assert_int_equal (p[1].in_flight, 3);
  /* 1 and 2 now tie at 3: 2 was chosen longer ago (never). */
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 2);
  mp_selector_done (s, p, 3, 0, 4096, 0, 1);
  mp_selector_done (s, p, 3, 0, 4096, 0, 1);
  mp_selector_done (s, p, 3, 0, 4096, 0, 1);
  assert_int_equal (p[0].in_flight, 2);
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 0);
  /* Bytes do not matter, only the count. */
  p[0].in_flight_bytes = 1u << 30;
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 0);

  /* Idle equal paths take turns. */
  init_paths (p, 3);
  mp_selector_free (s);
  s = new_sel ("queue-length 0");
  assert_int_equal (send (s, p, 3, 1, 0), 0);
  mp_selector_done (s, p, 3, 0, 1, 0, 1);
  assert_int_equal (send (s, p, 3, 1, 0), 1);
  mp_selector_done (s, p, 3, 1, 1, 0, 1);
  assert_int_equal (send (s, p, 3, 1, 0), 2);
  mp_selector_done (s, p, 3, 2, 1, 0, 1);
  assert_int_equal (send (s, p, 3, 1, 0), 0);
  /* done never drives counts negative. */
  mp_selector_done (s, p, 3, 1, 4096, 0, 1);
  assert_int_equal (p[1].in_flight, 0);
  assert_int_equal (p[1].in_flight_bytes, 0);
  mp_selector_free (s);
}

static void
test_service_time (void **state)
{
  struct mp_selector *s = new_sel ("service-time 0");
  struct mp_sel_path p[3];

  (void) state;
  init_paths (p, 3);
  /* Throughput 1 everywhere: least outstanding bytes. */
  p[0].in_flight_bytes = 8192;
  p[0].in_flight = 1;
  p[1].in_flight_bytes = 4096;
  p[1].in_flight = 4;
  p[2].in_flight_bytes = 65536;
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 1);

  /* Relative throughput: (in flight + io) / throughput.  Path 2 at 4x
   * speed: (65536 + 4096) / 4 = 17408 > (4096 + 4096) / 1. */
  p[2].relative_throughput = 4;
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 1);
  /* At 16x: 4352 < 8192. */
  p[2].relative_throughput = 16;
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 2);
  /* The incoming size counts.  At 8x: 8192 vs (65536 + 4096) / 8 =
   * 8704, path 1; but a 1 MiB I/O favours the fast path:
   * 4096 + 1 MiB vs (65536 + 1 MiB) / 8. */
  p[2].relative_throughput = 8;
  assert_int_equal (mp_selector_pick (s, p, 3, 4096, 0), 1);
  assert_int_equal (mp_selector_pick (s, p, 3, 1u << 20, 0), 2);

  /* Exact tie of estimated service time: the faster path. */
  init_paths (p, 2);
  p[0].in_flight_bytes = 0;
  p[1].in_flight_bytes = 4096;
  p[1].relative_throughput = 2;
  /* (0 + 4096) / 1 == (4096 + 4096) / 2 */
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, 0), 1);

  /* Equal load, different throughput: the faster one. */
  p[0].in_flight_bytes = p[1].in_flight_bytes = 100;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, 0), 1);

  /* Throughput 0: used only when nothing faster is usable. */
  init_paths (p, 2);
  p[0].relative_throughput = 0;
  p[1].in_flight_bytes = 1u << 30;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, 0), 1);
  p[1].usable = 0;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, 0), 0);

  /* Equal paths, equal load: ties broken by turns, not by index. */
  init_paths (p, 3);
  assert_int_equal (send (s, p, 3, 4096, 0), 0);
  mp_selector_done (s, p, 3, 0, 4096, 0, 1);
  assert_int_equal (send (s, p, 3, 4096, 0), 1);
  mp_selector_done (s, p, 3, 1, 4096, 0, 1);
  assert_int_equal (send (s, p, 3, 4096, 0), 2);
  mp_selector_done (s, p, 3, 2, 4096, 0, 1);
  assert_int_equal (send (s, p, 3, 4096, 0), 0);

  /* No overflow with absurd sizes and throughputs. */
  init_paths (p, 2);
  p[0].in_flight_bytes = UINT64_MAX - 10;
  p[0].relative_throughput = 100;
  p[1].in_flight_bytes = UINT64_MAX / 200;
  assert_int_equal (mp_selector_pick (s, p, 2, UINT32_MAX, 0), 1);
  mp_selector_free (s);
}

static void
test_hst_history (void **state)
{
  struct mp_selector *s = new_sel ("historical-service-time 0");
  struct mp_sel_path p[2];
  uint64_t now = 1000 * MS;
  int i;

  (void) state;
  init_paths (p, 2);
  /* Teach it: path 0 takes 1 ms, path 1 takes 10 ms. */
  for (i = 0; i < 20; i++) {
    mp_selector_start (s, p, 2, 0, 4096, now);
    mp_selector_done (s, p, 2, 0, 4096, now, now + MS);
    mp_selector_start (s, p, 2, 1, 4096, now);
    mp_selector_done (s, p, 2, 1, 4096, now, now + 10 * MS);
    now += 10 * MS;
  }
  /* Both idle: the one whose history went stale first.  Path 0's ran
   * out at its last completion + 2 paths x 1 ms = now - 7 ms, path 1's
   * runs until now + 20 ms. */
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now), 0);

  /* Both busy, at a time both histories hold (now - 8 ms): the lower
   * EMA x (in flight + 1).  3 + 1 I/Os at 1 ms beat 1 + 1 at 10 ms... */
  p[0].in_flight = 3;
  p[1].in_flight = 1;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now - 8 * MS), 0);
  /* ... and so do 11 ms against 20 ms... */
  p[0].in_flight = 10;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now - 8 * MS), 0);
  /* ... but 26 ms does not. */
  p[0].in_flight = 25;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now - 8 * MS), 1);
  /* Once path 0's history is stale its estimate is not trusted: the
   * lighter load wins. */
  p[0].in_flight = 3;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now - 5 * MS), 1);

  /* An idle path whose history went stale is probed, even a slow one. */
  p[0].in_flight = 1;
  p[1].in_flight = 0;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now + 100 * MS), 1);

  /* Threshold multiplier: EMAs within 20x of each other count as equal,
   * so only the load decides. */
  mp_selector_free (s);
  s = new_sel ("historical-service-time 2 972 20");
  init_paths (p, 2);
  now = 1000 * MS;
  mp_selector_start (s, p, 2, 0, 4096, now);
  mp_selector_done (s, p, 2, 0, 4096, now, now + MS);
  mp_selector_start (s, p, 2, 1, 4096, now);
  mp_selector_done (s, p, 2, 1, 4096, now, now + 10 * MS);
  p[0].in_flight = 2;
  p[1].in_flight = 1;
  assert_int_equal (mp_selector_pick (s, p, 2, 4096, now + 11 * MS), 1);
  mp_selector_free (s);
}

/* ---- discrete-event model ---- */

struct sim_io {
  int path;
  uint64_t start, end;
  int live;
};

/* Keep 'depth' I/Os of 4 KiB in flight until 'total' have been sent;
 * path i serves its I/Os one at a time, svc[i] each.  count[i] gets the
 * number of I/Os each path received. */
static void
simulate (const char *spec, size_t n, const uint64_t *svc, unsigned depth,
          unsigned total, unsigned *count)
{
  struct mp_selector *s = new_sel (spec);
  struct mp_sel_path p[MAXP];
  struct sim_io io[64];
  uint64_t busy[MAXP] = { 0 }, now = 1000 * MS;
  unsigned sent = 0, done = 0, k;

  assert_true (depth <= 64 && n <= MAXP);
  init_paths (p, n);
  memset (count, 0, n * sizeof *count);

  for (k = 0; k < depth; k++) {
    int i = send (s, p, n, 4096, now);

    assert_true (i >= 0);
    io[k].path = i;
    io[k].start = now;
    io[k].end = (busy[i] > now ? busy[i] : now) + svc[i];
    busy[i] = io[k].end;
    io[k].live = 1;
    count[i]++;
    sent++;
  }
  while (done < total) {
    unsigned first = depth;

    for (k = 0; k < depth; k++)
      if (io[k].live && (first == depth || io[k].end < io[first].end))
        first = k;
    assert_true (first < depth);
    now = io[first].end;
    mp_selector_done (s, p, n, (size_t) io[first].path, 4096,
                      io[first].start, now);
    io[first].live = 0;
    done++;
    if (sent < total) {
      int i = send (s, p, n, 4096, now);

      assert_true (i >= 0);
      io[first].path = i;
      io[first].start = now;
      io[first].end = (busy[i] > now ? busy[i] : now) + svc[i];
      busy[i] = io[first].end;
      io[first].live = 1;
      count[i]++;
      sent++;
    }
  }
  for (k = 0; k < n; k++) {
    assert_int_equal (p[k].in_flight, 0);
    assert_int_equal (p[k].in_flight_bytes, 0);
  }
  mp_selector_free (s);
}

static void
test_sim_equal_paths (void **state)
{
  static const char *const specs[] = {
    "round-robin 0", "queue-length 0", "service-time 0",
    "historical-service-time 0",
  };
  const uint64_t svc[4] = { MS, MS, MS, MS };
  const unsigned depths[3] = { 1, 4, 16 };
  unsigned count[4];
  size_t si, di, i;

  (void) state;
  /* Equal paths: every selector spreads 1000 I/Os 250 each, give or
   * take the last few in flight. */
  for (si = 0; si < 4; si++)
    for (di = 0; di < 3; di++) {
      simulate (specs[si], 4, svc, depths[di], 1000, count);
      for (i = 0; i < 4; i++)
        if (count[i] < 246 || count[i] > 254)
          fail_msg ("%s depth %u: path %zu got %u", specs[si], depths[di], i,
                    count[i]);
    }
}

static void
test_sim_slow_path (void **state)
{
  /* Three paths at 1 ms per I/O and one at 4 ms (the setup of the
   * kernel's historical-service-time measurements): the ideal split
   * gives the slow path 1/13 of the I/O. */
  const uint64_t svc[4] = { MS, MS, MS, 4 * MS };
  unsigned count[4];

  (void) state;
  /* Deep queue: in-flight load shows which path is slow; service-time
   * and queue-length keep the queues equal, so each path gets I/O at its
   * own speed. */
  simulate ("service-time 0", 4, svc, 16, 4000, count);
  assert_true (count[3] * 3 < count[0]);
  assert_true (count[3] > 4000 / 20);
  simulate ("queue-length 0", 4, svc, 16, 4000, count);
  assert_true (count[3] * 3 < count[0]);
  simulate ("historical-service-time 0", 4, svc, 16, 4000, count);
  assert_true (count[3] * 3 < count[0]);
  assert_true (count[3] > 0);
  /* round-robin does not look. */
  simulate ("round-robin 0", 4, svc, 16, 4000, count);
  assert_int_equal (count[3], 1000);

  /* One I/O at a time: nothing is ever in flight when choosing, so
   * service-time cannot tell the slow path apart... */
  simulate ("service-time 0", 4, svc, 1, 4000, count);
  assert_int_equal (count[3], 1000);
  /* ... historical-service-time remembers, still probing the slow path
   * now and then (about 1 : 4.7 here, ideal 1 : 4). */
  simulate ("historical-service-time 0", 4, svc, 1, 4000, count);
  assert_true (count[3] * 3 < count[0]);
  assert_true (count[3] > 4000 / 50);
  assert_true (count[0] + count[1] + count[2] + count[3] == 4000);
}

static void
test_sim_slow_path_recovers (void **state)
{
  /* Under historical-service-time at depth 1, a path that was slow and
   * got fast again wins its share back through stale probing: model it
   * as two phases on one selector. */
  struct mp_selector *s = new_sel ("historical-service-time 0");
  struct mp_sel_path p[2];
  uint64_t now = 1000 * MS, svc[2] = { MS, 8 * MS };
  unsigned count[2] = { 0, 0 }, k;

  (void) state;
  init_paths (p, 2);
  for (k = 0; k < 3000; k++) {
    int i;

    if (k == 1000)
      svc[1] = MS;  /* path 1 recovers */
    if (k == 2000)
      count[0] = count[1] = 0;
    i = send (s, p, 2, 4096, now);
    assert_true (i >= 0);
    mp_selector_done (s, p, 2, (size_t) i, 4096, now, now + svc[i]);
    now += svc[i];
    count[i]++;
  }
  /* Last 1000 I/Os: both paths equal again, shares close to even. */
  assert_true (count[1] > 400);
  assert_true (count[0] > 400);
  mp_selector_free (s);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_spec_parsing),
    cmocka_unit_test (test_round_robin),
    cmocka_unit_test (test_round_robin_repeat),
    cmocka_unit_test (test_queue_length),
    cmocka_unit_test (test_service_time),
    cmocka_unit_test (test_hst_history),
    cmocka_unit_test (test_sim_equal_paths),
    cmocka_unit_test (test_sim_slow_path),
    cmocka_unit_test (test_sim_slow_path_recovers),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
