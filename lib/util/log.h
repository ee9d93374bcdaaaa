/* util/log.h: the logging helper every braid layer uses internally.
 *
 * Libraries never print: each handle carries a struct braid_logger copied
 * from what the embedder installed (callback, opaque, threshold, and an
 * optional prefix naming the map/path/session the handle concerns).
 * BRAID_LOG tests the level before any formatting happens, so debug
 * tracing on hot paths costs one compare when it is off.
 */
#ifndef BRAID_UTIL_LOG_H
#define BRAID_UTIL_LOG_H

#include "braid/common.h"

struct braid_logger {
  braid_log_fn fn;      /* NULL: logging disabled */
  void *opaque;         /* passed back to fn unchanged */
  int level;            /* emit when message level <= level */
  const char *prefix;   /* "<prefix>: " before each line; NULL/"" = none.
                           Borrowed: must outlive the logger. */
};

/* Longest line handed to the callback; longer messages are truncated. */
#define BRAID_LOG_LINE_MAX 1024

/* Format "<prefix>: <msg>" into a stack buffer and hand it to lg->fn.
 * Does not check the level (BRAID_LOG does); does nothing if lg or lg->fn is
 * NULL.  errno is preserved so callers can log between a failing call and
 * returning -errno. */
void braid_logf (const struct braid_logger *lg, int level,
                 const char *fmt, ...) BRAID_PRINTF (3, 4);

/* Same, with a va_list. */
void braid_vlogf (const struct braid_logger *lg, int level,
                  const char *fmt, va_list ap) BRAID_PRINTF (3, 0);

/* Log only when a callback is installed and the level passes; the argument
 * expressions are not evaluated otherwise. */
#define BRAID_LOG(lg, lvl, ...)                                        \
  do {                                                                 \
    if ((lg)->fn && (lvl) <= (lg)->level)                              \
      braid_logf ((lg), (lvl), __VA_ARGS__);                           \
  } while (0)

#endif /* BRAID_UTIL_LOG_H */
