/* export.c: one NBD export per map, named after the map.
 *
 * The NBD backend calls go straight to braid_mp_map_submit with the NBD
 * server's own buffers, so data moves between the client's socket and the
 * target's socket without a copy in between.  Exports appear when a map
 * appears and go away when it does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "braidd.h"

static void
done (void *opaque, int err)
{
  braid_nbd_complete (opaque, err);
}

static int
submit (void *opaque, int op, uint64_t offset, const struct iovec *iov,
        int iovcnt, uint32_t len, unsigned flags, struct braid_nbd_request *req)
{
  struct braid_mp_map *m = opaque;
  struct braid_mp_io io = { .op = op, .offset = offset, .len = len, .iov = iov,
                            .iovcnt = iovcnt, .fua = (flags & BRAID_NBD_REQ_FUA) != 0 };
  int r = braid_mp_map_submit (m, &io, done, req);
  return r;
}

static int
be_read (void *opaque, uint64_t offset, const struct iovec *iov, int iovcnt,
         uint32_t len, unsigned flags, struct braid_nbd_request *req)
{
  return submit (opaque, BRAID_MP_READ, offset, iov, iovcnt, len, flags, req);
}

static int
be_write (void *opaque, uint64_t offset, const struct iovec *iov, int iovcnt,
          uint32_t len, unsigned flags, struct braid_nbd_request *req)
{
  return submit (opaque, BRAID_MP_WRITE, offset, iov, iovcnt, len, flags, req);
}

static int
be_flush (void *opaque, unsigned flags, struct braid_nbd_request *req)
{
  return submit (opaque, BRAID_MP_FLUSH, 0, NULL, 0, 0, flags, req);
}

static int
be_trim (void *opaque, uint64_t offset, uint32_t len, unsigned flags,
         struct braid_nbd_request *req)
{
  return submit (opaque, BRAID_MP_UNMAP, offset, NULL, 0, len, flags, req);
}

static int
be_zero (void *opaque, uint64_t offset, uint32_t len, unsigned flags,
         struct braid_nbd_request *req)
{
  if (flags & BRAID_NBD_REQ_FAST_ZERO)
    return -ENOTSUP;
  return submit (opaque, BRAID_MP_WRITE_ZEROES, offset, NULL, 0, len, flags, req);
}

static const struct braid_nbd_backend backend = {
  .read = be_read, .write = be_write, .flush = be_flush,
  .trim = be_trim, .write_zeroes = be_zero,
};

void
export_uri (struct daemon *d, const struct braid_mp_map *m, char *buf, size_t len)
{
  snprintf (buf, len, "nbd+unix:///%s?socket=%s", braid_mp_map_name (m), d->nbd_path);
}

/* The URI a remote client uses: nbds:// when TLS is required.  Empty
 * without --nbd-tcp.  IPv6 hosts get their brackets. */
void
export_tcp_uri (struct daemon *d, const struct braid_mp_map *m, char *buf, size_t len)
{
  unsigned port = d->nbd ? braid_nbd_server_tcp_port (d->nbd) : 0;
  int v6 = strchr (d->nbd_tcp_host, ':') != NULL;

  if (!d->nbd_tcp || !port) {
    buf[0] = '\0';
    return;
  }
  snprintf (buf, len, "%s://%s%s%s:%u/%s",
            d->nbd_tls.mode == BRAID_NBD_TLS_REQUIRE ? "nbds" : "nbd",
            v6 ? "[" : "", d->nbd_tcp_host, v6 ? "]" : "", port,
            braid_mp_map_name (m));
}

void
export_event (void *opaque, int event, struct braid_mp_map *m,
              struct braid_mp_path *p)
{
  struct daemon *d = opaque;
  (void) p;

  if (!m || !d->nbd)
    return;
  struct braid_nbd_export *e = braid_nbd_server_find_export (d->nbd, braid_mp_map_name (m));
  switch (event) {
  case BRAID_MP_EV_MAP_ADDED: {
    if (e)
      return;
    char desc[300];
    snprintf (desc, sizeof desc, "braid multipath map %s (WWID %s)",
              braid_mp_map_name (m), braid_mp_map_wwid (m));
    uint32_t bs = braid_mp_map_block_size (m);
    struct braid_nbd_export_config c = {
      .name = braid_mp_map_name (m), .description = desc,
      .size = braid_mp_map_size (m),
      .min_block_size = bs ? bs : 512, .preferred_block_size = 4096,
      .max_block_size = 32u << 20,
      .flags = BRAID_NBD_EXPORT_FLUSH | BRAID_NBD_EXPORT_FUA
               | BRAID_NBD_EXPORT_TRIM | BRAID_NBD_EXPORT_WRITE_ZEROES
               | BRAID_NBD_EXPORT_MULTI_CONN,
      .backend = &backend, .backend_opaque = m,
    };
    if (!braid_nbd_export_add (d->nbd, &c))
      dlog (d, BRAID_LOG_ERR, "%s: cannot export over NBD: %s",
            braid_mp_map_name (m), braid_nbd_server_get_error (d->nbd));
    else {
      char uri[4200];
      export_uri (d, m, uri, sizeof uri);
      dlog (d, BRAID_LOG_NOTICE, "%s: exported as %s", braid_mp_map_name (m), uri);
    }
    break;
  }
  case BRAID_MP_EV_MAP_REMOVED:
    if (e)
      braid_nbd_export_remove (e);
    break;
  case BRAID_MP_EV_MAP_RESIZED:
    if (e)
      braid_nbd_export_resize (e, braid_mp_map_size (m));
    break;
  default:
    break;
  }
}
