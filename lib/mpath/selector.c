/* selector.c: which path of the active group gets the next I/O.
 *
 * The path_selector of multipath.conf names one of the kernel's
 * dm-multipath path selectors; braid has no kernel in the I/O path, so it
 * implements their decisions itself (drivers/md/dm-ps-*.c and the
 * dm-*.rst documents describe them):
 *   round-robin    strict rotation; a path keeps 'repeat' I/Os in a row
 *                  (rr_min_io_rq), as bio-based dm did before request-
 *                  based dm clamped it to 1;
 *   queue-length   fewest I/Os in flight;
 *   service-time   least (in-flight bytes + this I/O) / relative
 *                  throughput, compared by cross-multiplication;
 *   historical-service-time  see hst.c.
 * The kernel selectors keep their valid paths in a list and move the
 * chosen path to its tail, so equal candidates take turns.  Here each
 * path's slot carries a stamp of when it was last chosen, and ties go to
 * the oldest stamp (then the lower index), which is the same order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mpath/selector-internal.h"
#include "util/errbuf.h"

/* Longest spec and most words we accept: far beyond any real one. */
#define SPEC_MAX 256
#define SPEC_WORDS 16

static const char *const sel_names[] = {
  [SEL_ROUND_ROBIN] = "round-robin",
  [SEL_QUEUE_LENGTH] = "queue-length",
  [SEL_SERVICE_TIME] = "service-time",
  [SEL_HISTORICAL_SERVICE_TIME] = "historical-service-time",
};

void
mp_sel_path_init (struct mp_sel_path *p)
{
  memset (p, 0, sizeof *p);
  p->usable = 1;
  p->repeat = 1;
  p->relative_throughput = 1;
}

static int
parse_count (const char *w, unsigned *out)
{
  char *end;
  unsigned long v;

  if (w[0] < '0' || w[0] > '9')
    return -EINVAL;
  errno = 0;
  v = strtoul (w, &end, 10);
  if (errno != 0 || *end != '\0' || v > SPEC_WORDS)
    return -EINVAL;
  *out = (unsigned) v;
  return 0;
}

struct mp_selector *
mp_selector_new (const char *spec, char *err, size_t errlen)
{
  char buf[SPEC_MAX];
  char *words[SPEC_WORDS], *save = NULL, *w;
  unsigned nwords = 0, argc = 0, i;
  struct mp_selector *s;
  int kind = -1;

  if (spec == NULL || strlen (spec) >= sizeof buf) {
    braid_set_error (err, errlen, "path_selector: %s",
                     spec == NULL ? "missing" : "too long");
    errno = EINVAL;
    return NULL;
  }
  strcpy (buf, spec);
  for (w = strtok_r (buf, " \t\n", &save); w != NULL;
       w = strtok_r (NULL, " \t\n", &save)) {
    if (nwords == SPEC_WORDS) {
      braid_set_error (err, errlen, "path_selector \"%s\": too many words",
                       spec);
      errno = EINVAL;
      return NULL;
    }
    words[nwords++] = w;
  }
  if (nwords == 0) {
    braid_set_error (err, errlen, "path_selector: empty");
    errno = EINVAL;
    return NULL;
  }
  for (i = 0; i < sizeof sel_names / sizeof sel_names[0]; i++)
    if (strcmp (words[0], sel_names[i]) == 0)
      kind = (int) i;
  if (kind < 0) {
    braid_set_error (err, errlen, "unknown path selector \"%s\"", words[0]);
    errno = EINVAL;
    return NULL;
  }
  /* "<name>" alone means no arguments; otherwise the count must match
   * the words after it, as the kernel table parser requires. */
  if (nwords > 1
      && (parse_count (words[1], &argc) < 0 || argc != nwords - 2)) {
    braid_set_error (err, errlen,
                     "path_selector \"%s\": bad argument count", spec);
    errno = EINVAL;
    return NULL;
  }

  s = calloc (1, sizeof *s);
  if (s == NULL) {
    braid_set_error (err, errlen, "path_selector: out of memory");
    errno = ENOMEM;
    return NULL;
  }
  s->kind = (enum sel_kind) kind;
  /* The kernel's round-robin, queue-length and service-time take no
   * selector arguments and ignore any given; so do we. */
  if (s->kind == SEL_HISTORICAL_SERVICE_TIME
      && sel_hst_setup (s, argc, argc > 0 ? &words[2] : NULL, err,
                        errlen) < 0) {
    free (s);
    errno = EINVAL;
    return NULL;
  }
  return s;
}

void
mp_selector_free (struct mp_selector *s)
{
  free (s);
}

const char *
mp_selector_name (const struct mp_selector *s)
{
  return sel_names[s->kind];
}

/* Was path a (index ai) chosen longer ago than path b? */
static bool
rot_before (const struct mp_sel_path *a, size_t ai,
            const struct mp_sel_path *b, size_t bi)
{
  if (a->slot.u[SLOT_SEQ] != b->slot.u[SLOT_SEQ])
    return a->slot.u[SLOT_SEQ] < b->slot.u[SLOT_SEQ];
  return ai < bi;
}

static uint64_t
sat_add (uint64_t a, uint64_t b)
{
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* dm-service-time's comparison of two paths for an I/O of io bytes:
 * < 0 when a is the better choice. */
static int
st_compare (const struct mp_sel_path *a, const struct mp_sel_path *b,
            uint32_t io)
{
  uint64_t ta = a->relative_throughput, tb = b->relative_throughput;
  int c;

  /* Same speed: the less loaded one. */
  if (ta == tb)
    return sel_cmp_u64 (a->in_flight_bytes, b->in_flight_bytes);
  /* Same load, or one path with throughput 0 (use only as a last
   * resort): the faster one. */
  if (a->in_flight_bytes == b->in_flight_bytes || ta == 0 || tb == 0)
    return ta > tb ? -1 : 1;
  /* (sa / ta) vs (sb / tb) without dividing: sa * tb vs sb * ta. */
  c = sel_mul_cmp (sat_add (a->in_flight_bytes, io), tb,
                   sat_add (b->in_flight_bytes, io), ta);
  if (c != 0)
    return c;
  return ta > tb ? -1 : 1;
}

static int
compare (const struct mp_selector *s, const struct mp_sel_path *a,
         const struct mp_sel_path *b, uint32_t io, uint64_t now_ns)
{
  switch (s->kind) {
  case SEL_QUEUE_LENGTH:
    return sel_cmp_u64 (a->in_flight, b->in_flight);
  case SEL_SERVICE_TIME:
    return st_compare (a, b, io);
  case SEL_HISTORICAL_SERVICE_TIME:
    return sel_hst_compare (s, a, b, now_ns);
  case SEL_ROUND_ROBIN:
  default:
    return 0;  /* rotation alone decides */
  }
}

int
mp_selector_pick (struct mp_selector *s, const struct mp_sel_path *paths,
                  size_t n, uint32_t io_bytes, uint64_t now_ns)
{
  size_t i, best = 0;
  bool found = false;

  if (s == NULL || paths == NULL || n > (size_t) INT32_MAX)
    return -1;
  for (i = 0; i < n; i++) {
    int c;

    if (!paths[i].usable)
      continue;
    /* Round-robin stays on the current path for its repeat count. */
    if (s->kind == SEL_ROUND_ROBIN && s->cur_left > 0 && s->cur_seq != 0
        && paths[i].slot.u[SLOT_SEQ] == s->cur_seq)
      return (int) i;
    if (!found) {
      best = i;
      found = true;
      continue;
    }
    c = compare (s, &paths[i], &paths[best], io_bytes, now_ns);
    if (c < 0 || (c == 0 && rot_before (&paths[i], i, &paths[best], best)))
      best = i;
  }
  return found ? (int) best : -1;
}

void
mp_selector_start (struct mp_selector *s, struct mp_sel_path *paths,
                   size_t n, size_t idx, uint32_t io_bytes, uint64_t now_ns)
{
  struct mp_sel_path *p;

  (void) now_ns;
  if (s == NULL || paths == NULL || idx >= n)
    return;
  p = &paths[idx];
  if (p->in_flight < UINT32_MAX)
    p->in_flight++;
  p->in_flight_bytes = sat_add (p->in_flight_bytes, io_bytes);

  if (s->kind == SEL_ROUND_ROBIN && s->cur_seq != 0
      && p->slot.u[SLOT_SEQ] == s->cur_seq && s->cur_left > 0) {
    s->cur_left--;
    return;
  }
  /* Chosen now: to the back of the rotation. */
  p->slot.u[SLOT_SEQ] = ++s->seq;
  if (s->kind == SEL_ROUND_ROBIN) {
    s->cur_seq = p->slot.u[SLOT_SEQ];
    s->cur_left = (p->repeat > 0 ? p->repeat : 1) - 1;
  }
}

void
mp_selector_done (struct mp_selector *s, struct mp_sel_path *paths,
                  size_t n, size_t idx, uint32_t io_bytes, uint64_t start_ns,
                  uint64_t now_ns)
{
  struct mp_sel_path *p;

  if (s == NULL || paths == NULL || idx >= n)
    return;
  p = &paths[idx];
  if (p->in_flight > 0)
    p->in_flight--;
  p->in_flight_bytes = p->in_flight_bytes > io_bytes
                       ? p->in_flight_bytes - io_bytes : 0;
  if (s->kind == SEL_HISTORICAL_SERVICE_TIME)
    sel_hst_done (s, paths, n, idx, start_ns, now_ns);
}

void
mp_selector_reinstate (struct mp_selector *s, struct mp_sel_path *paths,
                       size_t n, size_t idx)
{
  if (s == NULL || paths == NULL || idx >= n)
    return;
  /* dm-round-robin puts a reinstated path at the head of its list, the
   * other selectors at the tail. */
  if (s->kind == SEL_ROUND_ROBIN)
    paths[idx].slot.u[SLOT_SEQ] = 0;
  else
    paths[idx].slot.u[SLOT_SEQ] = ++s->seq;
}
