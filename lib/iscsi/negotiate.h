/* negotiate.h: operational parameter negotiation (RFC 7143 §6.2, §13).
 *
 * One table describes every key the initiator offers or may be offered:
 * its type (declarative, list, boolean AND/OR, numeric min/max), range,
 * RFC default and scope.  The login code asks this module for the offer of
 * the first LoginOperationalNegotiation request, hands it every key the
 * target sends, and sends back whatever answers this module appends (keys the
 * target volunteered need an answer: that is the extra round tgtd forces
 * when tuned).  Keys that were never negotiated keep their RFC defaults; in
 * particular the target's MaxRecvDataSegmentLength is 8192 until it
 * declares one.
 */
#ifndef BRAID_ISCSI_NEGOTIATE_H
#define BRAID_ISCSI_NEGOTIATE_H

#include <stddef.h>
#include <stdint.h>

#include "braid/iscsi.h"
#include "iscsi/text.h"

/* Negotiation state for one login. */
struct iscsi_neg {
  struct braid_iscsi_opts opts;     /* what we offer */
  int discovery;                    /* discovery session: fewer keys */
  uint64_t offered;                 /* bit per table key: we offered it */
  uint64_t answered;                /* bit per table key: we have the result */
  uint64_t target_offered;          /* bit per table key: target raised it */
  struct braid_iscsi_negotiated res;
};

/* Start a negotiation.  'o' is copied.  Results start at RFC defaults
 * (MaxXmitDataSegmentLength 8192, tpgt -1, ...). */
void iscsi_neg_init (struct iscsi_neg *n, const struct braid_iscsi_opts *o,
                     int discovery);

/* Append our offers for the first operational request: digests, and for
 * normal sessions InitialR2T, ImmediateData, MaxBurstLength,
 * FirstBurstLength, DefaultTime2Wait, DefaultTime2Retain,
 * MaxOutstandingR2T, DataPDUInOrder, DataSequenceInOrder,
 * ErrorRecoveryLevel=0, MaxConnections=1, plus our declarative
 * MaxRecvDataSegmentLength.  Returns 0 or -ENOMEM. */
int iscsi_neg_offer (struct iscsi_neg *n, struct iscsi_textbuf *out);

/* Take the keys of one target response (any stage: declaratives such as
 * TargetPortalGroupTag and TargetAlias are recorded too; AuthMethod and
 * CHAP_* keys are ignored here, login handles them).  For each key the
 * target offered on its own, append our answer to 'reply' (unknown keys get
 * NotUnderstood, X- keys too).  Returns 0, or -EPROTO with a message in
 * 'err' naming the key when an answer is unacceptable: a value outside the
 * key's range, a result that violates the negotiation rule (e.g. a
 * min-function key answered above our offer, a boolean AND key turned from
 * No to Yes), Reject or NotUnderstood for a key we must have
 * (ErrorRecoveryLevel > 0 is refused: braid runs ERL 0). */
int iscsi_neg_response (struct iscsi_neg *n, const struct iscsi_kvlist *kv,
                        struct iscsi_textbuf *reply, char *err, size_t errlen);

/* Non-zero when every key we offered has been answered. */
int iscsi_neg_complete (const struct iscsi_neg *n);

/* Finish: fill '*out' with the results, keys never answered taking their
 * RFC defaults, FirstBurstLength clamped to MaxBurstLength, and
 * FirstBurstLength irrelevant when InitialR2T=Yes and ImmediateData=No. */
void iscsi_neg_finish (struct iscsi_neg *n, struct braid_iscsi_negotiated *out);

/* The table itself, for tests and docs: number of keys and each name. */
size_t iscsi_neg_nkeys (void);
const char *iscsi_neg_key_name (size_t i);

#endif
