/* wwids.c: the wwids file (/etc/multipath/wwids in multipath-tools).
 *
 * The file lists the WWIDs that may be multipathed, one "/<wwid>/" line
 * each, after a five-line header.  Reading must give the answer
 * multipath-tools 0.9.4 gives, because udev rules and the daemon of an
 * existing installation decide with it; that reader is character based
 * (fgetc + fgets into LINE_MAX) and has quirks we reproduce on purpose:
 *
 *   - a line is an entry only if its first byte is '/'; the wwid runs to
 *     the next '/', whatever follows on the line is ignored;
 *   - the reader consumes a line's first byte, then fgets() the rest; for
 *     a blank line the first byte is the newline itself, so fgets() eats
 *     the *next* line: an entry right after a blank line is invisible;
 *   - an entry line without a closing '/' whose text is a prefix of the
 *     WWID looked up makes the reader swallow the following line too;
 *   - a line longer than 2047 bytes is read in pieces, each piece parsed
 *     as if it started a line.
 *
 * Writes produce exactly the bytes multipath-tools produces: a missing or
 * empty file gets the header, "add" appends "/<wwid>/\n" at the end,
 * "remove" turns the entry's '/' into '#' in place, "reset" writes the
 * header and one line per WWID.  Appending and the one-byte overwrite are
 * what multipath-tools does, and we keep them (followed by fsync, which
 * multipath-tools omits): the file is valid before and after each write,
 * a failed append is truncated back, and other readers keep working on
 * the same inode.  Reset, which multipath-tools does by truncating in
 * place, is done by writing a new file and renaming it (keeping mode and
 * owner) so a crash cannot leave an empty file.  Two deliberate differences, both for hand-edited files only:
 * "add" first ends an unterminated last line (multipath-tools would glue
 * the entry onto it, hiding it), and "remove" disables every entry of the
 * WWID at line starts rather than the first "/<wwid>/\n" found anywhere,
 * so a duplicate cannot keep a removed WWID listed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mpconf/mpstate-internal.h"
#include "util/errbuf.h"
#include "util/log.h"

struct braid_wwids {
  char *path;
  struct braid_logger log;
  unsigned int lock_timeout_ms;
  char err[BRAID_ERRBUF_SIZE];
};

struct braid_wwids *
braid_wwids_new (const char *path)
{
  struct braid_wwids *w;

  if (path == NULL || path[0] == '\0') {
    errno = EINVAL;
    return NULL;
  }
  w = calloc (1, sizeof *w);
  if (w == NULL)
    return NULL;
  w->path = strdup (path);
  if (w->path == NULL) {
    free (w);
    errno = ENOMEM;
    return NULL;
  }
  w->lock_timeout_ms = BRAID_MPSTATE_LOCK_TIMEOUT_MS;
  return w;
}

void
braid_wwids_free (struct braid_wwids *w)
{
  if (w == NULL)
    return;
  free (w->path);
  free (w);
}

const char *
braid_wwids_get_error (const struct braid_wwids *w)
{
  return w->err;
}

void
braid_wwids_set_log_fn (struct braid_wwids *w, braid_log_fn fn,
                        void *opaque, int level)
{
  w->log.fn = fn;
  w->log.opaque = opaque;
  w->log.level = level;
}

void
braid_wwids_set_lock_timeout (struct braid_wwids *w, unsigned int ms)
{
  w->lock_timeout_ms = ms;
}

void
braid_strv_free (char **v)
{
  size_t i;

  if (v == NULL)
    return;
  for (i = 0; v[i] != NULL; i++)
    free (v[i]);
  free (v);
}

/* fgets (buf, LINE_MAX, f) on an in-memory file: consume up to 2047 bytes,
 * stopping after a newline.  False at end of file (nothing consumed). */
static bool
skip_fgets (const char *buf, size_t len, size_t *pos)
{
  size_t n = 0;

  if (*pos >= len)
    return false;
  while (*pos < len && n < MPSTATE_LINE_MAX - 1) {
    n++;
    if (buf[(*pos)++] == '\n')
      break;
  }
  return true;
}

/* multipath-tools 0.9.4 lookup_wwid(), step for step, over a copy of the
 * file.  The answer depends on the WWID looked up (see the top of the
 * file), so it cannot be replaced by a set built once. */
static bool
lookup (const char *buf, size_t len, const char *wwid)
{
  size_t pos = 0, count;
  unsigned char c;
  bool mismatch;

  while (pos < len) {
    c = (unsigned char) buf[pos++];
    if (c != '/') {
      if (!skip_fgets (buf, len, &pos))
        return false;
      continue;
    }
    count = 0;
    mismatch = false;
    for (;;) {
      if (pos >= len)
        return false;
      c = (unsigned char) buf[pos++];
      if (c == '/')
        break;
      if (count >= BRAID_WWID_SIZE - 1 || wwid[count] == '\0'
          || c != (unsigned char) wwid[count]) {
        mismatch = true;
        break;
      }
      count++;
    }
    if (!mismatch && wwid[count] == '\0')
      return true;
    if (!skip_fgets (buf, len, &pos))
      return false;
  }
  return false;
}

static int
check_arg (struct braid_wwids *w, const char *wwid)
{
  if (!mpstate_wwid_ok (wwid)) {
    braid_set_error (w->err, sizeof w->err, "invalid wwid '%s'",
                     wwid != NULL ? wwid : "(null)");
    return -EINVAL;
  }
  return 0;
}

int
braid_wwids_check (struct braid_wwids *w, const char *wwid)
{
  struct mpstate_file f;
  char *buf;
  size_t len;
  int rc;

  rc = check_arg (w, wwid);
  if (rc < 0)
    return rc;
  rc = mpstate_open (w->path, false, NULL, w->lock_timeout_ms, &f, w->err,
                     sizeof w->err);
  if (rc == -ENOENT)
    return 0;
  if (rc < 0)
    return rc;
  rc = mpstate_read_all (f.fd, &buf, &len, w->err, sizeof w->err);
  mpstate_close (&f);
  if (rc < 0)
    return rc;
  rc = lookup (buf, len, wwid) ? 1 : 0;
  free (buf);
  return rc;
}

int
braid_wwids_add (struct braid_wwids *w, const char *wwid)
{
  struct mpstate_file f;
  char line[BRAID_WWID_SIZE + 4];
  char *buf;
  size_t len, llen;
  bool unterminated;
  off_t end;
  int rc, n;

  rc = check_arg (w, wwid);
  if (rc < 0)
    return rc;
  rc = mpstate_open (w->path, true, BRAID_WWIDS_HEADER, w->lock_timeout_ms,
                     &f, w->err, sizeof w->err);
  if (rc < 0)
    return rc;
  rc = mpstate_read_all (f.fd, &buf, &len, w->err, sizeof w->err);
  if (rc < 0)
    goto out;
  if (lookup (buf, len, wwid)) {
    BRAID_LOG (&w->log, BRAID_LOG_DEBUG, "wwid %s already in %s", wwid,
               w->path);
    rc = 0;
    goto out_buf;
  }
  if (!f.can_write) {
    braid_set_error (w->err, sizeof w->err,
                     "wwids file is read-only. Can't write wwid");
    rc = -EROFS;
    goto out_buf;
  }

  /* A last line without newline would swallow our entry (multipath-tools
   * appends regardless, hiding the WWID it just added). */
  unterminated = len > 0 && buf[len - 1] != '\n';
  if (unterminated)
    BRAID_LOG (&w->log, BRAID_LOG_WARNING,
               "%s: last line has no newline; ending it before appending",
               w->path);
  n = snprintf (line, sizeof line, "%s/%s/\n", unterminated ? "\n" : "",
                wwid);
  llen = (size_t) n;

  end = lseek (f.fd, 0, SEEK_END);
  if (end < 0) {
    rc = -errno;
    braid_set_error (w->err, sizeof w->err,
                     "can't seek to the end of wwids file : %s",
                     strerror (errno));
    goto out_buf;
  }
  rc = mpstate_write_all (f.fd, line, llen);
  if (rc == 0 && fsync (f.fd) != 0)
    rc = -errno;
  if (rc < 0) {
    braid_set_error (w->err, sizeof w->err,
                     "cannot write wwid to wwids file : %s", strerror (-rc));
    /* Leave the file as it was, as multipath-tools does. */
    if (ftruncate (f.fd, end) != 0)
      BRAID_LOG (&w->log, BRAID_LOG_ERR,
                 "%s: cannot truncate failed wwid write: %m", w->path);
    goto out_buf;
  }
  BRAID_LOG (&w->log, BRAID_LOG_INFO, "wrote wwid %s to %s", wwid, w->path);
  rc = 1;
out_buf:
  free (buf);
out:
  mpstate_close (&f);
  return rc;
}

/* Does the line at buf[pos] start with "/<wwid>/"? */
static bool
entry_at (const char *buf, size_t len, size_t pos, const char *wwid,
          size_t wlen)
{
  return len - pos >= wlen + 2 && buf[pos] == '/'
         && memcmp (buf + pos + 1, wwid, wlen) == 0
         && buf[pos + 1 + wlen] == '/';
}

int
braid_wwids_remove (struct braid_wwids *w, const char *wwid)
{
  struct mpstate_file f;
  size_t len, pos, wlen;
  char *buf, *nl;
  int rc, hits = 0;

  rc = check_arg (w, wwid);
  if (rc < 0)
    return rc;
  wlen = strlen (wwid);
  rc = mpstate_open (w->path, true, BRAID_WWIDS_HEADER, w->lock_timeout_ms,
                     &f, w->err, sizeof w->err);
  if (rc < 0)
    return rc;
  if (!f.can_write) {
    braid_set_error (w->err, sizeof w->err,
                     "cannot remove wwid. wwids file is read-only");
    mpstate_close (&f);
    return -EROFS;
  }
  rc = mpstate_read_all (f.fd, &buf, &len, w->err, sizeof w->err);
  if (rc < 0) {
    mpstate_close (&f);
    return rc;
  }
  for (pos = 0; pos < len;) {
    if (entry_at (buf, len, pos, wwid, wlen)) {
      if (pwrite (f.fd, "#", 1, (off_t) pos) != 1) {
        rc = -errno;
        braid_set_error (w->err, sizeof w->err,
                         "failed to write to wwids file : %s",
                         strerror (errno));
        break;
      }
      hits++;
    }
    nl = memchr (buf + pos, '\n', len - pos);
    if (nl == NULL)
      break;
    pos = (size_t) (nl - buf) + 1;
  }
  if (rc == 0 && hits > 0 && fsync (f.fd) != 0) {
    rc = -errno;
    braid_set_error (w->err, sizeof w->err, "cannot sync %s: %s", w->path,
                     strerror (errno));
  }
  if (rc == 0 && hits > 1)
    BRAID_LOG (&w->log, BRAID_LOG_NOTICE,
               "%s: wwid %s was listed %d times; all entries disabled",
               w->path, wwid, hits);
  free (buf);
  mpstate_close (&f);
  if (rc < 0)
    return rc;
  return hits > 0 ? 1 : 0;
}

int
braid_wwids_reset (struct braid_wwids *w, const char *const *wwids, size_t n)
{
  struct mpstate_file f;
  size_t i, total, hlen = strlen (BRAID_WWIDS_HEADER), off;
  char *content;
  int rc;

  if (n > 0 && wwids == NULL) {
    braid_set_error (w->err, sizeof w->err, "no wwid array");
    return -EINVAL;
  }
  total = hlen;
  for (i = 0; i < n; i++) {
    rc = check_arg (w, wwids[i]);
    if (rc < 0)
      return rc;
    total += strlen (wwids[i]) + 3;
  }
  content = malloc (total + 1);
  if (content == NULL) {
    braid_set_error (w->err, sizeof w->err, "out of memory");
    return -ENOMEM;
  }
  memcpy (content, BRAID_WWIDS_HEADER, hlen);
  off = hlen;
  for (i = 0; i < n; i++) {
    size_t l = strlen (wwids[i]);

    content[off++] = '/';
    memcpy (content + off, wwids[i], l);
    off += l;
    content[off++] = '/';
    content[off++] = '\n';
  }

  /* The lock orders us after any multipath-tools writer still busy with
   * the old file. */
  rc = mpstate_open (w->path, true, BRAID_WWIDS_HEADER, w->lock_timeout_ms,
                     &f, w->err, sizeof w->err);
  if (rc < 0)
    goto out;
  if (!f.can_write) {
    braid_set_error (w->err, sizeof w->err,
                     "cannot replace wwids. wwids file is read-only");
    rc = -EROFS;
  }
  else
    rc = mpstate_replace (w->path, content, total, f.st.st_mode, &f.st,
                          w->err, sizeof w->err);
  mpstate_close (&f);
out:
  free (content);
  return rc;
}

/* ---- listing with diagnostics ---- */

struct strv {
  char **v;
  size_t n, cap;
};

static int
strv_push (struct strv *s, const char *str, size_t len)
{
  char **nv;

  if (s->n + 1 >= s->cap) {
    size_t ncap = s->cap ? s->cap * 2 : 16;

    nv = realloc (s->v, ncap * sizeof *nv);
    if (nv == NULL)
      return -ENOMEM;
    s->v = nv;
    s->cap = ncap;
  }
  s->v[s->n] = strndup (str, len);
  if (s->v[s->n] == NULL)
    return -ENOMEM;
  s->n++;
  s->v[s->n] = NULL;
  return 0;
}

static bool
strv_has (const struct strv *s, const char *str, size_t len)
{
  size_t i;

  /* 'str' is a slice of the file and may hold NUL bytes: compare lengths
   * first so a stored (NUL-terminated, shorter) string is never read past
   * its end. */
  for (i = 0; i < s->n; i++)
    if (strlen (s->v[i]) == len && memcmp (s->v[i], str, len) == 0)
      return true;
  return false;
}

struct line {
  size_t off, len;      /* without the newline */
  bool entry;           /* starts with '/' and has a closing '/' */
  bool visible;         /* multipath-tools' reader finds it */
};

/* Split into lines and decide which entries the 0.9.4 reader sees.  When
 * every line starting with '/' is closed by a second '/' and no line is
 * long enough to be read in pieces, the reader walks the lines the same
 * way whatever WWID it looks for, so one walk decides for all entries;
 * otherwise each entry is looked up on its own. */
static int
split_lines (const char *buf, size_t len, struct line **out, size_t *nout)
{
  struct line *l = NULL, *nl;
  size_t n = 0, cap = 0, pos, i;
  bool generic = true;
  const char *eol, *slash;

  for (pos = 0; pos < len; n++) {
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      nl = realloc (l, cap * sizeof *l);
      if (nl == NULL) {
        free (l);
        return -ENOMEM;
      }
      l = nl;
    }
    eol = memchr (buf + pos, '\n', len - pos);
    l[n].off = pos;
    l[n].len = eol != NULL ? (size_t) (eol - buf) - pos : len - pos;
    l[n].visible = false;
    slash = l[n].len > 1 ? memchr (buf + pos + 1, '/', l[n].len - 1) : NULL;
    l[n].entry = l[n].len > 0 && buf[pos] == '/' && slash != NULL;
    if ((l[n].len > 0 && buf[pos] == '/' && slash == NULL)
        || l[n].len >= MPSTATE_LINE_MAX - 1)
      generic = false;
    pos += l[n].len + 1;
  }

  if (generic) {
    for (i = 0; i < n;) {
      if (l[i].len == 0)
        i += 2;         /* fgets() after the newline eats the next line */
      else {
        l[i].visible = l[i].entry;
        i++;
      }
    }
  }
  else {
    char wwid[BRAID_WWID_SIZE];

    for (i = 0; i < n; i++) {
      size_t wlen;

      if (!l[i].entry)
        continue;
      slash = memchr (buf + l[i].off + 1, '/', l[i].len - 1);
      wlen = (size_t) (slash - buf) - l[i].off - 1;
      if (wlen == 0 || wlen >= BRAID_WWID_SIZE)
        continue;
      memcpy (wwid, buf + l[i].off + 1, wlen);
      wwid[wlen] = '\0';
      l[i].visible = lookup (buf, len, wwid);
    }
  }
  *out = l;
  *nout = n;
  return 0;
}

/* Log what is odd about one line; entries go to 'seen' and, when
 * multipath-tools finds them, to 'res'. */
static int
list_line (struct braid_wwids *w, const char *buf, const struct line *ln,
           unsigned int lineno, bool prev_blank, struct strv *seen,
           struct strv *res)
{
  const struct braid_logger *lg = &w->log;
  const char *line = buf + ln->off, *end;
  size_t llen = ln->len, wlen;

  if (llen >= MPSTATE_LINE_MAX)
    BRAID_LOG (lg, BRAID_LOG_WARNING,
               "%s:%u: line longer than %d bytes; multipath-tools reads "
               "the rest as separate lines", w->path, lineno,
               MPSTATE_LINE_MAX - 1);
  if (llen == 0) {
    BRAID_LOG (lg, BRAID_LOG_DEBUG, "%s:%u: blank line", w->path, lineno);
    return 0;
  }
  if (line[0] == '#') {
    if (llen > 2 && line[llen - 1] == '/'
        && memchr (line + 1, '/', llen - 2) == NULL)
      BRAID_LOG (lg, BRAID_LOG_DEBUG, "%s:%u: disabled entry %.*s",
                 w->path, lineno, (int) (llen - 2), line + 1);
    return 0;
  }
  if (line[0] != '/') {
    BRAID_LOG (lg, BRAID_LOG_WARNING, "%s:%u: junk line ignored: %.*s",
               w->path, lineno, (int) (llen > 80 ? 80 : llen), line);
    return 0;
  }
  if (!ln->entry) {
    BRAID_LOG (lg, BRAID_LOG_WARNING,
               "%s:%u: entry without closing '/' ignored", w->path, lineno);
    return 0;
  }
  end = memchr (line + 1, '/', llen - 1);
  wlen = (size_t) (end - line) - 1;
  if (wlen == 0) {
    BRAID_LOG (lg, BRAID_LOG_WARNING, "%s:%u: empty entry ignored", w->path,
               lineno);
    return 0;
  }
  if (wlen >= BRAID_WWID_SIZE) {
    BRAID_LOG (lg, BRAID_LOG_WARNING,
               "%s:%u: wwid longer than %d bytes never matches", w->path,
               lineno, BRAID_WWID_SIZE - 1);
    return 0;
  }
  if (end + 1 < line + llen)
    BRAID_LOG (lg, BRAID_LOG_NOTICE, "%s:%u: text after the entry ignored",
               w->path, lineno);
  if (!ln->visible) {
    BRAID_LOG (lg, BRAID_LOG_WARNING,
               "%s:%u: entry %.*s is not seen by multipath-tools%s", w->path,
               lineno, (int) wlen, line + 1,
               prev_blank ? " (the blank line before it hides it)" : "");
    return 0;
  }
  if (strv_has (seen, line + 1, wlen)) {
    BRAID_LOG (lg, BRAID_LOG_NOTICE, "%s:%u: duplicate entry %.*s", w->path,
               lineno, (int) wlen, line + 1);
    return 0;
  }
  if (strv_push (seen, line + 1, wlen) < 0)
    return -ENOMEM;
  return strv_push (res, line + 1, wlen);
}

int
braid_wwids_list (struct braid_wwids *w, char ***out, size_t *n)
{
  struct mpstate_file f;
  struct strv seen = { 0 }, res = { 0 };
  struct line *lines = NULL;
  size_t len = 0, nlines = 0, i;
  char *buf = NULL;
  int rc;

  *out = NULL;
  if (n != NULL)
    *n = 0;
  rc = mpstate_open (w->path, false, NULL, w->lock_timeout_ms, &f, w->err,
                     sizeof w->err);
  if (rc < 0 && rc != -ENOENT)
    return rc;
  if (rc == 0) {
    rc = mpstate_read_all (f.fd, &buf, &len, w->err, sizeof w->err);
    mpstate_close (&f);
    if (rc < 0)
      return rc;
  }
  rc = split_lines (buf, len, &lines, &nlines);
  for (i = 0; rc == 0 && i < nlines; i++) {
    if (i + 1 == nlines && lines[i].off + lines[i].len == len)
      BRAID_LOG (&w->log, BRAID_LOG_NOTICE,
                 "%s:%zu: last line has no newline", w->path, i + 1);
    rc = list_line (w, buf, &lines[i], (unsigned int) (i + 1),
                    i > 0 && lines[i - 1].len == 0, &seen, &res);
  }
  free (lines);
  free (buf);
  braid_strv_free (seen.v);
  if (rc == 0 && res.v == NULL) {
    res.v = calloc (1, sizeof *res.v);
    if (res.v == NULL)
      rc = -ENOMEM;
  }
  if (rc < 0) {
    braid_strv_free (res.v);
    braid_set_error (w->err, sizeof w->err, "out of memory");
    return rc;
  }
  *out = res.v;
  if (n != NULL)
    *n = res.n;
  return 0;
}
