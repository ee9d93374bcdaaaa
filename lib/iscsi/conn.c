/* conn.c: the session's TCP connection: connect, write, read and frame.
 *
 * Writes gather as many queued PDUs as fit into one sendmsg(), straight
 * from the PDU headers and the callers' buffers.  Reads pull large chunks
 * into a receive buffer and cut PDUs out of it; a Data-In payload is copied
 * once into the caller's iovecs, or read directly into them when the rest of
 * a large segment is not in the buffer yet, so bulk reads cost no copy.
 * Every length from the wire is checked against what the session agreed
 * to receive before any byte is placed.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iscsi/internal.h"
#include "util/crc32c.h"

#define SEND_IOV_MAX 64
#define RX_DIRECT_MIN 8192          /* read straight into the iovecs above this */
#define RX_LARGE_DATAIN 65536       /* a Data-In this big switches to small probes */
#define RX_HDR_PROBE 4096           /* read size while looking for such a header */
#define READS_PER_SERVICE 64        /* fairness between sessions on one loop */

int
conn_start (struct braid_iscsi *s)
{
  char host[256];
  uint16_t port;
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                            .ai_flags = AI_NUMERICSERV }, *ai = NULL;
  char portstr[8];
  int fd = -1, r;

  if (s->no_connect) {
    sess_set_error (s, "connecting is disabled for this session");
    return -EPERM;
  }
  if (braid_iscsi_split_portal (s->cur_portal, host, sizeof host, &port) < 0) {
    sess_set_error (s, "bad portal \"%s\"", s->cur_portal);
    return -EINVAL;
  }
  snprintf (portstr, sizeof portstr, "%u", port);
  r = getaddrinfo (host, portstr, &hints, &ai);
  if (r != 0) {
    sess_set_error (s, "cannot resolve %s: %s", host, gai_strerror (r));
    return -EHOSTUNREACH;
  }
  fd = socket (ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    r = -errno;
    sess_set_error (s, "socket: %s", strerror (errno));
    goto out;
  }
  int one = 1;
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (s->opts.tcp_user_timeout_ms) {
    unsigned t = s->opts.tcp_user_timeout_ms;
    setsockopt (fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &t, sizeof t);
  }
  if (s->opts.bind_iface[0]) {
    if (setsockopt (fd, SOL_SOCKET, SO_BINDTODEVICE, s->opts.bind_iface,
                    (socklen_t) strlen (s->opts.bind_iface)) < 0) {
      r = -errno;
      sess_set_error (s, "cannot bind to interface %s: %s",
                      s->opts.bind_iface, strerror (errno));
      goto out;
    }
  }
  if (s->opts.bind_addr[0]) {
    struct addrinfo *bai = NULL;
    struct addrinfo bh = { .ai_family = ai->ai_family,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICHOST | AI_PASSIVE };
    r = getaddrinfo (s->opts.bind_addr, NULL, &bh, &bai);
    if (r != 0) {
      sess_set_error (s, "bad source address %s: %s", s->opts.bind_addr,
                      gai_strerror (r));
      r = -EINVAL;
      goto out;
    }
    r = bind (fd, bai->ai_addr, bai->ai_addrlen);
    freeaddrinfo (bai);
    if (r < 0) {
      r = -errno;
      sess_set_error (s, "cannot bind to %s: %s", s->opts.bind_addr,
                      strerror (errno));
      goto out;
    }
  }
  r = connect (fd, ai->ai_addr, ai->ai_addrlen);
  if (r < 0 && errno != EINPROGRESS) {
    r = -errno;
    sess_set_error (s, "connect to %s: %s", s->cur_portal, strerror (errno));
    goto out;
  }
  s->fd = fd;
  fd = -1;
  r = 0;
  s->state = S_CONNECTING;
  s->rx.start = s->rx.end = 0;
  s->rx.state = RX_HDR;
  s->rx.large_datain = 0;
  s->hdigest = s->ddigest = 0;
 out:
  if (fd >= 0)
    close (fd);
  freeaddrinfo (ai);
  return r;
}

/* Close the socket.  An abortive close (linger 0 -> RST) discards whatever
 * the kernel still holds in its send buffer: after a failure nothing we
 * queued may reach the target later, which is what lets the multipath
 * layer re-issue a write elsewhere. */
void
conn_close (struct braid_iscsi *s, int abortive)
{
  if (s->fd < 0)
    return;
  if (s->loop && s->loop_fd == s->fd) {
    braid_loop_del_fd (s->loop, s->fd);
    s->loop_fd = -1;
  }
  if (abortive) {
    struct linger l = { .l_onoff = 1, .l_linger = 0 };
    setsockopt (s->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  }
  close (s->fd);
  s->fd = -1;
  s->rx.start = s->rx.end = 0;
  s->rx.state = RX_HDR;
  s->rx.task = NULL;
}

void
conn_drop_sendq (struct braid_iscsi *s)
{
  while (s->sendq) {
    struct iscsi_pdu *p = s->sendq;
    s->sendq = p->next;
    if (p->task)
      p->task->pdus_queued--;
    pdu_free (s, p);
  }
  s->sendq_tail = NULL;
}

/* A task is completing while some of its PDUs are still queued (the target
 * answered before taking all our unsolicited data).  Its buffers belong to
 * the caller again after the callback, so: drop the PDUs not yet started,
 * and give a partly written one its own copy of the rest so the PDU stream
 * stays framed. */
void
conn_detach_task (struct braid_iscsi *s, struct braid_iscsi_task *t)
{
  struct iscsi_pdu **pp = &s->sendq, *prev = NULL;

  while (*pp && t->pdus_queued > 0) {
    struct iscsi_pdu *p = *pp;
    if (p->task != t) {
      prev = p;
      pp = &p->next;
      continue;
    }
    t->pdus_queued--;
    if (p->done == 0) {
      *pp = p->next;
      if (s->sendq_tail == p)
        s->sendq_tail = prev;
      pdu_free (s, p);
      continue;
    }
    if (p->data_len && !p->own) {
      uint8_t *copy = malloc (p->data_len);
      if (copy) {
        size_t covered;
        struct iovec v[64];
        size_t off = 0;
        while (off < p->data_len) {
          int k = iov_gather (t->iov, t->iovcnt, p->data_off + off,
                              p->data_len - off, v, 64, &covered);
          if (k <= 0)
            break;
          for (int i = 0; i < k; i++) {
            memcpy (copy + off, v[i].iov_base, v[i].iov_len);
            off += v[i].iov_len;
          }
        }
        p->own = copy;
      }
      else {
        /* No memory for the copy: the stream cannot stay framed. */
        p->task = NULL;
        sess_conn_fail (s, 0, 0, "out of memory detaching a task");
        return;
      }
    }
    p->task = NULL;
    prev = p;
    pp = &p->next;
  }
}

/* Write as much of the send queue as the socket takes.  Returns 0 (done or
 * would block) or -errno after failing the connection. */
int
conn_flush (struct braid_iscsi *s)
{
  struct iovec iov[SEND_IOV_MAX];

  while (s->sendq && s->fd >= 0 && s->state != S_CONNECTING) {
    int n = 0;
    for (struct iscsi_pdu *p = s->sendq; p && n < SEND_IOV_MAX - 4; p = p->next) {
      size_t skip = p->done;
      /* header */
      if (skip < p->hdr_len) {
        iov[n].iov_base = p->hdr + skip;
        iov[n].iov_len = p->hdr_len - skip;
        n++;
        skip = 0;
      }
      else
        skip -= p->hdr_len;
      /* data */
      if (p->data_len) {
        if (skip < p->data_len) {
          if (p->own) {
            iov[n].iov_base = p->own + skip;
            iov[n].iov_len = p->data_len - skip;
            n++;
          }
          else {
            size_t want = p->data_len - skip, covered;
            n += iov_gather (p->task->iov, p->task->iovcnt, p->data_off + skip,
                             want, iov + n, SEND_IOV_MAX - 1 - n, &covered);
            if (covered < want)
              goto send;        /* more fragments than fit: rest next round */
          }
          skip = 0;
        }
        else
          skip -= p->data_len;
      }
      if (p->trailer_len && skip < p->trailer_len) {
        iov[n].iov_base = p->trailer + skip;
        iov[n].iov_len = p->trailer_len - skip;
        n++;
      }
    }
  send:
    if (n == 0)
      break;
    struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t) n };
    ssize_t w = sendmsg (s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
      if (errno == EINTR)
        continue;
      int e = errno;
      sess_conn_fail (s, 0, 0, "send failed: %s", strerror (e));
      return -e;
    }
    size_t left = (size_t) w;
    while (left > 0 && s->sendq) {
      struct iscsi_pdu *p = s->sendq;
      size_t need = p->total - p->done;
      if (p->task)
        p->task->sent = 1;
      if (left < need) {
        p->done += left;
        left = 0;
        break;
      }
      left -= need;
      s->sendq = p->next;
      if (!s->sendq)
        s->sendq_tail = NULL;
      if (p->task)
        p->task->pdus_queued--;
      s->stats.pdus_sent++;
      pdu_free (s, p);
    }
  }
  return 0;
}

/* Copy 'len' bytes from 'src' into the Data-In cursor of task 't'. */
static void
datain_place (struct braid_iscsi_task *t, const uint8_t *src, size_t len)
{
  while (len > 0 && t->in_idx < t->iovcnt) {
    const struct iovec *v = &t->iov[t->in_idx];
    size_t room = v->iov_len - t->in_off;
    size_t take = len < room ? len : room;
    memcpy ((uint8_t *) v->iov_base + t->in_off, src, take);
    src += take;
    len -= take;
    t->in_off += take;
    if (t->in_off == v->iov_len) {
      t->in_idx++;
      t->in_off = 0;
    }
  }
}

/* Build iovecs for the next 'len' bytes at the task's Data-In cursor. */
static int
datain_iov (struct braid_iscsi_task *t, size_t len, struct iovec *out, int cap)
{
  int n = 0, idx = t->in_idx;
  size_t off = t->in_off;

  while (len > 0 && idx < t->iovcnt && n < cap) {
    size_t room = t->iov[idx].iov_len - off;
    size_t take = len < room ? len : room;
    out[n].iov_base = (uint8_t *) t->iov[idx].iov_base + off;
    out[n].iov_len = take;
    n++;
    len -= take;
    idx++;
    off = 0;
  }
  return n;
}

static void
datain_advance (struct braid_iscsi_task *t, size_t len)
{
  while (len > 0 && t->in_idx < t->iovcnt) {
    size_t room = t->iov[t->in_idx].iov_len - t->in_off;
    size_t take = len < room ? len : room;
    t->in_off += take;
    len -= take;
    if (t->in_off == t->iov[t->in_idx].iov_len) {
      t->in_idx++;
      t->in_off = 0;
    }
  }
}

static uint32_t
rx_max_data (const struct braid_iscsi *s)
{
  if (s->state == S_FFP || s->state == S_LOGOUT)
    return s->nego.max_recv_data_segment_length;
  return LOGIN_MAX_DATA;
}

/* Dispatch one complete non-streamed PDU. */
static int
rx_dispatch (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
             uint32_t dlen)
{
  if (s->state == S_LOGIN)
    return login_rx (s, bhs, data, dlen);
  return ffp_rx (s, bhs, data, dlen);
}

static int
digest_ok (const uint8_t *data, uint32_t len, const uint8_t *wire)
{
  uint32_t crc = braid_crc32c (0, data, len);
  uint32_t got = (uint32_t) wire[0] | (uint32_t) wire[1] << 8
                 | (uint32_t) wire[2] << 16 | (uint32_t) wire[3] << 24;
  return crc == got;
}

/* Cut PDUs out of the receive buffer.  Returns 0, or -errno after failing
 * the connection (the caller must stop touching the session's rx state). */
static int
rx_process (struct braid_iscsi *s)
{
  struct iscsi_rx *rx = &s->rx;

  for (;;) {
    size_t avail = rx->end - rx->start;
    uint8_t *p = rx->buf + rx->start;

    if (rx->state == RX_HDR) {
      if (avail < BHS_LEN)
        return 0;
      uint32_t ahs = (uint32_t) p[4] * 4;
      uint32_t hd = s->hdigest ? 4 : 0;
      rx->hdr_total = BHS_LEN + ahs + hd;
      if (avail < rx->hdr_total)
        return 0;
      if (hd && !digest_ok (p, BHS_LEN + ahs, p + BHS_LEN + ahs)) {
        sess_conn_fail (s, 0, 0, "header digest error (opcode 0x%02x)",
                        p[0] & 0x3f);
        return -EIO;
      }
      memcpy (rx->hdr, p, BHS_LEN);
      rx->dlen = get24 (p + 5);
      if (rx->dlen > rx_max_data (s)) {
        sess_conn_fail (s, 0, 0,
                        "protocol error: DataSegmentLength %u over the %u "
                        "we declared (opcode 0x%02x)", rx->dlen,
                        rx_max_data (s), p[0] & 0x3f);
        return -EPROTO;
      }
      uint32_t pad = (4 - (rx->dlen & 3)) & 3;
      uint32_t dd = (s->ddigest && rx->dlen) ? 4 : 0;
      rx->seg_total = rx->dlen + pad + dd;
      rx->start += rx->hdr_total;
      s->last_rx_ns = braid_now_ns ();
      s->stats.pdus_received++;
      if ((rx->hdr[0] & 0x3f) == OP_DATA_IN && rx->dlen > 0
          && s->state != S_LOGIN) {
        struct braid_iscsi_task *t = NULL;
        int r = ffp_datain_begin (s, rx->hdr, rx->dlen, &t);
        if (r < 0)
          return r;
        rx->task = t;
        rx->remaining = rx->dlen;
        rx->skip = pad + dd;
        rx->crc = 0;
        rx->state = RX_DATAIN;
        rx->large_datain = rx->dlen >= RX_LARGE_DATAIN;
        continue;
      }
      rx->state = RX_DATA;
      continue;
    }

    if (rx->state == RX_DATA) {
      if (avail < rx->seg_total) {
        /* Make room for the whole segment if it cannot fit after start. */
        if (rx->start + rx->seg_total > rx->cap) {
          memmove (rx->buf, p, avail);
          rx->start = 0;
          rx->end = avail;
        }
        return 0;
      }
      if (s->ddigest && rx->dlen) {
        uint32_t pad = (4 - (rx->dlen & 3)) & 3;
        if (!digest_ok (p, rx->dlen + pad, p + rx->dlen + pad)) {
          sess_conn_fail (s, 0, 0, "data digest error (opcode 0x%02x)",
                          rx->hdr[0] & 0x3f);
          return -EIO;
        }
      }
      rx->start += rx->seg_total;
      rx->state = RX_HDR;
      uint8_t bhs[BHS_LEN];
      memcpy (bhs, rx->hdr, BHS_LEN);
      int r = rx_dispatch (s, bhs, p, rx->dlen);
      if (r < 0 || s->fd < 0)
        return r < 0 ? r : -ECONNRESET;
      continue;
    }

    /* RX_DATAIN: place payload bytes, then swallow pad + digest. */
    if (rx->remaining > 0) {
      if (avail == 0)
        return 0;
      size_t take = avail < rx->remaining ? avail : rx->remaining;
      if (rx->task)
        datain_place (rx->task, p, take);
      if (s->ddigest)
        rx->crc = braid_crc32c (rx->crc, p, take);
      rx->start += take;
      rx->remaining -= (uint32_t) take;
      continue;
    }
    if (avail < rx->skip)
      return 0;
    if (s->ddigest) {
      uint32_t pad = (4 - (rx->dlen & 3)) & 3;
      rx->crc = braid_crc32c (rx->crc, p, pad);
      uint32_t got = (uint32_t) p[pad] | (uint32_t) p[pad + 1] << 8
                     | (uint32_t) p[pad + 2] << 16 | (uint32_t) p[pad + 3] << 24;
      if (got != rx->crc) {
        sess_conn_fail (s, 0, 0, "data digest error on Data-In (ITT 0x%08x)",
                        get32 (rx->hdr + 16));
        return -EIO;
      }
    }
    rx->start += rx->skip;
    rx->state = RX_HDR;
    struct braid_iscsi_task *t = rx->task;
    rx->task = NULL;
    uint8_t bhs[BHS_LEN];
    memcpy (bhs, rx->hdr, BHS_LEN);
    int r = ffp_datain_end (s, bhs, t, rx->dlen);
    if (r < 0 || s->fd < 0)
      return r < 0 ? r : -ECONNRESET;
  }
}

/* Read what the socket has.  Returns 0, or -errno after failing the
 * connection. */
int
conn_read (struct braid_iscsi *s)
{
  struct iscsi_rx *rx = &s->rx;

  for (int round = 0; round < READS_PER_SERVICE && s->fd >= 0; round++) {
    ssize_t n;

    /* Large Data-In remainder and an empty buffer: read into place. */
    if (rx->state == RX_DATAIN && rx->task && rx->start == rx->end
        && rx->remaining >= RX_DIRECT_MIN) {
      struct iovec v[16];
      int k = datain_iov (rx->task, rx->remaining, v, 16);
      if (k <= 0)
        goto buffered;
      n = readv (s->fd, v, k);
      size_t asked = 0;
      for (int i = 0; i < k; i++)
        asked += v[i].iov_len;
      if (n > 0) {
        if (s->ddigest) {
          size_t left = (size_t) n;
          for (int i = 0; i < k && left; i++) {
            size_t c = v[i].iov_len < left ? v[i].iov_len : left;
            rx->crc = braid_crc32c (rx->crc, v[i].iov_base, c);
            left -= c;
          }
        }
        datain_advance (rx->task, (size_t) n);
        rx->remaining -= (uint32_t) n;
        s->last_rx_ns = braid_now_ns ();
        /* The payload may be complete now: finish the PDU (its padding
         * and digest, its status) without waiting for more bytes. */
        int r = rx_process (s);
        if (r < 0)
          return r;
        /* A short read emptied the socket: the loop's poll, not another
         * recv that would only say EAGAIN, tells when more arrives. */
        if ((size_t) n < asked)
          return 0;
        continue;
      }
    }
    else {
    buffered:
      if (rx->start == rx->end)
        rx->start = rx->end = 0;
      else if (rx->cap - rx->end < 4096) {
        memmove (rx->buf, rx->buf + rx->start, rx->end - rx->start);
        rx->end -= rx->start;
        rx->start = 0;
      }
      /* After large Data-In PDUs, look for the next header with a small
       * read: what follows it is read straight into the caller's buffer
       * instead of being copied out of ours.  Small PDUs (4 KiB reads)
       * keep the big reads that batch many PDUs per syscall. */
      size_t want = rx->cap - rx->end;
      if (rx->large_datain && rx->state == RX_HDR && want > RX_HDR_PROBE)
        want = RX_HDR_PROBE;
      n = recv (s->fd, rx->buf + rx->end, want, 0);
      if (n > 0) {
        rx->end += (size_t) n;
        int r = rx_process (s);
        if (r < 0)
          return r;
        if ((size_t) n < want)
          return 0;
        continue;
      }
    }
    if (n == 0) {
      sess_conn_fail (s, 0, 0, "connection closed by the target");
      return -ECONNRESET;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return 0;
    if (errno == EINTR)
      continue;
    int e = errno;
    sess_conn_fail (s, 0, 0, "receive failed: %s", strerror (e));
    return -e;
  }
  return 0;
}
