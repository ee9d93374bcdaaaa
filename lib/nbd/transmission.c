/* transmission.c: the transmission phase: request intake, dispatch to the
 * backend, completion and reply queueing.
 *
 * A request lives from its header until its reply has been written.  While
 * the backend owns it, it sits on the connection's 'held' list, so the
 * connection (and its export) outlive it even if the client hangs up.
 * Replies are queued in completion order, whatever the request order.
 *
 * WRITE payloads are received straight into the request's buffer, which is
 * what the backend sees; READ data goes out straight from the buffer the
 * backend filled.  A WRITE that fails validation still has its payload on
 * the wire: it is read and dropped (up to NBD_MAX_DISCARD) so the stream
 * stays in step, then answered with the error.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nbd/internal.h"

static void queue_reply (struct nbd_conn *c, struct braid_nbd_request *req);

void
nbd_request_free (struct braid_nbd_request *req)
{
  free (req->buf);
  free (req);
}

uint64_t
braid_nbd_request_cookie (const struct braid_nbd_request *req)
{
  return req ? req->h.cookie : 0;
}

static void
die (struct nbd_conn *c, const char *why)
{
  NBD_LOG (c->srv, BRAID_LOG_WARNING, "nbd conn %u (%s): %s, closing",
           c->id, c->peer, why);
  c->state = NBD_CS_DEAD;
}

/* Give up the memory charge and the slot of a finished request. */
static void
retire (struct nbd_conn *c, struct braid_nbd_request *req)
{
  c->active--;
  c->active_bytes -= req->charged;
  nbd_request_free (req);
}

/* The reply of 'req' was written (or dropped with the connection). */
static void
reply_done (struct nbd_out *o, bool sent)
{
  struct braid_nbd_request *req = (struct braid_nbd_request *) o;
  struct nbd_conn *c = req->conn;

  if (sent && req->error == 0 && req->h.type == NBD_CMD_READ && c->exp)
    c->exp->stats.bytes_read += req->h.len;
  retire (c, req);
}

static void
hold (struct nbd_conn *c, struct braid_nbd_request *req)
{
  req->held = true;
  req->prev = NULL;
  req->next = c->held;
  if (c->held)
    c->held->prev = req;
  c->held = req;
  c->exp->stats.in_flight++;
}

static void
unhold (struct nbd_conn *c, struct braid_nbd_request *req)
{
  if (req->prev)
    req->prev->next = req->next;
  else
    c->held = req->next;
  if (req->next)
    req->next->prev = req->prev;
  req->prev = req->next = NULL;
  req->held = false;
  c->exp->stats.in_flight--;
}

static void
fail (struct nbd_conn *c, struct braid_nbd_request *req, uint32_t error,
      const char *msg)
{
  req->error = error;
  req->msg = msg;
  queue_reply (c, req);
}

/* Hand a validated request to the backend. */
static void
dispatch (struct nbd_conn *c, struct braid_nbd_request *req)
{
  struct braid_nbd_export *exp = c->exp;
  const struct braid_nbd_backend *be = &exp->backend;
  const struct nbd_req_hdr *h = &req->h;
  unsigned fl = 0;
  int r;

  if (h->flags & NBD_CMD_FLAG_FUA)
    fl |= BRAID_NBD_REQ_FUA;
  if (h->flags & NBD_CMD_FLAG_NO_HOLE)
    fl |= BRAID_NBD_REQ_NO_HOLE;
  if (h->flags & NBD_CMD_FLAG_FAST_ZERO)
    fl |= BRAID_NBD_REQ_FAST_ZERO;

  /* Empty data requests are valid and trivially done: no backend round
   * trip (and no zero-length I/O for it to special-case). */
  if (h->len == 0 && h->type != NBD_CMD_FLUSH) {
    queue_reply (c, req);
    return;
  }

  if (h->type == NBD_CMD_READ) {
    req->buf = malloc (h->len);
    if (req->buf == NULL) {
      fail (c, req, NBD_ENOMEM, "out of memory for the read buffer");
      return;
    }
    req->charged = h->len;
    c->active_bytes += h->len;
  }
  req->iov.iov_base = req->buf;
  req->iov.iov_len = h->len;

  hold (c, req);
  switch (h->type) {
  case NBD_CMD_READ:
    r = be->read (exp->opaque, h->offset, &req->iov, 1, h->len, fl, req);
    break;
  case NBD_CMD_WRITE:
    r = be->write (exp->opaque, h->offset, &req->iov, 1, h->len, fl, req);
    break;
  case NBD_CMD_FLUSH:
    r = be->flush (exp->opaque, fl, req);
    break;
  case NBD_CMD_TRIM:
    r = be->trim (exp->opaque, h->offset, h->len, fl, req);
    break;
  case NBD_CMD_WRITE_ZEROES:
    r = be->write_zeroes (exp->opaque, h->offset, h->len, fl, req);
    break;
  default:
    r = -EINVAL;                /* validation let through nothing else */
    break;
  }
  /* r == 0: the backend owns req now and it may already be completed and
   * queued, so it must not be touched here. */
  if (r < 0) {
    unhold (c, req);
    fail (c, req, nbd_errno_to_wire (-r), NULL);
  }
}

static void
count_command (struct braid_nbd_export_stats *st, uint16_t type)
{
  st->requests++;
  switch (type) {
  case NBD_CMD_READ: st->reads++; break;
  case NBD_CMD_WRITE: st->writes++; break;
  case NBD_CMD_FLUSH: st->flushes++; break;
  case NBD_CMD_TRIM: st->trims++; break;
  case NBD_CMD_WRITE_ZEROES: st->zeroes++; break;
  default: break;
  }
}

/* A full request header is in c->hbuf. */
static void
start_request (struct nbd_conn *c)
{
  struct braid_nbd_export *exp = c->exp;
  struct braid_nbd_request *req;
  struct nbd_req_ctx x;
  struct nbd_req_hdr h;
  const char *msg = NULL;
  uint32_t err;

  if (nbd_decode_request (c->hbuf, &h) < 0) {
    /* Nothing after this can be trusted to be a request boundary. */
    die (c, "bad request magic");
    return;
  }
  count_command (&exp->stats, h.type);

  if (h.type == NBD_CMD_DISC) {
    NBD_LOG (c->srv, BRAID_LOG_INFO, "nbd conn %u (%s): client disconnects",
             c->id, c->peer);
    c->state = NBD_CS_CLOSING;
    return;
  }

  x.size = exp->size;
  x.min_block = exp->min_block;
  x.max_payload = exp->max_block;
  x.tflags = c->tflags;
  x.shutdown = exp->removed || c->srv->shutting_down;
  err = nbd_validate_request (&h, &x, &msg);

  if (err && nbd_request_has_payload (&h) && h.len > NBD_MAX_DISCARD) {
    die (c, "rejected WRITE with an oversized payload");
    return;
  }

  req = calloc (1, sizeof *req);
  if (req == NULL) {
    die (c, "out of memory for a request");
    return;
  }
  req->conn = c;
  req->h = h;
  c->active++;

  if (err) {
    NBD_LOG (c->srv, BRAID_LOG_DEBUG, "nbd conn %u (%s): request type %u "
             "offset %llu length %u rejected: %s", c->id, c->peer, h.type,
             (unsigned long long) h.offset, h.len, msg);
    req->error = err;
    req->msg = msg;
    if (nbd_request_has_payload (&h) && h.len > 0) {
      c->rx_req = req;
      c->state = NBD_CS_REQ_DISCARD;
      return;
    }
    queue_reply (c, req);
    return;
  }

  if (nbd_request_has_payload (&h) && h.len > 0) {
    req->buf = malloc (h.len);
    if (req->buf == NULL) {
      req->error = NBD_ENOMEM;
      req->msg = "out of memory for the write buffer";
      c->rx_req = req;
      c->state = NBD_CS_REQ_DISCARD;
      return;
    }
    req->charged = h.len;
    c->active_bytes += h.len;
    c->rx_req = req;
    c->state = NBD_CS_REQ_PAYLOAD;
    return;
  }
  dispatch (c, req);
}

/* The WRITE payload (or the bytes to drop) is complete. */
static void
payload_done (struct nbd_conn *c)
{
  struct braid_nbd_request *req = c->rx_req;

  c->rx_req = NULL;
  c->state = NBD_CS_REQ_HDR;
  c->hgot = 0;
  if (req->error) {
    queue_reply (c, req);
    return;
  }
  c->exp->stats.bytes_written += req->h.len;
  dispatch (c, req);
}

void
nbd_tx_payload_received (struct nbd_conn *c, size_t n)
{
  c->rx_req->got += (uint32_t) n;
  if (c->rx_req->got == c->rx_req->h.len)
    payload_done (c);
}

size_t
nbd_tx_feed (struct nbd_conn *c, const uint8_t *p, size_t n)
{
  size_t used = 0;

  /* Each pass consumes bytes, or returns; bounded by n. */
  while (used < n) {
    switch (c->state) {
    case NBD_CS_REQ_HDR:
      if (c->hgot == 0 && nbd_conn_saturated (c))
        return used;
      used += nbd_collect (c->hbuf, &c->hgot, NBD_REQUEST_SIZE, p + used,
                           n - used);
      if (c->hgot < NBD_REQUEST_SIZE)
        break;
      c->hgot = 0;
      start_request (c);
      break;

    case NBD_CS_REQ_PAYLOAD:
    case NBD_CS_REQ_DISCARD: {
      struct braid_nbd_request *req = c->rx_req;
      size_t take = req->h.len - req->got;

      if (take > n - used)
        take = n - used;
      if (c->state == NBD_CS_REQ_PAYLOAD)
        memcpy (req->buf + req->got, p + used, take);
      used += take;
      nbd_tx_payload_received (c, take);
      break;
    }

    default:
      return used;
    }
    if (c->state == NBD_CS_CLOSING || c->state == NBD_CS_DEAD)
      return used;
  }
  return used;
}

/* Encode the reply of 'req' in its own header buffer and queue it. */
static void
queue_reply (struct nbd_conn *c, struct braid_nbd_request *req)
{
  struct nbd_out *o = &req->out;
  const struct nbd_req_hdr *h = &req->h;

  o->iovcnt = 1;
  o->iov[0].iov_base = req->hdr;
  o->iov[1].iov_base = NULL;
  o->iov[1].iov_len = 0;
  o->done = reply_done;

  if (req->error)
    c->exp->stats.errors++;

  if (!c->structured) {
    nbd_encode_simple_reply (req->hdr, req->error, h->cookie);
    o->iov[0].iov_len = NBD_SIMPLE_REPLY_SIZE;
    /* A failed simple READ carries no data. */
    if (h->type == NBD_CMD_READ && req->error == 0 && h->len > 0) {
      o->iov[1].iov_base = req->buf;
      o->iov[1].iov_len = h->len;
      o->iovcnt = 2;
    }
  }
  else if (req->error) {
    size_t ml = req->msg ? strlen (req->msg) : 0;

    nbd_encode_error_chunk (req->hdr, h->cookie, req->error, (uint16_t) ml);
    o->iov[0].iov_len = NBD_STRUCTURED_HDR_SIZE + 6;
    if (ml) {
      o->iov[1].iov_base = (void *) req->msg;
      o->iov[1].iov_len = ml;
      o->iovcnt = 2;
    }
  }
  else if (h->type == NBD_CMD_READ && h->len > 0) {
    nbd_encode_data_chunk (req->hdr, h->cookie, h->offset, h->len, true);
    o->iov[0].iov_len = NBD_STRUCTURED_HDR_SIZE + 8;
    o->iov[1].iov_base = req->buf;
    o->iov[1].iov_len = h->len;
    o->iovcnt = 2;
  }
  else if (h->type == NBD_CMD_READ) {
    /* An empty read: a READ must get a structured reply. */
    nbd_encode_structured_hdr (req->hdr, NBD_REPLY_FLAG_DONE,
                               NBD_REPLY_TYPE_NONE, h->cookie, 0);
    o->iov[0].iov_len = NBD_STRUCTURED_HDR_SIZE;
  }
  else {
    /* Successful commands without data: the 16-byte simple reply is
     * allowed with structured replies and is the cheapest. */
    nbd_encode_simple_reply (req->hdr, 0, h->cookie);
    o->iov[0].iov_len = NBD_SIMPLE_REPLY_SIZE;
  }
  nbd_outq_push (&c->outq, o);
}

void
braid_nbd_complete (struct braid_nbd_request *req, int error)
{
  struct nbd_conn *c;

  if (req == NULL)
    return;
  c = req->conn;
  if (c == NULL) {
    /* Orphaned by braid_nbd_server_free(). */
    nbd_request_free (req);
    return;
  }
  if (!req->held) {
    NBD_LOG (c->srv, BRAID_LOG_ERR, "nbd conn %u: request completed twice "
             "(cookie %llu), ignored", c->id,
             (unsigned long long) req->h.cookie);
    return;
  }
  unhold (c, req);
  if (error < 0)
    error = -error;             /* forgive the sign */
  if (error) {
    req->error = nbd_errno_to_wire (error);
    NBD_LOG (c->srv, BRAID_LOG_DEBUG, "nbd conn %u (%s): request type %u "
             "offset %llu failed: %s", c->id, c->peer, req->h.type,
             (unsigned long long) req->h.offset, strerror (error));
  }
  if (c->closed) {
    retire (c, req);
    nbd_conn_maybe_free (c);
    return;
  }
  queue_reply (c, req);
  nbd_conn_kick (c);
}
