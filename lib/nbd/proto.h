/* nbd/proto.h: NBD wire constants and big-endian field access.
 *
 * Values follow the NBD protocol document (NetworkBlockDevice/nbd,
 * doc/proto.md).  Only what this server speaks or must recognise is listed.
 * Every multi-byte field on the wire is big-endian; the get/put helpers work
 * on byte pointers so that no packed structs or unaligned loads are needed.
 */
#ifndef BRAID_NBD_PROTO_H
#define BRAID_NBD_PROTO_H

#include <stdint.h>

/* ---- handshake ---- */
#define NBD_MAGIC_INIT        UINT64_C (0x4e42444d41474943) /* "NBDMAGIC" */
#define NBD_MAGIC_OPTS        UINT64_C (0x49484156454F5054) /* "IHAVEOPT" */
#define NBD_MAGIC_REP         UINT64_C (0x0003e889045565a9)

/* handshake flags (server, 16 bits) */
#define NBD_FLAG_FIXED_NEWSTYLE   (1u << 0)
#define NBD_FLAG_NO_ZEROES        (1u << 1)
/* client flags (32 bits) */
#define NBD_FLAG_C_FIXED_NEWSTYLE (1u << 0)
#define NBD_FLAG_C_NO_ZEROES      (1u << 1)

/* transmission flags (16 bits) */
#define NBD_FLAG_HAS_FLAGS        (1u << 0)
#define NBD_FLAG_READ_ONLY        (1u << 1)
#define NBD_FLAG_SEND_FLUSH       (1u << 2)
#define NBD_FLAG_SEND_FUA         (1u << 3)
#define NBD_FLAG_ROTATIONAL       (1u << 4)
#define NBD_FLAG_SEND_TRIM        (1u << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1u << 6)
#define NBD_FLAG_SEND_DF          (1u << 7)
#define NBD_FLAG_CAN_MULTI_CONN   (1u << 8)
#define NBD_FLAG_SEND_RESIZE      (1u << 9)
#define NBD_FLAG_SEND_CACHE       (1u << 10)
#define NBD_FLAG_SEND_FAST_ZERO   (1u << 11)

/* options */
#define NBD_OPT_EXPORT_NAME       1
#define NBD_OPT_ABORT             2
#define NBD_OPT_LIST              3
#define NBD_OPT_PEEK_EXPORT       4
#define NBD_OPT_STARTTLS          5
#define NBD_OPT_INFO              6
#define NBD_OPT_GO                7
#define NBD_OPT_STRUCTURED_REPLY  8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT  10
#define NBD_OPT_EXTENDED_HEADERS  11

/* option replies */
#define NBD_REP_ACK               1u
#define NBD_REP_SERVER            2u
#define NBD_REP_INFO              3u
#define NBD_REP_META_CONTEXT      4u
#define NBD_REP_FLAG_ERROR        (1u << 31)
#define NBD_REP_ERR_UNSUP         (NBD_REP_FLAG_ERROR | 1u)
#define NBD_REP_ERR_POLICY        (NBD_REP_FLAG_ERROR | 2u)
#define NBD_REP_ERR_INVALID       (NBD_REP_FLAG_ERROR | 3u)
#define NBD_REP_ERR_PLATFORM      (NBD_REP_FLAG_ERROR | 4u)
#define NBD_REP_ERR_TLS_REQD      (NBD_REP_FLAG_ERROR | 5u)
#define NBD_REP_ERR_UNKNOWN       (NBD_REP_FLAG_ERROR | 6u)
#define NBD_REP_ERR_SHUTDOWN      (NBD_REP_FLAG_ERROR | 7u)
#define NBD_REP_ERR_BLOCK_SIZE_REQD (NBD_REP_FLAG_ERROR | 8u)
#define NBD_REP_ERR_TOO_BIG       (NBD_REP_FLAG_ERROR | 9u)

/* NBD_REP_INFO types */
#define NBD_INFO_EXPORT           0
#define NBD_INFO_NAME             1
#define NBD_INFO_DESCRIPTION      2
#define NBD_INFO_BLOCK_SIZE       3

/* ---- transmission ---- */
#define NBD_REQUEST_MAGIC         UINT32_C (0x25609513)
#define NBD_SIMPLE_REPLY_MAGIC    UINT32_C (0x67446698)
#define NBD_STRUCTURED_REPLY_MAGIC UINT32_C (0x668e33ef)

/* command flags */
#define NBD_CMD_FLAG_FUA          (1u << 0)
#define NBD_CMD_FLAG_NO_HOLE      (1u << 1)
#define NBD_CMD_FLAG_DF           (1u << 2)
#define NBD_CMD_FLAG_REQ_ONE      (1u << 3)
#define NBD_CMD_FLAG_FAST_ZERO    (1u << 4)

/* commands */
#define NBD_CMD_READ              0
#define NBD_CMD_WRITE             1
#define NBD_CMD_DISC              2
#define NBD_CMD_FLUSH             3
#define NBD_CMD_TRIM              4
#define NBD_CMD_CACHE             5
#define NBD_CMD_WRITE_ZEROES      6
#define NBD_CMD_BLOCK_STATUS      7

/* structured reply flags and types */
#define NBD_REPLY_FLAG_DONE       (1u << 0)
#define NBD_REPLY_TYPE_NONE       0u
#define NBD_REPLY_TYPE_OFFSET_DATA 1u
#define NBD_REPLY_TYPE_OFFSET_HOLE 2u
#define NBD_REPLY_TYPE_BLOCK_STATUS 5u
#define NBD_REPLY_TYPE_ERROR      ((1u << 15) + 1)
#define NBD_REPLY_TYPE_ERROR_OFFSET ((1u << 15) + 2)

/* wire error values */
#define NBD_EPERM      1
#define NBD_EIO        5
#define NBD_ENOMEM     12
#define NBD_EINVAL     22
#define NBD_ENOSPC     28
#define NBD_EOVERFLOW  75
#define NBD_ENOTSUP    95
#define NBD_ESHUTDOWN  108

/* ---- message sizes ---- */
#define NBD_GREETING_SIZE     18  /* NBDMAGIC, IHAVEOPT, 16-bit flags */
#define NBD_OPT_HDR_SIZE      16  /* IHAVEOPT, option, length */
#define NBD_OPT_REPLY_HDR_SIZE 20 /* magic, option, type, length */
#define NBD_EXPORT_NAME_REPLY_SIZE 10 /* size + flags (+124 zeroes) */
#define NBD_EXPORT_NAME_PAD   124
#define NBD_REQUEST_SIZE      28
#define NBD_SIMPLE_REPLY_SIZE 16
#define NBD_STRUCTURED_HDR_SIZE 20

/* ---- big-endian access ---- */

static inline uint16_t
nbd_get16 (const uint8_t *p)
{
  return (uint16_t) ((unsigned) p[0] << 8 | p[1]);
}

static inline uint32_t
nbd_get32 (const uint8_t *p)
{
  return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
    | (uint32_t) p[2] << 8 | p[3];
}

static inline uint64_t
nbd_get64 (const uint8_t *p)
{
  return (uint64_t) nbd_get32 (p) << 32 | nbd_get32 (p + 4);
}

static inline void
nbd_put16 (uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

static inline void
nbd_put32 (uint8_t *p, uint32_t v)
{
  p[0] = (uint8_t) (v >> 24);
  p[1] = (uint8_t) (v >> 16);
  p[2] = (uint8_t) (v >> 8);
  p[3] = (uint8_t) v;
}

static inline void
nbd_put64 (uint8_t *p, uint64_t v)
{
  nbd_put32 (p, (uint32_t) (v >> 32));
  nbd_put32 (p + 4, (uint32_t) v);
}

#endif /* BRAID_NBD_PROTO_H */
