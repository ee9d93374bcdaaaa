/* tls.c: TLS for NBD connections (NBD_OPT_STARTTLS), with OpenSSL.
 *
 * Two kinds of credentials, in the files qemu, nbdkit and libnbd already
 * use, so one set of files serves every client an admin has: a PSK file
 * ("identity:hexkey" lines, GnuTLS psktool's format) or an X.509
 * directory (server-cert.pem, server-key.pem, ca-cert.pem), optionally
 * with client certificates required.
 *
 * Credentials are an SSL_CTX plus the PSK table, refcounted: each TLS
 * connection holds a reference, so a reload can replace the server's set
 * while older connections finish on theirs.  Secret files are read into
 * memory after checking, on the open descriptor, that only we can read
 * them; the memory is wiped when freed and no key byte reaches a message.
 *
 * The socket stays non-blocking: OpenSSL's WANT_READ/WANT_WRITE become
 * the poll events connection.c waits for (tls_hs_want, tls_rd_want,
 * tls_wr_want).  Writes use partial-write mode so a short write advances
 * the output queue like a short sendmsg, and small messages are gathered
 * into one record rather than one record per 16-byte reply header.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "nbd/internal.h"
#include "util/bytes.h"

/* Longest PSK identity and key we accept (psktool writes 32-byte keys). */
#define PSK_MAX_IDENTITY 128
#define PSK_MAX_KEY 64
/* Largest secret or certificate file read. */
#define TLS_MAX_FILE (1024 * 1024)
/* Gathering buffer for small messages: one TLS record's worth. */
#define TLS_GATHER 16384

struct psk_entry {
  char identity[PSK_MAX_IDENTITY + 1];
  unsigned char key[PSK_MAX_KEY];
  unsigned keylen;
};

struct nbd_tls {
  SSL_CTX *ctx;
  unsigned refs;
  struct psk_entry *psk;
  size_t npsk;
  uint8_t gather[TLS_GATHER];          /* loop thread only: one user at a time */
};

static void
tls_free (struct nbd_tls *t)
{
  SSL_CTX_free (t->ctx);
  if (t->psk) {
    OPENSSL_cleanse (t->psk, t->npsk * sizeof *t->psk);
    free (t->psk);
  }
  free (t);
}

void
nbd_tls_unref (struct nbd_tls *t)
{
  if (t && --t->refs == 0)
    tls_free (t);
}

/* The first OpenSSL error as text, then clear the queue. */
static const char *
ossl_reason (char *buf, size_t cap)
{
  unsigned long e = ERR_get_error ();

  if (e == 0)
    snprintf (buf, cap, "no further detail");
  else
    ERR_error_string_n (e, buf, cap);
  ERR_clear_error ();
  return buf;
}

/* ---- reading files ---- */

/* Read the secret file 'path' whole into a NUL-terminated buffer (see
 * braid_secret_file_open for the rules).  Returns 0 or -errno with the
 * reason in srv's message. */
static int
read_secret (struct braid_nbd_server *srv, const char *path, char **out,
             size_t *outlen)
{
  struct stat st;
  char *buf;
  size_t got = 0;
  int fd, err;

  fd = braid_secret_file_open (path, 0, srv->err, sizeof srv->err);
  if (fd < 0)
    return fd;
  if (fstat (fd, &st) < 0 || st.st_size > TLS_MAX_FILE) {
    nbd_server_set_error (srv, "%s: larger than %d bytes", path, TLS_MAX_FILE);
    close (fd);
    return -EINVAL;
  }
  buf = malloc ((size_t) st.st_size + 1);
  if (buf == NULL) {
    close (fd);
    nbd_server_set_error (srv, "%s: out of memory", path);
    return -ENOMEM;
  }
  while (got < (size_t) st.st_size) {
    ssize_t r = read (fd, buf + got, (size_t) st.st_size - got);

    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      err = r < 0 ? errno : EIO;
      nbd_server_set_error (srv, "%s: %s", path,
                            r < 0 ? strerror (err) : "file shrank while read");
      OPENSSL_cleanse (buf, got);
      free (buf);
      close (fd);
      return -err;
    }
    got += (size_t) r;
  }
  close (fd);
  buf[got] = '\0';
  *out = buf;
  *outlen = got;
  return 0;
}

/* Parse one "identity:hexkey" line into 'e'.  Returns NULL or the reason
 * (static text; never quotes the key). */
static const char *
parse_psk_line (char *line, struct psk_entry *e)
{
  char *colon = strchr (line, ':');
  const char *hex;
  size_t idlen, hexlen, i;

  if (colon == NULL)
    return "expected IDENTITY:HEXKEY";
  idlen = (size_t) (colon - line);
  if (idlen == 0)
    return "empty identity";
  if (idlen > PSK_MAX_IDENTITY)
    return "identity longer than 128 bytes";
  for (i = 0; i < idlen; i++)
    if ((unsigned char) line[i] <= 0x20 || (unsigned char) line[i] >= 0x7f)
      return "identity holds a space or a non-printable byte";
  hex = colon + 1;
  hexlen = strlen (hex);
  if (hexlen == 0)
    return "empty key";
  if (hexlen % 2)
    return "key has an odd number of hex digits";
  if (hexlen / 2 > PSK_MAX_KEY)
    return "key longer than 64 bytes";
  for (i = 0; i < hexlen; i += 2) {
    int hi = braid_hex_digit (hex[i]), lo = braid_hex_digit (hex[i + 1]);

    if (hi < 0 || lo < 0)
      return "key is not hexadecimal";
    e->key[i / 2] = (unsigned char) (hi << 4 | lo);
  }
  e->keylen = (unsigned) (hexlen / 2);
  memcpy (e->identity, line, idlen);
  e->identity[idlen] = '\0';
  return NULL;
}

static int
load_psk (struct braid_nbd_server *srv, const char *path, struct nbd_tls *t)
{
  char *text, *line, *next;
  size_t len, cap = 0;
  unsigned lineno = 0;
  int r;

  r = read_secret (srv, path, &text, &len);
  if (r < 0)
    return r;
  for (line = text; line && *line; line = next) {
    struct psk_entry e;
    const char *why;
    char *end;
    size_t i;

    lineno++;
    next = strchr (line, '\n');
    if (next)
      *next++ = '\0';
    end = line + strlen (line);
    while (end > line && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
      *--end = '\0';
    if (*line == '\0' || *line == '#')
      continue;
    memset (&e, 0, sizeof e);
    why = parse_psk_line (line, &e);
    for (i = 0; why == NULL && i < t->npsk; i++)
      if (strcmp (t->psk[i].identity, e.identity) == 0)
        why = "identity given twice";
    if (why == NULL && t->npsk == cap) {
      size_t ncap = cap ? 2 * cap : 8;
      struct psk_entry *n = calloc (ncap, sizeof *n);

      if (n == NULL)
        why = "out of memory";
      else {
        if (t->npsk)
          memcpy (n, t->psk, t->npsk * sizeof *n);
        if (t->psk) {
          OPENSSL_cleanse (t->psk, t->npsk * sizeof *n);
          free (t->psk);
        }
        t->psk = n;
        cap = ncap;
      }
    }
    if (why) {
      OPENSSL_cleanse (&e, sizeof e);
      OPENSSL_cleanse (text, len);
      free (text);
      nbd_server_set_error (srv, "%s:%u: %s", path, lineno, why);
      return -EINVAL;
    }
    t->psk[t->npsk++] = e;
    OPENSSL_cleanse (&e, sizeof e);
  }
  OPENSSL_cleanse (text, len);
  free (text);
  if (t->npsk == 0) {
    nbd_server_set_error (srv, "%s: no IDENTITY:HEXKEY line", path);
    return -EINVAL;
  }
  return 0;
}

/* ---- OpenSSL callbacks ---- */

static unsigned int
psk_server_cb (SSL *ssl, const char *identity, unsigned char *psk,
               unsigned int max_psk_len)
{
  struct nbd_tls *t = SSL_CTX_get_app_data (SSL_get_SSL_CTX (ssl));
  struct nbd_conn *c = SSL_get_app_data (ssl);
  size_t i;

  for (i = 0; t && identity && i < t->npsk; i++)
    if (strcmp (t->psk[i].identity, identity) == 0
        && t->psk[i].keylen <= max_psk_len) {
      /* TLS 1.3 keeps no identity OpenSSL would give back later. */
      if (c)
        snprintf (c->tls_identity, sizeof c->tls_identity, "%s", identity);
      memcpy (psk, t->psk[i].key, t->psk[i].keylen);
      return t->psk[i].keylen;
    }
  if (c) {
    char safe[PSK_MAX_IDENTITY + 1];
    size_t n = 0;

    for (; identity && identity[n] && n < PSK_MAX_IDENTITY; n++)
      safe[n] = identity[n] > 0x20 && identity[n] < 0x7f ? identity[n] : '?';
    safe[n] = '\0';
    NBD_LOG (c->srv, BRAID_LOG_WARNING, "nbd conn %u (%s): unknown PSK "
             "identity '%s'", c->id, c->peer, safe);
  }
  return 0;
}

/* ---- credentials ---- */

static int
load_x509 (struct braid_nbd_server *srv, const char *dir, bool verify_peer,
           SSL_CTX *ctx)
{
  char path[PATH_MAX], why[256];
  char *text = NULL;
  size_t len = 0;
  BIO *bio;
  EVP_PKEY *key;
  int r;

  snprintf (path, sizeof path, "%s/server-cert.pem", dir);
  if (access (path, R_OK) < 0) {
    r = errno;
    nbd_server_set_error (srv, "%s: %s", path, strerror (r));
    return -r;
  }
  if (SSL_CTX_use_certificate_chain_file (ctx, path) != 1) {
    nbd_server_set_error (srv, "%s: %s", path, ossl_reason (why, sizeof why));
    return -EPROTO;
  }
  snprintf (path, sizeof path, "%s/server-key.pem", dir);
  r = read_secret (srv, path, &text, &len);
  if (r < 0)
    return r;
  bio = BIO_new_mem_buf (text, (int) len);
  key = bio ? PEM_read_bio_PrivateKey (bio, NULL, NULL, NULL) : NULL;
  BIO_free (bio);
  OPENSSL_cleanse (text, len);
  free (text);
  if (key == NULL) {
    nbd_server_set_error (srv, "%s: not a PEM private key without a "
                          "passphrase (%s)", path, ossl_reason (why, sizeof why));
    return -EPROTO;
  }
  r = SSL_CTX_use_PrivateKey (ctx, key);
  EVP_PKEY_free (key);
  if (r != 1 || SSL_CTX_check_private_key (ctx) != 1) {
    nbd_server_set_error (srv, "%s: does not match server-cert.pem (%s)",
                          path, ossl_reason (why, sizeof why));
    return -EPROTO;
  }

  snprintf (path, sizeof path, "%s/ca-cert.pem", dir);
  if (!verify_peer)
    return 0;
  if (SSL_CTX_load_verify_locations (ctx, path, NULL) != 1) {
    nbd_server_set_error (srv, "%s: needed to verify clients: %s", path,
                          ossl_reason (why, sizeof why));
    return access (path, R_OK) < 0 ? -ENOENT : -EPROTO;
  }
  STACK_OF (X509_NAME) *names = SSL_load_client_CA_file (path);
  if (names)
    SSL_CTX_set_client_CA_list (ctx, names);
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                      NULL);
  return 0;
}

int
nbd_tls_new (struct braid_nbd_server *srv,
             const struct braid_nbd_tls_config *cfg, struct nbd_tls **out)
{
  struct nbd_tls *t;
  char why[256];
  int r;

  t = calloc (1, sizeof *t);
  if (t == NULL) {
    nbd_server_set_error (srv, "TLS: out of memory");
    return -ENOMEM;
  }
  t->refs = 1;
  t->ctx = SSL_CTX_new (TLS_server_method ());
  if (t->ctx == NULL) {
    nbd_server_set_error (srv, "TLS: %s", ossl_reason (why, sizeof why));
    free (t);
    return -ENOMEM;
  }
  SSL_CTX_set_app_data (t->ctx, t);      /* for psk_server_cb */
  SSL_CTX_set_min_proto_version (t->ctx, TLS1_2_VERSION);
  /* Partial writes: a short write advances the output queue like a short
   * sendmsg; the retry after WANT_WRITE may come from another buffer
   * holding the same bytes (the gather buffer is refilled). */
  SSL_CTX_set_mode (t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                    | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  /* Read ahead: one recv takes as many records as the socket has, instead
   * of two per record (header, then body).  What it buffers is announced
   * by no poll event: see nbd_tls_pending. */
  SSL_CTX_set_read_ahead (t->ctx, 1);
  /* No renegotiation (a DoS lever), no session tickets nobody resumes.
   * A client that closes without close_notify ends like a TCP EOF: NBD
   * frames every message, so there is no truncation to detect. */
  SSL_CTX_set_options (t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET
                       | SSL_OP_CIPHER_SERVER_PREFERENCE
                       | SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_num_tickets (t->ctx, 0);
  SSL_CTX_set_session_cache_mode (t->ctx, SSL_SESS_CACHE_OFF);

  if (cfg->psk_file) {
    r = load_psk (srv, cfg->psk_file, t);
    if (r == 0) {
      /* An external PSK is bound to SHA-256 (GnuTLS's and OpenSSL's
       * default), so TLS 1.3 must pick a SHA-256 suite; TLS 1.2 gets the
       * PSK suites with forward secrecy. */
      if (SSL_CTX_set_ciphersuites (t->ctx, "TLS_AES_128_GCM_SHA256:"
                                    "TLS_CHACHA20_POLY1305_SHA256") != 1
          || SSL_CTX_set_cipher_list (t->ctx,
                                      "ECDHE-PSK-CHACHA20-POLY1305:"
                                      "DHE-PSK-AES256-GCM-SHA384:"
                                      "DHE-PSK-AES128-GCM-SHA256:"
                                      "DHE-PSK-CHACHA20-POLY1305:"
                                      "ECDHE-PSK-AES256-CBC-SHA384:"
                                      "ECDHE-PSK-AES128-CBC-SHA256") != 1) {
        nbd_server_set_error (srv, "TLS: %s", ossl_reason (why, sizeof why));
        r = -EPROTO;
      }
      SSL_CTX_set_dh_auto (t->ctx, 1);  /* the DHE-PSK suites need it */
      SSL_CTX_set_psk_server_callback (t->ctx, psk_server_cb);
    }
  }
  else
    r = load_x509 (srv, cfg->cert_dir, cfg->verify_peer != 0, t->ctx);
  if (r < 0) {
    tls_free (t);
    ERR_clear_error ();
    return r;
  }
  *out = t;
  return 0;
}

/* ---- connections ---- */

int
nbd_tls_conn_start (struct nbd_conn *c)
{
  struct nbd_tls *t = c->srv->tls;
  SSL *ssl;

  if (t == NULL)
    return -EPROTO;            /* credentials dropped since the ACK */
  ERR_clear_error ();
  ssl = SSL_new (t->ctx);
  if (ssl == NULL || SSL_set_fd (ssl, c->fd) != 1) {
    SSL_free (ssl);
    ERR_clear_error ();
    return -ENOMEM;
  }
  SSL_set_accept_state (ssl);
  SSL_set_app_data (ssl, c);
  t->refs++;
  c->tls = t;
  c->ssl = ssl;
  c->tls_hs_want = POLLIN;
  return 0;
}

/* Describe a completed handshake: version, suite and who the client is. */
static void
log_established (struct nbd_conn *c, SSL *ssl)
{
  char who[300] = "";
  X509 *peer = SSL_get0_peer_certificate (ssl);

  if (c->tls_identity[0])
    snprintf (who, sizeof who, ", PSK identity %s", c->tls_identity);
  else if (peer) {
    /* RFC 2253 form ("CN=client1,O=..."), as admins write it. */
    char subj[256] = "?";
    BIO *m = BIO_new (BIO_s_mem ());

    if (m && X509_NAME_print_ex (m, X509_get_subject_name (peer), 0,
                                 XN_FLAG_RFC2253) > 0) {
      int n = BIO_read (m, subj, (int) sizeof subj - 1);

      if (n > 0)
        subj[n] = '\0';
    }
    BIO_free (m);
    snprintf (who, sizeof who, ", client certificate %s", subj);
  }
  NBD_LOG (c->srv, BRAID_LOG_INFO, "nbd conn %u (%s): TLS established: %s "
           "%s%s", c->id, c->peer, SSL_get_version (ssl),
           SSL_get_cipher_name (ssl), who);
}

int
nbd_tls_handshake (struct nbd_conn *c)
{
  SSL *ssl = c->ssl;
  char why[256];
  int r, e;

  ERR_clear_error ();
  errno = 0;
  r = SSL_do_handshake (ssl);
  if (r == 1) {
    c->srv->tls_sessions++;
    log_established (c, ssl);
    return 0;
  }
  e = SSL_get_error (ssl, r);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    c->tls_hs_want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
    return -EAGAIN;
  }
  if (SSL_get_verify_result (ssl) != X509_V_OK)
    snprintf (why, sizeof why, "client certificate: %s",
              X509_verify_cert_error_string (SSL_get_verify_result (ssl)));
  else if (e == SSL_ERROR_SYSCALL && ERR_peek_error () == 0)
    snprintf (why, sizeof why, "%s", errno && r < 0 ? strerror (errno)
              : "the client closed the connection");
  else
    ossl_reason (why, sizeof why);
  ERR_clear_error ();
  c->tls_fatal = true;
  /* A known identity that then fails almost always holds another key. */
  NBD_LOG (c->srv, BRAID_LOG_WARNING, "nbd conn %u (%s): TLS handshake "
           "failed: %s%s%s%s", c->id, c->peer, why,
           c->tls_identity[0] ? " (wrong key for PSK identity " : "",
           c->tls_identity, c->tls_identity[0] ? "?)" : "");
  return -EPROTO;
}

ssize_t
nbd_tls_recv (struct nbd_conn *c, void *buf, size_t len)
{
  size_t got = 0;
  char why[256];
  int r, e;

  ERR_clear_error ();
  c->tls_rd_want = 0;
  errno = 0;
  r = SSL_read_ex (c->ssl, buf, len, &got);
  c->tls_rd_blocked = false;
  if (r == 1)
    return (ssize_t) got;
  e = SSL_get_error (c->ssl, r);
  switch (e) {
  case SSL_ERROR_WANT_READ:
    c->tls_rd_blocked = true;   /* the socket must bring more first */
    return -EAGAIN;
  case SSL_ERROR_WANT_WRITE:
    c->tls_rd_want = POLLOUT;
    return -EAGAIN;
  case SSL_ERROR_ZERO_RETURN:
    return 0;                  /* close_notify */
  case SSL_ERROR_SYSCALL:
    c->tls_fatal = true;
    if (ERR_peek_error () == 0)
      return errno ? -errno : 0;   /* 0: EOF without close_notify */
    /* fall through */
  default:
    c->tls_fatal = true;
    NBD_LOG (c->srv, BRAID_LOG_NOTICE, "nbd conn %u (%s): TLS read: %s",
             c->id, c->peer, ossl_reason (why, sizeof why));
    return -EPROTO;
  }
}

ssize_t
nbd_tls_writev (void *conn, const struct iovec *iov, int iovcnt)
{
  struct nbd_conn *c = conn;
  struct nbd_tls *t = c->tls;
  const void *p;
  size_t len, done = 0;
  char why[256];
  int r, e, i;

  if (iovcnt <= 0)
    return 0;
  /* A large first buffer goes as it is; small ones are gathered.  Either
   * way a retry after WANT_WRITE offers the same leading bytes, at least
   * as many, because the queue only grows at its tail. */
  if (iov[0].iov_len >= TLS_GATHER) {
    p = iov[0].iov_base;
    len = iov[0].iov_len;
  }
  else {
    len = 0;
    for (i = 0; i < iovcnt && len < TLS_GATHER; i++) {
      size_t take = iov[i].iov_len;

      if (take > TLS_GATHER - len)
        take = TLS_GATHER - len;
      memcpy (t->gather + len, iov[i].iov_base, take);
      len += take;
    }
    p = t->gather;
  }
  ERR_clear_error ();
  c->tls_wr_want = 0;
  errno = 0;
  r = SSL_write_ex (c->ssl, p, len, &done);
  if (r == 1)
    return (ssize_t) done;
  e = SSL_get_error (c->ssl, r);
  if (e == SSL_ERROR_WANT_WRITE)
    return -EAGAIN;
  if (e == SSL_ERROR_WANT_READ) {
    c->tls_wr_want = POLLIN;
    return -EAGAIN;
  }
  c->tls_fatal = true;
  if (e == SSL_ERROR_SYSCALL && ERR_peek_error () == 0)
    return errno ? -errno : -EPIPE;
  NBD_LOG (c->srv, BRAID_LOG_NOTICE, "nbd conn %u (%s): TLS write: %s",
           c->id, c->peer, ossl_reason (why, sizeof why));
  return -EPROTO;
}

bool
nbd_tls_pending (const struct nbd_conn *c)
{
  /* Decrypted bytes, or whole records read ahead; a partial record is
   * "pending" too, but reading it blocked, and the socket will say when
   * the rest comes. */
  return c->ssl && (SSL_pending (c->ssl) > 0
                    || (SSL_has_pending (c->ssl) && !c->tls_rd_blocked));
}

void
nbd_tls_conn_end (struct nbd_conn *c)
{
  if (c->ssl == NULL)
    return;
  /* close_notify once, without waiting for the client's: the socket is
   * about to close and the data before it was already acknowledged.  Not
   * after a fatal error, where OpenSSL forbids it. */
  ERR_clear_error ();
  if (SSL_is_init_finished ((SSL *) c->ssl) && !c->tls_fatal)
    SSL_shutdown (c->ssl);
  SSL_free (c->ssl);
  ERR_clear_error ();
  c->ssl = NULL;
  nbd_tls_unref (c->tls);
  c->tls = NULL;
}

/* ---- the public entry points ---- */

int
braid_nbd_server_set_tls (struct braid_nbd_server *srv,
                          const struct braid_nbd_tls_config *cfg)
{
  struct nbd_tls *t = NULL;
  int r;

  if (srv == NULL || cfg == NULL)
    return -EINVAL;
  if (cfg->mode != BRAID_NBD_TLS_OFF && cfg->mode != BRAID_NBD_TLS_ON
      && cfg->mode != BRAID_NBD_TLS_REQUIRE) {
    nbd_server_set_error (srv, "TLS: unknown mode %d", (int) cfg->mode);
    return -EINVAL;
  }
  if (cfg->mode != BRAID_NBD_TLS_OFF) {
    if (!cfg->psk_file == !cfg->cert_dir) {
      nbd_server_set_error (srv, "TLS: give either a PSK file or a "
                            "certificate directory%s",
                            cfg->psk_file ? ", not both" : "");
      return -EINVAL;
    }
    if (cfg->verify_peer && !cfg->cert_dir) {
      nbd_server_set_error (srv, "TLS: verifying clients needs a "
                            "certificate directory (its ca-cert.pem)");
      return -EINVAL;
    }
    r = nbd_tls_new (srv, cfg, &t);
    if (r < 0)
      return r;
  }
  nbd_tls_unref (srv->tls);
  srv->tls = t;
  srv->tls_mode = cfg->mode;
  return 0;
}

unsigned long
braid_nbd_server_tls_sessions (const struct braid_nbd_server *srv)
{
  return srv ? srv->tls_sessions : 0;
}
