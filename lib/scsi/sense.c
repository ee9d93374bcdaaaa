/* sense.c: sense data decoding and the completion classifier (braid/scsi.h).
 *
 * The classifier is where the multipath engine's central question is
 * answered: does this failure belong to the path (retry the command on
 * another one) or to the logical unit (every path would give the same
 * answer, so return it to the client)?  Each rule below says why it sits
 * where it does.
 */
#include <errno.h>
#include <string.h>

#include "braid/common.h"
#include "braid/scsi.h"
#include "util/bytes.h"

/* Sense bytes actually usable: the ADDITIONAL SENSE LENGTH (byte 7) bounds
 * the data when present, as some targets pad the buffer with garbage. */
static size_t
sense_extent (const uint8_t *s, size_t len)
{
  if (len > 7 && (size_t) s[7] + 8 < len)
    return (size_t) s[7] + 8;
  return len;
}

/* Descriptor format: walk the descriptors after the 8-byte header for the
 * Information descriptor (type 0x00, additional length 0x0a). */
static void
parse_descriptors (const uint8_t *s, size_t len, struct braid_scsi_sense *out)
{
  size_t off = 8;

  while (off + 2 <= len) {
    size_t dlen = (size_t) s[off + 1] + 2;
    if (dlen > len - off)
      break;
    if (s[off] == 0x00 && dlen >= 12) {
      out->info_valid = (s[off + 2] & 0x80) != 0;
      out->info = braid_get_be64 (s + off + 4);
      return;
    }
    off += dlen;
  }
}

int
braid_scsi_parse_sense (const uint8_t *s, size_t len,
                        struct braid_scsi_sense *out)
{
  uint8_t code;

  if (out == NULL)
    return -EINVAL;
  memset (out, 0, sizeof *out);
  if (s == NULL || len < 1)
    return -EINVAL;
  code = s[0] & 0x7f;
  len = sense_extent (s, len);

  switch (code) {
  case 0x70:
  case 0x71:
    if (len < 3)
      return -EINVAL;
    out->format = 1;
    out->deferred = code == 0x71;
    out->key = s[2] & 0x0f;
    if (len >= 7) {
      out->info_valid = (s[0] & 0x80) != 0;
      out->info = braid_get_be32 (s + 3);
    }
    out->asc = len > 12 ? s[12] : 0;
    out->ascq = len > 13 ? s[13] : 0;
    return 0;
  case 0x72:
  case 0x73:
    if (len < 2)
      return -EINVAL;
    out->format = 2;
    out->deferred = code == 0x73;
    out->key = s[1] & 0x0f;
    out->asc = len > 2 ? s[2] : 0;
    out->ascq = len > 3 ? s[3] : 0;
    parse_descriptors (s, len, out);
    return 0;
  default:
    return -EINVAL;
  }
}

const char *
braid_scsi_sense_key_name (int key)
{
  static const char *const names[16] = {
    "NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR",
    "HARDWARE ERROR", "ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT",
    "BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
    "RESERVED", "VOLUME OVERFLOW", "MISCOMPARE", "RESERVED",
  };

  if (key < 0 || key > 15)
    return "UNKNOWN";
  return names[key];
}

struct asc_entry {
  uint8_t asc, ascq;
  const char *text;
};

/* The pairs braid meets or acts on; SPC-4 Annex D has the full list.
 * Sorted by (asc, ascq) for a binary search. */
static const struct asc_entry asc_table[] = {
  { 0x00, 0x00, "no additional sense information" },
  { 0x00, 0x16, "operation in progress" },
  { 0x00, 0x1d, "ata pass through information available" },
  { 0x04, 0x00, "logical unit not ready, cause not reportable" },
  { 0x04, 0x01, "logical unit is in process of becoming ready" },
  { 0x04, 0x02, "logical unit not ready, initializing command required" },
  { 0x04, 0x03, "logical unit not ready, manual intervention required" },
  { 0x04, 0x04, "logical unit not ready, format in progress" },
  { 0x04, 0x07, "logical unit not ready, operation in progress" },
  { 0x04, 0x09, "logical unit not ready, self-test in progress" },
  { 0x04, 0x0a, "logical unit not accessible, asymmetric access state "
                "transition" },
  { 0x04, 0x0b, "logical unit not accessible, target port in standby "
                "state" },
  { 0x04, 0x0c, "logical unit not accessible, target port in unavailable "
                "state" },
  { 0x04, 0x12, "logical unit not ready, offline" },
  { 0x05, 0x00, "logical unit does not respond to selection" },
  { 0x08, 0x00, "logical unit communication failure" },
  { 0x08, 0x01, "logical unit communication time-out" },
  { 0x0c, 0x00, "write error" },
  { 0x10, 0x01, "logical block guard check failed" },
  { 0x10, 0x02, "logical block application tag check failed" },
  { 0x10, 0x03, "logical block reference tag check failed" },
  { 0x11, 0x00, "unrecovered read error" },
  { 0x14, 0x01, "record not found" },
  { 0x1a, 0x00, "parameter list length error" },
  { 0x1d, 0x00, "miscompare during verify operation" },
  { 0x20, 0x00, "invalid command operation code" },
  { 0x21, 0x00, "logical block address out of range" },
  { 0x24, 0x00, "invalid field in cdb" },
  { 0x25, 0x00, "logical unit not supported" },
  { 0x26, 0x00, "invalid field in parameter list" },
  { 0x27, 0x00, "write protected" },
  { 0x27, 0x07, "space allocation failed write protect" },
  { 0x28, 0x00, "not ready to ready change, medium may have changed" },
  { 0x29, 0x00, "power on, reset, or bus device reset occurred" },
  { 0x29, 0x01, "power on occurred" },
  { 0x29, 0x02, "scsi bus reset occurred" },
  { 0x29, 0x03, "bus device reset function occurred" },
  { 0x29, 0x04, "device internal reset" },
  { 0x29, 0x05, "transceiver mode changed to single-ended" },
  { 0x29, 0x06, "transceiver mode changed to lvd" },
  { 0x29, 0x07, "i_t nexus loss occurred" },
  { 0x2a, 0x00, "parameters changed" },
  { 0x2a, 0x01, "mode parameters changed" },
  { 0x2a, 0x02, "log parameters changed" },
  { 0x2a, 0x03, "reservations preempted" },
  { 0x2a, 0x04, "reservations released" },
  { 0x2a, 0x05, "registrations preempted" },
  { 0x2a, 0x06, "asymmetric access state changed" },
  { 0x2a, 0x07, "implicit asymmetric access state transition failed" },
  { 0x2a, 0x09, "capacity data has changed" },
  { 0x2c, 0x00, "command sequence error" },
  { 0x2f, 0x00, "commands cleared by another initiator" },
  { 0x31, 0x00, "medium format corrupted" },
  { 0x38, 0x07, "thin provisioning soft threshold reached" },
  { 0x3a, 0x00, "medium not present" },
  { 0x3e, 0x01, "logical unit failure" },
  { 0x3e, 0x02, "timeout on logical unit" },
  { 0x3f, 0x01, "microcode has been changed" },
  { 0x3f, 0x03, "inquiry data has changed" },
  { 0x3f, 0x0e, "reported luns data has changed" },
  { 0x44, 0x00, "internal target failure" },
  { 0x47, 0x00, "scsi parity error" },
  { 0x48, 0x00, "initiator detected error message received" },
  { 0x49, 0x00, "invalid message error" },
  { 0x4b, 0x00, "data phase error" },
  { 0x4e, 0x00, "overlapped commands attempted" },
  { 0x55, 0x03, "insufficient resources" },
  { 0x5d, 0x00, "failure prediction threshold exceeded" },
};

const char *
braid_scsi_asc_str (uint8_t asc, uint8_t ascq)
{
  size_t lo = 0, hi = sizeof asc_table / sizeof asc_table[0];
  unsigned key = (unsigned) asc << 8 | ascq;

  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    unsigned k = (unsigned) asc_table[mid].asc << 8 | asc_table[mid].ascq;
    if (k == key)
      return asc_table[mid].text;
    if (k < key)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* Sense key NOT READY: which causes are the path's and which the LU's. */
static enum braid_scsi_disposition
classify_not_ready (const struct braid_scsi_sense *s)
{
  if (s->asc == 0x04) {
    switch (s->ascq) {
    case 0x01:
      /* Becoming ready: the LU itself is coming up and will answer on
       * this path shortly; switching paths would not help. */
      return BRAID_SCSI_RETRY_SAME_PATH;
    case 0x0a:
    case 0x0b:
    case 0x0c:
      /* ALUA transitioning / standby / unavailable: the state belongs to
       * this target port group, and another group may be active right
       * now.  This is the signal implicit-ALUA arrays use to move I/O. */
      return BRAID_SCSI_PATH_ERROR;
    default:
      break;
    }
  }
  if (s->asc == 0x3a)
    /* Medium not present is a property of the LU: no path has a medium. */
    return BRAID_SCSI_MEDIUM_OR_TARGET_ERROR;
  /* Other not-ready causes (offline, manual intervention, initialising
   * command required) are commonly per controller on dual-controller
   * arrays; another path through the other controller may be ready. */
  return BRAID_SCSI_PATH_ERROR;
}

enum braid_scsi_disposition
braid_scsi_classify (int status, const struct braid_scsi_sense *s)
{
  switch (status) {
  case BRAID_STATUS_GOOD:
  case 0x04: /* CONDITION MET */
  case 0x10: /* INTERMEDIATE (obsolete) */
  case 0x14: /* INTERMEDIATE-CONDITION MET (obsolete) */
    return BRAID_SCSI_GOOD;

  case BRAID_STATUS_BUSY:
  case BRAID_STATUS_TASK_SET_FULL:
    /* The LU is alive and answered; it is only short of resources.
     * Moving the command elsewhere would load the same LU anyway. */
    return BRAID_SCSI_RETRY_SAME_PATH;

  case BRAID_STATUS_TASK_ABORTED:
  case 0x30: /* ACA ACTIVE */
    /* Another initiator's task management (TAS=1) or ACA condition
     * aborted or held this command; it was never executed and the path
     * is fine. */
    return BRAID_SCSI_RETRY_SAME_PATH;

  case BRAID_STATUS_RESERVATION_CONFLICT:
    /* Persistent reservations are held per I_T nexus but decided by the
     * client cluster software: retrying on another path would either fail
     * the same way or break the fencing it relies on. */
    return BRAID_SCSI_RESERVATION_CONFLICT;

  case BRAID_STATUS_TRANSPORT:
  case BRAID_STATUS_TIMEOUT:
  case BRAID_STATUS_ERROR:
  case BRAID_STATUS_TARGET_FAILURE:
    /* The connection failed, the command timed out, the target rejected
     * the PDU or answered with an iSCSI response other than "completed":
     * all faults of this session, none a SCSI verdict on the data. */
    return BRAID_SCSI_PATH_ERROR;

  case BRAID_STATUS_CANCELLED:
    /* braid cancels commands when it tears a session down; the request
     * itself is still valid and belongs on another path. */
    return BRAID_SCSI_PATH_ERROR;

  case BRAID_STATUS_CHECK_CONDITION:
    break;

  default:
    /* Unknown status: nothing says the LU refused the command, so give it
     * the benefit of another path. */
    return BRAID_SCSI_PATH_ERROR;
  }

  if (s == NULL || s->format == 0)
    /* CHECK CONDITION without usable sense: we cannot tell whose fault it
     * is, and a retry elsewhere is safe for the commands braid issues. */
    return BRAID_SCSI_PATH_ERROR;

  switch (s->key) {
  case BRAID_SCSI_SK_NO_SENSE:
  case BRAID_SCSI_SK_RECOVERED_ERROR:
    /* The command completed; the sense is informational (a recovered
     * error, ATA pass-through status). */
    return BRAID_SCSI_GOOD;
  case BRAID_SCSI_SK_NOT_READY:
    return classify_not_ready (s);
  case BRAID_SCSI_SK_UNIT_ATTENTION:
    /* The command was not executed.  The UA reports an event (reset 29/xx,
     * parameters or ALUA state changed 2A/xx, LUNs changed 3F/0E) that the
     * engine must act on before retrying; counting repeats is its job. */
    return BRAID_SCSI_UNIT_ATTENTION;
  case BRAID_SCSI_SK_ABORTED_COMMAND:
    /* The target aborted the command (transport trouble, nexus loss,
     * protection check on the data it received): a retry on another path
     * is the recovery every initiator uses. */
    return BRAID_SCSI_PATH_ERROR;
  case BRAID_SCSI_SK_MEDIUM_ERROR:
  case BRAID_SCSI_SK_HARDWARE_ERROR:
  case BRAID_SCSI_SK_ILLEGAL_REQUEST:
  case BRAID_SCSI_SK_DATA_PROTECT:
  case BRAID_SCSI_SK_BLANK_CHECK:
  case BRAID_SCSI_SK_COPY_ABORTED:
  case BRAID_SCSI_SK_VOLUME_OVERFLOW:
  case BRAID_SCSI_SK_MISCOMPARE:
  default:
    /* The LU examined the command and refused or failed it: bad block,
     * failed hardware, invalid request, write protect or out of space,
     * miscompare.  Every path leads to the same LU and the same answer. */
    return BRAID_SCSI_MEDIUM_OR_TARGET_ERROR;
  }
}

const char *
braid_scsi_disposition_name (enum braid_scsi_disposition d)
{
  switch (d) {
  case BRAID_SCSI_GOOD: return "GOOD";
  case BRAID_SCSI_RETRY_SAME_PATH: return "RETRY SAME PATH";
  case BRAID_SCSI_PATH_ERROR: return "PATH ERROR";
  case BRAID_SCSI_UNIT_ATTENTION: return "UNIT ATTENTION";
  case BRAID_SCSI_MEDIUM_OR_TARGET_ERROR: return "MEDIUM OR TARGET ERROR";
  case BRAID_SCSI_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
  default: return "UNKNOWN";
  }
}
