/* keywords.c: THE keyword table of multipath.conf, and the value parsers
 * and printers of each keyword type.
 *
 * Everything that knows about a keyword reads it from mpc_keywords[]: the
 * parser (which sections accept it, how its value is read), the dump
 * (where it is printed in each section, how it is spelled, what the
 * defaults section shows when it is unset), the resolver (built-in
 * default) and the documentation generator (what it does, and how braid
 * honours it).  The table is the one of multipath-tools 0.9.4; every
 * parsing rule below was checked against the real `multipath -t` of that
 * version (tests/compat holds the evidence): clamping with "capping at"
 * warnings, invalid values leaving the old value in place, 0 meaning
 * "unset" for some keywords and a real value for others, octal uid/gid in
 * the dump, the once-only deprecation warnings.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf-internal.h"

#define ALL4 (MPC_IN_DEF | MPC_IN_HW | MPC_IN_OVR | MPC_IN_MP)
#define DHO (MPC_IN_DEF | MPC_IN_HW | MPC_IN_OVR)
#define TOP MPC_IN (MPC_S_TOP)
#define IMAX INT_MAX
#define IMIN INT_MIN

#define D MPC_KF_DEFAULT
#define S (MPC_KF_STORED | MPC_KF_DEFAULT)

/* The table.  o_def, o_hw, o_mp are the print positions in the defaults
 * section, in device / overrides / protocol sections, and in multipath
 * sections: multipath-tools prints keywords in the order it registered
 * them, which differs between those sections. */
#define KW(id, nm, ty, fl, mask, od, oh, om, l, h, dn, ds, dc, br)          \
  [id] = { .name = nm, .type = ty, .flags = fl, .in = mask, .o_def = od,    \
           .o_hw = oh, .o_mp = om, .lo = l, .hi = h, .def_n = dn,           \
           .def_s = ds, .doc = dc, .braid = br }
#define SEC(id, nm, mask, ch, fl, dc)                                       \
  [id] = { .name = nm, .type = MPC_T_SECTION, .flags = fl, .in = mask,     \
           .child = ch, .doc = dc }

const struct mpc_keyword mpc_keywords[KW__COUNT] = {
  SEC (KW_SEC_DEFAULTS, "defaults", TOP, MPC_S_DEF, 0,
       "Values used when no more specific section sets them."),
  SEC (KW_SEC_BLACKLIST, "blacklist", TOP, MPC_S_BL, 0,
       "Paths that must not be used."),
  SEC (KW_SEC_BLACKLIST_EXC, "blacklist_exceptions", TOP, MPC_S_BLE, 0,
       "Exceptions to the blacklist, checked first."),
  SEC (KW_SEC_DEVICES, "devices", TOP, MPC_S_DEVS, 0,
       "Per-array settings, added to the built-in hardware table."),
  SEC (KW_SEC_DEVICE, "device", MPC_IN (MPC_S_DEVS), MPC_S_HW, MPC_KF_MULTI,
       "One array model, matched by vendor/product/revision regexes."),
  SEC (KW_SEC_BLDEVICE, "device", MPC_IN_BLS, MPC_S_BLDEV, MPC_KF_MULTI,
       "A vendor/product pair to blacklist or except."),
  SEC (KW_SEC_OVERRIDES, "overrides", TOP, MPC_S_OVR, 0,
       "Values that win over every device entry."),
  SEC (KW_SEC_PROTOCOL, "protocol", MPC_IN_OVR, MPC_S_PC, MPC_KF_MULTI,
       "Transport timeouts for one protocol (type)."),
  SEC (KW_SEC_MULTIPATHS, "multipaths", TOP, MPC_S_MPS, 0,
       "Per-LUN settings."),
  SEC (KW_SEC_MULTIPATH, "multipath", MPC_IN (MPC_S_MPS), MPC_S_MP,
       MPC_KF_MULTI, "One LUN, by WWID."),

  KW (KW_VERBOSITY, "verbosity", MPC_T_INT, S, MPC_IN_DEF, 1, 0, 0, 0, 4,
      2, NULL, "Log verbosity, 0..4.",
      "Sets braidd's default log level (0 errors only .. 4 debug)."),
  KW (KW_POLLING_INTERVAL, "polling_interval", MPC_T_CHECKINT, S,
      MPC_IN_DEF, 2, 0, 0, 0, UINT_MAX, UINT_MAX, NULL,
      "Seconds between path checks right after a state change.",
      "Honoured: interval of the path checker."),
  KW (KW_MAX_POLLING_INTERVAL, "max_polling_interval", MPC_T_UINT, 0,
      MPC_IN_DEF, 3, 0, 0, 0, UINT_MAX, 0, NULL,
      "Longest check interval for healthy paths (default 4 x "
      "polling_interval).", "Honoured."),
  KW (KW_REASSIGN_MAPS, "reassign_maps", MPC_T_YN, S, MPC_IN_DEF, 4, 0, 0,
      0, 0, 0, NULL, "Remap dm devices on top of multipath maps.",
      "Accepted and ignored: braid exports maps over NBD, nothing to "
      "remap."),
  KW (KW_MULTIPATH_DIR, "multipath_dir", MPC_T_IGNORED, 0, MPC_IN_DEF, 0, 0,
      0, 0, 0, 0, NULL, "Removed in 0.9.x (ignored with a warning).",
      "Ignored, as in 0.9.4."),
  KW (KW_PATH_SELECTOR, "path_selector", MPC_T_ARGC, D, ALL4, 5, 8, 4, 1, 0,
      0, "service-time 0",
      "Path selector and its argument count: \"round-robin 0\", "
      "\"queue-length 0\", \"service-time 0\", "
      "\"historical-service-time 0\".",
      "Resolved per map for braid's own path selection, which follows "
      "the kernel's dm-ps-* algorithms."),
  KW (KW_PATH_GROUPING_POLICY, "path_grouping_policy", MPC_T_PGP, D, ALL4, 6,
      5, 3, 0, 0, 1, NULL,
      "failover, multibus, group_by_serial, group_by_prio, "
      "group_by_node_name (matched by prefix, like 0.9.4).", "Honoured."),
  KW (KW_UID_ATTRS, "uid_attrs", MPC_T_UIDATTRS, 0, MPC_IN_DEF, 7, 0, 0, 0,
      0, 0, NULL,
      "\"prefix:ATTRIBUTE\" records separated by spaces; the first prefix "
      "matching the devnode chooses the udev property of the WWID.",
      "Honoured against braid's path properties; braid path names start "
      "with \"ip-\"."),
  KW (KW_UID_ATTRIBUTE, "uid_attribute", MPC_T_STR, D, DHO, 8, 6, 0, 0, 0, 0,
      "ID_SERIAL", "udev property holding the WWID.",
      "braid derives the WWID itself from VPD page 0x83 (the value "
      "ID_SERIAL would have); other attributes are looked up in the "
      "path's property list."),
  KW (KW_GETUID_CALLOUT, "getuid_callout", MPC_T_IGNORED, 0, DHO, 0, 0, 0,
      0, 0, 0, NULL, "Removed (ignored with a warning).", "Ignored."),
  KW (KW_PRIO, "prio", MPC_T_STR, D, ALL4, 9, 13, 5, 0, 0, 0, "const",
      "Path priority routine: const, alua, sysfs, emc, hds, hp_sw, ontap, "
      "rdac, random, weightedpath, path_latency, iet, datacore, ana.",
      "Resolved per path (braid -T).  braid computes priorities from its "
      "own SCSI commands (ALUA RTPG for alua and sysfs); routines that "
      "read vendor sysfs files have no equivalent."),
  KW (KW_PRIO_ARGS, "prio_args", MPC_T_STR, D, ALL4, 10, 14, 6, 0, 0, 0, "",
      "Arguments of the priority routine.", "Honoured where prio is."),
  KW (KW_FEATURES, "features", MPC_T_ARGC, D, ALL4, 11, 11, 13, 0, 0, 0,
      "0",
      "dm-multipath feature string, count first (\"2 pg_init_retries "
      "50\").  queue_if_no_path and retain_attached_hw_handler in it are "
      "deprecated spellings of no_path_retry queue and "
      "retain_attached_hw_handler yes.",
      "queue_if_no_path is honoured through no_path_retry; kernel-only "
      "features (pg_init_retries, pg_init_delay_msecs, queue_mode) are "
      "accepted and ignored."),
  KW (KW_PATH_CHECKER, "path_checker", MPC_T_STR, D, DHO, 12, 9, 0, 0, 0, 0,
      "tur", "Path checker: tur, readsector0, directio, rdac, hp_sw, "
      "emc_clariion, cciss_tur, none.  Also spelled \"checker\".",
      "Resolved per path (braid -T); braid's checkers send their SCSI "
      "commands over its own sessions."),
  KW (KW_ALIAS_PREFIX, "alias_prefix", MPC_T_NOSLASH, D, DHO, 13, 10, 0, 0,
      0, 0, "mpath", "Prefix of user_friendly_names aliases.", "Honoured."),
  KW (KW_FAILBACK, "failback", MPC_T_FAILBACK, D, ALL4, 14, 15, 7, 0, IMAX,
      BRAID_MPCONF_FAILBACK_MANUAL, NULL,
      "manual, immediate, followover, or seconds of deferral (0 = unset).",
      "Honoured."),
  KW (KW_RR_MIN_IO, "rr_min_io", MPC_T_INT_NZ, D, ALL4, 15, 18, 10, 0, IMAX,
      1000, NULL, "I/Os per path before switching (bio-based dm only; 0 = "
      "unset).", "Ignored: braid is request based (see rr_min_io_rq)."),
  KW (KW_RR_MIN_IO_RQ, "rr_min_io_rq", MPC_T_INT_NZ, D, ALL4, 16, 19, 11, 0,
      IMAX, 1, NULL, "Requests per path before switching (0 = unset).",
      "Honoured by round-robin; like current kernels, values above 1 act "
      "as 1 for the other selectors."),
  KW (KW_MAX_FDS, "max_fds", MPC_T_MAXFDS, S, MPC_IN_DEF, 17, 0, 0, 0, 0, 0,
      NULL, "Open file limit of the daemon, or \"max\" "
      "(/proc/sys/fs/nr_open).", "Accepted (a daemon start-up limit)."),
  KW (KW_RR_WEIGHT, "rr_weight", MPC_T_RRW, D, ALL4, 18, 16, 8, 0, 0, 1,
      NULL, "uniform or priorities (repeat count times path priority).",
      "Honoured by round-robin."),
  KW (KW_NO_PATH_RETRY, "no_path_retry", MPC_T_NPR, 0, ALL4, 19, 17, 9, 1,
      IMAX, 0, NULL,
      "What to do when no path is left: fail (or 0), queue, or N checks "
      "of queueing.", "Honoured: braid queues I/O itself."),
  KW (KW_QUEUE_WITHOUT_DAEMON, "queue_without_daemon", MPC_T_QWD, S,
      MPC_IN_DEF, 20, 0, 0, 0, 0, 0, NULL,
      "Keep queueing when the daemon stops.",
      "Meaningless for braid (the daemon is the data path); accepted."),
  KW (KW_CHECKER_TIMEOUT, "checker_timeout", MPC_T_INT_NZ, 0, MPC_IN_DEF, 21,
      0, 0, 0, IMAX, 0, NULL,
      "Seconds a checker command may take (unset: the device's SCSI "
      "timeout, else 30).", "Honoured (unset: 30 s)."),
  KW (KW_ALLOW_USB_DEVICES, "allow_usb_devices", MPC_T_YN, S, MPC_IN_DEF, 22,
      0, 0, 0, 0, 0, NULL, "Let USB disks be multipathed.",
      "Accepted: braid never sees USB disks."),
  KW (KW_PG_TIMEOUT, "pg_timeout", MPC_T_IGNORED, 0,
      MPC_IN_DEF | MPC_IN_HW | MPC_IN_MP, 0, 0, 0, 0, 0, 0, NULL,
      "Removed (ignored with a warning).", "Ignored."),
  KW (KW_FLUSH_ON_LAST_DEL, "flush_on_last_del", MPC_T_YNU, D, ALL4, 23, 20,
      12, 0, 0, 1, NULL, "Stop queueing when the last path is removed.",
      "Honoured."),
  KW (KW_USER_FRIENDLY_NAMES, "user_friendly_names", MPC_T_YNU, D, ALL4, 24,
      24, 18, 0, 0, 1, NULL,
      "Name maps <alias_prefix><letters> from the bindings file instead "
      "of by WWID.", "Honoured (shared bindings file)."),
  KW (KW_MODE, "mode", MPC_T_MODE, 0, MPC_IN_DEF | MPC_IN_MP, 25, 0, 14, 0,
      0, 0, NULL, "Permissions of the map's device node (octal).",
      "Resolved per map (braid -T); only meaningful where braid creates "
      "a device node."),
  KW (KW_UID, "uid", MPC_T_UID, 0, MPC_IN_DEF | MPC_IN_MP, 26, 0, 15, 0, 0, 0,
      NULL, "Owner of the map's device node (name or number; dumped in "
      "octal like 0.9.4).", "Resolved per map (braid -T); only meaningful where braid creates "
      "a device node."),
  KW (KW_GID, "gid", MPC_T_GID, 0, MPC_IN_DEF | MPC_IN_MP, 27, 0, 16, 0, 0, 0,
      NULL, "Group of the map's device node (a user name gives that user's "
      "group; dumped in octal like 0.9.4).",
      "Resolved per map (braid -T); only meaningful where braid creates "
      "a device node."),
  KW (KW_FAST_IO_FAIL_TMO, "fast_io_fail_tmo", MPC_T_UOZ, S,
      DHO | MPC_IN_PC, 28, 21, 0, 1, IMAX, 5, NULL,
      "Seconds before I/O on a broken transport fails (off, 0, N).",
      "Resolved per path, protocol section first (braid -T); for braid "
      "it bounds how long a lost connection holds commands."),
  KW (KW_DEV_LOSS_TMO, "dev_loss_tmo", MPC_T_DEVLOSS, 0, DHO | MPC_IN_PC, 29,
      22, 0, 0, 0, 0, NULL,
      "Seconds before a lost device is removed (infinity; 0 = unset).",
      "Resolved per path, protocol section first (braid -T); for braid "
      "it bounds how long a lost session is retried before the path is "
      "removed."),
  KW (KW_EH_DEADLINE, "eh_deadline", MPC_T_UOZ, 0, DHO | MPC_IN_PC, 30, 23, 0,
      1, IMAX, 0, NULL, "SCSI error handler deadline (off, 0, N).",
      "Accepted: no kernel SCSI error handler in braid's data path."),
  KW (KW_BINDINGS_FILE, "bindings_file", MPC_T_PATH, S, MPC_IN_DEF, 31, 0, 0,
      0, 0, 0, "/etc/multipath/bindings",
      "Deprecated: where user_friendly_names bindings live.",
      "Honoured unless braid --bindings is given."),
  KW (KW_WWIDS_FILE, "wwids_file", MPC_T_PATH, S, MPC_IN_DEF, 32, 0, 0, 0, 0,
      0, "/etc/multipath/wwids", "Deprecated: the wwids file.",
      "Honoured unless braid --wwids is given."),
  KW (KW_PRKEYS_FILE, "prkeys_file", MPC_T_PATH, S, MPC_IN_DEF, 33, 0, 0, 0,
      0, 0, "/etc/multipath/prkeys", "Deprecated: the prkeys file.",
      "Accepted (persistent reservations are not implemented yet)."),
  KW (KW_LOG_CHECKER_ERR, "log_checker_err", MPC_T_LOGCHK, S, MPC_IN_DEF, 34,
      0, 0, 0, 0, 0, NULL, "always, or once (then at verbosity 3).",
      "Honoured."),
  KW (KW_RESERVATION_KEY, "reservation_key", MPC_T_RESKEY, 0,
      MPC_IN_DEF | MPC_IN_MP, 35, 0, 17, 0, 0, 0, NULL,
      "Persistent reservation key: 1..16 hex digits (0x optional), "
      "\":aptpl\" suffix, or \"file\".  A bad key refuses the whole "
      "configuration.", "Parsed and checked; reservations are not "
      "implemented yet."),
  KW (KW_ALL_TG_PT, "all_tg_pt", MPC_T_YNU, D, DHO, 36, 41, 0, 0, 0, 1, NULL,
      "Register the reservation key on all target ports.", "Accepted."),
  KW (KW_RETAIN_ATTACHED_HW_HANDLER, "retain_attached_hw_handler", MPC_T_YNU,
      D, DHO, 37, 25, 0, 0, 0, 2, NULL,
      "Keep the kernel device handler already attached.",
      "Accepted: braid has no kernel device handlers (see "
      "hardware_handler)."),
  KW (KW_DETECT_PRIO, "detect_prio", MPC_T_YNU, D, DHO, 38, 26, 0, 0, 0, 2,
      NULL, "Use alua when the device reports ALUA support.", "Honoured."),
  KW (KW_DETECT_CHECKER, "detect_checker", MPC_T_YNU, D, DHO, 39, 27, 0, 0,
      0, 2, NULL, "Use tur for ALUA devices, rdac for RDAC ones.",
      "Honoured."),
  KW (KW_FORCE_SYNC, "force_sync", MPC_T_YN, S | MPC_KF_CLIENT, MPC_IN_DEF,
      40, 0, 0, 0, 0, 0, NULL, "Run path checkers synchronously.",
      "Accepted (braid's checkers never block the daemon).  `multipath "
      "-t` prints \"yes\" here whatever the file says; braid prints the "
      "configured value."),
  KW (KW_STRICT_TIMING, "strict_timing", MPC_T_YN, S, MPC_IN_DEF, 41, 0, 0,
      0, 0, 0, NULL, "Check paths on exact second boundaries.", "Accepted."),
  KW (KW_DEFERRED_REMOVE, "deferred_remove", MPC_T_YNU, D, ALL4, 42, 28, 19,
      0, 0, 1, NULL, "Remove a busy map when it is closed.", "Resolved per map "
      "(braid -T)."),
  KW (KW_PARTITION_DELIMITER, "partition_delimiter", MPC_T_PARTDELIM, 0,
      MPC_IN_DEF, 43, 0, 0, 0, 0, 0, NULL,
      "Text between map name and partition number (\"/UNSET/\" = only "
      "when the name ends in a digit).",
      "Accepted (partitions are the NBD client's business).  0.9.4 "
      "crashes on any value containing '/'; braid warns and ignores it, "
      "and takes /UNSET/ as documented."),
  KW (KW_CONFIG_DIR, "config_dir", MPC_T_IGNORED, 0, MPC_IN_DEF, 0, 0, 0, 0,
      0, 0, NULL, "Ignored (the drop-in directory is fixed).",
      "Ignored; use braid --config-dir."),
  KW (KW_DELAY_WATCH_CHECKS, "delay_watch_checks", MPC_T_NU, D, ALL4, 44, 29,
      20, 1, IMAX, -1, NULL,
      "Deprecated shaky-path detection (mapped onto san_path_err_*).",
      "Honoured through the san_path_err logic."),
  KW (KW_DELAY_WAIT_CHECKS, "delay_wait_checks", MPC_T_NU, D, ALL4, 45, 30,
      21, 1, IMAX, -1, NULL, "See delay_watch_checks.", "As upstream."),
  KW (KW_SAN_PATH_ERR_THRESHOLD, "san_path_err_threshold", MPC_T_NU, D, ALL4,
      46, 31, 22, 1, IMAX, -1, NULL,
      "Failures within the forget window that make a path shaky.",
      "Honoured."),
  KW (KW_SAN_PATH_ERR_FORGET_RATE, "san_path_err_forget_rate", MPC_T_NU, D,
      ALL4, 47, 32, 23, 1, IMAX, -1, NULL,
      "Checks after which one failure is forgotten.", "Honoured."),
  KW (KW_SAN_PATH_ERR_RECOVERY_TIME, "san_path_err_recovery_time", MPC_T_NU,
      D, ALL4, 48, 33, 24, 1, IMAX, -1, NULL,
      "Seconds a shaky path stays out of use.", "Honoured."),
  KW (KW_MARGINAL_PATH_ERR_SAMPLE_TIME, "marginal_path_err_sample_time",
      MPC_T_NU, D, ALL4, 49, 34, 25, 1, IMAX, -1, NULL,
      "Seconds of I/O error sampling (values below 120 act as 120).",
      "Resolved per map (braid -T)."),
  KW (KW_MARGINAL_PATH_ERR_RATE_THRESHOLD, "marginal_path_err_rate_threshold",
      MPC_T_NU, D, ALL4, 50, 35, 26, 1, IMAX, -1, NULL,
      "Error rate (per thousand) that makes a path marginal.", "Honoured."),
  KW (KW_MARGINAL_PATH_ERR_RECHECK_GAP_TIME,
      "marginal_path_err_recheck_gap_time", MPC_T_NU, D, ALL4, 51, 36, 27, 1,
      IMAX, -1, NULL, "Seconds before a marginal path is sampled again.",
      "Honoured."),
  KW (KW_MARGINAL_PATH_DOUBLE_FAILED_TIME, "marginal_path_double_failed_time",
      MPC_T_NU, D, ALL4, 52, 37, 28, 1, IMAX, -1, NULL,
      "Window in which a second failure starts sampling.", "Honoured."),
  KW (KW_FIND_MULTIPATHS, "find_multipaths", MPC_T_FINDMP, S, MPC_IN_DEF, 53,
      0, 0, 0, 0, BRAID_MPCONF_FIND_STRICT, NULL,
      "Which paths to claim: strict, yes/on, no/off, greedy, smart.",
      "Honoured for the paths of braid's own sessions (see "
      "include/braid/mpstate.h)."),
  KW (KW_UXSOCK_TIMEOUT, "uxsock_timeout", MPC_T_INT, S, MPC_IN_DEF, 54, 0,
      0, 4000, IMAX, 4000, NULL, "CLI reply timeout in ms (min 4000).",
      "Accepted (CLI reply timeout)."),
  KW (KW_RETRIGGER_TRIES, "retrigger_tries", MPC_T_INT, S | MPC_KF_CLIENT,
      MPC_IN_DEF, 55, 0, 0, 0, IMAX, 3, NULL,
      "uevent retriggers for paths without a WWID.",
      "Accepted (no uevents).  `multipath -t` prints 0 here; braid prints "
      "the configured value."),
  KW (KW_RETRIGGER_DELAY, "retrigger_delay", MPC_T_INT, S, MPC_IN_DEF, 56, 0,
      0, 0, IMAX, 10, NULL, "Seconds between retriggers.", "Accepted."),
  KW (KW_MISSING_UEV_WAIT_TIMEOUT, "missing_uev_wait_timeout", MPC_T_INT, S,
      MPC_IN_DEF, 57, 0, 0, 0, IMAX, 30, NULL,
      "Seconds to wait for a map's creation uevent.", "Accepted."),
  KW (KW_SKIP_KPARTX, "skip_kpartx", MPC_T_YNU, D, ALL4, 58, 38, 29, 0, 0, 1,
      NULL, "Do not create partition maps.", "Accepted (no kpartx)."),
  KW (KW_DISABLE_CHANGED_WWIDS, "disable_changed_wwids",
      MPC_T_IGNORED_SILENT, D, MPC_IN_DEF, 59, 0, 0, 0, 0, 0, "ignored",
      "Ignored since 0.8.", "Ignored; braid always refuses a path whose "
      "WWID changed."),
  KW (KW_REMOVE_RETRIES, "remove_retries", MPC_T_INT, S, MPC_IN_DEF, 60, 0, 0,
      0, IMAX, 0, NULL, "Retries of a failing map removal.", "Honoured."),
  KW (KW_MAX_SECTORS_KB, "max_sectors_kb", MPC_T_INT_NZ, 0, ALL4, 61, 39, 31,
      0, IMAX, 0, NULL, "Largest I/O in KiB (0 = leave alone).",
      "Resolved per map (braid -T)."),
  KW (KW_GHOST_DELAY, "ghost_delay", MPC_T_NU, D, ALL4, 62, 40, 32, 1, IMAX,
      -1, NULL, "Seconds to wait for an active path when only standby "
      "paths are up.", "Honoured."),
  KW (KW_FIND_MULTIPATHS_TIMEOUT, "find_multipaths_timeout", MPC_T_INT_NZ, D,
      MPC_IN_DEF, 63, 0, 0, IMIN, IMAX, -10, NULL,
      "Seconds find_multipaths smart waits (negative: |N| for known "
      "hardware, 1 otherwise; 0 = default).", "Honoured."),
  KW (KW_ENABLE_FOREIGN, "enable_foreign", MPC_T_STR, D, MPC_IN_DEF, 64, 0, 0,
      0, 0, 0, "NONE", "Regex of foreign multipath libraries to load.",
      "Accepted (no foreign libraries)."),
  KW (KW_MARGINAL_PATHGROUPS, "marginal_pathgroups", MPC_T_MARGPG, S,
      MPC_IN_DEF, 65, 0, 0, 0, 0, 0, NULL,
      "Put marginal paths in their own path groups (on/off; fpin is not "
      "compiled into Debian's 0.9.4).", "Honoured."),
  KW (KW_RECHECK_WWID, "recheck_wwid", MPC_T_YNU, D, DHO, 66, 43, 0, 0, 0, 1,
      NULL, "Re-read the WWID of a path that comes back.",
      "Resolved per path (braid -T)."),

  KW (KW_VENDOR, "vendor", MPC_T_STR, 0, MPC_IN_HW, 0, 1, 0, 0, 0, 0, NULL,
      "Vendor regex (INQUIRY vendor).", "Honoured."),
  KW (KW_PRODUCT, "product", MPC_T_STR, 0, MPC_IN_HW, 0, 2, 0, 0, 0, 0, NULL,
      "Product regex.", "Honoured."),
  KW (KW_REVISION, "revision", MPC_T_STR, 0, MPC_IN_HW, 0, 3, 0, 0, 0, 0,
      NULL, "Revision regex.", "Honoured."),
  KW (KW_PRODUCT_BLACKLIST, "product_blacklist", MPC_T_STR, 0, MPC_IN_HW, 0,
      4, 0, 0, 0, 0, NULL,
      "Product regex to blacklist for this vendor (adds a blacklist device "
      "entry).", "Honoured."),
  KW (KW_HARDWARE_HANDLER, "hardware_handler", MPC_T_ARGC, 0, MPC_IN_HW, 0,
      12, 0, 0, 0, 0, "0", "Kernel device handler, count first (\"1 alua\").",
      "braid has no kernel device handlers; the value is resolved and "
      "reported (braid -T), ALUA LUNs being handled by braid itself."),
  KW (KW_VPD_VENDOR, "vpd_vendor", MPC_T_VPDV, 0, MPC_IN_HW, 0, 42, 0, 0, 0,
      0, NULL, "Vendor-specific VPD page to show (hp3par).", "Accepted."),
  KW (KW_WWID, "wwid", MPC_T_STR, 0, MPC_IN_MP, 0, 0, 1, 0, 0, 0, NULL,
      "WWID of the LUN (exact).", "Honoured."),
  KW (KW_ALIAS, "alias", MPC_T_NOSLASH, 0, MPC_IN_MP, 0, 0, 2, 0, 0, 0, NULL,
      "Name of the map.", "Honoured."),
  KW (KW_TYPE, "type", MPC_T_PCTYPE, 0, MPC_IN_PC, 0, 1, 0, 0, 0, 0, NULL,
      "Protocol of the entry: scsi:fcp, scsi:iscsi, nvme:tcp, ...",
      "Honoured; braid's paths are scsi:iscsi."),

  KW (KW_BL_DEVNODE, "devnode", MPC_T_REGEX, MPC_KF_MULTI, MPC_IN_BLS, 0, 0,
      0, 0, 0, 0, NULL, "Device node name regex.",
      "Matched against braid path names (see below)."),
  KW (KW_BL_WWID, "wwid", MPC_T_REGEX, MPC_KF_MULTI, MPC_IN_BLS, 0, 0, 0, 0,
      0, 0, NULL, "WWID regex (unanchored).", "Honoured."),
  KW (KW_BL_PROPERTY, "property", MPC_T_REGEX, MPC_KF_MULTI, MPC_IN_BLS, 0, 0,
      0, 0, 0, 0, NULL, "udev property NAME regex.",
      "Matched against braid's path property list."),
  KW (KW_BL_PROTOCOL, "protocol", MPC_T_REGEX, MPC_KF_MULTI, MPC_IN_BLS, 0, 0,
      0, 0, 0, 0, NULL, "Protocol regex (scsi:iscsi, scsi:fcp, ...).",
      "Honoured."),
  KW (KW_BL_VENDOR, "vendor", MPC_T_REGEX, 0, MPC_IN (MPC_S_BLDEV), 0, 0, 0,
      0, 0, 0, NULL, "Vendor regex.", "Honoured."),
  KW (KW_BL_PRODUCT, "product", MPC_T_REGEX, 0, MPC_IN (MPC_S_BLDEV), 0, 0, 0,
      0, 0, 0, NULL, "Product regex.", "Honoured."),

  [KW_CHECKER] = { .name = "checker", .type = MPC_T_STR, .in = DHO,
                   .alias_of = KW_PATH_CHECKER,
                   .doc = "Other spelling of path_checker." },
};

const char *const mpc_protocol_names[] = {
  "undef", "ccw", "cciss", "scsi:fcp", "scsi:spi", "scsi:ssa", "scsi:sbp",
  "scsi:srp", "scsi:iscsi", "scsi:sas", "scsi:adt", "scsi:ata", "scsi:usb",
  "scsi:unspec", "nvme:pcie", "nvme:rdma", "nvme:fc", "nvme:tcp",
  "nvme:loop", "nvme:apple-nvme", "nvme:unspec", NULL
};

static const char *const pgp_names[] = {
  NULL, "failover", "multibus", "group_by_serial", "group_by_prio",
  "group_by_node_name"
};

static const char *const findmp_names[] = {
  NULL, "off", "on", "strict", "greedy", "smart"
};

const char *
mpc_pgp_name (long long v)
{
  return v >= 1 && v <= 5 ? pgp_names[v] : "undef";
}

const char *
mpc_findmp_name (long long v)
{
  return v >= 1 && v <= 5 ? findmp_names[v] : "undef";
}

const char *
mpc_failback_name (long long v)
{
  switch (v)
    {
    case BRAID_MPCONF_FAILBACK_MANUAL: return "manual";
    case BRAID_MPCONF_FAILBACK_IMMEDIATE: return "immediate";
    case BRAID_MPCONF_FAILBACK_FOLLOWOVER: return "followover";
    default: return NULL;
    }
}

void
mpc_npr_format (long long v, char *buf, size_t len)
{
  if (v == BRAID_MPCONF_NPR_FAIL)
    snprintf (buf, len, "fail");
  else if (v == BRAID_MPCONF_NPR_QUEUE)
    snprintf (buf, len, "queue");
  else
    snprintf (buf, len, "%lld", v);
}

const char *
mpc_sect_name (int sect)
{
  switch (sect)
    {
    case MPC_S_DEF: return "defaults";
    case MPC_S_BL: return "blacklist";
    case MPC_S_BLE: return "blacklist_exceptions";
    case MPC_S_BLDEV: return "device";
    case MPC_S_DEVS: return "devices";
    case MPC_S_HW: return "device";
    case MPC_S_OVR: return "overrides";
    case MPC_S_PC: return "protocol";
    case MPC_S_MPS: return "multipaths";
    case MPC_S_MP: return "multipath";
    default: return NULL;
    }
}

int
mpc_keyword_find (const char *name, int sect)
{
  for (int i = 0; i < KW__COUNT; i++)
    if (mpc_keywords[i].name && (mpc_keywords[i].in & MPC_IN (sect))
        && strcmp (mpc_keywords[i].name, name) == 0)
      return i;
  return -1;
}

int
mpc_kw_slot (int kw)
{
  return mpc_keywords[kw].alias_of ? mpc_keywords[kw].alias_of : kw;
}

void
mpc_val_clear (struct mpc_val *v)
{
  free (v->s);
  v->s = NULL;
  v->n = 0;
  v->set = false;
}

void
mpc_attrs_clear (struct mpc_attrs *a)
{
  for (int i = 0; i < KW__COUNT; i++)
    mpc_val_clear (&a->v[i]);
}

int
mpc_val_copy (struct mpc_val *dst, const struct mpc_val *src)
{
  char *s = NULL;

  if (src->s && !(s = strdup (src->s)))
    return -ENOMEM;
  free (dst->s);
  dst->s = s;
  dst->n = src->n;
  dst->set = src->set;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Parsers                                                                 */
/* ---------------------------------------------------------------------- */

#define WARN(ctx, ...)                                                     \
  mpc_diag ((ctx), BRAID_LOG_WARNING, (ctx)->file, (ctx)->line, true,       \
            __VA_ARGS__)

static void
invalid (struct mpc_ctx *ctx, const char *kwname, const char *value)
{
  WARN (ctx, "%s line %d, invalid value for %s: \"%s\"", ctx->file,
        ctx->line, kwname, value);
}

/* multipath-tools' do_set_int: a decimal (strtol) with trailing blanks
 * allowed, clamped to [lo, hi] with a warning.  Returns 0 or -1 (invalid,
 * warned). */
static int
set_int (struct mpc_ctx *ctx, const char *kwname, const char *value,
         long long lo, long long hi, long long *out)
{
  char *end;
  long res;

  errno = 0;
  res = strtol (value, &end, 10);
  if (end > value)
    while (isspace ((unsigned char) *end))
      end++;
  if (*value == '\0' || *end != '\0')
    {
      invalid (ctx, kwname, value);
      return -1;
    }
  if (res > hi)
    {
      WARN (ctx, "%s line %d, value for %s too large, capping at %lld",
            ctx->file, ctx->line, kwname, hi);
      res = (long) hi;
    }
  else if (res < lo)
    {
      WARN (ctx, "%s line %d, value for %s too small, capping at %lld",
            ctx->file, ctx->line, kwname, lo);
      res = (long) lo;
    }
  *out = res;
  return 0;
}

/* multipath-tools' set_uint: digits only (after blanks), <= UINT_MAX. */
static int
set_uint (struct mpc_ctx *ctx, const char *kwname, const char *value,
          long long *out)
{
  const char *p = value;
  char *end;
  unsigned long res;

  while (isspace ((unsigned char) *p))
    p++;
  errno = 0;
  res = strtoul (p, &end, 10);
  if (end > value)
    while (isspace ((unsigned char) *end))
      end++;
  if (*value == '\0' || *end != '\0' || !isdigit ((unsigned char) *p)
      || errno == ERANGE || res > UINT_MAX)
    {
      invalid (ctx, kwname, value);
      return -1;
    }
  *out = (long long) res;
  return 0;
}

static int
set_str (struct mpc_val *v, const char *value)
{
  char *s = strdup (value);

  if (!s)
    return -ENOMEM;
  free (v->s);
  v->s = s;
  v->set = true;
  return 0;
}

static void
set_num (struct mpc_val *v, long long n, bool set)
{
  v->n = n;
  v->set = set;
}

/* "yes"/"1" -> 1, "no"/"0" -> 0, else -1. */
static int
yes_no (const char *value)
{
  if (strcmp (value, "yes") == 0 || strcmp (value, "1") == 0)
    return 1;
  if (strcmp (value, "no") == 0 || strcmp (value, "0") == 0)
    return 0;
  return -1;
}

/* The argument-count rule of features, path_selector, hardware_handler:
 * word 'pos' must be a non-negative decimal equal to the number of words
 * after it. */
static bool
argcount_ok (struct mpc_ctx *ctx, const char *kwname, const char *value,
             int pos)
{
  const char *p = value;
  char word[MPC_MAXBUF];
  long count = -1;
  int idx = 0, after = 0;

  for (;;)
    {
      size_t n = 0;

      while (isspace ((unsigned char) *p))
        p++;
      if (*p == '\0')
        break;
      while (*p && !isspace ((unsigned char) *p))
        {
          if (n + 1 < sizeof word)
            word[n++] = *p;
          p++;
        }
      word[n] = '\0';
      if (idx == pos)
        {
          char *end;
          errno = 0;
          count = strtol (word, &end, 10);
          if (end == word || *end != '\0' || count < 0 || errno)
            count = -1;
          if (count < 0)
            break;
        }
      else if (idx > pos)
        after++;
      idx++;
    }
  if (count < 0)
    {
      WARN (ctx, "%s line %d, missing argument count for %s", ctx->file,
            ctx->line, kwname);
      return false;
    }
  if (count != after)
    {
      WARN (ctx, "%s line %d, invalid argument count for %s:, got '%ld' "
            "expected '%d'", ctx->file, ctx->line, kwname, count, after);
      return false;
    }
  return true;
}

/* reservation_key: [0][x|X]<1..16 hex digits>[:aptpl...]  or "file".
 * Stored as n = key, s = NULL, ":aptpl" or "file". */
static int
parse_prkey (const char *value, long long *key, const char **suffix)
{
  const char *p = value, *hex;
  size_t len;

  if (strcmp (value, "file") == 0)
    {
      *key = 0;
      *suffix = "file";
      return 0;
    }
  if (*p == '0')
    p++;
  if (*p == 'x' || *p == 'X')
    p++;
  hex = p;
  len = strcspn (hex, ":");
  if (len == 0 || len > 16 || strspn (hex, "0123456789abcdefABCDEF") < len)
    return -1;
  *key = (long long) strtoull (hex, NULL, 16);
  *suffix = NULL;
  if (hex[len] == ':' && strcmp (hex + len + 1, "aptpl") == 0)
    *suffix = ":aptpl";
  return 0;
}

static void
warn_once (struct mpc_ctx *ctx, int kw, const char *fmt, const char *name)
{
  if (ctx->warned[kw])
    return;
  ctx->warned[kw] = 1;
  mpc_diag (ctx, BRAID_LOG_NOTICE, ctx->file, ctx->line, true, fmt,
            ctx->file, ctx->line, name);
}

static int
parse_uid_attrs (struct mpc_ctx *ctx, const char *kwname, struct mpc_val *v,
                 const char *value)
{
  struct mpc_buf out = { 0 };
  const char *p = value;
  bool bad = false;

  (void) kwname;
  mpc_val_clear (v);
  for (;;)
    {
      const char *start;
      size_t n;

      while (*p == ' ')
        p++;
      if (*p == '\0')
        break;
      start = p;
      while (*p && *p != ' ')
        p++;
      n = (size_t) (p - start);
      if (memchr (start, ':', n))
        mpc_buf_addf (&out, "%s%.*s", out.len ? " " : "", (int) n, start);
      else
        {
          mpc_diag (ctx, BRAID_LOG_ERR, ctx->file, ctx->line, false,
                    "invalid record in uid_attrs: %.*s", (int) n, start);
          bad = true;
        }
    }
  if (bad)
    WARN (ctx, "%s line %d,error parsing uid_attrs: \"%s\"", ctx->file,
          ctx->line, value);
  if (out.err)
    {
      free (out.s);
      return -ENOMEM;
    }
  if (out.len)
    {
      v->s = out.s;
      v->set = true;
    }
  else
    free (out.s);
  return 0;
}

int
mpc_value_parse (struct mpc_ctx *ctx, int kw, struct mpc_val *v,
                 const char *value)
{
  const struct mpc_keyword *k = &mpc_keywords[kw];
  const char *kwname = k->name;
  long long n;
  int yn, r = 0;

  switch (k->type)
    {
    case MPC_T_INT:
      if (set_int (ctx, kwname, value, k->lo, k->hi, &n) == 0)
        set_num (v, n, true);
      break;

    case MPC_T_INT_NZ:
      if (set_int (ctx, kwname, value, k->lo, k->hi, &n) == 0)
        set_num (v, n, n != 0);
      break;

    case MPC_T_CHECKINT:
      /* 0.9.4 decrements UINT_MAX (its "unset" marker) after every
       * polling_interval line, even an invalid one: an invalid value in a
       * file that never set it leaves UINT_MAX - 1 behind. */
      if (set_uint (ctx, kwname, value, &n) == 0)
        set_num (v, n, true);
      if (v->n == UINT_MAX)
        v->n--;
      break;

    case MPC_T_UINT:
      if (set_uint (ctx, kwname, value, &n) == 0)
        set_num (v, n, n != 0);
      break;

    case MPC_T_MAXFDS:
      if (strcmp (value, "max") == 0)
        set_num (v, ctx->conf->nr_open, true);
      else if (set_int (ctx, kwname, value, 0, ctx->conf->nr_open, &n) == 0)
        set_num (v, n, true);
      break;

    case MPC_T_YN:
    case MPC_T_QWD:
      if ((yn = yes_no (value)) < 0)
        invalid (ctx, kwname, value);
      else
        set_num (v, yn, true);
      break;

    case MPC_T_YNU:
      if ((yn = yes_no (value)) < 0)
        invalid (ctx, kwname, value);
      else
        set_num (v, yn ? 2 : 1, true);
      break;

    case MPC_T_NU:
      if (strcmp (value, "no") == 0 || strcmp (value, "0") == 0)
        set_num (v, -1, true);
      else if (set_int (ctx, kwname, value, 1, INT_MAX, &n) == 0)
        set_num (v, n, true);
      break;

    case MPC_T_UOZ:
      if (strcmp (value, "off") == 0)
        set_num (v, -1, true);
      else if (strcmp (value, "0") == 0)
        set_num (v, -2, true);
      else if (set_int (ctx, kwname, value, 1, INT_MAX, &n) == 0)
        set_num (v, n, true);
      break;

    case MPC_T_DEVLOSS:
      {
        unsigned int u;
        if (strcmp (value, "infinity") == 0)
          set_num (v, UINT_MAX, true);
        else if (sscanf (value, "%u", &u) == 1)
          set_num (v, u, u != 0);
        else
          invalid (ctx, kwname, value);
        break;
      }

    case MPC_T_NPR:
      if (strcmp (value, "fail") == 0 || strcmp (value, "0") == 0)
        set_num (v, BRAID_MPCONF_NPR_FAIL, true);
      else if (strcmp (value, "queue") == 0)
        set_num (v, BRAID_MPCONF_NPR_QUEUE, true);
      else if (set_int (ctx, kwname, value, 1, INT_MAX, &n) == 0)
        set_num (v, n, true);
      break;

    case MPC_T_FAILBACK:
      if (strcmp (value, "manual") == 0)
        set_num (v, BRAID_MPCONF_FAILBACK_MANUAL, true);
      else if (strcmp (value, "immediate") == 0)
        set_num (v, BRAID_MPCONF_FAILBACK_IMMEDIATE, true);
      else if (strcmp (value, "followover") == 0)
        set_num (v, BRAID_MPCONF_FAILBACK_FOLLOWOVER, true);
      else if (set_int (ctx, kwname, value, 0, INT_MAX, &n) == 0)
        set_num (v, n, n != 0);
      break;

    case MPC_T_RRW:
      if (strcmp (value, "uniform") == 0)
        set_num (v, 1, true);
      else if (strcmp (value, "priorities") == 0)
        set_num (v, 2, true);
      else
        invalid (ctx, kwname, value);
      break;

    case MPC_T_PGP:
      /* matched by prefix, like 0.9.4's get_pgpolicy_id */
      for (n = 1; n <= 5; n++)
        if (strncmp (value, pgp_names[n], strlen (pgp_names[n])) == 0)
          break;
      if (n > 5)
        invalid (ctx, kwname, value);
      else
        set_num (v, n, true);
      break;

    case MPC_T_FINDMP:
      if ((yn = yes_no (value)) >= 0)
        set_num (v, yn ? BRAID_MPCONF_FIND_ON : BRAID_MPCONF_FIND_OFF, true);
      else
        {
          for (n = 1; n <= 5; n++)
            if (strcmp (value, findmp_names[n]) == 0)
              break;
          if (n > 5)
            invalid (ctx, kwname, value);
          else
            set_num (v, n, true);
        }
      break;

    case MPC_T_LOGCHK:
      if (strcmp (value, "once") == 0)
        set_num (v, 1, true);
      else if (strcmp (value, "always") == 0)
        set_num (v, 0, true);
      else
        invalid (ctx, kwname, value);
      break;

    case MPC_T_MARGPG:
      if (strcmp (value, "on") == 0 || yes_no (value) == 1)
        set_num (v, 1, true);
      else if (strcmp (value, "off") == 0 || yes_no (value) == 0)
        set_num (v, 0, true);
      else if (strcmp (value, "fpin") == 0)
        WARN (ctx, "%s line %d, support for \"fpin\" is not compiled in for "
              "marginal_pathgroups", ctx->file, ctx->line);
      else
        invalid (ctx, kwname, value);
      break;

    case MPC_T_STR:
      r = set_str (v, value);
      break;

    case MPC_T_NOSLASH:
      if (strchr (value, '/'))
        WARN (ctx, "%s line %d, %s cannot contain a slash. Ignoring",
              ctx->file, ctx->line, value);
      else
        r = set_str (v, value);
      break;

    case MPC_T_PARTDELIM:
      /* 0.9.4 dies here (its slash check rejects the documented
       * "/UNSET/" and then dereferences NULL); braid does what 0.9.5+
       * does: "/UNSET/" clears, other slashes are refused. */
      if (strcmp (value, "/UNSET/") == 0)
        mpc_val_clear (v);
      else if (strchr (value, '/'))
        WARN (ctx, "%s line %d, %s cannot contain a slash. Ignoring",
              ctx->file, ctx->line, value);
      else
        r = set_str (v, value);
      break;

    case MPC_T_ARGC:
      if (argcount_ok (ctx, kwname, value, (int) k->lo))
        r = set_str (v, value);
      break;

    case MPC_T_PATH:
      warn_once (ctx, kw, "%s line %d, \"%s\" is deprecated and will be "
                 "disabled in a future release", kwname);
      if (value[0] != '/')
        WARN (ctx, "%s line %d, %s is not an absolute path. Ignoring",
              ctx->file, ctx->line, value);
      else
        r = set_str (v, value);
      break;

    case MPC_T_MODE:
      {
        unsigned int mode;
        if (sscanf (value, "%o", &mode) == 1 && mode <= 0777)
          set_num (v, mode, true);
        else
          invalid (ctx, kwname, value);
        break;
      }

    case MPC_T_UID:
    case MPC_T_GID:
      {
        struct passwd pw, *res = NULL;
        char pwbuf[1024];
        unsigned int id;

        if (getpwnam_r (value, &pw, pwbuf, sizeof pwbuf, &res) == 0 && res)
          set_num (v, k->type == MPC_T_UID ? res->pw_uid : res->pw_gid,
                   true);
        else if (sscanf (value, "%u", &id) == 1)
          set_num (v, id, true);
        else
          invalid (ctx, kwname, value);
        break;
      }

    case MPC_T_RESKEY:
      {
        const char *suffix;
        if (parse_prkey (value, &n, &suffix) < 0)
          return 1;     /* handler error: the whole configuration fails */
        free (v->s);
        v->s = NULL;
        if (suffix && !(v->s = strdup (suffix)))
          return -ENOMEM;
        set_num (v, n, true);
        break;
      }

    case MPC_T_UIDATTRS:
      r = parse_uid_attrs (ctx, kwname, v, value);
      break;

    case MPC_T_VPDV:
      if (strcmp (value, "hp3par") == 0)
        set_num (v, 1, true);
      else
        invalid (ctx, kwname, value);
      break;

    case MPC_T_PCTYPE:
      for (n = 0; mpc_protocol_names[n]; n++)
        if (strcmp (value, mpc_protocol_names[n]) == 0)
          break;
      if (mpc_protocol_names[n])
        r = set_str (v, value);
      else
        invalid (ctx, kwname, value);
      break;

    case MPC_T_IGNORED:
      warn_once (ctx, kw, "%s line %d: ignoring deprecated option \"%s\"",
                 kwname);
      break;

    case MPC_T_IGNORED_SILENT:
    case MPC_T_SECTION:
    case MPC_T_REGEX:
      break;
    }
  if (r < 0)
    ctx->nomem = 1;
  return 0;
}

/* ---------------------------------------------------------------------- */
/* Printers                                                                */
/* ---------------------------------------------------------------------- */

bool
mpc_value_print (const struct braid_mpconf *conf, int kw,
                 const struct mpc_val *val, bool in_defaults,
                 struct mpc_buf *b)
{
  const struct mpc_keyword *k = &mpc_keywords[kw];
  struct mpc_val dflt;
  const struct mpc_val *v = val;
  long long n;

  if (!v->set)
    {
      /* the defaults section shows the built-in value of an unset
       * keyword where multipath-tools does */
      if (!in_defaults || !(k->flags & D))
        return false;
      dflt.n = k->def_n;
      dflt.s = (char *) k->def_s;
      dflt.set = true;
      v = &dflt;
    }
  n = v->n;

  switch (k->type)
    {
    case MPC_T_INT:
    case MPC_T_INT_NZ:
    case MPC_T_CHECKINT:
    case MPC_T_UINT:
      mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_MAXFDS:
      if (n == 0)
        return false;
      if (n == conf->nr_open)
        mpc_buf_add (b, "\"max\"");
      else
        mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_YN:
      mpc_buf_add (b, n ? "\"yes\"" : "\"no\"");
      return true;

    case MPC_T_QWD:
      mpc_buf_add (b, n == 2 ? "\"forced\"" : n ? "\"yes\"" : "\"no\"");
      return true;

    case MPC_T_YNU:
      mpc_buf_add (b, n == 2 ? "\"yes\"" : "\"no\"");
      return true;

    case MPC_T_NU:
      if (n == -1)
        mpc_buf_add (b, "\"no\"");
      else
        mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_UOZ:
      if (n == -1)
        mpc_buf_add (b, "off");
      else if (n == -2)
        mpc_buf_add (b, "0");
      else
        mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_DEVLOSS:
      if (n == UINT_MAX)
        mpc_buf_add (b, "\"infinity\"");
      else
        mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_NPR:
      if (n == BRAID_MPCONF_NPR_FAIL)
        mpc_buf_add (b, "\"fail\"");
      else if (n == BRAID_MPCONF_NPR_QUEUE)
        mpc_buf_add (b, "\"queue\"");
      else
        mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_FAILBACK:
      if (mpc_failback_name (n))
        mpc_buf_addf (b, "\"%s\"", mpc_failback_name (n));
      else
        mpc_buf_addf (b, "%lld", n);
      return true;

    case MPC_T_RRW:
      mpc_buf_add (b, n == 2 ? "\"priorities\"" : "\"uniform\"");
      return true;

    case MPC_T_PGP:
      mpc_buf_addf (b, "\"%s\"", mpc_pgp_name (n));
      return true;

    case MPC_T_FINDMP:
      mpc_buf_addf (b, "\"%s\"", mpc_findmp_name (n));
      return true;

    case MPC_T_LOGCHK:
      mpc_buf_add (b, n ? "\"once\"" : "\"always\"");
      return true;

    case MPC_T_MARGPG:
      mpc_buf_add (b, n ? "\"on\"" : "\"off\"");
      return true;

    case MPC_T_STR:
    case MPC_T_NOSLASH:
    case MPC_T_PARTDELIM:
    case MPC_T_ARGC:
    case MPC_T_PATH:
    case MPC_T_PCTYPE:
    case MPC_T_REGEX:
      if (!v->s)
        return false;
      mpc_buf_add_quoted (b, v->s);
      return true;

    case MPC_T_MODE:
    case MPC_T_UID:
    case MPC_T_GID:
      mpc_buf_addf (b, "0%llo", (unsigned long long) n);
      return true;

    case MPC_T_RESKEY:
      if (v->s && strcmp (v->s, "file") == 0)
        mpc_buf_add (b, "\"file\"");
      else
        mpc_buf_addf (b, "0x%llx%s", (unsigned long long) n,
                      v->s ? v->s : "");
      return true;

    case MPC_T_UIDATTRS:
      if (!v->s)
        return false;
      mpc_buf_add (b, v->s);
      return true;

    case MPC_T_VPDV:
      mpc_buf_add (b, "\"hp3par\"");
      return true;

    case MPC_T_IGNORED_SILENT:
      if (!in_defaults)
        return false;
      mpc_buf_add (b, "\"ignored\"");
      return true;

    case MPC_T_IGNORED:
    case MPC_T_SECTION:
      return false;
    }
  return false;
}

int
mpc_defaults_init (struct braid_mpconf *conf)
{
  for (int i = 0; i < KW__COUNT; i++)
    {
      const struct mpc_keyword *k = &mpc_keywords[i];
      struct mpc_val *v = &conf->def.v[i];

      if (!(k->flags & MPC_KF_STORED))
        continue;
      if (k->def_s)
        {
          if (!(v->s = strdup (k->def_s)))
            return -ENOMEM;
        }
      v->n = k->type == MPC_T_MAXFDS ? conf->nr_open : k->def_n;
      v->set = true;
    }
  /* max_polling_interval starts unset: derived after parsing. */
  return 0;
}
