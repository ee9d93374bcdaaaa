/* mpconf-testutil.h: helpers the multipath.conf unit tests share: a
 * private temporary directory with a main file and drop-ins written from
 * strings, and loading them.  Header-only (static functions) so each test
 * stays one executable built from one file. */
#ifndef MPCONF_TESTUTIL_H
#define MPCONF_TESTUTIL_H

#include <errno.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "braid/mpconf.h"

struct tconf {
  char dir[64];          /* mkdtemp'd */
  char main[128];        /* dir/multipath.conf */
  char confd[128];       /* dir/conf.d */
};

static inline void
tconf_init (struct tconf *t)
{
  snprintf (t->dir, sizeof t->dir, "/tmp/braid-mpconf-test.XXXXXX");
  if (!mkdtemp (t->dir))
    abort ();
  snprintf (t->main, sizeof t->main, "%s/multipath.conf", t->dir);
  snprintf (t->confd, sizeof t->confd, "%s/conf.d", t->dir);
}

/* Write text to dir/rel (rel "multipath.conf" or "conf.d/NAME"). */
static inline void
tconf_write (struct tconf *t, const char *rel, const char *text)
{
  char path[256];
  FILE *f;

  if (strncmp (rel, "conf.d/", 7) == 0)
    mkdir (t->confd, 0700);
  snprintf (path, sizeof path, "%s/%s", t->dir, rel);
  if (!(f = fopen (path, "w")) || fputs (text, f) < 0 || fclose (f) != 0)
    abort ();
}

static inline int
tconf_rm1 (const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove (p);
}

static inline void
tconf_cleanup (struct tconf *t)
{
  nftw (t->dir, tconf_rm1, 8, FTW_DEPTH | FTW_PHYS);
}

/* Load what was written; returns the braid_mpconf_load status. */
static inline int
tconf_load (struct tconf *t, struct braid_mpconf **conf,
            struct braid_mpconf_diags **diags)
{
  struct braid_mpconf_load_args a = {
    .config_file = t->main, .config_dir = t->confd,
  };
  return braid_mpconf_load (&a, conf, diags);
}

/* One-shot: a configuration from a main file text.  Aborts on a refused
 * configuration. */
static inline struct braid_mpconf *
tconf_from_text (const char *text)
{
  struct tconf t;
  struct braid_mpconf *conf = NULL;

  tconf_init (&t);
  tconf_write (&t, "multipath.conf", text);
  if (tconf_load (&t, &conf, NULL) != 0)
    abort ();
  tconf_cleanup (&t);
  return conf;
}

/* Does some diagnostic's text equal s (after its location prefix, if the
 * text starts with the temp dir path)? */
static inline bool
tconf_has_diag (const struct braid_mpconf_diags *d, const char *s)
{
  for (size_t i = 0; i < braid_mpconf_diags_count (d); i++)
    if (strstr (braid_mpconf_diags_get (d, i)->text, s))
      return true;
  return false;
}

#endif
