/* braid/scsi.h: transport-independent SCSI helpers.
 *
 * CDB builders and parsers for the responses braid needs to run multipath
 * over iSCSI: INQUIRY and its VPD pages (WWID derivation compatible with
 * multipath-tools, the kernel and udev), sense data and its classification
 * into "retry here / fail over / give up", READ CAPACITY, REPORT LUNS and
 * REPORT TARGET PORT GROUPS.
 *
 * Every function here works on caller-owned buffers only: nothing is
 * allocated, nothing is kept after the call returns, and output pointers
 * into the input (braid_scsi_designator.data) stay valid only as long as the
 * caller keeps the input buffer.  All functions are thread-safe and never
 * read outside [buf, buf + len), whatever the content of buf: lengths inside
 * responses are untrusted and checked against len.
 */
#ifndef BRAID_SCSI_H
#define BRAID_SCSI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the CDB buffer every builder fills. */
#define BRAID_SCSI_CDB_MAX 16

/* ------------------------------------------------------------------ */
/* CDB builders.  Each zeroes cdb[0..16), fills in the command and returns
 * the CDB length in bytes (6, 10, 12 or 16).  The caller owns cdb. */

/* TEST UNIT READY (6). */
int braid_scsi_cdb_tur (uint8_t cdb[16]);

/* INQUIRY (6).  With evpd == 0 the page code is forced to 0, because SPC
 * makes a non-zero page code without EVPD an ILLEGAL REQUEST. */
int braid_scsi_cdb_inquiry (uint8_t cdb[16], int evpd, uint8_t page,
                            uint16_t alloc);

/* READ CAPACITY (10).  8 bytes of response. */
int braid_scsi_cdb_read_capacity10 (uint8_t cdb[16]);

/* READ CAPACITY (16) (SERVICE ACTION IN 0x9E / 0x10).  32 bytes of
 * response is the full parameter data. */
int braid_scsi_cdb_read_capacity16 (uint8_t cdb[16], uint32_t alloc);

/* REPORT LUNS (12).  'select' is the SELECT REPORT field (0 = all LUs
 * addressable through this I_T nexus).  SPC requires alloc >= 16. */
int braid_scsi_cdb_report_luns (uint8_t cdb[16], uint8_t select,
                                uint32_t alloc);

/* READ (16) / WRITE (16).  'fua' sets Force Unit Access. */
int braid_scsi_cdb_read16 (uint8_t cdb[16], uint64_t lba, uint32_t blocks,
                           int fua);
int braid_scsi_cdb_write16 (uint8_t cdb[16], uint64_t lba, uint32_t blocks,
                            int fua);

/* SYNCHRONIZE CACHE (16).  blocks == 0 means "to the end of the medium". */
int braid_scsi_cdb_sync_cache16 (uint8_t cdb[16], uint64_t lba,
                                 uint32_t blocks, int immed);

/* WRITE SAME (16).  With ndob no data-out buffer is sent (zeroes are
 * written); 'unmap' allows deallocation, 'anchor' anchors instead. */
int braid_scsi_cdb_write_same16 (uint8_t cdb[16], uint64_t lba,
                                 uint32_t blocks, int unmap, int anchor,
                                 int ndob);

/* UNMAP (10); 'param_len' is the size of the parameter list built by
 * braid_scsi_unmap_params(). */
int braid_scsi_cdb_unmap (uint8_t cdb[16], uint16_t param_len);

/* One range for UNMAP. */
struct braid_scsi_extent {
  uint64_t lba;
  uint32_t blocks;
};

/* Build the UNMAP parameter list for n extents into buf (capacity cap).
 * Returns the number of bytes written (8 + 16 * n), -ENOSPC if cap is too
 * small, -EINVAL if n is too large for the 16-bit length fields (> 4095)
 * or ext is NULL with n > 0. */
int braid_scsi_unmap_params (uint8_t *buf, size_t cap,
                             const struct braid_scsi_extent *ext, size_t n);

/* REPORT TARGET PORT GROUPS (MAINTENANCE IN 0xA3 / 0x0A), length-only
 * header format. */
int braid_scsi_cdb_rtpg (uint8_t cdb[16], uint32_t alloc);

/* ------------------------------------------------------------------ */
/* Sense data. */

enum braid_scsi_sense_key {
  BRAID_SCSI_SK_NO_SENSE = 0x0,
  BRAID_SCSI_SK_RECOVERED_ERROR = 0x1,
  BRAID_SCSI_SK_NOT_READY = 0x2,
  BRAID_SCSI_SK_MEDIUM_ERROR = 0x3,
  BRAID_SCSI_SK_HARDWARE_ERROR = 0x4,
  BRAID_SCSI_SK_ILLEGAL_REQUEST = 0x5,
  BRAID_SCSI_SK_UNIT_ATTENTION = 0x6,
  BRAID_SCSI_SK_DATA_PROTECT = 0x7,
  BRAID_SCSI_SK_BLANK_CHECK = 0x8,
  BRAID_SCSI_SK_VENDOR_SPECIFIC = 0x9,
  BRAID_SCSI_SK_COPY_ABORTED = 0xa,
  BRAID_SCSI_SK_ABORTED_COMMAND = 0xb,
  BRAID_SCSI_SK_VOLUME_OVERFLOW = 0xd,
  BRAID_SCSI_SK_MISCOMPARE = 0xe,
};

/* Decoded sense data. */
struct braid_scsi_sense {
  int format;        /* 0 none, 1 fixed (0x70/0x71), 2 descriptor (0x72/73) */
  int deferred;      /* response code 0x71/0x73: error of an earlier command */
  uint8_t key, asc, ascq;
  int info_valid;    /* 'info' holds the INFORMATION field */
  uint64_t info;     /* e.g. the first bad LBA of a MEDIUM ERROR */
};

/* Decode sense data s[0..len).  Fields beyond what the device sent (or
 * beyond its ADDITIONAL SENSE LENGTH) read as 0.  Returns 0, or -EINVAL if
 * the data is unusable (too short, or not a 0x70..0x73 response code); out
 * is then zeroed.  The caller owns s and out. */
int braid_scsi_parse_sense (const uint8_t *s, size_t len,
                            struct braid_scsi_sense *out);

/* Static name of a sense key ("NOT READY"...); "RESERVED" for 0xc/0xf,
 * "UNKNOWN" outside 0..15. */
const char *braid_scsi_sense_key_name (int key);

/* Static lower-case description of an ASC/ASCQ pair for the common ones
 * (not-ready causes, ALUA states, unit attentions, medium and target
 * errors...), or NULL if the pair is not in the table. */
const char *braid_scsi_asc_str (uint8_t asc, uint8_t ascq);

/* What the multipath engine should do with a completed command. */
enum braid_scsi_disposition {
  BRAID_SCSI_GOOD = 0,              /* done; data (if any) is valid */
  BRAID_SCSI_RETRY_SAME_PATH,       /* transient target condition: retry
                                       on this path after a short delay */
  BRAID_SCSI_PATH_ERROR,            /* this path cannot serve it now: retry
                                       on another path, mark this one */
  BRAID_SCSI_UNIT_ATTENTION,        /* retry (same path is fine) after
                                       acting on the UA's ASC/ASCQ */
  BRAID_SCSI_MEDIUM_OR_TARGET_ERROR,/* the LU itself said no: every path
                                       would say the same, return it */
  BRAID_SCSI_RESERVATION_CONFLICT,  /* return to the client: persistent
                                       reservations are its business */
};

/* Classify a completion.  'status' is a SCSI status byte or a
 * braid_status (braid/common.h); 's' is the decoded sense for CHECK
 * CONDITION (NULL or format 0 when there was none).  The rules and their
 * reasons are documented at the definition (lib/scsi/sense.c). */
enum braid_scsi_disposition braid_scsi_classify (int status,
                                                 const struct braid_scsi_sense *s);

/* Static name of a disposition ("GOOD", "PATH ERROR", ...). */
const char *braid_scsi_disposition_name (enum braid_scsi_disposition d);

/* ------------------------------------------------------------------ */
/* Standard INQUIRY and VPD pages 0x00, 0x80, 0xB0, 0xB2. */

struct braid_scsi_inquiry {
  uint8_t qualifier, device_type, version;
  int removable, tpgs, cmdque, multip, protect;
  /* NUL-terminated, trailing blanks removed; bytes that are not printable
   * ASCII are replaced by '.', so they are safe to log and print. */
  char vendor[9], product[17], revision[5];
};

/* Decode standard INQUIRY data.  At least 8 bytes are needed; vendor,
 * product and revision are filled from whatever part of bytes 8..35 is
 * present (and within ADDITIONAL LENGTH), else left empty.  Returns 0 or
 * -EINVAL.  The caller owns buf and out. */
int braid_scsi_parse_inquiry (const uint8_t *buf, size_t len,
                              struct braid_scsi_inquiry *out);

/* Supported VPD pages (page 0x00): stores the first min(count, cap) page
 * codes in pages and returns count, the number the page lists (within
 * len), or -EINVAL if buf is not a page 0x00 of at least 4 bytes. */
int braid_scsi_parse_vpd00 (const uint8_t *buf, size_t len, uint8_t *pages,
                            size_t cap);

/* Unit serial number (page 0x80) with multipath-tools' parse_vpd_pg80()
 * semantics: the serial (at most 128 bytes of it) with leading and
 * trailing spaces removed, truncated to cap - 1 bytes, NUL-terminated.
 * Returns the number of bytes stored (0 for an empty serial), or -EINVAL
 * if buf is not a page 0x80 or cap is 0. */
int braid_scsi_parse_vpd80 (const uint8_t *buf, size_t len, char *serial,
                            size_t cap);

/* Block Limits (page 0xB0, SBC-4).  Devices implementing an older SBC send
 * a shorter page; fields not present read as 0. */
struct braid_scsi_vpd_b0 {
  int wsnz;                          /* WRITE SAME with 0 blocks refused */
  uint8_t max_caw_len;               /* COMPARE AND WRITE, blocks */
  uint16_t opt_xfer_len_granularity; /* blocks */
  uint32_t max_xfer_len;             /* blocks, 0 = not reported */
  uint32_t opt_xfer_len;             /* blocks */
  uint32_t max_prefetch_len;         /* blocks */
  uint32_t max_unmap_lba_count;      /* 0 = UNMAP not supported */
  uint32_t max_unmap_desc_count;
  uint32_t opt_unmap_granularity;    /* blocks */
  int ugavalid;                      /* unmap_granularity_alignment valid */
  uint32_t unmap_granularity_alignment;
  uint64_t max_write_same_len;       /* blocks */
};

/* Returns 0 or -EINVAL (not a page 0xB0 of at least 4 bytes). */
int braid_scsi_parse_vpd_b0 (const uint8_t *buf, size_t len,
                             struct braid_scsi_vpd_b0 *out);

/* Logical Block Provisioning (page 0xB2, SBC-4). */
struct braid_scsi_vpd_b2 {
  uint8_t threshold_exponent;
  int lbpu;              /* UNMAP supported */
  int lbpws;             /* WRITE SAME (16) with UNMAP supported */
  int lbpws10;           /* WRITE SAME (10) with UNMAP supported */
  uint8_t lbprz;         /* 3-bit field: unmapped blocks read as zero if 1 */
  int anc_sup;           /* ANCHOR supported */
  int dp;                /* a provisioning group descriptor follows */
  uint8_t provisioning_type; /* 0 full, 1 resource, 2 thin */
};

/* Returns 0 or -EINVAL (not a page 0xB2 of at least 8 bytes). */
int braid_scsi_parse_vpd_b2 (const uint8_t *buf, size_t len,
                             struct braid_scsi_vpd_b2 *out);

/* ------------------------------------------------------------------ */
/* Device Identification (page 0x83) and WWIDs. */

/* Designator types (SPC-4 table "DESIGNATOR TYPE field"). */
enum braid_scsi_desig_type {
  BRAID_SCSI_DESIG_VENDOR = 0x0,
  BRAID_SCSI_DESIG_T10 = 0x1,
  BRAID_SCSI_DESIG_EUI64 = 0x2,
  BRAID_SCSI_DESIG_NAA = 0x3,
  BRAID_SCSI_DESIG_RELATIVE_PORT = 0x4,
  BRAID_SCSI_DESIG_TPG = 0x5,
  BRAID_SCSI_DESIG_LU_GROUP = 0x6,
  BRAID_SCSI_DESIG_MD5 = 0x7,
  BRAID_SCSI_DESIG_SCSI_NAME = 0x8,
  BRAID_SCSI_DESIG_PROTOCOL_PORT = 0x9,
  BRAID_SCSI_DESIG_UUID = 0xa,
};

/* Designator associations. */
enum braid_scsi_desig_assoc {
  BRAID_SCSI_ASSOC_LU = 0,
  BRAID_SCSI_ASSOC_PORT = 1,
  BRAID_SCSI_ASSOC_TARGET = 2,
};

/* One designation descriptor.  'data' points into the caller's page
 * buffer and is valid only while that buffer is. */
struct braid_scsi_designator {
  uint8_t protocol, code_set, piv, association, type;
  uint8_t len;
  const uint8_t *data;
};

/* Split a page 0x83 into its designators.  Stores the first min(count,
 * cap) of them in out and returns count, the number of designators in the
 * page.  Returns -EINVAL if buf is not a page 0x83 of at least 4 bytes and
 * -EOVERFLOW if a designator runs past the end of the page (the page
 * length in the header, bounded by len). */
int braid_scsi_vpd83_designators (const uint8_t *buf, size_t len,
                                  struct braid_scsi_designator *out,
                                  size_t cap);

/* The WWID multipath-tools derives from page 0x83 (parse_vpd_pg83(), the
 * udev ID_SERIAL convention): only logical-unit designators count, ranked
 * NAA 6 > NAA 5 > NAA 2 > EUI-64 > SCSI name string (naa./eui./iqn.) >
 * T10 vendor ID > NAA 3, first one wins on equal rank; prefix digit = type
 * ('3' NAA, '2' EUI-64, '1' T10, '8' iqn name string).  NAA and EUI-64
 * results are cut to an odd length (never in the middle of a byte) when
 * they do not fit: cap - 1 characters if cap is even, cap - 2 if odd; the
 * others to cap - 1.  Returns the length of the string stored in wwid
 * (0 when cap <= 1), or -ENODATA (no logical-unit designator), -EINVAL
 * (malformed designators and nothing usable, or buf not a page 0x83) or
 * -EOVERFLOW (a designator runs past the page and nothing usable came
 * before it).  The caller owns wwid. */
int braid_scsi_vpd83_wwid (const uint8_t *buf, size_t len, char *wwid,
                           size_t cap);

/* Which kernel's scsi_vpd_lun_id() to reproduce. */
enum braid_scsi_kernel_wwid_rule {
  /* Linux 4.5 to 5.9: the choice depends on designator length and order
   * (a long T10 id that comes first beats a later NAA). */
  BRAID_SCSI_KWWID_LEGACY = 0,
  /* Linux 5.10 and later (designator_prio()): SCSI name > NAA 6 >
   * EUI-64(16) > EUI-64(12) > NAA 5 > NAA "4" > EUI-64(8) > NAA 3 = T10,
   * later or longer wins among equals. */
  BRAID_SCSI_KWWID_PRIO = 1,
};

/* The string Linux shows in /sys/block/sdX/device/wwid for this page:
 * "naa.<hex>", "eui.<hex>", "t10.<text with non-printables escaped as the
 * kernel's %pE does>" or the SCSI name string verbatim.  Returns the string
 * length, -EINVAL if no designator qualifies or buf is not a page 0x83,
 * -ERANGE if it does not fit in cap (wwid is then the empty string). */
int braid_scsi_vpd83_kernel_wwid (const uint8_t *buf, size_t len,
                                  enum braid_scsi_kernel_wwid_rule rule,
                                  char *wwid, size_t cap);

/* Emit the udev properties sg3-utils' 55-scsi-sg3_id.rules would set for
 * this page: first the SCSI_IDENT_<LUN|PORT|TARGET>_<kind> lines of
 * sg3-utils 1.46 "sg_inq --export --raw" (NAA_REGEXT, NAA_REG, NAA_EXT,
 * NAA_LOCAL, EUI64, T10, ATA, NAME, VENDOR, RELATIVE, TARGET_PORT_GROUP,
 * LOGICAL_UNIT_GROUP, MD5, UUID, UAS_*, SOP_ROUTING_ID) in page order, with
 * repeats when the page repeats a kind; then, as the rules derive them,
 * ID_TARGET_PORT, ID_WWN_WITH_EXTENSION, ID_WWN, ID_WWN_VENDOR_EXTENSION
 * (the digits beyond ID_WWN's 16, as systemd's scsi_id sets it), ID_SERIAL
 * and ID_SERIAL_SHORT.  ID_SERIAL fallbacks that need the standard INQUIRY
 * or page 0x80 (vendor-specific and "S" serials) are not derived.  Known
 * differences from sg_inq: an empty MD5 designator and a pre-SPC page body
 * over 255 bytes emit nothing.  'emit' is called once per property with
 * strings valid only during the call.  Returns the number of properties
 * emitted, or -EINVAL if buf is not a page 0x83 or emit is NULL. */
int braid_scsi_vpd83_udev_props (const uint8_t *buf, size_t len,
                                 void (*emit) (void *opaque, const char *name,
                                               const char *value),
                                 void *opaque);

/* ------------------------------------------------------------------ */
/* READ CAPACITY. */

struct braid_scsi_capacity {
  uint64_t blocks;          /* number of logical blocks (last LBA + 1) */
  uint32_t block_size;      /* bytes per logical block */
  uint8_t lbppbe;           /* log2 (physical / logical block) */
  uint16_t lowest_aligned;  /* lowest aligned LBA */
  int lbpme, lbprz, prot_en;
  uint8_t p_type;           /* protection type - 1 when prot_en */
  uint8_t p_i_exponent;
};

/* READ CAPACITY (10) response (8 bytes).  Returns 0, -EOVERFLOW when the
 * last LBA is 0xFFFFFFFF (the device is too big: use READ CAPACITY (16)),
 * or -EINVAL (short buffer, zero block size).  The (16)-only fields are 0. */
int braid_scsi_parse_read_capacity10 (const uint8_t *buf, size_t len,
                                      struct braid_scsi_capacity *out);

/* READ CAPACITY (16) response (at least 12 bytes; the protection and
 * provisioning fields need 16).  Returns 0, -EOVERFLOW if the last LBA is
 * 2^64 - 1 (blocks would not fit), or -EINVAL. */
int braid_scsi_parse_read_capacity16 (const uint8_t *buf, size_t len,
                                      struct braid_scsi_capacity *out);

/* ------------------------------------------------------------------ */
/* LUNs. */

/* Returned by braid_scsi_lun_encode for LUNs it cannot represent. */
#define BRAID_SCSI_LUN_INVALID UINT64_MAX

/* True for an entry of braid_scsi_parse_report_luns that could not be
 * decoded to a number and is stored as its raw 8-byte value instead. */
#define BRAID_SCSI_LUN_IS_RAW(x) ((x) > 0xffffu)

/* Decode a REPORT LUNS response.  Each single-level LUN using peripheral
 * (bus 0) or flat space addressing is stored as its number (0..16383);
 * any other entry is stored as its raw 8-byte value read big-endian, which
 * BRAID_SCSI_LUN_IS_RAW recognises.  Stores the first min(entries, cap)
 * complete entries present in buf and returns how many were stored; *total
 * (if not NULL) receives the number of entries the target reported, which
 * exceeds what buf held when the allocation length was too small.
 * Returns -EINVAL if len < 8. */
int braid_scsi_parse_report_luns (const uint8_t *buf, size_t len,
                                  uint64_t *luns, size_t cap, size_t *total);

/* The 8-byte SAM LUN field for 'lun', as a big-endian uint64 (the first
 * byte on the wire is the most significant): peripheral addressing below
 * 256, flat space addressing for 256..16383, BRAID_SCSI_LUN_INVALID above. */
uint64_t braid_scsi_lun_encode (uint16_t lun);

/* Inverse of braid_scsi_lun_encode.  Returns 0, or -EINVAL for anything
 * but a single-level peripheral (bus 0) or flat space LUN. */
int braid_scsi_lun_decode (uint64_t sam, uint16_t *lun);

/* ------------------------------------------------------------------ */
/* ALUA: REPORT TARGET PORT GROUPS. */

enum braid_scsi_alua_state {
  BRAID_SCSI_ALUA_ACTIVE_OPTIMIZED = 0x0,
  BRAID_SCSI_ALUA_ACTIVE_NONOPTIMIZED = 0x1,
  BRAID_SCSI_ALUA_STANDBY = 0x2,
  BRAID_SCSI_ALUA_UNAVAILABLE = 0x3,
  BRAID_SCSI_ALUA_LBA_DEPENDENT = 0x4,
  BRAID_SCSI_ALUA_OFFLINE = 0xe,
  BRAID_SCSI_ALUA_TRANSITIONING = 0xf,
};

/* Most relative port ids kept per group. */
#define BRAID_SCSI_TPG_MAX_PORTS 32

struct braid_scsi_tpg {
  uint16_t id;
  uint8_t state;           /* enum braid_scsi_alua_state */
  int pref;                /* PREF bit: preferred group */
  uint8_t supported;       /* T_SUP|O_SUP|LBD_SUP|U_SUP|S_SUP|AN_SUP|AO_SUP */
  uint8_t status;          /* 0 none, 1 set by STPG, 2 implicit change */
  size_t nports;           /* entries in ports[], <= 32 */
  uint16_t ports[BRAID_SCSI_TPG_MAX_PORTS]; /* relative target port ids */
  size_t nports_total;     /* ports the target listed (may exceed 32) */
};

/* Decode a REPORT TARGET PORT GROUPS response (length-only or extended
 * header).  Stores the first min(count, cap) groups and returns count, the
 * number of complete descriptors within both len and the RETURN DATA
 * LENGTH.  A descriptor cut short by the end of buf is not counted (the
 * allocation was too small: see braid_scsi_rtpg_length); one cut short by
 * the RETURN DATA LENGTH is malformed.  Returns -EINVAL if len < 4 or the
 * data is malformed. */
int braid_scsi_parse_rtpg (const uint8_t *buf, size_t len,
                           struct braid_scsi_tpg *out, size_t cap);

/* Full length of the RTPG response the target wanted to send (header
 * included), to re-issue with a larger allocation; 0 if len < 4. */
uint64_t braid_scsi_rtpg_length (const uint8_t *buf, size_t len);

/* "active/optimized", "active/non-optimized", "standby", "unavailable",
 * "lba-dependent", "offline", "transitioning", or "unknown". */
const char *braid_scsi_alua_state_name (uint8_t state);

#ifdef __cplusplus
}
#endif

#endif /* BRAID_SCSI_H */
