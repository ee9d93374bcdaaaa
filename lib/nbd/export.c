/* export.c: the export registry, export lifetime and statistics.
 *
 * An export is referenced by the registry and by every connection in
 * transmission on it.  Removing it takes it out of the registry at once (no
 * new client can pick it) and marks it removed, which connections turn
 * into ESHUTDOWN replies and a disconnect once their in-flight requests are
 * done; the last reference calls the backend's release().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nbd/internal.h"

static bool
is_pow2 (uint32_t v)
{
  return v != 0 && (v & (v - 1)) == 0;
}

/* Fill in defaults and check the block size rules of the protocol.
 * Returns NULL or the reason the configuration is refused. */
static const char *
check_block_sizes (const struct braid_nbd_export_config *cfg,
                   uint32_t *minp, uint32_t *prefp, uint32_t *maxp)
{
  uint32_t min = cfg->min_block_size ? cfg->min_block_size : 1;
  uint32_t pref = cfg->preferred_block_size;
  uint32_t max = cfg->max_block_size ? cfg->max_block_size
                                     : BRAID_NBD_MAX_PAYLOAD;

  if (!is_pow2 (min) || min > 65536)
    return "minimum block size must be a power of 2 no larger than 65536";
  if (pref == 0)
    pref = min > 4096 ? min : 4096;
  if (!is_pow2 (pref) || pref < min || pref < 512)
    return "preferred block size must be a power of 2, at least 512 and "
           "at least the minimum";
  if (max == 0xffffffffu || max > BRAID_NBD_MAX_PAYLOAD)
    max = BRAID_NBD_MAX_PAYLOAD;
  if (max % min != 0 || max < pref)
    return "maximum block size must be a multiple of the minimum and at "
           "least the preferred block size";
  *minp = min;
  *prefp = pref;
  *maxp = max;
  return NULL;
}

static struct braid_nbd_export *
find_exact (struct braid_nbd_server *srv, const char *name, size_t len)
{
  struct braid_nbd_export *e;

  for (e = srv->exports; e; e = e->next)
    if (strlen (e->name) == len && memcmp (e->name, name, len) == 0)
      return e;
  return NULL;
}

struct braid_nbd_export *
nbd_export_lookup (struct braid_nbd_server *srv, const char *name, size_t len)
{
  if (len == 0) {
    if (srv->default_export == NULL)
      return find_exact (srv, "", 0);
    return find_exact (srv, srv->default_export,
                       strlen (srv->default_export));
  }
  return find_exact (srv, name, len);
}

struct braid_nbd_export *
braid_nbd_server_find_export (struct braid_nbd_server *srv, const char *name)
{
  if (srv == NULL || name == NULL)
    return NULL;
  return find_exact (srv, name, strlen (name));
}

struct braid_nbd_export *
braid_nbd_export_add (struct braid_nbd_server *srv,
                      const struct braid_nbd_export_config *cfg)
{
  struct braid_nbd_export *e, **tail;
  const char *why;
  uint32_t min, pref, max;
  size_t nl, dl;

  if (srv == NULL || cfg == NULL || cfg->name == NULL
      || cfg->backend == NULL) {
    if (srv)
      nbd_server_set_error (srv, "export: name and backend are required");
    errno = EINVAL;
    return NULL;
  }
  nl = strlen (cfg->name);
  dl = cfg->description ? strlen (cfg->description) : 0;
  if (nl > BRAID_NBD_MAX_STRING || dl > BRAID_NBD_MAX_STRING) {
    nbd_server_set_error (srv, "export '%.64s': name or description longer "
                          "than %d bytes", cfg->name, BRAID_NBD_MAX_STRING);
    errno = EINVAL;
    return NULL;
  }
  why = check_block_sizes (cfg, &min, &pref, &max);
  if (why) {
    nbd_server_set_error (srv, "export '%s': %s", cfg->name, why);
    errno = EINVAL;
    return NULL;
  }
  if (cfg->size % min != 0) {
    nbd_server_set_error (srv, "export '%s': size %llu is not a multiple "
                          "of the minimum block size %u", cfg->name,
                          (unsigned long long) cfg->size, min);
    errno = EINVAL;
    return NULL;
  }
  if (cfg->backend->read == NULL
      || (!(cfg->flags & BRAID_NBD_EXPORT_READ_ONLY)
          && cfg->backend->write == NULL)
      || ((cfg->flags & BRAID_NBD_EXPORT_FLUSH) && !cfg->backend->flush)
      || ((cfg->flags & BRAID_NBD_EXPORT_TRIM) && !cfg->backend->trim)
      || ((cfg->flags & BRAID_NBD_EXPORT_WRITE_ZEROES)
          && !cfg->backend->write_zeroes)) {
    nbd_server_set_error (srv, "export '%s': a backend callback is missing "
                          "for an advertised feature", cfg->name);
    errno = EINVAL;
    return NULL;
  }
  if ((cfg->flags & BRAID_NBD_EXPORT_FAST_ZERO)
      && !(cfg->flags & BRAID_NBD_EXPORT_WRITE_ZEROES)) {
    nbd_server_set_error (srv, "export '%s': fast zero needs write zeroes",
                          cfg->name);
    errno = EINVAL;
    return NULL;
  }
  if (find_exact (srv, cfg->name, nl)) {
    nbd_server_set_error (srv, "export '%s' already exists", cfg->name);
    errno = EEXIST;
    return NULL;
  }

  e = calloc (1, sizeof *e);
  if (e == NULL)
    goto nomem;
  e->name = strdup (cfg->name);
  e->description = strdup (cfg->description ? cfg->description : "");
  if (e->name == NULL || e->description == NULL)
    goto nomem;
  e->srv = srv;
  e->size = cfg->size;
  e->min_block = min;
  e->pref_block = pref;
  e->max_block = max;
  e->flags = cfg->flags;
  e->backend = *cfg->backend;
  e->opaque = cfg->backend_opaque;
  e->refs = 1;

  for (tail = &srv->exports; *tail; tail = &(*tail)->next)
    ;
  *tail = e;
  NBD_LOG (srv, BRAID_LOG_INFO, "export '%s' added: %llu bytes, blocks "
           "%u/%u/%u, flags 0x%x", e->name, (unsigned long long) e->size,
           min, pref, max, e->flags);
  return e;

 nomem:
  if (e) {
    free (e->name);
    free (e->description);
    free (e);
  }
  nbd_server_set_error (srv, "export '%s': out of memory", cfg->name);
  errno = ENOMEM;
  return NULL;
}

void
nbd_export_ref (struct braid_nbd_export *exp)
{
  exp->refs++;
}

void
nbd_export_unref (struct braid_nbd_export *exp)
{
  if (--exp->refs > 0)
    return;
  if (exp->backend.release)
    exp->backend.release (exp->opaque);
  free (exp->name);
  free (exp->description);
  free (exp);
}

/* Take 'exp' out of the registry and tell its connections. */
static void
unregister (struct braid_nbd_export *exp)
{
  struct braid_nbd_server *srv = exp->srv;
  struct braid_nbd_export **pp;
  struct nbd_conn *c;

  for (pp = &srv->exports; *pp; pp = &(*pp)->next)
    if (*pp == exp) {
      *pp = exp->next;
      break;
    }
  exp->next = NULL;
  exp->removed = true;
  /* Idle connections on it close on their next service pass. */
  for (c = srv->conns; c; c = c->next)
    if (c->exp == exp)
      nbd_conn_kick (c);
}

int
braid_nbd_export_remove (struct braid_nbd_export *exp)
{
  if (exp == NULL || exp->removed)
    return -EINVAL;
  NBD_LOG (exp->srv, BRAID_LOG_INFO, "export '%s' removed (%u connections)",
           exp->name, exp->stats.connections);
  unregister (exp);
  nbd_export_unref (exp);
  return 0;
}

void
nbd_export_remove_all (struct braid_nbd_server *srv)
{
  while (srv->exports) {
    struct braid_nbd_export *e = srv->exports;

    unregister (e);
    nbd_export_unref (e);
  }
}

int
braid_nbd_export_resize (struct braid_nbd_export *exp, uint64_t size)
{
  if (exp == NULL || exp->removed || size % exp->min_block != 0) {
    if (exp)
      nbd_server_set_error (exp->srv, "export '%s': size %llu is not a "
                            "multiple of the minimum block size %u",
                            exp->name, (unsigned long long) size,
                            exp->min_block);
    return -EINVAL;
  }
  NBD_LOG (exp->srv, BRAID_LOG_INFO, "export '%s' resized from %llu to %llu",
           exp->name, (unsigned long long) exp->size,
           (unsigned long long) size);
  exp->size = size;
  return 0;
}

void
braid_nbd_export_get_stats (const struct braid_nbd_export *exp,
                            struct braid_nbd_export_stats *st)
{
  if (exp && st)
    *st = exp->stats;
}

const char *
braid_nbd_export_name (const struct braid_nbd_export *exp)
{
  return exp ? exp->name : NULL;
}

uint64_t
braid_nbd_export_size (const struct braid_nbd_export *exp)
{
  return exp ? exp->size : 0;
}
