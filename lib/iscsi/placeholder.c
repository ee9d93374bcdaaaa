/* Placeholder so the iscsi layer links before its first source lands; delete
 * it (and its line in meson.build) once the layer has a real source. */
extern int braid_iscsi_placeholder_;
int braid_iscsi_placeholder_;
