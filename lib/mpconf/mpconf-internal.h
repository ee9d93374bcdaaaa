/* mpconf-internal.h: what the multipath.conf files of lib/mpconf share.
 *
 * The layer is split by concern:
 *   lexer.c      lines and tokens (multipath-tools' 1024-byte lines, quote
 *                markers, comments) and the per-line syntax checks;
 *   keywords.c   THE keyword table: every 0.9.4 keyword with its sections,
 *                type, bounds, default, print position and documentation,
 *                plus the value parsers and printers of each type;
 *   parser.c     recursive descent over a file driven by the table;
 *   hwtable.c    the built-in device table (generated from the oracle);
 *   config.c     the object, loading the main file and conf.d, diagnostics;
 *   merge.c      post-parse merging (device factorisation, multipaths,
 *                protocols, blacklists, features reconciliation);
 *   blacklist.c  blacklist evaluation;
 *   dump.c       the `multipath -t` printer;
 *   propsel.c    effective values (the resolver).
 *
 * Values are stored the way multipath-tools stores them (a number whose
 * meaning depends on the keyword type, or a string) plus an explicit "set"
 * flag, so merging ("fill what is unset") and printing ("omit what is
 * unset") behave alike for every keyword.
 */
#ifndef BRAID_MPCONF_INTERNAL_H
#define BRAID_MPCONF_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "braid/mpconf.h"

/* ---------------------------------------------------------------------- */
/* Small growable vector of pointers                                       */
/* ---------------------------------------------------------------------- */

struct mpc_vec {
  void **v;
  size_t n, cap;
};

int mpc_vec_push (struct mpc_vec *vec, void *p);
void mpc_vec_del (struct mpc_vec *vec, size_t i);   /* keeps order */
int mpc_vec_insert (struct mpc_vec *vec, size_t i, void *p);

/* A growable string (dump, messages). */
struct mpc_buf {
  char *s;
  size_t len, cap;
  int err;          /* sticky -ENOMEM */
};

void mpc_buf_addf (struct mpc_buf *b, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));
void mpc_buf_add (struct mpc_buf *b, const char *s);
/* Append s double-quoted with every embedded '"' doubled. */
void mpc_buf_add_quoted (struct mpc_buf *b, const char *s);

/* ---------------------------------------------------------------------- */
/* Sections                                                                */
/* ---------------------------------------------------------------------- */

enum mpc_sect {
  MPC_S_TOP,       /* outside every section */
  MPC_S_DEF,       /* defaults */
  MPC_S_BL,        /* blacklist */
  MPC_S_BLE,       /* blacklist_exceptions */
  MPC_S_BLDEV,     /* device inside blacklist / blacklist_exceptions */
  MPC_S_DEVS,      /* devices */
  MPC_S_HW,        /* device inside devices */
  MPC_S_OVR,       /* overrides */
  MPC_S_PC,        /* protocol inside overrides */
  MPC_S_MPS,       /* multipaths */
  MPC_S_MP,        /* multipath inside multipaths */
  MPC_S__COUNT
};

#define MPC_IN(s) (1u << (s))
#define MPC_IN_DEF MPC_IN (MPC_S_DEF)
#define MPC_IN_HW MPC_IN (MPC_S_HW)
#define MPC_IN_OVR MPC_IN (MPC_S_OVR)
#define MPC_IN_PC MPC_IN (MPC_S_PC)
#define MPC_IN_MP MPC_IN (MPC_S_MP)
#define MPC_IN_BLS (MPC_IN (MPC_S_BL) | MPC_IN (MPC_S_BLE))

/* multipath-tools' name of a section in "invalid keyword in the %s
 * section" messages (NULL for the top level). */
const char *mpc_sect_name (int sect);

/* ---------------------------------------------------------------------- */
/* The keyword table                                                       */
/* ---------------------------------------------------------------------- */

/* Attribute slots.  The table in keywords.c is indexed by this enum. */
enum mpc_kw {
  /* section keywords */
  KW_SEC_DEFAULTS, KW_SEC_BLACKLIST, KW_SEC_BLACKLIST_EXC, KW_SEC_DEVICES,
  KW_SEC_DEVICE, KW_SEC_BLDEVICE, KW_SEC_OVERRIDES, KW_SEC_PROTOCOL,
  KW_SEC_MULTIPATHS, KW_SEC_MULTIPATH,
  /* defaults (in dump order) and shared attributes */
  KW_VERBOSITY, KW_POLLING_INTERVAL, KW_MAX_POLLING_INTERVAL,
  KW_REASSIGN_MAPS, KW_MULTIPATH_DIR, KW_PATH_SELECTOR,
  KW_PATH_GROUPING_POLICY, KW_UID_ATTRS, KW_UID_ATTRIBUTE,
  KW_GETUID_CALLOUT, KW_PRIO, KW_PRIO_ARGS, KW_FEATURES, KW_PATH_CHECKER,
  KW_ALIAS_PREFIX, KW_FAILBACK, KW_RR_MIN_IO, KW_RR_MIN_IO_RQ, KW_MAX_FDS,
  KW_RR_WEIGHT, KW_NO_PATH_RETRY, KW_QUEUE_WITHOUT_DAEMON,
  KW_CHECKER_TIMEOUT, KW_ALLOW_USB_DEVICES, KW_PG_TIMEOUT,
  KW_FLUSH_ON_LAST_DEL, KW_USER_FRIENDLY_NAMES, KW_MODE, KW_UID, KW_GID,
  KW_FAST_IO_FAIL_TMO, KW_DEV_LOSS_TMO, KW_EH_DEADLINE, KW_BINDINGS_FILE,
  KW_WWIDS_FILE, KW_PRKEYS_FILE, KW_LOG_CHECKER_ERR, KW_RESERVATION_KEY,
  KW_ALL_TG_PT, KW_RETAIN_ATTACHED_HW_HANDLER, KW_DETECT_PRIO,
  KW_DETECT_CHECKER, KW_FORCE_SYNC, KW_STRICT_TIMING, KW_DEFERRED_REMOVE,
  KW_PARTITION_DELIMITER, KW_CONFIG_DIR, KW_DELAY_WATCH_CHECKS,
  KW_DELAY_WAIT_CHECKS, KW_SAN_PATH_ERR_THRESHOLD,
  KW_SAN_PATH_ERR_FORGET_RATE, KW_SAN_PATH_ERR_RECOVERY_TIME,
  KW_MARGINAL_PATH_ERR_SAMPLE_TIME, KW_MARGINAL_PATH_ERR_RATE_THRESHOLD,
  KW_MARGINAL_PATH_ERR_RECHECK_GAP_TIME, KW_MARGINAL_PATH_DOUBLE_FAILED_TIME,
  KW_FIND_MULTIPATHS, KW_UXSOCK_TIMEOUT, KW_RETRIGGER_TRIES,
  KW_RETRIGGER_DELAY, KW_MISSING_UEV_WAIT_TIMEOUT, KW_SKIP_KPARTX,
  KW_DISABLE_CHANGED_WWIDS, KW_REMOVE_RETRIES, KW_MAX_SECTORS_KB,
  KW_GHOST_DELAY, KW_FIND_MULTIPATHS_TIMEOUT, KW_ENABLE_FOREIGN,
  KW_MARGINAL_PATHGROUPS, KW_RECHECK_WWID,
  /* device-only, multipath-only, protocol-only */
  KW_VENDOR, KW_PRODUCT, KW_REVISION, KW_PRODUCT_BLACKLIST,
  KW_HARDWARE_HANDLER, KW_VPD_VENDOR, KW_WWID, KW_ALIAS, KW_TYPE,
  /* blacklist / blacklist_exceptions */
  KW_BL_DEVNODE, KW_BL_WWID, KW_BL_PROPERTY, KW_BL_PROTOCOL,
  KW_BL_VENDOR, KW_BL_PRODUCT,
  /* other spellings */
  KW_CHECKER,
  KW__COUNT
};

/* Value types: each has a parser and a printer in keywords.c. */
enum mpc_type {
  MPC_T_SECTION,     /* opens a subsection */
  MPC_T_INT,         /* int clamped to [lo, hi], always printed (stored default) */
  MPC_T_INT_NZ,      /* int clamped to [lo, hi], 0 = unset */
  MPC_T_CHECKINT,    /* polling_interval: unsigned, see config.c */
  MPC_T_UINT,        /* max_polling_interval: unsigned, 0 = unset */
  MPC_T_MAXFDS,      /* "max" or int 0..nr_open */
  MPC_T_YN,          /* yes/1 no/0, stored default */
  MPC_T_YNU,         /* yes/no/unset */
  MPC_T_NU,          /* "no"/"0" or int 1..INT_MAX */
  MPC_T_UOZ,         /* "off", "0" or int 1..INT_MAX */
  MPC_T_DEVLOSS,     /* "infinity" or %u, 0 = unset */
  MPC_T_NPR,         /* no_path_retry: fail/0, queue, int 1..INT_MAX */
  MPC_T_FAILBACK,    /* manual, immediate, followover, int (0 = unset) */
  MPC_T_RRW,         /* uniform, priorities */
  MPC_T_PGP,         /* path grouping policy names, prefix match */
  MPC_T_FINDMP,      /* find_multipaths */
  MPC_T_LOGCHK,      /* log_checker_err */
  MPC_T_MARGPG,      /* marginal_pathgroups */
  MPC_T_QWD,         /* queue_without_daemon (yes/no, prints "forced" too) */
  MPC_T_STR,         /* any string */
  MPC_T_NOSLASH,     /* string without '/' */
  MPC_T_PARTDELIM,   /* partition_delimiter: no '/', "/UNSET/" clears */
  MPC_T_ARGC,        /* string whose word number lo is the count of the
                        words after it */
  MPC_T_PATH,        /* absolute path, deprecated (warned once) */
  MPC_T_MODE,        /* octal <= 0777, printed 0%o */
  MPC_T_UID,         /* user name or %u, printed 0%o */
  MPC_T_GID,         /* user name (its group) or %u, printed 0%o */
  MPC_T_RESKEY,      /* reservation_key */
  MPC_T_UIDATTRS,    /* uid_attrs list */
  MPC_T_VPDV,        /* vpd_vendor */
  MPC_T_PCTYPE,      /* protocol type */
  MPC_T_IGNORED,     /* accepted, dropped, warned once */
  MPC_T_IGNORED_SILENT, /* disable_changed_wwids: accepted, prints "ignored" */
  MPC_T_REGEX,       /* blacklist entry (regex, '!' inverts) */
};

/* Keyword flags. */
#define MPC_KF_MULTI 0x01      /* may repeat in a section (no duplicate warning) */
#define MPC_KF_STORED 0x02     /* defaults value initialised from def_n/def_s */
#define MPC_KF_CLIENT 0x04     /* `multipath` overrides the value in its dump */
#define MPC_KF_DEFAULT 0x08    /* has a built-in default (def_n / def_s) */

struct mpc_keyword {
  const char *name;
  unsigned char type;        /* enum mpc_type */
  unsigned char flags;       /* MPC_KF_* */
  unsigned short in;         /* MPC_IN() mask of the sections it is valid in */
  unsigned char child;       /* MPC_T_SECTION: the section it opens */
  unsigned char o_def, o_hw, o_mp; /* print position; 0 = not printed there */
  int alias_of;              /* other spelling: the slot it stores into, else -1 */
  long long lo, hi;          /* clamp bounds; MPC_T_ARGC: count position */
  long long def_n;           /* built-in default, numeric types */
  const char *def_s;         /* built-in default, string types / printed form */
  const char *doc;           /* what it does (docs/multipath.conf.md) */
  const char *braid;         /* how braid honours it (docs) */
};

extern const struct mpc_keyword mpc_keywords[KW__COUNT];

/* One stored value. */
struct mpc_val {
  long long n;
  char *s;
  bool set;
};

struct mpc_attrs {
  struct mpc_val v[KW__COUNT];
};

/* The keyword of 'name' valid in section 'sect', or -1. */
int mpc_keyword_find (const char *name, int sect);

/* Slot a keyword stores into (resolves other spellings). */
int mpc_kw_slot (int kw);

/* Free the strings of a value / of a whole set of attributes. */
void mpc_val_clear (struct mpc_val *v);
void mpc_attrs_clear (struct mpc_attrs *a);
/* Deep copy of one value.  Returns 0 or -ENOMEM. */
int mpc_val_copy (struct mpc_val *dst, const struct mpc_val *src);

/* ---------------------------------------------------------------------- */
/* Configuration objects                                                   */
/* ---------------------------------------------------------------------- */

/* A device entry of the hardware table, a multipaths entry, a protocol. */
struct mpc_entry {
  struct mpc_attrs a;
  const char *file;          /* interned in the configuration */
  int line;                  /* line of the section keyword */
  bool builtin;
};

/* One blacklist regex (devnode, wwid, property, protocol, or the vendor
 * or product of a device entry). */
struct mpc_regex {
  char *str;                 /* as written, including a leading '!' */
  regex_t re;
  bool compiled;
  bool invert;
};

struct mpc_blentry {
  struct mpc_regex r;        /* devnode/wwid/property/protocol */
  struct mpc_regex vendor;   /* device entries */
  struct mpc_regex product;
  bool builtin;
  const char *file;
  int line;
};

/* The lists of a blacklist or blacklist_exceptions section. */
enum { MPC_BL_DEVNODE, MPC_BL_WWID, MPC_BL_PROPERTY, MPC_BL_PROTOCOL,
       MPC_BL_DEVICE, MPC_BL__COUNT };

struct mpc_blist {
  struct mpc_vec l[MPC_BL__COUNT];   /* struct mpc_blentry * */
};

struct braid_mpconf {
  struct mpc_attrs def;      /* defaults */
  unsigned char def_set[KW__COUNT]; /* keyword written in a defaults
                                       section (vs. built-in value) */
  struct mpc_attrs ovr;      /* overrides */
  struct mpc_vec hw;         /* struct mpc_entry *, oldest first */
  struct mpc_vec mp;         /* multipaths */
  struct mpc_vec pc;         /* overrides protocol entries */
  struct mpc_blist bl, ble;
  struct mpc_vec strings;    /* interned file names */
  size_t builtin_hw;         /* entries of hw that are built-in */
  long long nr_open;         /* what max_fds "max" means */
  char *uid_attrs_split;     /* uid_attrs records, each NUL-terminated,
                                an empty string last (NULL if unset) */
  unsigned checkint;         /* polling_interval after derivation */
  unsigned max_checkint;
};

/* Compile a blacklist regex ('!' prefix inverts, '\!' is a literal '!').
 * Returns 0 or a regcomp error code. */
int mpc_regex_set (struct mpc_regex *r, const char *s);
void mpc_regex_clear (struct mpc_regex *r);
/* Match semantics of multipath-tools: true if the (possibly inverted)
 * regex matches. */
bool mpc_regex_match (const struct mpc_regex *r, const char *s);

void mpc_entry_free (struct mpc_entry *e);
void mpc_blentry_free (struct mpc_blentry *e);
struct mpc_entry *mpc_entry_new (const char *file, int line);

/* ---------------------------------------------------------------------- */
/* Loading context and diagnostics                                         */
/* ---------------------------------------------------------------------- */

struct braid_mpconf_diags {
  struct braid_mpconf_diag *d;
  size_t n, cap;
};

struct mpc_ctx {
  struct braid_mpconf *conf;
  struct braid_mpconf_diags *diags;
  braid_log_fn log;
  void *log_opaque;
  int log_level;
  int nomem;                 /* an allocation failed somewhere */

  /* the file being parsed */
  FILE *f;
  const char *file;          /* full path, interned */
  const char *desc;          /* name multipath-tools uses in post-parse
                                messages: full path (main), d_name (conf.d) */
  int line;
  const char *rawline;       /* the current line as read */
  int level;                 /* section depth */
  int errors;                /* handler errors in this file */
  unsigned char warned[KW__COUNT];  /* once-only warnings already given */
  bool quiet;                /* built-in table: no diagnostics */
};

/* Record a diagnostic (and hand it to the log callback).  'line' 0 = none.
 * 'located' says the text already names file and line. */
void mpc_diag (struct mpc_ctx *ctx, int level, const char *file, int line,
               bool located, const char *fmt, ...)
  __attribute__ ((format (printf, 6, 7)));

/* Intern a string in the configuration (file names). */
const char *mpc_intern (struct mpc_ctx *ctx, const char *s);

/* ---------------------------------------------------------------------- */
/* lexer.c                                                                 */
/* ---------------------------------------------------------------------- */

/* multipath-tools reads with fgets into a buffer of this size. */
#define MPC_MAXBUF 1024

/* The quote marker token: compare by pointer.  Its text is "". */
extern const char mpc_quote[];
#define MPC_IS_QUOTE(t) ((t) == mpc_quote)

struct mpc_tokens {
  char **t;                  /* tokens; quote markers are mpc_quote */
  size_t n, cap;
};

/* Read one "line" (at most MPC_MAXBUF - 1 bytes, like fgets) and end it at
 * the first '\n' or '\r' that follows the leading ones (multipath-tools'
 * strtok).  Returns false at end of file. */
bool mpc_read_line (FILE *f, char buf[MPC_MAXBUF]);

/* Split a line into tokens (tok is reused: the previous line's tokens are
 * freed).  Returns 0 (possibly with no token: blank or comment line) or
 * -ENOMEM. */
int mpc_tokenize (const char *line, struct mpc_tokens *tok);
void mpc_tokens_clear (struct mpc_tokens *tok);

/* The value of a keyword line: token 1, or the token after an opening
 * quote marker ("" if there is none).  New string, NULL on ENOMEM. */
char *mpc_token_value (const struct mpc_tokens *tok);

/* multipath-tools' per-line checks (validate_config_strvec): warns about
 * extra data, missing values, missing braces, missing closing quotes.
 * Returns 0 if the line is to be processed, -1 if it is skipped. */
int mpc_validate_line (struct mpc_ctx *ctx, const struct mpc_tokens *tok);

/* ---------------------------------------------------------------------- */
/* keywords.c: values                                                      */
/* ---------------------------------------------------------------------- */

/* Parse the value of a keyword line into v (the keyword's slot in the
 * current section).  Warnings go to ctx.  Returns 0, or 1 for a handler
 * error (fatal in the main file, like multipath-tools). */
int mpc_value_parse (struct mpc_ctx *ctx, int kw, struct mpc_val *v,
                     const char *value);

/* Print a value as `multipath -t` does into b.  'in_defaults' selects the
 * defaults behaviour (unset values print the built-in default where
 * multipath-tools does).  Returns false if nothing is printed. */
bool mpc_value_print (const struct braid_mpconf *conf, int kw,
                      const struct mpc_val *v, bool in_defaults,
                      struct mpc_buf *b);

/* Give the defaults section its stored built-in values. */
int mpc_defaults_init (struct braid_mpconf *conf);

/* Names of enumerated values (used by the printer, resolver, docs). */
const char *mpc_pgp_name (long long v);
const char *mpc_failback_name (long long v);       /* NULL for N > 0 */
const char *mpc_findmp_name (long long v);
/* Format no_path_retry like multipath-tools' print_no_path_retry. */
void mpc_npr_format (long long v, char *buf, size_t len);

/* The protocol names multipath-tools knows. */
extern const char *const mpc_protocol_names[];

/* ---------------------------------------------------------------------- */
/* parser.c, hwtable.c, merge.c                                            */
/* ---------------------------------------------------------------------- */

/* Parse one open file into ctx->conf.  Returns the number of handler
 * errors (see mpc_value_parse) or -ENOMEM. */
int mpc_parse_file (struct mpc_ctx *ctx);

/* Append the built-in hardware table.  Returns 0 or -ENOMEM. */
int mpc_hwtable_load (struct mpc_ctx *ctx);
extern const size_t mpc_builtin_hw_count;

/* After a file: drop device entries without vendor or product, merge
 * identical ones (the older into the newer).  'first_new' is the index of
 * the first entry the file added. */
void mpc_factorize_hwtable (struct mpc_ctx *ctx, size_t first_new,
                            const char *desc);
/* After a file: drop protocol entries without type. */
void mpc_validate_pctable (struct mpc_ctx *ctx, size_t first_new,
                           const char *desc);
/* After all files. */
void mpc_merge_pctable (struct mpc_ctx *ctx);
void mpc_merge_mptable (struct mpc_ctx *ctx);
/* Built-in blacklist entries, then duplicate removal.  Returns 0, or
 * -EINVAL when a product_blacklist regex does not compile. */
int mpc_setup_blacklists (struct mpc_ctx *ctx);

/* multipath-tools' reconcile_features_with_options: moves
 * queue_if_no_path / retain_attached_hw_handler out of a features string
 * into no_path_retry / retain_attached_hw_handler, logging like 0.9.4
 * about entry e (ctx may be NULL: no logging).  *features is replaced in
 * place.  Returns 0 or -ENOMEM. */
int mpc_reconcile_features (struct mpc_ctx *ctx, const struct mpc_entry *e,
                            const char *id, char **features,
                            long long *no_path_retry, long long *retain);

/* dump.c helper shared with propsel.c: does an hwtable entry match? */
bool mpc_hwe_match (const struct mpc_entry *e, const char *vendor,
                    const char *product, const char *revision);

#endif /* BRAID_MPCONF_INTERNAL_H */
