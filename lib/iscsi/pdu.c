/* pdu.c: outgoing PDUs and the iovec slices they carry.
 *
 * A PDU's data segment is either bytes the PDU owns (login and text keys,
 * ping data) or a slice of the caller's own buffers (immediate data,
 * Data-Out), so WRITE payloads go from the application's iovecs to the
 * socket with no copy.  PDU structs are recycled through a small per-session
 * cache because a busy session creates and frees one per Data-Out.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/internal.h"
#include "util/crc32c.h"

#define PDU_CACHE_MAX 256

struct iscsi_pdu *
pdu_new (struct braid_iscsi *s)
{
  struct iscsi_pdu *p = s->pdu_cache;

  if (p) {
    s->pdu_cache = p->next;
    s->pdu_cache_n--;
  }
  else {
    p = malloc (sizeof *p);
    if (!p)
      return NULL;
  }
  memset (p, 0, offsetof (struct iscsi_pdu, hdr) + BHS_LEN);
  p->hdr_len = BHS_LEN;
  p->own = NULL;
  p->task = NULL;
  p->data_off = p->data_len = 0;
  p->trailer_len = 0;
  p->total = p->done = 0;
  p->is_cmd = 0;
  return p;
}

void
pdu_free (struct braid_iscsi *s, struct iscsi_pdu *p)
{
  if (!p)
    return;
  free (p->own);
  p->own = NULL;
  if (s->pdu_cache_n < PDU_CACHE_MAX) {
    p->next = s->pdu_cache;
    s->pdu_cache = p;
    s->pdu_cache_n++;
  }
  else
    free (p);
}

void
pdu_cache_drain (struct braid_iscsi *s)
{
  while (s->pdu_cache) {
    struct iscsi_pdu *p = s->pdu_cache;
    s->pdu_cache = p->next;
    free (p);
  }
  s->pdu_cache_n = 0;
}

int
pdu_set_own_data (struct iscsi_pdu *p, const void *data, size_t len)
{
  if (len == 0)
    return 0;
  if (len > 0xffffff)
    return -E2BIG;
  p->own = malloc (len);
  if (!p->own)
    return -ENOMEM;
  memcpy (p->own, data, len);
  p->data_len = (uint32_t) len;
  return 0;
}

/* Map bytes [off, off+len) of an iovec array to at most 'outcap' iovecs.
 * Returns the number used and sets '*covered' to the bytes they span (less
 * than 'len' when the range needs more than 'outcap' entries or runs past
 * the array). */
int
iov_gather (const struct iovec *iov, int iovcnt, size_t off, size_t len,
            struct iovec *out, int outcap, size_t *covered)
{
  int n = 0;

  *covered = 0;
  for (int i = 0; i < iovcnt && len > 0 && n < outcap; i++) {
    if (off >= iov[i].iov_len) {
      off -= iov[i].iov_len;
      continue;
    }
    size_t take = iov[i].iov_len - off;
    if (take > len)
      take = len;
    out[n].iov_base = (uint8_t *) iov[i].iov_base + off;
    out[n].iov_len = take;
    n++;
    len -= take;
    *covered += take;
    off = 0;
  }
  return n;
}

uint32_t
iov_crc (uint32_t crc, const struct iovec *iov, int iovcnt, size_t off,
         size_t len)
{
  for (int i = 0; i < iovcnt && len > 0; i++) {
    if (off >= iov[i].iov_len) {
      off -= iov[i].iov_len;
      continue;
    }
    size_t take = iov[i].iov_len - off;
    if (take > len)
      take = len;
    crc = braid_crc32c (crc, (uint8_t *) iov[i].iov_base + off, take);
    len -= take;
    off = 0;
  }
  return crc;
}

/* Fill in DataSegmentLength, padding and digests, once every header field
 * is final (the header digest covers them all). */
void
pdu_finalize (struct braid_iscsi *s, struct iscsi_pdu *p, int digests)
{
  uint32_t pad = (4 - (p->data_len & 3)) & 3;

  put24 (p->hdr + 5, p->data_len);
  p->hdr[4] = (uint8_t) ((p->hdr_len - BHS_LEN) / 4);
  if (digests && s->hdigest) {
    uint32_t crc = braid_crc32c (0, p->hdr, p->hdr_len);
    /* Digests go on the wire least significant byte first (§11.2.3). */
    p->hdr[p->hdr_len] = (uint8_t) crc;
    p->hdr[p->hdr_len + 1] = (uint8_t) (crc >> 8);
    p->hdr[p->hdr_len + 2] = (uint8_t) (crc >> 16);
    p->hdr[p->hdr_len + 3] = (uint8_t) (crc >> 24);
    p->hdr_len += 4;
  }
  memset (p->trailer, 0, pad);
  p->trailer_len = pad;
  if (digests && s->ddigest && p->data_len > 0) {
    uint32_t crc;
    static const uint8_t zeros[4];
    if (p->own)
      crc = braid_crc32c (0, p->own, p->data_len);
    else
      crc = iov_crc (0, p->task->iov, p->task->iovcnt, p->data_off, p->data_len);
    crc = braid_crc32c (crc, zeros, pad);
    p->trailer[pad] = (uint8_t) crc;
    p->trailer[pad + 1] = (uint8_t) (crc >> 8);
    p->trailer[pad + 2] = (uint8_t) (crc >> 16);
    p->trailer[pad + 3] = (uint8_t) (crc >> 24);
    p->trailer_len += 4;
  }
  p->total = p->hdr_len + p->data_len + p->trailer_len;
  p->done = 0;
}

void
pdu_queue (struct braid_iscsi *s, struct iscsi_pdu *p)
{
  p->next = NULL;
  if (p->task)
    p->task->pdus_queued++;
  if (s->sendq_tail)
    s->sendq_tail->next = p;
  else
    s->sendq = p;
  s->sendq_tail = p;
}
