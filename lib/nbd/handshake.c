/* handshake.c: the fixed-newstyle handshake, as a byte-fed state machine.
 *
 * The server greets, reads the client flags, then answers options until
 * one of NBD_OPT_GO or NBD_OPT_EXPORT_NAME moves the connection into
 * transmission.  Oldstyle is never offered.  A client may not pin the
 * server: option data is capped (NBD_MAX_OPTION_DATA), the number of
 * options is capped (max_options) and connection.c puts a timer on the
 * whole phase.  Malformed options get an error reply and the haggling goes
 * on; only what the protocol gives no way to answer (bad magic, unknown
 * client flags, an unknown name in EXPORT_NAME) or what looks like abuse
 * ends the connection.
 *
 * TLS: NBD_OPT_STARTTLS is answered here and the connection parks in
 * NBD_CS_TLS until connection.c has run the TLS handshake.  When the
 * server requires TLS of this client, every other option but ABORT is
 * refused with NBD_REP_ERR_TLS_REQD, so nothing about the exports leaks
 * before the client is authenticated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "braid/loop.h"
#include "nbd/internal.h"

int
nbd_hs_greet (struct nbd_conn *c)
{
  struct nbd_buf b = { 0 };

  nbd_buf_put64 (&b, NBD_MAGIC_INIT);
  nbd_buf_put64 (&b, NBD_MAGIC_OPTS);
  nbd_buf_put16 (&b, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
  c->state = NBD_CS_CLIENT_FLAGS;
  c->hgot = 0;
  return nbd_outq_push_buf (&c->outq, &b);
}

/* Fatal protocol problem: log it and let connection.c hang up. */
static void
die (struct nbd_conn *c, const char *why)
{
  NBD_LOG (c->srv, BRAID_LOG_WARNING, "nbd conn %u (%s): %s, closing",
           c->id, c->peer, why);
  c->state = NBD_CS_DEAD;
}

static void
queue (struct nbd_conn *c, struct nbd_buf *b)
{
  if (nbd_outq_push_buf (&c->outq, b) < 0)
    die (c, "out of memory queueing an option reply");
}

static void
enter_transmission (struct nbd_conn *c, struct braid_nbd_export *exp)
{
  nbd_export_ref (exp);
  c->exp = exp;
  c->tflags = nbd_transmission_flags (exp, c->structured);
  exp->stats.connections++;
  c->state = NBD_CS_REQ_HDR;
  c->hgot = 0;
  if (c->hs_timer)
    braid_timer_disarm (c->hs_timer);
  NBD_LOG (c->srv, BRAID_LOG_INFO, "nbd conn %u (%s): export '%s', %s "
           "replies, flags 0x%x", c->id, c->peer, exp->name,
           c->structured ? "structured" : "simple", c->tflags);
}

/* Log the name a client asked for without trusting its bytes. */
static void
log_unknown (struct nbd_conn *c, const char *name, uint32_t len)
{
  char safe[65];
  uint32_t i, n = len < 64 ? len : 64;

  for (i = 0; i < n; i++)
    safe[i] = name[i] >= 0x20 && name[i] < 0x7f ? name[i] : '?';
  safe[n] = '\0';
  NBD_LOG (c->srv, BRAID_LOG_NOTICE, "nbd conn %u (%s): unknown export "
           "'%s'", c->id, c->peer, safe);
}

static void
opt_export_name (struct nbd_conn *c, const uint8_t *data, uint32_t len)
{
  struct braid_nbd_export *exp;
  struct nbd_buf b = { 0 };
  static const uint8_t zeroes[NBD_EXPORT_NAME_PAD];

  /* This option cannot be answered with an error: refusing it means
   * hanging up. */
  if (c->srv->shutting_down) {
    die (c, "EXPORT_NAME while shutting down");
    return;
  }
  exp = nbd_export_lookup (c->srv, (const char *) data, len);
  if (exp == NULL) {
    log_unknown (c, (const char *) data, len);
    die (c, "EXPORT_NAME for an unknown export");
    return;
  }
  nbd_buf_put64 (&b, exp->size);
  nbd_buf_put16 (&b, nbd_transmission_flags (exp, c->structured));
  if (!c->no_zeroes)
    nbd_buf_put (&b, zeroes, sizeof zeroes);
  queue (c, &b);
  if (c->state != NBD_CS_DEAD)
    enter_transmission (c, exp);
}

static void
opt_list (struct nbd_conn *c, uint32_t len, struct nbd_buf *b)
{
  struct braid_nbd_export *e;

  if (len != 0) {
    nbd_put_opt_error (b, NBD_OPT_LIST, NBD_REP_ERR_INVALID,
                       "NBD_OPT_LIST takes no data");
    return;
  }
  for (e = c->srv->exports; e; e = e->next)
    nbd_put_rep_server (b, NBD_OPT_LIST, e->name, e->description);
  nbd_put_opt_reply (b, NBD_OPT_LIST, NBD_REP_ACK, NULL, 0);
}

/* NBD_OPT_INFO and NBD_OPT_GO.  Returns the export to enter transmission
 * with (GO only), or NULL. */
static struct braid_nbd_export *
opt_info_go (struct nbd_conn *c, uint32_t opt, const uint8_t *data,
             uint32_t len, struct nbd_buf *b)
{
  struct nbd_info_req ir;
  struct braid_nbd_export *exp;
  int r;

  r = nbd_parse_info_request (data, len, &ir);
  if (r == -E2BIG) {
    nbd_put_opt_error (b, opt, NBD_REP_ERR_TOO_BIG, "export name too long");
    return NULL;
  }
  if (r < 0) {
    nbd_put_opt_error (b, opt, NBD_REP_ERR_INVALID,
                       "malformed NBD_OPT_INFO/GO request");
    return NULL;
  }
  exp = nbd_export_lookup (c->srv, ir.name, ir.namelen);
  if (exp == NULL) {
    log_unknown (c, ir.name, ir.namelen);
    nbd_put_opt_error (b, opt, NBD_REP_ERR_UNKNOWN,
                       ir.namelen ? "unknown export"
                                  : "no default export on this server");
    return NULL;
  }
  nbd_put_info_replies (b, opt, &ir, exp,
                        nbd_transmission_flags (exp, c->structured));
  nbd_put_opt_reply (b, opt, NBD_REP_ACK, NULL, 0);
  return opt == NBD_OPT_GO ? exp : NULL;
}

static void
opt_meta_context (struct nbd_conn *c, uint32_t opt, const uint8_t *data,
                  uint32_t len, struct nbd_buf *b)
{
  struct nbd_meta_req mr;
  int r;

  if (!c->structured) {
    nbd_put_opt_error (b, opt, NBD_REP_ERR_INVALID,
                       "structured replies must be negotiated first");
    return;
  }
  r = nbd_parse_meta_request (data, len, &mr);
  if (r == -E2BIG) {
    nbd_put_opt_error (b, opt, NBD_REP_ERR_TOO_BIG, "string too long");
    return;
  }
  if (r < 0) {
    nbd_put_opt_error (b, opt, NBD_REP_ERR_INVALID,
                       "malformed meta context request");
    return;
  }
  if (nbd_export_lookup (c->srv, mr.name, mr.namelen) == NULL) {
    nbd_put_opt_error (b, opt, NBD_REP_ERR_UNKNOWN, "unknown export");
    return;
  }
  /* No metadata context is implemented: the spec's answer to any query,
   * listing or selecting, is then a bare ACK. */
  nbd_put_opt_reply (b, opt, NBD_REP_ACK, NULL, 0);
}

/* An option's name for log lines. */
static const char *
opt_name (uint32_t opt)
{
  static const char *const names[] = {
    [NBD_OPT_EXPORT_NAME] = "EXPORT_NAME", [NBD_OPT_ABORT] = "ABORT",
    [NBD_OPT_LIST] = "LIST", [NBD_OPT_PEEK_EXPORT] = "PEEK_EXPORT",
    [NBD_OPT_STARTTLS] = "STARTTLS", [NBD_OPT_INFO] = "INFO",
    [NBD_OPT_GO] = "GO", [NBD_OPT_STRUCTURED_REPLY] = "STRUCTURED_REPLY",
    [NBD_OPT_LIST_META_CONTEXT] = "LIST_META_CONTEXT",
    [NBD_OPT_SET_META_CONTEXT] = "SET_META_CONTEXT",
    [NBD_OPT_EXTENDED_HEADERS] = "EXTENDED_HEADERS",
  };

  return opt < sizeof names / sizeof names[0] && names[opt] ? names[opt]
                                                           : "unknown";
}

/* Must this client start TLS before anything else? */
static bool
tls_required (const struct nbd_conn *c)
{
  return c->tcp && !c->tls_active
    && c->srv->tls_mode == BRAID_NBD_TLS_REQUIRE;
}

static void
opt_starttls (struct nbd_conn *c, uint32_t len, struct nbd_buf *b)
{
  if (len != 0)
    nbd_put_opt_error (b, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                       "NBD_OPT_STARTTLS takes no data");
  else if (c->tls_active)
    nbd_put_opt_error (b, NBD_OPT_STARTTLS, NBD_REP_ERR_INVALID,
                       "TLS is already in use on this connection");
  else if (c->srv->tls == NULL || c->srv->tls_mode == BRAID_NBD_TLS_OFF)
    nbd_put_opt_error (b, NBD_OPT_STARTTLS, NBD_REP_ERR_POLICY,
                       "TLS is not offered by this server");
  else {
    /* The ACK is the last plaintext byte; connection.c sends it, then
     * hands the socket to TLS. */
    nbd_put_opt_reply (b, NBD_OPT_STARTTLS, NBD_REP_ACK, NULL, 0);
    c->state = NBD_CS_TLS;
  }
}

void
nbd_hs_tls_established (struct nbd_conn *c)
{
  c->tls_active = true;
  c->structured = false;
  c->state = NBD_CS_OPT_HDR;
  c->hgot = 0;
}

static void
handle_option (struct nbd_conn *c, uint32_t opt, const uint8_t *data,
               uint32_t len)
{
  struct nbd_buf b = { 0 };
  struct braid_nbd_export *go = NULL;

  NBD_LOG (c->srv, BRAID_LOG_DEBUG, "nbd conn %u (%s): option NBD_OPT_%s "
           "(%u), %u bytes", c->id, c->peer, opt_name (opt), opt, len);

  if (tls_required (c) && opt != NBD_OPT_STARTTLS && opt != NBD_OPT_ABORT) {
    if (opt == NBD_OPT_EXPORT_NAME) {
      die (c, "NBD_OPT_EXPORT_NAME in plaintext, TLS required");
      return;
    }
    NBD_LOG (c->srv, BRAID_LOG_NOTICE, "nbd conn %u (%s): NBD_OPT_%s (%u) "
             "refused: TLS required", c->id, c->peer, opt_name (opt), opt);
    nbd_put_opt_error (&b, opt, NBD_REP_ERR_TLS_REQD,
                       "TLS required: send NBD_OPT_STARTTLS first");
    queue (c, &b);
    return;
  }

  if (opt == NBD_OPT_EXPORT_NAME) {
    if (len > BRAID_NBD_MAX_STRING)
      die (c, "EXPORT_NAME longer than 4096 bytes");
    else
      opt_export_name (c, data, len);
    return;
  }
  if (opt == NBD_OPT_ABORT) {
    /* The spec wants an ACK; the client may already be gone. */
    nbd_put_opt_reply (&b, opt, NBD_REP_ACK, NULL, 0);
    queue (c, &b);
    if (c->state != NBD_CS_DEAD)
      c->state = NBD_CS_CLOSING;
    return;
  }
  if (c->srv->shutting_down) {
    nbd_put_opt_error (&b, opt, NBD_REP_ERR_SHUTDOWN,
                       "server is shutting down");
    queue (c, &b);
    return;
  }

  switch (opt) {
  case NBD_OPT_LIST:
    opt_list (c, len, &b);
    break;
  case NBD_OPT_STARTTLS:
    opt_starttls (c, len, &b);
    break;
  case NBD_OPT_INFO:
  case NBD_OPT_GO:
    go = opt_info_go (c, opt, data, len, &b);
    break;
  case NBD_OPT_STRUCTURED_REPLY:
    if (len != 0) {
      nbd_put_opt_error (&b, opt, NBD_REP_ERR_INVALID,
                         "NBD_OPT_STRUCTURED_REPLY takes no data");
      break;
    }
    c->structured = true;
    nbd_put_opt_reply (&b, opt, NBD_REP_ACK, NULL, 0);
    break;
  case NBD_OPT_LIST_META_CONTEXT:
  case NBD_OPT_SET_META_CONTEXT:
    opt_meta_context (c, opt, data, len, &b);
    break;
  default:
    /* Includes NBD_OPT_EXTENDED_HEADERS: not implemented. */
    nbd_put_opt_error (&b, opt, NBD_REP_ERR_UNSUP, "unsupported option");
    break;
  }
  queue (c, &b);
  if (go && c->state != NBD_CS_DEAD)
    enter_transmission (c, go);
}

size_t
nbd_hs_feed (struct nbd_conn *c, const uint8_t *p, size_t n)
{
  size_t used = 0;

  /* Every pass consumes input or changes state (to a later phase or to
   * CLOSING/DEAD, which end the loop), so this terminates. */
  while (used < n) {
    switch (c->state) {
    case NBD_CS_CLIENT_FLAGS: {
      uint32_t fl;

      used += nbd_collect (c->hbuf, &c->hgot, 4, p + used, n - used);
      if (c->hgot < 4)
        break;
      c->hgot = 0;
      fl = nbd_get32 (c->hbuf);
      if (fl & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
        die (c, "unknown client flags");
        return used;
      }
      /* A client without the fixed-newstyle bit is served the same way:
       * the only option it may send, EXPORT_NAME, works identically. */
      c->no_zeroes = fl & NBD_FLAG_C_NO_ZEROES;
      c->state = NBD_CS_OPT_HDR;
      break;
    }

    case NBD_CS_OPT_HDR:
      used += nbd_collect (c->hbuf, &c->hgot, NBD_OPT_HDR_SIZE, p + used,
                           n - used);
      if (c->hgot < NBD_OPT_HDR_SIZE)
        break;
      c->hgot = 0;
      if (nbd_get64 (c->hbuf) != NBD_MAGIC_OPTS) {
        die (c, "bad option magic");
        return used;
      }
      c->opt = nbd_get32 (c->hbuf + 8);
      c->optlen = nbd_get32 (c->hbuf + 12);
      if (++c->nopts > c->srv->cfg.max_options) {
        die (c, "too many options");
        return used;
      }
      if (c->optlen > NBD_MAX_OPTION_DATA) {
        die (c, "option data too long");
        return used;
      }
      c->optgot = 0;
      if (c->optlen == 0) {
        handle_option (c, c->opt, NULL, 0);
        break;
      }
      c->optbuf = malloc (c->optlen);
      if (c->optbuf == NULL) {
        die (c, "out of memory for option data");
        return used;
      }
      c->state = NBD_CS_OPT_DATA;
      break;

    case NBD_CS_OPT_DATA: {
      size_t take = c->optlen - c->optgot;

      if (take > n - used)
        take = n - used;
      memcpy (c->optbuf + c->optgot, p + used, take);
      c->optgot += (uint32_t) take;
      used += take;
      if (c->optgot < c->optlen)
        break;
      c->state = NBD_CS_OPT_HDR;
      handle_option (c, c->opt, c->optbuf, c->optlen);
      free (c->optbuf);
      c->optbuf = NULL;
      break;
    }

    default:
      /* Transmission, closing or dead: not ours. */
      return used;
    }
    if (c->state == NBD_CS_CLOSING || c->state == NBD_CS_DEAD)
      return used;
    if (c->state >= NBD_CS_TLS)
      return used;
  }
  return used;
}
