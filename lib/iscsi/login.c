/* login.c: the login phase (RFC 7143 §6.3, §11.12, §11.13).
 *
 * Security negotiation first (AuthMethod None, or CHAP one-way or mutual),
 * then operational negotiation, as many rounds as the target wants: a
 * target that volunteers keys answers with T=0 and must get our answers
 * before it lets us into Full Feature Phase.  Responses split with the C
 * bit are gathered before they are read.  Redirections (status class 1)
 * reconnect to the address the target gives.  Every failure names the
 * status the target sent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iscsi/internal.h"
#include "iscsi/chap.h"

enum { STAGE_SEC = 0, STAGE_OP = 1, STAGE_FFP = 3 };

static const struct {
  int code;
  const char *text;
} login_status_table[] = {
  { 0x0000, "success" },
  { 0x0101, "target moved temporarily" },
  { 0x0102, "target moved permanently" },
  { 0x0200, "initiator error" },
  { 0x0201, "authentication failed" },
  { 0x0202, "authorization failure" },
  { 0x0203, "target not found" },
  { 0x0204, "target removed" },
  { 0x0205, "unsupported version" },
  { 0x0206, "too many connections" },
  { 0x0207, "missing parameter" },
  { 0x0208, "cannot include in session" },
  { 0x0209, "session type not supported" },
  { 0x020a, "session does not exist" },
  { 0x020b, "invalid request during login" },
  { 0x0300, "target error" },
  { 0x0301, "service unavailable" },
  { 0x0302, "out of resources" },
};

const char *
braid_iscsi_login_status_str (int status)
{
  for (size_t i = 0; i < sizeof login_status_table / sizeof login_status_table[0]; i++)
    if (login_status_table[i].code == status)
      return login_status_table[i].text;
  switch (status >> 8) {
  case 1: return "redirection";
  case 2: return "initiator error";
  case 3: return "target error";
  default: return "unknown login status";
  }
}

/* Send one Login Request with the keys in 'kv' (may be empty). */
static int
login_send (struct braid_iscsi *s, int transit, int csg, int nsg,
            const struct iscsi_textbuf *kv)
{
  struct iscsi_pdu *p = pdu_new (s);
  if (!p)
    return -ENOMEM;
  uint8_t *h = p->hdr;
  h[0] = 0x40 | OP_LOGIN_REQ;
  h[1] = (uint8_t) ((transit ? 0x80 : 0) | (csg << 2) | (transit ? nsg : 0));
  h[2] = 0;                         /* Version-max */
  h[3] = 0;                         /* Version-min */
  memcpy (h + 8, s->isid, 6);
  put16 (h + 14, 0);                /* TSIH 0: new session or reinstatement */
  put32 (h + 16, s->login_itt);
  put16 (h + 20, 0);                /* CID */
  put32 (h + 24, s->cmdsn);
  put32 (h + 28, s->statsn_valid ? s->exp_statsn : 0);
  if (kv && kv->len) {
    int r = pdu_set_own_data (p, kv->data, kv->len);
    if (r < 0) {
      pdu_free (s, p);
      return r;
    }
  }
  pdu_finalize (s, p, 0);           /* no digests during login */
  pdu_queue (s, p);
  s->login_rounds++;
  return 0;
}

static int
login_fail (struct braid_iscsi *s, int err)
{
  sess_conn_fail (s, 0, 0, "%s", s->err);
  return err;
}

/* First request of the login: names and the security offer. */
int
login_start (struct braid_iscsi *s)
{
  struct iscsi_textbuf kv = { 0 };
  int r;

  s->state = S_LOGIN;
  s->login_rounds = 0;
  s->login_answers = 0;
  s->chap_step = 0;
  s->auth_method = 0;
  s->neg_offered = 0;
  s->login_status = 0;
  s->statsn_valid = 0;
  s->login_itt++;
  if (s->login_itt == RSVD_TAG)
    s->login_itt = 0;
  iscsi_textbuf_reset (&s->login_in);
  iscsi_neg_init (&s->neg, &s->opts,
                  s->session_type == BRAID_ISCSI_SESSION_DISCOVERY);

  r = iscsi_text_add (&kv, "InitiatorName", s->initiator);
  if (!r)
    r = iscsi_text_add (&kv, "SessionType",
                        s->session_type == BRAID_ISCSI_SESSION_DISCOVERY
                        ? "Discovery" : "Normal");
  if (!r && s->session_type != BRAID_ISCSI_SESSION_DISCOVERY)
    r = iscsi_text_add (&kv, "TargetName", s->target);
  if (!r) {
    const char *am = "None";
    if (s->chap_user[0])
      am = s->chap_tuser[0] ? "CHAP" : "CHAP,None";
    r = iscsi_text_add (&kv, "AuthMethod", am);
  }
  if (r < 0) {
    iscsi_textbuf_free (&kv);
    return r;
  }
  s->login_stage = STAGE_SEC;
  /* Without CHAP there is nothing to negotiate in the security stage:
   * ask to move on at once (both lab targets accept it, and it is what
   * open-iscsi does). */
  r = login_send (s, !s->chap_user[0], STAGE_SEC, STAGE_OP, &kv);
  iscsi_textbuf_free (&kv);
  return r;
}

/* The operational stage's first request: our offers. */
static int
login_send_offer (struct braid_iscsi *s)
{
  struct iscsi_textbuf kv = { 0 };
  int r = iscsi_neg_offer (&s->neg, &kv);

  if (r == 0) {
    s->neg_offered = 1;
    s->login_stage = STAGE_OP;
    r = login_send (s, 1, STAGE_OP, STAGE_FFP, &kv);
  }
  iscsi_textbuf_free (&kv);
  return r;
}

static int
chap_answer (struct braid_iscsi *s, const struct iscsi_kvlist *kv,
             struct iscsi_textbuf *out)
{
  const char *a = iscsi_kvlist_get (kv, "CHAP_A");
  const char *i = iscsi_kvlist_get (kv, "CHAP_I");
  const char *c = iscsi_kvlist_get (kv, "CHAP_C");
  uint8_t challenge[CHAP_MAX_CHALLENGE], resp[CHAP_MAX_DIGEST];
  size_t clen, rlen;
  uint8_t id;
  char hex[2 * CHAP_MAX_CHALLENGE + 3];
  int alg, r;

  if (!a || !i || !c) {
    sess_set_error (s, "CHAP: the target sent no %s",
                    !a ? "CHAP_A" : !i ? "CHAP_I" : "CHAP_C");
    return -EPROTO;
  }
  alg = chap_pick (a, s->opts.chap_algs);
  if (alg < 0) {
    char ours[32];
    chap_format_list (s->opts.chap_algs, ours, sizeof ours);
    sess_set_error (s, "CHAP: the target chose CHAP_A=%s, we offered %s", a, ours);
    return -EPROTO;
  }
  if (chap_parse_id (i, &id) < 0) {
    sess_set_error (s, "CHAP: bad CHAP_I value");
    return -EPROTO;
  }
  r = chap_decode (c, challenge, sizeof challenge, &clen);
  if (r < 0 || clen == 0) {
    sess_set_error (s, "CHAP: bad CHAP_C value (%s)",
                    r == -E2BIG ? "longer than 1024 bytes" : "not hex or base64");
    return -EPROTO;
  }
  r = chap_response (alg, id, s->chap_secret, s->chap_secret_len,
                     challenge, clen, resp, &rlen);
  if (r < 0) {
    sess_set_error (s, "CHAP: %s digest unavailable", chap_alg_name (alg));
    return r;
  }
  s->nego.chap_alg = alg;
  s->neg.res.chap_alg = alg;
  r = chap_encode_hex (resp, rlen, hex, sizeof hex);
  if (!r)
    r = iscsi_text_add (out, "CHAP_N", s->chap_user);
  if (!r)
    r = iscsi_text_add (out, "CHAP_R", hex);
  if (!r && s->chap_tuser[0]) {
    /* Mutual CHAP: our own challenge, never equal to the target's. */
    size_t mylen = chap_digest_len (alg);
    do {
      r = chap_random (s->chap_my_challenge, mylen);
      if (r < 0)
        return r;
      r = chap_random (&s->chap_my_id, 1);
      if (r < 0)
        return r;
    } while (clen == mylen && memcmp (challenge, s->chap_my_challenge, mylen) == 0);
    r = iscsi_text_addf (out, "CHAP_I", "%u", s->chap_my_id);
    if (!r)
      r = chap_encode_hex (s->chap_my_challenge, mylen, hex, sizeof hex);
    if (!r)
      r = iscsi_text_add (out, "CHAP_C", hex);
  }
  explicit_bzero (resp, sizeof resp);
  return r;
}

static int
chap_check_target (struct braid_iscsi *s, const struct iscsi_kvlist *kv)
{
  const char *n = iscsi_kvlist_get (kv, "CHAP_N");
  const char *rv = iscsi_kvlist_get (kv, "CHAP_R");
  uint8_t resp[CHAP_MAX_DIGEST + 1];
  size_t rlen;

  if (!n || !rv) {
    sess_set_error (s, "mutual CHAP: the target did not authenticate itself");
    return -EACCES;
  }
  if (strcmp (n, s->chap_tuser) != 0) {
    sess_set_error (s, "mutual CHAP: the target answered as \"%s\", expected \"%s\"",
                    n, s->chap_tuser);
    return -EACCES;
  }
  if (chap_decode (rv, resp, sizeof resp, &rlen) < 0
      || chap_verify (s->neg.res.chap_alg, s->chap_my_id, s->chap_tsecret,
                      s->chap_tsecret_len, s->chap_my_challenge,
                      chap_digest_len (s->neg.res.chap_alg), resp, rlen) != 0) {
    sess_set_error (s, "mutual CHAP: the target's response is wrong "
                    "(target authentication failed)");
    return -EACCES;
  }
  return 0;
}

static void
login_redirect (struct braid_iscsi *s, const struct iscsi_kvlist *kv,
                int detail)
{
  const char *addr = iscsi_kvlist_get (kv, "TargetAddress");
  char host[256];
  uint16_t port;

  if (!addr || braid_iscsi_split_portal (addr, host, sizeof host, &port) < 0
      || ++s->redirects > MAX_REDIRECTS) {
    sess_set_error (s, "login redirected %s",
                    !addr ? "without a TargetAddress"
                    : s->redirects > MAX_REDIRECTS ? "too many times"
                    : "to a malformed TargetAddress");
    s->login_status = 0x0100 | detail;
    sess_give_up (s, s->err);
    return;
  }
  if (strchr (host, ':'))
    snprintf (s->cur_portal, sizeof s->cur_portal, "[%s]:%u", host, port);
  else
    snprintf (s->cur_portal, sizeof s->cur_portal, "%s:%u", host, port);
  if (detail == 2) {
    /* Moved permanently: future logins go there too. */
    snprintf (s->portal, sizeof s->portal, "%s", s->cur_portal);
  }
  BRAID_LOG (&s->log, BRAID_LOG_NOTICE, "login redirected (%s) to %s",
             detail == 2 ? "permanently" : "temporarily", s->cur_portal);
  sess_event (s, BRAID_ISCSI_EV_REDIRECTED, s->cur_portal);
  conn_close (s, 0);
  conn_drop_sendq (s);
  int r = conn_start (s);
  if (r < 0)
    sess_conn_fail (s, 0, 0, "%s", s->err);
  else
    sess_update_loop (s);
}

static int
login_done (struct braid_iscsi *s, const uint8_t *bhs)
{
  iscsi_neg_finish (&s->neg, &s->nego);
  s->have_nego = 1;
  s->tsih = get16 (bhs + 14);
  s->nego.tsih = s->tsih;
  s->cmdsn = get32 (bhs + 28);
  s->exp_cmdsn = s->cmdsn;
  s->max_cmdsn = get32 (bhs + 32);
  s->max_xmit = s->nego.max_xmit_data_segment_length;
  /* Room for a whole data segment at our MaxRecvDataSegmentLength. */
  size_t need = (size_t) s->nego.max_recv_data_segment_length + BHS_LEN
                + MAX_AHS_BYTES + 64 * 1024;
  if (s->rx.cap < need) {
    uint8_t *nb = malloc (need);
    if (!nb) {
      sess_set_error (s, "out of memory for the receive buffer");
      return -ENOMEM;
    }
    memcpy (nb, s->rx.buf + s->rx.start, s->rx.end - s->rx.start);
    s->rx.end -= s->rx.start;
    s->rx.start = 0;
    free (s->rx.buf);
    s->rx.buf = nb;
    s->rx.cap = need;
  }
  s->hdigest = s->nego.header_digest;
  s->ddigest = s->nego.data_digest;
  iscsi_textbuf_reset (&s->login_in);
  sess_logged_in (s);
  return 0;
}

int
login_rx (struct braid_iscsi *s, const uint8_t *bhs, const uint8_t *data,
          uint32_t dlen)
{
  struct iscsi_kvlist kv = { 0 };
  struct iscsi_textbuf out = { 0 };
  char perr[256];
  int r = 0;

  s->login_answers++;
  if ((bhs[0] & 0x3f) != OP_LOGIN_RSP) {
    sess_set_error (s, "protocol error: opcode 0x%02x during login",
                    bhs[0] & 0x3f);
    return login_fail (s, -EPROTO);
  }
  if (get32 (bhs + 16) != s->login_itt) {
    sess_set_error (s, "protocol error: login response for ITT 0x%08x, "
                    "expected 0x%08x", get32 (bhs + 16), s->login_itt);
    return login_fail (s, -EPROTO);
  }
  int transit = bhs[1] & 0x80, cont = bhs[1] & 0x40;
  int csg = (bhs[1] >> 2) & 3, nsg = bhs[1] & 3;
  int status = bhs[36] << 8 | bhs[37];

  s->exp_statsn = get32 (bhs + 24) + 1;
  s->statsn_valid = 1;
  s->login_status = status;

  if (transit && cont) {
    sess_set_error (s, "protocol error: login response with both T and C set");
    return login_fail (s, -EPROTO);
  }
  r = iscsi_text_append (&s->login_in, data, dlen);
  if (r < 0 || s->login_in.len > 64 * 1024) {
    sess_set_error (s, "login response text too long");
    return login_fail (s, -E2BIG);
  }
  if (cont) {
    /* More text follows: an empty request fetches it. */
    r = login_send (s, 0, csg, 0, NULL);
    return r < 0 ? login_fail (s, r) : 0;
  }
  if (s->login_rounds > MAX_LOGIN_ROUNDS) {
    sess_set_error (s, "login did not finish after %d rounds", MAX_LOGIN_ROUNDS);
    return login_fail (s, -EPROTO);
  }
  r = iscsi_text_parse (s->login_in.data, s->login_in.len, &kv, perr, sizeof perr);
  iscsi_textbuf_reset (&s->login_in);
  if (r < 0) {
    sess_set_error (s, "malformed login response text: %s", perr);
    return login_fail (s, r);
  }

  if (status != 0) {
    int cls = status >> 8;
    if (cls == 1) {
      login_redirect (s, &kv, status & 0xff);
      iscsi_kvlist_free (&kv);
      return -EAGAIN;
    }
    if (status == 0x0200 && s->chap_step == 2)
      /* Some targets (tgtd 1.0.x) answer a wrong CHAP response with the
       * generic initiator error rather than 0x0201. */
      sess_set_error (s, "login to %s %s failed: authentication failed (the "
                      "target answered our CHAP_R with status 0x0200; with "
                      "CHAP_A=%d, check the secret and the algorithm list)",
                      s->cur_portal, s->target[0] ? s->target : "(discovery)",
                      s->neg.res.chap_alg);
    else
      sess_set_error (s, "login to %s %s failed: %s (status 0x%04x)",
                      s->cur_portal, s->target[0] ? s->target : "(discovery)",
                      braid_iscsi_login_status_str (status), status);
    iscsi_kvlist_free (&kv);
    /* Wrong credentials or names will not fix themselves. */
    if (cls == 2 && status != 0x0206 && status != 0x020a) {
      sess_give_up (s, s->err);
      return -EACCES;
    }
    return login_fail (s, -EAGAIN);
  }

  if (csg == STAGE_SEC) {
    const char *am = iscsi_kvlist_get (&kv, "AuthMethod");
    /* Declaratives (TargetPortalGroupTag, TargetAlias) may come now. */
    struct iscsi_textbuf ignored = { 0 };
    r = iscsi_neg_response (&s->neg, &kv, &ignored, perr, sizeof perr);
    iscsi_textbuf_free (&ignored);
    if (r < 0) {
      iscsi_kvlist_free (&kv);
      sess_set_error (s, "login: %s", perr);
      return login_fail (s, r);
    }
    if (s->chap_step == 0 && am) {
      if (strcmp (am, "CHAP") == 0)
        s->auth_method = 1;
      else if (strcmp (am, "None") == 0 && !s->chap_tuser[0])
        s->auth_method = 0;
      else {
        sess_set_error (s, "the target chose AuthMethod=%s%s", am,
                        s->chap_tuser[0] ? " but mutual CHAP is required" : "");
        iscsi_kvlist_free (&kv);
        sess_give_up (s, s->err);
        return -EACCES;
      }
    }
    if (transit) {
      if (s->chap_step == 2 && s->chap_tuser[0]) {
        r = chap_check_target (s, &kv);
        if (r < 0) {
          iscsi_kvlist_free (&kv);
          sess_give_up (s, s->err);
          return r;
        }
      }
      if (s->chap_tuser[0] && s->chap_step != 2) {
        sess_set_error (s, "mutual CHAP required but the target skipped authentication");
        iscsi_kvlist_free (&kv);
        sess_give_up (s, s->err);
        return -EACCES;
      }
      s->chap_step = 3;
      iscsi_kvlist_free (&kv);
      if (nsg == STAGE_FFP) {
        /* The target skipped operational negotiation: defaults apply. */
        return login_done (s, bhs);
      }
      r = login_send_offer (s);
      return r < 0 ? login_fail (s, r) : 0;
    }
    /* Still in the security stage. */
    if (s->auth_method == 0) {
      iscsi_kvlist_free (&kv);
      r = login_send (s, 1, STAGE_SEC, STAGE_OP, NULL);
      return r < 0 ? login_fail (s, r) : 0;
    }
    if (s->chap_step == 0) {
      char list[32];
      chap_format_list (s->opts.chap_algs, list, sizeof list);
      r = iscsi_text_add (&out, "CHAP_A", list);
      if (!r)
        r = login_send (s, 0, STAGE_SEC, 0, &out);
      s->chap_step = 1;
    }
    else if (s->chap_step == 1) {
      r = chap_answer (s, &kv, &out);
      if (r < 0) {
        iscsi_kvlist_free (&kv);
        iscsi_textbuf_free (&out);
        sess_give_up (s, s->err);
        return r;
      }
      r = login_send (s, 1, STAGE_SEC, STAGE_OP, &out);
      s->chap_step = 2;
    }
    else {
      sess_set_error (s, "CHAP: the target kept the security stage open "
                      "after our response");
      r = -EPROTO;
    }
    iscsi_kvlist_free (&kv);
    iscsi_textbuf_free (&out);
    return r < 0 ? login_fail (s, r) : 0;
  }

  if (csg == STAGE_OP) {
    r = iscsi_neg_response (&s->neg, &kv, &out, perr, sizeof perr);
    iscsi_kvlist_free (&kv);
    if (r < 0) {
      iscsi_textbuf_free (&out);
      sess_set_error (s, "negotiation failed: %s", perr);
      sess_give_up (s, s->err);
      return r;
    }
    if (transit && nsg == STAGE_FFP) {
      iscsi_textbuf_free (&out);
      return login_done (s, bhs);
    }
    /* The target wants another round (it volunteered keys, or held T). */
    r = login_send (s, 1, STAGE_OP, STAGE_FFP, &out);
    iscsi_textbuf_free (&out);
    return r < 0 ? login_fail (s, r) : 0;
  }

  iscsi_kvlist_free (&kv);
  sess_set_error (s, "protocol error: login response in stage %d", csg);
  return login_fail (s, -EPROTO);
}
