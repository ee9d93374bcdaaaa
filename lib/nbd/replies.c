/* replies.c: encoding transmission replies and mapping errors to the wire.
 *
 * The header bytes land in a buffer inside the request, so a READ reply is
 * two iovecs (header, data) and nothing is copied.  Errors from backends
 * are Linux errno values; the protocol only knows eight of them, so the
 * rest are folded onto the closest one.
 */
#include <errno.h>

#include "nbd/internal.h"

uint32_t
nbd_errno_to_wire (int err)
{
  switch (err) {
  case 0: return 0;
  case EPERM: case EACCES: case EROFS: return NBD_EPERM;
  case EIO: return NBD_EIO;
  case ENOMEM: return NBD_ENOMEM;
  case EINVAL: return NBD_EINVAL;
  case ENOSPC: case EDQUOT: case EFBIG: return NBD_ENOSPC;
  case EOVERFLOW: return NBD_EOVERFLOW;
  case ENOTSUP:
#if EOPNOTSUPP != ENOTSUP
  case EOPNOTSUPP:
#endif
    return NBD_ENOTSUP;
  case ESHUTDOWN: return NBD_ESHUTDOWN;
  default: return NBD_EIO;
  }
}

void
nbd_encode_simple_reply (uint8_t out[16], uint32_t error, uint64_t cookie)
{
  nbd_put32 (out, NBD_SIMPLE_REPLY_MAGIC);
  nbd_put32 (out + 4, error);
  nbd_put64 (out + 8, cookie);
}

void
nbd_encode_structured_hdr (uint8_t out[20], uint16_t flags, uint16_t type,
                           uint64_t cookie, uint32_t length)
{
  nbd_put32 (out, NBD_STRUCTURED_REPLY_MAGIC);
  nbd_put16 (out + 4, flags);
  nbd_put16 (out + 6, type);
  nbd_put64 (out + 8, cookie);
  nbd_put32 (out + 16, length);
}

void
nbd_encode_data_chunk (uint8_t out[28], uint64_t cookie, uint64_t offset,
                       uint32_t datalen, bool done)
{
  /* datalen <= BRAID_NBD_MAX_PAYLOAD, so 8 + datalen cannot wrap. */
  nbd_encode_structured_hdr (out, done ? NBD_REPLY_FLAG_DONE : 0,
                             NBD_REPLY_TYPE_OFFSET_DATA, cookie,
                             8 + datalen);
  nbd_put64 (out + 20, offset);
}

void
nbd_encode_error_chunk (uint8_t out[26], uint64_t cookie, uint32_t error,
                        uint16_t msglen)
{
  nbd_encode_structured_hdr (out, NBD_REPLY_FLAG_DONE, NBD_REPLY_TYPE_ERROR,
                             cookie, 6u + msglen);
  nbd_put32 (out + 20, error);
  nbd_put16 (out + 24, msglen);
}
