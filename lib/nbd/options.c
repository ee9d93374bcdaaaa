/* options.c: parsing option payloads and encoding option replies.
 *
 * Pure functions over byte buffers, so the unit tests can throw any byte
 * sequence at them.  Every length read from an option is checked against
 * the bytes actually present before it is used, with subtraction on the
 * known-good side so nothing can wrap.
 */
#include <errno.h>
#include <string.h>

#include "nbd/internal.h"

int
nbd_parse_info_request (const uint8_t *data, uint32_t len,
                        struct nbd_info_req *out)
{
  uint32_t namelen, nreq, i;
  const uint8_t *p;

  memset (out, 0, sizeof *out);
  /* 32-bit name length, name, 16-bit count, 16-bit requests. */
  if (len < 6)
    return -EINVAL;
  namelen = nbd_get32 (data);
  if (namelen > len - 6)
    return -EINVAL;
  if (namelen > BRAID_NBD_MAX_STRING)
    return -E2BIG;
  p = data + 4 + namelen;
  nreq = nbd_get16 (p);
  p += 2;
  /* The rest must be exactly the requests: no more, no less. */
  if ((uint64_t) nreq * 2 != (uint64_t) (len - 6 - namelen))
    return -EINVAL;
  for (i = 0; i < nreq; i++, p += 2) {
    switch (nbd_get16 (p)) {
    case NBD_INFO_NAME: out->want_name = true; break;
    case NBD_INFO_DESCRIPTION: out->want_description = true; break;
    case NBD_INFO_BLOCK_SIZE: out->want_block_size = true; break;
    default: break;             /* unknown requests are ignored */
    }
  }
  out->name = (const char *) data + 4;
  out->namelen = namelen;
  return 0;
}

int
nbd_parse_meta_request (const uint8_t *data, uint32_t len,
                        struct nbd_meta_req *out)
{
  uint32_t namelen, nq, i, off;

  memset (out, 0, sizeof *out);
  /* 32-bit name length, name, 32-bit query count, queries. */
  if (len < 8)
    return -EINVAL;
  namelen = nbd_get32 (data);
  if (namelen > len - 8)
    return -EINVAL;
  if (namelen > BRAID_NBD_MAX_STRING)
    return -E2BIG;
  off = 4 + namelen;
  nq = nbd_get32 (data + off);
  off += 4;
  /* Each query needs at least its 4-byte length, which bounds the loop by
   * the option size before anything is read. */
  if (nq > (len - off) / 4)
    return -EINVAL;
  for (i = 0; i < nq; i++) {
    uint32_t ql;

    if (len - off < 4)
      return -EINVAL;
    ql = nbd_get32 (data + off);
    off += 4;
    if (ql > len - off)
      return -EINVAL;
    if (ql > BRAID_NBD_MAX_STRING)
      return -E2BIG;
    off += ql;
  }
  if (off != len)
    return -EINVAL;
  out->name = (const char *) data + 4;
  out->namelen = namelen;
  out->nqueries = nq;
  return 0;
}

void
nbd_put_opt_reply (struct nbd_buf *b, uint32_t opt, uint32_t type,
                   const void *payload, uint32_t len)
{
  nbd_buf_put64 (b, NBD_MAGIC_REP);
  nbd_buf_put32 (b, opt);
  nbd_buf_put32 (b, type);
  nbd_buf_put32 (b, len);
  nbd_buf_put (b, payload, len);
}

void
nbd_put_opt_error (struct nbd_buf *b, uint32_t opt, uint32_t type,
                   const char *msg)
{
  size_t l = msg ? strlen (msg) : 0;

  if (l > BRAID_NBD_MAX_STRING)
    l = BRAID_NBD_MAX_STRING;
  nbd_put_opt_reply (b, opt, type, msg, (uint32_t) l);
}

void
nbd_put_rep_server (struct nbd_buf *b, uint32_t opt, const char *name,
                    const char *description)
{
  /* Both strings were capped at registration, so the sum fits easily. */
  uint32_t nl = (uint32_t) strlen (name);
  uint32_t dl = (uint32_t) strlen (description);

  nbd_buf_put64 (b, NBD_MAGIC_REP);
  nbd_buf_put32 (b, opt);
  nbd_buf_put32 (b, NBD_REP_SERVER);
  nbd_buf_put32 (b, 4 + nl + dl);
  nbd_buf_put32 (b, nl);
  nbd_buf_put (b, name, nl);
  nbd_buf_put (b, description, dl);
}

static void
put_info_string (struct nbd_buf *b, uint32_t opt, uint16_t type,
                 const char *s)
{
  uint32_t l = (uint32_t) strlen (s);

  nbd_buf_put64 (b, NBD_MAGIC_REP);
  nbd_buf_put32 (b, opt);
  nbd_buf_put32 (b, NBD_REP_INFO);
  nbd_buf_put32 (b, 2 + l);
  nbd_buf_put16 (b, type);
  nbd_buf_put (b, s, l);
}

void
nbd_put_info_replies (struct nbd_buf *b, uint32_t opt,
                      const struct nbd_info_req *ir,
                      const struct braid_nbd_export *exp, uint16_t tflags)
{
  uint8_t p[14];

  /* NBD_INFO_EXPORT is mandatory. */
  nbd_put16 (p, NBD_INFO_EXPORT);
  nbd_put64 (p + 2, exp->size);
  nbd_put16 (p + 10, tflags);
  nbd_put_opt_reply (b, opt, NBD_REP_INFO, p, 12);

  /* Block sizes go out even unasked: we enforce them whatever the client
   * says, and a client that understands them avoids EINVAL replies. */
  nbd_put16 (p, NBD_INFO_BLOCK_SIZE);
  nbd_put32 (p + 2, exp->min_block);
  nbd_put32 (p + 6, exp->pref_block);
  nbd_put32 (p + 10, exp->max_block);
  nbd_put_opt_reply (b, opt, NBD_REP_INFO, p, 14);

  if (ir->want_name)
    put_info_string (b, opt, NBD_INFO_NAME, exp->name);
  if (ir->want_description && exp->description[0] != '\0')
    put_info_string (b, opt, NBD_INFO_DESCRIPTION, exp->description);
}
