/* fuzz_pdu.c: the initiator's receive path fed by a hostile target.
 *
 * The input is what a target sends on the socket.  The first byte picks
 * the situation: login phase, or Full Feature Phase with a read, a write
 * (so R2T and Data-In paths are live), a ping and a TMF outstanding, with
 * or without header and data digests.  The bytes go through a socketpair
 * into the real conn_read -> frame -> dispatch code, so every length,
 * sequence number and tag check is exercised exactly as in production.
 * Whatever the input, the session must fail cleanly, never touch memory it
 * does not own, and free everything.
 */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "iscsi/internal.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
ignore (struct braid_iscsi *s, int status, void *d, void *opaque)
{
  (void) s; (void) status; (void) d; (void) opaque;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static uint8_t rbuf[65536], wbuf[65536];
  /* The session reads these until it is freed: they must outlive it. */
  static struct iovec riov = { rbuf, 32768 };
  static struct iovec wiov[2] = { { wbuf, 1000 }, { wbuf + 1000, 31768 } };
  int sv[2];

  if (size < 1 || size > 60000)
    return 0;
  uint8_t mode = data[0];
  data++;
  size--;

  struct braid_iscsi *s = braid_iscsi_new ("iqn.2026-11.dev.braid:fuzz");
  if (!s)
    return 0;
  braid_iscsi_set_portal (s, "127.0.0.1:3260");
  braid_iscsi_set_target (s, "iqn.2026-11.dev.braid:target");
  if (mode & 8) {
    braid_iscsi_set_chap (s, "user", "secret-secret", 13);
    if (mode & 16)
      braid_iscsi_set_target_chap (s, "tuser", "other-secret", 12);
  }
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
    braid_iscsi_free (s);
    return 0;
  }
  int big = 1 << 20;
  setsockopt (sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt (sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  s->fd = sv[0];
  s->login_itt = 0x1000;
  s->no_connect = 1;                /* redirections must not reach out */

  if (mode & 1) {
    /* Full Feature Phase with work outstanding. */
    s->state = S_FFP;
    s->logged_in_once = 1;
    iscsi_neg_init (&s->neg, &s->opts, 0);
    iscsi_neg_finish (&s->neg, &s->nego);
    s->have_nego = 1;
    s->nego.max_recv_data_segment_length = 65536;
    s->nego.initial_r2t = (mode & 32) != 0;
    s->max_xmit = 4096;
    s->hdigest = (mode & 2) != 0;
    s->ddigest = (mode & 4) != 0;
    s->cmdsn = s->exp_cmdsn = 1;
    s->max_cmdsn = 64;
    s->exp_statsn = 1;
    s->statsn_valid = 1;
    free (s->rx.buf);
    s->rx.cap = 65536 + 4096;
    s->rx.buf = malloc (s->rx.cap);
    uint8_t cdb[16] = { 0x88 };
    struct braid_scsi_cmd rd = { .lun = 1, .cdb = cdb, .cdb_len = 16,
                                 .dir = BRAID_DIR_READ, .iov = &riov, .iovcnt = 1,
                                 .xfer_len = 32768 };
    struct braid_scsi_cmd wr = { .lun = 1, .cdb = cdb, .cdb_len = 16,
                                 .dir = BRAID_DIR_WRITE, .iov = wiov, .iovcnt = 2,
                                 .xfer_len = 32768 };
    braid_iscsi_command_async (s, &rd, ignore, NULL, NULL);
    braid_iscsi_command_async (s, &wr, ignore, NULL, NULL);
    braid_iscsi_ping_async (s, ignore, NULL);
    braid_iscsi_tmf_async (s, BRAID_TMF_LUN_RESET, 1, ignore, NULL);
  }
  else {
    s->state = S_CONNECTING;
    braid_iscsi_service (s, POLLOUT);   /* -> login_start */
  }

  size_t off = 0;
  for (int round = 0; round < 64 && s->fd >= 0; round++) {
    if (off < size) {
      ssize_t w = write (sv[1], data + off, size - off);
      if (w > 0)
        off += (size_t) w;
    }
    if (off >= size)
      shutdown (sv[1], SHUT_WR);
    braid_iscsi_service (s, POLLIN);
    /* drain what the initiator wrote so its sends never block */
    uint8_t sink[4096];
    while (read (sv[1], sink, sizeof sink) > 0)
      ;
  }
  braid_iscsi_free (s);
  close (sv[1]);
  return 0;
}
