/* braid/mpconf.h: multipath.conf as multipath-tools 0.9.x reads it.
 *
 * An admin moving from multipath-tools keeps /etc/multipath.conf and the
 * drop-ins in /etc/multipath/conf.d unchanged; this layer reads them with
 * the same grammar, the same value rules, the same merging and the same
 * warnings as multipath-tools 0.9.4, and answers the questions the
 * engine asks: "what does the merged configuration look like"
 * (braid_mpconf_dump, the `multipath -t` output), "which value applies
 * to this path or map, and where does it come from" (braid_mpconf_resolve,
 * the `multipath -T` view), and "is this path blacklisted"
 * (braid_mpconf_blacklisted).
 *
 * Loading never touches anything shared: braid_mpconf_load builds a new
 * object from the files or fails, so a daemon that reloads keeps its
 * previous configuration whenever the new one is refused.  A load fails
 * (-EINVAL) exactly where multipath-tools refuses a configuration: a
 * keyword handler error in the main file (a blacklist regex that does not
 * compile, an unparsable reservation_key) or a product_blacklist regex
 * that does not compile.  Everything else (unknown keywords, bad values,
 * odd syntax, and handler errors inside conf.d files, which
 * multipath-tools also only logs) produces diagnostics and carries on.
 *
 * Diagnostics are both handed to the log callback as they happen and
 * collected in a braid_mpconf_diags list the caller can print or test.
 * Their text is multipath-tools' text with the real file name in it.
 *
 * Nothing here prints; all strings returned are owned by the object they
 * come from and live as long as it does.
 */
#ifndef BRAID_MPCONF_H
#define BRAID_MPCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "braid/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where multipath-tools 0.9.4 looks (compile-time defaults there). */
#define BRAID_MPCONF_DEFAULT_FILE "/etc/multipath.conf"
#define BRAID_MPCONF_DEFAULT_DIR "/etc/multipath/conf.d"

struct braid_mpconf;
struct braid_mpconf_diags;

/* ---------------------------------------------------------------------- */
/* Loading                                                                 */
/* ---------------------------------------------------------------------- */

struct braid_mpconf_load_args {
  const char *config_file;  /* main file; NULL or missing file = none */
  const char *config_dir;   /* drop-in dir; NULL or missing dir = none */
  braid_log_fn log;         /* may be NULL; gets every diagnostic */
  void *log_opaque;
  int log_level;            /* hand diagnostics with level <= this to log;
                               0 means BRAID_LOG_NOTICE (multipath -v2) */
};

/* One diagnostic.  'file' is NULL for messages that are not tied to a
 * file (none today); 'line' is 0 when multipath-tools does not name a
 * line (post-parse merging, for instance) - braid still records the file
 * and the line where the entry concerned started in 'file'/'line' when it
 * knows them, and sets 'text_has_location' when 'text' itself already
 * names them the way multipath-tools does.  'level' is a braid_log_level:
 * ERR, WARNING, NOTICE map multipath-tools' condlog 0, 1, 2 (shown by
 * `multipath -t` at its default verbosity), INFO its condlog 3. */
struct braid_mpconf_diag {
  const char *file;
  int line;
  int level;
  bool text_has_location;
  const char *text;
};

/* Read the main file then every "*.conf" in config_dir (alphabetical,
 * byte order) on top of the built-in tables, merge them and derive what
 * multipath-tools derives.  On success *confp gets a new object (free
 * with braid_mpconf_free) and 0 is returned.  On a fatal configuration
 * error *confp is set to NULL and -EINVAL returned; on an allocation
 * failure -ENOMEM.  In every case, if diagsp is not NULL, *diagsp gets
 * the diagnostics produced (free with braid_mpconf_diags_free; NULL only
 * if even that could not be allocated). */
int braid_mpconf_load (const struct braid_mpconf_load_args *args,
                       struct braid_mpconf **confp,
                       struct braid_mpconf_diags **diagsp);

/* Free a configuration.  NULL is ignored. */
void braid_mpconf_free (struct braid_mpconf *conf);

/* Number of diagnostics, and the i-th one (NULL if out of range).  The
 * returned struct and its strings belong to the list. */
size_t braid_mpconf_diags_count (const struct braid_mpconf_diags *d);
const struct braid_mpconf_diag *
braid_mpconf_diags_get (const struct braid_mpconf_diags *d, size_t i);
void braid_mpconf_diags_free (struct braid_mpconf_diags *d);

/* Format one diagnostic as braid prints it: the multipath-tools text,
 * followed by " [FILE:LINE]" when the text does not already name them.
 * Writes at most len bytes (NUL included); returns the length it wanted,
 * like snprintf. */
int braid_mpconf_diag_format (const struct braid_mpconf_diag *d,
                              char *buf, size_t len);

/* ---------------------------------------------------------------------- */
/* The `multipath -t` dump                                                 */
/* ---------------------------------------------------------------------- */

/* Print the merged configuration exactly as `multipath -t` 0.9.4 prints
 * it, with the deliberate differences listed in docs/multipath.conf.md
 * ("Differences from multipath-tools"): force_sync and retrigger_tries
 * show braid's own values (multipath forces "yes" and 0 into its dump),
 * blacklist device entries are always printed as balanced blocks, and
 * partition_delimiter never crashes.  Returns 0 or -errno (write error). */
int braid_mpconf_dump (const struct braid_mpconf *conf, FILE *out);

/* The same text in a new malloc'd string (the caller frees it); NULL with
 * errno set on failure. */
char *braid_mpconf_dump_string (const struct braid_mpconf *conf);

/* ---------------------------------------------------------------------- */
/* Paths as the resolver and the blacklist see them                        */
/* ---------------------------------------------------------------------- */

/* The devnode is a braid path name ("ip-<addr>:<port>-iscsi-<iqn>-lun-<n>")
 * rather than a kernel name: the built-in devnode blacklist rule, which is
 * written for kernel names, does not apply to it (config-file devnode
 * rules still do).  See docs/multipath.conf.md. */
#define BRAID_MPCONF_PATH_BRAID 0x1u

/* What is known about a path.  Every pointer may be NULL (unknown).
 * 'properties' is the udev-style property list in order, each entry
 * "NAME=VALUE", NULL-terminated; braid builds it from what it knows about
 * the LUN (ID_SERIAL, ID_WWN, SCSI_IDENT_*, ...). */
struct braid_mpconf_path_id {
  const char *vendor;       /* SCSI INQUIRY vendor, trailing blanks removed */
  const char *product;
  const char *revision;
  const char *wwid;
  const char *protocol;     /* "scsi:iscsi" for braid's own paths */
  const char *devnode;      /* kernel name or braid path name */
  const char *const *properties;
  unsigned flags;           /* BRAID_MPCONF_PATH_* */
  int tpgs;                 /* ALUA support from INQUIRY: -1 unknown, 0 none,
                               1 implicit, 2 explicit, 3 both */
  int rdac;                 /* 1 if VPD page 0xC9 says "vac1" (RDAC) */
};

/* ---------------------------------------------------------------------- */
/* Blacklist                                                               */
/* ---------------------------------------------------------------------- */

/* Results, as multipath-tools' filter_path returns them: positive =
 * blacklisted by that criterion; otherwise the result of the last
 * criterion (wwid): negative if one of its exceptions matched, else 0. */
enum braid_mpconf_bl {
  BRAID_MPCONF_BL_NONE = 0,
  BRAID_MPCONF_BL_WWID = 1,
  BRAID_MPCONF_BL_DEVICE = 2,
  BRAID_MPCONF_BL_DEVNODE = 3,
  BRAID_MPCONF_BL_PROPERTY = 4,
  BRAID_MPCONF_BL_PROPERTY_MISSING = 5,
  BRAID_MPCONF_BL_PROTOCOL = 6,
};

/* Evaluate the blacklist for a path in multipath-tools' order (property,
 * devnode, device, protocol, wwid; each criterion's exceptions first).
 * Criteria whose input is NULL are skipped.  If 'why' is not NULL it gets
 * multipath-tools' log text for the deciding rule ("sdb: device node name
 * blacklisted", "sdb: (LIO-ORG:IBLOCK) vendor/product whitelisted", ...;
 * "" if no rule matched).  Returns an enum braid_mpconf_bl value (> 0 means
 * the path must not be used). */
int braid_mpconf_blacklisted (const struct braid_mpconf *conf,
                              const struct braid_mpconf_path_id *id,
                              char *why, size_t why_len);

/* ---------------------------------------------------------------------- */
/* Effective settings                                                      */
/* ---------------------------------------------------------------------- */

/* Where a value came from, in multipath-tools' words (-T / propsel). */
enum braid_mpconf_source {
  BRAID_MPCONF_SRC_UNSET = 0,     /* no level sets it, no built-in default */
  BRAID_MPCONF_SRC_BUILTIN,       /* "multipath internal" */
  BRAID_MPCONF_SRC_DEFAULTS,      /* "multipath.conf defaults/devices section" */
  BRAID_MPCONF_SRC_DEVICE,        /* "storage device configuration" */
  BRAID_MPCONF_SRC_OVERRIDES,     /* "multipath.conf overrides section" */
  BRAID_MPCONF_SRC_PROTOCOL,      /* "multipath.conf overrides protocol section" */
  BRAID_MPCONF_SRC_MULTIPATH,     /* "multipath.conf multipaths section" */
  BRAID_MPCONF_SRC_AUTODETECT,    /* "storage device autodetected" */
  BRAID_MPCONF_SRC_FEATURES,      /* derived from the features string */
  BRAID_MPCONF_SRC_UID_ATTRS,     /* uid_attrs matched the devnode */
};

/* Short name of a source ("multipath", "overrides", "protocol", "device",
 * "defaults", "built-in", "autodetected", "features", "uid_attrs",
 * "unset"). */
const char *braid_mpconf_source_name (int src);

/* The settings the engine asks for, one per configuration keyword. */
enum braid_mpconf_setting_id {
  BRAID_MPS_PATH_GROUPING_POLICY,  /* num: enum braid_mpconf_pgpolicy */
  BRAID_MPS_PATH_SELECTOR,         /* str */
  BRAID_MPS_PRIO,                  /* str */
  BRAID_MPS_PRIO_ARGS,             /* str */
  BRAID_MPS_PATH_CHECKER,          /* str */
  BRAID_MPS_CHECKER_TIMEOUT,       /* num seconds, 0 = device's own timeout */
  BRAID_MPS_FAILBACK,              /* num: BRAID_MPCONF_FAILBACK_* or N > 0 */
  BRAID_MPS_RR_WEIGHT,             /* num: 1 uniform, 2 priorities */
  BRAID_MPS_RR_MIN_IO,             /* num */
  BRAID_MPS_RR_MIN_IO_RQ,          /* num */
  BRAID_MPS_NO_PATH_RETRY,         /* num: BRAID_MPCONF_NPR_* or N > 0 */
  BRAID_MPS_FEATURES,              /* str, queue_if_no_path and
                                      retain_attached_hw_handler removed */
  BRAID_MPS_HARDWARE_HANDLER,      /* str */
  BRAID_MPS_ALIAS,                 /* str from multipaths, NULL if none */
  BRAID_MPS_USER_FRIENDLY_NAMES,   /* num: 0 no, 1 yes */
  BRAID_MPS_ALIAS_PREFIX,          /* str */
  BRAID_MPS_UID_ATTRIBUTE,         /* str */
  BRAID_MPS_FIND_MULTIPATHS,       /* num: enum braid_mpconf_find_multipaths */
  BRAID_MPS_FIND_MULTIPATHS_TIMEOUT, /* num seconds (negative: see docs) */
  BRAID_MPS_FAST_IO_FAIL_TMO,      /* num: -1 off, 0 zero, N, or unset */
  BRAID_MPS_DEV_LOSS_TMO,          /* num: 0 unset, 4294967295 infinity */
  BRAID_MPS_EH_DEADLINE,           /* num: -1 off, 0 zero, N, or unset */
  BRAID_MPS_POLLING_INTERVAL,      /* num seconds */
  BRAID_MPS_MAX_POLLING_INTERVAL,  /* num seconds */
  BRAID_MPS_FLUSH_ON_LAST_DEL,     /* num 0/1 */
  BRAID_MPS_DETECT_PRIO,           /* num 0/1 */
  BRAID_MPS_DETECT_CHECKER,        /* num 0/1 */
  BRAID_MPS_RETAIN_ATTACHED_HW_HANDLER, /* num 0/1 */
  BRAID_MPS_DEFERRED_REMOVE,       /* num 0/1 */
  BRAID_MPS_SKIP_KPARTX,           /* num 0/1 */
  BRAID_MPS_ALL_TG_PT,             /* num 0/1 */
  BRAID_MPS_RECHECK_WWID,          /* num 0/1 */
  BRAID_MPS_DELAY_WATCH_CHECKS,    /* num: 0 no, N */
  BRAID_MPS_DELAY_WAIT_CHECKS,
  BRAID_MPS_SAN_PATH_ERR_THRESHOLD,
  BRAID_MPS_SAN_PATH_ERR_FORGET_RATE,
  BRAID_MPS_SAN_PATH_ERR_RECOVERY_TIME,
  BRAID_MPS_MARGINAL_PATH_ERR_SAMPLE_TIME,
  BRAID_MPS_MARGINAL_PATH_ERR_RATE_THRESHOLD,
  BRAID_MPS_MARGINAL_PATH_ERR_RECHECK_GAP_TIME,
  BRAID_MPS_MARGINAL_PATH_DOUBLE_FAILED_TIME,
  BRAID_MPS_MARGINAL_PATHGROUPS,   /* num 0/1 */
  BRAID_MPS_GHOST_DELAY,           /* num: 0 no, N */
  BRAID_MPS_MAX_SECTORS_KB,        /* num, 0 = leave alone */
  BRAID_MPS_QUEUE_WITHOUT_DAEMON,  /* num 0/1 */
  BRAID_MPS_RESERVATION_KEY,       /* str as dumped ("0x...", "file"), NULL */
  BRAID_MPS_MODE,                  /* num, -1 unset */
  BRAID_MPS_UID,                   /* num, -1 unset */
  BRAID_MPS_GID,                   /* num, -1 unset */
  BRAID_MPS__COUNT
};

enum braid_mpconf_pgpolicy {
  BRAID_MPCONF_PGP_FAILOVER = 1,
  BRAID_MPCONF_PGP_MULTIBUS = 2,
  BRAID_MPCONF_PGP_GROUP_BY_SERIAL = 3,
  BRAID_MPCONF_PGP_GROUP_BY_PRIO = 4,
  BRAID_MPCONF_PGP_GROUP_BY_NODE_NAME = 5,
};

#define BRAID_MPCONF_FAILBACK_MANUAL (-1)
#define BRAID_MPCONF_FAILBACK_IMMEDIATE (-2)
#define BRAID_MPCONF_FAILBACK_FOLLOWOVER (-3)

#define BRAID_MPCONF_NPR_UNSET 0     /* behaves like fail */
#define BRAID_MPCONF_NPR_FAIL (-1)
#define BRAID_MPCONF_NPR_QUEUE (-2)

enum braid_mpconf_find_multipaths {
  BRAID_MPCONF_FIND_OFF = 1,
  BRAID_MPCONF_FIND_ON = 2,
  BRAID_MPCONF_FIND_STRICT = 3,
  BRAID_MPCONF_FIND_GREEDY = 4,
  BRAID_MPCONF_FIND_SMART = 5,
};

struct braid_mpconf_value {
  long long num;
  const char *str;          /* owned by the configuration object */
  int src;                  /* enum braid_mpconf_source */
};

struct braid_mpconf_settings {
  struct braid_mpconf_value v[BRAID_MPS__COUNT];
  /* Storage for the two values computed rather than configured (the
   * reconciled features string, the formatted reservation key): their
   * 'str' points here, so copy a settings struct only with that in mind. */
  char features_buf[256];
  char reservation_key_buf[32];
};

/* Fill 'out' with the effective value of every setting for a path (or
 * the map its WWID forms), walking multipaths > overrides (protocol first
 * where it applies) > devices (every matching entry, newest first) >
 * defaults > built-in, with multipath-tools' special cases (detect_prio,
 * detect_checker, uid_attrs, hardware_handler and features
 * reconciliation).  Strings point into conf.  Returns 0 or -EINVAL. */
int braid_mpconf_resolve (const struct braid_mpconf *conf,
                          const struct braid_mpconf_path_id *id,
                          struct braid_mpconf_settings *out);

/* The configuration keyword of a setting ("no_path_retry"). */
const char *braid_mpconf_setting_name (int id);

/* A setting's value as multipath.conf would spell it (the dump's
 * spelling without quotes: "queue", "immediate", "service-time 0",
 * "infinity", "0644"...).  Same return convention as snprintf; "" for an
 * unset value. */
int braid_mpconf_setting_format (const struct braid_mpconf_settings *s,
                                 int id, char *buf, size_t len);

/* Number of built-in hardware table entries (123 for 0.9.4). */
size_t braid_mpconf_builtin_hwtable_size (void);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_MPCONF_H */
