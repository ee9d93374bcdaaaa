/* status.c: names for completion statuses (braid/common.h), shared by the
 * CLI, the daemon's logs and the control socket output. */
#include "braid/common.h"

const char *
braid_status_name (int status)
{
  switch (status) {
  case BRAID_STATUS_GOOD: return "GOOD";
  case BRAID_STATUS_CHECK_CONDITION: return "CHECK CONDITION";
  case 0x04: return "CONDITION MET";
  case BRAID_STATUS_BUSY: return "BUSY";
  case BRAID_STATUS_RESERVATION_CONFLICT: return "RESERVATION CONFLICT";
  case BRAID_STATUS_TASK_SET_FULL: return "TASK SET FULL";
  case 0x30: return "ACA ACTIVE";
  case BRAID_STATUS_TASK_ABORTED: return "TASK ABORTED";
  case BRAID_STATUS_TRANSPORT: return "TRANSPORT";
  case BRAID_STATUS_TIMEOUT: return "TIMEOUT";
  case BRAID_STATUS_CANCELLED: return "CANCELLED";
  case BRAID_STATUS_ERROR: return "ERROR";
  case BRAID_STATUS_TARGET_FAILURE: return "TARGET FAILURE";
  default: return "UNKNOWN";
  }
}
