/* outq.c: the per-connection queue of messages waiting for the socket.
 *
 * Replies are queued in completion order and written with one vectored
 * write for as many of them as fit in a batch, so a burst of small replies
 * costs one system call and a READ reply goes out straight from the
 * request's buffer (header iovec + data iovec, no copy).  A short write
 * leaves the queue positioned mid-message; the next flush resumes there.
 *
 * Also here: a small growable buffer for handshake replies, which are built
 * piecewise and then queued as one message.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nbd/internal.h"

/* iovecs per write: enough to batch 32 READ replies. */
#define OUTQ_BATCH 64

void
nbd_outq_push (struct nbd_outq *q, struct nbd_out *o)
{
  o->next = NULL;
  o->sent = 0;
  if (q->tail)
    q->tail->next = o;
  else
    q->head = o;
  q->tail = o;
  q->count++;
}

static size_t
out_total (const struct nbd_out *o)
{
  size_t t = 0;
  int i;

  for (i = 0; i < o->iovcnt; i++)
    t += o->iov[i].iov_len;
  return t;
}

static struct nbd_out *
outq_pop (struct nbd_outq *q)
{
  struct nbd_out *o = q->head;

  q->head = o->next;
  if (q->head == NULL)
    q->tail = NULL;
  q->count--;
  o->next = NULL;
  return o;
}

int
nbd_outq_flush (struct nbd_outq *q, nbd_writev_fn fn, void *opaque)
{
  /* Each round gathers up to OUTQ_BATCH iovecs, starting mid-message if
   * the previous write was short.  Rounds are bounded by the queue: every
   * successful write removes at least one byte, and the loop stops on
   * EAGAIN or error. */
  while (q->head) {
    struct iovec iov[OUTQ_BATCH];
    struct nbd_out *o;
    int n = 0;
    ssize_t w;
    size_t left;

    for (o = q->head; o && n < OUTQ_BATCH; o = o->next) {
      size_t skip = o->sent;
      int i;

      if (o->iovcnt > OUTQ_BATCH - n)
        break;
      for (i = 0; i < o->iovcnt; i++) {
        size_t l = o->iov[i].iov_len;

        if (skip >= l) {
          skip -= l;
          continue;
        }
        iov[n].iov_base = (uint8_t *) o->iov[i].iov_base + skip;
        iov[n].iov_len = l - skip;
        skip = 0;
        n++;
      }
    }
    if (n == 0) {
      /* Only empty messages at the head: retire them. */
      while (q->head && out_total (q->head) == q->head->sent) {
        o = outq_pop (q);
        o->done (o, true);
      }
      continue;
    }

    w = fn (opaque, iov, n);
    if (w < 0)
      return (int) w;
    if (w == 0)
      return -EAGAIN;

    /* Retire fully written messages; note progress in the partial one. */
    left = (size_t) w;
    while (q->head) {
      size_t rest;

      o = q->head;
      rest = out_total (o) - o->sent;
      if (left < rest) {
        o->sent += left;
        break;
      }
      left -= rest;
      o->sent += rest;
      outq_pop (q);
      o->done (o, true);
    }
  }
  return 0;
}

void
nbd_outq_drop (struct nbd_outq *q)
{
  while (q->head) {
    struct nbd_out *o = outq_pop (q);

    o->done (o, false);
  }
}

/* ---- byte buffer ---- */

void
nbd_buf_put (struct nbd_buf *b, const void *p, size_t n)
{
  if (b->failed || n == 0)
    return;
  if (n > b->cap - b->len) {
    size_t ncap = b->cap ? b->cap : 256;
    uint8_t *d;

    while (ncap - b->len < n) {
      if (ncap > SIZE_MAX / 2) {
        b->failed = true;
        return;
      }
      ncap *= 2;
    }
    d = realloc (b->data, ncap);
    if (d == NULL) {
      b->failed = true;
      return;
    }
    b->data = d;
    b->cap = ncap;
  }
  memcpy (b->data + b->len, p, n);
  b->len += n;
}

void
nbd_buf_put16 (struct nbd_buf *b, uint16_t v)
{
  uint8_t x[2];

  nbd_put16 (x, v);
  nbd_buf_put (b, x, sizeof x);
}

void
nbd_buf_put32 (struct nbd_buf *b, uint32_t v)
{
  uint8_t x[4];

  nbd_put32 (x, v);
  nbd_buf_put (b, x, sizeof x);
}

void
nbd_buf_put64 (struct nbd_buf *b, uint64_t v)
{
  uint8_t x[8];

  nbd_put64 (x, v);
  nbd_buf_put (b, x, sizeof x);
}

void
nbd_buf_free (struct nbd_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
  b->failed = false;
}

/* A queued handshake message owns its bytes. */
struct blob {
  struct nbd_out out;
  uint8_t *data;
};

static void
blob_done (struct nbd_out *o, bool sent)
{
  struct blob *bl = (struct blob *) o;

  (void) sent;
  free (bl->data);
  free (bl);
}

int
nbd_outq_push_buf (struct nbd_outq *q, struct nbd_buf *b)
{
  struct blob *bl;

  if (b->failed) {
    nbd_buf_free (b);
    return -ENOMEM;
  }
  if (b->len == 0)
    return 0;
  bl = calloc (1, sizeof *bl);
  if (bl == NULL) {
    nbd_buf_free (b);
    return -ENOMEM;
  }
  bl->data = b->data;
  bl->out.iov[0].iov_base = b->data;
  bl->out.iov[0].iov_len = b->len;
  bl->out.iovcnt = 1;
  bl->out.done = blob_done;
  b->data = NULL;
  b->len = b->cap = 0;
  nbd_outq_push (q, &bl->out);
  return 0;
}
