/* connection.c: one client connection on the event loop.
 *
 * The protocol itself is in handshake.c and transmission.c, which consume
 * bytes and queue replies; this file moves bytes between them and the
 * socket, decides when to stop reading (too many requests in flight) and
 * when to close, and manages the connection's lifetime.
 *
 * Lifetime: nbd_conn_close() closes the socket and drops queued output at
 * once, but the struct stays until the backend has given back every request
 * it holds, so braid_nbd_complete() always finds it.  Work that must not
 * run inside a backend callback (writing replies, resuming input) is
 * "kicked": the server's zero-delay kick timer services the connection in
 * the same loop iteration, after the callback has returned.
 *
 * TLS: after the handshake has answered NBD_OPT_STARTTLS, the connection
 * sends that ACK in plaintext, checks the client sent nothing behind its
 * option (bytes injected before TLS must never be read as if protected),
 * then runs the TLS handshake; from there every byte both ways goes
 * through tls.c.  OpenSSL keeps decrypted bytes no poll event announces,
 * so a connection with such bytes waiting is kicked rather than left to
 * wait for the socket.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "braid/loop.h"
#include "nbd/internal.h"

/* Reads per readiness callback, so one busy client cannot starve others. */
#define READS_PER_CALLBACK 16

static void conn_service (struct nbd_conn *c);

bool
nbd_conn_saturated (const struct nbd_conn *c)
{
  return c->active >= c->srv->cfg.max_in_flight
    || c->active_bytes >= c->srv->cfg.max_buffered_bytes;
}

size_t
nbd_conn_feed (struct nbd_conn *c, const uint8_t *p, size_t n)
{
  size_t used = 0;

  /* The handshake hands over to transmission mid-buffer when a client
   * pipelines its first request behind GO; at most two rounds. */
  while (used < n && !c->closed) {
    size_t u;

    if (c->state == NBD_CS_TLS)
      break;                    /* the TLS handshake comes first */
    if (c->state <= NBD_CS_OPT_DATA)
      u = nbd_hs_feed (c, p + used, n - used);
    else if (c->state <= NBD_CS_REQ_DISCARD)
      u = nbd_tx_feed (c, p + used, n - used);
    else
      break;
    used += u;
    if (u == 0)
      break;
  }
  return used;
}

/* May this connection take more input now? */
static bool
wants_input (const struct nbd_conn *c)
{
  if (c->closed || c->eof || c->state > NBD_CS_REQ_DISCARD
      || c->state == NBD_CS_TLS)
    return false;
  if (c->state == NBD_CS_REQ_HDR && c->hgot == 0 && nbd_conn_saturated (c))
    return false;
  return true;
}

static void
process_input (struct nbd_conn *c)
{
  if (c->rxoff < c->rxlen && wants_input (c))
    c->rxoff += nbd_conn_feed (c, c->rxbuf + c->rxoff, c->rxlen - c->rxoff);
  if (c->rxoff == c->rxlen)
    c->rxoff = c->rxlen = 0;
}

static ssize_t
conn_writev (void *opaque, const struct iovec *iov, int iovcnt)
{
  struct nbd_conn *c = opaque;
  struct msghdr m;
  ssize_t r;

  if (c->ssl)
    return nbd_tls_writev (c, iov, iovcnt);
  memset (&m, 0, sizeof m);
  m.msg_iov = (struct iovec *) iov;
  m.msg_iovlen = (size_t) iovcnt;
  do
    r = sendmsg (c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  if (r < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return r;
}

/* recv(2) or its TLS equivalent: >0, 0 at end of input, or -errno. */
static ssize_t
conn_recv (struct nbd_conn *c, void *buf, size_t len)
{
  ssize_t n;

  if (c->ssl)
    return nbd_tls_recv (c, buf, len);
  do
    n = recv (c->fd, buf, len, MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  return n;
}

/* Read what the socket has, feeding the state machine.  WRITE payloads
 * are received straight into the request buffer when nothing else is
 * buffered in front of them. */
static void
conn_read (struct nbd_conn *c)
{
  int i;

  for (i = 0; i < READS_PER_CALLBACK && wants_input (c); i++) {
    ssize_t n;

    if (c->state == NBD_CS_REQ_PAYLOAD && c->rxoff == c->rxlen) {
      struct braid_nbd_request *req = c->rx_req;

      n = conn_recv (c, req->buf + req->got, req->h.len - req->got);
      if (n > 0) {
        nbd_tx_payload_received (c, (size_t) n);
        continue;
      }
    }
    else {
      if (c->rxoff > 0) {
        memmove (c->rxbuf, c->rxbuf + c->rxoff, c->rxlen - c->rxoff);
        c->rxlen -= c->rxoff;
        c->rxoff = 0;
      }
      if (c->rxlen == NBD_RXBUF_SIZE)
        break;                  /* unreachable: feeding drains it */
      n = conn_recv (c, c->rxbuf + c->rxlen, NBD_RXBUF_SIZE - c->rxlen);
      if (n > 0) {
        c->rxlen += (size_t) n;
        process_input (c);
        continue;
      }
    }

    if (n == 0) {
      /* The client is done sending.  Finish what it asked for and close;
       * an incomplete request is simply dropped. */
      NBD_LOG (c->srv, BRAID_LOG_DEBUG, "nbd conn %u (%s): end of input",
               c->id, c->peer);
      c->eof = true;
      if (c->state != NBD_CS_DEAD)
        c->state = NBD_CS_CLOSING;
      return;
    }
    if (n == -EAGAIN)
      return;
    NBD_LOG (c->srv, BRAID_LOG_INFO, "nbd conn %u (%s): read: %s",
             c->id, c->peer, strerror ((int) -n));
    nbd_conn_close (c);
    return;
  }
}

static bool
should_close (const struct nbd_conn *c)
{
  bool drained = nbd_outq_empty (&c->outq) && c->held == NULL;

  if (c->state == NBD_CS_DEAD)
    return true;
  if (c->state == NBD_CS_CLOSING)
    return drained;
  if (!drained)
    return false;
  /* Handshakes are cut short by a server shutdown. */
  if (nbd_conn_in_handshake (c))
    return c->srv->shutting_down;
  /* Idle on an export that is going away. */
  if (c->exp && (c->exp->removed || c->srv->shutting_down))
    return c->state == NBD_CS_REQ_HDR && c->hgot == 0 && c->rxoff == c->rxlen;
  return false;
}

static void
update_events (struct nbd_conn *c)
{
  unsigned ev = 0;

  if (c->state == NBD_CS_TLS && c->ssl)
    ev = c->tls_hs_want;
  else {
    /* A TLS read may need the socket writable and a write readable. */
    if (wants_input (c))
      ev |= c->tls_rd_want ? c->tls_rd_want : POLLIN;
    if (!nbd_outq_empty (&c->outq))
      ev |= c->tls_wr_want ? c->tls_wr_want : POLLOUT;
  }
  if (ev != c->events && braid_loop_mod_fd (c->srv->loop, c->fd, ev) == 0)
    c->events = ev;
}

/* Resume buffered input, write replies, close when done.  Writing replies
 * frees request slots, which may let more buffered requests in, so this
 * goes round while that happens (a bounded number of times; leftover input
 * is picked up by another kick). */
/* Write what the queue holds: 0 when all is out, -EAGAIN when the socket
 * is full.  A write error closes the connection (c->closed). */
static int
flush_output (struct nbd_conn *c)
{
  int r = nbd_outq_flush (&c->outq, conn_writev, c);

  if (r < 0 && r != -EAGAIN) {
    NBD_LOG (c->srv, BRAID_LOG_INFO, "nbd conn %u (%s): write: %s",
             c->id, c->peer, strerror (-r));
    nbd_conn_close (c);
  }
  return r;
}

/* After STARTTLS: send the ACK, then run the TLS handshake.  Returns true
 * once TLS is up and option haggling may resume. */
static bool
tls_advance (struct nbd_conn *c)
{
  int r;

  if (c->ssl == NULL) {
    if (flush_output (c) < 0)
      return false;             /* the ACK is not out yet, or closed */
    if (c->rxoff < c->rxlen) {
      NBD_LOG (c->srv, BRAID_LOG_WARNING, "nbd conn %u (%s): %zu bytes sent "
               "after NBD_OPT_STARTTLS before its answer, closing (they "
               "would be taken as protected by TLS)", c->id, c->peer,
               c->rxlen - c->rxoff);
      nbd_conn_close (c);
      return false;
    }
    r = nbd_tls_conn_start (c);
    if (r < 0) {
      NBD_LOG (c->srv, BRAID_LOG_ERR, "nbd conn %u (%s): cannot start TLS: "
               "%s", c->id, c->peer, strerror (-r));
      nbd_conn_close (c);
      return false;
    }
  }
  r = nbd_tls_handshake (c);
  if (r == -EAGAIN)
    return false;
  if (r < 0) {
    nbd_conn_close (c);
    return false;
  }
  nbd_hs_tls_established (c);
  return true;
}

static void
conn_service (struct nbd_conn *c)
{
  int round;

  if (c->state == NBD_CS_TLS) {
    if (c->srv->shutting_down) {
      nbd_conn_close (c);       /* a handshake is cut short by a shutdown */
      return;
    }
    if (!tls_advance (c)) {
      if (!c->closed)
        update_events (c);
      return;
    }
  }
  if (nbd_tls_pending (c) && wants_input (c))
    conn_read (c);
  for (round = 0; round < 8 && !c->closed; round++) {
    int r;

    process_input (c);
    if (c->closed || c->state == NBD_CS_DEAD)
      break;
    r = flush_output (c);
    if (c->closed)
      return;
    if (r == -EAGAIN || c->rxoff == c->rxlen || !wants_input (c))
      break;
  }
  if (c->closed)
    return;
  if (should_close (c)) {
    NBD_LOG (c->srv, BRAID_LOG_INFO, "nbd conn %u (%s): closing", c->id,
             c->peer);
    nbd_conn_close (c);
    return;
  }
  if ((c->rxoff < c->rxlen || nbd_tls_pending (c)) && wants_input (c))
    nbd_conn_kick (c);
  update_events (c);
}

static void
conn_fd_cb (struct braid_loop *loop, int fd, unsigned revents, void *opaque)
{
  struct nbd_conn *c = opaque;

  (void) loop;
  (void) fd;
  c->in_cb++;
  if (revents & (POLLERR | POLLHUP)) {
    /* The peer is gone both ways: nothing we write can arrive. */
    NBD_LOG (c->srv, BRAID_LOG_DEBUG, "nbd conn %u (%s): hang-up", c->id,
             c->peer);
    nbd_conn_close (c);
  }
  else {
    if ((revents & POLLIN)
        || (c->tls_rd_want == POLLOUT && (revents & POLLOUT)))
      conn_read (c);
    if (!c->closed)
      conn_service (c);
  }
  c->in_cb--;
  nbd_conn_maybe_free (c);
}

static void
handshake_timeout (struct braid_loop *loop, struct braid_timer *t,
                   void *opaque)
{
  struct nbd_conn *c = opaque;

  (void) loop;
  (void) t;
  if (nbd_conn_in_handshake (c)) {
    NBD_LOG (c->srv, BRAID_LOG_NOTICE, "nbd conn %u (%s): handshake timed "
             "out%s", c->id, c->peer,
             c->state == NBD_CS_TLS ? " (in the TLS handshake)" : "");
    nbd_conn_close (c);
    nbd_conn_maybe_free (c);
  }
}

void
nbd_conn_kick (struct nbd_conn *c)
{
  if (c->test_mode || c->closed || c->kicked)
    return;
  c->kicked = true;
  if (!braid_timer_armed (c->srv->kick_timer))
    braid_timer_arm_ms (c->srv->kick_timer, 0);
}

/* The server's kick timer: service every kicked connection.  Backends
 * called from here may complete requests of other connections, which could
 * free them; frees are postponed until the walk is over. */
void
nbd_conn_run_kicked (struct braid_nbd_server *srv)
{
  struct nbd_conn *c, *next;

  srv->walking++;
  for (c = srv->conns; c; c = c->next) {
    if (!c->kicked)
      continue;
    c->kicked = false;
    if (c->closed)
      continue;
    c->in_cb++;
    conn_service (c);
    c->in_cb--;
  }
  srv->walking--;
  for (c = srv->conns; c; c = next) {
    next = c->next;
    nbd_conn_maybe_free (c);
  }
}

struct nbd_conn *
nbd_conn_new (struct braid_nbd_server *srv, int fd, const char *peer,
              bool tcp)
{
  struct nbd_conn *c = calloc (1, sizeof *c);

  if (c == NULL)
    return NULL;
  c->srv = srv;
  c->id = ++srv->next_conn_id;
  c->fd = fd;
  c->test_mode = fd < 0;
  c->tcp = tcp;
  snprintf (c->peer, sizeof c->peer, "%s", peer ? peer : "?");

  if (!c->test_mode) {
    c->rxbuf = malloc (NBD_RXBUF_SIZE);
    c->hs_timer = braid_timer_new (srv->loop, handshake_timeout, c);
    if (c->rxbuf == NULL || c->hs_timer == NULL
        || braid_loop_add_fd (srv->loop, fd, POLLIN, conn_fd_cb, c) < 0) {
      braid_timer_free (c->hs_timer);
      free (c->rxbuf);
      free (c);
      return NULL;
    }
    c->events = POLLIN;
    braid_timer_arm_ms (c->hs_timer, srv->cfg.handshake_timeout_ms);
    srv->nopen++;
  }

  c->next = srv->conns;
  if (srv->conns)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;

  NBD_LOG (srv, BRAID_LOG_INFO, "nbd conn %u (%s): connected", c->id,
           c->peer);
  if (nbd_hs_greet (c) < 0)
    c->state = NBD_CS_DEAD;
  if (!c->test_mode) {
    c->in_cb++;
    conn_service (c);
    c->in_cb--;
  }
  return c;
}

void
nbd_conn_close (struct nbd_conn *c)
{
  if (c->closed)
    return;
  c->closed = true;
  if (!c->test_mode) {
    braid_loop_del_fd (c->srv->loop, c->fd);
    nbd_tls_conn_end (c);
    close (c->fd);
    c->fd = -1;
    c->srv->nopen--;
  }
  braid_timer_free (c->hs_timer);
  c->hs_timer = NULL;
  nbd_outq_drop (&c->outq);
  if (c->rx_req) {
    struct braid_nbd_request *req = c->rx_req;

    c->rx_req = NULL;
    c->active--;
    c->active_bytes -= req->charged;
    nbd_request_free (req);
  }
  free (c->optbuf);
  c->optbuf = NULL;
  if (c->exp)
    c->exp->stats.connections--;
  c->state = NBD_CS_DEAD;
}

static void
conn_free (struct nbd_conn *c)
{
  struct braid_nbd_server *srv = c->srv;

  if (c->prev)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  srv->nconns--;
  if (c->exp)
    nbd_export_unref (c->exp);
  free (c->rxbuf);
  free (c);
}

void
nbd_conn_maybe_free (struct nbd_conn *c)
{
  if (c->closed && c->held == NULL && c->in_cb == 0
      && c->srv->walking == 0)
    conn_free (c);
}

void
nbd_conn_destroy (struct nbd_conn *c)
{
  struct braid_nbd_request *req, *next;

  nbd_conn_close (c);
  /* The backend still owns these; completing them later only frees. */
  for (req = c->held; req; req = next) {
    next = req->next;
    req->conn = NULL;
    req->prev = req->next = NULL;
    if (c->exp)
      c->exp->stats.in_flight--;
  }
  c->held = NULL;
  c->in_cb = 0;
  conn_free (c);
}
