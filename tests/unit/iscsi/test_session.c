/* test_session.c: the initiator against a scripted target on a socketpair.
 *
 * The test plays the target byte by byte with its own PDU encoder and
 * decoder (independent of the library's), so every field the initiator
 * writes is checked against RFC 7143 and every response path is driven
 * deliberately: login with a volunteered key (the extra round tgtd forces),
 * Data-In with status, immediate data + R2T + Data-Out, the CmdSN window,
 * sense data, target NOP-In pings, Reject, and the protocol errors that
 * must fail the connection (StatSN jump, unknown ITT, unknown opcode, bad
 * header digest) while handing every command back with a transport status.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include "iscsi/internal.h"
#include "util/crc32c.h"

/***** The scripted target's own PDU codec *****/

struct peer {
  int fd;
  uint8_t buf[1 << 20];
  size_t len;
  int hdigest, ddigest;
  uint32_t statsn, expcmdsn, maxcmdsn;
};

static uint32_t
be32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

static void
wr32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24); p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8); p[3] = (uint8_t) v;
}

static void
le32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) v; p[1] = (uint8_t) (v >> 8);
  p[2] = (uint8_t) (v >> 16); p[3] = (uint8_t) (v >> 24);
}

/* Pull one PDU the initiator sent.  Returns 1 and fills bhs/data, or 0 if
 * no complete PDU is waiting. */
static int
peer_get (struct peer *p, uint8_t *bhs, uint8_t *data, uint32_t *dlen)
{
  for (;;) {
    ssize_t n = read (p->fd, p->buf + p->len, sizeof p->buf - p->len);
    if (n <= 0)
      break;
    p->len += (size_t) n;
  }
  if (p->len < 48)
    return 0;
  uint32_t ahs = p->buf[4] * 4u;
  uint32_t hl = 48 + ahs + (p->hdigest ? 4 : 0);
  uint32_t dl = (uint32_t) p->buf[5] << 16 | (uint32_t) p->buf[6] << 8 | p->buf[7];
  uint32_t seg = ((dl + 3) & ~3u) + (p->ddigest && dl ? 4 : 0);
  if (p->len < hl + seg)
    return 0;
  if (p->hdigest) {
    uint32_t c = braid_crc32c (0, p->buf, 48 + ahs);
    uint8_t w[4];
    le32 (w, c);
    assert_memory_equal (w, p->buf + 48 + ahs, 4);
  }
  if (p->ddigest && dl) {
    uint32_t c = braid_crc32c (0, p->buf + hl, (dl + 3) & ~3u);
    uint8_t w[4];
    le32 (w, c);
    assert_memory_equal (w, p->buf + hl + ((dl + 3) & ~3u), 4);
  }
  memcpy (bhs, p->buf, 48);
  if (data)
    memcpy (data, p->buf + hl, dl);
  *dlen = dl;
  memmove (p->buf, p->buf + hl + seg, p->len - hl - seg);
  p->len -= hl + seg;
  return 1;
}

static void
peer_send (struct peer *p, uint8_t *bhs, const void *data, uint32_t dlen)
{
  uint8_t out[70000];
  size_t o = 0;
  bhs[5] = (uint8_t) (dlen >> 16);
  bhs[6] = (uint8_t) (dlen >> 8);
  bhs[7] = (uint8_t) dlen;
  memcpy (out, bhs, 48);
  o = 48;
  if (p->hdigest) {
    le32 (out + o, braid_crc32c (0, bhs, 48));
    o += 4;
  }
  if (dlen) {
    memcpy (out + o, data, dlen);
    uint32_t padded = (dlen + 3) & ~3u;
    memset (out + o + dlen, 0, padded - dlen);
    if (p->ddigest) {
      le32 (out + o + padded, braid_crc32c (0, out + o, padded));
      padded += 4;
    }
    o += padded;
  }
  assert_int_equal (write (p->fd, out, o), (ssize_t) o);
}

/* Status fields every target response carries. */
static void
peer_sn (struct peer *p, uint8_t *bhs, int consume)
{
  wr32 (bhs + 24, p->statsn);
  if (consume)
    p->statsn++;
  wr32 (bhs + 28, p->expcmdsn);
  wr32 (bhs + 32, p->maxcmdsn);
}

/***** Test fixture *****/

struct fx {
  struct braid_iscsi *s;
  struct peer peer;
  int connected;
  int events[16];
  int nevents;
};

static void
on_event (struct braid_iscsi *s, int ev, void *d, void *opaque)
{
  struct fx *f = opaque;
  (void) s;
  (void) d;
  if (f->nevents < 16)
    f->events[f->nevents++] = ev;
}

static void
on_connect (struct braid_iscsi *s, int st, void *d, void *opaque)
{
  (void) s;
  (void) d;
  ((struct fx *) opaque)->connected = st == BRAID_STATUS_GOOD ? 1 : -1;
}

static void
pump (struct fx *f)
{
  braid_iscsi_service (f->s, POLLIN | POLLOUT);
}

/* Check the keys of a login request contain "key=value". */
static int
has_key (const uint8_t *data, uint32_t dlen, const char *kv)
{
  for (uint32_t i = 0; i < dlen; i += (uint32_t) strlen ((const char *) data + i) + 1)
    if (strcmp ((const char *) data + i, kv) == 0)
      return 1;
  return 0;
}

static void
send_login_rsp (struct fx *f, const uint8_t *req, int transit, int csg, int nsg,
                const char *keys, size_t klen, uint16_t tsih)
{
  uint8_t h[48] = { 0 };
  h[0] = OP_LOGIN_RSP;
  h[1] = (uint8_t) ((transit ? 0x80 : 0) | csg << 2 | (transit ? nsg : 0));
  memcpy (h + 8, req + 8, 6);
  h[14] = (uint8_t) (tsih >> 8);
  h[15] = (uint8_t) tsih;
  memcpy (h + 16, req + 16, 4);
  peer_sn (&f->peer, h, 1);
  peer_send (&f->peer, h, keys, (uint32_t) klen);
}

/* Start a login by hand (TCP "connected") and take its first request. */
static void
first_login_request (struct fx *f, uint8_t *bhs, uint8_t *data, uint32_t *dlen)
{
  f->s->state = S_CONNECTING;
  f->s->connect_cb = on_connect;
  f->s->connect_opaque = f;
  braid_iscsi_service (f->s, POLLOUT);
  assert_true (peer_get (&f->peer, bhs, data, dlen));
}

/* Log in through both stages; the target volunteers MaxRecvDataSegmentLength
 * and InitialR2T in a first T=0 operational answer. */
static void
login (struct fx *f, uint32_t target_mrdsl, int window)
{
  uint8_t bhs[48], data[8192];
  uint32_t dlen;

  first_login_request (f, bhs, data, &dlen);
  assert_int_equal (bhs[0], 0x43);          /* immediate Login Request */
  assert_int_equal (bhs[1], 0x81);          /* T=1 CSG=0 NSG=1 */
  assert_int_equal (bhs[14] | bhs[15], 0);  /* TSIH 0 */
  assert_int_equal (bhs[8] & 0xc0, 0x80);   /* random-format ISID */
  assert_true (has_key (data, dlen, "InitiatorName=iqn.2026-11.dev.braid:unit"));
  assert_true (has_key (data, dlen, "SessionType=Normal"));
  assert_true (has_key (data, dlen, "TargetName=iqn.2026-11.dev.braid:t"));
  assert_true (has_key (data, dlen, "AuthMethod=None"));
  static const char k1[] = "AuthMethod=None\0TargetPortalGroupTag=1";
  send_login_rsp (f, bhs, 1, 0, 1, k1, sizeof k1, 0);
  pump (f);

  assert_true (peer_get (&f->peer, bhs, data, &dlen));
  assert_int_equal (bhs[1], 0x87);          /* T=1 CSG=1 NSG=3 */
  assert_true (has_key (data, dlen, "ErrorRecoveryLevel=0"));
  assert_true (has_key (data, dlen, "MaxRecvDataSegmentLength=262144"));
  /* Answer part of it with T=0 and volunteer keys: another round is due. */
  char k2[512];
  int n = snprintf (k2, sizeof k2, "HeaderDigest=None%cDataDigest=None%c"
                    "ImmediateData=Yes%cMaxBurstLength=262144%cFirstBurstLength=65536%c"
                    "MaxOutstandingR2T=1%cErrorRecoveryLevel=0%cDefaultTime2Wait=2%c"
                    "DefaultTime2Retain=0%cMaxConnections=1%cDataPDUInOrder=Yes%c"
                    "DataSequenceInOrder=Yes%cInitialR2T=Yes%cMaxRecvDataSegmentLength=%u",
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, target_mrdsl);
  send_login_rsp (f, bhs, 0, 1, 0, k2, (size_t) n + 1, 0);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, data, &dlen));
  assert_int_equal (bhs[1], 0x87);
  f->peer.expcmdsn = be32 (bhs + 24);
  f->peer.maxcmdsn = f->peer.expcmdsn + (uint32_t) window - 1;
  send_login_rsp (f, bhs, 1, 1, 3, NULL, 0, 0x1234);
  pump (f);
  if (f->connected != 1)
    fprintf (stderr, "login failed: %s\n", braid_iscsi_get_error (f->s));
  assert_int_equal (f->connected, 1);
  assert_true (braid_iscsi_is_logged_in (f->s));
  const struct braid_iscsi_negotiated *ng = braid_iscsi_get_negotiated (f->s);
  assert_int_equal (ng->tsih, 0x1234);
  assert_int_equal (ng->max_xmit_data_segment_length, target_mrdsl);
  assert_int_equal (ng->initial_r2t, 1);
  assert_int_equal (ng->first_burst_length, 65536);
  assert_int_equal (ng->max_outstanding_r2t, 1);
  assert_int_equal (ng->tpgt, 1);
}

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  int sv[2];
  assert_int_equal (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  int big = 4 << 20;
  setsockopt (sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt (sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  f->s = braid_iscsi_new ("iqn.2026-11.dev.braid:unit");
  assert_non_null (f->s);
  struct braid_iscsi_opts o;
  braid_iscsi_opts_init (&o);
  o.reconnect = 0;
  o.header_digest = BRAID_DIGEST_NONE;
  assert_int_equal (braid_iscsi_set_opts (f->s, &o), 0);
  assert_int_equal (braid_iscsi_set_portal (f->s, "127.0.0.1:3260"), 0);
  assert_int_equal (braid_iscsi_set_target (f->s, "iqn.2026-11.dev.braid:t"), 0);
  braid_iscsi_set_event_cb (f->s, on_event, f);
  f->s->fd = sv[0];
  f->peer.fd = sv[1];
  f->peer.statsn = 100;
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  braid_iscsi_free (f->s);
  close (f->peer.fd);
  free (f);
  return 0;
}

struct done {
  int n;
  int status;
  struct braid_scsi_result r;
  uint8_t sense[64];
};

static void
on_done (struct braid_iscsi *s, int status, void *data, void *opaque)
{
  struct done *d = opaque;
  (void) s;
  d->n++;
  d->status = status;
  if (data) {
    d->r = *(struct braid_scsi_result *) data;
    if (d->r.sense_len && d->r.sense_len <= sizeof d->sense)
      memcpy (d->sense, d->r.sense, d->r.sense_len);
  }
}

static void
submit (struct fx *f, int dir, void *buf, uint32_t len, struct done *d)
{
  static uint8_t cdb[16] = { 0x88 };
  static struct iovec iov[4];
  static int k;
  struct iovec *v = &iov[k++ % 4];
  v->iov_base = buf;
  v->iov_len = len;
  struct braid_scsi_cmd c = { .lun = 1, .cdb = cdb, .cdb_len = 16, .dir = dir,
                              .iov = v, .iovcnt = 1, .xfer_len = len };
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, d, NULL), 0);
}

/***** Tests *****/

static void
test_login_rounds (void **state)
{
  login (*state, 8192, 16);
}

static void
test_read_datain (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[16384], payload[8192];
  uint32_t dlen;
  struct done d = { 0 };

  login (f, 8192, 16);
  submit (f, BRAID_DIR_READ, buf, sizeof buf, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  assert_int_equal (bhs[0], OP_SCSI_CMD);   /* non-immediate */
  assert_int_equal (bhs[1], 0x80 | 0x40 | 1); /* F, R, simple */
  assert_int_equal (bhs[9], 1);             /* LUN 1 */
  assert_int_equal (be32 (bhs + 20), sizeof buf);
  assert_int_equal (be32 (bhs + 24), f->peer.expcmdsn);
  assert_int_equal (be32 (bhs + 28), f->peer.statsn);  /* ExpStatSN */
  assert_int_equal (bhs[32], 0x88);
  f->peer.expcmdsn++;
  f->peer.maxcmdsn++;
  for (int i = 0; i < 2; i++) {
    uint8_t h[48] = { 0 };
    memset (payload, 'a' + i, sizeof payload);
    h[0] = OP_DATA_IN;
    h[1] = i == 1 ? 0x81 : 0;               /* last: F + S */
    memcpy (h + 16, bhs + 16, 4);
    wr32 (h + 20, 0xffffffff);
    peer_sn (&f->peer, h, i == 1);
    wr32 (h + 36, (uint32_t) i);            /* DataSN */
    wr32 (h + 40, (uint32_t) i * 8192);     /* offset */
    peer_send (&f->peer, h, payload, sizeof payload);
  }
  pump (f);
  assert_int_equal (d.n, 1);
  assert_int_equal (d.status, BRAID_STATUS_GOOD);
  assert_int_equal (d.r.data_transferred, 16384);
  assert_int_equal (buf[0], 'a');
  assert_int_equal (buf[8191], 'a');
  assert_int_equal (buf[8192], 'b');
  assert_int_equal (buf[16383], 'b');
}


/* A large Data-In whose payload arrives after its header, in pieces: the
 * payload goes straight into the caller's buffer (the direct-read path),
 * and the command completes as soon as its last byte is in, even when
 * nothing else ever follows on the socket (queue depth 1). */
static void
test_read_datain_split (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48];
  uint32_t dlen, len = 200000;
  uint8_t *buf = calloc (1, len), *payload = malloc (len);
  struct done d = { 0 };

  login (f, 8192, 16);
  submit (f, BRAID_DIR_READ, buf, len, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  for (uint32_t i = 0; i < len; i++)
    payload[i] = (uint8_t) (i * 31 + 7);
  uint8_t h[48] = { 0 };
  h[0] = OP_DATA_IN;
  h[1] = 0x81;
  memcpy (h + 16, bhs + 16, 4);
  wr32 (h + 20, 0xffffffff);
  peer_sn (&f->peer, h, 1);
  h[5] = (uint8_t) (len >> 16);
  h[6] = (uint8_t) (len >> 8);
  h[7] = (uint8_t) len;
  /* header and a few bytes, then the rest in two pieces */
  assert_int_equal (write (f->peer.fd, h, 48), 48);
  assert_int_equal (write (f->peer.fd, payload, 100), 100);
  pump (f);
  assert_int_equal (d.n, 0);
  assert_int_equal (write (f->peer.fd, payload + 100, 50000), 50000);
  pump (f);
  assert_int_equal (d.n, 0);
  assert_int_equal (write (f->peer.fd, payload + 50100, len - 50100),
                    (ssize_t) (len - 50100));
  pump (f);
  assert_int_equal (d.n, 1);
  assert_int_equal (d.status, BRAID_STATUS_GOOD);
  assert_int_equal (d.r.data_transferred, len);
  assert_memory_equal (buf, payload, len);
  free (buf);
  free (payload);
}

static void
test_write_immediate_r2t (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], data[70000], *buf = malloc (20000);
  uint32_t dlen;
  struct done d = { 0 };

  login (f, 8192, 16);
  for (int i = 0; i < 20000; i++)
    buf[i] = (uint8_t) (i * 13);
  submit (f, BRAID_DIR_WRITE, buf, 20000, &d);
  pump (f);
  /* Command with 8192 bytes of immediate data (capped by the target's
   * MaxRecvDataSegmentLength), F set: InitialR2T=Yes, no unsolicited PDUs. */
  assert_true (peer_get (&f->peer, bhs, data, &dlen));
  assert_int_equal (bhs[0], OP_SCSI_CMD);
  assert_int_equal (bhs[1], 0x80 | 0x20 | 1);
  assert_int_equal (dlen, 8192);
  assert_memory_equal (data, buf, 8192);
  uint8_t extra[48];
  assert_false (peer_get (&f->peer, extra, data, &dlen));  /* nothing unsolicited */
  f->peer.expcmdsn++;
  f->peer.maxcmdsn++;
  /* R2T for the rest. */
  uint8_t h[48] = { 0 };
  h[0] = OP_R2T;
  h[1] = 0x80;
  memcpy (h + 16, bhs + 16, 4);
  wr32 (h + 20, 0x55);                      /* TTT */
  peer_sn (&f->peer, h, 0);
  wr32 (h + 36, 0);                         /* R2TSN */
  wr32 (h + 40, 8192);
  wr32 (h + 44, 20000 - 8192);
  peer_send (&f->peer, h, NULL, 0);
  pump (f);
  uint32_t got = 0, sn = 0;
  uint8_t dh[48];
  while (peer_get (&f->peer, dh, data, &dlen)) {
    assert_int_equal (dh[0], OP_DATA_OUT);
    assert_int_equal (be32 (dh + 20), 0x55);
    assert_int_equal (be32 (dh + 36), sn++);
    assert_int_equal (be32 (dh + 40), 8192 + got);
    assert_true (dlen <= 8192);
    assert_memory_equal (data, buf + 8192 + got, dlen);
    got += dlen;
    if (dh[1] & 0x80)
      break;
  }
  assert_int_equal (got, 20000 - 8192);
  assert_int_equal (sn, 2);
  /* Good status. */
  uint8_t r[48] = { 0 };
  r[0] = OP_SCSI_RSP;
  r[1] = 0x80;
  memcpy (r + 16, bhs + 16, 4);
  peer_sn (&f->peer, r, 1);
  peer_send (&f->peer, r, NULL, 0);
  pump (f);
  assert_int_equal (d.n, 1);
  assert_int_equal (d.status, BRAID_STATUS_GOOD);
  free (buf);
}

static void
test_window_queues (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[512];
  uint32_t dlen;
  struct done d[3] = { { 0 } };

  login (f, 8192, 1);                       /* room for one command */
  for (int i = 0; i < 3; i++)
    submit (f, BRAID_DIR_READ, buf, sizeof buf, &d[i]);
  pump (f);
  for (int i = 0; i < 3; i++) {
    assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
    uint8_t extra[48];
    assert_false (peer_get (&f->peer, extra, NULL, &dlen));  /* window closed */
    assert_int_equal (be32 (bhs + 24), f->peer.expcmdsn);
    assert_int_equal (braid_iscsi_queue_length (f->s), 3u - (unsigned) i);
    f->peer.expcmdsn++;
    f->peer.maxcmdsn++;
    uint8_t r[48] = { 0 };
    r[0] = OP_SCSI_RSP;
    r[1] = 0x80;
    memcpy (r + 16, bhs + 16, 4);
    peer_sn (&f->peer, r, 1);
    peer_send (&f->peer, r, NULL, 0);
    pump (f);
    assert_int_equal (d[i].n, 1);
  }
  struct braid_iscsi_stats st;
  braid_iscsi_get_stats (f->s, &st);
  assert_true (st.window_waits > 0);
  assert_int_equal (st.max_in_flight, 1);
}

static void
test_sense_and_residual (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[4096];
  uint32_t dlen;
  struct done d = { 0 };

  login (f, 8192, 16);
  submit (f, BRAID_DIR_READ, buf, sizeof buf, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  uint8_t r[48] = { 0 }, seg[2 + 18] = { 0, 18 };
  seg[2] = 0x70;
  seg[2 + 2] = 0x06;                        /* UNIT ATTENTION */
  seg[2 + 7] = 10;
  seg[2 + 12] = 0x29;
  seg[2 + 13] = 0x00;
  r[0] = OP_SCSI_RSP;
  r[1] = 0x80 | 0x02;                       /* underflow */
  r[3] = 0x02;                              /* CHECK CONDITION */
  memcpy (r + 16, bhs + 16, 4);
  peer_sn (&f->peer, r, 1);
  wr32 (r + 44, 4096);
  peer_send (&f->peer, r, seg, sizeof seg);
  pump (f);
  assert_int_equal (d.n, 1);
  assert_int_equal (d.status, BRAID_STATUS_CHECK_CONDITION);
  assert_int_equal (d.r.sense_key, 6);
  assert_int_equal (d.r.asc, 0x29);
  assert_int_equal (d.r.sense_len, 18);
  assert_true (d.r.residual_underflow);
  assert_int_equal (d.r.residual, 4096);
}

static void
test_target_ping_answered (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], data[16];
  uint32_t dlen;

  login (f, 8192, 16);
  uint8_t h[48] = { 0 };
  h[0] = OP_NOP_IN;
  h[1] = 0x80;
  h[9] = 3;                                 /* LUN */
  wr32 (h + 16, 0xffffffff);
  wr32 (h + 20, 0x77);                      /* TTT: reply wanted */
  peer_sn (&f->peer, h, 0);
  peer_send (&f->peer, h, "ping", 4);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, data, &dlen));
  assert_int_equal (bhs[0], 0x40 | OP_NOP_OUT);
  assert_int_equal (be32 (bhs + 16), 0xffffffff);
  assert_int_equal (be32 (bhs + 20), 0x77);
  assert_int_equal (bhs[9], 3);
  assert_int_equal (dlen, 4);
  assert_memory_equal (data, "ping", 4);
}

/* A target PDU that breaks the rules fails the connection: every command
 * comes back with a transport status and nothing else is touched. */
static void
protocol_error (void **state, int kind)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[4096];
  uint32_t dlen;
  struct done d = { 0 };

  login (f, 8192, 16);
  submit (f, BRAID_DIR_READ, buf, sizeof buf, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  uint8_t r[48] = { 0 };
  r[0] = OP_SCSI_RSP;
  r[1] = 0x80;
  memcpy (r + 16, bhs + 16, 4);
  peer_sn (&f->peer, r, 1);
  switch (kind) {
  case 0: wr32 (r + 24, f->peer.statsn + 5); break;    /* StatSN jump */
  case 1: wr32 (r + 16, 0x4242); break;                /* unknown ITT */
  case 2: r[0] = 0x3a; break;                          /* unknown opcode */
  case 3: {                                            /* Data-In past EDTL */
    r[0] = OP_DATA_IN;
    r[1] = 0;
    wr32 (r + 40, 4000);
    uint8_t big[200] = { 0 };
    peer_send (&f->peer, r, big, sizeof big);
    goto sent;
  }
  case 4:                                              /* oversized segment */
    r[0] = OP_NOP_IN;
    wr32 (r + 16, 0xffffffff);
    wr32 (r + 20, 0xffffffff);
    r[5] = 0x7f;
    assert_int_equal (write (f->peer.fd, r, 48), 48);
    goto sent;
  }
  peer_send (&f->peer, r, NULL, 0);
 sent:
  pump (f);
  assert_int_equal (d.n, 1);
  assert_int_equal (d.status, BRAID_STATUS_TRANSPORT);
  assert_true (d.r.maybe_delivered);
  assert_false (braid_iscsi_is_logged_in (f->s));
  assert_int_equal (braid_iscsi_get_fd (f->s), -1);
  assert_true (strlen (braid_iscsi_get_error (f->s)) > 0);
  int saw_fail = 0;
  for (int i = 0; i < f->nevents; i++)
    saw_fail |= f->events[i] == BRAID_ISCSI_EV_CONN_FAILED;
  assert_true (saw_fail);
  f->s->fd = -1;                            /* the socketpair end is closed */
}

static void test_statsn_jump (void **state) { protocol_error (state, 0); }
static void test_unknown_itt (void **state) { protocol_error (state, 1); }
static void test_unknown_opcode (void **state) { protocol_error (state, 2); }
static void test_datain_overflow (void **state) { protocol_error (state, 3); }
static void test_oversized_segment (void **state) { protocol_error (state, 4); }

static void
test_header_digest (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[512];
  uint32_t dlen;
  struct done d = { 0 }, d2 = { 0 };

  login (f, 8192, 16);
  memset (buf, 0x3c, sizeof buf);
  /* Pretend both digests were negotiated. */
  f->s->hdigest = f->s->ddigest = 1;
  f->peer.hdigest = f->peer.ddigest = 1;
  submit (f, BRAID_DIR_WRITE, buf, sizeof buf, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));   /* digests checked */
  uint8_t r[48] = { 0 };
  r[0] = OP_SCSI_RSP;
  r[1] = 0x80;
  memcpy (r + 16, bhs + 16, 4);
  peer_sn (&f->peer, r, 1);
  peer_send (&f->peer, r, NULL, 0);
  pump (f);
  assert_int_equal (d.status, BRAID_STATUS_GOOD);
  /* Now a response with a corrupted header digest. */
  submit (f, BRAID_DIR_READ, buf, sizeof buf, &d2);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  memset (r, 0, sizeof r);
  r[0] = OP_SCSI_RSP;
  r[1] = 0x80;
  memcpy (r + 16, bhs + 16, 4);
  peer_sn (&f->peer, r, 1);
  uint8_t raw[52];
  memcpy (raw, r, 48);
  le32 (raw + 48, braid_crc32c (0, r, 48) ^ 1);
  assert_int_equal (write (f->peer.fd, raw, sizeof raw), (ssize_t) sizeof raw);
  pump (f);
  assert_int_equal (d2.status, BRAID_STATUS_TRANSPORT);
  assert_non_null (strstr (braid_iscsi_get_error (f->s), "digest"));
  f->s->fd = -1;
}

static void
test_reject_fails_one_task (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[512];
  uint32_t dlen;
  struct done d = { 0 };

  login (f, 8192, 16);
  submit (f, BRAID_DIR_READ, buf, sizeof buf, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  uint8_t r[48] = { 0 };
  r[0] = OP_REJECT;
  r[1] = 0x80;
  r[2] = 0x05;                              /* command not supported */
  wr32 (r + 16, 0xffffffff);
  peer_sn (&f->peer, r, 1);
  peer_send (&f->peer, r, bhs, 48);
  pump (f);
  assert_int_equal (d.n, 1);
  assert_int_equal (d.status, BRAID_STATUS_ERROR);
  assert_true (braid_iscsi_is_logged_in (f->s));
}

static void
test_bad_commands_refused (void **state)
{
  struct fx *f = *state;
  uint8_t buf[16], cdb[16] = { 0 };
  struct iovec v = { buf, sizeof buf };
  struct braid_scsi_cmd c = { .lun = 1, .cdb = cdb, .cdb_len = 16,
                              .dir = BRAID_DIR_READ, .iov = &v, .iovcnt = 1,
                              .xfer_len = 4096 };
  /* Not logged in yet. */
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, NULL, NULL), -ENOTCONN);
  login (f, 8192, 16);
  /* Buffers smaller than the transfer. */
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, NULL, NULL), -EINVAL);
  c.xfer_len = 16;
  c.cdb_len = 0;
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, NULL, NULL), -EINVAL);
  c.cdb_len = 16;
  c.lun = 20000;
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, NULL, NULL), -EINVAL);
}


/* A TCP listener on 127.0.0.1 for tests where the session must really
 * connect (redirection, reinstatement).  Returns the fd; '*port' set. */
static int
listener (unsigned *port)
{
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof a;
  int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  assert_true (fd >= 0);
  assert_int_equal (bind (fd, (struct sockaddr *) &a, sizeof a), 0);
  assert_int_equal (listen (fd, 4), 0);
  assert_int_equal (getsockname (fd, (struct sockaddr *) &a, &len), 0);
  *port = ntohs (a.sin_port);
  return fd;
}

/* Service the session until the listener has a connection (bounded). */
static int
accept_from (struct fx *f, int lfd)
{
  for (int i = 0; i < 500; i++) {
    struct pollfd p = { .fd = braid_iscsi_get_fd (f->s),
                        .events = (short) braid_iscsi_which_events (f->s) };
    int n = poll (p.fd >= 0 ? &p : NULL, p.fd >= 0 ? 1 : 0, 10);
    braid_iscsi_service (f->s, n > 0 ? (unsigned) p.revents : 0);
    int c = accept4 (lfd, NULL, NULL, SOCK_NONBLOCK);
    if (c >= 0) {
      /* let the session see the connect complete and send its login */
      for (int k = 0; k < 50; k++) {
        struct pollfd q = { .fd = braid_iscsi_get_fd (f->s), .events = POLLOUT };
        n = poll (&q, 1, 10);
        braid_iscsi_service (f->s, n > 0 ? (unsigned) q.revents : 0);
        if (f->s->state == S_LOGIN)
          break;
      }
      return c;
    }
  }
  fail_msg ("the session never connected to the listener");
  return -1;
}

static void
set_fast_recovery (struct fx *f)
{
  struct braid_iscsi_opts o;
  braid_iscsi_opts_init (&o);
  o.header_digest = BRAID_DIGEST_NONE;
  o.reconnect = 1;
  o.reconnect_min_ms = 10;
  o.reconnect_max_ms = 20;
  o.default_time2wait = 0;
  assert_int_equal (braid_iscsi_set_opts (f->s, &o), 0);
}

/* After a failure the session logs in again with the same ISID and TSIH 0
 * (session reinstatement, RFC 7143 §6.3.5). */
static void
test_reinstatement_same_isid (void **state)
{
  struct fx *f = *state;
  unsigned port;
  char portal[64];
  uint8_t bhs[48], data[8192], isid[6];
  uint32_t dlen;
  int lfd = listener (&port);

  snprintf (portal, sizeof portal, "127.0.0.1:%u", port);
  assert_int_equal (braid_iscsi_set_portal (f->s, portal), 0);
  set_fast_recovery (f);
  login (f, 8192, 16);
  memcpy (isid, f->s->isid, 6);
  /* Kill the connection from the target side. */
  close (f->peer.fd);
  pump (f);
  assert_false (braid_iscsi_is_logged_in (f->s));
  f->peer.fd = accept_from (f, lfd);
  f->peer.len = 0;
  assert_true (peer_get (&f->peer, bhs, data, &dlen));
  assert_int_equal (bhs[0], 0x43);
  assert_memory_equal (bhs + 8, isid, 6);
  assert_int_equal (bhs[14] | bhs[15], 0);
  int saw = 0;
  for (int i = 0; i < f->nevents; i++)
    saw |= f->events[i] == BRAID_ISCSI_EV_RECONNECTING;
  assert_true (saw);
  close (lfd);
}

/* Login redirection: status 0x0101 with a TargetAddress sends the session
 * to that portal, where the login completes. */
static void
test_redirect (void **state)
{
  struct fx *f = *state;
  unsigned port;
  char addr[64];
  uint8_t bhs[48], data[8192];
  uint32_t dlen;
  int lfd = listener (&port);

  first_login_request (f, bhs, data, &dlen);
  int n = snprintf (addr, sizeof addr, "TargetAddress=127.0.0.1:%u,1", port);
  uint8_t h[48] = { 0 };
  h[0] = OP_LOGIN_RSP;
  memcpy (h + 8, bhs + 8, 6);
  memcpy (h + 16, bhs + 16, 4);
  peer_sn (&f->peer, h, 1);
  h[36] = 1;
  h[37] = 1;                                /* moved temporarily */
  peer_send (&f->peer, h, addr, (uint32_t) n + 1);
  pump (f);
  close (f->peer.fd);
  f->peer.fd = accept_from (f, lfd);
  f->peer.len = 0;
  assert_true (peer_get (&f->peer, bhs, data, &dlen));
  assert_int_equal (bhs[0], 0x43);
  assert_true (has_key (data, dlen, "TargetName=iqn.2026-11.dev.braid:t"));
  snprintf (addr, sizeof addr, "127.0.0.1:%u", port);
  assert_string_equal (braid_iscsi_get_portal (f->s), addr);
  int saw = 0;
  for (int i = 0; i < f->nevents; i++)
    saw |= f->events[i] == BRAID_ISCSI_EV_REDIRECTED;
  assert_true (saw);
  close (lfd);
}

/* Login refused with a class 2 status: the connect callback reports it,
 * with the status and its meaning, and nothing retries. */
static void
test_login_auth_failure (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], data[8192];
  uint32_t dlen;

  first_login_request (f, bhs, data, &dlen);
  uint8_t h[48] = { 0 };
  h[0] = OP_LOGIN_RSP;
  memcpy (h + 8, bhs + 8, 6);
  memcpy (h + 16, bhs + 16, 4);
  peer_sn (&f->peer, h, 1);
  h[36] = 2;
  h[37] = 1;
  peer_send (&f->peer, h, NULL, 0);
  pump (f);
  assert_int_equal (f->connected, -1);
  assert_int_equal (braid_iscsi_login_status (f->s), 0x0201);
  assert_non_null (strstr (braid_iscsi_get_error (f->s), "authentication failed"));
  assert_int_equal (braid_iscsi_get_fd (f->s), -1);
  f->s->fd = -1;
}

/* A target that accepts the connection and never answers, and one that
 * answers the first login request and then goes silent: the login timer
 * fails the connection either way, and the error says how far the login
 * got, so the two are told apart in the daemon's log. */
static void
login_stall (void **state, int answered)
{
  struct fx *f = *state;
  uint8_t bhs[48], data[8192];
  uint32_t dlen;

  first_login_request (f, bhs, data, &dlen);
  if (answered) {
    static const char k1[] = "AuthMethod=None\0TargetPortalGroupTag=1";
    send_login_rsp (f, bhs, 1, 0, 1, k1, sizeof k1, 0);
    pump (f);
    assert_true (peer_get (&f->peer, bhs, data, &dlen));
    assert_int_equal (bhs[1], 0x87);        /* operational offer sent */
  }
  braid_iscsi_service (f->s, 0);
  assert_int_equal (f->connected, 0);       /* no deadline yet: waiting */
  f->s->connect_deadline = 1;               /* long past */
  braid_iscsi_service (f->s, 0);
  assert_int_equal (f->connected, -1);
  const char *e = braid_iscsi_get_error (f->s);
  if (answered)
    assert_non_null (strstr (e, "login timed out after 15000 ms: no answer "
                             "to login request 2 (1 answered, operational "
                             "negotiation stage)"));
  else
    assert_non_null (strstr (e, "login timed out after 15000 ms: no answer "
                             "to the first login request"));
  f->s->fd = -1;
}

static void test_login_never_answered (void **state) { login_stall (state, 0); }
static void test_login_stalls_midway (void **state) { login_stall (state, 1); }

/* A command whose timer expires fails the connection: it completes with
 * TIMEOUT, its neighbours with TRANSPORT. */
static void
test_command_timeout (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[512], buf2[512], cdb[16] = { 0x88 };
  uint32_t dlen;
  struct done d = { 0 }, d2 = { 0 };

  login (f, 8192, 16);
  struct iovec v = { buf, sizeof buf }, v2 = { buf2, sizeof buf2 };
  struct braid_scsi_cmd c = { .lun = 1, .cdb = cdb, .cdb_len = 16, .dir = BRAID_DIR_READ,
                              .iov = &v, .iovcnt = 1, .xfer_len = 512, .timeout_ms = 50 };
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, &d, NULL), 0);
  c.iov = &v2;
  c.timeout_ms = 60000;
  assert_int_equal (braid_iscsi_command_async (f->s, &c, on_done, &d2, NULL), 0);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  for (int i = 0; i < 100 && !d.n; i++) {
    usleep (10000);
    braid_iscsi_service (f->s, 0);
  }
  assert_int_equal (d.status, BRAID_STATUS_TIMEOUT);
  assert_int_equal (d2.status, BRAID_STATUS_TRANSPORT);
  assert_non_null (strstr (braid_iscsi_get_error (f->s), "timed out"));
  f->s->fd = -1;
}

/* An idle connection gets a NOP-Out ping; no answer fails it. */
static void
test_ping_timeout (void **state)
{
  struct fx *f = *state;
  struct braid_iscsi_opts o;
  uint8_t bhs[48];
  uint32_t dlen;

  braid_iscsi_opts_init (&o);
  o.header_digest = BRAID_DIGEST_NONE;
  o.reconnect = 0;
  o.nop_interval_ms = 20;
  o.nop_timeout_ms = 20;
  assert_int_equal (braid_iscsi_set_opts (f->s, &o), 0);
  login (f, 8192, 16);
  int pinged = 0;
  for (int i = 0; i < 200 && braid_iscsi_is_logged_in (f->s); i++) {
    usleep (5000);
    braid_iscsi_service (f->s, 0);
    if (!pinged && peer_get (&f->peer, bhs, NULL, &dlen)) {
      assert_int_equal (bhs[0], 0x40 | OP_NOP_OUT);
      assert_int_not_equal (be32 (bhs + 16), 0xffffffff);
      pinged = 1;
    }
  }
  assert_true (pinged);
  assert_false (braid_iscsi_is_logged_in (f->s));
  assert_non_null (strstr (braid_iscsi_get_error (f->s), "NOP-Out"));
  f->s->fd = -1;
}

/* AsyncEvent 1 (target requests logout): the connection is closed and
 * the commands on it come back with a transport status. */
static void
test_async_logout_request (void **state)
{
  struct fx *f = *state;
  uint8_t bhs[48], buf[512];
  uint32_t dlen;
  struct done d = { 0 };

  login (f, 8192, 16);
  submit (f, BRAID_DIR_READ, buf, sizeof buf, &d);
  pump (f);
  assert_true (peer_get (&f->peer, bhs, NULL, &dlen));
  uint8_t h[48] = { 0 };
  h[0] = OP_ASYNC;
  h[1] = 0x80;
  wr32 (h + 16, 0xffffffff);
  peer_sn (&f->peer, h, 1);
  h[36] = 1;
  h[43] = 5;
  peer_send (&f->peer, h, NULL, 0);
  pump (f);
  assert_int_equal (d.status, BRAID_STATUS_TRANSPORT);
  int saw = 0;
  for (int i = 0; i < f->nevents; i++)
    saw |= f->events[i] == BRAID_ISCSI_EV_ASYNC_EVENT;
  assert_true (saw);
  f->s->fd = -1;
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_login_rounds, setup, teardown),
    cmocka_unit_test_setup_teardown (test_read_datain, setup, teardown),
    cmocka_unit_test_setup_teardown (test_read_datain_split, setup, teardown),
    cmocka_unit_test_setup_teardown (test_write_immediate_r2t, setup, teardown),
    cmocka_unit_test_setup_teardown (test_window_queues, setup, teardown),
    cmocka_unit_test_setup_teardown (test_sense_and_residual, setup, teardown),
    cmocka_unit_test_setup_teardown (test_target_ping_answered, setup, teardown),
    cmocka_unit_test_setup_teardown (test_statsn_jump, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unknown_itt, setup, teardown),
    cmocka_unit_test_setup_teardown (test_unknown_opcode, setup, teardown),
    cmocka_unit_test_setup_teardown (test_datain_overflow, setup, teardown),
    cmocka_unit_test_setup_teardown (test_oversized_segment, setup, teardown),
    cmocka_unit_test_setup_teardown (test_header_digest, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reject_fails_one_task, setup, teardown),
    cmocka_unit_test_setup_teardown (test_bad_commands_refused, setup, teardown),
    cmocka_unit_test_setup_teardown (test_reinstatement_same_isid, setup, teardown),
    cmocka_unit_test_setup_teardown (test_redirect, setup, teardown),
    cmocka_unit_test_setup_teardown (test_login_auth_failure, setup, teardown),
    cmocka_unit_test_setup_teardown (test_login_never_answered, setup, teardown),
    cmocka_unit_test_setup_teardown (test_login_stalls_midway, setup, teardown),
    cmocka_unit_test_setup_teardown (test_command_timeout, setup, teardown),
    cmocka_unit_test_setup_teardown (test_ping_timeout, setup, teardown),
    cmocka_unit_test_setup_teardown (test_async_logout_request, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
