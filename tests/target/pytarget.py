#!/usr/bin/env python3
# tests/target/pytarget.py -- braid's own scripted iSCSI target for tests.
#
# Real targets (tgtd, istgt) can do neither ALUA nor misbehave on purpose,
# so braid's multipath tests run against this small target instead.  It is
# one single-threaded, non-blocking selectors loop (Python 3.11 standard
# library only): several portals, each with its own relative target port id
# and ALUA target port group, one target, in-memory or file-backed LUNs,
# login with None or one-way/mutual CHAP-MD5, discovery, full feature phase
# with R2T/Data-In flow control, the SBC/SPC commands an initiator needs,
# ALUA states and unit attentions, and a Unix control socket (one JSON line
# in, one JSON line out) that changes ALUA states and injects faults at run
# time.  See tests/target/README.md for the flags and control commands.
#
# It is a test fixture, not a product: ERL 0 only, one connection per
# session, no bidirectional commands, no reservations.  Whatever it does
# not understand it refuses in the way RFC 7143 / SPC-4 describe (Reject,
# login status, CHECK CONDITION), and a protocol error from an initiator
# drops only that initiator's connection.  Secrets come from files only and
# never reach the log.

import argparse
import base64
import collections
import hashlib
import heapq
import hmac
import itertools
import json
import os
import secrets
import selectors
import signal
import socket
import struct
import sys
import time
import traceback

BS = 512                     # logical block size
CHUNK = 4096                 # granularity of the in-memory store
MAX_XFER_BLOCKS = 131072     # VPD B0 maximum transfer length (64 MiB)
OPT_XFER_BLOCKS = 2048       # VPD B0 optimal transfer length (1 MiB)
MAX_WS_BLOCKS = 1 << 21      # VPD B0 maximum WRITE SAME length (1 GiB)
MAX_UNMAP_BLOCKS = 1 << 20
MAX_UNMAP_DESC = 256
MAX_CAW_BLOCKS = 1
WQ_HIGH = 32 << 20           # stop reading a connection above this backlog
WQ_LOW = 8 << 20
ALL_ONES = 0xFFFFFFFF

# ---------------------------------------------------------------- helpers


def u16(b, o):
    return (b[o] << 8) | b[o + 1]


def u32(b, o):
    return int.from_bytes(b[o:o + 4], "big")


def u64(b, o):
    return int.from_bytes(b[o:o + 8], "big")


def sn_add(a, n):
    return (a + n) & ALL_ONES


def sn_diff(a, b):
    """a - b in RFC 1982 serial arithmetic (signed)."""
    d = (a - b) & ALL_ONES
    return d - (1 << 32) if d & 0x80000000 else d


def parse_size(s):
    s = s.strip()
    mult = 1
    suffixes = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if s and s[-1].upper() in suffixes:
        mult = suffixes[s[-1].upper()]
        s = s[:-1]
    n = int(s, 0) * mult
    if n < BS or n % BS:
        raise ValueError("size must be a positive multiple of %d" % BS)
    return n


def _crc32c_table():
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        tab.append(c)
    return tab


CRC32C_TABLE = _crc32c_table()


def crc32c(data):
    """CRC32C (Castagnoli) as iSCSI digests use it; slow but only used
    when a digest was negotiated (--digest)."""
    crc = ALL_ONES
    tab = CRC32C_TABLE
    for b in bytes(data):
        crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ ALL_ONES


def parse_keys(data):
    """Login/Text data segment -> ordered list of (key, value)."""
    out = []
    for item in bytes(data).split(b"\0"):
        if not item:
            continue
        k, sep, v = item.partition(b"=")
        out.append((k.decode("utf-8", "replace"),
                    v.decode("utf-8", "replace") if sep else None))
    return out


def encode_keys(pairs):
    return b"".join(("%s=%s" % (k, v)).encode() + b"\0" for k, v in pairs)


def decode_binary(v):
    """CHAP binary value: 0x hex or 0b base64."""
    if v is None:
        raise ValueError("missing value")
    if v[:2] in ("0x", "0X"):
        h = v[2:]
        if len(h) % 2:
            h = "0" + h
        return bytes.fromhex(h)
    if v[:2] in ("0b", "0B"):
        return base64.b64decode(v[2:], validate=True)
    raise ValueError("not a binary value")


def decode_lun(b):
    """SAM LUN field (8 bytes) -> LUN number, or -1 if unaddressable."""
    method = b[0] >> 6
    if method == 0:
        return b[1] if b[0] == 0 else -1
    if method == 1:
        return ((b[0] & 0x3F) << 8) | b[1]
    return -1


def encode_lun(n):
    if n < 256:
        return bytes([0, n]) + bytes(6)
    return bytes([0x40 | (n >> 8), n & 0xFF]) + bytes(6)


def sense_fixed(key, asc, ascq, info=None):
    s = bytearray(18)
    s[0] = 0x70
    s[2] = key & 0x0F
    if info is not None:
        s[0] |= 0x80
        s[3:7] = (info & ALL_ONES).to_bytes(4, "big")
    s[7] = 10
    s[12] = asc
    s[13] = ascq
    return bytes(s)


class CheckCondition(Exception):
    """Ends a SCSI command with a status other than GOOD."""

    def __init__(self, key, asc=0, ascq=0, info=None, status=0x02):
        super().__init__("sense %x/%02x/%02x" % (key, asc, ascq))
        self.key, self.asc, self.ascq, self.info = key, asc, ascq, info
        self.status = status

    def sense(self):
        if self.status != 0x02:
            return None
        return sense_fixed(self.key, self.asc, self.ascq, self.info)


def illegal(asc=0x24, ascq=0):
    return CheckCondition(0x05, asc, ascq)


class NeedData:
    """Returned by a command's first phase: receive N bytes, then call fn.
    partial: fn also copes with fewer bytes (the initiator's EDTL was
    smaller than the CDB asked for), as plain WRITEs do."""

    def __init__(self, need, fn, partial=False):
        self.need, self.fn, self.partial = need, fn, partial


class ProtocolError(Exception):
    pass


# ---------------------------------------------------------------- config

ALUA_STATES = {"ao": 0x0, "an": 0x1, "standby": 0x2, "unavailable": 0x3,
               "offline": 0xE, "transitioning": 0xF}
ALUA_NAMES = {v: k for k, v in ALUA_STATES.items()}

# Commands a port in each ALUA state still executes (SPC-4 5.15.2.4); the
# rest gets NOT READY with the ASCQ below.  Pairs are (opcode, service
# action).  Offline: LIO answers everything with 04/12; we keep INQUIRY so
# a path stays identifiable.
_RTPG = (0xA3, 0x0A)
_STPG = (0xA4, 0x0A)
ALUA_ALLOWED = {
    "standby": {0x12, 0x4C, 0x4D, 0x15, 0x55, 0x1A, 0x5A, 0xA0, 0x1C, 0x1D,
                0x25, 0x03, 0x5E, 0x5F, 0x3C, 0x3B, (0x9E, 0x10), _RTPG,
                _STPG},
    "unavailable": {0x12, 0xA0, 0x03, 0x3C, 0x3B, _RTPG, _STPG},
    "transitioning": {0x12, 0xA0, 0x03, 0x3C, 0x3B, _RTPG},
    "offline": {0x12},
}
ALUA_ASCQ = {"standby": 0x0B, "unavailable": 0x0C, "transitioning": 0x0A,
             "offline": 0x12}

# fail_next "sense" names -> (status, key, asc, ascq)
FAULTS = {
    "medium": (0x02, 0x03, 0x11, 0x00),
    "hardware": (0x02, 0x04, 0x44, 0x00),
    "not_ready": (0x02, 0x02, 0x04, 0x00),
    "becoming_ready": (0x02, 0x02, 0x04, 0x01),
    "aborted": (0x02, 0x0B, 0x00, 0x00),
    "illegal": (0x02, 0x05, 0x24, 0x00),
    "reset": (0x02, 0x06, 0x29, 0x00),
    "space": (0x02, 0x07, 0x27, 0x07),
    "busy": (0x08, 0, 0, 0),
    "task_set_full": (0x28, 0, 0, 0),
    "reservation_conflict": (0x18, 0, 0, 0),
}

RW_OPS = {0x08, 0x28, 0xA8, 0x88, 0x0A, 0x2A, 0xAA, 0x8A, 0x2E, 0xAE, 0x8E,
          0x2F, 0xAF, 0x8F, 0x35, 0x91, 0x41, 0x93, 0x42, 0x89}


class Portal:
    def __init__(self, spec, index):
        parts = spec.split(",")
        hp = parts[0]
        if hp.startswith("["):
            host, _, rest = hp[1:].partition("]")
            if not rest.startswith(":"):
                raise ValueError("portal %r: need [ADDR]:PORT" % spec)
            port = rest[1:]
        else:
            host, _, port = hp.rpartition(":")
        if not host or not port:
            raise ValueError("portal %r: need ADDR:PORT" % spec)
        self.addr = host
        self.port = int(port)
        self.family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.name = ("[%s]:%d" if ":" in host else "%s:%d") % (host, self.port)
        opts = {}
        for p in parts[1:]:
            k, sep, v = p.partition("=")
            if not sep or k not in ("tpg", "rtpi", "tag"):
                raise ValueError("portal %r: unknown option %r" % (spec, p))
            opts[k] = int(v, 0)
        self.tpg = opts.get("tpg", 1)
        self.rtpi = opts.get("rtpi", index + 1)
        self.tag = opts.get("tag", self.tpg)
        for what, v in (("tpg", self.tpg), ("rtpi", self.rtpi),
                        ("tag", self.tag)):
            if not 0 < v < 65536:
                raise ValueError("portal %r: %s out of range" % (spec, what))
        self.lsock = None
        self.blackhole = False
        self.delay_ms = None
        self.conns = set()
        self.stats = collections.Counter()
        self.misbehave = []      # pending "misbehave" rules, oldest first

    def take_rule(self, whats, conn=None):
        """The oldest pending misbehave rule whose "what" is in whats (and
        that this connection can honour), counted down; or None."""
        for rule in self.misbehave:
            if rule["what"] not in whats:
                continue
            if rule["what"] == "bad_header_digest" and not (conn and
                                                            conn.hdigest):
                continue
            if rule["what"] == "bad_data_digest" and not (conn and
                                                          conn.ddigest):
                continue
            rule["n"] -= 1
            if rule["n"] <= 0:
                self.misbehave.remove(rule)
            self.stats["misbehaved"] += 1
            return rule
        return None


# Misbehave cases (control command "misbehave"), by where they strike:
# on accepting a connection, on the next SCSI command, or on the next PDU
# that completes a SCSI command (a SCSI Response, or a Data-In with
# status).  tests/target/README.md describes each.
MISBEHAVE_ACCEPT = ("silent", "login_stall")
MISBEHAVE_CMD = ("reject",)
MISBEHAVE_RSP = ("oversized_dsl", "huge_dsl", "bad_opcode", "wrong_itt",
                 "statsn_jump", "bad_header_digest")
MISBEHAVE_DATAIN = ("datain_overflow", "async_midxfer", "bad_data_digest")
MISBEHAVE = MISBEHAVE_ACCEPT + MISBEHAVE_CMD + MISBEHAVE_RSP \
    + MISBEHAVE_DATAIN


class TPG:
    def __init__(self, tid):
        self.id = tid
        self.state = "ao"
        self.pref = False
        self.status = 0          # RTPG status code: 2 = altered implicitly
        self.pending = None      # timer of a scripted transition


class MemStore:
    """Sparse in-memory store: dict of CHUNK-sized bytearrays; a missing
    chunk reads as zeroes, so unmap deletes chunks."""

    kind = "memory"

    def __init__(self, size):
        self.size = size
        self.chunks = {}

    def read(self, off, n):
        out = bytearray(n)
        pos, end = off, off + n
        chunks = self.chunks
        while pos < end:
            ci, co = divmod(pos, CHUNK)
            take = min(CHUNK - co, end - pos)
            c = chunks.get(ci)
            if c is not None:
                out[pos - off:pos - off + take] = c[co:co + take]
            pos += take
        return out

    def write(self, off, data):
        mv = memoryview(data)
        pos, end, i = off, off + len(mv), 0
        chunks = self.chunks
        while pos < end:
            ci, co = divmod(pos, CHUNK)
            take = min(CHUNK - co, end - pos)
            c = chunks.get(ci)
            if c is None:
                if take == CHUNK:
                    chunks[ci] = bytearray(mv[i:i + take])
                else:
                    c = chunks[ci] = bytearray(CHUNK)
                    c[co:co + take] = mv[i:i + take]
            else:
                c[co:co + take] = mv[i:i + take]
            pos += take
            i += take

    def zero(self, off, n):
        pos, end = off, off + n
        while pos < end:
            ci, co = divmod(pos, CHUNK)
            take = min(CHUNK - co, end - pos)
            if take == CHUNK:
                self.chunks.pop(ci, None)
            else:
                c = self.chunks.get(ci)
                if c is not None:
                    c[co:co + take] = bytes(take)
            pos += take

    def mapped(self, off):
        return (off // CHUNK) in self.chunks

    def granularity(self):
        return CHUNK // BS

    def sync(self):
        pass

    def resize(self, size):
        if size < self.size:
            for ci in [c for c in self.chunks if c * CHUNK >= size]:
                del self.chunks[ci]
        self.size = size

    def close(self):
        self.chunks = {}


class FileStore:
    """A file (created sparse if missing, grown to SIZE if shorter); shared
    by several target processes when a test wants one LU behind several
    targets.  Every access goes to the kernel, so they stay coherent."""

    kind = "file"

    def __init__(self, path, size):
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        self.size = size

    def read(self, off, n):
        out = bytearray(n)
        mv = memoryview(out)
        done = 0
        while done < n:
            got = os.preadv(self.fd, [mv[done:]], off + done)
            if got <= 0:
                break            # beyond EOF: zeroes
            done += got
        return out

    def write(self, off, data):
        mv = memoryview(data)
        done = 0
        while done < len(mv):
            done += os.pwrite(self.fd, mv[done:], off + done)

    def zero(self, off, n):
        z = bytes(min(n, 1 << 20))
        done = 0
        while done < n:
            k = min(len(z), n - done)
            self.write(off + done, z[:k])
            done += k

    def mapped(self, off):
        return True

    def granularity(self):
        return 1

    def sync(self):
        os.fdatasync(self.fd)

    def resize(self, size):
        if os.fstat(self.fd).st_size < size:
            os.ftruncate(self.fd, size)
        self.size = size

    def close(self):
        os.close(self.fd)


class Lun:
    def __init__(self, spec, iqn, naa_base):
        parts = spec.split(":")
        if len(parts) < 2:
            raise ValueError("lun %r: need N:SIZE" % spec)
        self.num = int(parts[0], 0)
        if not 0 <= self.num < 16384:
            raise ValueError("lun %r: number out of range" % spec)
        size = parse_size(parts[1])
        opts = {}
        for p in parts[2:]:
            k, sep, v = p.partition("=")
            if k == "ro" and not sep:
                opts["ro"] = True
                continue
            if not sep or k not in ("file", "naa", "serial"):
                raise ValueError("lun %r: unknown option %r" % (spec, p))
            opts[k] = v
        self.readonly = bool(opts.get("ro"))
        if "file" in opts:
            self.store = FileStore(opts["file"], size)
        else:
            self.store = MemStore(size)
        if "naa" in opts:
            self.naa = parse_naa(opts["naa"])
        elif naa_base is not None:
            n = int.from_bytes(naa_base, "big") + self.num
            self.naa = (n & ((1 << 128) - 1)).to_bytes(16, "big")
        else:
            h = hashlib.sha256(("%s/%d" % (iqn, self.num)).encode()).digest()
            self.naa = bytes([0x60 | (h[0] & 0x0F)]) + h[1:16]
        self.serial = opts.get("serial") or self.naa.hex()[-16:]
        if not self.serial.isascii() or len(self.serial) > 64:
            raise ValueError("lun %r: bad serial" % spec)

    @property
    def nblocks(self):
        return self.store.size // BS


def parse_naa(h):
    h = h.lower()
    if h.startswith("0x"):
        h = h[2:]
    if len(h) != 32 or h[0] != "6":
        raise ValueError("NAA id must be 32 hex digits starting with 6 "
                         "(NAA IEEE Registered Extended)")
    return bytes.fromhex(h)


# ---------------------------------------------------------------- tasks


class Task:
    """One SCSI command, from its PDU to its status."""

    __slots__ = ("conn", "itt", "lun_raw", "lun", "lu", "cdb", "edtl",
                 "rflag", "wflag", "cmdsn", "buf", "got", "unsol",
                 "unsol_end", "unsol_datasn", "r2ts", "r2t_next", "r2tsn",
                 "then", "need", "aborted", "timer", "hung", "started")

    def __init__(self, conn, itt, lun_raw, cdb, edtl, rflag, wflag, cmdsn):
        self.conn, self.itt, self.lun_raw = conn, itt, lun_raw
        self.lun = decode_lun(lun_raw)
        self.lu = None
        self.cdb, self.edtl = cdb, edtl
        self.rflag, self.wflag, self.cmdsn = rflag, wflag, cmdsn
        self.buf = None
        self.got = 0
        self.unsol = False
        self.unsol_end = 0
        self.unsol_datasn = 0
        # ttt -> [offset, length, next offset, next DataSN]
        self.r2ts = collections.OrderedDict()
        self.r2t_next = 0
        self.r2tsn = 0
        self.then = None
        self.need = 0
        self.aborted = False
        self.timer = None
        self.hung = False
        self.started = time.monotonic()


class Session:
    def __init__(self, tgt, tsih, conn, login):
        self.tgt = tgt
        self.tsih = tsih
        self.isid = login.isid
        self.iname = login.iname
        self.tname = login.tname
        self.type = login.stype
        self.portal = conn.portal
        self.tag = conn.portal.tag
        self.conn = conn
        self.expcmdsn = login.cmdsn
        self.maxcmdsn = sn_add(login.cmdsn, tgt.window - 1)
        self.ahead = set()
        self.params = login.params
        self.ua = {}             # lun -> deque of (asc, ascq)
        if tgt.args.ua_on_login and self.type == "Normal":
            for n in tgt.luns:
                self.ua[n] = collections.deque([(0x29, 0x00)])

    def add_ua(self, lun, asc, ascq):
        q = self.ua.setdefault(lun, collections.deque())
        if (asc, ascq) not in q:
            q.append((asc, ascq))

    def pop_ua(self, lun):
        q = self.ua.get(lun)
        if q:
            return q.popleft()
        return None

    def describe(self):
        return {"tsih": self.tsih, "isid": self.isid.hex(),
                "initiator": self.iname, "type": self.type,
                "portal": self.portal.name, "expcmdsn": self.expcmdsn,
                "maxcmdsn": self.maxcmdsn,
                "tasks": len(self.conn.tasks) if self.conn else 0}


class LoginState:
    def __init__(self):
        self.first = True
        self.stage = None
        self.isid = b""
        self.tsih = 0
        self.cid = 0
        self.cmdsn = 0
        self.text = b""
        self.iname = None
        self.tname = None
        self.stype = "Normal"
        self.auth = None         # None (not negotiated), "None", "CHAP"
        self.authenticated = False
        self.chap_state = None
        self.chap_id = 0
        self.chap_chal = b""
        self.params = {}
        self.op_seen = False
        self.mrdsl_declared = False
        self.tpgt_sent = False
        self.negotiated = set()


# ---------------------------------------------------------------- connection


class Conn:
    def __init__(self, tgt, sock, portal, peer):
        self.tgt = tgt
        self.sock = sock
        self.portal = portal
        self.peer = peer
        self.id = next(tgt.conn_ids)
        self.rbuf = bytearray()
        self.wq = collections.deque()
        self.wbytes = 0
        self.events = 0
        self.closed = False
        self.close_when_flushed = False
        self.throttled = False
        self.state = "login"
        self.login = LoginState()
        self.session = None
        self.statsn = tgt.args.initial_statsn & ALL_ONES
        self.hdigest = False
        self.ddigest = False
        self.mrdsl_out = 8192    # the initiator's MaxRecvDataSegmentLength
        self.tasks = {}          # itt -> Task
        self.ttts = {}           # ttt -> Task
        self.ttt_seq = itertools.count(1)
        self.discard_itts = collections.OrderedDict()
        self.text_pending = None  # (ttt, remaining bytes) of a long Text
        self.pings = {}          # ttt -> send time of our NOP-In pings
        self.cid = 0
        self.in_process = False
        self.mute = False        # misbehave: a per-connection black hole
        self.stall_login = False  # misbehave: go mute after one login PDU
        self.login_pdus = 0
        self.update_events()
        self.login_timer = None
        self.arm_login_timer()

    def arm_login_timer(self):
        secs = self.tgt.args.login_timeout
        if secs > 0:
            self.login_timer = self.tgt.call_later(secs, self.login_timeout)

    def login_timeout(self):
        self.login_timer = None
        if self.closed or self.state != "login":
            return
        if self.portal.blackhole or self.mute:
            self.arm_login_timer()          # silent, not impatient
            return
        self.portal.stats["login_timeouts"] += 1
        self.close("login not finished within %d s"
                   % self.tgt.args.login_timeout)

    # ------------------------------------------------------------ I/O

    def log(self, msg, level=1):
        self.tgt.log("conn %d %s<-%s: %s" % (self.id, self.portal.name,
                                             self.peer, msg), level)

    def update_events(self):
        ev = 0
        if not self.closed and not self.portal.blackhole and not self.mute:
            if not self.throttled and not self.close_when_flushed:
                ev |= selectors.EVENT_READ
            if self.wq:
                ev |= selectors.EVENT_WRITE
        if ev == self.events:
            return
        sel = self.tgt.sel
        if self.events == 0:
            sel.register(self.sock, ev, self)
        elif ev == 0:
            sel.unregister(self.sock)
        else:
            sel.modify(self.sock, ev, self)
        self.events = ev

    def on_event(self, mask):
        if mask & selectors.EVENT_WRITE:
            self.flush()
        if mask & selectors.EVENT_READ and not self.closed:
            self.on_readable()

    def on_readable(self):
        try:
            data = self.sock.recv(1 << 20)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.close("recv: %s" % e)
            return
        if not data:
            self.close("connection closed by initiator")
            return
        self.portal.stats["bytes_in"] += len(data)
        self.rbuf += data
        self.process()

    def process(self):
        """Cut complete PDUs out of rbuf and handle them in order."""
        if self.in_process:
            return               # a send inside a handler got here again
        self.in_process = True
        buf = self.rbuf
        pos = 0
        try:
            while (not self.closed and not self.portal.blackhole
                   and not self.mute and not self.throttled and not self.close_when_flushed):
                if len(buf) - pos < 48:
                    break
                ahs_len = buf[pos + 4] * 4
                dsl = (buf[pos + 5] << 16) | (buf[pos + 6] << 8) | buf[pos + 7]
                limit = (self.tgt.args.max_recv_dsl if self.state == "ffp"
                         else 65536)
                if dsl > limit:
                    raise ProtocolError("DataSegmentLength %d > %d"
                                        % (dsl, limit))
                hd = 4 if self.hdigest else 0
                dd = 4 if self.ddigest and dsl else 0
                padded = (dsl + 3) & ~3
                total = 48 + ahs_len + hd + padded + dd
                if len(buf) - pos < total:
                    break
                bhs = bytes(buf[pos:pos + 48])
                ahs = bytes(buf[pos + 48:pos + 48 + ahs_len])
                p = pos + 48 + ahs_len
                if hd:
                    want = struct.unpack("<I", buf[p:p + 4])[0]
                    if crc32c(bhs + ahs) != want:
                        raise ProtocolError("header digest error")
                    p += 4
                data = bytes(buf[p:p + dsl])
                if dd:
                    q = p + padded
                    want = struct.unpack("<I", buf[q:q + 4])[0]
                    if crc32c(buf[p:p + padded]) != want:
                        pos += total
                        self.log("data digest error, rejecting PDU")
                        self.send_reject(0x02, bhs)
                        continue
                pos += total
                self.handle_pdu(bhs, ahs, data)
        except ProtocolError as e:
            self.log("protocol error: %s; dropping connection" % e, 0)
            self.portal.stats["protocol_errors"] += 1
            self.close("protocol error")
        except Exception:                               # a bug of ours
            self.log("internal error, dropping connection:\n%s"
                     % traceback.format_exc(), 0)
            self.portal.stats["internal_errors"] += 1
            self.close("internal error")
        finally:
            self.in_process = False
        if not self.closed:
            del buf[:pos]

    def send(self, *bufs):
        if self.closed:
            return
        for b in bufs:
            if b:
                self.wq.append(b)
                self.wbytes += len(b)
        if not self.portal.blackhole and not self.mute:
            self.flush()
        if self.wbytes > WQ_HIGH and not self.throttled:
            self.throttled = True
            self.update_events()

    def flush(self):
        if self.closed or self.portal.blackhole or self.mute:
            return
        while self.wq:
            try:
                n = self.sock.sendmsg(list(itertools.islice(self.wq, 128)))
            except (BlockingIOError, InterruptedError):
                break
            except OSError as e:
                self.close("send: %s" % e)
                return
            self.wbytes -= n
            self.portal.stats["bytes_out"] += n
            while n:
                b = self.wq[0]
                if len(b) <= n:
                    n -= len(b)
                    self.wq.popleft()
                else:
                    self.wq[0] = memoryview(b)[n:]
                    n = 0
        if not self.wq and self.close_when_flushed:
            self.close("done")
            return
        if self.throttled and self.wbytes < WQ_LOW:
            self.throttled = False
            self.update_events()
            self.process()
            return
        self.update_events()

    def close(self, reason, rst=False):
        if self.closed:
            return
        self.log("closing (%s)%s" % (reason, " with RST" if rst else ""))
        self.closed = True
        if self.login_timer is not None:
            self.login_timer.cancelled = True
        if self.events:
            self.tgt.sel.unregister(self.sock)
            self.events = 0
        try:
            if rst:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            self.sock.close()
        except OSError:
            pass
        for t in list(self.tasks.values()):
            self.abort_task(t)
        self.wq.clear()
        self.wbytes = 0
        self.portal.conns.discard(self)
        self.tgt.conns.discard(self)
        s = self.session
        if s is not None and s.conn is self:
            s.conn = None
            self.tgt.sessions.pop(s.tsih, None)

    # ------------------------------------------------------------ PDUs out

    def pdu(self, bhs, data=b""):
        """Queue one PDU: BHS (48 bytes, DataSegmentLength filled in here),
        data segment (bytes or memoryview), padding, digests; or, when a
        misbehave rule is pending for this kind of PDU, a broken one."""
        op = bhs[0] & 0x3F
        if self.state == "ffp" and self.portal.misbehave and (
                op == 0x21 or (op == 0x25 and bhs[1] & 0x01)):
            whats = MISBEHAVE_RSP + (MISBEHAVE_DATAIN if op == 0x25 else ())
            rule = self.portal.take_rule(whats, self)
            if rule is not None:
                self.misbehave(rule, bytearray(bhs), data)
                return
        self.emit(bhs, data)

    def misbehave(self, rule, bhs, data):
        """Send the PDU bhs+data broken the way rule says."""
        what = rule["what"]
        itt = u32(bhs, 16)
        self.log("misbehave %s: opcode 0x%02x ITT 0x%08x StatSN %d"
                 % (what, bhs[0] & 0x3F, itt, u32(bhs, 24)), 0)
        if what == "oversized_dsl":
            # Longer than the MaxRecvDataSegmentLength the initiator
            # declared (the bytes are really sent).
            want = self.mrdsl_out + 4096
            self.emit(bhs, bytes(data) + bytes(max(0, want - len(data))))
        elif what == "huge_dsl":
            self.emit(bhs, data, dsl=0xFFFFFF)
        elif what == "bad_opcode":
            bhs[0] = 0x3C                # no target opcode has this value
            self.emit(bhs, data)
        elif what == "wrong_itt":
            busy = set(self.tasks) | {itt, ALL_ONES}
            bad = (itt + 0x01000000) & ALL_ONES
            while bad in busy:
                bad = (bad + 1) & ALL_ONES
            bhs[16:20] = bad.to_bytes(4, "big")
            self.emit(bhs, data)
        elif what == "statsn_jump":
            jump = int(rule.get("jump", 1000))
            bhs[24:28] = sn_add(u32(bhs, 24), jump).to_bytes(4, "big")
            self.statsn = sn_add(self.statsn, jump)
            self.emit(bhs, data)
        elif what == "bad_header_digest":
            self.emit(bhs, data, bad_hd=True)
        elif what == "bad_data_digest":
            self.emit(bhs, data, bad_dd=True)
        elif what == "datain_overflow":
            # 512 bytes past the expected data transfer length (an
            # underflow residual says how far off that still is).
            extra = 512 + (u32(bhs, 44) if bhs[1] & 0x02 else 0)
            self.emit(bhs, bytes(data) + bytes(extra))
        elif what == "async_midxfer":
            # The Data-In sequence in two PDUs with an Asynchronous Message
            # between them; the Async takes the StatSN the status had.
            data = memoryview(bytes(data))
            half = (len(data) // 2) & ~511 or len(data) // 2
            statsn = u32(bhs, 24)
            first = bytearray(bhs)
            first[1] = bhs[1] & ~0x87    # neither F, S nor residual flags
            first[24:28] = bytes(4)
            first[44:48] = bytes(4)
            self.emit(first, data[:half])
            ev = int(rule.get("event", 1))
            exp, mx = self.sn_fields()
            hdr = struct.pack(">BBBBB3x8sIIIIIBBHHH4x", 0x32, 0x80, 0, 0, 0,
                              bytes(8), ALL_ONES, 0, statsn, exp, mx, ev,
                              int(rule.get("vcode", 0)),
                              int(rule.get("param1", 0)),
                              int(rule.get("param2", 0)),
                              int(rule.get("param3", 0)))
            self.emit(hdr)
            bhs[24:28] = sn_add(statsn, 1).to_bytes(4, "big")
            bhs[36:40] = sn_add(u32(bhs, 36), 1).to_bytes(4, "big")
            bhs[40:44] = (u32(bhs, 40) + half).to_bytes(4, "big")
            self.statsn = sn_add(self.statsn, 1)
            self.emit(bhs, data[half:])
        else:
            raise ValueError("misbehave %r" % what)

    def emit(self, bhs, data=b"", dsl=None, bad_hd=False, bad_dd=False):
        bhs = bytearray(bhs)
        bhs[5:8] = (len(data) if dsl is None else dsl).to_bytes(3, "big")
        dsl = len(data)
        parts = [bytes(bhs)]
        if self.hdigest:
            hd = crc32c(bhs) ^ (ALL_ONES if bad_hd else 0)
            parts.append(struct.pack("<I", hd))
        if dsl:
            parts.append(data)
            pad = (-dsl) & 3
            if pad:
                parts.append(bytes(pad))
            if self.ddigest:
                dd = crc32c(bytes(data) + bytes(pad))
                parts.append(struct.pack("<I", dd ^ (ALL_ONES if bad_dd
                                                     else 0)))
        self.send(*parts)

    def next_statsn(self):
        s = self.statsn
        self.statsn = sn_add(s, 1)
        return s

    def sn_fields(self):
        s = self.session
        if s is None:
            l = self.login
            return l.cmdsn, sn_add(l.cmdsn, self.tgt.window - 1)
        self.tgt.update_maxcmdsn(s)
        return s.expcmdsn, s.maxcmdsn

    def send_reject(self, reason, bhs):
        exp, mx = self.sn_fields()
        hdr = struct.pack(">BBBBB3x8sIIIII12x", 0x3F, 0x80, reason, 0, 0,
                          bytes(8), ALL_ONES, 0, self.next_statsn(), exp, mx)
        self.portal.stats["rejects"] += 1
        self.pdu(hdr, bhs[:48])

    def send_nopin(self, itt, ttt, lun_raw, data, consume):
        exp, mx = self.sn_fields()
        statsn = self.next_statsn() if consume else self.statsn
        hdr = struct.pack(">BBBBB3x8sIIIII12x", 0x20, 0x80, 0, 0, 0, lun_raw,
                          itt, ttt, statsn, exp, mx)
        self.pdu(hdr, data)

    def send_response(self, task, status, sense=None, resid_flags=0,
                      resid=0, expdatasn=0):
        data = b""
        if sense:
            data = struct.pack(">H", len(sense)) + sense
        exp, mx = self.sn_fields()
        hdr = struct.pack(">BBBBB3x8sIIIIIIII", 0x21, 0x80 | resid_flags, 0,
                          status, 0, bytes(8), task.itt, 0,
                          self.next_statsn(), exp, mx, expdatasn, 0, resid)
        self.pdu(hdr, data)

    # ------------------------------------------------------------ dispatch

    def handle_pdu(self, bhs, ahs, data):
        op = bhs[0] & 0x3F
        if self.tgt.args.verbose:
            self.log("pdu op 0x%02x flags 0x%02x itt 0x%08x dsl %d"
                     % (op, bhs[1], u32(bhs, 16), len(data)), 2)
        if self.state == "login":
            if op != 0x03:
                raise ProtocolError("opcode 0x%02x during login" % op)
            self.on_login(bhs, data)
            return
        if op == 0x05:
            self.on_data_out(bhs, data)
            return
        if op == 0x03:
            raise ProtocolError("Login Request in full feature phase")
        if op not in (0x00, 0x01, 0x02, 0x04, 0x06):
            self.log("rejecting unsupported opcode 0x%02x" % op)
            if op == 0x10:
                self.send_reject(0x04, bhs)     # SNACK needs ERL > 0
            else:
                self.send_reject(0x05, bhs)
            return
        if op == 0x01 and self.session.type == "Discovery":
            self.send_reject(0x04, bhs)
            return
        # NOP-Out without reply carries no CmdSN worth checking.
        if op == 0x00 and u32(bhs, 16) == ALL_ONES:
            self.on_nop_out(bhs, data)
            return
        if not self.accept_cmdsn(bhs):
            if op == 0x01:
                self.discard_itt(u32(bhs, 16))
            return
        if op == 0x00:
            self.on_nop_out(bhs, data)
        elif op == 0x01:
            self.tgt.portal_stat(self.portal, "cmds")
            self.on_scsi_cmd(bhs, ahs, data)
        elif op == 0x02:
            self.on_tmf(bhs)
        elif op == 0x04:
            self.on_text(bhs, data)
        elif op == 0x06:
            self.on_logout(bhs)

    def accept_cmdsn(self, bhs):
        """CmdSN window (RFC 7143 4.2.2.1): immediate PDUs pass; others
        must lie in [ExpCmdSN, MaxCmdSN] and advance ExpCmdSN, else they are
        silently ignored."""
        s = self.session
        if bhs[0] & 0x40:
            return True
        cmdsn = u32(bhs, 24)
        self.tgt.update_maxcmdsn(s)
        if cmdsn == s.expcmdsn:
            s.expcmdsn = sn_add(s.expcmdsn, 1)
            while s.expcmdsn in s.ahead:
                s.ahead.discard(s.expcmdsn)
                s.expcmdsn = sn_add(s.expcmdsn, 1)
            return True
        if (sn_diff(cmdsn, s.expcmdsn) > 0
                and sn_diff(cmdsn, s.maxcmdsn) <= 0
                and cmdsn not in s.ahead):
            s.ahead.add(cmdsn)
            return True
        self.log("ignoring PDU op 0x%02x with CmdSN %d outside window "
                 "[%d, %d]" % (bhs[0] & 0x3F, cmdsn, s.expcmdsn, s.maxcmdsn))
        self.portal.stats["cmdsn_ignored"] += 1
        return False

    def discard_itt(self, itt):
        self.discard_itts[itt] = True
        while len(self.discard_itts) > 1024:
            self.discard_itts.popitem(last=False)

    # ------------------------------------------------------------ login

    def login_fail(self, status, why):
        self.log("login failed 0x%04x: %s" % (status, why))
        self.portal.stats["login_failures"] += 1
        self.send_login_rsp(False, self.login.stage or 0, 0, status, [])
        self.close_when_flushed = True
        self.update_events()
        if not self.wq:
            self.close("login failed")

    def send_login_rsp(self, transit, csg, nsg, status, pairs, tsih=0,
                       itt=None):
        l = self.login
        data = encode_keys(pairs)
        flags = (csg << 2) | ((0x80 | nsg) if transit else 0)
        exp, mx = self.sn_fields()
        hdr = struct.pack(">BBBBB3x6sHIIIIIBB10x", 0x23, flags, 0, 0, 0,
                          l.isid.ljust(6, b"\0"), tsih,
                          l.itt if itt is None else itt, 0,
                          self.next_statsn(), exp, mx, status >> 8,
                          status & 0xFF)
        self.pdu(hdr, data)

    def on_login(self, bhs, data):
        tgt = self.tgt
        l = self.login
        self.login_pdus += 1
        if self.stall_login and self.login_pdus > 1:
            self.log("misbehave login_stall: login PDU %d not answered, "
                     "connection goes silent" % self.login_pdus, 0)
            self.mute = True
            self.update_events()
            return
        flags = bhs[1]
        transit, cont = bool(flags & 0x80), bool(flags & 0x40)
        csg, nsg = (flags >> 2) & 3, flags & 3
        isid, tsih = bhs[8:14], u16(bhs, 14)
        l.itt = u32(bhs, 16)
        if l.first:
            l.first = False
            l.isid, l.tsih, l.cid = isid, tsih, u16(bhs, 20)
            self.cid = l.cid
            l.cmdsn = u32(bhs, 24)
            l.stage = csg
            if bhs[3] > 0:
                return self.login_fail(0x0205, "unsupported version")
        elif isid != l.isid or tsih != l.tsih:
            return self.login_fail(0x0200, "ISID/TSIH changed during login")
        if transit and cont:
            return self.login_fail(0x020B, "T and C both set")
        if csg != l.stage or csg == 2 or csg == 3:
            return self.login_fail(0x020B, "CSG %d, expected %s"
                                   % (csg, l.stage))
        if transit and (nsg <= csg or nsg == 2):
            return self.login_fail(0x020B, "bad NSG %d" % nsg)
        l.text += data
        if len(l.text) > 65536:
            return self.login_fail(0x0200, "login text too long")
        if cont:
            self.send_login_rsp(False, csg, 0, 0, [])
            return
        pairs = parse_keys(l.text)
        l.text = b""
        keys = {}
        for k, v in pairs:
            if k in keys:
                return self.login_fail(0x0200, "key %s repeated" % k)
            keys[k] = v
        out = []
        if "InitiatorName" in keys:
            l.iname = keys.pop("InitiatorName")
        if "SessionType" in keys:
            l.stype = keys.pop("SessionType")
            if l.stype not in ("Normal", "Discovery"):
                return self.login_fail(0x0209, "SessionType %s" % l.stype)
        if "TargetName" in keys:
            l.tname = keys.pop("TargetName")
        keys.pop("InitiatorAlias", None)
        if l.iname is None:
            return self.login_fail(0x0207, "no InitiatorName")
        if l.stype == "Normal":
            if l.tname is None:
                return self.login_fail(0x0207, "no TargetName")
            if l.tname != tgt.iqn:
                return self.login_fail(0x0203, "unknown target %s" % l.tname)
            if not l.tpgt_sent:
                out.append(("TargetPortalGroupTag", str(self.portal.tag)))
                l.tpgt_sent = True
        if l.tsih != 0:
            return self.login_fail(0x020A if l.tsih not in tgt.sessions
                                   else 0x0208,
                                   "TSIH %d: adding or reinstating a "
                                   "connection is not supported" % l.tsih)
        need_auth = tgt.chap is not None and (
            l.stype == "Normal" or tgt.args.discovery_auth == "chap")
        # Security keys.
        if "AuthMethod" in keys:
            if csg != 0:
                return self.login_fail(0x020B, "AuthMethod outside SecNeg")
            offered = keys.pop("AuthMethod").split(",")
            if need_auth:
                if "CHAP" not in offered:
                    return self.login_fail(0x0201, "CHAP required, offered "
                                           + ",".join(offered))
                l.auth, l.chap_state = "CHAP", "wait_a"
            elif "None" in offered:
                l.auth, l.authenticated = "None", True
            elif "CHAP" in offered and tgt.chap is not None:
                l.auth, l.chap_state = "CHAP", "wait_a"
            else:
                out.append(("AuthMethod", "Reject"))
                self.send_login_rsp(False, csg, 0, 0x0201, out)
                self.close_when_flushed = True
                return
            out.append(("AuthMethod", l.auth))
        chap_keys = {k: keys.pop(k) for k in list(keys)
                     if k.startswith("CHAP_")}
        if chap_keys:
            r = self.chap_step(chap_keys, out)
            if r is not None:
                return self.login_fail(*r)
        # Operational keys (allowed in stage 1, or in stage 0 when the
        # initiator goes straight to full feature phase).
        for k, v in keys.items():
            self.negotiate(k, v, out)
        if keys and not l.mrdsl_declared:
            out.append(("MaxRecvDataSegmentLength",
                        str(tgt.args.max_recv_dsl)))
            l.mrdsl_declared = True
        # Transition.
        ok_to_transit = transit
        if csg == 0 and transit and not l.authenticated:
            if l.auth is None and not need_auth:
                l.authenticated = True      # security not negotiated at all
            elif l.auth is None:
                return self.login_fail(0x0201, "authentication required")
            else:
                ok_to_transit = False       # CHAP still in progress
        elif csg == 1 and need_auth and not l.authenticated:
            return self.login_fail(0x0201, "authentication required")
        if ok_to_transit and nsg == 3:
            if not l.mrdsl_declared:
                out.append(("MaxRecvDataSegmentLength",
                            str(tgt.args.max_recv_dsl)))
                l.mrdsl_declared = True
            err = self.check_params()
            if err:
                return self.login_fail(0x0200, err)
            sess = tgt.new_session(self)
            self.send_login_rsp(True, csg, 3, 0, out, tsih=sess.tsih)
            self.enter_ffp(sess)
            return
        if ok_to_transit:
            l.stage = nsg
        self.send_login_rsp(ok_to_transit, csg, nsg, 0, out)

    def chap_step(self, ck, out):
        tgt = self.tgt
        l = self.login
        if l.auth != "CHAP":
            return (0x0200, "CHAP keys without AuthMethod=CHAP")
        if "CHAP_A" in ck:
            if l.chap_state != "wait_a":
                return (0x0200, "unexpected CHAP_A")
            algs = ck.pop("CHAP_A").split(",")
            if "5" not in algs:
                out.append(("CHAP_A", "Reject"))
                return (0x0201, "no MD5 in CHAP_A=%s" % ",".join(algs))
            l.chap_id = secrets.randbelow(256)
            l.chap_chal = secrets.token_bytes(16)
            out += [("CHAP_A", "5"), ("CHAP_I", str(l.chap_id)),
                    ("CHAP_C", "0x" + l.chap_chal.hex())]
            l.chap_state = "wait_r"
        if "CHAP_N" in ck or "CHAP_R" in ck:
            if l.chap_state != "wait_r":
                return (0x0200, "unexpected CHAP_N/CHAP_R")
            name, resp = ck.pop("CHAP_N", None), ck.pop("CHAP_R", None)
            try:
                got = decode_binary(resp)
            except ValueError:
                return (0x0201, "malformed CHAP_R")
            user, secret = tgt.chap
            want = hashlib.md5(bytes([l.chap_id]) + secret
                               + l.chap_chal).digest()
            if name != user or not hmac.compare_digest(got, want):
                return (0x0201, "CHAP response for user %r does not verify"
                        % name)
            if "CHAP_I" in ck or "CHAP_C" in ck:
                if tgt.chap_target is None:
                    return (0x0201, "mutual CHAP requested, no target "
                            "credentials configured")
                try:
                    mid = int(ck.pop("CHAP_I"), 0)
                    mchal = decode_binary(ck.pop("CHAP_C"))
                except (KeyError, ValueError):
                    return (0x0201, "malformed mutual CHAP_I/CHAP_C")
                if not 0 <= mid <= 255 or not mchal:
                    return (0x0201, "bad mutual CHAP_I/CHAP_C")
                if mchal == l.chap_chal:
                    return (0x0201, "reflected CHAP challenge")
                tuser, tsecret = tgt.chap_target
                mresp = hashlib.md5(bytes([mid]) + tsecret + mchal).digest()
                out += [("CHAP_N", tuser), ("CHAP_R", "0x" + mresp.hex())]
            l.authenticated = True
            l.chap_state = "done"
        for k in ck:
            out.append((k, "NotUnderstood"))
        return None

    def negotiate(self, k, v, out):
        """Answer one operational key offered by the initiator."""
        a = self.tgt.args
        p = self.login.params

        def num(lo, hi):
            n = int(v, 0)
            if not lo <= n <= hi:
                raise ValueError(k)
            return n
        try:
            if k in ("HeaderDigest", "DataDigest"):
                offered = v.split(",")
                choice = "Reject"
                if a.prefer_digest and "CRC32C" in offered:
                    # Not RFC 7143 (the first acceptable value wins): lets
                    # an initiator offering None,CRC32C get digests.
                    offered = ["CRC32C"]
                for o in offered:
                    if o == "None" or (o == "CRC32C" and a.digest):
                        choice = o
                        break
                p[k] = choice
                out.append((k, choice))
            elif k == "MaxRecvDataSegmentLength":
                p[k] = num(512, 16777215)
            elif k == "MaxConnections":
                num(1, 65535)
                out.append((k, "1"))
            elif k == "InitialR2T":
                r = "Yes" if (v == "Yes" or a.initial_r2t == "yes") else "No"
                p[k] = r
                out.append((k, r))
            elif k == "ImmediateData":
                r = "Yes" if v == "Yes" and a.immediate_data == "yes" \
                    else "No"
                p[k] = r
                out.append((k, r))
            elif k in ("DataPDUInOrder", "DataSequenceInOrder"):
                p[k] = "Yes"
                out.append((k, "Yes"))
            elif k == "MaxBurstLength":
                p[k] = min(num(512, 16777215), a.max_burst)
                out.append((k, str(p[k])))
            elif k == "FirstBurstLength":
                p[k] = min(num(512, 16777215), a.first_burst)
                out.append((k, str(p[k])))
            elif k == "MaxOutstandingR2T":
                p[k] = min(num(1, 65535), a.max_r2t)
                out.append((k, str(p[k])))
            elif k == "DefaultTime2Wait":
                out.append((k, str(max(num(0, 3600), 2))))
            elif k == "DefaultTime2Retain":
                out.append((k, str(min(num(0, 3600), 20))))
            elif k == "ErrorRecoveryLevel":
                num(0, 2)
                out.append((k, "0"))
            elif k in ("IFMarker", "OFMarker"):
                out.append((k, "No"))
            elif k in ("IFMarkInt", "OFMarkInt"):
                out.append((k, "Irrelevant"))
            elif k == "iSCSIProtocolLevel":
                out.append((k, str(min(num(0, 31), 1))))
            elif k == "TaskReporting":
                out.append((k, "RFC3720" if "RFC3720" in v.split(",")
                            else "Reject"))
            elif k in ("TargetAlias", "TargetAddress", "TargetPortalGroupTag"):
                out.append((k, "Reject"))   # target-only keys
            elif k == "SendTargets":
                out.append((k, "Irrelevant"))
            else:
                out.append((k, "NotUnderstood"))
        except (ValueError, TypeError, AttributeError):
            out.append((k, "Reject"))

    def check_params(self):
        p = self.login.params
        mb = p.get("MaxBurstLength", min(262144, self.tgt.args.max_burst))
        fb = p.get("FirstBurstLength", min(65536, self.tgt.args.first_burst))
        if fb > mb:
            p["FirstBurstLength"] = mb
        return None

    def enter_ffp(self, sess):
        p = self.login.params
        a = self.tgt.args
        sess.params = {
            "InitialR2T": p.get("InitialR2T", "Yes") == "Yes",
            "ImmediateData": p.get("ImmediateData", "Yes") == "Yes"
            and a.immediate_data == "yes",
            "MaxBurstLength": p.get("MaxBurstLength",
                                    min(262144, a.max_burst)),
            "FirstBurstLength": p.get("FirstBurstLength",
                                      min(65536, a.first_burst)),
            "MaxOutstandingR2T": p.get("MaxOutstandingR2T", 1),
        }
        if a.initial_r2t == "yes":
            sess.params["InitialR2T"] = True
        sess.params["FirstBurstLength"] = min(sess.params["FirstBurstLength"],
                                              sess.params["MaxBurstLength"])
        self.mrdsl_out = p.get("MaxRecvDataSegmentLength", 8192)
        self.hdigest = p.get("HeaderDigest") == "CRC32C"
        self.ddigest = p.get("DataDigest") == "CRC32C"
        self.session = sess
        self.state = "ffp"
        self.login = LoginState()
        self.login.isid = sess.isid
        self.log("login ok: %s session tsih %d isid %s initiator %s %s"
                 % (sess.type, sess.tsih, sess.isid.hex(), sess.iname,
                    json.dumps(sess.params)))

    # ------------------------------------------------------------ FFP PDUs

    def on_nop_out(self, bhs, data):
        itt, ttt = u32(bhs, 16), u32(bhs, 20)
        if ttt != ALL_ONES:
            if itt != ALL_ONES:
                raise ProtocolError("NOP-Out with both ITT and TTT set")
            if self.pings.pop(ttt, None) is not None:
                self.portal.stats["pings_answered"] += 1
            return
        if itt == ALL_ONES:
            return
        self.send_nopin(itt, ALL_ONES, bhs[8:16],
                        data[:self.mrdsl_out], True)

    def on_text(self, bhs, data):
        itt, ttt = u32(bhs, 16), u32(bhs, 20)
        if bhs[1] & 0x40:
            # Multi-PDU requests are not needed by anyone we test with.
            self.send_reject(0x04, bhs)
            return
        tp = self.text_pending
        if ttt != ALL_ONES and tp and tp[0] == ttt:
            rest = self.text_pending[1]
        else:
            self.text_pending = None
            pairs = parse_keys(data)
            out = []
            for k, v in pairs:
                if k == "SendTargets":
                    out += self.tgt.send_targets(v, self.session)
                elif k == "MaxRecvDataSegmentLength":
                    try:
                        n = int(v, 0)
                        if 512 <= n <= 16777215:
                            self.mrdsl_out = n
                    except ValueError:
                        out.append((k, "Reject"))
                else:
                    out.append((k, "NotUnderstood"))
            rest = encode_keys(out)
        chunk, rest = rest[:self.mrdsl_out], rest[self.mrdsl_out:]
        if rest:
            nttt = next(self.ttt_seq)
            self.text_pending = (nttt, rest)
            flags, rttt = 0x40, nttt
        else:
            self.text_pending = None
            flags, rttt = 0x80, ALL_ONES
        exp, mx = self.sn_fields()
        hdr = struct.pack(">BBBBB3x8sIIIII12x", 0x24, flags, 0, 0, 0,
                          bhs[8:16], itt, rttt, self.next_statsn(), exp, mx)
        self.pdu(hdr, chunk)

    def on_logout(self, bhs):
        reason = bhs[1] & 0x7F
        itt = u32(bhs, 16)
        resp = 0
        if reason == 2:
            resp = 2             # connection recovery not supported
        elif reason == 1 and u16(bhs, 20) != self.cid:
            resp = 1             # CID not found
        exp, mx = self.sn_fields()
        hdr = struct.pack(">BBBBB3x8sIIIII4xHH4x", 0x26, 0x80, resp, 0, 0,
                          bytes(8), itt, 0, self.next_statsn(), exp, mx, 0, 0)
        self.pdu(hdr)
        self.log("logout reason %d -> response %d" % (reason, resp))
        if resp == 0:
            self.portal.stats["logouts"] += 1
            self.close_when_flushed = True
            self.update_events()
            if not self.wq:
                self.close("logged out")

    def on_tmf(self, bhs):
        func = bhs[1] & 0x7F
        itt, rtt = u32(bhs, 16), u32(bhs, 20)
        refcmdsn = u32(bhs, 32)
        lun = decode_lun(bhs[8:16])
        tgt = self.tgt
        sess = self.session
        resp = 0
        self.portal.stats["tmfs"] += 1
        if func == 1:                                    # ABORT TASK
            t = self.tasks.get(rtt)
            if t is not None:
                self.abort_task(t)
            elif (sn_diff(refcmdsn, sess.expcmdsn) >= 0
                  and sn_diff(refcmdsn, u32(bhs, 24)) < 0):
                # Never received: consider that CmdSN received (RFC 7143
                # 11.5.1 b) so the window does not stall on it.
                sess.ahead.add(refcmdsn)
                while sess.expcmdsn in sess.ahead:
                    sess.ahead.discard(sess.expcmdsn)
                    sess.expcmdsn = sn_add(sess.expcmdsn, 1)
                self.discard_itt(rtt)
            else:
                resp = 1                                 # task does not exist
        elif func in (2, 4):                             # ABORT/CLEAR TASK SET
            if lun not in tgt.luns:
                resp = 2
            else:
                conns = [self] if func == 2 else list(tgt.conns)
                for c in conns:
                    for t in list(c.tasks.values()):
                        if t.lun == lun:
                            c.abort_task(t)
        elif func == 3:                                  # CLEAR ACA
            resp = 0
        elif func == 5:                                  # LOGICAL UNIT RESET
            if lun not in tgt.luns:
                resp = 2
            else:
                tgt.reset(lun)
        elif func in (6, 7):                             # TARGET RESET
            tgt.reset(None)
        elif func == 8:                                  # TASK REASSIGN
            resp = 4
        else:
            resp = 255
        exp, mx = self.sn_fields()
        hdr = struct.pack(">BBBBB3x8sIIIII12x", 0x22, 0x80, resp, 0, 0,
                          bytes(8), itt, 0, self.next_statsn(), exp, mx)
        self.pdu(hdr)
        self.log("TMF %d ref 0x%08x lun %d -> %d" % (func, rtt, lun, resp))
        if func == 7:
            tgt.call_later(0, lambda: tgt.drop_all("target cold reset"))

    def abort_task(self, t):
        if t.aborted:
            return
        t.aborted = True
        if t.timer is not None:
            t.timer.cancelled = True
        self.tasks.pop(t.itt, None)
        for ttt in t.r2ts:
            self.ttts.pop(ttt, None)
        if t.wflag:
            self.discard_itt(t.itt)

    # ------------------------------------------------------------ SCSI

    def on_scsi_cmd(self, bhs, ahs, data):
        itt = u32(bhs, 16)
        if itt in self.tasks:
            self.send_reject(0x07, bhs)                 # task in progress
            return
        self.discard_itts.pop(itt, None)
        flags = bhs[1]
        if (self.portal.misbehave and (not flags & 0x20
                                       or len(data) >= u32(bhs, 20))):
            # Only commands whose data all came along: no Data-Out follows.
            rule = self.portal.take_rule(MISBEHAVE_CMD, self)
            if rule is not None:
                reason = int(rule.get("reason", 0x05))
                self.log("misbehave reject: ITT 0x%08x CDB %s, reason 0x%02x"
                         % (itt, bytes(bhs[32:48]).hex(), reason), 0)
                self.discard_itt(itt)
                self.send_reject(reason, bhs)
                return
        cdb = bhs[32:48]
        o = 0
        while o + 4 <= len(ahs):
            alen, atype = u16(ahs, o), ahs[o + 2]
            if o + 3 + alen > len(ahs):
                raise ProtocolError("truncated AHS")
            if atype == 1:
                cdb += ahs[o + 4:o + 3 + alen]
            elif atype == 2:
                self.send_reject(0x05, bhs)             # no bidi commands
                return
            o += (3 + alen + 3) & ~3
        t = Task(self, itt, bhs[8:16], cdb, u32(bhs, 20), bool(flags & 0x40),
                 bool(flags & 0x20), u32(bhs, 24))
        t.lu = self.tgt.luns.get(t.lun)
        sess = self.session
        imm = len(data)
        if imm:
            if not t.wflag or not sess.params["ImmediateData"]:
                raise ProtocolError("immediate data not allowed")
            if imm > min(t.edtl, sess.params["FirstBurstLength"]):
                raise ProtocolError("immediate data %d > min(EDTL %d, "
                                    "FirstBurstLength)" % (imm, t.edtl))
        if not flags & 0x80:
            if not t.wflag or sess.params["InitialR2T"]:
                raise ProtocolError("F=0 on a command without unsolicited "
                                    "Data-Out allowed")
            t.unsol = True
            t.unsol_end = min(t.edtl, sess.params["FirstBurstLength"])
            if imm >= t.unsol_end:
                raise ProtocolError("F=0 but no unsolicited data left")
        self.tasks[itt] = t
        tgt = self.tgt
        try:
            r = tgt.scsi_prepare(self, t)
        except CheckCondition as e:
            r = e
        if isinstance(r, NeedData):
            t.need, t.then = r.need, r.fn
            edtl = t.edtl if t.wflag else 0
            if edtl != r.need and not r.partial:
                # EDTL does not match a parameter list: refuse (INVALID
                # FIELD IN INFORMATION UNIT), with residuals.
                self.finish(t, CheckCondition(0x05, 0x0E, 0x03))
                return
            if edtl == 0:
                self.run_second_phase(t)
                return
            # EDTL != transfer length on a WRITE: take EDTL bytes, write
            # what both agree on, report the residual (what libiscsi's
            # iSCSIResiduals tests and tgtd do).
            t.buf = bytearray(t.edtl)
            if imm:
                t.buf[0:imm] = data
                t.got = imm
            self.portal.stats["write_bytes"] += imm
            self.data_progress(t)
            return
        self.finish(t, r)

    def finish(self, t, r):
        """Complete task t with result r (bytes/None for GOOD or a
        CheckCondition), after the fault-injected delay if any."""
        if t.aborted:
            return
        if t.unsol or (t.wflag and t.got < t.edtl):
            # Unsolicited Data-Out may still be on its way: drop it.
            self.discard_itt(t.itt)
            for ttt in t.r2ts:
                self.ttts.pop(ttt, None)
            t.r2ts.clear()
        if t.hung:
            return
        delay = self.tgt.delay_for(self.portal)
        if delay > 0:
            t.timer = self.tgt.call_later(delay / 1000.0,
                                          lambda: self.complete(t, r))
        else:
            self.complete(t, r)

    def complete(self, t, r):
        if t.aborted or self.closed:
            return
        self.tasks.pop(t.itt, None)
        rf, resid = 0, 0
        if t.need:
            # A data-out command: residuals compare EDTL with the CDB.
            edtl = t.edtl if t.wflag else 0
            if edtl < t.need:
                rf, resid = 0x04, t.need - edtl
            elif edtl > t.need:
                rf, resid = 0x02, edtl - t.need
        if isinstance(r, CheckCondition):
            self.portal.stats["check_conditions"] += 1
            self.send_response(t, r.status, r.sense(), rf, resid,
                               expdatasn=t.r2tsn)
            return
        data = r if r is not None else b""
        want = len(data)
        edtl = t.edtl if t.rflag else 0
        if t.need or (t.wflag and not t.rflag):
            self.send_response(t, 0, None, rf, resid, expdatasn=t.r2tsn)
            return
        if want and not t.rflag:
            # The CDB wants to send data but the initiator asked for none.
            self.send_response(t, 0, None, 0x04, want)
            return
        send = min(want, edtl)
        rf, resid = 0, 0
        if want > edtl:
            rf, resid = 0x04, want - edtl
        elif want < edtl:
            rf, resid = 0x02, edtl - want
        if send == 0:
            self.send_response(t, 0, None, rf, resid)
            return
        self.send_data_in(t, memoryview(data)[:send], rf, resid)

    def send_data_in(self, t, mv, rf, resid):
        total = len(mv)
        seg = max(512, self.mrdsl_out)
        burst = self.session.params["MaxBurstLength"]
        off = 0
        datasn = 0
        in_burst = 0
        self.portal.stats["read_bytes"] += total
        while off < total:
            n = min(seg, total - off, burst - in_burst)
            last = off + n >= total
            in_burst += n
            flags = 0
            if last or in_burst >= burst:
                flags |= 0x80
                in_burst = 0
            status, statsn = 0, 0
            exp, mx = self.sn_fields()
            r = 0
            if last:
                flags |= 0x01 | rf
                statsn = self.next_statsn()
                r = resid
            hdr = struct.pack(">BBBBB3x8sIIIIIIII", 0x25, flags, 0, status, 0,
                              t.lun_raw, t.itt, ALL_ONES, statsn, exp, mx,
                              datasn, off, r)
            self.pdu(hdr, mv[off:off + n])
            datasn += 1
            off += n

    def data_progress(self, t):
        """After the command PDU or a Data-Out: send R2Ts for what is still
        missing, or run the command once everything arrived."""
        if t.aborted:
            return
        if t.got >= t.edtl and not t.r2ts:
            t.unsol = False
            self.run_second_phase(t)
            return
        if t.unsol:
            return               # wait for the unsolicited sequence first
        if t.r2t_next < t.got:
            t.r2t_next = t.got
        sess = self.session
        mb = sess.params["MaxBurstLength"]
        while (len(t.r2ts) < sess.params["MaxOutstandingR2T"]
               and t.r2t_next < t.edtl):
            n = min(mb, t.edtl - t.r2t_next)
            ttt = next(self.ttt_seq) & 0x7FFFFFFF
            t.r2ts[ttt] = [t.r2t_next, n, t.r2t_next, 0]
            self.ttts[ttt] = t
            exp, mx = self.sn_fields()
            hdr = struct.pack(">BBBBB3x8sIIIIIIII", 0x31, 0x80, 0, 0, 0,
                              t.lun_raw, t.itt, ttt, self.statsn, exp, mx,
                              t.r2tsn, t.r2t_next, n)
            self.pdu(hdr)
            t.r2tsn += 1
            t.r2t_next += n

    def on_data_out(self, bhs, data):
        itt, ttt = u32(bhs, 16), u32(bhs, 20)
        final = bool(bhs[1] & 0x80)
        datasn, off = u32(bhs, 36), u32(bhs, 40)
        n = len(data)
        t = self.tasks.get(itt)
        if t is None or t.buf is None:
            if itt in self.discard_itts:
                return           # aborted or already answered: drop quietly
            self.log("Data-Out for unknown ITT 0x%08x" % itt)
            self.send_reject(0x09, bhs)
            return
        if ttt == ALL_ONES:
            if not t.unsol:
                raise ProtocolError("unsolicited Data-Out not expected "
                                    "(ITT 0x%08x)" % itt)
            if datasn != t.unsol_datasn:
                raise ProtocolError("unsolicited DataSN %d, expected %d"
                                    % (datasn, t.unsol_datasn))
            if off != t.got or off + n > t.unsol_end:
                raise ProtocolError("unsolicited Data-Out offset %d len %d "
                                    "(expected offset %d, end %d)"
                                    % (off, n, t.got, t.unsol_end))
            t.buf[off:off + n] = data
            t.got += n
            t.unsol_datasn += 1
            self.portal.stats["write_bytes"] += n
            if final:
                t.unsol = False
            elif t.got >= t.unsol_end:
                raise ProtocolError("unsolicited sequence ended without F")
            self.data_progress(t)
            return
        r = t.r2ts.get(ttt)
        if r is None or self.ttts.get(ttt) is not t:
            raise ProtocolError("Data-Out with unknown TTT 0x%08x" % ttt)
        start, length, nxt, exp_sn = r
        if datasn != exp_sn:
            raise ProtocolError("DataSN %d, expected %d (ITT 0x%08x)"
                                % (datasn, exp_sn, itt))
        if off != nxt or off + n > start + length:
            raise ProtocolError("Data-Out offset %d len %d outside R2T "
                                "[%d, %d) at %d" % (off, n, start,
                                                    start + length, nxt))
        t.buf[off:off + n] = data
        r[2] = off + n
        r[3] += 1
        t.got = max(t.got, off + n)
        self.portal.stats["write_bytes"] += n
        done = r[2] == start + length
        if final != done:
            raise ProtocolError("F bit %d at offset %d of R2T [%d, %d)"
                                % (final, r[2], start, start + length))
        if done:
            del t.r2ts[ttt]
            self.ttts.pop(ttt, None)
            self.data_progress(t)

    def run_second_phase(self, t):
        try:
            buf = t.buf if t.buf is not None else b""
            r = t.then(t, memoryview(buf)[:t.need])
        except CheckCondition as e:
            r = e
        self.finish(t, r)


# ---------------------------------------------------------------- target


class Timer:
    __slots__ = ("when", "fn", "cancelled")

    def __init__(self, when, fn):
        self.when, self.fn, self.cancelled = when, fn, False

    def __lt__(self, other):
        return self.when < other.when


class Target:
    def __init__(self, args):
        self.args = args
        self.iqn = args.target
        self.window = args.cmdsn_window
        self.logf = None
        if args.log:
            self.logf = open(args.log, "a", buffering=1)
        self.sel = selectors.DefaultSelector()
        self.portals = [Portal(s, i) for i, s in enumerate(args.portal)]
        names = [p.name for p in self.portals]
        if len(set(names)) != len(names):
            raise ValueError("duplicate portal")
        rtpis = [p.rtpi for p in self.portals]
        if len(set(rtpis)) != len(rtpis):
            raise ValueError("duplicate relative target port id")
        self.tpgs = {}
        for p in self.portals:
            self.tpgs.setdefault(p.tpg, TPG(p.tpg))
        for spec in args.tpg_state or []:
            tid, _, st = spec.partition("=")
            tid = int(tid, 0)
            if tid not in self.tpgs or st not in ALUA_STATES:
                raise ValueError("--tpg-state %r" % spec)
            self.tpgs[tid].state = st
        for tid in args.tpg_pref or []:
            if tid not in self.tpgs:
                raise ValueError("--tpg-pref %d: no such TPG" % tid)
            self.tpgs[tid].pref = True
        naa_base = parse_naa(args.naa) if args.naa else None
        self.luns = {}
        for spec in args.lun or ["0:64M"]:
            lu = Lun(spec, self.iqn, naa_base)
            if lu.num in self.luns:
                raise ValueError("duplicate LUN %d" % lu.num)
            self.luns[lu.num] = lu
        self.chap = read_cred(args.chap_file) if args.chap_file else None
        self.chap_target = (read_cred(args.chap_target_file)
                            if args.chap_target_file else None)
        if self.chap_target and not self.chap:
            raise ValueError("--chap-target-file needs --chap-file")
        self.sessions = {}
        self.conns = set()
        self.conn_ids = itertools.count(1)
        self.tsih_next = 1
        self.timers = []
        self.running = True
        self.delay_ms = 0
        self.faults = []         # fail_next / hang_next rules
        self.nop_interval = args.nop_interval
        self.nop_timer = None
        self.ctl = None
        self.ctl_conns = {}
        self.ops = self.build_ops()

    # ------------------------------------------------------------ misc

    def log(self, msg, level=1):
        if level > 1 and not self.args.verbose:
            return
        line = "%s pytarget[%d]: %s\n" % (time.strftime("%H:%M:%S"),
                                          os.getpid(), msg)
        (self.logf or sys.stderr).write(line)

    def call_later(self, secs, fn):
        t = Timer(time.monotonic() + secs, fn)
        heapq.heappush(self.timers, t)
        return t

    def run_timers(self):
        now = time.monotonic()
        while self.timers and self.timers[0].when <= now:
            t = heapq.heappop(self.timers)
            if not t.cancelled:
                t.fn()

    def portal_stat(self, portal, key, n=1):
        portal.stats[key] += n

    def delay_for(self, portal):
        if portal.delay_ms is not None:
            return portal.delay_ms
        return self.delay_ms

    def update_maxcmdsn(self, s):
        """MaxCmdSN = ExpCmdSN + window - 1 - tasks in progress, never moved
        backwards (initiators ignore that anyway)."""
        busy = len(s.conn.tasks) if s.conn else 0
        want = sn_add(s.expcmdsn, self.window - 1 - busy)
        if sn_diff(want, s.maxcmdsn) > 0:
            s.maxcmdsn = want

    def find_portal(self, name):
        for p in self.portals:
            if p.name == name:
                return p
        raise ValueError("no portal %r (have %s)"
                         % (name, ", ".join(p.name for p in self.portals)))

    # ------------------------------------------------------------ setup

    def listen(self, p):
        s = socket.socket(p.family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if p.family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind((p.addr, p.port))
        s.listen(64)
        s.setblocking(False)
        p.lsock = s
        self.sel.register(s, selectors.EVENT_READ, ("accept", p))

    def unlisten(self, p):
        if p.lsock is not None:
            self.sel.unregister(p.lsock)
            p.lsock.close()
            p.lsock = None

    def start(self):
        for p in self.portals:
            self.listen(p)
        if self.args.control:
            try:
                os.unlink(self.args.control)
            except FileNotFoundError:
                pass
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            old = os.umask(0o077)
            try:
                s.bind(self.args.control)
            finally:
                os.umask(old)
            s.listen(16)
            s.setblocking(False)
            self.ctl = s
            self.sel.register(s, selectors.EVENT_READ, ("ctl-accept", None))
        if self.nop_interval > 0:
            self.schedule_nop()
        self.log("target %s listening on %s; LUNs %s" % (
            self.iqn, ", ".join("%s (tpg %d, rtpi %d, tag %d)"
                                % (p.name, p.tpg, p.rtpi, p.tag)
                                for p in self.portals),
            ", ".join("%d: %d blocks %s naa.%s" % (n, lu.nblocks,
                                                   lu.store.kind, lu.naa.hex())
                      for n, lu in sorted(self.luns.items()))))

    def accept(self, p):
        for _ in range(64):
            try:
                s, peer = p.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                self.log("accept on %s: %s" % (p.name, e))
                return
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            peer_s = ("[%s]:%d" % peer[:2]) if p.family == socket.AF_INET6 \
                else "%s:%d" % peer
            c = Conn(self, s, p, peer_s)
            p.conns.add(c)
            self.conns.add(c)
            p.stats["connections"] += 1
            c.log("accepted")
            rule = p.take_rule(MISBEHAVE_ACCEPT, c) if p.misbehave else None
            if rule is not None and rule["what"] == "silent":
                c.log("misbehave silent: never reading or answering", 0)
                c.mute = True
                c.update_events()
            elif rule is not None:
                c.log("misbehave login_stall: answering one login PDU only",
                      0)
                c.stall_login = True

    def new_session(self, conn):
        l = conn.login
        if l.stype == "Normal":
            for s in list(self.sessions.values()):
                if (s.iname == l.iname and s.isid == l.isid
                        and s.tname == l.tname and s.tag == conn.portal.tag):
                    self.log("session reinstatement: dropping tsih %d "
                             "(isid %s, %s)" % (s.tsih, s.isid.hex(), s.iname))
                    conn.portal.stats["reinstatements"] += 1
                    if s.conn is not None:
                        s.conn.close("session reinstated")
                    self.sessions.pop(s.tsih, None)
        for _ in range(65536):
            tsih = self.tsih_next
            self.tsih_next = self.tsih_next % 65535 + 1
            if tsih not in self.sessions:
                break
        else:
            raise ProtocolError("no free TSIH")
        s = Session(self, tsih, conn, l)
        self.sessions[tsih] = s
        conn.portal.stats["logins"] += 1
        return s

    def drop_all(self, why):
        for c in list(self.conns):
            c.close(why, rst=True)

    def reset(self, lun):
        """LU reset (lun given) or target reset: abort tasks, tell every
        I_T nexus with a unit attention (the issuer's too, as tgtd does and
        libiscsi's MultipathIO.Reset test expects)."""
        for c in list(self.conns):
            for t in list(c.tasks.values()):
                if lun is None or t.lun == lun:
                    c.abort_task(t)
        for s in self.sessions.values():
            if s.type != "Normal":
                continue
            for n in ([lun] if lun is not None else self.luns):
                s.add_ua(n, 0x29, 0x03 if lun is not None else 0x02)

    def send_targets(self, what, sess):
        if sess.type == "Discovery":
            if what not in ("All", self.iqn):
                return []
        elif what not in ("", None, self.iqn):
            return []
        out = [("TargetName", self.iqn)]
        for p in self.portals:
            if p.lsock is not None:
                out.append(("TargetAddress", "%s,%d" % (p.name, p.tag)))
        return out

    # ------------------------------------------------------------ NOP-In

    def schedule_nop(self):
        if self.nop_timer is not None:
            self.nop_timer.cancelled = True
            self.nop_timer = None
        if self.nop_interval > 0:
            self.nop_timer = self.call_later(self.nop_interval / 1000.0,
                                             self.nop_tick)

    def nop_tick(self):
        self.nop_timer = None
        now = time.monotonic()
        for c in list(self.conns):
            if c.state != "ffp" or c.closed or c.portal.blackhole:
                continue
            for ttt, sent in list(c.pings.items()):
                if now - sent > 2 * self.nop_interval / 1000.0:
                    c.pings.pop(ttt)
                    c.portal.stats["pings_lost"] += 1
                    c.log("NOP-In ping 0x%08x not answered" % ttt)
            ttt = next(c.ttt_seq) & 0x7FFFFFFF
            c.pings[ttt] = now
            c.portal.stats["pings_sent"] += 1
            c.send_nopin(ALL_ONES, ttt, bytes(8), b"", False)
        self.schedule_nop()

    # ------------------------------------------------------------ SCSI

    def build_ops(self):
        return {
            0x00: self.op_tur,
            0x03: self.op_request_sense,
            0x08: self.op_read, 0x28: self.op_read, 0xA8: self.op_read,
            0x88: self.op_read,
            0x0A: self.op_write, 0x2A: self.op_write, 0xAA: self.op_write,
            0x8A: self.op_write,
            0x2E: self.op_write, 0xAE: self.op_write, 0x8E: self.op_write,
            0x2F: self.op_verify, 0xAF: self.op_verify, 0x8F: self.op_verify,
            0x15: self.op_mode_select, 0x55: self.op_mode_select,
            0x1A: self.op_mode_sense, 0x5A: self.op_mode_sense,
            0x1B: self.op_nothing, 0x1E: self.op_nothing,
            0x25: self.op_read_capacity10,
            0x9E: self.op_service_action_in,
            0x35: self.op_sync, 0x91: self.op_sync,
            0x34: self.op_prefetch, 0x90: self.op_prefetch,
            0x41: self.op_write_same, 0x93: self.op_write_same,
            0x42: self.op_unmap,
            0x89: self.op_compare_and_write,
            0xA3: self.op_maintenance_in,
        }

    def scsi_prepare(self, conn, t):
        """First phase of a SCSI command: addressing, unit attentions,
        ALUA, injected faults, CDB checks.  Returns data-in bytes, None, or
        NeedData; raises CheckCondition."""
        cdb = t.cdb
        op = cdb[0]
        if op == 0xA0:
            return self.op_report_luns(t)
        if op == 0x12:
            return self.op_inquiry(conn, t)
        sess = conn.session
        if t.lu is None:
            if op == 0x03:
                return sense_fixed(0x05, 0x25, 0x00)[:cdb[4]]
            raise CheckCondition(0x05, 0x25, 0x00)
        if op == 0x03:
            return self.op_request_sense(t)
        ua = sess.pop_ua(t.lun)
        if ua is not None:
            raise CheckCondition(0x06, ua[0], ua[1])
        if self.args.alua:
            st = self.tpgs[conn.portal.tpg].state
            if st in ALUA_ALLOWED:
                allowed = ALUA_ALLOWED[st]
                if (op not in allowed
                        and (op, cdb[1] & 0x1F) not in allowed):
                    raise CheckCondition(0x02, 0x04, ALUA_ASCQ[st])
        fault = self.match_fault(conn.portal, t)
        if fault is not None:
            if fault == "hang":
                t.hung = True
                return None
            status, key, asc, ascq = fault
            raise CheckCondition(key, asc, ascq, status=status)
        fn = self.ops.get(op)
        if fn is None:
            raise CheckCondition(0x05, 0x20, 0x00)
        return fn(t)

    def match_fault(self, portal, t):
        op = t.cdb[0]
        for rule in self.faults:
            if rule["n"] <= 0:
                continue
            if rule.get("portal") not in (None, portal.name):
                continue
            if rule.get("lun") not in (None, t.lun):
                continue
            if rule["ops"] == "rw" and op not in RW_OPS:
                continue
            rule["n"] -= 1
            portal.stats["faults_injected"] += 1
            self.faults = [r for r in self.faults if r["n"] > 0]
            return rule["what"]
        return None

    # Every opcode below receives the task with t.lu set.

    def lba_len(self, t):
        c = t.cdb
        op = c[0]
        if op in (0x08, 0x0A):
            lba = ((c[1] & 0x1F) << 16) | (c[2] << 8) | c[3]
            n = c[4] or 256
        elif op in (0x28, 0x2A, 0x2E, 0x2F, 0x35, 0x34, 0x41):
            lba, n = u32(c, 2), u16(c, 7)
        elif op in (0xA8, 0xAA, 0xAE, 0xAF):
            lba, n = u32(c, 2), u32(c, 6)
        else:                    # 16-byte CDBs
            lba, n = u64(c, 2), u32(c, 10)
        return lba, n

    def check_range(self, t, lba, n):
        if lba + n > t.lu.nblocks or lba >= (1 << 64):
            raise CheckCondition(0x05, 0x21, 0x00)

    def op_tur(self, t):
        return None

    def op_nothing(self, t):
        return None

    def op_request_sense(self, t):
        conn = t.conn
        ua = conn.session.pop_ua(t.lun)
        if ua is not None:
            s = sense_fixed(0x06, ua[0], ua[1])
        else:
            s = sense_fixed(0x00, 0x00, 0x00)
        return s[:t.cdb[4]]

    def op_read(self, t):
        lba, n = self.lba_len(t)
        if t.cdb[1] >> 5 and t.cdb[0] != 0x08:
            raise illegal()      # RDPROTECT without protection information
        self.check_range(t, lba, n)
        if n > MAX_XFER_BLOCKS:
            raise illegal()
        return t.lu.store.read(lba * BS, n * BS)

    def op_write(self, t):
        lba, n = self.lba_len(t)
        if t.cdb[1] >> 5 and t.cdb[0] != 0x0A:
            raise illegal()
        self.check_range(t, lba, n)
        if n > MAX_XFER_BLOCKS:
            raise illegal()
        if t.lu.readonly:
            raise CheckCondition(0x07, 0x27, 0x00)
        if n == 0:
            return None

        def then(t, data):
            k = len(data) // BS * BS
            if k:
                t.lu.store.write(lba * BS, data[:k])
            return None
        return NeedData(n * BS, then, partial=True)

    def op_verify(self, t):
        lba, n = self.lba_len(t)
        c = t.cdb
        if c[1] >> 5:
            raise illegal()
        self.check_range(t, lba, n)
        bytchk = (c[1] >> 1) & 3
        if bytchk == 0 or n == 0:
            return None
        if bytchk not in (1, 3):
            raise illegal()
        want = BS if bytchk == 3 else n * BS

        def then(t, data):
            have = t.lu.store.read(lba * BS, n * BS)
            for i in range(n):
                blk = data[(0 if bytchk == 3 else i) * BS:][:BS]
                if have[i * BS:(i + 1) * BS] != blk:
                    for j in range(BS):
                        if have[i * BS + j] != blk[j]:
                            raise CheckCondition(0x0E, 0x1D, 0x00,
                                                 info=i * BS + j)
            return None
        return NeedData(want, then)

    def op_prefetch(self, t):
        lba, n = self.lba_len(t)
        self.check_range(t, lba, n)
        return None

    def op_sync(self, t):
        lba, n = self.lba_len(t)
        self.check_range(t, lba, n)
        t.lu.store.sync()
        return None

    def op_write_same(self, t):
        c = t.cdb
        lba, n = self.lba_len(t)
        if c[1] >> 5:
            raise illegal()
        if c[1] & 0x10:
            raise illegal()      # ANCHOR: no anchored LBAs (ANC_SUP=0)
        unmap = bool(c[1] & 0x08)
        ndob = c[0] == 0x93 and bool(c[1] & 0x01)
        if n == 0:
            n = t.lu.nblocks - lba if lba < t.lu.nblocks else 0
        self.check_range(t, lba, n)
        if n > MAX_WS_BLOCKS:
            raise illegal()
        if t.lu.readonly:
            raise CheckCondition(0x07, 0x27, 0x00)
        store = t.lu.store

        def do(block):
            if unmap:
                # Deallocate whatever the data says (LBPRZ=1: reads as
                # zeroes), as LIO does.
                store.zero(lba * BS, n * BS)
                return None
            if not any(block):
                store.zero(lba * BS, n * BS) if store.kind == "memory" \
                    else store.write(lba * BS, bytes(n * BS))
                return None
            step = max(1, (1 << 20) // BS)
            for i in range(0, n, step):
                k = min(step, n - i)
                store.write((lba + i) * BS, bytes(block) * k)
            return None
        if ndob:
            if not unmap:
                raise illegal()
            return do(bytes(BS))
        return NeedData(BS, lambda t, data: do(bytes(data)))

    def op_unmap(self, t):
        c = t.cdb
        plen = u16(c, 7)
        if c[1] & 0x01:
            raise illegal()      # ANCHOR
        if t.lu.readonly:
            raise CheckCondition(0x07, 0x27, 0x00)
        if plen == 0:
            return None
        if plen < 8:
            raise CheckCondition(0x05, 0x1A, 0x00)

        def then(t, data):
            data = bytes(data)
            dlen = u16(data, 2)
            if dlen > len(data) - 8 or dlen % 16:
                raise CheckCondition(0x05, 0x26, 0x00)
            if dlen // 16 > MAX_UNMAP_DESC:
                raise CheckCondition(0x05, 0x26, 0x00)
            ranges = []
            for o in range(8, 8 + dlen, 16):
                lba, n = u64(data, o), u32(data, o + 8)
                self.check_range(t, lba, n)
                if n > MAX_UNMAP_BLOCKS:
                    raise CheckCondition(0x05, 0x26, 0x00)
                ranges.append((lba, n))
            for lba, n in ranges:
                t.lu.store.zero(lba * BS, n * BS)
            return None
        return NeedData(plen, then)

    def op_compare_and_write(self, t):
        c = t.cdb
        lba, n = u64(c, 2), c[13]
        if c[1] >> 5:
            raise illegal()
        if n > MAX_CAW_BLOCKS:
            raise illegal()
        self.check_range(t, lba, n)
        if n == 0:
            if t.wflag and t.edtl:
                raise illegal()  # data for a zero-length compare
            return None

        def then(t, data):
            have = t.lu.store.read(lba * BS, n * BS)
            cmp_ = bytes(data[:n * BS])
            if have != cmp_:
                for j in range(n * BS):
                    if have[j] != cmp_[j]:
                        raise CheckCondition(0x0E, 0x1D, 0x00, info=j)
            t.lu.store.write(lba * BS, data[n * BS:2 * n * BS])
            return None
        return NeedData(2 * n * BS, then)

    def op_read_capacity10(self, t):
        last = t.lu.nblocks - 1
        return struct.pack(">II", min(last, ALL_ONES), BS)

    def op_service_action_in(self, t):
        c = t.cdb
        sa = c[1] & 0x1F
        alloc = u32(c, 10)
        if sa == 0x10:                                  # READ CAPACITY 16
            lu = t.lu
            d = struct.pack(">QIBBH16x", lu.nblocks - 1, BS, 0, 0,
                            0x8000 | 0x4000)            # LBPME, LBPRZ
            return d[:alloc]
        if sa == 0x12:                                  # GET LBA STATUS
            lba = u64(c, 2)
            if lba >= t.lu.nblocks:
                raise CheckCondition(0x05, 0x21, 0x00)
            store = t.lu.store
            gran = store.granularity()
            state = 0 if store.mapped(lba * BS) else 1
            end = (lba // gran + 1) * gran
            while end < t.lu.nblocks and end - lba < (1 << 20):
                if (0 if store.mapped(end * BS) else 1) != state:
                    break
                end += gran
            end = min(end, t.lu.nblocks)
            d = struct.pack(">I4xQIB3x", 20, lba, end - lba, state)
            return d[:alloc]
        raise illegal()

    def op_mode_select(self, t):
        c = t.cdb
        plen = c[4] if c[0] == 0x15 else u16(c, 7)
        if plen == 0:
            return None
        return NeedData(plen, lambda t, data: None)

    def mode_pages(self, t, page, pc):
        caching = bytearray(20)
        caching[0:2] = b"\x08\x12"
        if pc != 1:
            caching[2] = 0x04                           # WCE
        control = bytearray(12)
        control[0:2] = b"\x0a\x0a"
        if pc != 1:
            control[3] = 0x10                           # QAM=1 (unrestricted)
            control[8:10] = b"\xff\xff"                 # busy timeout
        iec = bytearray(12)
        iec[0:2] = b"\x1c\x0a"
        pages = {0x08: bytes(caching), 0x0A: bytes(control), 0x1C: bytes(iec)}
        if page == 0x3F:
            return b"".join(pages[k] for k in sorted(pages))
        if page not in pages:
            raise illegal()
        return pages[page]

    def op_mode_sense(self, t):
        c = t.cdb
        ten = c[0] == 0x5A
        dbd = bool(c[1] & 0x08)
        pc, page, sub = c[2] >> 6, c[2] & 0x3F, c[3]
        if pc == 3:
            raise CheckCondition(0x05, 0x39, 0x00)      # saving not supported
        if sub not in (0, 0xFF):
            raise illegal()
        body = self.mode_pages(t, page, pc)
        dsp = 0x10 | (0x80 if t.lu.readonly else 0)     # DPOFUA, WP
        bd = b""
        if not dbd:
            nb = t.lu.nblocks
            bd = struct.pack(">I", min(nb, ALL_ONES)) + b"\0" \
                + BS.to_bytes(3, "big")
        if ten:
            alloc = u16(c, 7)
            total = 8 + len(bd) + len(body)
            hdr = struct.pack(">HBBBBH", total - 2, 0, dsp, 0, 0, len(bd))
        else:
            alloc = c[4]
            total = 4 + len(bd) + len(body)
            if total > 255:
                raise illegal()
            hdr = struct.pack(">BBBB", total - 1, 0, dsp, len(bd))
        return (hdr + bd + body)[:alloc]

    def op_report_luns(self, t):
        c = t.cdb
        alloc = u32(c, 6)
        if alloc < 16:
            raise illegal()
        if c[2] not in (0, 1, 2):
            raise illegal()
        body = b"".join(encode_lun(n) for n in sorted(self.luns))
        if c[2] == 1:
            body = b""
        return (struct.pack(">I4x", len(body)) + body)[:alloc]

    def op_inquiry(self, conn, t):
        c = t.cdb
        evpd, page, alloc = c[1] & 1, c[2], u16(c, 3)
        lu = t.lu
        if c[1] & 0xFE:
            raise illegal()
        if not evpd:
            if page:
                raise illegal()
            d = bytearray(96)
            if lu is None:
                d[0] = 0x7F                             # no LU here
            d[2] = 0x06                                 # SPC-4
            d[3] = 0x12                                 # HiSup, format 2
            d[4] = len(d) - 5
            if self.args.alua:
                d[5] = 0x10                             # TPGS: implicit ALUA
            if len(self.portals) > 1:
                d[6] = 0x10                             # MultiP
            d[7] = 0x02                                 # CmdQue
            d[8:16] = b"BRAID   "
            d[16:32] = b"PYTARGET        "
            d[32:36] = b"0001"
            for i, v in enumerate((0x00C0, 0x0960, 0x0460, 0x04C0)):
                d[58 + 2 * i:60 + 2 * i] = v.to_bytes(2, "big")  # SAM-6..SBC-3
            return bytes(d[:alloc])
        if lu is None:
            raise CheckCondition(0x05, 0x25, 0x00)
        pages = {0x00: None, 0x80: None, 0x83: None, 0xB0: None, 0xB1: None,
                 0xB2: None}
        if page == 0x00:
            body = bytes(sorted(pages))
        elif page == 0x80:
            body = lu.serial.encode()
        elif page == 0x83:
            body = self.vpd83(conn.portal, lu)
        elif page == 0xB0:
            b = bytearray(60)
            b[1] = MAX_CAW_BLOCKS
            b[2:4] = (8).to_bytes(2, "big")             # opt. granularity
            b[4:8] = MAX_XFER_BLOCKS.to_bytes(4, "big")
            b[8:12] = OPT_XFER_BLOCKS.to_bytes(4, "big")
            b[16:20] = MAX_UNMAP_BLOCKS.to_bytes(4, "big")
            b[20:24] = MAX_UNMAP_DESC.to_bytes(4, "big")
            b[24:28] = lu.store.granularity().to_bytes(4, "big")
            b[32:40] = MAX_WS_BLOCKS.to_bytes(8, "big")
            body = bytes(b)
        elif page == 0xB1:
            b = bytearray(60)
            b[0:2] = (1).to_bytes(2, "big")             # non-rotating
            body = bytes(b)
        elif page == 0xB2:
            # LBPU, LBPWS, LBPWS10, LBPRZ; thin provisioned.
            body = bytes([0, 0x80 | 0x40 | 0x20 | 0x04, 0x02, 0])
        else:
            raise illegal()
        d = bytes([0, page]) + len(body).to_bytes(2, "big") + body
        return d[:alloc]

    def vpd83(self, portal, lu):
        """Device identification: the LU's NAA-6 and T10 vendor id, then
        the target port's relative port id, target port group and SCSI
        name, then the target device name.  The port designators differ
        per portal: that is how an initiator tells paths apart."""

        def desig(proto_code, piv_assoc_type, value):
            return bytes([proto_code, piv_assoc_type, 0, len(value)]) + value

        def name(s):
            b = s.encode() + b"\0"
            return b + bytes((-len(b)) & 3)
        t10 = b"BRAID   " + lu.serial.encode()
        out = [
            desig(0x01, 0x03, lu.naa),                       # LU, NAA
            desig(0x02, 0x01, t10),                          # LU, T10 vendor
            desig(0x51, 0x94, struct.pack(">HH", 0, portal.rtpi)),
            desig(0x51, 0x95, struct.pack(">HH", 0, portal.tpg)),
            desig(0x53, 0x98, name("%s,t,0x%04x" % (self.iqn, portal.tag))),
            desig(0x53, 0xA8, name(self.iqn)),
        ]
        return b"".join(out)

    def op_maintenance_in(self, t):
        c = t.cdb
        sa = c[1] & 0x1F
        if sa != 0x0A or not self.args.alua:
            raise CheckCondition(0x05, 0x20 if sa == 0x0A else 0x24, 0x00)
        alloc = u32(c, 6)
        ext = (c[1] >> 5) == 1
        body = b""
        for tid in sorted(self.tpgs):
            g = self.tpgs[tid]
            ports = [p for p in self.portals if p.tpg == tid]
            body += struct.pack(">BBHBBBB", (0x80 if g.pref else 0)
                                | ALUA_STATES[g.state], 0xCF, tid, 0,
                                g.status, 0, len(ports))
            for p in ports:
                body += struct.pack(">HH", 0, p.rtpi)
        if ext:
            # RETURN DATA LENGTH counts everything after its own 4 bytes,
            # the extended header included (as sg_rtpg -e reads it).
            hdr = struct.pack(">IBBH", len(body) + 4, 0x10,
                              self.args.alua_transition_time, 0)
        else:
            hdr = struct.pack(">I", len(body))
        return (hdr + body)[:alloc]

    # ------------------------------------------------------------ ALUA

    def set_alua(self, tid, state, pref=None, via_ms=0):
        g = self.tpgs.get(tid)
        if g is None:
            raise ValueError("no TPG %r (have %s)" % (tid, sorted(self.tpgs)))
        if state not in ALUA_STATES:
            raise ValueError("state must be one of %s"
                             % ", ".join(ALUA_STATES))
        if g.pending is not None:
            g.pending.cancelled = True
            g.pending = None
        if pref is not None:
            g.pref = bool(pref)
        if via_ms and via_ms > 0 and state != "transitioning":
            self._apply_alua(g, "transitioning")

            def done():
                g.pending = None
                self._apply_alua(g, state)
            g.pending = self.call_later(via_ms / 1000.0, done)
        else:
            self._apply_alua(g, state)

    def _apply_alua(self, g, state):
        old = g.state
        g.state = state
        g.status = 2
        self.log("ALUA: TPG %d %s -> %s" % (g.id, old, state))
        # Implicit transition: every I_T nexus learns it by a UA.
        for s in self.sessions.values():
            if s.type == "Normal":
                for n in self.luns:
                    s.add_ua(n, 0x2A, 0x06)

    # ------------------------------------------------------------ control

    def ctl_accept(self):
        for _ in range(16):
            try:
                s, _ = self.ctl.accept()
            except (BlockingIOError, InterruptedError):
                return
            s.setblocking(False)
            self.ctl_conns[s] = bytearray()
            self.sel.register(s, selectors.EVENT_READ, ("ctl", s))

    def ctl_read(self, s):
        buf = self.ctl_conns.get(s)
        try:
            data = s.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.ctl_close(s)
            return
        buf += data
        if len(buf) > 1 << 20:
            self.ctl_close(s)
            return
        while b"\n" in buf:
            line, _, rest = bytes(buf).partition(b"\n")
            buf[:] = rest
            if not line.strip():
                continue
            try:
                req = json.loads(line)
                if not isinstance(req, dict):
                    raise ValueError("request must be a JSON object")
                rsp = self.control(req)
            except (ValueError, KeyError, TypeError) as e:
                rsp = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            try:
                s.setblocking(True)
                s.settimeout(5)
                s.sendall((json.dumps(rsp) + "\n").encode())
                s.setblocking(False)
            except OSError:
                self.ctl_close(s)
                return

    def ctl_close(self, s):
        if s in self.ctl_conns:
            del self.ctl_conns[s]
            self.sel.unregister(s)
            s.close()

    def control(self, req):
        cmd = req.get("cmd")
        self.log("control: %s" % json.dumps(req))
        if cmd == "ping":
            return {"ok": True, "pid": os.getpid()}
        if cmd == "alua":
            self.set_alua(int(req["tpg"]), req["state"], req.get("pref"),
                          int(req.get("via_transitioning_ms", 0)))
            return {"ok": True, "tpgs": self.tpg_states()}
        if cmd == "drop":
            ps = self.portals if req.get("portal") in (None, "all") \
                else [self.find_portal(req["portal"])]
            n = 0
            for p in ps:
                for c in list(p.conns):
                    c.close("dropped by control", rst=True)
                    n += 1
            return {"ok": True, "dropped": n}
        if cmd == "blackhole":
            p = self.find_portal(req["portal"])
            p.blackhole = bool(req.get("on", True))
            for c in list(p.conns):
                c.update_events()
                if not p.blackhole:
                    c.flush()
                    c.process()
            return {"ok": True, "portal": p.name, "blackhole": p.blackhole}
        if cmd == "listen":
            p = self.find_portal(req["portal"])
            if req.get("on", True):
                if p.lsock is None:
                    self.listen(p)
            else:
                self.unlisten(p)
            return {"ok": True, "portal": p.name,
                    "listening": p.lsock is not None}
        if cmd == "delay":
            ms = int(req["ms"])
            if ms < 0:
                raise ValueError("ms must be >= 0")
            if "portal" in req:
                self.find_portal(req["portal"]).delay_ms = ms
            else:
                self.delay_ms = ms
            return {"ok": True}
        if cmd in ("fail_next", "hang_next"):
            n = int(req.get("n", 1))
            ops = req.get("ops", "rw" if cmd == "fail_next" else "all")
            if ops not in ("rw", "all"):
                raise ValueError("ops must be rw or all")
            if cmd == "hang_next":
                what = "hang"
            else:
                sense = req.get("sense", "medium")
                if isinstance(sense, list) and len(sense) == 3:
                    what = (0x02,) + tuple(int(x, 0) if isinstance(x, str)
                                           else int(x) for x in sense)
                elif sense in FAULTS:
                    what = FAULTS[sense]
                else:
                    raise ValueError("sense must be one of %s or [key,asc,"
                                     "ascq]" % ", ".join(FAULTS))
            rule = {"n": n, "ops": ops, "what": what}
            if "portal" in req:
                rule["portal"] = self.find_portal(req["portal"]).name
            if "lun" in req:
                rule["lun"] = int(req["lun"])
            if n > 0:
                self.faults.append(rule)
            return {"ok": True, "pending": sum(r["n"] for r in self.faults)}
        if cmd == "misbehave":
            p = self.find_portal(req["portal"])
            what = req["what"]
            if what not in MISBEHAVE:
                raise ValueError("what must be one of %s" % ", ".join(MISBEHAVE))
            n = int(req.get("n", 1))
            if not 1 <= n <= 1000:
                raise ValueError("n out of range")
            if what == "bad_header_digest" and not any(
                    c.hdigest for c in p.conns):
                raise ValueError("no connection on %s negotiated "
                                 "HeaderDigest=CRC32C" % p.name)
            if what == "bad_data_digest" and not any(
                    c.ddigest for c in p.conns):
                raise ValueError("no connection on %s negotiated "
                                 "DataDigest=CRC32C" % p.name)
            rule = {k: v for k, v in req.items() if k not in ("cmd", "portal")}
            rule["n"] = n
            p.misbehave.append(rule)
            return {"ok": True, "portal": p.name,
                    "pending": [dict(r) for r in p.misbehave]}
        if cmd == "clear_faults":
            self.faults = []
            for p in self.portals:
                p.misbehave = []
            self.delay_ms = 0
            for p in self.portals:
                p.delay_ms = None
            return {"ok": True}
        if cmd == "window":
            n = int(req["n"])
            if not 0 <= n <= 1 << 20:
                raise ValueError("window out of range")
            self.window = n
            # Tell initiators about a reopened window right away.
            for c in list(self.conns):
                if c.state == "ffp" and not c.closed:
                    c.send_nopin(ALL_ONES, ALL_ONES, bytes(8), b"", False)
            return {"ok": True}
        if cmd == "nop":
            self.nop_interval = int(req.get("interval_ms", 0))
            self.schedule_nop()
            return {"ok": True}
        if cmd == "async":
            ev = int(req.get("event", 1))
            ps = self.portals if req.get("portal") in (None, "all") \
                else [self.find_portal(req["portal"])]
            n = 0
            for p in ps:
                for c in list(p.conns):
                    if c.state != "ffp" or c.closed:
                        continue
                    exp, mx = c.sn_fields()
                    hdr = struct.pack(">BBBBB3x8sIIIIIBBHHH4x", 0x32, 0x80,
                                      0, 0, 0, bytes(8), ALL_ONES, 0,
                                      c.next_statsn(), exp, mx, ev, 0,
                                      int(req.get("param1", 0)),
                                      int(req.get("param2", 0)),
                                      int(req.get("param3", 0)))
                    c.pdu(hdr)
                    n += 1
            return {"ok": True, "sent": n}
        if cmd == "ua":
            lun = int(req.get("lun", 0))
            asc, ascq = int(req["asc"]), int(req["ascq"])
            for s in self.sessions.values():
                if s.type == "Normal":
                    s.add_ua(lun, asc, ascq)
            return {"ok": True}
        if cmd == "resize":
            lu = self.luns[int(req["lun"])]
            lu.store.resize(parse_size(str(req["size"])))
            for s in self.sessions.values():
                if s.type == "Normal":
                    s.add_ua(lu.num, 0x2A, 0x09)       # capacity changed
            return {"ok": True, "blocks": lu.nblocks}
        if cmd == "stats":
            return {"ok": True, "portals": [
                {"portal": p.name, "tpg": p.tpg, "rtpi": p.rtpi, "tag": p.tag,
                 "listening": p.lsock is not None, "blackhole": p.blackhole,
                 "connections_open": len(p.conns),
                 "cmds": p.stats["cmds"], "bytes_in": p.stats["bytes_in"],
                 "bytes_out": p.stats["bytes_out"],
                 "counters": dict(p.stats)} for p in self.portals],
                "sessions": [s.describe() for s in self.sessions.values()],
                "tpgs": self.tpg_states(),
                "faults_pending": sum(r["n"] for r in self.faults)}
        if cmd == "quit":
            self.running = False
            return {"ok": True}
        raise ValueError("unknown cmd %r" % cmd)

    def tpg_states(self):
        return {str(g.id): {"state": g.state, "pref": g.pref}
                for g in self.tpgs.values()}

    # ------------------------------------------------------------ loop

    def run(self):
        rfd, wfd = socket.socketpair()
        rfd.setblocking(False)
        wfd.setblocking(False)
        signal.set_wakeup_fd(wfd.fileno(), warn_on_full_buffer=False)
        self.sel.register(rfd, selectors.EVENT_READ, ("signal", rfd))

        def on_signal(signum, frame):
            self.running = False
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        while self.running:
            timeout = 1.0
            if self.timers:
                timeout = max(0.0, min(timeout,
                                       self.timers[0].when - time.monotonic()))
            for key, mask in self.sel.select(timeout):
                kind = key.data
                if isinstance(kind, Conn):
                    if not kind.closed:
                        kind.on_event(mask)
                elif kind[0] == "accept":
                    if kind[1].lsock is not None:
                        self.accept(kind[1])
                elif kind[0] == "ctl-accept":
                    self.ctl_accept()
                elif kind[0] == "ctl":
                    self.ctl_read(kind[1])
                elif kind[0] == "signal":
                    try:
                        kind[1].recv(64)
                    except OSError:
                        pass
                if not self.running:
                    break
            self.run_timers()
        self.shutdown()

    def shutdown(self):
        self.log("shutting down")
        for c in list(self.conns):
            c.close("target shutting down")
        for p in self.portals:
            self.unlisten(p)
        for s in list(self.ctl_conns):
            self.ctl_close(s)
        if self.ctl is not None:
            self.ctl.close()
            try:
                os.unlink(self.args.control)
            except OSError:
                pass
        for lu in self.luns.values():
            lu.store.close()
        for f in (self.args.pidfile, self.args.ready_file):
            if f:
                try:
                    os.unlink(f)
                except OSError:
                    pass


def read_cred(path):
    """USER:SECRET on the first line of a file nobody else may read."""
    st = os.stat(path)
    if st.st_mode & 0o077:
        raise ValueError("%s: credentials file must not be group/world "
                         "accessible" % path)
    with open(path, "rb") as f:
        line = f.readline().rstrip(b"\r\n")
    user, sep, secret = line.partition(b":")
    if not sep or not user or not secret:
        raise ValueError("%s: expected USER:SECRET" % path)
    return user.decode(), secret


def write_atomic(path, text):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="braid's scripted iSCSI target for tests "
                    "(see tests/target/README.md)")
    ap.add_argument("--portal", action="append", required=True,
                    help="ADDR:PORT[,tpg=N][,rtpi=N][,tag=N] (repeatable)")
    ap.add_argument("--target", default="iqn.2026-11.dev.braid:pytarget",
                    help="target IQN")
    ap.add_argument("--lun", action="append",
                    help="N:SIZE[:file=PATH][:naa=HEX][:serial=S][:ro] "
                         "(repeatable; default 0:64M in memory)")
    ap.add_argument("--naa", help="NAA-6 id (32 hex digits) of the lowest "
                                  "LUN; LUN n gets id + n")
    ap.add_argument("--control", help="Unix socket for JSON control commands")
    ap.add_argument("--chap-file", help="file with USER:SECRET; CHAP-MD5 "
                                        "required for normal sessions")
    ap.add_argument("--chap-target-file",
                    help="file with the target's USER:SECRET for mutual CHAP")
    ap.add_argument("--discovery-auth", choices=("none", "chap"),
                    default="none")
    ap.add_argument("--pidfile")
    ap.add_argument("--log", help="append log lines here (default stderr)")
    ap.add_argument("--ready-file", help="written (JSON) once listening")
    ap.add_argument("--verbose", action="store_true", help="log every PDU")
    ap.add_argument("--no-alua", dest="alua", action="store_false",
                    help="TPGS=0, no RTPG, no ALUA state checks")
    ap.add_argument("--tpg-state", action="append", metavar="TPG=STATE",
                    help="initial ALUA state (ao, an, standby, unavailable, "
                         "offline, transitioning)")
    ap.add_argument("--tpg-pref", action="append", type=int, metavar="TPG",
                    help="set the PREF bit of this TPG")
    ap.add_argument("--alua-transition-time", type=int, default=10,
                    help="implicit transition time reported by RTPG (s)")
    ap.add_argument("--cmdsn-window", type=int, default=64)
    ap.add_argument("--max-recv-dsl", type=int, default=262144)
    ap.add_argument("--max-burst", type=int, default=1048576)
    ap.add_argument("--first-burst", type=int, default=262144)
    ap.add_argument("--max-r2t", type=int, default=4)
    ap.add_argument("--initial-r2t", choices=("yes", "no"), default="no",
                    help="'yes' forces InitialR2T=Yes")
    ap.add_argument("--immediate-data", choices=("yes", "no"), default="yes")
    ap.add_argument("--digest", action="store_true",
                    help="accept CRC32C header/data digests (slow)")
    ap.add_argument("--prefer-digest", action="store_true",
                    help="with --digest: choose CRC32C whenever offered, "
                         "even after None")
    ap.add_argument("--nop-interval", type=int, default=0, metavar="MS",
                    help="ping every FFP connection with NOP-In every MS ms")
    ap.add_argument("--ua-on-login", action="store_true",
                    help="new sessions start with UA 29/00 (power on)")
    ap.add_argument("--initial-statsn", type=int, default=1)
    ap.add_argument("--login-timeout", type=int, default=30, metavar="S",
                    help="drop connections still logging in after S s "
                         "(0: never)")
    args = ap.parse_args(argv)
    if not 512 <= args.max_recv_dsl <= 16777215:
        ap.error("--max-recv-dsl out of range")
    if not 512 <= args.first_burst <= args.max_burst <= 16777215:
        ap.error("need 512 <= --first-burst <= --max-burst")
    if not 1 <= args.cmdsn_window <= 1 << 20:
        ap.error("--cmdsn-window out of range")
    if not 1 <= args.max_r2t <= 65535:
        ap.error("--max-r2t out of range")
    try:
        tgt = Target(args)
        tgt.start()
    except (ValueError, OSError) as e:
        print("pytarget: %s" % e, file=sys.stderr)
        return 1
    if args.pidfile:
        write_atomic(args.pidfile, "%d\n" % os.getpid())
    if args.ready_file:
        write_atomic(args.ready_file, json.dumps({
            "pid": os.getpid(), "target": tgt.iqn,
            "portals": [p.name for p in tgt.portals],
            "control": args.control}) + "\n")
    tgt.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
