/* requests.c: decoding request headers and deciding whether to serve them.
 *
 * Validation is a pure function of the header and what was advertised to
 * the client, so every rejection case can be unit-tested without a socket.
 * A rejected request gets an error reply; only a header that is not a
 * request at all (bad magic) ends the connection, because after it there is
 * no way to find the next request boundary.
 */
#include <errno.h>

#include "nbd/internal.h"

int
nbd_decode_request (const uint8_t *p, struct nbd_req_hdr *h)
{
  if (nbd_get32 (p) != NBD_REQUEST_MAGIC)
    return -EPROTO;
  h->flags = nbd_get16 (p + 4);
  h->type = nbd_get16 (p + 6);
  h->cookie = nbd_get64 (p + 8);
  h->offset = nbd_get64 (p + 16);
  h->len = nbd_get32 (p + 24);
  return 0;
}

uint16_t
nbd_transmission_flags (const struct braid_nbd_export *exp, bool structured)
{
  unsigned f = NBD_FLAG_HAS_FLAGS;
  bool ro = exp->flags & BRAID_NBD_EXPORT_READ_ONLY;

  if (ro)
    f |= NBD_FLAG_READ_ONLY;
  if (exp->flags & BRAID_NBD_EXPORT_FLUSH)
    f |= NBD_FLAG_SEND_FLUSH;
  if (exp->flags & BRAID_NBD_EXPORT_FUA)
    f |= NBD_FLAG_SEND_FUA;
  if (exp->flags & BRAID_NBD_EXPORT_ROTATIONAL)
    f |= NBD_FLAG_ROTATIONAL;
  /* Commands that modify data are not offered on a read-only export. */
  if (!ro && (exp->flags & BRAID_NBD_EXPORT_TRIM))
    f |= NBD_FLAG_SEND_TRIM;
  if (!ro && (exp->flags & BRAID_NBD_EXPORT_WRITE_ZEROES)) {
    f |= NBD_FLAG_SEND_WRITE_ZEROES;
    if (exp->flags & BRAID_NBD_EXPORT_FAST_ZERO)
      f |= NBD_FLAG_SEND_FAST_ZERO;
  }
  /* Every READ reply is a single chunk, so "don't fragment" is free. */
  if (structured)
    f |= NBD_FLAG_SEND_DF;
  if (exp->flags & BRAID_NBD_EXPORT_MULTI_CONN)
    f |= NBD_FLAG_CAN_MULTI_CONN;
  return (uint16_t) f;
}

uint32_t
nbd_validate_request (const struct nbd_req_hdr *h,
                      const struct nbd_req_ctx *x, const char **msg)
{
  unsigned allowed = 0;
  bool writes = false;
  uint64_t mask = (uint64_t) x->min_block - 1;

  if (x->shutdown) {
    *msg = "export is being removed or the server is shutting down";
    return NBD_ESHUTDOWN;
  }

  switch (h->type) {
  case NBD_CMD_READ:
    if (x->tflags & NBD_FLAG_SEND_DF)
      allowed |= NBD_CMD_FLAG_DF;
    break;
  case NBD_CMD_WRITE:
    writes = true;
    break;
  case NBD_CMD_FLUSH:
    if (!(x->tflags & NBD_FLAG_SEND_FLUSH)) {
      *msg = "flush is not supported by this export";
      return NBD_EINVAL;
    }
    break;
  case NBD_CMD_TRIM:
    writes = true;
    if (!(x->tflags & (NBD_FLAG_SEND_TRIM | NBD_FLAG_READ_ONLY))) {
      *msg = "trim is not supported by this export";
      return NBD_EINVAL;
    }
    break;
  case NBD_CMD_WRITE_ZEROES:
    writes = true;
    if (!(x->tflags & (NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_READ_ONLY))) {
      *msg = "write zeroes is not supported by this export";
      return NBD_EINVAL;
    }
    allowed |= NBD_CMD_FLAG_NO_HOLE;
    if (x->tflags & NBD_FLAG_SEND_FAST_ZERO)
      allowed |= NBD_CMD_FLAG_FAST_ZERO;
    break;
  default:
    *msg = "unknown command";
    return NBD_EINVAL;
  }

  /* FUA is valid on every command once advertised (clients set it on
   * reads too); any other bit must be documented for this command. */
  if (x->tflags & NBD_FLAG_SEND_FUA)
    allowed |= NBD_CMD_FLAG_FUA;
  if (h->flags & ~allowed) {
    *msg = "invalid command flags";
    return NBD_EINVAL;
  }

  if (writes && (x->tflags & NBD_FLAG_READ_ONLY)) {
    *msg = "export is read-only";
    return NBD_EPERM;
  }

  if (h->type == NBD_CMD_FLUSH) {
    if (h->offset != 0 || h->len != 0) {
      *msg = "flush with non-zero offset or length";
      return NBD_EINVAL;
    }
    return 0;
  }

  /* Only READ and WRITE move data; TRIM and WRITE_ZEROES may cover any
   * range of the export. */
  if ((h->type == NBD_CMD_READ || h->type == NBD_CMD_WRITE)
      && h->len > x->max_payload) {
    *msg = "request length exceeds the maximum block size";
    return NBD_EINVAL;
  }

  if ((h->offset & mask) != 0 || (h->len & mask) != 0) {
    *msg = "request not aligned to the minimum block size";
    return NBD_EINVAL;
  }

  /* offset + len > size, written so it cannot overflow. */
  if (h->len > x->size || h->offset > x->size - h->len) {
    *msg = "request beyond the end of the export";
    return writes && h->type != NBD_CMD_TRIM ? NBD_ENOSPC : NBD_EINVAL;
  }
  return 0;
}
