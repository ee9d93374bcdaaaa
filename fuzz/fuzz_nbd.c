/* fuzz_nbd.c: the NBD server's handshake and request parser fed by a
 * hostile client.
 *
 * A socketless connection (fd -1, replies dropped) receives the input in
 * chunks whose sizes come from the input itself, so every parser state is
 * entered at every byte boundary.  The backend completes reads and writes
 * at once and fails the rest, so both reply paths run.  Whatever arrives,
 * the server must not read or write outside its buffers and must free
 * everything.
 */
#include <stdlib.h>
#include <string.h>

#include "braid/loop.h"
#include "braid/nbd.h"
#include "nbd/internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
be_rw (void *opaque, uint64_t offset, const struct iovec *iov, int iovcnt,
       uint32_t len, unsigned flags, struct braid_nbd_request *req)
{
  (void) opaque; (void) offset; (void) flags;
  for (int i = 0; i < iovcnt; i++)
    memset (iov[i].iov_base, 0x5a, iov[i].iov_len);   /* touch every byte */
  (void) len;
  braid_nbd_complete (req, 0);
  return 0;
}

static int
be_flush (void *opaque, unsigned flags, struct braid_nbd_request *req)
{
  (void) opaque; (void) flags;
  braid_nbd_complete (req, 5);
  return 0;
}

static int
be_range (void *opaque, uint64_t offset, uint32_t len, unsigned flags,
          struct braid_nbd_request *req)
{
  (void) opaque; (void) offset; (void) len; (void) flags; (void) req;
  return -22;
}

static const struct braid_nbd_backend backend = {
  .read = be_rw, .write = be_rw, .flush = be_flush,
  .trim = be_range, .write_zeroes = be_range,
};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct braid_nbd_server_config cfg = { .max_in_flight = 8, .max_options = 16 };
  struct braid_loop *loop = braid_loop_new ();
  struct braid_nbd_server *srv = braid_nbd_server_new (loop, &cfg);
  struct braid_nbd_export_config ec = {
    .name = "disk", .description = "fuzz", .size = 1 << 20,
    .min_block_size = 512, .preferred_block_size = 4096, .max_block_size = 1 << 16,
    .flags = BRAID_NBD_EXPORT_FLUSH | BRAID_NBD_EXPORT_FUA | BRAID_NBD_EXPORT_TRIM
             | BRAID_NBD_EXPORT_WRITE_ZEROES,
    .backend = &backend,
  };
  braid_nbd_export_add (srv, &ec);
  struct nbd_conn *c = nbd_conn_new (srv, -1, "fuzz");
  size_t off = 0;
  for (int round = 0; c && off < size && round < 4096; round++) {
    size_t chunk = 1 + data[off] % 64;
    if (chunk > size - off)
      chunk = size - off;
    size_t used = nbd_conn_feed (c, data + off, chunk);
    if (used == 0)
      break;                        /* closed or saturated */
    off += used;
  }
  braid_nbd_server_free (srv);
  braid_loop_free (loop);
  return 0;
}
