/* bindings.c: the bindings file (/etc/multipath/bindings) and alias choice.
 *
 * The file maps user-friendly aliases to WWIDs, "alias wwid" per line
 * after a 7-line header.  braid behaves like multipath-tools 0.9.7+: the
 * bindings live in memory sorted by alias (shorter first, then strcmp);
 * loading checks them against the multipaths section (an alias configured
 * for another WWID, or one alias on two lines, rejects the later line) and
 * against the exact header, and rewrites the file when anything was wrong;
 * a new binding is inserted and the whole file is rewritten sorted through
 * a temporary file and rename().  Reading tolerates what 0.9.x tolerates:
 * everything from '#', CR or LF on is cut, fields split on blanks, a line
 * with only an alias or a WWID over 127 bytes is skipped, extra fields are
 * ignored with a warning, exact duplicates only warn.
 *
 * multipathd 0.9.7+ notices another process rewriting the file through
 * inotify; braid instead compares the file's inode, size and mtime with
 * what it last read or wrote, under the file lock, before every decision,
 * which also catches in-place edits.
 *
 * Beyond multipath-tools, one rule: an id whose alias is configured in the
 * multipaths section for another WWID is never handed out (multipath-tools
 * would write a binding its own next start rejects, after the map name
 * already clashed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpconf/mpstate-internal.h"
#include "util/errbuf.h"
#include "util/log.h"

struct entry {
  char *alias;
  char *wwid;
};

struct table {
  struct entry *e;
  size_t n, cap;
};

struct braid_bindings {
  char *path;
  struct braid_logger log;
  unsigned int lock_timeout_ms;
  unsigned int flags;
  enum braid_bindings_state state;
  struct table tab;    /* the bindings, sorted by alias */
  struct table conf;   /* surviving multipaths aliases, sorted by alias */
  struct stat st;      /* the file as we last read or wrote it */
  bool have_st;
  char err[BRAID_ERRBUF_SIZE];
};

enum { BINDING_ADDED, BINDING_EXISTS, BINDING_CONFLICT, BINDING_ERROR };

static void
table_clear (struct table *t)
{
  size_t i;

  for (i = 0; i < t->n; i++) {
    free (t->e[i].alias);
    free (t->e[i].wwid);
  }
  free (t->e);
  t->e = NULL;
  t->n = t->cap = 0;
}

/* Where 'alias' is or would go; *found tells which. */
static size_t
table_find (const struct table *t, const char *alias, bool *found)
{
  size_t lo = 0, hi = t->n, mid;
  int c;

  *found = false;
  while (lo < hi) {
    mid = lo + (hi - lo) / 2;
    c = mpstate_alias_cmp (t->e[mid].alias, alias);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* add_binding(): keyed by alias; the same alias with another WWID is a
 * conflict and keeps the first. */
static int
table_add (struct table *t, const char *alias, const char *wwid)
{
  struct entry *ne;
  bool found;
  size_t at = table_find (t, alias, &found);

  if (found)
    return strcmp (t->e[at].wwid, wwid) != 0 ? BINDING_CONFLICT
                                              : BINDING_EXISTS;
  if (t->n == t->cap) {
    size_t ncap = t->cap ? t->cap * 2 : 16;

    ne = realloc (t->e, ncap * sizeof *ne);
    if (ne == NULL)
      return BINDING_ERROR;
    t->e = ne;
    t->cap = ncap;
  }
  ne = &t->e[at];
  memmove (ne + 1, ne, (t->n - at) * sizeof *ne);
  ne->alias = strdup (alias);
  ne->wwid = strdup (wwid);
  if (ne->alias == NULL || ne->wwid == NULL) {
    free (ne->alias);
    free (ne->wwid);
    memmove (ne, ne + 1, (t->n - at) * sizeof *ne);
    return BINDING_ERROR;
  }
  t->n++;
  return BINDING_ADDED;
}

static void
table_del (struct table *t, const char *alias)
{
  bool found;
  size_t at = table_find (t, alias, &found);

  if (!found)
    return;
  free (t->e[at].alias);
  free (t->e[at].wwid);
  memmove (&t->e[at], &t->e[at + 1], (t->n - at - 1) * sizeof *t->e);
  t->n--;
}

static const char *
table_wwid (const struct table *t, const char *alias)
{
  bool found;
  size_t at;

  if (alias == NULL)
    return NULL;
  at = table_find (t, alias, &found);
  return found ? t->e[at].wwid : NULL;
}

static const char *
table_alias (const struct table *t, const char *wwid)
{
  size_t i;

  if (wwid == NULL)
    return NULL;
  for (i = 0; i < t->n; i++)
    if (strcmp (t->e[i].wwid, wwid) == 0)
      return t->e[i].alias;
  return NULL;
}

struct braid_bindings *
braid_bindings_new (const char *path)
{
  struct braid_bindings *b;

  if (path == NULL || path[0] == '\0') {
    errno = EINVAL;
    return NULL;
  }
  b = calloc (1, sizeof *b);
  if (b == NULL)
    return NULL;
  b->path = strdup (path);
  if (b->path == NULL) {
    free (b);
    errno = ENOMEM;
    return NULL;
  }
  b->lock_timeout_ms = BRAID_MPSTATE_LOCK_TIMEOUT_MS;
  return b;
}

void
braid_bindings_free (struct braid_bindings *b)
{
  if (b == NULL)
    return;
  table_clear (&b->tab);
  table_clear (&b->conf);
  free (b->path);
  free (b);
}

const char *
braid_bindings_get_error (const struct braid_bindings *b)
{
  return b->err;
}

void
braid_bindings_set_log_fn (struct braid_bindings *b, braid_log_fn fn,
                           void *opaque, int level)
{
  b->log.fn = fn;
  b->log.opaque = opaque;
  b->log.level = level;
}

void
braid_bindings_set_lock_timeout (struct braid_bindings *b, unsigned int ms)
{
  b->lock_timeout_ms = ms;
}

enum braid_bindings_state
braid_bindings_state (const struct braid_bindings *b)
{
  return b->state;
}

size_t
braid_bindings_count (const struct braid_bindings *b)
{
  return b->tab.n;
}

int
braid_bindings_get (const struct braid_bindings *b, size_t i,
                    const char **alias, const char **wwid)
{
  if (i >= b->tab.n)
    return -ERANGE;
  if (alias != NULL)
    *alias = b->tab.e[i].alias;
  if (wwid != NULL)
    *wwid = b->tab.e[i].wwid;
  return 0;
}

const char *
braid_bindings_wwid_for_alias (const struct braid_bindings *b,
                               const char *alias)
{
  return table_wwid (&b->tab, alias);
}

const char *
braid_bindings_alias_for_wwid (const struct braid_bindings *b,
                               const char *wwid)
{
  return table_alias (&b->tab, wwid);
}

const char *
braid_bindings_conf_alias (const struct braid_bindings *b, const char *wwid)
{
  return table_alias (&b->conf, wwid);
}

/* ---- reading ---- */

/* Parse the file content into b->tab; *bad is set when multipath-tools
 * would rewrite the file. */
static int
parse (struct braid_bindings *b, const char *buf, size_t len, bool *bad)
{
  const struct braid_logger *lg = &b->log;
  size_t hlen = strlen (BRAID_BINDINGS_HEADER), pos = 0, llen;
  unsigned int lineno = 0;
  char *line = NULL, *save, *alias, *wwid, *extra, *cut;
  const char *eol, *cwwid;
  int rc = 0;

  *bad = false;
  if (len == 0)
    return 0;           /* a file multipath-tools would initialise */
  if (len < hlen) {
    BRAID_LOG (lg, BRAID_LOG_WARNING, "%s: failed to read header", b->path);
    *bad = true;
  }
  else if (memcmp (buf, BRAID_BINDINGS_HEADER, hlen) != 0) {
    BRAID_LOG (lg, BRAID_LOG_WARNING, "%s: invalid header", b->path);
    *bad = true;
  }
  else {
    pos = hlen;
    lineno = 7;
  }

  for (; pos < len; pos += llen) {
    eol = memchr (buf + pos, '\n', len - pos);
    llen = eol != NULL ? (size_t) (eol - (buf + pos)) + 1 : len - pos;
    lineno++;
    free (line);
    /* strndup also stops at a NUL byte, as the C string functions
     * multipath-tools applies to the line would. */
    line = strndup (buf + pos, llen);
    if (line == NULL) {
      rc = -ENOMEM;
      break;
    }
    cut = strpbrk (line, "#\n\r");
    if (cut != NULL)
      *cut = '\0';
    alias = strtok_r (line, " \t", &save);
    if (alias == NULL)
      continue;
    wwid = strtok_r (NULL, " \t", &save);
    if (wwid == NULL) {
      BRAID_LOG (lg, BRAID_LOG_WARNING, "%s:%u: missing WWID, line ignored",
                 b->path, lineno);
      continue;
    }
    if (strlen (wwid) > BRAID_WWID_SIZE - 1) {
      BRAID_LOG (lg, BRAID_LOG_WARNING,
                 "%s:%u: WWID longer than %d bytes, line ignored", b->path,
                 lineno, BRAID_WWID_SIZE - 1);
      continue;
    }
    extra = strtok_r (NULL, " \t", &save);
    if (extra != NULL)
      BRAID_LOG (lg, BRAID_LOG_WARNING, "%s:%u: extra args \"%s\" ignored",
                 b->path, lineno, extra);

    cwwid = table_wwid (&b->conf, alias);
    if (cwwid != NULL && strcmp (cwwid, wwid) != 0) {
      BRAID_LOG (lg, BRAID_LOG_ERR,
                 "%s:%u: alias \"%s\" for WWID %s conflicts with "
                 "multipath.conf entry for %s", b->path, lineno, alias,
                 wwid, cwwid);
      *bad = true;
      continue;
    }
    switch (table_add (&b->tab, alias, wwid)) {
    case BINDING_CONFLICT:
      BRAID_LOG (lg, BRAID_LOG_ERR,
                 "%s:%u: multiple bindings for alias \"%s\", discarding "
                 "binding to WWID %s", b->path, lineno, alias, wwid);
      *bad = true;
      break;
    case BINDING_EXISTS:
      BRAID_LOG (lg, BRAID_LOG_WARNING,
                 "%s:%u: duplicate line for alias %s", b->path, lineno,
                 alias);
      break;
    case BINDING_ERROR:
      rc = -ENOMEM;
      break;
    default:
      break;
    }
    if (rc < 0)
      break;
  }
  free (line);
  if (rc < 0)
    braid_set_error (b->err, sizeof b->err, "out of memory");
  return rc;
}

/* The whole file as multipath-tools 0.9.7+ writes it. */
static char *
render (const struct table *t, size_t *len)
{
  size_t hlen = strlen (BRAID_BINDINGS_HEADER), total = hlen, i, off, l;
  char *out;

  for (i = 0; i < t->n; i++)
    total += strlen (t->e[i].alias) + strlen (t->e[i].wwid) + 2;
  out = malloc (total + 1);
  if (out == NULL)
    return NULL;
  memcpy (out, BRAID_BINDINGS_HEADER, hlen);
  off = hlen;
  for (i = 0; i < t->n; i++) {
    l = strlen (t->e[i].alias);
    memcpy (out + off, t->e[i].alias, l);
    off += l;
    out[off++] = ' ';
    l = strlen (t->e[i].wwid);
    memcpy (out + off, t->e[i].wwid, l);
    off += l;
    out[off++] = '\n';
  }
  out[off] = '\0';
  *len = off;
  return out;
}

static int
write_file (struct braid_bindings *b)
{
  size_t len;
  char *content;
  int rc;

  content = render (&b->tab, &len);
  if (content == NULL) {
    braid_set_error (b->err, sizeof b->err, "out of memory");
    return -ENOMEM;
  }
  /* 0600 and the writer's ownership, as multipath-tools' mkstemp gives. */
  rc = mpstate_replace (b->path, content, len, 0600, NULL, b->err,
                        sizeof b->err);
  free (content);
  if (rc == 0) {
    b->have_st = stat (b->path, &b->st) == 0;
    BRAID_LOG (&b->log, BRAID_LOG_NOTICE, "updated bindings file %s",
               b->path);
  }
  return rc;
}

/* Read the open file into the table, repairing it when allowed. */
static int
reload (struct braid_bindings *b, struct mpstate_file *f)
{
  bool bad, ro = (b->flags & BRAID_BINDINGS_READ_ONLY) || !f->can_write;
  size_t len;
  char *buf;
  int rc;

  table_clear (&b->tab);
  b->have_st = false;
  rc = mpstate_read_all (f->fd, &buf, &len, b->err, sizeof b->err);
  if (rc < 0)
    return rc;
  rc = parse (b, buf, len, &bad);
  free (buf);
  if (rc < 0) {
    table_clear (&b->tab);
    return rc;
  }
  if (!bad) {
    b->st = f->st;
    b->have_st = true;
    b->state = BRAID_BINDINGS_OK;
    return 0;
  }
  if (!ro) {
    rc = write_file (b);
    if (rc == 0) {
      b->state = BRAID_BINDINGS_REWRITTEN;
      return 0;
    }
  }
  else {
    braid_set_error (b->err, sizeof b->err,
                     "bad settings in read-only bindings file %s", b->path);
    rc = -EROFS;
  }
  BRAID_LOG (&b->log, BRAID_LOG_ERR, "%s", b->err);
  /* multipath-tools uses none of a bad file it could not repair. */
  table_clear (&b->tab);
  b->state = BRAID_BINDINGS_BAD;
  return rc;
}

static int
conf_entry_cmp (const void *pa, const void *pb)
{
  const struct braid_binding *a = pa, *b = pb;
  int c = mpstate_alias_cmp (a->alias, b->alias);

  return c != 0 ? c : strcmp (a->wwid, b->wwid);
}

/* check_alias_settings(), first half: one WWID per configured alias.
 * multipath-tools sorts the multipaths table by WWID and then stably by
 * alias, so of two WWIDs claiming an alias the smaller keeps it. */
static int
load_conf (struct braid_bindings *b, const struct braid_binding *conf,
           size_t n)
{
  struct braid_binding *v;
  size_t i, m = 0;
  int rc = 0;

  table_clear (&b->conf);
  if (n == 0)
    return 0;
  v = malloc (n * sizeof *v);
  if (v == NULL)
    return -ENOMEM;
  for (i = 0; i < n; i++)
    if (conf[i].alias != NULL && conf[i].wwid != NULL)
      v[m++] = conf[i];
  qsort (v, m, sizeof *v, conf_entry_cmp);
  for (i = 0; i < m && rc == 0; i++) {
    switch (table_add (&b->conf, v[i].alias, v[i].wwid)) {
    case BINDING_CONFLICT:
      BRAID_LOG (&b->log, BRAID_LOG_ERR,
                 "alias \"%s\" bound to multiple wwids in multipath.conf, "
                 "discarding binding to %s", v[i].alias, v[i].wwid);
      break;
    case BINDING_ERROR:
      rc = -ENOMEM;
      break;
    default:
      break;
    }
  }
  free (v);
  return rc;
}

int
braid_bindings_load (struct braid_bindings *b,
                     const struct braid_binding *conf, size_t n,
                     unsigned int flags)
{
  struct mpstate_file f;
  bool ro = flags & BRAID_BINDINGS_READ_ONLY;
  int rc;

  b->err[0] = '\0';
  b->flags = flags;
  b->state = BRAID_BINDINGS_NOT_LOADED;
  b->have_st = false;
  table_clear (&b->tab);
  if (conf == NULL && n > 0) {
    braid_set_error (b->err, sizeof b->err, "no alias array");
    return -EINVAL;
  }
  rc = load_conf (b, conf, n);
  if (rc < 0) {
    braid_set_error (b->err, sizeof b->err, "out of memory");
    return rc;
  }
  rc = mpstate_open (b->path, !ro, BRAID_BINDINGS_HEADER, b->lock_timeout_ms,
                     &f, b->err, sizeof b->err);
  if (rc == -ENOENT && ro) {
    b->state = BRAID_BINDINGS_OK;
    return 0;
  }
  if (rc < 0)
    return rc;
  rc = reload (b, &f);
  mpstate_close (&f);
  return rc;
}

/* A name multipath-tools can read back from a bindings line. */
static bool
alias_ok (const char *a)
{
  return a != NULL && *a != '\0' && strlen (a) < BRAID_WWID_SIZE
         && strpbrk (a, " \t\n\r#\"") == NULL;
}

int
braid_bindings_reset (struct braid_bindings *b,
                      const struct braid_binding *list, size_t n)
{
  struct table t = { NULL, 0, 0 };
  struct mpstate_file f;
  size_t i, j;
  int rc = 0;

  b->err[0] = '\0';
  if (list == NULL && n > 0) {
    braid_set_error (b->err, sizeof b->err, "no binding array");
    return -EINVAL;
  }
  for (i = 0; i < n && rc == 0; i++) {
    if (!alias_ok (list[i].alias) || list[i].wwid == NULL
        || !mpstate_wwid_ok (list[i].wwid)) {
      braid_set_error (b->err, sizeof b->err, "invalid binding \"%s %s\"",
                       list[i].alias ? list[i].alias : "",
                       list[i].wwid ? list[i].wwid : "");
      rc = -EINVAL;
      break;
    }
    for (j = 0; j < i; j++)
      if (strcmp (list[j].wwid, list[i].wwid) == 0) {
        braid_set_error (b->err, sizeof b->err,
                         "wwid %s bound to both %s and %s", list[i].wwid,
                         list[j].alias, list[i].alias);
        rc = -EINVAL;
      }
    if (rc == 0) {
      switch (table_add (&t, list[i].alias, list[i].wwid)) {
      case BINDING_CONFLICT:
        braid_set_error (b->err, sizeof b->err,
                         "alias %s bound to two wwids", list[i].alias);
        rc = -EINVAL;
        break;
      case BINDING_ERROR:
        braid_set_error (b->err, sizeof b->err, "out of memory");
        rc = -ENOMEM;
        break;
      default:
        break;
      }
    }
  }
  if (rc < 0) {
    table_clear (&t);
    return rc;
  }
  /* The lock orders us after any multipath-tools writer of the old file. */
  rc = mpstate_open (b->path, true, BRAID_BINDINGS_HEADER, b->lock_timeout_ms,
                     &f, b->err, sizeof b->err);
  if (rc < 0) {
    table_clear (&t);
    return rc;
  }
  if (!f.can_write) {
    braid_set_error (b->err, sizeof b->err,
                     "cannot replace read-only bindings file %s", b->path);
    rc = -EROFS;
  }
  else {
    table_clear (&b->tab);
    b->tab = t;
    t = (struct table) { NULL, 0, 0 };
    rc = write_file (b);
    b->state = rc == 0 ? BRAID_BINDINGS_OK : BRAID_BINDINGS_NOT_LOADED;
  }
  mpstate_close (&f);
  table_clear (&t);
  return rc;
}

/* ---- choosing an alias ---- */

struct taken_ctx {
  const struct braid_bindings *b;
  braid_alias_taken_fn fn;
  void *opaque;
};

/* Taken by another map, or configured for another WWID. */
static bool
taken_or_configured (void *opaque, const char *alias, const char *wwid)
{
  const struct taken_ctx *t = opaque;
  const char *cw = table_wwid (&t->b->conf, alias);

  if (cw != NULL && strcmp (cw, wwid) != 0)
    return true;
  return t->fn != NULL && t->fn (t->opaque, alias, wwid);
}

static int
copy_out (struct braid_bindings *b, const char *s, char *out, size_t outlen)
{
  size_t l = strlen (s);

  if (out == NULL || l + 1 > outlen) {
    braid_set_error (b->err, sizeof b->err, "alias buffer too small");
    return -ENOSPC;
  }
  memcpy (out, s, l + 1);
  return 0;
}

static bool
prefix_ok (const char *prefix)
{
  return prefix != NULL && strlen (prefix) < 200
         && strpbrk (prefix, "/ \t\r\n#") == NULL;
}

/* get_user_friendly_alias() on the in-memory table, with the file open
 * and locked (read-only when 'ro'). */
static int
choose (struct braid_bindings *b, bool ro, const char *wwid,
        const char *alias_old, const char *prefix, braid_alias_taken_fn taken,
        void *opaque, char *out, size_t outlen)
{
  struct taken_ctx tctx = { b, taken, opaque };
  struct braid_binding *sorted;
  const char *bw, *ba;
  char alias[256];
  bool new_binding = false;
  int id = 0, rc;
  size_t i;

  if (alias_old != NULL && alias_old[0] != '\0') {
    bw = table_wwid (&b->tab, alias_old);
    if (bw != NULL && strcmp (bw, wwid) == 0)
      return copy_out (b, alias_old, out, outlen);
    if (bw != NULL)
      BRAID_LOG (&b->log, BRAID_LOG_ERR,
                 "alias %s already bound to wwid %s, cannot reuse",
                 alias_old, bw);
    else {
      /* Adopt the name the map already has, unless the multipaths
       * section gives it to another WWID. */
      const char *cw = table_wwid (&b->conf, alias_old);

      id = braid_alias_scan (alias_old, prefix);
      if (id > 0 && cw != NULL && strcmp (cw, wwid) != 0)
        id = 0;
    }
  }

  ba = table_alias (&b->tab, wwid);
  if (ba != NULL) {
    if (taken != NULL && taken (opaque, ba, wwid)) {
      braid_set_error (b->err, sizeof b->err,
                       "%s: alias '%s' already taken by another map", wwid,
                       ba);
      return -EBUSY;
    }
    BRAID_LOG (&b->log, BRAID_LOG_DEBUG,
               "Use existing binding [%s] for WWID [%s]", ba, wwid);
    return copy_out (b, ba, out, outlen);
  }

  if (id <= 0) {
    sorted = malloc ((b->tab.n ? b->tab.n : 1) * sizeof *sorted);
    if (sorted == NULL) {
      braid_set_error (b->err, sizeof b->err, "out of memory");
      return -ENOMEM;
    }
    for (i = 0; i < b->tab.n; i++) {
      sorted[i].alias = b->tab.e[i].alias;
      sorted[i].wwid = b->tab.e[i].wwid;
    }
    id = braid_alias_free_id (sorted, b->tab.n, prefix, wwid,
                              taken_or_configured, &tctx);
    free (sorted);
    if (id <= 0) {
      braid_set_error (b->err, sizeof b->err,
                       "no more available user_friendly_names");
      return id < 0 ? id : -ENOSPC;
    }
    new_binding = true;
  }

  if (ro) {
    braid_set_error (b->err, sizeof b->err,
                     "bindings file %s is read-only, no new binding for %s",
                     b->path, wwid);
    return -EROFS;
  }
  rc = braid_alias_format (alias, sizeof alias, prefix, id);
  if (rc < 0) {
    braid_set_error (b->err, sizeof b->err, "cannot format alias");
    return rc;
  }
  rc = copy_out (b, alias, out, outlen);
  if (rc < 0)
    return rc;
  if (table_add (&b->tab, alias, wwid) != BINDING_ADDED) {
    braid_set_error (b->err, sizeof b->err,
                     "cannot allocate new binding %s for %s", alias, wwid);
    return -EEXIST;
  }
  rc = write_file (b);
  if (rc < 0) {
    BRAID_LOG (&b->log, BRAID_LOG_ERR, "%s; deleting binding %s for %s",
               b->err, alias, wwid);
    table_del (&b->tab, alias);
    return rc;
  }
  if (new_binding)
    BRAID_LOG (&b->log, BRAID_LOG_INFO,
               "Created new binding [%s] for WWID [%s]", alias, wwid);
  else
    BRAID_LOG (&b->log, BRAID_LOG_NOTICE,
               "Allocated existing binding [%s] for WWID [%s]", alias, wwid);
  return 1;
}

int
braid_bindings_get_alias (struct braid_bindings *b, const char *wwid,
                          const char *alias_old, const char *prefix,
                          braid_alias_taken_fn taken, void *opaque,
                          char *out, size_t outlen)
{
  struct mpstate_file f = { .fd = -1 };
  int rc, attempt;
  bool ro;

  b->err[0] = '\0';
  if (!mpstate_wwid_ok (wwid) || !prefix_ok (prefix)) {
    braid_set_error (b->err, sizeof b->err, "invalid wwid or alias prefix");
    return -EINVAL;
  }
  if (b->state == BRAID_BINDINGS_NOT_LOADED) {
    braid_set_error (b->err, sizeof b->err, "bindings not loaded");
    return -EINVAL;
  }
  ro = (b->flags & BRAID_BINDINGS_READ_ONLY) != 0;

  /* Hold the lock from the freshness check to the rename, so two writers
   * cannot both hand out the same id.  If reading the file made us repair
   * it, our lock sits on the replaced inode: lock the new file instead. */
  for (attempt = 0;; attempt++) {
    rc = mpstate_open (b->path, !ro, BRAID_BINDINGS_HEADER,
                       b->lock_timeout_ms, &f, b->err, sizeof b->err);
    if (rc == -ENOENT && ro) {
      /* The file went away under a read-only handle: nothing is bound. */
      table_clear (&b->tab);
      break;
    }
    if (rc < 0)
      return rc;
    ro = ro || !f.can_write;
    if (b->have_st && f.st.st_dev == b->st.st_dev
        && f.st.st_ino == b->st.st_ino && f.st.st_size == b->st.st_size
        && f.st.st_mtim.tv_sec == b->st.st_mtim.tv_sec
        && f.st.st_mtim.tv_nsec == b->st.st_mtim.tv_nsec)
      break;
    BRAID_LOG (&b->log, BRAID_LOG_INFO, "%s changed, reading it again",
               b->path);
    rc = reload (b, &f);
    if (rc < 0 && rc != -EROFS) {
      mpstate_close (&f);
      return rc;
    }
    if (b->state != BRAID_BINDINGS_REWRITTEN || attempt >= 2)
      break;
    mpstate_close (&f);
  }
  rc = choose (b, ro || b->state == BRAID_BINDINGS_BAD, wwid, alias_old,
               prefix, taken, opaque, out, outlen);
  mpstate_close (&f);
  return rc;
}

int
braid_bindings_select_alias (struct braid_bindings *b, const char *wwid,
                             bool user_friendly_names, const char *alias_old,
                             const char *prefix, braid_alias_taken_fn taken,
                             void *opaque, char *out, size_t outlen)
{
  const char *conf;
  int rc;

  if (b == NULL || wwid == NULL || wwid[0] == '\0')
    return -EINVAL;
  conf = table_alias (&b->conf, wwid);
  if (conf != NULL) {
    rc = copy_out (b, conf, out, outlen);
    return rc < 0 ? rc : BRAID_ALIAS_FROM_CONF;
  }
  if (user_friendly_names) {
    rc = braid_bindings_get_alias (b, wwid, alias_old, prefix, taken, opaque,
                                   out, outlen);
    if (rc == 0)
      return BRAID_ALIAS_FROM_BINDINGS;
    if (rc == 1)
      return BRAID_ALIAS_NEW_BINDING;
    BRAID_LOG (&b->log, BRAID_LOG_INFO, "%s: no user friendly name (%s)",
               wwid, b->err);
  }
  rc = copy_out (b, wwid, out, outlen);
  return rc < 0 ? rc : BRAID_ALIAS_FROM_WWID;
}
