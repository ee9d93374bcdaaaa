/* mpath/selector-internal.h: what selector.c and hst.c share.
 *
 * selector.c holds the selector object, spec parsing, the rotation used
 * to break ties and the three simple selectors; hst.c holds
 * historical-service-time, whose averaging needs more room.
 */
#ifndef BRAID_MPATH_SELECTOR_INTERNAL_H
#define BRAID_MPATH_SELECTOR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "mpath/policy.h"

enum sel_kind {
  SEL_ROUND_ROBIN,
  SEL_QUEUE_LENGTH,
  SEL_SERVICE_TIME,
  SEL_HISTORICAL_SERVICE_TIME,
};

/* historical-service-time: fixed point with 10 fractional bits; idle
 * time is measured in buckets of 2^24 ns (about 16.8 ms) and the weight
 * of history shrinks by base_weight per bucket, reaching 0 after
 * HST_WEIGHTS buckets (about 1.07 s). */
#define HST_SHIFT 10
#define HST_ONE (1u << HST_SHIFT)
#define HST_BUCKET_SHIFT 24
#define HST_WEIGHTS 64
#define HST_BASE_DEFAULT 972u        /* 972/1024 = 0.949 */
#define HST_THRESHOLD_DEFAULT 0u

/* Slot words: u[0] is the rotation stamp for every selector. */
#define SLOT_SEQ 0
#define SLOT_HST_EMA 1       /* service time EMA, ns << HST_SHIFT */
#define SLOT_HST_LAST 2      /* last completion, ns (0 = none yet) */
#define SLOT_HST_STALE 3     /* not trusted after this time, ns */

struct mp_selector {
  enum sel_kind kind;
  uint64_t seq;           /* source of rotation stamps */
  uint64_t cur_seq;       /* round-robin: stamp of the current path */
  unsigned cur_left;      /* round-robin: I/Os it still gets */
  unsigned hst_threshold;
  uint32_t hst_weight[HST_WEIGHTS];
};

/* Compare a*b with c*d exactly (128-bit products): <0, 0, >0. */
static inline int
sel_mul_cmp (uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
  uint64_t h1, l1, h2, l2;
  uint64_t a0 = a & 0xffffffffu, a1 = a >> 32, b0 = b & 0xffffffffu,
           b1 = b >> 32, c0 = c & 0xffffffffu, c1 = c >> 32,
           d0 = d & 0xffffffffu, d1 = d >> 32, m;

  m = ((a0 * b0) >> 32) + ((a0 * b1) & 0xffffffffu)
      + ((a1 * b0) & 0xffffffffu);
  l1 = (m << 32) | ((a0 * b0) & 0xffffffffu);
  h1 = a1 * b1 + ((a0 * b1) >> 32) + ((a1 * b0) >> 32) + (m >> 32);
  m = ((c0 * d0) >> 32) + ((c0 * d1) & 0xffffffffu)
      + ((c1 * d0) & 0xffffffffu);
  l2 = (m << 32) | ((c0 * d0) & 0xffffffffu);
  h2 = c1 * d1 + ((c0 * d1) >> 32) + ((c1 * d0) >> 32) + (m >> 32);
  if (h1 != h2)
    return h1 < h2 ? -1 : 1;
  if (l1 != l2)
    return l1 < l2 ? -1 : 1;
  return 0;
}

static inline int
sel_cmp_u64 (uint64_t a, uint64_t b)
{
  return a < b ? -1 : a > b ? 1 : 0;
}

/* hst.c */
int sel_hst_setup (struct mp_selector *s, unsigned argc, char **argv,
                   char *err, size_t errlen);
int sel_hst_compare (const struct mp_selector *s, const struct mp_sel_path *a,
                     const struct mp_sel_path *b, uint64_t now_ns);
void sel_hst_done (struct mp_selector *s, struct mp_sel_path *paths,
                   size_t n, size_t idx, uint64_t start_ns, uint64_t now_ns);

#endif /* BRAID_MPATH_SELECTOR_INTERNAL_H */
