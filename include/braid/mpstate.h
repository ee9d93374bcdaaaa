/* braid/mpstate.h: the multipath-tools 0.9.x state files and the small
 * decisions that go with them.
 *
 * An admin moving from multipath-tools keeps /etc/multipath/wwids and
 * /etc/multipath/bindings; braid reads and writes them so that either tool
 * can take over from the other.  This header covers:
 *
 *   - the wwids file (which WWIDs may be claimed: multipath -a/-w/-W),
 *   - the bindings file and user_friendly_names alias allocation
 *     (multipath-tools 0.9.7+ algorithm, 0.9.4 kept for comparison),
 *   - the "should this path be claimed" decision (find_multipaths,
 *     multipath -u/-c) over caller-supplied facts,
 *   - device-mapper feature-string surgery (add/remove feature, queue_mode
 *     and no_path_retry reconciliation),
 *   - the value printers of multipath -ll / show maps (%S size, %Q, %F, ...),
 *   - the multipathd command tokenizer (words, prefix matching,
 *     fingerprints, parameters).
 *
 * Nothing here hard-codes a path: the caller passes where the files live.
 * Functions return 0 (or a documented non-negative value) or -errno.
 * Handles keep a message for their last error (braid_*_get_error); the
 * pure functions take no handle and report only through their return
 * value, except where a braid_log_fn is taken explicitly.  Odd lines in
 * state files are reported as "<file>:<line>: ..." through the handle's
 * log callback.
 *
 * Locking: writers take an fcntl() write lock on the file, the same lock
 * multipath-tools' open_file() takes, so braid and multipath/multipathd
 * serialise with each other (open file description locks conflict with
 * the classic POSIX locks multipath-tools uses).  A lock that cannot be
 * had within the lock timeout (5 s by default, as multipath-tools) fails
 * with -ETIMEDOUT.
 */
#ifndef BRAID_MPSTATE_H
#define BRAID_MPSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "braid/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A WWID is at most 127 bytes (multipath-tools WWID_SIZE 128 with NUL). */
#define BRAID_WWID_SIZE 128

/* Default wait for another process's lock, in milliseconds. */
#define BRAID_MPSTATE_LOCK_TIMEOUT_MS 5000

/* Replace the file at 'path' with the 'len' bytes at 'buf', the way the
 * wwids and bindings rewrites do: a temporary file beside it, fsync,
 * rename, fsync of the directory, so a crash leaves the old file or the
 * new one and never a mix.  The new file gets 'mode' (the permission
 * bits).  Nothing is kept: the caller still owns 'buf'.  Returns 0, or
 * -errno with a message naming the file in 'err'. */
int braid_state_file_replace (const char *path, const void *buf, size_t len,
                              unsigned mode, char *err, size_t errlen);

/* ---------------------------------------------------------------------- */
/* wwids file                                                              */
/* ---------------------------------------------------------------------- */

/* The exact header multipath-tools writes into a new or reset wwids file. */
#define BRAID_WWIDS_HEADER                                                  \
  "# Multipath wwids, Version : 1.0\n"                                      \
  "# NOTE: This file is automatically maintained by multipath and "         \
  "multipathd.\n"                                                           \
  "# You should not need to edit this file in normal circumstances.\n"      \
  "#\n"                                                                     \
  "# Valid WWIDs:\n"

struct braid_wwids;

/* A handle on the wwids file at 'path' (copied).  No I/O happens here.
 * Returns NULL with errno set (EINVAL, ENOMEM).  Free with
 * braid_wwids_free(). */
struct braid_wwids *braid_wwids_new (const char *path);

/* Free the handle.  NULL is ignored. */
void braid_wwids_free (struct braid_wwids *w);

/* Message for the last failure ("" if none).  Owned by the handle, valid
 * until the next call on it. */
const char *braid_wwids_get_error (const struct braid_wwids *w);

/* Route diagnostics at or below 'level' to 'fn' ('opaque' passed back).
 * The handle keeps the pointers; 'opaque' must outlive it. */
void braid_wwids_set_log_fn (struct braid_wwids *w, braid_log_fn fn,
                             void *opaque, int level);

/* How long to wait for another process's lock (0 = try once). */
void braid_wwids_set_lock_timeout (struct braid_wwids *w, unsigned int ms);

/* Is 'wwid' listed?  Returns 1 or 0, or -errno.  The answer is the one
 * multipath-tools 0.9.4 gives for the same file, quirks included (an entry
 * right after a blank line is not seen, see braid_wwids_list()).  A missing
 * file lists nothing and is not created.  'wwid' is borrowed. */
int braid_wwids_check (struct braid_wwids *w, const char *wwid);

/* multipath -a: append "/<wwid>/\n" unless already listed.  Creates the
 * parent directories (0700) and the file (0600, with the header) when
 * missing.  Returns 1 if appended, 0 if already listed, or -errno
 * (-EINVAL for a WWID that is empty, longer than 127 bytes or contains
 * '/' or a newline; -EROFS if the file can only be read). */
int braid_wwids_add (struct braid_wwids *w, const char *wwid);

/* multipath -w: disable the entry by turning its leading '/' into '#' in
 * place (the file is not compacted).  Every line that starts with
 * "/<wwid>/" is disabled, not only the first.  Creates the file like
 * braid_wwids_add() when missing.  Returns 1 if an entry was disabled, 0
 * if none was listed, or -errno. */
int braid_wwids_remove (struct braid_wwids *w, const char *wwid);

/* multipath -W: replace the file with the header and one "/<wwid>/" line
 * per element of 'wwids' (n of them, borrowed, written in that order).
 * The new file is written aside, synced and renamed over the old one, and
 * keeps the old file's mode and owner.  Returns 0 or -errno; on error the
 * old file is untouched. */
int braid_wwids_reset (struct braid_wwids *w, const char *const *wwids,
                       size_t n);

/* The WWIDs multipath-tools would find in the file, in file order, each
 * once.  Logs every odd line (junk, blank, malformed or hidden entries,
 * duplicates) as "<path>:<line>: ...".  On success *out is a
 * NULL-terminated array the caller frees with braid_strv_free() and *n (if
 * not NULL) its length.  A missing file gives an empty list. */
int braid_wwids_list (struct braid_wwids *w, char ***out, size_t *n);

/* Free a NULL-terminated string array returned by this API.  NULL is
 * ignored. */
void braid_strv_free (char **v);

/* ---------------------------------------------------------------------- */
/* aliases: id <-> suffix                                                  */
/* ---------------------------------------------------------------------- */

/* Write prefix + suffix(id) into buf ("mpath" + 28 -> "mpathab"); the suffix
 * is bijective base 26 over a..z.  Returns the length written, -EINVAL for
 * id <= 0 or a NULL prefix, -ENOSPC if buf is too small. */
int braid_alias_format (char *buf, size_t len, const char *prefix, int id);

/* The id of 'alias' under 'prefix' (scan stops at a space or tab), or -1
 * when it is not "prefix + 1..7 letters a-z" or would exceed INT_MAX. */
int braid_alias_scan (const char *alias, const char *prefix);

/* One binding: alias and WWID.  In the 0.9.4 file-order list a NULL wwid
 * stands for a malformed line holding only an alias. */
struct braid_binding {
  const char *alias;
  const char *wwid;
};

/* Return true if a live map named 'alias' exists whose WWID is not 'wwid'
 * (multipath-tools: the alias is "already taken").  braid asks the daemon's
 * map table through this. */
typedef bool (*braid_alias_taken_fn) (void *opaque, const char *alias,
                                      const char *wwid);

/* multipath-tools 0.9.4 lookup_binding(): one pass over the lines in file
 * order.  If 'wwid' is bound, returns 0 and sets *match to its index.
 * Otherwise returns the id 0.9.4 would allocate, skipping ids taken by
 * other maps when 'check_taken' (taken may be NULL for "none taken"), or
 * -ENOSPC when none is left (also for a NULL prefix with check_taken).
 * Kept to explain what an older host sharing the file would pick. */
int braid_alias_lookup_094 (const struct braid_binding *lines, size_t n,
                            const char *wwid, const char *prefix,
                            bool check_taken, braid_alias_taken_fn taken,
                            void *opaque, size_t *match);

/* multipath-tools 0.9.7+ get_free_id(): the smallest id not used by a
 * binding of 'prefix' and not taken by another map.  'sorted' must be in
 * bindings order (shorter alias first, then strcmp) as braid_bindings keeps
 * it.  Returns the id, -ENOSPC when exhausted, -EINVAL if unsorted. */
int braid_alias_free_id (const struct braid_binding *sorted, size_t n,
                         const char *prefix, const char *wwid,
                         braid_alias_taken_fn taken, void *opaque);

/* ---------------------------------------------------------------------- */
/* map references                                                          */
/* ---------------------------------------------------------------------- */

/* What a map reference must match. */
enum braid_map_ref_kind {
  BRAID_MAP_REF_ANY = 0,  /* a bare word: the alias, else the WWID */
  BRAID_MAP_REF_WWID = 1, /* [/dev/]disk/by-id/scsi-W, .../dm-uuid-mpath-W */
  BRAID_MAP_REF_NAME = 2, /* [/dev/]mapper/N, [/dev/]disk/by-id/dm-name-N */
};

/* Split a map reference into the word to look up (*word points into
 * 'ref', which stays the caller's) and what it must match.  The forms are
 * those udev and device-mapper give a multipath map: "mpatha", the WWID,
 * "disk/by-id/scsi-<wwid>", "disk/by-id/dm-uuid-mpath-<wwid>",
 * "disk/by-id/dm-name-<alias>", "mapper/<alias>", each of the last four
 * with or without "/dev/".  Any other word is taken whole (kind ANY).
 * Returns an enum braid_map_ref_kind, or -EINVAL (NULL or empty). */
int braid_map_ref_parse (const char *ref, const char **word);

/* Hands out the alias and WWID of the i-th of a caller's maps (either may
 * be set to NULL: matches nothing).  The strings stay the caller's. */
typedef void (*braid_map_ref_get_fn) (const void *table, size_t i,
                                      const char **name, const char **wwid);

/* The one map resolver: which of the 'n' maps 'get' describes does 'ref'
 * name?  A bare word is an alias first, then a WWID; by-id and mapper
 * forms as braid_map_ref_parse() says.  Nothing is kept or copied.
 * Returns the index, -ENOENT (no such map: the caller names 'ref' in its
 * error) or -EINVAL (NULL or empty 'ref', NULL 'get'). */
long braid_map_ref_resolve (const char *ref, size_t n,
                            braid_map_ref_get_fn get, const void *table);

/* ---------------------------------------------------------------------- */
/* bindings file                                                           */
/* ---------------------------------------------------------------------- */

/* The exact 7-line header of a bindings file. */
#define BRAID_BINDINGS_HEADER                                               \
  "# Multipath bindings, Version : 1.0\n"                                   \
  "# NOTE: this file is automatically maintained by the multipath "         \
  "program.\n"                                                              \
  "# You should not need to edit this file in normal circumstances.\n"      \
  "#\n"                                                                     \
  "# Format:\n"                                                             \
  "# alias wwid\n"                                                          \
  "#\n"

/* braid_bindings_load() flags. */
#define BRAID_BINDINGS_READ_ONLY 0x1u /* multipath -B: never create or
                                         write the file */

/* What loading found. */
enum braid_bindings_state {
  BRAID_BINDINGS_NOT_LOADED = 0,
  BRAID_BINDINGS_OK = 1,        /* file consistent (or missing and read-only) */
  BRAID_BINDINGS_REWRITTEN = 2, /* bad header or conflicting lines: the file
                                   was rewritten with the accepted bindings */
  BRAID_BINDINGS_BAD = 3,       /* bad and not writable: no binding is used */
};

struct braid_bindings;

/* A handle on the bindings file at 'path' (copied).  No I/O happens here.
 * Returns NULL with errno set.  Free with braid_bindings_free(). */
struct braid_bindings *braid_bindings_new (const char *path);

/* Free the handle and its table.  NULL is ignored. */
void braid_bindings_free (struct braid_bindings *b);

/* Message for the last failure ("" if none); owned by the handle. */
const char *braid_bindings_get_error (const struct braid_bindings *b);

/* Diagnostics routing, as braid_wwids_set_log_fn(). */
void braid_bindings_set_log_fn (struct braid_bindings *b, braid_log_fn fn,
                                void *opaque, int level);

/* Lock wait, as braid_wwids_set_lock_timeout(). */
void braid_bindings_set_lock_timeout (struct braid_bindings *b,
                                      unsigned int ms);

/* check_alias_settings(): take the aliases of the multipaths section
 * ('conf', n entries, alias and wwid both set, borrowed; copied), drop
 * those that give one alias to two WWIDs (the lowest WWID keeps it), then
 * read the file.  Lines whose alias belongs to another WWID in 'conf' or
 * to an earlier line are rejected; if any was, or the header is not the
 * exact 0.9.7+ header, the file is rewritten (sorted, atomically) unless
 * read-only.  Unless BRAID_BINDINGS_READ_ONLY, a missing file is created
 * (directories 0700, file 0600) holding the header, as multipath-tools does
 * at startup.  Returns 0 (state OK or REWRITTEN) or -errno; -EROFS when
 * the file is bad and may not be rewritten (state BAD, table empty, as
 * multipath-tools then ignores the file). */
int braid_bindings_load (struct braid_bindings *b,
                         const struct braid_binding *conf, size_t n,
                         unsigned int flags);

/* Replace the file with the header and exactly these 'n' bindings
 * (borrowed; written sorted as multipath-tools 0.9.7+ writes them),
 * atomically (temp file 0600, fsync, rename, fsync of the directory),
 * under the file lock; missing directories are created 0700.  The handle's
 * table becomes the new one.  Returns 0 or -errno: -EINVAL for an empty
 * alias or one holding blanks, '#' or '"', a bad WWID, an alias given two
 * WWIDs or a WWID given two aliases (then nothing is written), -EROFS. */
int braid_bindings_reset (struct braid_bindings *b,
                          const struct braid_binding *list, size_t n);

/* The state the last load left. */
enum braid_bindings_state braid_bindings_state (const struct braid_bindings *b);

/* Number of bindings held, and the i-th in sorted order.  The strings
 * belong to the handle and stay valid until the next load or allocation. */
size_t braid_bindings_count (const struct braid_bindings *b);
int braid_bindings_get (const struct braid_bindings *b, size_t i,
                        const char **alias, const char **wwid);

/* The WWID bound to 'alias', or NULL.  Owned by the handle, as above. */
const char *braid_bindings_wwid_for_alias (const struct braid_bindings *b,
                                           const char *alias);

/* The alias bound to 'wwid' (first in sorted order), or NULL. */
const char *braid_bindings_alias_for_wwid (const struct braid_bindings *b,
                                           const char *wwid);

/* The multipaths-section alias that survived loading for 'wwid', or NULL. */
const char *braid_bindings_conf_alias (const struct braid_bindings *b,
                                       const char *wwid);

/* get_user_friendly_alias() (0.9.7+): the user-friendly name for 'wwid'
 * with 'prefix'.  'alias_old' is the name an existing map for this WWID
 * has now (NULL or "" if none).  A new binding is added to the table and
 * the whole file is rewritten sorted (temp file, fsync, rename); an id
 * whose alias is a multipaths-section alias of another WWID is never
 * handed out.  Writes the alias into out (outlen bytes).  Returns 0 when
 * the alias was already bound, 1 when a binding was written, or -errno:
 * -EBUSY (the bound alias is in use by another map), -EROFS (read-only:
 * nothing may be allocated), -ENOSPC (ids exhausted), -EINVAL, or the
 * write error.  On any error the caller names the map by its WWID. */
int braid_bindings_get_alias (struct braid_bindings *b, const char *wwid,
                              const char *alias_old, const char *prefix,
                              braid_alias_taken_fn taken, void *opaque,
                              char *out, size_t outlen);

/* Where braid_bindings_select_alias() took the name from. */
enum braid_alias_source {
  BRAID_ALIAS_FROM_CONF = 0,     /* multipaths { alias } */
  BRAID_ALIAS_FROM_BINDINGS = 1, /* existing binding */
  BRAID_ALIAS_NEW_BINDING = 2,   /* binding written now */
  BRAID_ALIAS_FROM_WWID = 3,     /* fallback: the WWID itself */
};

/* select_alias(): multipaths alias, else (if user_friendly_names) the
 * binding as braid_bindings_get_alias(), else the WWID.  Returns the
 * braid_alias_source, or -EINVAL/-ENOSPC (out too small). */
int braid_bindings_select_alias (struct braid_bindings *b, const char *wwid,
                                 bool user_friendly_names,
                                 const char *alias_old, const char *prefix,
                                 braid_alias_taken_fn taken, void *opaque,
                                 char *out, size_t outlen);

/* ---------------------------------------------------------------------- */
/* path validity: find_multipaths and multipath -u / -c                    */
/* ---------------------------------------------------------------------- */

/* find_multipaths values, numbered as multipath-tools does internally. */
enum braid_find_multipaths {
  BRAID_FIND_MP_UNDEF = 0,
  BRAID_FIND_MP_OFF = 1,    /* "no", "0" */
  BRAID_FIND_MP_ON = 2,     /* "yes", "1" */
  BRAID_FIND_MP_GREEDY = 3,
  BRAID_FIND_MP_SMART = 4,
  BRAID_FIND_MP_STRICT = 5, /* the default */
};

/* multipath -i (ignore the wwids file): strict|on -> smart, off -> greedy,
 * others unchanged. */
enum braid_find_multipaths
braid_find_multipaths_ignore_wwids (enum braid_find_multipaths fm);

/* Results of braid_path_is_valid(), as libmultipath's is_path_valid(). */
enum braid_path_valid {
  BRAID_PATH_IS_ERROR = -1,
  BRAID_PATH_IS_NOT_VALID = 0,
  BRAID_PATH_IS_VALID = 1,
  BRAID_PATH_IS_VALID_NO_CHECK = 2, /* valid, immune to "released" */
  BRAID_PATH_IS_MAYBE_VALID = 3,    /* smart: wait and see */
};

/* What the caller found out about the device, in the order
 * multipath-tools looks at it.  Fields after the first decisive one are
 * not read. */
struct braid_path_valid_input {
  enum braid_find_multipaths find_multipaths;
  bool is_multipath_member;  /* already a slave of a multipath map */
  const char *member_wwid;   /* its WWID then ("" or NULL: error) */
  bool check_daemon;         /* udev mode (-u): the daemon must be usable */
  bool daemon_available;     /* connect worked, got EAGAIN, or unit enabled */
  int pathinfo;              /* 0 ok, 1 skipped (blacklisted, hidden,
                                foreign, not a whole disk), <0 error */
  const char *wwid;          /* the path's WWID ("" or NULL: not valid) */
  int wwid_failed;           /* failed_wwids marker: 0 no, 1 yes, <0 error */
  bool in_use;               /* 0.9.6+: mounted/held, checked for greedy
                                and smart only; leave false for 0.9.4 */
  bool in_wwids_file;        /* braid_wwids_check() said 1 */
  bool map_exists;           /* a map with uuid "mpath-<wwid>" exists */
};

/* is_path_valid(): returns an enum braid_path_valid. */
int braid_path_is_valid (const struct braid_path_valid_input *in);

/* The find_multipaths timeout applied to a path, in seconds:
 * conf 0 means the default -10; a negative value means |v| for hardware
 * with a hwtable entry and 1 s for unknown hardware. */
long braid_find_multipaths_timeout (long conf_value, bool known_hardware);

/* The rest of multipath -u/-c (check_path_valid + print_cmd_valid). */
struct braid_path_check_input {
  int valid;                 /* braid_path_is_valid() result (not ERROR) */
  bool released_to_systemd;  /* udev DB had DM_MULTIPATH_DEVICE_PATH=0 */
  bool open_excl_failed;     /* maybe: O_RDONLY|O_EXCL open failed */
  bool became_member;        /* ... and it is now a multipath slave */
  unsigned int npaths;       /* maybe: paths with this WWID, this one included */
  long timeout;              /* braid_find_multipaths_timeout() */
  bool stamp_exists;         /* find_multipaths/<maj:min> stamp present */
  struct timespec stamp;     /* its mtime */
  struct timespec now;       /* CLOCK_REALTIME */
};

/* FIND_MULTIPATHS_WAIT_UNTIL line. */
enum braid_wait_state {
  BRAID_WAIT_NONE = 0,    /* no line */
  BRAID_WAIT_PENDING = 1, /* "<remaining s>.<us>" */
  BRAID_WAIT_DONE = 2,    /* "0" */
};

struct braid_path_check_result {
  int device_path;               /* DM_MULTIPATH_DEVICE_PATH: 0, 1 or 2 */
  enum braid_wait_state wait;
  struct timespec remaining;     /* for BRAID_WAIT_PENDING */
  bool create_stamp;             /* caller creates the stamp file ... */
  struct timespec stamp;         /* ... with this mtime (now + timeout) */
  int exit_c;                    /* exit status of multipath -c (-u: 0) */
};

/* Compute what multipath -u/-c prints.  Returns 0 or -EINVAL. */
int braid_path_check (const struct braid_path_check_input *in,
                      struct braid_path_check_result *out);

/* Format the result as multipath prints it:
 * [FIND_MULTIPATHS_WAIT_UNTIL="..."\n]DM_MULTIPATH_DEVICE_PATH="N"\n.
 * snprintf semantics: returns the length needed, or -EINVAL. */
int braid_path_check_format (const struct braid_path_check_result *r,
                             char *buf, size_t len);

/* should_multipath(): may a map be created for a path when no map exists
 * yet?  'other_paths' counts other known paths with the same WWID. */
bool braid_should_multipath (enum braid_find_multipaths fm, bool map_exists,
                             unsigned int other_paths, bool in_wwids_file);

/* ---------------------------------------------------------------------- */
/* device-mapper feature strings                                           */
/* ---------------------------------------------------------------------- */

/* no_path_retry as multipath-tools stores it: > 0 is a number of checks. */
enum braid_no_path_retry {
  BRAID_NO_PATH_RETRY_UNDEF = 0,
  BRAID_NO_PATH_RETRY_FAIL = -1,
  BRAID_NO_PATH_RETRY_QUEUE = -2,
};

enum braid_queue_mode {
  BRAID_QUEUE_MODE_UNDEF = 0,
  BRAID_QUEUE_MODE_BIO = 1,
  BRAID_QUEUE_MODE_RQ = 2,
};

enum braid_retain_hwhandler {
  BRAID_RETAIN_HWHANDLER_UNDEF = 0,
  BRAID_RETAIN_HWHANDLER_OFF = 1,
  BRAID_RETAIN_HWHANDLER_ON = 2,
};

/* add_feature(): append 'feature' (one or more words) to the count-prefixed
 * string *features (malloc'd, owned by the caller; NULL counts as none),
 * unless already present as whole words.  *features is replaced (the old
 * string freed) only when it changes.  NULL or "" is a no-op.  Returns 0,
 * -EINVAL (feature with leading/trailing whitespace, *features not
 * starting with a count) or -ENOMEM. */
int braid_feature_add (char **features, const char *feature);

/* remove_feature(): remove the whole-word sequence 'feature' and lower the
 * count; "0" when nothing is left.  Absent feature: no-op.  Returns 0,
 * -EINVAL (bad feature, NULL *features, count not followed by whitespace)
 * or -ENOMEM. */
int braid_feature_remove (char **features, const char *feature);

/* reconcile_features_with_queue_mode(): parse "queue_mode <m>" out of
 * *features; rq/mq -> RQ, bio -> BIO, anything else is removed.  A set
 * *queue_mode wins over the string; BIO always ends up written as
 * "queue_mode bio", RQ never is.  'id' names the map in log lines; 'log'
 * may be NULL.  Returns 0 or -ENOMEM. */
int braid_features_reconcile_queue_mode (char **features, int *queue_mode,
                                         const char *id, braid_log_fn log,
                                         void *opaque);

/* reconcile_features_with_options(): a "queue_if_no_path" feature turns an
 * unset *no_path_retry into QUEUE and is then removed; likewise
 * "retain_attached_hw_handler" sets an unset *retain_hwhandler to ON.
 * Returns 0 or -ENOMEM. */
int braid_features_reconcile_options (char **features, int *no_path_retry,
                                      int *retain_hwhandler, const char *id,
                                      braid_log_fn log, void *opaque);

/* The features field of the kernel table (assemble_map): 'features' plus
 * "queue_if_no_path" when no_path_retry is QUEUE or > 0.  *out is
 * malloc'd; the caller frees it.  Returns 0, -EINVAL or -ENOMEM. */
int braid_features_for_table (const char *features, int no_path_retry,
                              char **out);

/* ---------------------------------------------------------------------- */
/* printing helpers (multipath -ll, show maps/paths format)                */
/* ---------------------------------------------------------------------- */

/* All return the length the text needs (snprintf semantics: the output is
 * truncated to len - 1 bytes and NUL-terminated when len > 0), or -EINVAL. */

/* %S: a size in 512-byte sectors: K, M, G, T, P with one decimal below 10,
 * computed in single precision as multipath-tools does ("1.8T", "1024M"). */
int braid_snprint_size (char *buf, size_t len, uint64_t sectors);

/* %Q: queueing: "off", "on", "-", "<n> sec" (in recovery), "<n> chk". */
int braid_snprint_queueing (char *buf, size_t len, int no_path_retry,
                            int retry_tick, unsigned int active_paths);

/* Failback as multipath-tools stores it: > 0 deferred seconds. */
enum braid_failback {
  BRAID_FAILBACK_UNDEF = 0,
  BRAID_FAILBACK_MANUAL = -1,
  BRAID_FAILBACK_IMMEDIATE = -2,
  BRAID_FAILBACK_FOLLOWOVER = -3,
};

/* %F (0.9.4): "immediate", "followover", "-", or the progress bar
 * "XXXXXXXX.. 12/15" while a deferred failback counts down. */
int braid_snprint_failback (char *buf, size_t len, int failback,
                            int failback_tick);

/* A 10-character progress bar of cur/total then " cur/total". */
int braid_snprint_progress (char *buf, size_t len, int cur, int total);

/* No LUN known. */
#define BRAID_LUN_INVALID UINT64_MAX

/* %L: the LUN as the 8-byte SCSI LUN, "0x%016x" ("0x0001000000000000"). */
int braid_snprint_lunhex (char *buf, size_t len, uint64_t lun);

/* %i: "host:channel:id:lun", "#:#:#:#" when host < 0. */
int braid_snprint_hcil (char *buf, size_t len, int host, int channel,
                        int id, uint64_t lun);

/* Map %d: "dm-<minor>", "undef" when minor < 0. */
int braid_snprint_map_sysfs (char *buf, size_t len, int minor);

/* Map %r: "ro" / "rw", "undef" when read_only < 0. */
int braid_snprint_write_prot (char *buf, size_t len, int read_only);

/* Map %t: "suspend" / "active", "undef" when suspended < 0. */
int braid_snprint_map_dm_state (char *buf, size_t len, int suspended);

/* ---------------------------------------------------------------------- */
/* multipathd command tokenizer                                            */
/* ---------------------------------------------------------------------- */

/* Keyword codes (multipathd/cli.h 0.9.x).  A fingerprint packs the codes
 * of up to 4 words, 8 bits each, first word in the low byte. */
enum braid_cli_code {
  BRAID_CLI_VRB_LIST = 1,
  BRAID_CLI_VRB_ADD = 2,
  BRAID_CLI_VRB_DEL = 3,
  BRAID_CLI_VRB_RESET = 4,
  BRAID_CLI_VRB_SWITCH = 5,
  BRAID_CLI_VRB_RECONFIGURE = 6,
  BRAID_CLI_VRB_SUSPEND = 7,
  BRAID_CLI_VRB_RESUME = 8,
  BRAID_CLI_VRB_RESIZE = 9,
  BRAID_CLI_VRB_RELOAD = 10,
  BRAID_CLI_VRB_FAIL = 11,
  BRAID_CLI_VRB_REINSTATE = 12,
  BRAID_CLI_VRB_DISABLEQ = 13,
  BRAID_CLI_VRB_RESTOREQ = 14,
  BRAID_CLI_VRB_FORCEQ = 15,
  BRAID_CLI_VRB_GETPRSTATUS = 16,
  BRAID_CLI_VRB_SETPRSTATUS = 17,
  BRAID_CLI_VRB_UNSETPRSTATUS = 18,
  BRAID_CLI_VRB_GETPRKEY = 19,
  BRAID_CLI_VRB_SETPRKEY = 20,
  BRAID_CLI_VRB_UNSETPRKEY = 21,
  BRAID_CLI_VRB_SETMARGINAL = 22,
  BRAID_CLI_VRB_UNSETMARGINAL = 23,
  BRAID_CLI_VRB_SHUTDOWN = 24,
  BRAID_CLI_VRB_QUIT = 25,

  BRAID_CLI_KEY_PATH = 65,
  BRAID_CLI_KEY_PATHS = 66,
  BRAID_CLI_KEY_MAP = 67,
  BRAID_CLI_KEY_MAPS = 68,
  BRAID_CLI_KEY_TOPOLOGY = 69,
  BRAID_CLI_KEY_CONFIG = 70,
  BRAID_CLI_KEY_BLACKLIST = 71,
  BRAID_CLI_KEY_DEVICES = 72,
  BRAID_CLI_KEY_WILDCARDS = 73,
  BRAID_CLI_KEY_ALL = 74,
  BRAID_CLI_KEY_DAEMON = 75,
  BRAID_CLI_KEY_FMT = 76,
  BRAID_CLI_KEY_RAW = 77,
  BRAID_CLI_KEY_STATUS = 78,
  BRAID_CLI_KEY_STATS = 79,
  BRAID_CLI_KEY_JSON = 80,
  BRAID_CLI_KEY_LOCAL = 81,
  BRAID_CLI_KEY_GROUP = 82,
  BRAID_CLI_KEY_KEY = 83,
};

/* Build a fingerprint from codes: BRAID_CLI_FP(VRB_LIST, KEY_MAP, KEY_FMT). */
#define BRAID_CLI_FP1(a) ((uint32_t) (a))
#define BRAID_CLI_FP2(a, b) (BRAID_CLI_FP1 (a) | (uint32_t) (b) << 8)
#define BRAID_CLI_FP3(a, b, c) (BRAID_CLI_FP2 (a, b) | (uint32_t) (c) << 16)
#define BRAID_CLI_FP4(a, b, c, d)                                           \
  (BRAID_CLI_FP3 (a, b, c) | (uint32_t) (d) << 24)

struct braid_cli_word {
  uint8_t code;   /* enum braid_cli_code */
  char *param;    /* the word after a keyword that takes one, else NULL */
};

struct braid_cli_cmd {
  size_t nwords;               /* keywords matched (may exceed 4) */
  struct braid_cli_word *words;
  uint32_t fingerprint;        /* 0 when more than 4 keywords */
};

/* Tokenize 'cmd' with the multipath.conf quoting rules and match each word
 * against the keyword table (exact match, else a unique prefix).  On
 * success *out is a command the caller frees with braid_cli_cmd_free().
 * Returns 0 or: -ENODATA (no word at all; multipath-tools reports this as
 * ENOMEM), -ESRCH (the last word is unknown or ambiguous), -ENOENT (an
 * earlier word is), -EINVAL (a keyword lacks its parameter), -ENOMEM. */
int braid_cli_parse (const char *cmd, struct braid_cli_cmd **out);

/* Free a parsed command.  NULL is ignored. */
void braid_cli_cmd_free (struct braid_cli_cmd *c);

/* The parameter of the first word with 'code', or NULL.  Owned by c. */
const char *braid_cli_param (const struct braid_cli_cmd *c, uint8_t code);

/* Does multipathd 0.9.4 have a handler for this fingerprint? */
bool braid_cli_has_handler (uint32_t fingerprint);

/* The help reply multipathd sends for a command it rejects: an error line
 * for 'err' (-ESRCH "not found", -EINVAL "Missing argument", -ENODATA and
 * -ENOMEM "Not enough memory", none for -ENOENT), then 'version' verbatim
 * (e.g. "multipath-tools v0.9.4 (12/19, 2022)\n"), then
 * "CLI commands reference:" and one line per handler.  A command that
 * parsed but has no handler is answered with err = -EINVAL.  snprintf
 * semantics. */
int braid_cli_help (char *buf, size_t len, const char *cmd, int err,
                    const char *version);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_MPSTATE_H */
