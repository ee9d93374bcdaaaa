/* volume_record.c: volume records, <state-dir>/<storage>/<volume>.json.
 *
 * A record is the only thing that says a volume was asked to be active,
 * so it is written before anything live changes and deleted after
 * everything live is gone; every write goes to a temporary file
 * (".<volume>.json.tmp", a name no valid volume can have), is synced,
 * renamed over the record and the directory synced, so a crash at any
 * point leaves the old record or the new one, never half of one.  Names
 * are checked before they become paths: no '/', no leading '.', nothing
 * outside printable ASCII, at most VOL_NAME_MAX bytes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "volume.h"

int
vol_check_name (const char *what, const char *name)
{
  const char *why = NULL;
  size_t len = strlen (name);

  if (len == 0)
    why = "is empty";
  else if (len > VOL_NAME_MAX)
    why = "is longer than 128 bytes";
  else if (!strcmp (name, ".") || !strcmp (name, ".."))
    why = "is a directory reference";
  else if (name[0] == '.')
    why = "starts with '.'";
  else if (strchr (name, '/'))
    why = "contains '/'";
  else
    for (const unsigned char *p = (const unsigned char *) name; *p; p++)
      if (*p <= ' ' || *p >= 0x7f) {
        why = "contains a blank, control or non-ASCII byte";
        break;
      }
  if (why) {
    cli_error ("%s name \"%.*s\" %s (allowed: printable ASCII without '/' "
               "or blanks, not starting with '.', 1 to 128 bytes)",
               what, 200, name, why);
    return -EINVAL;
  }
  return 0;
}

void
vol_record_file (const struct cli_env *env, struct vol_record *rec)
{
  snprintf (rec->file, sizeof rec->file, "%s/%s/%s.json", env->state_dir,
            rec->storage, rec->volume);
}

void
vol_now (char *buf, size_t len)
{
  time_t t = time (NULL);
  struct tm tm;
  gmtime_r (&t, &tm);
  strftime (buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
vol_fault (const char *point)
{
  static int seen;                  /* "point#N": the N-th time we pass it */
  const char *f = getenv ("BRAID_FAULT");
  size_t n = strlen (point);
  if (!f || strncmp (f, point, n) || (f[n] && f[n] != '#'))
    return;
  if (f[n] == '#' && ++seen != atoi (f + n + 1))
    return;
  fprintf (stderr, "braid: BRAID_FAULT: killed at %s\n", f);
  fflush (stderr);
  kill (getpid (), SIGKILL);
}

int
vol_session_portals (const struct vol_portals *p, const char **out)
{
  int n = p->multipath ? p->n : (p->n > 0 ? 1 : 0);
  for (int i = 0; i < n; i++)
    out[i] = p->p[i];
  return n;
}

int
vol_portals_equal (const struct vol_portals *a, const struct vol_portals *b)
{
  if (a->n != b->n || a->multipath != b->multipath)
    return 0;
  for (int i = 0; i < a->n; i++)
    if (strcmp (a->p[i], b->p[i]))
      return 0;
  return 1;
}

void
vol_portals_str (const struct vol_portals *p, char *buf, size_t len)
{
  size_t off = 0;
  buf[0] = 0;
  for (int i = 0; i < p->n && off < len; i++) {
    int w = snprintf (buf + off, len - off, "%s%s", i ? "," : "", p->p[i]);
    if (w < 0)
      break;
    off += (size_t) w;
  }
}

/***** JSON *****/

static json_object *
portals_json (const struct vol_portals *p)
{
  json_object *a = json_object_new_array ();
  for (int i = 0; i < p->n; i++)
    json_object_array_add (a, json_object_new_string (p->p[i]));
  return a;
}

static json_object *
str_or_null (const char *s)
{
  return s[0] ? json_object_new_string (s) : NULL;
}

static json_object *
record_json (const struct vol_record *r)
{
  json_object *o = json_object_new_object ();
  const char *sess[VOL_MAX_PORTALS];
  int ns = vol_session_portals (&r->applied, sess);
  json_object *sa = json_object_new_array ();
  for (int i = 0; i < ns; i++)
    json_object_array_add (sa, json_object_new_string (sess[i]));

  json_object_object_add (o, "version", json_object_new_int (1));
  json_object_object_add (o, "storage", json_object_new_string (r->storage));
  json_object_object_add (o, "volume", json_object_new_string (r->volume));
  json_object_object_add (o, "state", json_object_new_string (r->state));
  json_object_object_add (o, "target", json_object_new_string (r->target));
  json_object_object_add (o, "lun", json_object_new_int (r->lun));
  json_object_object_add (o, "portals", portals_json (&r->applied));
  json_object_object_add (o, "multipath", json_object_new_int (r->applied.multipath));
  json_object_object_add (o, "sessions", sa);
  json_object_object_add (o, "wwid", str_or_null (r->wwid));
  json_object_object_add (o, "map", str_or_null (r->map));
  json_object_object_add (o, "uri", str_or_null (r->uri));
  /* braid attaches no block device itself (the export is NBD). */
  json_object_object_add (o, "device", NULL);
  if (r->has_pending) {
    json_object *p = json_object_new_object ();
    json_object_object_add (p, "portals", portals_json (&r->pending));
    json_object_object_add (p, "multipath", json_object_new_int (r->pending.multipath));
    json_object_object_add (o, "pending", p);
  }
  else
    json_object_object_add (o, "pending", NULL);
  json_object_object_add (o, "created", json_object_new_string (r->created));
  json_object_object_add (o, "activated", str_or_null (r->activated));
  json_object_object_add (o, "updated", json_object_new_string (r->updated));
  return o;
}

static int
get_str (json_object *o, const char *k, char *buf, size_t len, int required,
         const char **why)
{
  json_object *v;
  buf[0] = 0;
  if (!json_object_object_get_ex (o, k, &v) || json_object_is_type (v, json_type_null)) {
    if (required)
      *why = k;
    return required ? -1 : 0;
  }
  if (!json_object_is_type (v, json_type_string)
      || (size_t) json_object_get_string_len (v) >= len) {
    *why = k;
    return -1;
  }
  memcpy (buf, json_object_get_string (v), (size_t) json_object_get_string_len (v) + 1);
  return 0;
}

static int
get_int (json_object *o, const char *k, int lo, int hi, int *out, const char **why)
{
  json_object *v;
  if (!json_object_object_get_ex (o, k, &v) || !json_object_is_type (v, json_type_int)
      || json_object_get_int64 (v) < lo || json_object_get_int64 (v) > hi) {
    *why = k;
    return -1;
  }
  *out = (int) json_object_get_int64 (v);
  return 0;
}

static int
get_portals (json_object *o, struct vol_portals *p, const char **why)
{
  json_object *a;
  if (!json_object_object_get_ex (o, "portals", &a) || !json_object_is_type (a, json_type_array)
      || json_object_array_length (a) < 1 || json_object_array_length (a) > VOL_MAX_PORTALS) {
    *why = "portals";
    return -1;
  }
  p->n = (int) json_object_array_length (a);
  for (int i = 0; i < p->n; i++) {
    json_object *s = json_object_array_get_idx (a, (size_t) i);
    if (!json_object_is_type (s, json_type_string)
        || json_object_get_string_len (s) < 1
        || (size_t) json_object_get_string_len (s) >= sizeof p->p[i]) {
      *why = "portals";
      return -1;
    }
    snprintf (p->p[i], sizeof p->p[i], "%s", json_object_get_string (s));
  }
  return get_int (o, "multipath", 0, 1, &p->multipath, why);
}

int
vol_record_read (struct vol_record *rec)
{
  char file[sizeof rec->file], storage[sizeof rec->storage], volume[sizeof rec->volume];
  const char *why = NULL;
  json_object *o, *pend;

  if (access (rec->file, F_OK) < 0)
    return errno == ENOENT ? -ENOENT : -errno;
  o = json_object_from_file (rec->file);
  if (!o) {
    cli_error ("%s: not a JSON volume record: %s", rec->file, json_util_get_last_err ());
    return -EINVAL;
  }
  memcpy (file, rec->file, sizeof file);
  memcpy (storage, rec->storage, sizeof storage);
  memcpy (volume, rec->volume, sizeof volume);
  memset (rec, 0, sizeof *rec);
  memcpy (rec->file, file, sizeof file);
  if (!json_object_is_type (o, json_type_object))
    why = "(top level)";
  else if (get_str (o, "storage", rec->storage, sizeof rec->storage, 1, &why) == 0
           && get_str (o, "volume", rec->volume, sizeof rec->volume, 1, &why) == 0
           && get_str (o, "state", rec->state, sizeof rec->state, 1, &why) == 0
           && get_str (o, "target", rec->target, sizeof rec->target, 1, &why) == 0
           && get_int (o, "lun", 0, 16383, &rec->lun, &why) == 0
           && get_portals (o, &rec->applied, &why) == 0
           && get_str (o, "wwid", rec->wwid, sizeof rec->wwid, 0, &why) == 0
           && get_str (o, "map", rec->map, sizeof rec->map, 0, &why) == 0
           && get_str (o, "uri", rec->uri, sizeof rec->uri, 0, &why) == 0
           && get_str (o, "created", rec->created, sizeof rec->created, 0, &why) == 0
           && get_str (o, "activated", rec->activated, sizeof rec->activated, 0, &why) == 0
           && get_str (o, "updated", rec->updated, sizeof rec->updated, 0, &why) == 0) {
    if (json_object_object_get_ex (o, "pending", &pend)
        && !json_object_is_type (pend, json_type_null)) {
      rec->has_pending = 1;
      if (get_portals (pend, &rec->pending, &why) < 0)
        why = "pending";
    }
  }
  if (!why && strcmp (rec->state, "activating") && strcmp (rec->state, "active")
      && strcmp (rec->state, "deactivating"))
    why = "state";
  /* The file's place names the volume; a copied record must not act on
   * another volume's behalf. */
  if (!why && (strcmp (rec->storage, storage) || strcmp (rec->volume, volume)))
    why = "storage/volume (they do not match the file's place)";
  json_object_put (o);
  if (why) {
    cli_error ("%s: bad volume record: field \"%s\" missing or invalid", file, why);
    memcpy (rec->storage, storage, sizeof storage);
    memcpy (rec->volume, volume, sizeof volume);
    return -EINVAL;
  }
  return 0;
}

static int
fsync_dir (const char *dir)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int r = fsync (fd) < 0 ? -errno : 0;
  close (fd);
  return r;
}

/* mkdir -p with 0700 for what we create; a new directory is made durable
 * by syncing its parent. */
static int
make_dirs (const char *path)
{
  char buf[4400];
  snprintf (buf, sizeof buf, "%s", path);
  for (char *p = buf + 1;; p++) {
    if (*p != '/' && *p != 0)
      continue;
    char c = *p;
    *p = 0;
    if (mkdir (buf, 0700) == 0) {
      char *slash = strrchr (buf, '/');
      if (slash && slash != buf) {
        *slash = 0;
        fsync_dir (buf);
        *slash = '/';
      }
    }
    else if (errno != EEXIST)
      return -errno;
    *p = c;
    if (!c)
      break;
  }
  struct stat st;
  if (stat (buf, &st) < 0)
    return -errno;
  return S_ISDIR (st.st_mode) ? 0 : -ENOTDIR;
}

int
vol_record_write (const struct cli_env *env, struct vol_record *rec)
{
  char dir[4400], tmp[4600];
  int r = 0;

  vol_now (rec->updated, sizeof rec->updated);
  if (!rec->created[0])
    memcpy (rec->created, rec->updated, sizeof rec->created);
  snprintf (dir, sizeof dir, "%s/%s", env->state_dir, rec->storage);
  if ((r = make_dirs (dir)) < 0) {
    cli_error ("%s: cannot create the directory: %s", dir, strerror (-r));
    return r;
  }
  snprintf (tmp, sizeof tmp, "%s/.%s.json.tmp", dir, rec->volume);
  json_object *o = record_json (rec);
  const char *text = json_object_to_json_string_ext (o, JSON_C_TO_STRING_PRETTY
                                                     | JSON_C_TO_STRING_NOSLASHESCAPE);
  int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    r = -errno;
  else {
    size_t len = strlen (text), off = 0;
    while (off < len && r == 0) {
      ssize_t w = write (fd, text + off, len - off);
      if (w < 0 && errno != EINTR)
        r = -errno;
      else if (w > 0)
        off += (size_t) w;
    }
    if (!r && write (fd, "\n", 1) != 1)
      r = -EIO;
    /* Done with the text: freed before the fault point below, so a
     * memcheck run of the crash tests sees no leak at the SIGKILL. */
    json_object_put (o);
    o = NULL;
    if (!r && fsync (fd) < 0)
      r = -errno;
    if (close (fd) < 0 && !r)
      r = -errno;
    if (!r)
      vol_fault ("record:before-rename");
    if (!r && rename (tmp, rec->file) < 0)
      r = -errno;
    if (r)
      unlink (tmp);
    else
      r = fsync_dir (dir);
  }
  json_object_put (o);              /* NULL once written out */
  if (r < 0)
    cli_error ("%s: cannot write the volume record: %s", rec->file, strerror (-r));
  return r;
}

int
vol_record_delete (const struct cli_env *env, const struct vol_record *rec)
{
  char dir[4400];
  snprintf (dir, sizeof dir, "%s/%s", env->state_dir, rec->storage);
  if (unlink (rec->file) < 0 && errno != ENOENT) {
    int r = -errno;
    cli_error ("%s: cannot remove the volume record: %s", rec->file, strerror (-r));
    return r;
  }
  fsync_dir (dir);
  /* The storage directory goes with its last record (ENOTEMPTY: others). */
  if (rmdir (dir) == 0)
    fsync_dir (env->state_dir);
  return 0;
}

static int
ends_with (const char *s, const char *suffix)
{
  size_t a = strlen (s), b = strlen (suffix);
  return a >= b && !strcmp (s + a - b, suffix);
}

int
vol_record_list (const struct cli_env *env, struct vol_record **out, size_t *n,
                 void (*bad) (void *opaque, const char *file, const char *why),
                 void *opaque)
{
  DIR *top = opendir (env->state_dir);
  struct dirent *e;
  size_t cap = 0;

  *out = NULL;
  *n = 0;
  if (!top)
    return 0;
  while ((e = readdir (top))) {
    char sdir[4400];
    struct stat st;
    if (e->d_name[0] == '.')
      continue;
    snprintf (sdir, sizeof sdir, "%s/%s", env->state_dir, e->d_name);
    if (lstat (sdir, &st) < 0 || !S_ISDIR (st.st_mode))
      continue;                     /* braidd's nodes.json and the like */
    DIR *sd = opendir (sdir);
    struct dirent *f;
    while (sd && (f = readdir (sd))) {
      if (f->d_name[0] == '.' || !ends_with (f->d_name, ".json"))
        continue;
      size_t vl = strlen (f->d_name) - 5;
      if (vl == 0 || vl > VOL_NAME_MAX || strlen (e->d_name) > VOL_NAME_MAX) {
        if (bad)
          bad (opaque, sdir, "name too long for a volume record");
        continue;
      }
      if (*n == cap) {
        cap = cap ? 2 * cap : 16;
        struct vol_record *nv = realloc (*out, cap * sizeof **out);
        if (!nv) {
          closedir (sd);
          closedir (top);
          return -ENOMEM;
        }
        *out = nv;
      }
      struct vol_record *r = &(*out)[*n];
      memset (r, 0, sizeof *r);
      snprintf (r->storage, sizeof r->storage, "%.*s", VOL_NAME_MAX, e->d_name);
      snprintf (r->volume, sizeof r->volume, "%.*s", (int) vl, f->d_name);
      vol_record_file (env, r);
      int rc = vol_record_read (r);
      if (rc == 0)
        (*n)++;
      else if (bad)
        bad (opaque, r->file, rc == -EINVAL ? "unreadable volume record" : strerror (-rc));
    }
    if (sd)
      closedir (sd);
  }
  closedir (top);
  return 0;
}

int
vol_lock (const struct cli_env *env, int seconds)
{
  char path[4400];
  int r = make_dirs (env->state_dir);
  if (r < 0) {
    cli_error ("%s: cannot create the state directory: %s", env->state_dir, strerror (-r));
    return -1;
  }
  snprintf (path, sizeof path, "%s/.volumes.lock", env->state_dir);
  int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    cli_error ("%s: %s", path, strerror (errno));
    return -1;
  }
  /* Bounded: another activate/deactivate holds it for seconds at most. */
  for (int i = 0; i <= seconds * 10; i++) {
    if (flock (fd, LOCK_EX | LOCK_NB) == 0)
      return fd;
    if (errno != EWOULDBLOCK) {
      cli_error ("%s: %s", path, strerror (errno));
      break;
    }
    struct timespec ts = { 0, 100 * 1000 * 1000 };
    nanosleep (&ts, NULL);
  }
  if (errno == EWOULDBLOCK)
    cli_error ("%s: another braid activate/deactivate still runs after %d s", path, seconds);
  close (fd);
  return -1;
}
