/* hst.c: the historical-service-time path selector.
 *
 * service-time only looks at what is in flight, so at low queue depth
 * (one I/O at a time) every path looks idle and a slow path gets as many
 * I/Os as a fast one.  historical-service-time (the kernel's
 * dm-historical-service-time, Linux 5.8) also remembers how long each
 * path took: it keeps an exponential moving average (EMA) of each path's
 * service time and sends the I/O where it should complete soonest,
 * estimated as EMA x (in flight + 1).  This is our own implementation of
 * that idea:
 *
 *   - EMA update on completion: ema = w * ema + (1 - w) * sample, where
 *     the weight of history w = base^(k+1) and k is the number of
 *     16.8 ms buckets since the path's previous completion, so a busy
 *     path averages over its recent I/Os while history from a path that
 *     sat idle for over a second (64 buckets) is dropped entirely.
 *     Default base 972/1024 (0.949), the kernel's default: about the last
 *     20 completions of a busy path count.
 *   - A path's history goes stale (is no longer trusted) once
 *     (usable paths x EMA) has passed since its last completion.
 *   - Comparing two paths: if their EMAs are within the threshold
 *     multiplier of each other (max <= T x min; default T = 0, i.e. only
 *     when both are equal to 0) the one with fewer I/Os in flight wins;
 *     otherwise an idle path that is stale wins (so a slow path is
 *     probed now and then and a recovered one is noticed), and of two
 *     idle paths the one stale for longest; otherwise the lower
 *     EMA x (in flight + 1) wins, except that a stale winner only wins on
 *     a smaller in-flight count.
 *   - Exact ties go to the path chosen least recently (selector.c).
 *
 * Arguments (multipath.conf "historical-service-time <argc> [base
 * [threshold]]"): base weight in 1024ths, 0..1023 (0 ignores history);
 * threshold multiplier, a non-negative integer.
 */
#include <errno.h>
#include <stdlib.h>

#include "mpath/selector-internal.h"
#include "util/errbuf.h"

/* Samples above this (2.4 hours) are clamped so that ema << HST_SHIFT
 * times a weight never overflows 64 bits. */
#define HST_SAMPLE_MAX ((uint64_t) 1 << 43)

static int
parse_uint (const char *w, unsigned long max, unsigned *out)
{
  char *end;
  unsigned long v;

  if (w[0] < '0' || w[0] > '9')
    return -EINVAL;
  errno = 0;
  v = strtoul (w, &end, 10);
  if (errno != 0 || *end != '\0' || v > max)
    return -EINVAL;
  *out = (unsigned) v;
  return 0;
}

int
sel_hst_setup (struct mp_selector *s, unsigned argc, char **argv,
               char *err, size_t errlen)
{
  unsigned base = HST_BASE_DEFAULT, i;

  s->hst_threshold = HST_THRESHOLD_DEFAULT;
  if (argc > 2) {
    braid_set_error (err, errlen,
                     "historical-service-time: at most 2 arguments");
    return -EINVAL;
  }
  if (argc >= 1 && parse_uint (argv[0], HST_ONE - 1, &base) < 0) {
    braid_set_error (err, errlen,
                     "historical-service-time: base weight \"%s\" is not"
                     " 0..%u", argv[0], HST_ONE - 1);
    return -EINVAL;
  }
  if (argc == 2 && parse_uint (argv[1], 1000000, &s->hst_threshold) < 0) {
    braid_set_error (err, errlen,
                     "historical-service-time: bad threshold multiplier"
                     " \"%s\"", argv[1]);
    return -EINVAL;
  }
  /* hst_weight[k] = base^(k+1), rounded, in 1024ths. */
  s->hst_weight[0] = base;
  for (i = 1; i < HST_WEIGHTS; i++)
    s->hst_weight[i] = (s->hst_weight[i - 1] * base + HST_ONE / 2)
                       >> HST_SHIFT;
  return 0;
}

static bool
is_stale (const struct mp_sel_path *p, uint64_t now_ns)
{
  return p->slot.u[SLOT_HST_STALE] < now_ns;
}

int
sel_hst_compare (const struct mp_selector *s, const struct mp_sel_path *a,
                 const struct mp_sel_path *b, uint64_t now_ns)
{
  uint64_t ea = a->slot.u[SLOT_HST_EMA], eb = b->slot.u[SLOT_HST_EMA];
  uint64_t oa = a->in_flight, ob = b->in_flight;
  uint64_t hi = ea > eb ? ea : eb, lo = ea > eb ? eb : ea;
  bool sa = is_stale (a, now_ns), sb = is_stale (b, now_ns);
  int c;

  /* Too close to tell apart: balance the load. */
  if (sel_mul_cmp (hi, 1, lo, s->hst_threshold) <= 0)
    return sel_cmp_u64 (oa, ob);

  /* Idle paths: probe the stale one, or the stalest of two. */
  if (oa == 0 && ob == 0)
    return sel_cmp_u64 (a->slot.u[SLOT_HST_STALE], b->slot.u[SLOT_HST_STALE]);
  if ((oa == 0 && sa) || (ob == 0 && sb))
    return oa == 0 ? -1 : 1;

  /* Estimated completion: EMA x (in flight + 1). */
  if (oa == ob)
    c = sel_cmp_u64 (ea, eb);
  else
    c = sel_mul_cmp (oa + 1, ea, ob + 1, eb);
  /* A winner whose history is stale may have turned slow since: let it
   * win only on load. */
  if (c < 0 && sa)
    return sel_cmp_u64 (oa, ob);
  if (c > 0 && sb)
    return sel_cmp_u64 (oa, ob);
  return c;
}

void
sel_hst_done (struct mp_selector *s, struct mp_sel_path *paths, size_t n,
              size_t idx, uint64_t start_ns, uint64_t now_ns)
{
  struct mp_sel_path *p = &paths[idx];
  uint64_t sample, last = p->slot.u[SLOT_HST_LAST], ema, w, span;
  uint64_t usable = 0;
  size_t i;

  sample = now_ns > start_ns ? now_ns - start_ns : 1;
  if (sample > HST_SAMPLE_MAX)
    sample = HST_SAMPLE_MAX;

  if (last == 0) {
    w = 0;  /* first completion: nothing to average with */
  } else {
    uint64_t k = now_ns > last ? (now_ns - last) >> HST_BUCKET_SHIFT : 0;

    w = k < HST_WEIGHTS ? s->hst_weight[k] : 0;
  }
  ema = p->slot.u[SLOT_HST_EMA];
  ema = (ema * w + (sample << HST_SHIFT) * (HST_ONE - w)) >> HST_SHIFT;
  p->slot.u[SLOT_HST_EMA] = ema;
  p->slot.u[SLOT_HST_LAST] = now_ns > 0 ? now_ns : 1;

  for (i = 0; i < n; i++)
    if (paths[i].usable)
      usable++;
  if (usable == 0)
    usable = 1;
  span = (ema >> HST_SHIFT) * usable;  /* < 2^43 x paths: no overflow */
  p->slot.u[SLOT_HST_STALE] = now_ns > UINT64_MAX - span ? UINT64_MAX
                                                        : now_ns + span;
}
