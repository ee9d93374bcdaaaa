/* fuzz_state.c: the wwids and bindings file readers, and the multipathd
 * command tokenizer, on arbitrary bytes.
 *
 * The first byte picks the target.  Files are real files in a private
 * temporary directory (the readers lock and may rewrite them), read in
 * read-only mode where the API has one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "braid/mpstate.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char dir[64];

static int
put (const char *name, const uint8_t *data, size_t size, char *path, size_t cap)
{
  snprintf (path, cap, "%s/%s", dir, name);
  FILE *f = fopen (path, "w");
  if (!f)
    return -1;
  fwrite (data, 1, size, f);
  fclose (f);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (!dir[0]) {
    snprintf (dir, sizeof dir, "/tmp/braid-fuzz-state.XXXXXX");
    if (!mkdtemp (dir))
      abort ();
  }
  if (size < 1)
    return 0;
  char path[128];
  switch (data[0] % 3) {
  case 0: {
    if (put ("wwids", data + 1, size - 1, path, sizeof path) < 0)
      return 0;
    struct braid_wwids *w = braid_wwids_new (path);
    if (w) {
      char **list = NULL;
      size_t n = 0;
      if (braid_wwids_list (w, &list, &n) == 0)
        braid_strv_free (list);
      braid_wwids_check (w, "360000000000000000e00000000010001");
      braid_wwids_free (w);
    }
    break;
  }
  case 1: {
    if (put ("bindings", data + 1, size - 1, path, sizeof path) < 0)
      return 0;
    struct braid_bindings *b = braid_bindings_new (path);
    if (b) {
      if (braid_bindings_load (b, NULL, 0, BRAID_BINDINGS_READ_ONLY) == 0) {
        braid_bindings_alias_for_wwid (b, "360000000000000000e00000000010001");
        braid_bindings_wwid_for_alias (b, "mpatha");
      }
      braid_bindings_free (b);
    }
    break;
  }
  default: {
    char *cmd = malloc (size);
    if (!cmd)
      return 0;
    memcpy (cmd, data + 1, size - 1);
    cmd[size - 1] = 0;
    struct braid_cli_cmd *c = NULL;
    if (braid_cli_parse (cmd, &c) == 0)
      braid_cli_cmd_free (c);
    char help[8192];
    braid_cli_help (help, sizeof help, cmd, -22, "braid\n");
    free (cmd);
    break;
  }
  }
  return 0;
}
