/* test_nbdconn.c: the connection state machine fed with byte sequences.
 *
 * Connections are created without a socket (fd = -1): the test feeds the
 * client's bytes with nbd_conn_feed() and reads the server's bytes off the
 * output queue, so the handshake and the transmission phase are exercised
 * exactly as on a socket, including hostile input split at every byte.
 * The backend here records requests and completes them when the test says,
 * in any order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "braid/loop.h"
#include "nbd/internal.h"

#define EXPORT_SIZE (1u << 20)

/* ---- fake backend ---- */

struct pending {
  struct braid_nbd_request *req;
  int type;
  uint64_t offset;
  uint32_t len;
  unsigned flags;
  struct iovec iov;
};

struct fake {
  struct pending p[512];
  int n;
  int fail_start;          /* -errno to return from the next start */
  bool sync_complete;      /* complete inside the start call */
  int released;
  uint8_t disk[EXPORT_SIZE];
};

static struct fake *fk;

static int
record (int type, uint64_t off, const struct iovec *iov, uint32_t len,
        unsigned fl, struct braid_nbd_request *req)
{
  struct pending *p;

  if (fk->fail_start) {
    int r = fk->fail_start;

    fk->fail_start = 0;
    return r;
  }
  assert_true (fk->n < 512);
  p = &fk->p[fk->n++];
  p->req = req;
  p->type = type;
  p->offset = off;
  p->len = len;
  p->flags = fl;
  if (iov)
    p->iov = *iov;
  if (type == NBD_CMD_WRITE)
    memcpy (fk->disk + off, iov->iov_base, len);
  if (type == NBD_CMD_READ)
    memcpy (iov->iov_base, fk->disk + off, len);
  if (fk->sync_complete) {
    fk->n--;
    braid_nbd_complete (req, 0);
  }
  return 0;
}

static int
f_read (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
        unsigned fl, struct braid_nbd_request *req)
{
  (void) o;
  assert_int_equal (n, 1);
  return record (NBD_CMD_READ, off, iov, len, fl, req);
}

static int
f_write (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
         unsigned fl, struct braid_nbd_request *req)
{
  (void) o;
  assert_int_equal (n, 1);
  return record (NBD_CMD_WRITE, off, iov, len, fl, req);
}

static int
f_flush (void *o, unsigned fl, struct braid_nbd_request *req)
{
  (void) o;
  return record (NBD_CMD_FLUSH, 0, NULL, 0, fl, req);
}

static int
f_trim (void *o, uint64_t off, uint32_t len, unsigned fl,
        struct braid_nbd_request *req)
{
  (void) o;
  return record (NBD_CMD_TRIM, off, NULL, len, fl, req);
}

static int
f_zero (void *o, uint64_t off, uint32_t len, unsigned fl,
        struct braid_nbd_request *req)
{
  (void) o;
  return record (NBD_CMD_WRITE_ZEROES, off, NULL, len, fl, req);
}

static void
f_release (void *o)
{
  (void) o;
  fk->released++;
}

static const struct braid_nbd_backend fake_backend = {
  f_read, f_write, f_flush, f_trim, f_zero, f_release,
};

/* Complete recorded request i (once). */
static void
complete (int i, int err)
{
  assert_non_null (fk->p[i].req);
  braid_nbd_complete (fk->p[i].req, err);
  fk->p[i].req = NULL;
}

/* ---- fixture ---- */

struct fx {
  struct braid_loop *loop;
  struct braid_nbd_server *srv;
  struct braid_nbd_export *exp;
  struct nbd_conn *c;
  uint8_t out[1 << 18];    /* server-to-client bytes not yet examined */
  size_t olen, opos;
};

static ssize_t
capture (void *opaque, const struct iovec *iov, int iovcnt)
{
  struct fx *f = opaque;
  size_t t = 0;
  int i;

  for (i = 0; i < iovcnt; i++) {
    assert_true (f->olen + iov[i].iov_len <= sizeof f->out);
    memcpy (f->out + f->olen, iov[i].iov_base, iov[i].iov_len);
    f->olen += iov[i].iov_len;
    t += iov[i].iov_len;
  }
  return (ssize_t) t;
}

/* Move everything queued to f->out. */
static void
drain (struct fx *f)
{
  assert_int_equal (nbd_outq_flush (&f->c->outq, capture, f), 0);
}

static const uint8_t *
take (struct fx *f, size_t n)
{
  const uint8_t *p;

  drain (f);
  assert_true (f->olen - f->opos >= n);
  p = f->out + f->opos;
  f->opos += n;
  return p;
}

static void
assert_no_output (struct fx *f)
{
  drain (f);
  assert_int_equal (f->olen, f->opos);
}

static struct braid_nbd_export *
add_export (struct fx *f, const char *name, const char *desc, unsigned flags,
            uint32_t min)
{
  struct braid_nbd_export_config ec;

  memset (&ec, 0, sizeof ec);
  ec.name = name;
  ec.description = desc;
  ec.size = EXPORT_SIZE;
  ec.min_block_size = min;
  ec.max_block_size = 1 << 16;
  ec.flags = flags;
  ec.backend = &fake_backend;
  return braid_nbd_export_add (f->srv, &ec);
}

static int
setup (void **state)
{
  struct fx *f = calloc (1, sizeof *f);
  struct braid_nbd_server_config cfg;

  assert_non_null (f);
  fk = calloc (1, sizeof *fk);
  assert_non_null (fk);
  memset (&cfg, 0, sizeof cfg);
  cfg.max_in_flight = 4;
  cfg.max_options = 16;
  f->loop = braid_loop_new ();
  assert_non_null (f->loop);
  f->srv = braid_nbd_server_new (f->loop, &cfg);
  assert_non_null (f->srv);
  f->exp = add_export (f, "disk", "the disk", BRAID_NBD_EXPORT_FLUSH
                       | BRAID_NBD_EXPORT_FUA | BRAID_NBD_EXPORT_TRIM
                       | BRAID_NBD_EXPORT_WRITE_ZEROES, 512);
  assert_non_null (f->exp);
  assert_non_null (add_export (f, "ro", NULL, BRAID_NBD_EXPORT_READ_ONLY, 1));
  f->c = nbd_conn_new (f->srv, -1, "test", false);
  assert_non_null (f->c);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fx *f = *state;
  int i;

  braid_nbd_server_free (f->srv);
  /* Requests a test left with the backend are orphans now: completing
   * them frees them. */
  for (i = 0; i < fk->n; i++)
    if (fk->p[i].req)
      braid_nbd_complete (fk->p[i].req, 0);
  /* Every export's backend was released exactly once. */
  assert_int_equal (fk->released, 2);
  braid_loop_free (f->loop);
  free (fk);
  free (f);
  return 0;
}

/* ---- client-side encoders ---- */

static void
feed (struct fx *f, const void *p, size_t n)
{
  assert_int_equal (nbd_conn_feed (f->c, p, n), n);
}

/* Feed one byte at a time: message boundaries must not matter. */
static void
feed_bytewise (struct fx *f, const void *p, size_t n)
{
  size_t i;

  for (i = 0; i < n; i++)
    assert_int_equal (nbd_conn_feed (f->c, (const uint8_t *) p + i, 1), 1);
}

static void
send_flags (struct fx *f, uint32_t fl)
{
  uint8_t b[4];

  nbd_put32 (b, fl);
  feed (f, b, 4);
}

static void
send_option (struct fx *f, uint32_t opt, const void *data, uint32_t len)
{
  uint8_t h[16];

  nbd_put64 (h, NBD_MAGIC_OPTS);
  nbd_put32 (h + 8, opt);
  nbd_put32 (h + 12, len);
  feed (f, h, 16);
  if (len)
    feed (f, data, len);
}

static void
send_go (struct fx *f, uint32_t opt, const char *name)
{
  uint8_t d[64];
  size_t nl = strlen (name);

  nbd_put32 (d, (uint32_t) nl);
  memcpy (d + 4, name, nl);
  nbd_put16 (d + 4 + nl, 3);
  nbd_put16 (d + 6 + nl, NBD_INFO_NAME);
  nbd_put16 (d + 8 + nl, NBD_INFO_DESCRIPTION);
  nbd_put16 (d + 10 + nl, NBD_INFO_BLOCK_SIZE);
  send_option (f, opt, d, (uint32_t) (12 + nl));
}

static void
send_request (struct fx *f, uint16_t flags, uint16_t type, uint64_t cookie,
              uint64_t off, uint32_t len)
{
  uint8_t r[28];

  nbd_put32 (r, NBD_REQUEST_MAGIC);
  nbd_put16 (r + 4, flags);
  nbd_put16 (r + 6, type);
  nbd_put64 (r + 8, cookie);
  nbd_put64 (r + 16, off);
  nbd_put32 (r + 24, len);
  feed (f, r, 28);
}

/* Read one option reply header; returns the payload length. */
static uint32_t
expect_opt_reply (struct fx *f, uint32_t opt, uint32_t type)
{
  const uint8_t *h = take (f, 20);

  assert_true (nbd_get64 (h) == NBD_MAGIC_REP);
  assert_int_equal (nbd_get32 (h + 8), opt);
  assert_int_equal (nbd_get32 (h + 12), type);
  return nbd_get32 (h + 16);
}

static void
expect_greeting (struct fx *f)
{
  const uint8_t *g = take (f, 18);

  assert_true (nbd_get64 (g) == NBD_MAGIC_INIT);
  assert_true (nbd_get64 (g + 8) == NBD_MAGIC_OPTS);
  assert_int_equal (nbd_get16 (g + 16),
                    NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
}

/* Greeting, flags, optional structured replies, GO on 'name'. */
static void
go (struct fx *f, const char *name, bool structured)
{
  uint32_t len;

  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  if (structured) {
    send_option (f, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
    assert_int_equal (expect_opt_reply (f, NBD_OPT_STRUCTURED_REPLY,
                                        NBD_REP_ACK), 0);
  }
  send_go (f, NBD_OPT_GO, name);
  for (;;) {
    const uint8_t *h = take (f, 20);

    assert_true (nbd_get64 (h) == NBD_MAGIC_REP);
    len = nbd_get32 (h + 16);
    if (nbd_get32 (h + 12) == NBD_REP_ACK)
      break;
    assert_int_equal (nbd_get32 (h + 12), NBD_REP_INFO);
    take (f, len);
  }
  assert_int_equal (f->c->state, NBD_CS_REQ_HDR);
}

static void
expect_simple (struct fx *f, uint64_t cookie, uint32_t error)
{
  const uint8_t *r = take (f, 16);

  assert_int_equal (nbd_get32 (r), NBD_SIMPLE_REPLY_MAGIC);
  assert_int_equal (nbd_get32 (r + 4), error);
  assert_true (nbd_get64 (r + 8) == cookie);
}

static void
expect_error_chunk (struct fx *f, uint64_t cookie, uint32_t error)
{
  const uint8_t *r = take (f, 26);
  uint32_t len = nbd_get32 (r + 16);

  assert_int_equal (nbd_get32 (r), NBD_STRUCTURED_REPLY_MAGIC);
  assert_int_equal (nbd_get16 (r + 4), NBD_REPLY_FLAG_DONE);
  assert_int_equal (nbd_get16 (r + 6), NBD_REPLY_TYPE_ERROR);
  assert_true (nbd_get64 (r + 8) == cookie);
  assert_int_equal (nbd_get32 (r + 20), error);
  assert_int_equal (nbd_get16 (r + 24), len - 6);
  take (f, len - 6);            /* the human message */
}

/* ---- handshake: good ---- */

static void
test_greeting_and_list (void **state)
{
  struct fx *f = *state;
  const uint8_t *p;
  uint32_t len;

  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  send_option (f, NBD_OPT_LIST, NULL, 0);
  len = expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_SERVER);
  p = take (f, len);
  assert_int_equal (nbd_get32 (p), 4);
  assert_memory_equal (p + 4, "diskthe disk", 12);
  len = expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_SERVER);
  p = take (f, len);
  assert_int_equal (len, 6);
  assert_memory_equal (p + 4, "ro", 2);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_ACK), 0);

  /* LIST with data is invalid but the haggling goes on. */
  send_option (f, NBD_OPT_LIST, "x", 1);
  take (f, expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_ERR_INVALID));
  send_option (f, NBD_OPT_ABORT, NULL, 0);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_ABORT, NBD_REP_ACK), 0);
  assert_int_equal (f->c->state, NBD_CS_CLOSING);
  /* Nothing is read after ABORT. */
  assert_int_equal (nbd_conn_feed (f->c, (const uint8_t *) "junk", 4), 0);
}

static void
test_info_then_go (void **state)
{
  struct fx *f = *state;
  bool seen_export = false, seen_bs = false, seen_name = false;
  bool seen_desc = false;
  uint8_t d[64];
  uint32_t len;

  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  send_go (f, NBD_OPT_INFO, "disk");
  for (;;) {
    const uint8_t *h = take (f, 20), *p;

    assert_true (nbd_get64 (h) == NBD_MAGIC_REP);
    assert_int_equal (nbd_get32 (h + 8), NBD_OPT_INFO);
    len = nbd_get32 (h + 16);
    if (nbd_get32 (h + 12) == NBD_REP_ACK) {
      assert_int_equal (len, 0);
      break;
    }
    assert_int_equal (nbd_get32 (h + 12), NBD_REP_INFO);
    p = take (f, len);
    switch (nbd_get16 (p)) {
    case NBD_INFO_EXPORT:
      assert_int_equal (len, 12);
      assert_int_equal (nbd_get64 (p + 2), EXPORT_SIZE);
      assert_int_equal (nbd_get16 (p + 10) & NBD_FLAG_HAS_FLAGS, 1);
      seen_export = true;
      break;
    case NBD_INFO_BLOCK_SIZE:
      assert_int_equal (len, 14);
      assert_int_equal (nbd_get32 (p + 2), 512);
      assert_int_equal (nbd_get32 (p + 6), 4096);
      assert_int_equal (nbd_get32 (p + 10), 1 << 16);
      seen_bs = true;
      break;
    case NBD_INFO_NAME:
      assert_memory_equal (p + 2, "disk", 4);
      seen_name = true;
      break;
    case NBD_INFO_DESCRIPTION:
      assert_memory_equal (p + 2, "the disk", 8);
      seen_desc = true;
      break;
    default:
      fail ();
    }
  }
  assert_true (seen_export && seen_bs && seen_name && seen_desc);
  assert_true (f->c->state < NBD_CS_REQ_HDR);

  /* Unknown export: an error, and haggling continues. */
  send_go (f, NBD_OPT_GO, "nosuch");
  take (f, expect_opt_reply (f, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN));
  /* Empty name without a default export: unknown as well. */
  nbd_put32 (d, 0);
  nbd_put16 (d + 4, 0);
  send_option (f, NBD_OPT_GO, d, 6);
  take (f, expect_opt_reply (f, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN));
  /* With a default export, the empty name works. */
  assert_int_equal (braid_nbd_server_set_default_export (f->srv, "ro"), 0);
  send_option (f, NBD_OPT_GO, d, 6);
  len = expect_opt_reply (f, NBD_OPT_GO, NBD_REP_INFO);
  assert_int_equal (nbd_get16 (take (f, len) + 10) & NBD_FLAG_READ_ONLY,
                    NBD_FLAG_READ_ONLY);
  take (f, expect_opt_reply (f, NBD_OPT_GO, NBD_REP_INFO)); /* block size */
  assert_int_equal (expect_opt_reply (f, NBD_OPT_GO, NBD_REP_ACK), 0);
  assert_int_equal (f->c->state, NBD_CS_REQ_HDR);
  assert_ptr_equal (f->c->exp, braid_nbd_server_find_export (f->srv, "ro"));
}

static void
test_export_name (void **state)
{
  struct fx *f = *state;
  const uint8_t *p;

  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);   /* no NO_ZEROES */
  send_option (f, NBD_OPT_EXPORT_NAME, "disk", 4);
  p = take (f, 10 + 124);
  assert_int_equal (nbd_get64 (p), EXPORT_SIZE);
  assert_int_equal (nbd_get16 (p + 8), NBD_FLAG_HAS_FLAGS
                    | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA
                    | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES);
  assert_int_equal (f->c->state, NBD_CS_REQ_HDR);
  assert_no_output (f);
}

static void
test_other_options (void **state)
{
  struct fx *f = *state;
  uint8_t d[64];

  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  send_option (f, NBD_OPT_STARTTLS, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY));
  /* meta contexts need structured replies first */
  nbd_put32 (d, 4);
  memcpy (d + 4, "disk", 4);
  nbd_put32 (d + 8, 1);
  nbd_put32 (d + 12, 15);
  memcpy (d + 16, "base:allocation", 15);
  send_option (f, NBD_OPT_SET_META_CONTEXT, d, 31);
  take (f, expect_opt_reply (f, NBD_OPT_SET_META_CONTEXT,
                             NBD_REP_ERR_INVALID));
  send_option (f, NBD_OPT_STRUCTURED_REPLY, "x", 1);
  take (f, expect_opt_reply (f, NBD_OPT_STRUCTURED_REPLY,
                             NBD_REP_ERR_INVALID));
  send_option (f, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_STRUCTURED_REPLY,
                                      NBD_REP_ACK), 0);
  /* no context is offered: a bare ACK for list and set */
  send_option (f, NBD_OPT_LIST_META_CONTEXT, d, 31);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_LIST_META_CONTEXT,
                                      NBD_REP_ACK), 0);
  send_option (f, NBD_OPT_SET_META_CONTEXT, d, 31);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_SET_META_CONTEXT,
                                      NBD_REP_ACK), 0);
  /* malformed and unknown-export meta requests */
  send_option (f, NBD_OPT_LIST_META_CONTEXT, d, 30);
  take (f, expect_opt_reply (f, NBD_OPT_LIST_META_CONTEXT,
                             NBD_REP_ERR_INVALID));
  memcpy (d + 4, "dusk", 4);
  send_option (f, NBD_OPT_SET_META_CONTEXT, d, 31);
  take (f, expect_opt_reply (f, NBD_OPT_SET_META_CONTEXT,
                             NBD_REP_ERR_UNKNOWN));
  /* unknown options, extended headers, withdrawn PEEK_EXPORT */
  send_option (f, 0x7fffffff, "abc", 3);
  take (f, expect_opt_reply (f, 0x7fffffff, NBD_REP_ERR_UNSUP));
  send_option (f, NBD_OPT_EXTENDED_HEADERS, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_EXTENDED_HEADERS, NBD_REP_ERR_UNSUP));
  send_option (f, NBD_OPT_PEEK_EXPORT, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_PEEK_EXPORT, NBD_REP_ERR_UNSUP));
  /* malformed GO */
  send_option (f, NBD_OPT_GO, "\0\0\0\x09zz", 6);
  take (f, expect_opt_reply (f, NBD_OPT_GO, NBD_REP_ERR_INVALID));
  assert_true (f->c->state < NBD_CS_REQ_HDR);
}

/* The whole handshake, one byte at a time, with a request pipelined
 * behind GO in the same buffer. */
static void
test_bytewise_and_pipelined (void **state)
{
  struct fx *f = *state;
  uint8_t b[256];
  size_t n = 0;

  nbd_put32 (b, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  n = 4;
  nbd_put64 (b + n, NBD_MAGIC_OPTS);
  nbd_put32 (b + n + 8, NBD_OPT_GO);
  nbd_put32 (b + n + 12, 4 + 4 + 2);
  n += 16;
  nbd_put32 (b + n, 4);
  memcpy (b + n + 4, "disk", 4);
  nbd_put16 (b + n + 8, 0);
  n += 10;
  nbd_put32 (b + n, NBD_REQUEST_MAGIC);
  nbd_put16 (b + n + 4, 0);
  nbd_put16 (b + n + 6, NBD_CMD_FLUSH);
  nbd_put64 (b + n + 8, 42);
  nbd_put64 (b + n + 16, 0);
  nbd_put32 (b + n + 24, 0);
  n += 28;
  feed_bytewise (f, b, n - 28);
  assert_int_equal (f->c->state, NBD_CS_REQ_HDR);
  feed_bytewise (f, b + n - 28, 28);
  assert_int_equal (fk->n, 1);
  assert_int_equal (fk->p[0].type, NBD_CMD_FLUSH);

  /* Same again in one buffer on a new connection. */
  f->c = nbd_conn_new (f->srv, -1, "test2", false);
  assert_non_null (f->c);
  f->olen = f->opos = 0;
  feed (f, b, n);
  assert_int_equal (fk->n, 2);
}

/* ---- handshake: hostile ---- */

static void
test_bad_client_flags (void **state)
{
  struct fx *f = *state;

  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | 0x4);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
  assert_int_equal (nbd_conn_feed (f->c, (const uint8_t *) "x", 1), 0);
}

static void
test_bad_option_magic (void **state)
{
  struct fx *f = *state;
  uint8_t h[16];

  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  memset (h, 0x41, sizeof h);
  feed (f, h, 16);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
}

static void
test_oversized_option (void **state)
{
  struct fx *f = *state;
  uint8_t h[16];

  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  nbd_put64 (h, NBD_MAGIC_OPTS);
  nbd_put32 (h + 8, NBD_OPT_LIST);
  nbd_put32 (h + 12, 0xffffffffu);
  feed (f, h, 16);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
  assert_null (f->c->optbuf);
}

static void
test_too_many_options (void **state)
{
  struct fx *f = *state;
  int i;

  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  for (i = 0; i < 16; i++) {
    send_option (f, 99, NULL, 0);
    assert_int_not_equal (f->c->state, NBD_CS_DEAD);
  }
  send_option (f, 99, NULL, 0);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
}

static void
test_export_name_unknown (void **state)
{
  struct fx *f = *state;

  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  send_option (f, NBD_OPT_EXPORT_NAME, "nosuch", 6);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
}

/* Random garbage must only ever end in DEAD or in more haggling, never
 * crash or reach transmission; ASan/UBSan watch the rest. */
static void
test_garbage (void **state)
{
  struct fx *f = *state;
  uint8_t junk[4096];
  unsigned seed = 12345;
  int round;

  for (round = 0; round < 64; round++) {
    size_t i, used;

    for (i = 0; i < sizeof junk; i++) {
      seed = seed * 1103515245u + 12345u;
      junk[i] = (uint8_t) (seed >> 16);
    }
    f->c = nbd_conn_new (f->srv, -1, "junk", false);
    assert_non_null (f->c);
    /* Valid flags half the time, so option parsing sees garbage too. */
    if (round & 1)
      send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
    used = nbd_conn_feed (f->c, junk, sizeof junk);
    assert_true (used <= sizeof junk);
    assert_true (f->c->state != NBD_CS_REQ_HDR || f->c->exp != NULL);
    nbd_outq_drop (&f->c->outq);
  }
}

/* ---- transmission ---- */

static void
test_read_write_simple (void **state)
{
  struct fx *f = *state;
  uint8_t data[1024];
  const uint8_t *r;
  int i;

  go (f, "disk", false);
  for (i = 0; i < 1024; i++)
    data[i] = (uint8_t) (i * 7);
  send_request (f, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 1, 4096, 1024);
  assert_int_equal (fk->n, 0);           /* payload not there yet */
  feed_bytewise (f, data, 100);
  feed (f, data + 100, 924);
  assert_int_equal (fk->n, 1);
  assert_int_equal (fk->p[0].flags, BRAID_NBD_REQ_FUA);
  send_request (f, 0, NBD_CMD_READ, 2, 4096, 1024);
  assert_int_equal (fk->n, 2);
  assert_no_output (f);

  /* Complete in reverse order: replies follow completion order. */
  complete (1, 0);
  r = take (f, 16);
  assert_true (nbd_get64 (r + 8) == 2);
  assert_memory_equal (take (f, 1024), data, 1024);
  complete (0, 0);
  expect_simple (f, 1, 0);

  /* A backend error on a simple READ: error, no data. */
  send_request (f, 0, NBD_CMD_READ, 3, 0, 512);
  complete (2, ETIMEDOUT);
  expect_simple (f, 3, NBD_EIO);
  assert_no_output (f);

  /* The backend refusing to start. */
  fk->fail_start = -ENOSPC;
  send_request (f, 0, NBD_CMD_WRITE_ZEROES, 4, 0, 512);
  expect_simple (f, 4, NBD_ENOSPC);

  {
    struct braid_nbd_export_stats st;

    braid_nbd_export_get_stats (f->exp, &st);
    assert_int_equal (st.requests, 4);
    assert_int_equal (st.reads, 2);
    assert_int_equal (st.writes, 1);
    assert_int_equal (st.zeroes, 1);
    assert_int_equal (st.errors, 2);
    assert_int_equal (st.bytes_written, 1024);
    assert_int_equal (st.bytes_read, 1024);
    assert_int_equal (st.in_flight, 0);
    assert_int_equal (st.connections, 1);
  }
}

static void
test_structured (void **state)
{
  struct fx *f = *state;
  const uint8_t *r;

  go (f, "disk", true);
  fk->disk[512] = 0xab;
  send_request (f, NBD_CMD_FLAG_DF, NBD_CMD_READ, 7, 512, 512);
  complete (0, 0);
  r = take (f, 28);
  assert_int_equal (nbd_get32 (r), NBD_STRUCTURED_REPLY_MAGIC);
  assert_int_equal (nbd_get16 (r + 4), NBD_REPLY_FLAG_DONE);
  assert_int_equal (nbd_get16 (r + 6), NBD_REPLY_TYPE_OFFSET_DATA);
  assert_true (nbd_get64 (r + 8) == 7);
  assert_int_equal (nbd_get32 (r + 16), 8 + 512);
  assert_int_equal (nbd_get64 (r + 20), 512);
  assert_int_equal (take (f, 512)[0], 0xab);

  /* Errors are error chunks, for READ and for others. */
  send_request (f, 0, NBD_CMD_READ, 8, 0, 512);
  complete (1, EIO);
  expect_error_chunk (f, 8, NBD_EIO);
  send_request (f, 0, NBD_CMD_READ, 9, EXPORT_SIZE, 512);
  expect_error_chunk (f, 9, NBD_EINVAL);
  /* Success without data: simple reply. */
  send_request (f, 0, NBD_CMD_FLUSH, 10, 0, 0);
  complete (2, 0);
  expect_simple (f, 10, 0);
  /* An empty READ is a NONE chunk and never reaches the backend. */
  send_request (f, 0, NBD_CMD_READ, 11, 0, 0);
  r = take (f, 20);
  assert_int_equal (nbd_get16 (r + 6), NBD_REPLY_TYPE_NONE);
  assert_int_equal (fk->n, 3);
}

static void
test_request_errors (void **state)
{
  struct fx *f = *state;
  static uint8_t payload[4096];

  go (f, "disk", false);
  /* Each error gets its reply and the next request is still served. */
  send_request (f, 0, 42, 1, 0, 512);
  expect_simple (f, 1, NBD_EINVAL);
  send_request (f, 0, NBD_CMD_READ, 2, EXPORT_SIZE - 512, 1024);
  expect_simple (f, 2, NBD_EINVAL);
  send_request (f, 0, NBD_CMD_READ, 3, 0, (1 << 16) + 512);
  expect_simple (f, 3, NBD_EINVAL);
  send_request (f, 0, NBD_CMD_READ, 4, 100, 512);
  expect_simple (f, 4, NBD_EINVAL);
  send_request (f, NBD_CMD_FLAG_DF, NBD_CMD_READ, 5, 0, 512);
  expect_simple (f, 5, NBD_EINVAL);     /* DF needs structured replies */
  send_request (f, 0, NBD_CMD_CACHE, 6, 0, 512);
  expect_simple (f, 6, NBD_EINVAL);
  send_request (f, 0, NBD_CMD_BLOCK_STATUS, 7, 0, 512);
  expect_simple (f, 7, NBD_EINVAL);
  send_request (f, 0, NBD_CMD_FLUSH, 8, 0, 512);
  expect_simple (f, 8, NBD_EINVAL);
  /* A rejected WRITE has its payload dropped, keeping the stream in step:
   * out of range, misaligned, too big for the maximum block size. */
  send_request (f, 0, NBD_CMD_WRITE, 9, EXPORT_SIZE, 4096);
  assert_no_output (f);
  assert_int_equal (f->c->state, NBD_CS_REQ_DISCARD);
  feed (f, payload, 4096);
  expect_simple (f, 9, NBD_ENOSPC);
  send_request (f, 0, NBD_CMD_WRITE, 10, 0, 100);
  feed (f, payload, 100);
  expect_simple (f, 10, NBD_EINVAL);
  send_request (f, 0, NBD_CMD_WRITE, 11, 0, (1 << 16) + 512);
  {
    int i;

    for (i = 0; i < 16; i++)
      feed (f, payload, 4096);
    feed (f, payload, 512);
  }
  expect_simple (f, 11, NBD_EINVAL);
  /* ...and then a good request goes through. */
  send_request (f, 0, NBD_CMD_TRIM, 12, 0, 4096);
  assert_int_equal (fk->n, 1);
  complete (0, 0);
  expect_simple (f, 12, 0);
  /* Read-only export refuses writes with EPERM (tested on 'ro' below);
   * nothing reached the backend but the trim. */
  assert_int_equal (fk->n, 1);
}

static void
test_read_only (void **state)
{
  struct fx *f = *state;
  static uint8_t payload[512];

  go (f, "ro", false);
  send_request (f, 0, NBD_CMD_WRITE, 1, 0, 512);
  feed (f, payload, 512);
  expect_simple (f, 1, NBD_EPERM);
  send_request (f, 0, NBD_CMD_TRIM, 2, 0, 512);
  expect_simple (f, 2, NBD_EPERM);
  send_request (f, 0, NBD_CMD_FLUSH, 3, 0, 0);
  expect_simple (f, 3, NBD_EINVAL);     /* not advertised */
  send_request (f, 0, NBD_CMD_READ, 4, 1, 1);   /* min block 1 */
  assert_int_equal (fk->n, 1);
  complete (0, 0);
  take (f, 17);
}

static void
test_bad_request_magic (void **state)
{
  struct fx *f = *state;
  uint8_t r[28];

  go (f, "disk", false);
  send_request (f, 0, NBD_CMD_READ, 1, 0, 512);
  memset (r, 0x55, sizeof r);
  feed (f, r, 28);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
  /* The held request still completes into nothing harmful. */
  nbd_conn_close (f->c);
  complete (0, 0);  /* frees the closed connection */
  f->c = NULL;
}

static void
test_oversized_write_closes (void **state)
{
  struct fx *f = *state;

  go (f, "disk", false);
  send_request (f, 0, NBD_CMD_WRITE, 1, 0, 0xfffffe00u);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
}

static void
test_in_flight_limit (void **state)
{
  struct fx *f = *state;
  uint8_t r[28 * 6];
  int i;

  go (f, "disk", false);
  for (i = 0; i < 6; i++) {
    nbd_put32 (r + 28 * i, NBD_REQUEST_MAGIC);
    nbd_put16 (r + 28 * i + 4, 0);
    nbd_put16 (r + 28 * i + 6, NBD_CMD_READ);
    nbd_put64 (r + 28 * i + 8, (uint64_t) i);
    nbd_put64 (r + 28 * i + 16, 512u * (unsigned) i);
    nbd_put32 (r + 28 * i + 24, 512);
  }
  /* max_in_flight is 4: the fifth header is not taken. */
  assert_int_equal (nbd_conn_feed (f->c, r, sizeof r), 28 * 4);
  assert_true (nbd_conn_saturated (f->c));
  assert_int_equal (fk->n, 4);
  complete (2, 0);
  /* Completed but not yet written: the slot is still taken. */
  assert_int_equal (nbd_conn_feed (f->c, r + 28 * 4, 56), 0);
  drain (f);
  assert_int_equal (nbd_conn_feed (f->c, r + 28 * 4, 56), 28);
  assert_int_equal (fk->n, 5);
}

static void
test_sync_completion (void **state)
{
  struct fx *f = *state;

  go (f, "disk", true);
  fk->sync_complete = true;
  send_request (f, 0, NBD_CMD_READ, 1, 0, 512);
  send_request (f, 0, NBD_CMD_FLUSH, 2, 0, 0);
  take (f, 28 + 512);
  expect_simple (f, 2, 0);
}

static void
test_disconnect_waits (void **state)
{
  struct fx *f = *state;

  go (f, "disk", false);
  send_request (f, 0, NBD_CMD_READ, 1, 0, 512);
  send_request (f, 0, NBD_CMD_DISC, 2, 0, 0);
  assert_int_equal (f->c->state, NBD_CS_CLOSING);
  /* No reply to DISC; the outstanding read is still answered. */
  complete (0, 0);
  take (f, 16 + 512);
  assert_no_output (f);
}

static void
test_remove_export (void **state)
{
  struct fx *f = *state;
  struct braid_nbd_export *exp = f->exp;

  go (f, "disk", false);
  send_request (f, 0, NBD_CMD_READ, 1, 0, 512);
  assert_int_equal (braid_nbd_export_remove (exp), 0);
  f->exp = NULL;
  assert_null (braid_nbd_server_find_export (f->srv, "disk"));
  assert_int_equal (fk->released, 0);    /* still in use */
  /* New requests: ESHUTDOWN; in-flight ones complete normally. */
  send_request (f, 0, NBD_CMD_READ, 2, 0, 512);
  expect_simple (f, 2, NBD_ESHUTDOWN);
  complete (0, 0);
  take (f, 16 + 512);
  /* Closing the connection drops the last reference. */
  nbd_conn_close (f->c);
  nbd_conn_maybe_free (f->c);
  f->c = NULL;
  assert_int_equal (fk->released, 1);
  /* Listing no longer shows it. */
  f->c = nbd_conn_new (f->srv, -1, "after", false);
  f->olen = f->opos = 0;
  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  send_option (f, NBD_OPT_LIST, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_SERVER));
  assert_int_equal (expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_ACK), 0);
  /* teardown expects two releases in total */
}

static void
test_orphans_on_free (void **state)
{
  struct fx *f = *state;
  struct braid_nbd_request *req;

  go (f, "disk", false);
  send_request (f, 0, NBD_CMD_READ, 1, 0, 512);
  req = fk->p[0].req;
  fk->p[0].req = NULL;
  braid_nbd_server_free (f->srv);
  /* Completing an orphan only frees it (ASan checks). */
  braid_nbd_complete (req, 0);
  assert_int_equal (fk->released, 2);
  f->srv = braid_nbd_server_new (f->loop, NULL);
  fk->released = 0;
  assert_non_null (add_export (f, "a", NULL, 0, 1));
  assert_non_null (add_export (f, "b", NULL, 0, 1));
}

static void
test_export_config_checks (void **state)
{
  struct fx *f = *state;
  struct braid_nbd_export_config ec;
  struct braid_nbd_backend nowrite = fake_backend;

  memset (&ec, 0, sizeof ec);
  ec.name = "x";
  ec.size = 4096;
  ec.backend = &fake_backend;
  ec.min_block_size = 3;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  assert_int_equal (errno, EINVAL);
  ec.min_block_size = 1u << 17;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  ec.min_block_size = 4096;
  ec.preferred_block_size = 512;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  ec.preferred_block_size = 0;
  ec.max_block_size = 4096 + 512;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  ec.max_block_size = 0;
  ec.size = 4096 + 512;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  ec.size = 8192;
  ec.name = "disk";
  assert_null (braid_nbd_export_add (f->srv, &ec));
  assert_int_equal (errno, EEXIST);
  ec.name = "x";
  ec.flags = BRAID_NBD_EXPORT_FAST_ZERO;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  nowrite.write = NULL;
  ec.flags = 0;
  ec.backend = &nowrite;
  assert_null (braid_nbd_export_add (f->srv, &ec));
  ec.flags = BRAID_NBD_EXPORT_READ_ONLY;
  assert_non_null (braid_nbd_export_add (f->srv, &ec));
  assert_int_equal (braid_nbd_export_resize (f->exp, 12345), -EINVAL);
  assert_int_equal (braid_nbd_export_resize (f->exp, 2 * EXPORT_SIZE), 0);
  assert_int_equal (braid_nbd_export_size (f->exp), 2 * EXPORT_SIZE);
  fk->released--;               /* the extra export counts in teardown */
}

/* ---- STARTTLS and the TLS policy ---- */

/* Give the server PSK credentials (a throwaway file) in 'mode'. */
static void
offer_tls (struct fx *f, enum braid_nbd_tls_mode mode)
{
  char dir[] = "/tmp/braid-nbdconn-XXXXXX", path[64];
  struct braid_nbd_tls_config tc = { .mode = mode, .psk_file = path };
  FILE *fp;

  assert_non_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/keys.psk", dir);
  fp = fopen (path, "w");
  assert_non_null (fp);
  fprintf (fp, "alice:00112233445566778899aabbccddeeff\n");
  fclose (fp);
  assert_int_equal (chmod (path, 0600), 0);
  assert_int_equal (braid_nbd_server_set_tls (f->srv, &tc), 0);
  unlink (path);
  rmdir (dir);
}

/* Required TLS: a TCP client learns nothing before STARTTLS; the ACK is
 * the last plaintext and nothing is read after it until TLS is up. */
static void
test_tls_required (void **state)
{
  struct fx *f = *state;
  uint8_t junk[4] = { 1, 2, 3, 4 };

  offer_tls (f, BRAID_NBD_TLS_REQUIRE);
  f->c->tcp = true;
  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  send_option (f, NBD_OPT_LIST, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_ERR_TLS_REQD));
  send_go (f, NBD_OPT_INFO, "disk");
  take (f, expect_opt_reply (f, NBD_OPT_INFO, NBD_REP_ERR_TLS_REQD));
  send_go (f, NBD_OPT_GO, "disk");
  take (f, expect_opt_reply (f, NBD_OPT_GO, NBD_REP_ERR_TLS_REQD));
  send_option (f, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_STRUCTURED_REPLY,
                             NBD_REP_ERR_TLS_REQD));
  send_option (f, NBD_OPT_STARTTLS, "x", 1);
  take (f, expect_opt_reply (f, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID));
  send_option (f, NBD_OPT_STARTTLS, NULL, 0);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_STARTTLS, NBD_REP_ACK), 0);
  assert_int_equal (f->c->state, NBD_CS_TLS);
  assert_int_equal (nbd_conn_feed (f->c, junk, sizeof junk), 0);
  assert_no_output (f);

  /* TLS up (what connection.c does after the handshake): the options
   * work, STARTTLS twice does not, GO enters transmission. */
  nbd_hs_tls_established (f->c);
  send_option (f, NBD_OPT_STARTTLS, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID));
  send_option (f, NBD_OPT_LIST, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_LIST, NBD_REP_SERVER));
}

static void
test_tls_required_export_name (void **state)
{
  struct fx *f = *state;

  offer_tls (f, BRAID_NBD_TLS_REQUIRE);
  f->c->tcp = true;
  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE);
  send_option (f, NBD_OPT_EXPORT_NAME, "disk", 4);
  assert_int_equal (f->c->state, NBD_CS_DEAD);
  assert_no_output (f);
}

/* STARTTLS on offer: a plaintext client is served; Unix-socket clients
 * are never held to "require"; without credentials STARTTLS is refused. */
static void
test_tls_optional (void **state)
{
  struct fx *f = *state;

  offer_tls (f, BRAID_NBD_TLS_REQUIRE);
  f->c->tcp = false;
  go (f, "disk", true);

  teardown (state);
  setup (state);
  f = *state;
  offer_tls (f, BRAID_NBD_TLS_ON);
  f->c->tcp = true;
  go (f, "disk", false);

  teardown (state);
  setup (state);
  f = *state;
  f->c->tcp = true;
  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  send_option (f, NBD_OPT_STARTTLS, NULL, 0);
  take (f, expect_opt_reply (f, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY));
}

/* The spec: what was negotiated before STARTTLS is forgotten. */
static void
test_tls_resets_negotiation (void **state)
{
  struct fx *f = *state;

  offer_tls (f, BRAID_NBD_TLS_ON);
  f->c->tcp = true;
  expect_greeting (f);
  send_flags (f, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  send_option (f, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_STRUCTURED_REPLY,
                                      NBD_REP_ACK), 0);
  assert_true (f->c->structured);
  send_option (f, NBD_OPT_STARTTLS, NULL, 0);
  assert_int_equal (expect_opt_reply (f, NBD_OPT_STARTTLS, NBD_REP_ACK), 0);
  nbd_hs_tls_established (f->c);
  assert_false (f->c->structured);
  assert_true (f->c->tls_active);
}

int
main (void)
{
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T (test_greeting_and_list),
    T (test_info_then_go),
    T (test_export_name),
    T (test_other_options),
    T (test_bytewise_and_pipelined),
    T (test_bad_client_flags),
    T (test_bad_option_magic),
    T (test_oversized_option),
    T (test_too_many_options),
    T (test_export_name_unknown),
    T (test_garbage),
    T (test_read_write_simple),
    T (test_structured),
    T (test_request_errors),
    T (test_read_only),
    T (test_bad_request_magic),
    T (test_oversized_write_closes),
    T (test_in_flight_limit),
    T (test_sync_completion),
    T (test_disconnect_waits),
    T (test_remove_export),
    T (test_orphans_on_free),
    T (test_export_config_checks),
    T (test_tls_required),
    T (test_tls_required_export_name),
    T (test_tls_optional),
    T (test_tls_resets_negotiation),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
