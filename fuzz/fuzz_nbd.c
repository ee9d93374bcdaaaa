/* fuzz_nbd.c: the NBD server's handshake and request parser fed by a
 * hostile client.
 *
 * A socketless connection (fd -1, replies dropped) receives the input in
 * chunks whose sizes come from the input itself, so every parser state is
 * entered at every byte boundary.  The backend completes reads and writes
 * at once and fails the rest, so both reply paths run.  When the last
 * byte's top bit is set the server requires TLS of this (TCP) client, so
 * the STARTTLS answer and the refusals before it are fuzzed too; the TLS
 * handshake itself is OpenSSL's.  Whatever arrives,
 * the server must not read or write outside its buffers and must free
 * everything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* A PSK file for the TLS-requiring runs, written once and removed at
 * exit. */
static char psk_path[64], psk_dir[64];

static void
psk_remove (void)
{
  unlink (psk_path);
  rmdir (psk_dir);
}

static const char *
psk_file (void)
{
  char *path = psk_path;

  if (path[0] == '\0') {
    FILE *f;

    snprintf (psk_dir, sizeof psk_dir, "/tmp/braid-fuzz-nbd-XXXXXX");
    if (mkdtemp (psk_dir) == NULL)
      abort ();
    snprintf (path, sizeof psk_path, "%s/keys.psk", psk_dir);
    f = fopen (path, "w");
    if (f == NULL)
      abort ();
    fputs ("fuzz:000102030405060708090a0b0c0d0e0f\n", f);
    fclose (f);
    chmod (path, 0600);
    atexit (psk_remove);
  }
  return path;
}

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
  bool tls = size > 0 && (data[size - 1] & 0x80);
  if (tls) {
    struct braid_nbd_tls_config tc = { .mode = BRAID_NBD_TLS_REQUIRE,
                                       .psk_file = psk_file () };
    if (braid_nbd_server_set_tls (srv, &tc) < 0)
      abort ();
  }
  struct nbd_conn *c = nbd_conn_new (srv, -1, "fuzz", tls);
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
