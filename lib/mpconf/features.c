/* features.c: device-mapper multipath feature strings.
 *
 * A feature string is a decimal word count followed by the words, e.g.
 * "2 pg_init_retries 50".  multipath.conf's "features" value is kept in
 * that form and handed to the kernel table after two reconciliations:
 * "queue_if_no_path" is expressed through no_path_retry instead (and put
 * back into the table when queueing), and "queue_mode" must agree with the
 * map's queue mode.  The word surgery follows libmultipath's add_feature()
 * and remove_feature() exactly, including what counts as a parse error, so
 * that configurations and kernel tables round-trip to the same strings.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpconf/mpstate-internal.h"

static bool
sp (char c)
{
  return isspace ((unsigned char) c) != 0;
}

/* Number of words in a feature without leading/trailing blanks. */
static int
count_words (const char *s)
{
  int d = 1;

  for (; *s != '\0'; s++)
    if (sp (s[0]) && !sp (s[1]) && s[1] != '\0')
      d++;
  return d;
}

/* Find 'f' (length l) as whole words in 's', searching from 'from'. */
static const char *
find_words (const char *s, const char *from, const char *f, size_t l)
{
  const char *p = from;

  while ((p = strstr (p, f)) != NULL) {
    if (p > s && sp (p[-1]) && (sp (p[l]) || p[l] == '\0'))
      return p;
    p += l;
  }
  return NULL;
}

int
braid_feature_add (char **features, const char *feature)
{
  size_t l;
  int d, n;
  long c;
  char *e, *t;

  if (features == NULL)
    return -EINVAL;
  if (feature == NULL || feature[0] == '\0')
    return 0;
  l = strlen (feature);
  if (sp (feature[0]) || sp (feature[l - 1]))
    return -EINVAL;
  d = count_words (feature);

  if (*features == NULL) {
    if (asprintf (&t, "%d %s", d, feature) < 0)
      return -ENOMEM;
    *features = t;
    return 0;
  }
  if (find_words (*features, *features, feature, l) != NULL)
    return 0;

  errno = 0;
  c = strtol (*features, &e, 10);
  if (e == *features || (!sp (*e) && *e != '\0') || errno != 0 || c < 0
      || c > 100000)
    return -EINVAL;
  n = asprintf (&t, "%ld%s %s", c + d, e, feature);
  if (n < 0)
    return -ENOMEM;
  free (*features);
  *features = t;
  return 0;
}

int
braid_feature_remove (char **features, const char *feature)
{
  const char *p, *q;
  size_t l;
  long c;
  char *e, *n;

  if (features == NULL || *features == NULL || (*features)[0] == '\0')
    return -EINVAL;
  if (feature == NULL || feature[0] == '\0')
    return 0;
  l = strlen (feature);
  if (sp (feature[0]) || sp (feature[l - 1]))
    return -EINVAL;

  /* The count comes first, so the feature cannot start at offset 0. */
  p = find_words (*features, *features + 1, feature, l);
  if (p == NULL)
    return 0;

  errno = 0;
  c = strtol (*features, &e, 10);
  if (e == *features || !sp (*e) || errno != 0 || c < 0 || c > 100000)
    return -EINVAL;

  c--;
  for (q = feature; *q != '\0'; q++)
    if (sp (q[0]) && !sp (q[1]) && q[1] != '\0')
      c--;

  if (c == 0) {
    n = strdup ("0");
    if (n == NULL)
      return -ENOMEM;
    free (*features);
    *features = n;
    return 0;
  }

  n = malloc (strlen (*features) + 24);
  if (n == NULL)
    return -ENOMEM;
  /* New count, then everything between the old count and the feature
   * (with its whitespace), then what follows the feature and its blanks. */
  sprintf (n, "%ld", c);
  strncat (n, e, (size_t) (p - e));
  p += l;
  while (sp (*p))
    p++;
  if (*p != '\0')
    strcat (n, p);
  else {
    size_t nl = strlen (n);

    while (nl > 0 && sp (n[nl - 1]))
      n[--nl] = '\0';
  }
  free (*features);
  *features = n;
  return 0;
}

static void BRAID_PRINTF (4, 5)
flog (braid_log_fn log, void *opaque, int level, const char *fmt, ...)
{
  char line[512];
  va_list ap;

  if (log == NULL)
    return;
  va_start (ap, fmt);
  vsnprintf (line, sizeof line, fmt, ap);
  va_end (ap);
  log (opaque, level, line);
}

int
braid_features_reconcile_queue_mode (char **features, int *queue_mode,
                                     const char *id, braid_log_fn log,
                                     void *opaque)
{
  char space[64], val[64], *mode_str = NULL;
  const char *feat, *p;
  int features_mode = BRAID_QUEUE_MODE_UNDEF, rc = 0;
  size_t ls, lv;

  if (features == NULL || queue_mode == NULL)
    return -EINVAL;
  if (*features == NULL)
    return 0;
  if (id == NULL)
    id = "UNKNOWN";

  /* "queue_mode", whitespace, a value: like sscanf("queue_mode%m[ ...]%ms"),
   * preceded by whitespace so "enqueue_mode" does not count. */
  feat = strstr (*features, "queue_mode");
  if (feat == NULL || feat == *features || !sp (feat[-1]))
    goto sync_mode;
  p = feat + strlen ("queue_mode");
  for (ls = 0; sp (p[ls]); ls++)
    ;
  if (ls == 0)
    goto sync_mode;
  for (lv = 0; p[ls + lv] != '\0' && !sp (p[ls + lv]); lv++)
    ;
  if (lv == 0 || ls >= sizeof space || lv >= sizeof val)
    goto sync_mode;
  memcpy (space, p, ls);
  space[ls] = '\0';
  memcpy (val, p + ls, lv);
  val[lv] = '\0';
  if (asprintf (&mode_str, "queue_mode%s%s", space, val) < 0) {
    mode_str = NULL;
    return -ENOMEM;
  }

  if (strcmp (val, "rq") == 0 || strcmp (val, "mq") == 0)
    features_mode = BRAID_QUEUE_MODE_RQ;
  else if (strcmp (val, "bio") == 0)
    features_mode = BRAID_QUEUE_MODE_BIO;
  if (features_mode == BRAID_QUEUE_MODE_UNDEF) {
    flog (log, opaque, BRAID_LOG_WARNING, "%s: ignoring invalid feature '%s'",
          id, mode_str);
    goto sync_mode;
  }
  if (*queue_mode == BRAID_QUEUE_MODE_UNDEF)
    *queue_mode = features_mode;
  if (*queue_mode == features_mode)
    goto out;
  flog (log, opaque, BRAID_LOG_WARNING,
        "%s: ignoring feature '%s' because queue_mode is set to '%s'", id,
        mode_str, *queue_mode == BRAID_QUEUE_MODE_RQ ? "rq" : "bio");

sync_mode:
  if (mode_str != NULL)
    rc = braid_feature_remove (features, mode_str);
  if (rc == 0 && *queue_mode == BRAID_QUEUE_MODE_BIO)
    rc = braid_feature_add (features, "queue_mode bio");
out:
  free (mode_str);
  return rc == -EINVAL ? 0 : rc;
}

int
braid_features_reconcile_options (char **features, int *no_path_retry,
                                  int *retain_hwhandler, const char *id,
                                  braid_log_fn log, void *opaque)
{
  static const char qinp[] = "queue_if_no_path";
  static const char rahh[] = "retain_attached_hw_handler";
  int rc = 0;

  if (features == NULL || no_path_retry == NULL || retain_hwhandler == NULL)
    return -EINVAL;
  if (*features == NULL)
    return 0;
  if (id == NULL)
    id = "UNKNOWN";

  /* Queueing is configured with no_path_retry; the table feature is
   * derived from it when the map is loaded. */
  if (strstr (*features, qinp) != NULL) {
    flog (log, opaque, BRAID_LOG_WARNING,
          "%s: option 'features \"1 %s\"' is deprecated, please use "
          "'no_path_retry queue' instead", id, qinp);
    if (*no_path_retry == BRAID_NO_PATH_RETRY_UNDEF) {
      *no_path_retry = BRAID_NO_PATH_RETRY_QUEUE;
      flog (log, opaque, BRAID_LOG_INFO,
            "%s: no_path_retry = queue (inherited setting from feature "
            "'%s')", id, qinp);
    }
    if (*no_path_retry != BRAID_NO_PATH_RETRY_QUEUE) {
      char npr[16];

      if (*no_path_retry == BRAID_NO_PATH_RETRY_FAIL)
        snprintf (npr, sizeof npr, "fail");
      else
        snprintf (npr, sizeof npr, "%d", *no_path_retry);
      flog (log, opaque, BRAID_LOG_WARNING,
            "%s: ignoring feature '%s' because no_path_retry is set to '%s'",
            id, qinp, npr);
    }
    rc = braid_feature_remove (features, qinp);
    if (rc < 0 && rc != -EINVAL)
      return rc;
    rc = 0;
  }
  if (strstr (*features, rahh) != NULL) {
    flog (log, opaque, BRAID_LOG_WARNING,
          "%s: option 'features \"1 %s\"' is deprecated", id, rahh);
    if (*retain_hwhandler == BRAID_RETAIN_HWHANDLER_UNDEF) {
      flog (log, opaque, BRAID_LOG_INFO,
            "%s: %s = on (inherited setting from feature '%s')", id, rahh,
            rahh);
      *retain_hwhandler = BRAID_RETAIN_HWHANDLER_ON;
    }
    else if (*retain_hwhandler == BRAID_RETAIN_HWHANDLER_OFF)
      flog (log, opaque, BRAID_LOG_WARNING,
            "%s: ignoring feature '%s' because %s is set to 'off'", id,
            rahh, rahh);
    rc = braid_feature_remove (features, rahh);
    if (rc < 0 && rc != -EINVAL)
      return rc;
    rc = 0;
  }
  return rc;
}

int
braid_features_for_table (const char *features, int no_path_retry,
                          char **out)
{
  char *f;
  int rc;

  if (out == NULL)
    return -EINVAL;
  f = strdup (features != NULL ? features : "0");
  if (f == NULL)
    return -ENOMEM;
  if (no_path_retry != BRAID_NO_PATH_RETRY_UNDEF
      && no_path_retry != BRAID_NO_PATH_RETRY_FAIL) {
    rc = braid_feature_add (&f, "queue_if_no_path");
    if (rc < 0) {
      free (f);
      return rc;
    }
  }
  *out = f;
  return 0;
}
