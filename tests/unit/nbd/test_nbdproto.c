/* test_nbdproto.c: the pure parts of the NBD server: option payload
 * parsing, request decoding and validation (every rejection case), reply
 * encoding, errno mapping and the output queue's partial writes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "nbd/internal.h"

/* ---- option payloads ---- */

static size_t
build_info (uint8_t *p, const char *name, const uint16_t *reqs, unsigned n)
{
  size_t nl = strlen (name), off = 0;
  unsigned i;

  nbd_put32 (p, (uint32_t) nl);
  off = 4;
  memcpy (p + off, name, nl);
  off += nl;
  nbd_put16 (p + off, (uint16_t) n);
  off += 2;
  for (i = 0; i < n; i++, off += 2)
    nbd_put16 (p + off, reqs[i]);
  return off;
}

static void
test_info_request_good (void **state)
{
  uint8_t p[64];
  uint16_t reqs[] = { NBD_INFO_BLOCK_SIZE, 77, NBD_INFO_DESCRIPTION };
  struct nbd_info_req ir;
  size_t len;

  (void) state;
  len = build_info (p, "disk", reqs, 3);
  assert_int_equal (nbd_parse_info_request (p, (uint32_t) len, &ir), 0);
  assert_int_equal (ir.namelen, 4);
  assert_memory_equal (ir.name, "disk", 4);
  assert_true (ir.want_block_size);
  assert_true (ir.want_description);
  assert_false (ir.want_name);

  /* Empty name, no requests: the default export. */
  len = build_info (p, "", NULL, 0);
  assert_int_equal (len, 6);
  assert_int_equal (nbd_parse_info_request (p, 6, &ir), 0);
  assert_int_equal (ir.namelen, 0);
}

static void
test_info_request_bad (void **state)
{
  uint8_t p[64] = { 0 }, *big;
  uint16_t reqs[] = { NBD_INFO_NAME };
  struct nbd_info_req ir;
  size_t len;

  (void) state;
  /* Too short for the fixed fields. */
  assert_int_equal (nbd_parse_info_request (p, 0, &ir), -EINVAL);
  assert_int_equal (nbd_parse_info_request (p, 5, &ir), -EINVAL);
  /* Name length pointing past the data. */
  len = build_info (p, "disk", reqs, 1);
  nbd_put32 (p, 5);
  assert_int_equal (nbd_parse_info_request (p, (uint32_t) len, &ir), -EINVAL);
  /* Name length near 2^32 must not wrap. */
  nbd_put32 (p, 0xfffffffe);
  assert_int_equal (nbd_parse_info_request (p, (uint32_t) len, &ir), -EINVAL);
  /* Request count disagreeing with the data: too many, too few, odd. */
  len = build_info (p, "disk", reqs, 1);
  nbd_put16 (p + 8, 2);
  assert_int_equal (nbd_parse_info_request (p, (uint32_t) len, &ir), -EINVAL);
  nbd_put16 (p + 8, 0);
  assert_int_equal (nbd_parse_info_request (p, (uint32_t) len, &ir), -EINVAL);
  nbd_put16 (p + 8, 1);
  assert_int_equal (nbd_parse_info_request (p, (uint32_t) len + 1, &ir),
                    -EINVAL);
  /* Name over the 4096-byte string limit. */
  big = calloc (1, 4 + 5000 + 2);
  assert_non_null (big);
  nbd_put32 (big, 5000);
  assert_int_equal (nbd_parse_info_request (big, 4 + 5000 + 2, &ir), -E2BIG);
  free (big);
}

static size_t
build_meta (uint8_t *p, const char *name, const char **q, unsigned n)
{
  size_t off = 0, l = strlen (name);
  unsigned i;

  nbd_put32 (p, (uint32_t) l);
  memcpy (p + 4, name, l);
  off = 4 + l;
  nbd_put32 (p + off, n);
  off += 4;
  for (i = 0; i < n; i++) {
    l = strlen (q[i]);
    nbd_put32 (p + off, (uint32_t) l);
    memcpy (p + off + 4, q[i], l);
    off += 4 + l;
  }
  return off;
}

static void
test_meta_request (void **state)
{
  const char *q[] = { "base:allocation", "x-foo:" };
  struct nbd_meta_req mr;
  uint8_t p[128];
  size_t len;

  (void) state;
  len = build_meta (p, "disk", q, 2);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len, &mr), 0);
  assert_int_equal (mr.nqueries, 2);
  assert_int_equal (mr.namelen, 4);

  len = build_meta (p, "", NULL, 0);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len, &mr), 0);
  assert_int_equal (mr.nqueries, 0);

  /* Truncated: short header, query past the end, trailing bytes, huge
   * query count, huge query length. */
  assert_int_equal (nbd_parse_meta_request (p, 7, &mr), -EINVAL);
  len = build_meta (p, "disk", q, 2);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len - 1, &mr),
                    -EINVAL);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len + 1, &mr),
                    -EINVAL);
  nbd_put32 (p + 8, 0xffffffffu);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len, &mr), -EINVAL);
  len = build_meta (p, "disk", q, 1);
  nbd_put32 (p + 12, 0xfffffff0u);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len, &mr), -EINVAL);
  nbd_put32 (p, 0xfffffff0u);
  assert_int_equal (nbd_parse_meta_request (p, (uint32_t) len, &mr), -EINVAL);
}

/* ---- requests ---- */

static void
encode_request (uint8_t *p, uint32_t magic, uint16_t flags, uint16_t type,
                uint64_t cookie, uint64_t offset, uint32_t len)
{
  nbd_put32 (p, magic);
  nbd_put16 (p + 4, flags);
  nbd_put16 (p + 6, type);
  nbd_put64 (p + 8, cookie);
  nbd_put64 (p + 16, offset);
  nbd_put32 (p + 24, len);
}

static void
test_decode_request (void **state)
{
  uint8_t p[28];
  struct nbd_req_hdr h;

  (void) state;
  encode_request (p, NBD_REQUEST_MAGIC, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE,
                  0x0102030405060708ull, 0x1000, 512);
  assert_int_equal (nbd_decode_request (p, &h), 0);
  assert_int_equal (h.flags, NBD_CMD_FLAG_FUA);
  assert_int_equal (h.type, NBD_CMD_WRITE);
  assert_true (h.cookie == 0x0102030405060708ull);
  assert_int_equal (h.offset, 0x1000);
  assert_int_equal (h.len, 512);
  assert_true (nbd_request_has_payload (&h));

  encode_request (p, NBD_SIMPLE_REPLY_MAGIC, 0, 0, 0, 0, 0);
  assert_int_equal (nbd_decode_request (p, &h), -EPROTO);
  encode_request (p, 0x12560953, 0, 0, 0, 0, 0); /* historic magic */
  assert_int_equal (nbd_decode_request (p, &h), -EPROTO);
}

#define ALL_TFLAGS (NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH                 \
                    | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM                 \
                    | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO   \
                    | NBD_FLAG_SEND_DF)

static uint32_t
check (uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
       const struct nbd_req_ctx *x)
{
  struct nbd_req_hdr h = { flags, type, 1, off, len };
  const char *msg = NULL;
  uint32_t e = nbd_validate_request (&h, x, &msg);

  if (e)
    assert_non_null (msg);
  return e;
}

static void
test_validate_good (void **state)
{
  struct nbd_req_ctx x = { 1 << 20, 512, 1 << 16, ALL_TFLAGS, false };

  (void) state;
  assert_int_equal (check (NBD_CMD_READ, 0, 0, 512, &x), 0);
  assert_int_equal (check (NBD_CMD_READ, NBD_CMD_FLAG_DF | NBD_CMD_FLAG_FUA,
                           (1 << 20) - 4096, 4096, &x), 0);
  assert_int_equal (check (NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 512, 1 << 16,
                           &x), 0);
  assert_int_equal (check (NBD_CMD_FLUSH, 0, 0, 0, &x), 0);
  assert_int_equal (check (NBD_CMD_TRIM, 0, 0, 1 << 20, &x), 0);
  assert_int_equal (check (NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE
                           | NBD_CMD_FLAG_FAST_ZERO, 0, 1 << 20, &x), 0);
  /* Empty requests at the very end are fine. */
  assert_int_equal (check (NBD_CMD_READ, 0, 1 << 20, 0, &x), 0);
  /* TRIM/WRITE_ZEROES are not bound by the maximum payload. */
  assert_int_equal (check (NBD_CMD_TRIM, 0, 0, 1 << 18, &x), 0);
}

static void
test_validate_errors (void **state)
{
  struct nbd_req_ctx x = { 1 << 20, 512, 1 << 16, ALL_TFLAGS, false };
  struct nbd_req_ctx ro = x, bare = x, sd = x;

  (void) state;
  /* unknown commands, including CACHE, BLOCK_STATUS and beyond */
  assert_int_equal (check (NBD_CMD_CACHE, 0, 0, 512, &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_BLOCK_STATUS, 0, 0, 512, &x), NBD_EINVAL);
  assert_int_equal (check (8, 0, 0, 512, &x), NBD_EINVAL);
  assert_int_equal (check (0xffff, 0, 0, 0, &x), NBD_EINVAL);
  /* flags not valid for the command, unknown flags */
  assert_int_equal (check (NBD_CMD_WRITE, NBD_CMD_FLAG_DF, 0, 512, &x),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_READ, NBD_CMD_FLAG_NO_HOLE, 0, 512, &x),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_READ, NBD_CMD_FLAG_REQ_ONE, 0, 512, &x),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_WRITE, NBD_CMD_FLAG_FAST_ZERO, 0, 512,
                           &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_READ, 1u << 5, 0, 512, &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_READ, 0x8000, 0, 512, &x), NBD_EINVAL);
  /* flush with offset/length */
  assert_int_equal (check (NBD_CMD_FLUSH, 0, 512, 0, &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_FLUSH, 0, 0, 512, &x), NBD_EINVAL);
  /* too large for the maximum block size */
  assert_int_equal (check (NBD_CMD_READ, 0, 0, (1 << 16) + 512, &x),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_WRITE, 0, 0, 0xffffffffu, &x),
                    NBD_EINVAL);
  /* misaligned offset or length */
  assert_int_equal (check (NBD_CMD_READ, 0, 1, 512, &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_READ, 0, 0, 511, &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_TRIM, 0, 256, 512, &x), NBD_EINVAL);
  /* beyond the end: EINVAL for read/trim, ENOSPC for writes */
  assert_int_equal (check (NBD_CMD_READ, 0, 1 << 20, 512, &x), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_TRIM, 0, 0, (1 << 20) + 512, &x),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_WRITE, 0, (1 << 20) - 512, 1024, &x),
                    NBD_ENOSPC);
  assert_int_equal (check (NBD_CMD_WRITE_ZEROES, 0, 1 << 20, 512, &x),
                    NBD_ENOSPC);
  assert_int_equal (check (NBD_CMD_READ, 0, (1 << 20) + 512, 0, &x),
                    NBD_EINVAL);
  /* offset + length overflowing 64 bits */
  assert_int_equal (check (NBD_CMD_READ, 0, UINT64_MAX - 511, 512, &x),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_TRIM, 0, UINT64_MAX & ~511ull,
                           0xfffffe00u, &x), NBD_EINVAL);

  /* read-only export: EPERM for every modifying command */
  ro.tflags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY | NBD_FLAG_SEND_FLUSH;
  assert_int_equal (check (NBD_CMD_WRITE, 0, 0, 512, &ro), NBD_EPERM);
  assert_int_equal (check (NBD_CMD_TRIM, 0, 0, 512, &ro), NBD_EPERM);
  assert_int_equal (check (NBD_CMD_WRITE_ZEROES, 0, 0, 512, &ro), NBD_EPERM);
  assert_int_equal (check (NBD_CMD_READ, 0, 0, 512, &ro), 0);

  /* commands and flags the export did not advertise */
  bare.tflags = NBD_FLAG_HAS_FLAGS;
  assert_int_equal (check (NBD_CMD_FLUSH, 0, 0, 0, &bare), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_TRIM, 0, 0, 512, &bare), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_WRITE_ZEROES, 0, 0, 512, &bare),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 512, &bare),
                    NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_READ, NBD_CMD_FLAG_DF, 0, 512, &bare),
                    NBD_EINVAL);
  bare.tflags |= NBD_FLAG_SEND_WRITE_ZEROES;
  assert_int_equal (check (NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_FAST_ZERO, 0,
                           512, &bare), NBD_EINVAL);
  assert_int_equal (check (NBD_CMD_WRITE_ZEROES, NBD_CMD_FLAG_NO_HOLE, 0,
                           512, &bare), 0);

  /* shutting down wins over everything */
  sd.shutdown = true;
  assert_int_equal (check (NBD_CMD_READ, 0, 0, 512, &sd), NBD_ESHUTDOWN);
  assert_int_equal (check (0x77, 0, 0, 512, &sd), NBD_ESHUTDOWN);
}

static void
test_transmission_flags (void **state)
{
  struct braid_nbd_export e;

  (void) state;
  memset (&e, 0, sizeof e);
  assert_int_equal (nbd_transmission_flags (&e, false), NBD_FLAG_HAS_FLAGS);
  assert_int_equal (nbd_transmission_flags (&e, true),
                    NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_DF);
  e.flags = BRAID_NBD_EXPORT_FLUSH | BRAID_NBD_EXPORT_FUA
    | BRAID_NBD_EXPORT_TRIM | BRAID_NBD_EXPORT_WRITE_ZEROES
    | BRAID_NBD_EXPORT_FAST_ZERO | BRAID_NBD_EXPORT_MULTI_CONN
    | BRAID_NBD_EXPORT_ROTATIONAL;
  assert_int_equal (nbd_transmission_flags (&e, false),
                    NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH
                    | NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM
                    | NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO
                    | NBD_FLAG_CAN_MULTI_CONN | NBD_FLAG_ROTATIONAL);
  /* read-only drops the modifying commands */
  e.flags |= BRAID_NBD_EXPORT_READ_ONLY;
  assert_int_equal (nbd_transmission_flags (&e, false),
                    NBD_FLAG_HAS_FLAGS | NBD_FLAG_READ_ONLY
                    | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA
                    | NBD_FLAG_CAN_MULTI_CONN | NBD_FLAG_ROTATIONAL);
}

/* ---- replies ---- */

static void
test_reply_encoding (void **state)
{
  uint8_t b[32];
  static const uint8_t simple[16] = {
    0x67, 0x44, 0x66, 0x98, 0, 0, 0, 22,
    1, 2, 3, 4, 5, 6, 7, 8 };
  static const uint8_t data[28] = {
    0x66, 0x8e, 0x33, 0xef, 0, 1, 0, 1,
    0, 0, 0, 0, 0, 0, 0, 9,
    0, 0, 0x10, 8,
    0, 0, 0, 0, 0, 0, 0x20, 0 };
  static const uint8_t err[26] = {
    0x66, 0x8e, 0x33, 0xef, 0, 1, 0x80, 1,
    0, 0, 0, 0, 0, 0, 0, 9,
    0, 0, 0, 11,
    0, 0, 0, 5, 0, 5 };

  (void) state;
  nbd_encode_simple_reply (b, NBD_EINVAL, 0x0102030405060708ull);
  assert_memory_equal (b, simple, 16);
  nbd_encode_data_chunk (b, 9, 0x2000, 0x1000, true);
  assert_memory_equal (b, data, 28);
  nbd_encode_error_chunk (b, 9, NBD_EIO, 5);
  assert_memory_equal (b, err, 26);
  nbd_encode_structured_hdr (b, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_NONE,
                             9, 0);
  assert_int_equal (nbd_get16 (b + 6), NBD_REPLY_TYPE_NONE);
  assert_int_equal (nbd_get32 (b + 16), 0);
}

static void
test_errno_mapping (void **state)
{
  (void) state;
  assert_int_equal (nbd_errno_to_wire (0), 0);
  assert_int_equal (nbd_errno_to_wire (EPERM), NBD_EPERM);
  assert_int_equal (nbd_errno_to_wire (EROFS), NBD_EPERM);
  assert_int_equal (nbd_errno_to_wire (EIO), NBD_EIO);
  assert_int_equal (nbd_errno_to_wire (ENOMEM), NBD_ENOMEM);
  assert_int_equal (nbd_errno_to_wire (EINVAL), NBD_EINVAL);
  assert_int_equal (nbd_errno_to_wire (ENOSPC), NBD_ENOSPC);
  assert_int_equal (nbd_errno_to_wire (EDQUOT), NBD_ENOSPC);
  assert_int_equal (nbd_errno_to_wire (EFBIG), NBD_ENOSPC);
  assert_int_equal (nbd_errno_to_wire (EOVERFLOW), NBD_EOVERFLOW);
  assert_int_equal (nbd_errno_to_wire (ENOTSUP), NBD_ENOTSUP);
  assert_int_equal (nbd_errno_to_wire (EOPNOTSUPP), NBD_ENOTSUP);
  assert_int_equal (nbd_errno_to_wire (ESHUTDOWN), NBD_ESHUTDOWN);
  assert_int_equal (nbd_errno_to_wire (ETIMEDOUT), NBD_EIO);
  assert_int_equal (nbd_errno_to_wire (12345), NBD_EIO);
}

static void
test_opt_reply_encoding (void **state)
{
  struct nbd_buf b = { 0 };

  (void) state;
  nbd_put_opt_error (&b, NBD_OPT_GO, NBD_REP_ERR_UNKNOWN, "nope");
  assert_false (b.failed);
  assert_int_equal (b.len, 20 + 4);
  assert_true (nbd_get64 (b.data) == NBD_MAGIC_REP);
  assert_int_equal (nbd_get32 (b.data + 8), NBD_OPT_GO);
  assert_int_equal (nbd_get32 (b.data + 12), NBD_REP_ERR_UNKNOWN);
  assert_int_equal (nbd_get32 (b.data + 16), 4);
  assert_memory_equal (b.data + 20, "nope", 4);
  nbd_put_rep_server (&b, NBD_OPT_LIST, "disk", "a disk");
  assert_int_equal (b.len, 24 + 20 + 4 + 4 + 6);
  assert_int_equal (nbd_get32 (b.data + 24 + 12), NBD_REP_SERVER);
  assert_int_equal (nbd_get32 (b.data + 24 + 16), 14);
  assert_int_equal (nbd_get32 (b.data + 24 + 20), 4);
  assert_memory_equal (b.data + 24 + 24, "diska disk", 10);
  nbd_buf_free (&b);
}

/* ---- output queue ---- */

struct sink {
  uint8_t data[4096];
  size_t len;
  size_t max_per_call;   /* simulate a full socket */
  int calls;
  int fail;              /* errno to return, 0 = none */
};

static ssize_t
sink_writev (void *opaque, const struct iovec *iov, int iovcnt)
{
  struct sink *s = opaque;
  size_t budget = s->max_per_call, done = 0;
  int i;

  s->calls++;
  if (s->fail)
    return -s->fail;
  if (budget == 0)
    return -EAGAIN;
  for (i = 0; i < iovcnt && done < budget; i++) {
    size_t n = iov[i].iov_len;

    if (n > budget - done)
      n = budget - done;
    memcpy (s->data + s->len, iov[i].iov_base, n);
    s->len += n;
    done += n;
  }
  return (ssize_t) done;
}

struct item {
  struct nbd_out out;
  uint8_t hdr[4];
  int *done_count;
  bool sent;
};

static void
item_done (struct nbd_out *o, bool sent)
{
  struct item *it = (struct item *) o;

  (*it->done_count)++;
  it->sent = sent;
}

static void
test_outq_partial (void **state)
{
  static uint8_t payload[100];
  struct item it[3];
  struct nbd_outq q = { 0 };
  struct sink s;
  int done = 0, i;

  (void) state;
  memset (&s, 0, sizeof s);
  for (i = 0; i < 100; i++)
    payload[i] = (uint8_t) i;
  for (i = 0; i < 3; i++) {
    memset (&it[i], 0, sizeof it[i]);
    memset (it[i].hdr, 'a' + i, 4);
    it[i].out.iov[0].iov_base = it[i].hdr;
    it[i].out.iov[0].iov_len = 4;
    it[i].out.iov[1].iov_base = payload;
    it[i].out.iov[1].iov_len = i == 1 ? 100 : 0;
    it[i].out.iovcnt = i == 1 ? 2 : 1;
    it[i].out.done = item_done;
    it[i].done_count = &done;
    nbd_outq_push (&q, &it[i].out);
  }
  /* 7 bytes at a time: messages retire exactly when their last byte
   * goes out, and the stream is unchanged. */
  s.max_per_call = 7;
  assert_int_equal (nbd_outq_flush (&q, sink_writev, &s), 0);
  assert_int_equal (done, 3);
  assert_true (nbd_outq_empty (&q));
  assert_int_equal (s.len, 4 + 104 + 4);
  assert_memory_equal (s.data, "aaaabbbb", 8);
  assert_memory_equal (s.data + 8, payload, 100);
  assert_memory_equal (s.data + 108, "cccc", 4);

  /* A blocked socket keeps everything queued; an error is reported and
   * dropping retires the messages as unsent. */
  done = 0;
  memset (&s, 0, sizeof s);
  for (i = 0; i < 2; i++)
    nbd_outq_push (&q, &it[i].out);
  assert_int_equal (nbd_outq_flush (&q, sink_writev, &s), -EAGAIN);
  assert_int_equal (done, 0);
  s.max_per_call = 2;
  s.fail = 0;
  assert_int_equal (nbd_outq_flush (&q, sink_writev, &s), 0);
  assert_int_equal (done, 2);
  nbd_outq_push (&q, &it[2].out);
  s.fail = EPIPE;
  assert_int_equal (nbd_outq_flush (&q, sink_writev, &s), -EPIPE);
  nbd_outq_drop (&q);
  assert_int_equal (done, 3);
  assert_false (it[2].sent);
}

static void
test_outq_batches (void **state)
{
  struct item *it;
  struct nbd_outq q = { 0 };
  struct sink s;
  int done = 0, i, n = 100;

  (void) state;
  memset (&s, 0, sizeof s);
  s.max_per_call = sizeof s.data;
  it = calloc ((size_t) n, sizeof *it);
  assert_non_null (it);
  for (i = 0; i < n; i++) {
    it[i].out.iov[0].iov_base = it[i].hdr;
    it[i].out.iov[0].iov_len = 4;
    it[i].out.iovcnt = 1;
    it[i].out.done = item_done;
    it[i].done_count = &done;
    nbd_outq_push (&q, &it[i].out);
  }
  assert_int_equal (nbd_outq_flush (&q, sink_writev, &s), 0);
  assert_int_equal (done, n);
  /* 100 small replies in two vectored writes (64 iovecs per write). */
  assert_int_equal (s.calls, 2);
  free (it);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_info_request_good),
    cmocka_unit_test (test_info_request_bad),
    cmocka_unit_test (test_meta_request),
    cmocka_unit_test (test_decode_request),
    cmocka_unit_test (test_validate_good),
    cmocka_unit_test (test_validate_errors),
    cmocka_unit_test (test_transmission_flags),
    cmocka_unit_test (test_reply_encoding),
    cmocka_unit_test (test_errno_mapping),
    cmocka_unit_test (test_opt_reply_encoding),
    cmocka_unit_test (test_outq_partial),
    cmocka_unit_test (test_outq_batches),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
