/* test_nbdtls.c: TLS on the NBD server (STARTTLS, credentials, policy).
 *
 * The credential tests write PSK files and X.509 directories (made here
 * with libcrypto: a CA, a server and a client certificate) and check what
 * braid_nbd_server_set_tls accepts, refuses and says.  The session tests
 * run a real OpenSSL client against the server on TCP loopback in this
 * thread: the client steps its non-blocking socket and pumps the server's
 * loop while it waits, so the handshake, records split across reads,
 * partial writes and the close all run through connection.c and tls.c
 * (and under ASan in `make check-asan`).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "braid/loop.h"
#include "braid/nbd.h"
#include "nbd/proto.h"

#define DISK_SIZE (2u << 20)
#define PUMP_LIMIT 5000
#define KEY_A "a11ce0000000000000000000000000000000000000000000000000000000cafe"
#define KEY_B "b0b0000000000000000000000000000000000000000000000000000000000000"

struct env {
  struct braid_loop *loop;
  struct braid_nbd_server *srv;
  char dir[64];
  uint8_t *disk;
};

/* ---- backend: memory, completed at once ---- */

static int
b_rw (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
      unsigned fl, struct braid_nbd_request *req, bool write)
{
  struct env *e = o;

  (void) n; (void) fl;
  if (write)
    memcpy (e->disk + off, iov[0].iov_base, len);
  else
    memcpy (iov[0].iov_base, e->disk + off, len);
  braid_nbd_complete (req, 0);
  return 0;
}

static int
b_read (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
        unsigned fl, struct braid_nbd_request *req)
{
  return b_rw (o, off, iov, n, len, fl, req, false);
}

static int
b_write (void *o, uint64_t off, const struct iovec *iov, int n, uint32_t len,
         unsigned fl, struct braid_nbd_request *req)
{
  return b_rw (o, off, iov, n, len, fl, req, true);
}

static const struct braid_nbd_backend backend = {
  .read = b_read, .write = b_write,
};

static int
setup (void **state)
{
  struct env *e = calloc (1, sizeof *e);
  struct braid_nbd_export_config ec = {
    .name = "disk", .size = DISK_SIZE, .min_block_size = 512,
    .backend = &backend,
  };

  assert_non_null (e);
  strcpy (e->dir, "/tmp/braid-nbdtls.XXXXXX");
  assert_non_null (mkdtemp (e->dir));
  e->disk = calloc (1, DISK_SIZE);
  e->loop = braid_loop_new ();
  e->srv = braid_nbd_server_new (e->loop, NULL);
  assert_non_null (e->srv);
  ec.backend_opaque = e;
  assert_non_null (braid_nbd_export_add (e->srv, &ec));
  assert_int_equal (braid_nbd_server_listen_tcp (e->srv, "127.0.0.1", "0"), 0);
  *state = e;
  return 0;
}

static int
teardown (void **state)
{
  struct env *e = *state;
  char cmd[128];

  braid_nbd_server_free (e->srv);
  braid_loop_free (e->loop);
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", e->dir);
  assert_int_equal (system (cmd), 0);
  free (e->disk);
  free (e);
  return 0;
}

/* ---- files ---- */

static const char *
write_file (struct env *e, const char *name, const char *text, mode_t mode)
{
  static char path[128];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", e->dir, name);
  f = fopen (path, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
  assert_int_equal (chmod (path, mode), 0);
  return path;
}

static int
set_psk (struct env *e, const char *path, enum braid_nbd_tls_mode mode)
{
  struct braid_nbd_tls_config tc = { .mode = mode, .psk_file = path };

  return braid_nbd_server_set_tls (e->srv, &tc);
}

static EVP_PKEY *
new_key (void)
{
  EVP_PKEY *k = EVP_EC_gen ("P-256");

  assert_non_null (k);
  return k;
}

/* A certificate for 'key' named 'cn', signed by issuer (self if NULL). */
static X509 *
new_cert (EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey,
          bool ca)
{
  static long serial = 1;
  X509 *x = X509_new ();
  X509_NAME *n;

  assert_non_null (x);
  X509_set_version (x, 2);
  ASN1_INTEGER_set (X509_get_serialNumber (x), serial++);
  X509_gmtime_adj (X509_getm_notBefore (x), -60);
  X509_gmtime_adj (X509_getm_notAfter (x), 3600);
  X509_set_pubkey (x, key);
  n = X509_get_subject_name (x);
  X509_NAME_add_entry_by_txt (n, "CN", MBSTRING_ASC,
                              (const unsigned char *) cn, -1, -1, 0);
  X509_set_issuer_name (x, issuer ? X509_get_subject_name (issuer) : n);
  if (ca) {
    X509_EXTENSION *ext = X509V3_EXT_conf_nid (NULL, NULL,
                                               NID_basic_constraints,
                                               "critical,CA:TRUE");
    assert_non_null (ext);
    X509_add_ext (x, ext, -1);
    X509_EXTENSION_free (ext);
  }
  assert_true (X509_sign (x, ikey ? ikey : key, EVP_sha256 ()) > 0);
  return x;
}

static void
pem_out (struct env *e, const char *name, X509 *cert, EVP_PKEY *key,
         mode_t mode)
{
  char path[160];
  FILE *f;

  snprintf (path, sizeof path, "%s/%s", e->dir, name);
  f = fopen (path, "w");
  assert_non_null (f);
  if (cert)
    PEM_write_X509 (f, cert);
  else
    PEM_write_PrivateKey (f, key, NULL, NULL, 0, NULL, NULL);
  fclose (f);
  assert_int_equal (chmod (path, mode), 0);
}

/* The X.509 set in e->dir: CA, server and client ("client1") files. */
struct pki {
  EVP_PKEY *ca_key, *srv_key, *cli_key;
  X509 *ca, *srv, *cli;
};

static void
make_pki (struct env *e, struct pki *p)
{
  p->ca_key = new_key ();
  p->srv_key = new_key ();
  p->cli_key = new_key ();
  p->ca = new_cert (p->ca_key, "braid unit CA", NULL, NULL, true);
  p->srv = new_cert (p->srv_key, "localhost", p->ca, p->ca_key, false);
  p->cli = new_cert (p->cli_key, "client1", p->ca, p->ca_key, false);
  pem_out (e, "ca-cert.pem", p->ca, NULL, 0644);
  pem_out (e, "server-cert.pem", p->srv, NULL, 0644);
  pem_out (e, "server-key.pem", NULL, p->srv_key, 0600);
}

static void
free_pki (struct pki *p)
{
  EVP_PKEY_free (p->ca_key);
  EVP_PKEY_free (p->srv_key);
  EVP_PKEY_free (p->cli_key);
  X509_free (p->ca);
  X509_free (p->srv);
  X509_free (p->cli);
}

static int
set_x509 (struct env *e, bool verify)
{
  struct braid_nbd_tls_config tc = {
    .mode = BRAID_NBD_TLS_REQUIRE, .cert_dir = e->dir, .verify_peer = verify,
  };

  return braid_nbd_server_set_tls (e->srv, &tc);
}

/* ---- client ---- */

struct client {
  struct env *e;
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
};

static const char *client_psk_hex;     /* the key the PSK client offers */

static unsigned int
client_psk_cb (SSL *ssl, const char *hint, char *identity,
               unsigned int max_identity_len, unsigned char *psk,
               unsigned int max_psk_len)
{
  long len;
  unsigned char *key = OPENSSL_hexstr2buf (client_psk_hex, &len);

  (void) ssl; (void) hint;
  assert_non_null (key);
  assert_true ((unsigned) len <= max_psk_len && max_identity_len > 6);
  strcpy (identity, "alice");
  memcpy (psk, key, (size_t) len);
  OPENSSL_free (key);
  return (unsigned int) len;
}

static void
pump (struct env *e)
{
  braid_loop_run_once (e->loop, 5);
}

static void
client_open (struct env *e, struct client *c)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };

  memset (c, 0, sizeof *c);
  c->e = e;
  c->fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  assert_true (c->fd >= 0);
  sa.sin_port = htons ((uint16_t) braid_nbd_server_tcp_port (e->srv));
  sa.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  assert_true (connect (c->fd, (struct sockaddr *) &sa, sizeof sa) == 0
               || errno == EINPROGRESS);
}

static void
client_close (struct client *c)
{
  SSL_free (c->ssl);
  SSL_CTX_free (c->ctx);
  close (c->fd);
  pump (c->e);
}

/* Send or receive exactly n bytes, in plaintext or through TLS, pumping
 * the server while the socket would block.  cio returns the bytes moved
 * (fewer when the server closed). */
static size_t
cio (struct client *c, void *p, size_t n, bool out)
{
  size_t done = 0;
  int i;

  for (i = 0; done < n && i < PUMP_LIMIT; i++) {
    ssize_t r;

    if (c->ssl) {
      size_t got = 0;
      int ok = out ? SSL_write_ex (c->ssl, (char *) p + done, n - done, &got)
                   : SSL_read_ex (c->ssl, (char *) p + done, n - done, &got);
      int err = ok ? SSL_ERROR_NONE : SSL_get_error (c->ssl, 0);

      if (ok) {
        done += got;
        continue;
      }
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        return done;
      pump (c->e);
      continue;
    }
    r = out ? send (c->fd, (char *) p + done, n - done, MSG_NOSIGNAL)
            : recv (c->fd, (char *) p + done, n - done, 0);
    if (r > 0) {
      done += (size_t) r;
      continue;
    }
    if (r == 0 || errno == ECONNRESET || errno == EPIPE)
      return done;
    assert_true (errno == EAGAIN || errno == ENOTCONN);
    pump (c->e);
  }
  return done;
}

static void
csend (struct client *c, const void *p, size_t n)
{
  assert_int_equal (cio (c, (void *) p, n, true), n);
}

static void
crecv (struct client *c, void *p, size_t n)
{
  assert_int_equal (cio (c, p, n, false), n);
}

static void
option (struct client *c, uint32_t opt, const void *d, uint32_t len)
{
  uint8_t h[16];

  nbd_put64 (h, NBD_MAGIC_OPTS);
  nbd_put32 (h + 8, opt);
  nbd_put32 (h + 12, len);
  csend (c, h, 16);
  if (len)
    csend (c, d, len);
}

/* Read one option reply, skip its payload, return its type. */
static uint32_t
reply_type (struct client *c, uint32_t opt)
{
  uint8_t h[20], skip[256];
  uint32_t len;

  crecv (c, h, 20);
  assert_true (nbd_get64 (h) == NBD_MAGIC_REP);
  assert_int_equal (nbd_get32 (h + 8), opt);
  len = nbd_get32 (h + 16);
  assert_true (len <= sizeof skip);
  crecv (c, skip, len);
  return nbd_get32 (h + 12);
}

/* Greeting and client flags. */
static void
hello (struct client *c)
{
  uint8_t g[18], fl[4];

  crecv (c, g, sizeof g);
  assert_true (nbd_get64 (g) == NBD_MAGIC_INIT);
  nbd_put32 (fl, NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
  csend (c, fl, 4);
}

/* STARTTLS and the client side of the handshake.  Returns true when the
 * handshake completed. */
static bool
starttls (struct client *c, SSL_CTX *ctx)
{
  int i;

  option (c, NBD_OPT_STARTTLS, NULL, 0);
  assert_int_equal (reply_type (c, NBD_OPT_STARTTLS), NBD_REP_ACK);
  c->ctx = ctx;
  c->ssl = SSL_new (ctx);
  assert_non_null (c->ssl);
  SSL_set_fd (c->ssl, c->fd);
  SSL_set_connect_state (c->ssl);
  for (i = 0; i < PUMP_LIMIT; i++) {
    int r = SSL_do_handshake (c->ssl), err;

    if (r == 1)
      return true;
    err = SSL_get_error (c->ssl, r);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error ();
      return false;
    }
    pump (c->e);
  }
  return false;
}

static SSL_CTX *
psk_ctx (const char *hex)
{
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());

  assert_non_null (ctx);
  client_psk_hex = hex;
  SSL_CTX_set_psk_client_callback (ctx, client_psk_cb);
  return ctx;
}

static SSL_CTX *
x509_ctx (struct pki *p, bool with_cert)
{
  SSL_CTX *ctx = SSL_CTX_new (TLS_client_method ());

  assert_non_null (ctx);
  X509_STORE_add_cert (SSL_CTX_get_cert_store (ctx), p->ca);
  SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
  if (with_cert) {
    assert_int_equal (SSL_CTX_use_certificate (ctx, p->cli), 1);
    assert_int_equal (SSL_CTX_use_PrivateKey (ctx, p->cli_key), 1);
  }
  return ctx;
}

/* GO on "disk", then a 1 MiB write and read back (many TLS records each
 * way, so partial reads and writes happen), compared. */
static void
go_and_copy (struct client *c)
{
  uint8_t d[8] = { 0, 0, 0, 4, 'd', 'i', 's', 'k' }, go[10];
  uint8_t req[28], rep[16];
  const uint32_t len = 1u << 20;
  uint8_t *out = malloc (len), *in = malloc (len);
  uint32_t i;

  assert_non_null (out);
  assert_non_null (in);
  memcpy (go, d, 8);
  go[8] = go[9] = 0;
  option (c, NBD_OPT_GO, go, 10);
  while (reply_type (c, NBD_OPT_GO) != NBD_REP_ACK)
    ;
  for (i = 0; i < len; i++)
    out[i] = (uint8_t) (i * 2654435761u >> 13);
  nbd_put32 (req, NBD_REQUEST_MAGIC);
  nbd_put16 (req + 4, 0);
  nbd_put16 (req + 6, NBD_CMD_WRITE);
  nbd_put64 (req + 8, 1);
  nbd_put64 (req + 16, 4096);
  nbd_put32 (req + 24, len);
  csend (c, req, 28);
  csend (c, out, len);
  crecv (c, rep, 16);
  assert_int_equal (nbd_get32 (rep + 4), 0);
  nbd_put16 (req + 6, NBD_CMD_READ);
  nbd_put64 (req + 8, 2);
  csend (c, req, 28);
  crecv (c, rep, 16);
  assert_int_equal (nbd_get32 (rep + 4), 0);
  assert_true (nbd_get64 (rep + 8) == 2);
  crecv (c, in, len);
  assert_memory_equal (in, out, len);
  free (in);
  free (out);
}

/* Wait until the server has closed the connection. */
static bool
server_closed (struct client *c)
{
  uint8_t b[64];
  int i;

  for (i = 0; i < PUMP_LIMIT; i++) {
    ssize_t r = recv (c->fd, b, sizeof b, 0);

    if (r == 0 || (r < 0 && errno == ECONNRESET))
      return true;
    if (r < 0 && errno != EAGAIN)
      return false;
    pump (c->e);
  }
  return false;
}

/* ---- credential files ---- */

static void
expect_refused (struct env *e, const char *text, mode_t mode, int err,
                const char *where)
{
  const char *path = write_file (e, "keys.psk", text, mode);
  char want[160];

  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), err);
  snprintf (want, sizeof want, "%s%s", path, where);
  if (strstr (braid_nbd_server_get_error (e->srv), want) == NULL)
    fail_msg ("'%s' does not name '%s'", braid_nbd_server_get_error (e->srv),
              want);
  /* No key material in what an admin will see in a log. */
  assert_null (strstr (braid_nbd_server_get_error (e->srv), "cafe"));
  assert_null (strstr (braid_nbd_server_get_error (e->srv), "a11ce"));
}

static void
test_psk_files (void **state)
{
  struct env *e = *state;
  struct braid_nbd_tls_config tc = { .mode = BRAID_NBD_TLS_REQUIRE };
  const char *path;

  expect_refused (e, "alice:" KEY_A "g\n", 0600, -EINVAL, ":1: ");
  expect_refused (e, "# keys\n\nalice:a11ce0cafe0\n", 0600, -EINVAL,
                  ":3: key has an odd");
  expect_refused (e, "alice:" KEY_A "\nbob\n", 0600, -EINVAL,
                  ":2: expected IDENTITY:HEXKEY");
  expect_refused (e, ":" KEY_A "\n", 0600, -EINVAL, ":1: empty identity");
  expect_refused (e, "al ice:" KEY_A "\n", 0600, -EINVAL, ":1: identity");
  expect_refused (e, "alice:" KEY_A "\nalice:" KEY_B "\n", 0600, -EINVAL,
                  ":2: identity given twice");
  expect_refused (e, "alice:" KEY_A KEY_A "00\n", 0600, -EINVAL,
                  ":1: key longer");
  expect_refused (e, "\n# nothing\n", 0600, -EINVAL, ": no IDENTITY");
  expect_refused (e, "alice:" KEY_A "\n", 0640, -EACCES, ": holds a secret");
  expect_refused (e, "alice:" KEY_A "\n", 0604, -EACCES, ": holds a secret");
  path = write_file (e, "keys.psk", "alice:" KEY_A "\n", 0600);
  if (geteuid () == 0) {
    assert_int_equal (chown (path, 65534, 65534), 0);
    assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), -EACCES);
    assert_non_null (strstr (braid_nbd_server_get_error (e->srv),
                             "not ours"));
  }
  unlink (path);
  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), -ENOENT);

  /* Good files: CRLF, comments, several identities. */
  path = write_file (e, "keys.psk", "# two\r\nalice:" KEY_A "\r\n\r\nbob:"
                     KEY_B "\n", 0600);
  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_ON), 0);

  /* Combinations. */
  tc.psk_file = path;
  tc.cert_dir = e->dir;
  assert_int_equal (braid_nbd_server_set_tls (e->srv, &tc), -EINVAL);
  tc.cert_dir = NULL;
  tc.verify_peer = 1;
  assert_int_equal (braid_nbd_server_set_tls (e->srv, &tc), -EINVAL);
  tc.psk_file = NULL;
  tc.verify_peer = 0;
  assert_int_equal (braid_nbd_server_set_tls (e->srv, &tc), -EINVAL);
  tc.mode = (enum braid_nbd_tls_mode) 7;
  assert_int_equal (braid_nbd_server_set_tls (e->srv, &tc), -EINVAL);
  tc.mode = BRAID_NBD_TLS_OFF;
  assert_int_equal (braid_nbd_server_set_tls (e->srv, &tc), 0);
}

static void
test_x509_files (void **state)
{
  struct env *e = *state;
  struct pki p;
  EVP_PKEY *other = new_key ();
  char path[160];

  make_pki (e, &p);
  assert_int_equal (set_x509 (e, true), 0);

  snprintf (path, sizeof path, "%s/server-key.pem", e->dir);
  assert_int_equal (chmod (path, 0640), 0);
  assert_int_equal (set_x509 (e, false), -EACCES);
  assert_non_null (strstr (braid_nbd_server_get_error (e->srv), path));
  pem_out (e, "server-key.pem", NULL, other, 0600);
  assert_int_equal (set_x509 (e, false), -EPROTO);
  assert_non_null (strstr (braid_nbd_server_get_error (e->srv),
                           "does not match"));
  pem_out (e, "server-key.pem", NULL, p.srv_key, 0600);
  snprintf (path, sizeof path, "%s/ca-cert.pem", e->dir);
  unlink (path);
  assert_int_equal (set_x509 (e, false), 0);    /* CA only to verify */
  assert_int_equal (set_x509 (e, true), -ENOENT);
  assert_non_null (strstr (braid_nbd_server_get_error (e->srv), path));
  snprintf (path, sizeof path, "%s/server-cert.pem", e->dir);
  unlink (path);
  assert_int_equal (set_x509 (e, false), -ENOENT);
  assert_non_null (strstr (braid_nbd_server_get_error (e->srv), path));
  EVP_PKEY_free (other);
  free_pki (&p);
}

/* ---- sessions ---- */

static void
test_psk_session (void **state)
{
  struct env *e = *state;
  const char *path = write_file (e, "keys.psk", "alice:" KEY_A "\n", 0600);
  struct client c;

  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), 0);

  /* Plaintext: refused until STARTTLS. */
  client_open (e, &c);
  hello (&c);
  option (&c, NBD_OPT_LIST, NULL, 0);
  assert_int_equal (reply_type (&c, NBD_OPT_LIST), NBD_REP_ERR_TLS_REQD);
  client_close (&c);

  /* The right key: data both ways through TLS. */
  client_open (e, &c);
  hello (&c);
  assert_true (starttls (&c, psk_ctx (KEY_A)));
  go_and_copy (&c);
  client_close (&c);
  assert_int_equal (braid_nbd_server_tls_sessions (e->srv), 1);

  /* A wrong key: no session, connection closed. */
  client_open (e, &c);
  hello (&c);
  assert_false (starttls (&c, psk_ctx (KEY_B)));
  assert_true (server_closed (&c));
  client_close (&c);

  /* A reload that fails keeps the credentials in use. */
  path = write_file (e, "keys.psk", "alice:nothex\n", 0600);
  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), -EINVAL);
  client_open (e, &c);
  hello (&c);
  assert_true (starttls (&c, psk_ctx (KEY_A)));
  go_and_copy (&c);
  client_close (&c);
  assert_int_equal (braid_nbd_server_tls_sessions (e->srv), 2);
}

static void
test_x509_session (void **state)
{
  struct env *e = *state;
  struct client c;
  struct pki p;

  make_pki (e, &p);
  assert_int_equal (set_x509 (e, true), 0);
  client_open (e, &c);
  hello (&c);
  assert_true (starttls (&c, x509_ctx (&p, true)));
  go_and_copy (&c);
  client_close (&c);

  /* No client certificate: refused when the server verifies peers. */
  client_open (e, &c);
  hello (&c);
  starttls (&c, x509_ctx (&p, false));
  assert_true (server_closed (&c));
  client_close (&c);
  assert_int_equal (braid_nbd_server_tls_sessions (e->srv), 1);
  free_pki (&p);
}

/* Bytes sent behind STARTTLS, before its answer, would otherwise be read
 * as if TLS protected them: the server must hang up instead. */
static void
test_starttls_injection (void **state)
{
  struct env *e = *state;
  const char *path = write_file (e, "keys.psk", "alice:" KEY_A "\n", 0600);
  uint8_t msg[16 + 16];
  struct client c;

  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), 0);
  client_open (e, &c);
  hello (&c);
  nbd_put64 (msg, NBD_MAGIC_OPTS);
  nbd_put32 (msg + 8, NBD_OPT_STARTTLS);
  nbd_put32 (msg + 12, 0);
  nbd_put64 (msg + 16, NBD_MAGIC_OPTS);
  nbd_put32 (msg + 24, NBD_OPT_LIST);
  nbd_put32 (msg + 28, 0);
  csend (&c, msg, sizeof msg);
  assert_int_equal (reply_type (&c, NBD_OPT_STARTTLS), NBD_REP_ACK);
  assert_true (server_closed (&c));
  client_close (&c);
  assert_int_equal (braid_nbd_server_tls_sessions (e->srv), 0);
}

/* A server shutdown does not wait for a TLS handshake the client never
 * finishes (the handshake timer would otherwise hold it for 30 s). */
static void
test_shutdown_mid_handshake (void **state)
{
  struct env *e = *state;
  const char *path = write_file (e, "keys.psk", "alice:" KEY_A "\n", 0600);
  struct client c;
  int i;

  assert_int_equal (set_psk (e, path, BRAID_NBD_TLS_REQUIRE), 0);
  client_open (e, &c);
  hello (&c);
  option (&c, NBD_OPT_STARTTLS, NULL, 0);
  assert_int_equal (reply_type (&c, NBD_OPT_STARTTLS), NBD_REP_ACK);
  assert_int_equal (braid_nbd_server_busy (e->srv), 1);
  assert_int_equal (braid_nbd_server_shutdown (e->srv), 0);
  for (i = 0; i < 50 && braid_nbd_server_busy (e->srv) > 0; i++)
    pump (e);
  assert_int_equal (braid_nbd_server_busy (e->srv), 0);
  assert_true (server_closed (&c));
  client_close (&c);
}

int
main (void)
{
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
  const struct CMUnitTest tests[] = {
    T (test_psk_files),
    T (test_x509_files),
    T (test_psk_session),
    T (test_x509_session),
    T (test_starttls_injection),
    T (test_shutdown_mid_handshake),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
