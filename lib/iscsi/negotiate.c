/* negotiate.c: operational parameter negotiation (RFC 7143 §6.2, §13).
 *
 * Everything the initiator knows about a key lives in one row of 'keys'
 * below: its negotiation type, range, RFC default, the session types it
 * means something in, where our value comes from (an option field or a
 * constant) and which field of struct braid_iscsi_negotiated receives the
 * result.  The code around the table only implements the RFC's rules once
 * per type:
 *
 *   - an answer to our offer is checked against the result function (a min
 *     key may not come back above our offer, a max key not below it, an AND
 *     key may not turn our No into Yes, an OR key not our Yes into No, a list
 *     key must be one of the values we listed) and against the key's range;
 *   - Reject / NotUnderstood / Irrelevant leave the key at its default and
 *     fail the login only for keys we cannot do without (today: a digest
 *     offered without "None");
 *   - a key the target raises on its own (tgtd does this when tuned) gets our
 *     answer computed by the same result function and appended to the reply
 *     (except an AND offer of No or an OR offer of Yes, which settle
 *     themselves and need none);
 *   - declarative keys (MaxRecvDataSegmentLength, TargetPortalGroupTag,
 *     TargetAlias) are recorded and never answered.
 *
 * Keys are negotiated once per login: a key that comes back with a different
 * value after it was settled is a protocol error (RFC 7143 §6.2), the same
 * value again is tolerated.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "iscsi/negotiate.h"

enum neg_type {
  NT_LIST,          /* list negotiation: the target picks one of ours */
  NT_AND,           /* boolean, result function AND */
  NT_OR,            /* boolean, result function OR */
  NT_MIN,           /* numeric, result function Minimum */
  NT_MAX,           /* numeric, result function Maximum */
  NT_DECL_NUM,      /* declarative number (each side states its own) */
  NT_DECL_TEXT,     /* declarative text (TargetAlias) */
  NT_OBSOLETE,      /* RFC 3720 key this RFC obsoleted: always Reject */
  NT_IGNORE,        /* known, handled elsewhere or an echo of ours */
};

/* Session types a key means something in. */
#define SC_NORMAL 1u
#define SC_DISC 2u
#define SC_BOTH (SC_NORMAL | SC_DISC)

/* Row flags. */
#define F_OFFER 1u        /* we offer it in normal sessions */
#define F_OFFER_DISC 2u   /* we offer it in discovery sessions */
#define F_REQUIRED 4u     /* Reject/NotUnderstood fails the login */

/* How a value is stored in an options or result structure. */
enum field_kind { FK_NONE, FK_INT, FK_U16, FK_U32 };

struct neg_key {
  const char *name;
  enum neg_type type;
  unsigned scope;
  unsigned flags;
  uint64_t min, max;
  int64_t def;                  /* RFC default (list: index into 'vals') */
  const char *const *vals;      /* list keys: every value we know */
  /* Our value: an option field, or 'fixed' when opt_kind is FK_NONE. */
  enum field_kind opt_kind;
  size_t opt_off;
  int64_t fixed;
  /* Where the result goes in struct braid_iscsi_negotiated. */
  enum field_kind res_kind;
  size_t res_off;
};

static const char *const digest_vals[] = { "None", "CRC32C", NULL };
static const char *const taskrep_vals[] = { "RFC3720", "ResponseFence",
                                            "FastAbort", NULL };

#define OPT(f) offsetof (struct braid_iscsi_opts, f)
#define RES(f) offsetof (struct braid_iscsi_negotiated, f)
#define MAX24 16777215u

/* Indexes of rows the code refers to by name. */
enum {
  K_HEADER_DIGEST, K_DATA_DIGEST, K_MRDSL, K_MAX_CONNECTIONS, K_INITIAL_R2T,
  K_IMMEDIATE_DATA, K_MAX_BURST, K_FIRST_BURST, K_T2WAIT, K_T2RETAIN,
  K_MAX_R2T, K_DATA_PDU_IN_ORDER, K_DATA_SEQ_IN_ORDER, K_ERL, K_TPGT,
  K_TARGET_ALIAS,
};

static const struct neg_key keys[] = {
  [K_HEADER_DIGEST] = { "HeaderDigest", NT_LIST, SC_BOTH, F_OFFER | F_OFFER_DISC,
    0, 1, 0, digest_vals, FK_INT, OPT (header_digest), 0,
    FK_INT, RES (header_digest) },
  [K_DATA_DIGEST] = { "DataDigest", NT_LIST, SC_BOTH, F_OFFER | F_OFFER_DISC,
    0, 1, 0, digest_vals, FK_INT, OPT (data_digest), 0,
    FK_INT, RES (data_digest) },
  /* Declarative per direction: ours is what we declare (and what the
   * target must respect); the target's declaration is what we must
   * respect, 8192 until it makes one. */
  [K_MRDSL] = { "MaxRecvDataSegmentLength", NT_DECL_NUM, SC_BOTH,
    F_OFFER | F_OFFER_DISC, 512, MAX24, 8192, NULL,
    FK_U32, OPT (max_recv_data_segment_length), 0,
    FK_U32, RES (max_xmit_data_segment_length) },
  /* braid runs one connection per session: multipath is done with
   * sessions, not MC/S. */
  [K_MAX_CONNECTIONS] = { "MaxConnections", NT_MIN, SC_NORMAL, F_OFFER,
    1, 65535, 1, NULL, FK_NONE, 0, 1, FK_U32, RES (max_connections) },
  [K_INITIAL_R2T] = { "InitialR2T", NT_OR, SC_NORMAL, F_OFFER,
    0, 1, 1, NULL, FK_INT, OPT (initial_r2t), 0, FK_INT, RES (initial_r2t) },
  [K_IMMEDIATE_DATA] = { "ImmediateData", NT_AND, SC_NORMAL, F_OFFER,
    0, 1, 1, NULL, FK_INT, OPT (immediate_data), 0,
    FK_INT, RES (immediate_data) },
  [K_MAX_BURST] = { "MaxBurstLength", NT_MIN, SC_NORMAL, F_OFFER,
    512, MAX24, 262144, NULL, FK_U32, OPT (max_burst_length), 0,
    FK_U32, RES (max_burst_length) },
  [K_FIRST_BURST] = { "FirstBurstLength", NT_MIN, SC_NORMAL, F_OFFER,
    512, MAX24, 65536, NULL, FK_U32, OPT (first_burst_length), 0,
    FK_U32, RES (first_burst_length) },
  /* Relevant in discovery sessions too, but not worth offering there: the
   * defaults are fine for a session that lives a few round trips. */
  [K_T2WAIT] = { "DefaultTime2Wait", NT_MAX, SC_BOTH, F_OFFER,
    0, 3600, 2, NULL, FK_U16, OPT (default_time2wait), 0,
    FK_U16, RES (default_time2wait) },
  [K_T2RETAIN] = { "DefaultTime2Retain", NT_MIN, SC_BOTH, F_OFFER,
    0, 3600, 20, NULL, FK_U16, OPT (default_time2retain), 0,
    FK_U16, RES (default_time2retain) },
  [K_MAX_R2T] = { "MaxOutstandingR2T", NT_MIN, SC_NORMAL, F_OFFER,
    1, 65535, 1, NULL, FK_U32, OPT (max_outstanding_r2t), 0,
    FK_U32, RES (max_outstanding_r2t) },
  /* The data path only implements in-order data: offer Yes, which an OR
   * key keeps whatever the target says. */
  [K_DATA_PDU_IN_ORDER] = { "DataPDUInOrder", NT_OR, SC_NORMAL, F_OFFER,
    0, 1, 1, NULL, FK_NONE, 0, 1, FK_INT, RES (data_pdu_in_order) },
  [K_DATA_SEQ_IN_ORDER] = { "DataSequenceInOrder", NT_OR, SC_NORMAL, F_OFFER,
    0, 1, 1, NULL, FK_NONE, 0, 1, FK_INT, RES (data_sequence_in_order) },
  /* braid runs ERL 0 (no SNACK, no connection recovery): offering 0 with a
   * min function means no target can push us higher. */
  [K_ERL] = { "ErrorRecoveryLevel", NT_MIN, SC_BOTH, F_OFFER,
    0, 2, 0, NULL, FK_NONE, 0, 0, FK_INT, RES (error_recovery_level) },
  [K_TPGT] = { "TargetPortalGroupTag", NT_DECL_NUM, SC_BOTH, 0,
    0, 65535, -1, NULL, FK_NONE, 0, 0, FK_INT, RES (tpgt) },
  [K_TARGET_ALIAS] = { "TargetAlias", NT_DECL_TEXT, SC_BOTH, 0,
    0, 0, 0, NULL, FK_NONE, 0, 0, FK_NONE, 0 },
  /* Repeated in SendTargets answers and redirections: login reads it. */
  { "TargetAddress", NT_IGNORE, SC_BOTH, 0, 0, 0, 0, NULL,
    FK_NONE, 0, 0, FK_NONE, 0 },
  /* Obsolete since RFC 7143 (§13.25); RFC 3720 targets still echo
   * "IFMarker=No", which settles itself (AND) and is simply accepted.  If
   * one offers Yes, answering "No" (which the RFC allows instead of
   * Reject) is what a 3720 target understands best. */
  { "IFMarker", NT_AND, SC_BOTH, 0, 0, 1, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  { "OFMarker", NT_AND, SC_BOTH, 0, 0, 1, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  /* The marker intervals must be answered Reject (RFC 7143 §13.25). */
  { "IFMarkInt", NT_OBSOLETE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  { "OFMarkInt", NT_OBSOLETE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  /* Not offered (tgtd and istgt answer NotUnderstood); if a target offers
   * it we can only do the RFC 3720 semantics. */
  { "TaskReporting", NT_LIST, SC_NORMAL, 0, 0, 2, 0, taskrep_vals,
    FK_NONE, 0, 0, FK_NONE, 0 },
  /* Not offered; answered with 1 (RFC 7143 itself, none of RFC 7144's
   * additions) if a target offers it. */
  { "iSCSIProtocolLevel", NT_MIN, SC_NORMAL, 0, 0, 31, 1, NULL,
    FK_NONE, 0, 1, FK_NONE, 0 },
  /* Declaratives the login code sends; a target may echo them. */
  { "SessionType", NT_IGNORE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  { "TargetName", NT_IGNORE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  { "InitiatorName", NT_IGNORE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  { "InitiatorAlias", NT_IGNORE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
  /* Security negotiation is login's business (CHAP_* too, by prefix). */
  { "AuthMethod", NT_IGNORE, SC_BOTH, 0, 0, 0, 0, NULL, FK_NONE, 0, 0,
    FK_NONE, 0 },
};

#define NKEYS (sizeof keys / sizeof keys[0])

_Static_assert (NKEYS <= 64, "one bit per key in a uint64_t");

size_t
iscsi_neg_nkeys (void)
{
  return NKEYS;
}

const char *
iscsi_neg_key_name (size_t i)
{
  return i < NKEYS ? keys[i].name : NULL;
}

/***** Field access *****/

static int64_t
field_get (const void *base, enum field_kind kind, size_t off)
{
  const char *p = (const char *) base + off;

  switch (kind)
    {
    case FK_INT:
      {
        int v;
        memcpy (&v, p, sizeof v);
        return v;
      }
    case FK_U16:
      {
        uint16_t v;
        memcpy (&v, p, sizeof v);
        return v;
      }
    case FK_U32:
      {
        uint32_t v;
        memcpy (&v, p, sizeof v);
        return v;
      }
    case FK_NONE:
      break;
    }
  return 0;
}

static void
field_set (void *base, enum field_kind kind, size_t off, int64_t val)
{
  char *p = (char *) base + off;

  switch (kind)
    {
    case FK_INT:
      {
        int v = (int) val;
        memcpy (p, &v, sizeof v);
        break;
      }
    case FK_U16:
      {
        uint16_t v = (uint16_t) val;
        memcpy (p, &v, sizeof v);
        break;
      }
    case FK_U32:
      {
        uint32_t v = (uint32_t) val;
        memcpy (p, &v, sizeof v);
        break;
      }
    case FK_NONE:
      break;
    }
}

static void
res_set (struct iscsi_neg *n, const struct neg_key *k, int64_t v)
{
  field_set (&n->res, k->res_kind, k->res_off, v);
}

/* Our value for a boolean or numeric key, clamped into the key's range so
 * a bad option can never put an invalid value on the wire (set_opts is
 * where bad options get reported). */
static uint64_t
our_value (const struct iscsi_neg *n, const struct neg_key *k)
{
  int64_t v = k->opt_kind == FK_NONE
                ? k->fixed : field_get (&n->opts, k->opt_kind, k->opt_off);

  if (k->type == NT_AND || k->type == NT_OR)
    return v != 0;
  if (v < 0 || (uint64_t) v < k->min)
    v = (int64_t) k->min;
  if ((uint64_t) v > k->max)
    v = (int64_t) k->max;
  /* FirstBurstLength must not exceed MaxBurstLength (RFC 7143 §13.14). */
  if (k == &keys[K_FIRST_BURST])
    {
      uint64_t mbl = our_value (n, &keys[K_MAX_BURST]);
      if ((uint64_t) v > mbl)
        v = (int64_t) mbl;
    }
  return (uint64_t) v;
}

/* Our acceptable values of a list key, most preferred first, as indexes
 * into k->vals.  Returns how many. */
static size_t
our_list (const struct iscsi_neg *n, const struct neg_key *k, int idx[4])
{
  if (k->vals == digest_vals)
    {
      switch (field_get (&n->opts, k->opt_kind, k->opt_off))
        {
        case BRAID_DIGEST_CRC32C:
          idx[0] = 1;
          return 1;
        case BRAID_DIGEST_NONE_CRC32C:
          idx[0] = 0;
          idx[1] = 1;
          return 2;
        case BRAID_DIGEST_CRC32C_NONE:
          idx[0] = 1;
          idx[1] = 0;
          return 2;
        case BRAID_DIGEST_NONE:
        default:
          idx[0] = 0;
          return 1;
        }
    }
  idx[0] = (int) k->def;          /* TaskReporting: RFC3720 only */
  return 1;
}

static int
list_has (const int *idx, size_t nidx, int v)
{
  size_t i;

  for (i = 0; i < nidx; i++)
    if (idx[i] == v)
      return 1;
  return 0;
}

static int
list_index (const struct neg_key *k, const char *v, size_t len)
{
  int i;

  for (i = 0; k->vals[i] != NULL; i++)
    if (strlen (k->vals[i]) == len && memcmp (k->vals[i], v, len) == 0)
      return i;
  return -1;
}

/* A key we cannot do without: its RFC default is not something we could
 * live with (a digest offered without "None"), or the row says so. */
static int
required (const struct iscsi_neg *n, const struct neg_key *k)
{
  if (k->flags & F_REQUIRED)
    return 1;
  if (k->type == NT_LIST)
    {
      int idx[4];
      size_t c = our_list (n, k, idx);
      return !list_has (idx, c, (int) k->def);
    }
  return 0;
}

/* An AND key offered No or an OR key offered Yes settles itself: the
 * target may leave it unanswered (RFC 7143 §6.2.2). */
static int
self_settled (const struct iscsi_neg *n, const struct neg_key *k)
{
  if (k->type == NT_AND)
    return our_value (n, k) == 0;
  if (k->type == NT_OR)
    return our_value (n, k) == 1;
  return 0;
}

static int
reserved_value (const char *v)
{
  return strcmp (v, "NotUnderstood") == 0 || strcmp (v, "Irrelevant") == 0
         || strcmp (v, "Reject") == 0;
}

/***** Messages *****/

static void
set_err (char *err, size_t errlen, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

static void
set_err (char *err, size_t errlen, const char *fmt, ...)
{
  va_list ap;

  if (err == NULL || errlen == 0)
    return;
  va_start (ap, fmt);
  vsnprintf (err, errlen, fmt, ap);
  va_end (ap);
}

/* A printable, bounded copy of a value off the wire for messages. */
static const char *
show (const char *v, char *buf, size_t cap)
{
  size_t i, o = 0;

  for (i = 0; v[i] != '\0' && o + 1 < cap; i++)
    {
      if (o + 4 >= cap && v[i + 1] != '\0')
        {
          buf[o++] = '.';
          buf[o++] = '.';
          buf[o++] = '.';
          break;
        }
      buf[o++] = (v[i] >= 0x20 && v[i] < 0x7f) ? v[i] : '?';
    }
  buf[o] = '\0';
  return buf;
}

/***** Offer *****/

void
iscsi_neg_init (struct iscsi_neg *n, const struct braid_iscsi_opts *o,
                int discovery)
{
  struct braid_iscsi_opts copy;
  size_t i;

  /* Copy first: 'o' may point into 'n' (re-initialising with n->opts). */
  if (o != NULL)
    copy = *o;
  memset (n, 0, sizeof *n);
  if (o != NULL)
    n->opts = copy;
  n->discovery = discovery != 0;
  for (i = 0; i < NKEYS; i++)
    if (keys[i].res_kind != FK_NONE)
      res_set (n, &keys[i], keys[i].def);
  n->res.max_recv_data_segment_length =
    (uint32_t) our_value (n, &keys[K_MRDSL]);
  n->res.tsih = 0;
  n->res.chap_alg = 0;
  n->res.target_alias[0] = '\0';
}

static int
offers_key (const struct iscsi_neg *n, const struct neg_key *k)
{
  return (k->flags & (n->discovery ? F_OFFER_DISC : F_OFFER)) != 0;
}

int
iscsi_neg_offer (struct iscsi_neg *n, struct iscsi_textbuf *out)
{
  size_t i;
  int r = 0;

  for (i = 0; i < NKEYS; i++)
    {
      const struct neg_key *k = &keys[i];
      uint64_t bit = 1ull << i;

      if (!offers_key (n, k))
        continue;
      /* Each key is negotiated once: not again if we already offered it
       * or the target raised it first.  A declaration is per direction:
       * the target declaring its MaxRecvDataSegmentLength does not
       * declare ours. */
      if (n->offered & bit)
        continue;
      if (k->type != NT_DECL_NUM && ((n->answered | n->target_offered) & bit))
        continue;
      switch (k->type)
        {
        case NT_LIST:
          {
            int idx[4];
            size_t c = our_list (n, k, idx), j;
            char v[64] = "";

            for (j = 0; j < c; j++)
              {
                if (j > 0)
                  strcat (v, ",");
                strcat (v, k->vals[idx[j]]);
              }
            r = iscsi_text_add (out, k->name, v);
            break;
          }
        case NT_AND:
        case NT_OR:
          r = iscsi_text_add (out, k->name, our_value (n, k) ? "Yes" : "No");
          break;
        case NT_MIN:
        case NT_MAX:
        case NT_DECL_NUM:
          r = iscsi_text_addf (out, k->name, "%llu",
                               (unsigned long long) our_value (n, k));
          break;
        default:
          continue;
        }
      if (r < 0)
        return r;
      n->offered |= bit;
    }
  return 0;
}

/***** Response *****/

/* The result of a settled key as the value it would have on the wire, for
 * spotting a repeat that changes it. */
static int
same_as_settled (const struct iscsi_neg *n, const struct neg_key *k,
                 const char *v)
{
  int64_t cur;

  if (k->res_kind == FK_NONE)
    return 1;                   /* nothing of ours depends on it */
  cur = field_get (&n->res, k->res_kind, k->res_off);
  switch (k->type)
    {
    case NT_LIST:
      return list_index (k, v, strlen (v)) == cur;
    case NT_AND:
    case NT_OR:
      {
        int b;
        return iscsi_text_parse_bool (v, &b) == 0 && b == cur;
      }
    default:
      {
        uint64_t x;
        return iscsi_text_parse_number (v, k->min, k->max, &x) == 0
               && (int64_t) x == cur;
      }
    }
}

/* The target answered a key we offered. */
static int
take_answer (struct iscsi_neg *n, const struct neg_key *k, const char *v,
             char *err, size_t errlen)
{
  char sb[80];
  uint64_t ours = 0, x;
  int b;

  if (reserved_value (v))
    {
      /* The key stays at its default. */
      if (required (n, k))
        {
          set_err (err, errlen, "%s: the target answered %s but braid "
                   "requires this key", k->name, v);
          return -EPROTO;
        }
      res_set (n, k, k->def);
      return 0;
    }

  switch (k->type)
    {
    case NT_LIST:
      {
        int idx[4], i;
        size_t c = our_list (n, k, idx);

        i = list_index (k, v, strlen (v));
        if (i < 0 || !list_has (idx, c, i))
          {
            set_err (err, errlen, "%s=%s: not one of the values braid "
                     "offered", k->name, show (v, sb, sizeof sb));
            return -EPROTO;
          }
        res_set (n, k, i);
        return 0;
      }
    case NT_AND:
    case NT_OR:
      if (iscsi_text_parse_bool (v, &b) < 0)
        {
          set_err (err, errlen, "%s=%s: not Yes or No", k->name,
                   show (v, sb, sizeof sb));
          return -EPROTO;
        }
      ours = our_value (n, k);
      if (k->type == NT_AND && ours == 0 && b == 1)
        {
          set_err (err, errlen, "%s=Yes: braid offered No and this key's "
                   "result function is AND", k->name);
          return -EPROTO;
        }
      if (k->type == NT_OR && ours == 1 && b == 0)
        {
          set_err (err, errlen, "%s=No: braid offered Yes and this key's "
                   "result function is OR", k->name);
          return -EPROTO;
        }
      res_set (n, k, b);
      return 0;
    case NT_MIN:
    case NT_MAX:
      if (iscsi_text_parse_number (v, k->min, k->max, &x) < 0)
        {
          set_err (err, errlen, "%s=%s: not a number in %llu..%llu", k->name,
                   show (v, sb, sizeof sb), (unsigned long long) k->min,
                   (unsigned long long) k->max);
          return -EPROTO;
        }
      ours = our_value (n, k);
      if (k == &keys[K_ERL] && x > 0)
        {
          set_err (err, errlen, "ErrorRecoveryLevel=%llu: braid runs at "
                   "ErrorRecoveryLevel 0", (unsigned long long) x);
          return -EPROTO;
        }
      if (k->type == NT_MIN && x > ours)
        {
          set_err (err, errlen, "%s=%llu: above braid's offer %llu (the "
                   "result is the minimum)", k->name, (unsigned long long) x,
                   (unsigned long long) ours);
          return -EPROTO;
        }
      if (k->type == NT_MAX && x < ours)
        {
          set_err (err, errlen, "%s=%llu: below braid's offer %llu (the "
                   "result is the maximum)", k->name, (unsigned long long) x,
                   (unsigned long long) ours);
          return -EPROTO;
        }
      res_set (n, k, (int64_t) x);
      return 0;
    default:
      return 0;
    }
}

/* The target raised a key on its own: work out our answer by the key's
 * result function, record the result and append the answer. */
static int
answer_offer (struct iscsi_neg *n, const struct neg_key *k, const char *v,
              struct iscsi_textbuf *reply)
{
  char num[24];
  const char *ans = "Reject";
  uint64_t ours, x;
  int b;

  switch (k->type)
    {
    case NT_LIST:
      {
        int idx[4];
        size_t c = our_list (n, k, idx);
        const char *p = v;

        /* Their list is in their order of preference: take the first value
         * we can do. */
        res_set (n, k, k->def);
        for (;;)
          {
            const char *e = strchr (p, ',');
            size_t len = e ? (size_t) (e - p) : strlen (p);
            int i = list_index (k, p, len);

            if (i >= 0 && list_has (idx, c, i))
              {
                ans = k->vals[i];
                res_set (n, k, i);
                break;
              }
            if (e == NULL)
              break;
            p = e + 1;
          }
        break;
      }
    case NT_AND:
    case NT_OR:
      if (iscsi_text_parse_bool (v, &b) < 0)
        {
          res_set (n, k, k->def);
          break;
        }
      /* An AND offer of No or an OR offer of Yes decides the result by
       * itself and the answer is optional (RFC 7143 §6.2.2): not sending
       * one spares a round trip, e.g. for an echoed "IFMarker=No". */
      if ((k->type == NT_AND && b == 0) || (k->type == NT_OR && b == 1))
        {
          res_set (n, k, b);
          return 0;
        }
      ours = our_value (n, k);
      b = k->type == NT_AND ? (ours && b) : (ours || b);
      ans = b ? "Yes" : "No";
      res_set (n, k, b);
      break;
    case NT_MIN:
    case NT_MAX:
      if (iscsi_text_parse_number (v, k->min, k->max, &x) < 0)
        {
          res_set (n, k, k->def);
          break;
        }
      ours = our_value (n, k);
      if (k->type == NT_MIN)
        x = x < ours ? x : ours;
      else
        x = x > ours ? x : ours;
      snprintf (num, sizeof num, "%llu", (unsigned long long) x);
      ans = num;
      res_set (n, k, (int64_t) x);
      break;
    default:
      return 0;
    }
  return reply ? iscsi_text_add (reply, k->name, ans) : 0;
}

static const struct neg_key *
find_key (const char *name, size_t *idx)
{
  size_t i;

  for (i = 0; i < NKEYS; i++)
    if (strcmp (keys[i].name, name) == 0)
      {
        *idx = i;
        return &keys[i];
      }
  return NULL;
}

/* Record a declaration.  Redeclaring is tolerated (the last one wins): the
 * RFC's "negotiate once" is about negotiated keys, and targets have been
 * seen repeating TargetAlias. */
static int
take_declaration (struct iscsi_neg *n, const struct neg_key *k, const char *v,
                  char *err, size_t errlen)
{
  char sb[80];
  uint64_t x;

  if (reserved_value (v))
    return 0;
  if (k->type == NT_DECL_TEXT)
    {
      /* Informational only: keep what fits, cut at a UTF-8 boundary. */
      size_t cap = sizeof n->res.target_alias - 1, len = strlen (v);

      if (len > cap)
        {
          len = cap;
          while (len > 0 && ((unsigned char) v[len] & 0xc0) == 0x80)
            len--;
        }
      memcpy (n->res.target_alias, v, len);
      n->res.target_alias[len] = '\0';
      return 0;
    }
  if (iscsi_text_parse_number (v, k->min, k->max, &x) < 0)
    {
      set_err (err, errlen, "%s=%s: not a number in %llu..%llu", k->name,
               show (v, sb, sizeof sb), (unsigned long long) k->min,
               (unsigned long long) k->max);
      return -EPROTO;
    }
  res_set (n, k, (int64_t) x);
  return 0;
}

int
iscsi_neg_response (struct iscsi_neg *n, const struct iscsi_kvlist *kv,
                    struct iscsi_textbuf *reply, char *err, size_t errlen)
{
  size_t i;
  int r;

  if (n == NULL || kv == NULL)
    return -EINVAL;
  if (err != NULL && errlen > 0)
    err[0] = '\0';

  for (i = 0; i < kv->n; i++)
    {
      const char *name = kv->v[i].key, *v = kv->v[i].value;
      const struct neg_key *k;
      size_t ki = 0;
      uint64_t bit;
      char sb[80];

      if (strncmp (name, "CHAP_", 5) == 0)
        continue;
      k = find_key (name, &ki);
      if (k == NULL)
        {
          /* An unknown key (X- and X# ones included) is an offer we do not
           * understand.  An unknown key carrying a reserved constant is an
           * answer to nothing we sent: echoing NotUnderstood back could
           * loop, so it is dropped. */
          if (reserved_value (v))
            continue;
          r = reply ? iscsi_text_add (reply, name, "NotUnderstood") : 0;
          if (r < 0)
            return r;
          continue;
        }
      bit = 1ull << ki;

      switch (k->type)
        {
        case NT_IGNORE:
          continue;
        case NT_DECL_NUM:
        case NT_DECL_TEXT:
          r = take_declaration (n, k, v, err, errlen);
          if (r < 0)
            return r;
          n->target_offered |= bit;
          continue;
        case NT_OBSOLETE:
          if (reserved_value (v))
            continue;
          r = reply ? iscsi_text_add (reply, name, "Reject") : 0;
          if (r < 0)
            return r;
          n->target_offered |= bit;
          continue;
        default:
          break;
        }

      /* A negotiated key.  One that means nothing in this session type
       * (e.g. InitialR2T in a discovery session, RFC 7143 §13) is answered
       * Irrelevant and otherwise left alone. */
      if (!(k->scope & (n->discovery ? SC_DISC : SC_NORMAL)))
        {
          if ((n->answered & bit) || reserved_value (v))
            continue;
          n->target_offered |= bit;
          n->answered |= bit;
          r = reply ? iscsi_text_add (reply, name, "Irrelevant") : 0;
          if (r < 0)
            return r;
          continue;
        }
      if (n->answered & bit)
        {
          if (reserved_value (v) || same_as_settled (n, k, v))
            continue;
          set_err (err, errlen, "%s=%s: the key was already negotiated in "
                   "this login", name, show (v, sb, sizeof sb));
          return -EPROTO;
        }
      if (n->offered & bit)
        {
          r = take_answer (n, k, v, err, errlen);
          if (r < 0)
            return r;
          n->answered |= bit;
          continue;
        }
      /* The target's own offer.  A reserved constant is not an offer. */
      if (reserved_value (v))
        continue;
      n->target_offered |= bit;
      n->answered |= bit;
      r = answer_offer (n, k, v, reply);
      if (r < 0)
        return r;
    }
  return 0;
}

int
iscsi_neg_complete (const struct iscsi_neg *n)
{
  size_t i;

  for (i = 0; i < NKEYS; i++)
    {
      const struct neg_key *k = &keys[i];
      uint64_t bit = 1ull << i;

      if (!(n->offered & bit) || (n->answered & bit))
        continue;
      if (k->type == NT_DECL_NUM || k->type == NT_DECL_TEXT)
        continue;
      if (self_settled (n, k))
        continue;
      return 0;
    }
  return 1;
}

void
iscsi_neg_finish (struct iscsi_neg *n, struct braid_iscsi_negotiated *out)
{
  size_t i;

  for (i = 0; i < NKEYS; i++)
    {
      const struct neg_key *k = &keys[i];
      uint64_t bit = 1ull << i;

      /* An AND-No / OR-Yes offer the target left unanswered is settled by
       * our own value; anything else unanswered keeps its default. */
      if ((n->offered & bit) && !(n->answered & bit) && self_settled (n, k))
        res_set (n, k, (int64_t) our_value (n, k));
    }
  if (n->res.first_burst_length > n->res.max_burst_length)
    n->res.first_burst_length = n->res.max_burst_length;
  /* With InitialR2T=Yes and ImmediateData=No there is no unsolicited data,
   * so FirstBurstLength is irrelevant (RFC 7143 §13.14): 0 says exactly
   * that to the data path. */
  if (n->res.initial_r2t && !n->res.immediate_data)
    n->res.first_burst_length = 0;
  if (out != NULL)
    *out = n->res;
}
