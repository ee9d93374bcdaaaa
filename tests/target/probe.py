#!/usr/bin/env python3
# tests/target/probe.py -- a minimal raw iSCSI initiator for tests.
#
# libiscsi's tools cannot issue REPORT TARGET PORT GROUPS, cannot show the
# sense of a failed TEST UNIT READY (they refuse to log in), and cannot
# keep one session open across a state change, so tests of pytarget.py (and
# later hostile tests against braid's peers) use this instead.  It logs in
# once (None or CHAP-MD5, optionally mutual), runs the steps given on the
# command line in order on that one session, and prints one line per step:
#
#   STEP status=GOOD [details]
#   STEP status=CHECK_CONDITION sense=KK/AA/QQ
#   STEP error=timeout|eof|reset|reject:0xNN|...   (then it stops, exit 3)
#
# Steps:
#   tur  inq  vpd80  vpd83  rtpg  readcap  reportluns  reqsense  nop
#   read:LBA:N            sha256 of the data
#   write:LBA:N:SEED      deterministic pattern (per block, from SEED)
#   verify:LBA:N:SEED     read and compare with that pattern
#   cdb:HEX[:INLEN]       any CDB (data-in length INLEN)
#   cdbw:HEX:DATAHEX      any CDB with data-out
#   sleep:SECS            wait (answering target pings)
#   touch:PATH            create PATH (tell the test we got here)
#   waitfile:PATH         wait until PATH exists (at most --timeout * 3 s)
#   ctl:JSON              send JSON to --control, print the answer
#   logout
# Discovery: `probe.py --portal A:P discover` (a discovery session).
#
# Exit: 0 when every step ran (whatever the SCSI status), 1 when login was
# refused, 2 on usage errors, 3 on a connection/protocol failure.

import argparse
import hashlib
import json
import os
import random
import socket
import struct
import sys
import time

ALL_ONES = 0xFFFFFFFF
STATES = {0x0: "ao", 0x1: "an", 0x2: "standby", 0x3: "unavailable",
          0x4: "lba_dependent", 0xE: "offline", 0xF: "transitioning"}


class ProbeError(Exception):
    pass


def u32(b, o):
    return int.from_bytes(b[o:o + 4], "big")


def parse_keys(data):
    out = {}
    for item in data.split(b"\0"):
        if item:
            k, _, v = item.partition(b"=")
            out.setdefault(k.decode(), []).append(v.decode())
    return out


def encode_keys(pairs):
    return b"".join(("%s=%s" % kv).encode() + b"\0" for kv in pairs)


def pattern(lba, n, seed):
    return b"".join(random.Random("%s:%d" % (seed, lba + i)).randbytes(512)
                    for i in range(n))


def crc32c(data):
    crc = ALL_ONES
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ ALL_ONES


class Client:
    def __init__(self, args):
        self.args = args
        host, port = split_portal(args.portal)
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(args.timeout)
        try:
            self.sock.connect((host, port))
        except socket.timeout:
            raise ProbeError("timeout")
        except ConnectionRefusedError:
            raise ProbeError("refused")
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.isid = bytes.fromhex(args.isid)
        self.rbuf = bytearray()
        self.itt = 1
        self.cmdsn = 1
        self.expstatsn = 0
        self.tsih = 0
        self.hdigest = False
        self.target_mrdsl = 8192
        self.params = {}
        self.tpgt = None

    # ---------------------------------------------------------------- wire

    def send_pdu(self, bhs, data=b""):
        bhs = bytearray(bhs)
        bhs[5:8] = len(data).to_bytes(3, "big")
        out = bytes(bhs)
        if self.hdigest:
            out += struct.pack("<I", crc32c(out))
        out += data + bytes((-len(data)) & 3)
        try:
            self.sock.sendall(out)
        except socket.timeout:
            raise ProbeError("timeout")
        except (ConnectionResetError, BrokenPipeError):
            raise ProbeError("reset")

    def fill(self, n):
        """Have at least n bytes buffered; a timeout keeps what arrived, so
        a short wait (sleep/waitfile steps) never tears a PDU apart."""
        while len(self.rbuf) < n:
            try:
                chunk = self.sock.recv(max(65536, n - len(self.rbuf)))
            except socket.timeout:
                raise ProbeError("timeout")
            except ConnectionResetError:
                raise ProbeError("reset")
            if not chunk:
                raise ProbeError("eof")
            self.rbuf += chunk

    def recv_pdu(self):
        """Next PDU from the target; answers pings and reports async
        messages on the way."""
        while True:
            self.fill(48)
            dsl = int.from_bytes(self.rbuf[5:8], "big")
            hlen = 48 + self.rbuf[4] * 4 + (4 if self.hdigest else 0)
            self.fill(hlen + ((dsl + 3) & ~3))
            bhs = bytes(self.rbuf[:48])
            data = bytes(self.rbuf[hlen:hlen + dsl])
            del self.rbuf[:hlen + ((dsl + 3) & ~3)]
            op = bhs[0] & 0x3F
            if op in (0x21, 0x24, 0x26, 0x22, 0x32, 0x3F) or (
                    op == 0x25 and bhs[1] & 0x01) or (
                    op == 0x20 and u32(bhs, 16) != ALL_ONES):
                self.expstatsn = (u32(bhs, 24) + 1) & ALL_ONES
            if op == 0x20 and u32(bhs, 16) == ALL_ONES:
                ttt = u32(bhs, 20)
                if ttt != ALL_ONES:
                    self.nop_out(ALL_ONES, ttt, bhs[8:16], immediate=True)
                continue
            if op == 0x32:
                print("async event=%d param1=%d param2=%d param3=%d"
                      % (bhs[36], int.from_bytes(bhs[38:40], "big"),
                         int.from_bytes(bhs[40:42], "big"),
                         int.from_bytes(bhs[42:44], "big")), flush=True)
                continue
            if op == 0x3F:
                raise ProbeError("reject:0x%02x" % bhs[2])
            return bhs, data

    def next_itt(self):
        self.itt = (self.itt + 1) & 0x7FFFFFFF
        return self.itt

    # ---------------------------------------------------------------- login

    def login(self, discovery=False):
        a = self.args
        sec = [("InitiatorName", a.initiator),
               ("SessionType", "Discovery" if discovery else "Normal")]
        if not discovery:
            sec.append(("TargetName", a.target))
        cred = read_cred(a.chap_file) if a.chap_file else None
        sec.append(("AuthMethod", "CHAP,None" if cred else "None"))
        ops = [("HeaderDigest", "CRC32C" if a.header_digest else "None"),
               ("DataDigest", "None"),
               ("MaxRecvDataSegmentLength", "262144"),
               ("InitialR2T", a.initial_r2t), ("ImmediateData", "Yes"),
               ("MaxBurstLength", "1048576"), ("FirstBurstLength", "262144"),
               ("MaxOutstandingR2T", "1"), ("ErrorRecoveryLevel", "0"),
               ("DefaultTime2Wait", "0"), ("DefaultTime2Retain", "0"),
               ("MaxConnections", "1"), ("DataPDUInOrder", "Yes"),
               ("DataSequenceInOrder", "Yes")]
        ops = dict(ops)
        for kv in a.login_key or []:
            k, _, v = kv.partition("=")
            ops[k] = v               # replaces a default, or adds a key
        ops = list(ops.items())
        itt = self.next_itt()
        stage = 0
        keys = sec
        answers = {}
        for _ in range(16):
            nsg = 1 if stage == 0 else 3
            flags = 0x80 | (stage << 2) | nsg
            data = encode_keys(keys)
            bhs = struct.pack(">BBBBB3x6sHIHHII16x", 0x43, flags, 0, 0, 0,
                              self.isid, self.tsih, itt, 0, 0, self.cmdsn,
                              self.expstatsn)
            self.send_pdu(bhs, data)
            rsp, rdata = self.recv_pdu()
            if rsp[0] & 0x3F != 0x23:
                raise ProbeError("login: unexpected opcode 0x%02x" % rsp[0])
            self.expstatsn = (u32(rsp, 24) + 1) & ALL_ONES
            status = (rsp[36] << 8) | rsp[37]
            got = parse_keys(rdata)
            for k, v in got.items():
                answers[k] = v[-1]
            if "TargetPortalGroupTag" in got:
                self.tpgt = int(got["TargetPortalGroupTag"][0])
            if status:
                print("login status=0x%04x" % status, flush=True)
                return False
            keys = []
            if stage == 0 and answers.get("AuthMethod") == "CHAP":
                if "CHAP_C" not in got and "CHAP_A" not in got:
                    keys = [("CHAP_A", "5")]
                elif "CHAP_C" in got:
                    cid = int(got["CHAP_I"][0], 0)
                    chal = bytes.fromhex(got["CHAP_C"][0][2:])
                    user, secret = cred
                    r = hashlib.md5(bytes([cid]) + secret + chal).digest()
                    keys = [("CHAP_N", user), ("CHAP_R", "0x" + r.hex())]
                    if a.chap_target_file:
                        self.mutual = (os.urandom(16), 77)
                        keys += [("CHAP_I", "77"),
                                 ("CHAP_C", "0x" + self.mutual[0].hex())]
                    del answers["CHAP_C"]
                elif "CHAP_R" in got:
                    tuser, tsecret = read_cred(a.chap_target_file)
                    want = hashlib.md5(bytes([77]) + tsecret
                                       + self.mutual[0]).digest()
                    if got["CHAP_R"][0] != "0x" + want.hex():
                        raise ProbeError("mutual CHAP: bad target response")
            transit = rsp[1] & 0x80
            if transit:
                stage = rsp[1] & 3
                if stage == 3:
                    self.tsih = int.from_bytes(rsp[14:16], "big")
                    break
                if stage == 1:
                    keys = ops
        else:
            raise ProbeError("login did not finish")
        self.params = answers
        self.target_mrdsl = int(answers.get("MaxRecvDataSegmentLength", 8192))
        self.hdigest = answers.get("HeaderDigest") == "CRC32C"
        return True

    # ---------------------------------------------------------------- FFP

    def nop_out(self, itt, ttt, lun, data=b"", immediate=True):
        bhs = struct.pack(">BBBBB3x8sIIII16x", 0x40 if immediate else 0x00,
                          0x80, 0, 0, 0, lun, itt, ttt, self.cmdsn,
                          self.expstatsn)
        self.send_pdu(bhs, data)

    def ping(self):
        itt = self.next_itt()
        self.nop_out(itt, ALL_ONES, bytes(8), b"ping", immediate=True)
        while True:
            bhs, data = self.recv_pdu()
            if bhs[0] & 0x3F == 0x20 and u32(bhs, 16) == itt:
                return data

    def text(self, pairs):
        itt = self.next_itt()
        ttt = ALL_ONES
        out = b""
        data = encode_keys(pairs)
        for _ in range(64):
            bhs = struct.pack(">BBBBB3x8sIIII16x", 0x44, 0x80, 0, 0, 0,
                              bytes(8), itt, ttt, self.cmdsn, self.expstatsn)
            self.send_pdu(bhs, data)
            rsp, rdata = self.recv_pdu()
            out += rdata
            if rsp[1] & 0x80:
                return out
            ttt = u32(rsp, 20)
            data = b""
        raise ProbeError("text response never ended")

    def logout(self):
        itt = self.next_itt()
        bhs = struct.pack(">BBBBB3x8sIIII16x", 0x46, 0x80, 0, 0, 0, bytes(8),
                          itt, 0, self.cmdsn, self.expstatsn)
        self.send_pdu(bhs)
        rsp, _ = self.recv_pdu()
        return rsp[2]

    def scsi(self, cdb, inlen=0, out=b""):
        """Run one command; returns (status, sense, data)."""
        a = self.args
        itt = self.next_itt()
        lun = encode_lun(a.lun)
        flags = 0x80 | 0x01
        imm = b""
        unsol = 0
        if out:
            flags |= 0x20
            fb = int(self.params.get("FirstBurstLength", 65536))
            if self.params.get("ImmediateData", "Yes") == "Yes":
                imm = out[:min(fb, self.target_mrdsl)]
            if self.params.get("InitialR2T", "Yes") == "No":
                unsol = min(fb, len(out)) - len(imm)
            if unsol > 0:
                flags &= ~0x80
        if inlen:
            flags |= 0x40
        cdb = bytes(cdb).ljust(16, b"\0")
        cmdsn = self.cmdsn
        self.cmdsn = (self.cmdsn + 1) & ALL_ONES
        bhs = struct.pack(">BBBBB3x8sIIII16s", 0x01, flags, 0, 0, 0, lun,
                          itt, len(out) if out else inlen, cmdsn,
                          self.expstatsn, cdb)
        self.send_pdu(bhs, imm)
        if unsol > 0:
            self.data_out(itt, ALL_ONES, lun, out, len(imm),
                          len(imm) + unsol)
        data = bytearray()
        while True:
            rsp, rdata = self.recv_pdu()
            op = rsp[0] & 0x3F
            if u32(rsp, 16) != itt:
                raise ProbeError("unexpected PDU 0x%02x for itt 0x%x"
                                 % (op, u32(rsp, 16)))
            if op == 0x25:
                off = u32(rsp, 40)
                if off != len(data):
                    raise ProbeError("Data-In offset %d, expected %d"
                                     % (off, len(data)))
                data += rdata
                if rsp[1] & 0x01:
                    return rsp[3], None, bytes(data)
            elif op == 0x31:
                ttt, off, n = u32(rsp, 20), u32(rsp, 40), u32(rsp, 44)
                self.data_out(itt, ttt, lun, out, off, off + n)
            elif op == 0x21:
                sense = None
                if rdata and len(rdata) >= 2:
                    sl = int.from_bytes(rdata[:2], "big")
                    sense = rdata[2:2 + sl]
                if rsp[2] != 0:
                    raise ProbeError("iscsi response 0x%02x" % rsp[2])
                return rsp[3], sense, bytes(data)
            else:
                raise ProbeError("unexpected opcode 0x%02x" % op)

    def data_out(self, itt, ttt, lun, buf, start, end):
        seg = self.target_mrdsl
        off = start
        datasn = 0
        while off < end:
            n = min(seg, end - off)
            final = 0x80 if off + n >= end else 0
            bhs = struct.pack(">BBBBB3x8sIIIIIIII", 0x05, final, 0, 0, 0,
                              lun, itt, ttt, 0, self.expstatsn, 0, datasn,
                              off, 0)
            self.send_pdu(bhs, buf[off:off + n])
            datasn += 1
            off += n


def encode_lun(n):
    if n < 256:
        return bytes([0, n]) + bytes(6)
    return bytes([0x40 | (n >> 8), n & 0xFF]) + bytes(6)


def split_portal(p):
    if p.startswith("["):
        host, _, rest = p[1:].partition("]")
        return host, int(rest.lstrip(":") or 3260)
    host, _, port = p.rpartition(":")
    return host, int(port)


def read_cred(path):
    with open(path, "rb") as f:
        user, _, secret = f.readline().rstrip(b"\r\n").partition(b":")
    return user.decode(), secret


def fmt_status(status, sense):
    names = {0: "GOOD", 2: "CHECK_CONDITION", 4: "CONDITION_MET", 8: "BUSY",
             0x18: "RESERVATION_CONFLICT", 0x28: "TASK_SET_FULL",
             0x40: "TASK_ABORTED"}
    s = "status=%s" % names.get(status, "0x%02x" % status)
    if sense:
        if sense[0] & 0x7F in (0x72, 0x73):
            key, asc, ascq = sense[1] & 0xF, sense[2], sense[3]
        else:
            key, asc, ascq = sense[2] & 0xF, sense[12], sense[13]
        s += " sense=%02x/%02x/%02x" % (key, asc, ascq)
    return s


def decode_vpd83(d):
    out = []
    o = 4
    end = min(len(d), 4 + int.from_bytes(d[2:4], "big"))
    while o + 4 <= end:
        cs, piv, assoc, typ = d[o] & 0xF, d[o + 1] >> 7, (d[o + 1] >> 4) & 3, \
            d[o + 1] & 0xF
        ln = d[o + 3]
        v = d[o + 4:o + 4 + ln]
        a = ("lu", "port", "device", "rsvd")[assoc]
        del cs, piv
        if typ == 3:
            out.append("naa.%s/%s" % (v.hex(), a))
        elif typ == 4:
            out.append("rtpi=%d/%s" % (int.from_bytes(v[2:4], "big"), a))
        elif typ == 5:
            out.append("tpg=%d/%s" % (int.from_bytes(v[2:4], "big"), a))
        elif typ == 8:
            out.append("name=%s/%s" % (v.rstrip(b"\0").decode(), a))
        elif typ == 1:
            out.append("t10=%s/%s" % (v.decode("ascii", "replace")
                                      .replace(" ", "_"), a))
        else:
            out.append("type%d=%s/%s" % (typ, v.hex(), a))
        o += 4 + ln
    return " ".join(out)


def run_step(c, step, args):
    name, _, rest = step.partition(":")
    parts = rest.split(":") if rest else []
    if name == "sleep":
        end = time.monotonic() + float(parts[0])
        c.sock.settimeout(0.1)
        try:
            while time.monotonic() < end:
                try:
                    c.recv_pdu()
                except ProbeError as e:
                    if str(e) != "timeout":
                        raise
        finally:
            c.sock.settimeout(args.timeout)
        print("sleep done", flush=True)
        return
    if name == "touch":
        with open(rest, "a"):
            pass
        print("touch done", flush=True)
        return
    if name == "waitfile":
        end = time.monotonic() + 3 * args.timeout
        c.sock.settimeout(0.1)
        try:
            while not os.path.exists(rest):
                if time.monotonic() > end:
                    raise ProbeError("waitfile timeout")
                try:
                    c.recv_pdu()
                except ProbeError as e:
                    if str(e) != "timeout":
                        raise
        finally:
            c.sock.settimeout(args.timeout)
        print("waitfile done", flush=True)
        return
    if name == "ctl":
        print("ctl %s" % ctl(args.control, rest), flush=True)
        return
    if name == "nop":
        c.ping()
        print("nop status=GOOD", flush=True)
        return
    if name == "logout":
        print("logout response=%d" % c.logout(), flush=True)
        return
    if name == "tur":
        st, sn, _ = c.scsi(b"\x00")
        print("tur " + fmt_status(st, sn), flush=True)
    elif name == "inq":
        st, sn, d = c.scsi(b"\x12\x00\x00\x00\xff", 255)
        extra = ""
        if st == 0 and len(d) >= 36:
            extra = " pq=%d type=%d tpgs=%d vendor=%s product=%s" % (
                d[0] >> 5, d[0] & 0x1F, (d[5] >> 4) & 3,
                d[8:16].decode().strip(), d[16:32].decode().strip())
        print("inq " + fmt_status(st, sn) + extra, flush=True)
    elif name in ("vpd80", "vpd83"):
        page = 0x80 if name == "vpd80" else 0x83
        st, sn, d = c.scsi(bytes([0x12, 1, page, 0x10, 0]), 4096)
        extra = ""
        if st == 0:
            extra = (" serial=%s" % d[4:].decode()) if page == 0x80 \
                else " " + decode_vpd83(d)
        print(name + " " + fmt_status(st, sn) + extra, flush=True)
    elif name == "rtpg":
        st, sn, d = c.scsi(b"\xa3\x2a\x00\x00\x00\x00\x00\x00\x10\x00", 4096)
        print("rtpg " + fmt_status(st, sn), flush=True)
        if st == 0:
            ext = len(d) >= 8 and (d[4] >> 4) & 7 == 1
            total = min(len(d), u32(d, 0) + 4)
            o = 8 if ext else 4
            while o + 8 <= total:
                nports = d[o + 7]
                ports = [int.from_bytes(d[o + 8 + 4 * i + 2:o + 8 + 4 * i + 4],
                                        "big") for i in range(nports)]
                print("rtpg tpg=%d state=%s pref=%d status=%d sup=0x%02x "
                      "ports=%s" % (int.from_bytes(d[o + 2:o + 4], "big"),
                                    STATES.get(d[o] & 0xF, d[o] & 0xF),
                                    d[o] >> 7, d[o + 5], d[o + 1],
                                    ",".join(map(str, ports))), flush=True)
                o += 8 + 4 * nports
    elif name == "readcap":
        st, sn, d = c.scsi(b"\x9e\x10" + bytes(8) + b"\x00\x00\x00\x20", 32)
        extra = ""
        if st == 0:
            extra = " blocks=%d blocksize=%d" % (int.from_bytes(d[:8], "big")
                                                 + 1, u32(d, 8))
        print("readcap " + fmt_status(st, sn) + extra, flush=True)
    elif name == "reportluns":
        st, sn, d = c.scsi(b"\xa0\x00\x00\x00\x00\x00\x00\x00\x10\x00", 4096)
        extra = ""
        if st == 0:
            n = u32(d, 0) // 8
            luns = [((d[8 + 8 * i] & 0x3F) << 8) | d[9 + 8 * i]
                    for i in range(n)]
            extra = " luns=" + ",".join(map(str, luns))
        print("reportluns " + fmt_status(st, sn) + extra, flush=True)
    elif name == "reqsense":
        st, sn, d = c.scsi(b"\x03\x00\x00\x00\xfc\x00", 252)
        extra = ""
        if st == 0 and len(d) >= 14:
            extra = " data=%02x/%02x/%02x" % (d[2] & 0xF, d[12], d[13])
        print("reqsense " + fmt_status(st, sn) + extra, flush=True)
    elif name in ("read", "write", "verify"):
        lba, n = int(parts[0], 0), int(parts[1], 0)
        seed = parts[2] if len(parts) > 2 else "0"
        per = max(1, args.io_blocks)
        h = hashlib.sha256()
        worst = (0, None)
        bad = None
        for i in range(0, n, per):
            k = min(per, n - i)
            cdb16 = lambda op: bytes([op, 0]) + (lba + i).to_bytes(8, "big") \
                + k.to_bytes(4, "big") + b"\0\0"
            if name == "write":
                st, sn, _ = c.scsi(cdb16(0x8A), 0, pattern(lba + i, k, seed))
            else:
                st, sn, d = c.scsi(cdb16(0x88), k * 512)
                if st == 0:
                    h.update(d)
                    if name == "verify" and bad is None \
                            and d != pattern(lba + i, k, seed):
                        want = pattern(lba + i, k, seed)
                        j = next(j for j in range(len(d)) if d[j] != want[j])
                        bad = lba + i + j // 512
            if st != 0:
                worst = (st, sn)
                break
        extra = ""
        if worst[0] == 0 and name == "read":
            extra = " sha256=" + h.hexdigest()
        if worst[0] == 0 and name == "verify":
            extra = " match=yes" if bad is None else " match=no lba=%d" % bad
        print("%s %s%s" % (name, fmt_status(*worst), extra), flush=True)
    elif name == "cdbw":
        st, sn, d = c.scsi(bytes.fromhex(parts[0]), 0, bytes.fromhex(parts[1]))
        print("cdbw %s" % fmt_status(st, sn), flush=True)
    elif name == "cdb":
        cdb = bytes.fromhex(parts[0])
        inlen = int(parts[1], 0) if len(parts) > 1 else 0
        st, sn, d = c.scsi(cdb, inlen)
        print("cdb %s data=%s" % (fmt_status(st, sn), d.hex()), flush=True)
    else:
        raise SystemExit("probe: unknown step %r" % step)


def ctl(path, line):
    if not path:
        raise SystemExit("probe: ctl: step needs --control")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    s.sendall(line.encode() + b"\n")
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    s.close()
    rsp = buf.decode().strip()
    if not json.loads(rsp).get("ok"):
        raise SystemExit("probe: control command failed: %s" % rsp)
    return rsp


def main():
    ap = argparse.ArgumentParser(description="raw iSCSI probe for tests")
    ap.add_argument("--portal", required=True)
    ap.add_argument("--target", default="iqn.2026-11.dev.braid:pytarget")
    ap.add_argument("--lun", type=int, default=0)
    ap.add_argument("--initiator", default="iqn.2026-11.dev.braid:probe")
    ap.add_argument("--isid", default="80" + os.urandom(3).hex() + "00")
    ap.add_argument("--chap-file")
    ap.add_argument("--chap-target-file")
    ap.add_argument("--control")
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--io-blocks", type=int, default=2048,
                    help="blocks per READ/WRITE command (default 1 MiB)")
    ap.add_argument("--initial-r2t", choices=("Yes", "No"), default="No")
    ap.add_argument("--header-digest", action="store_true")
    ap.add_argument("--login-key", action="append", metavar="K=V",
                    help="offer K=V in the operational stage (overrides "
                         "the default offer of K)")
    ap.add_argument("steps", nargs="+")
    args = ap.parse_args()
    step = "connect"
    try:
        c = Client(args)
        if args.steps == ["discover"]:
            step = "discover"
            if not c.login(discovery=True):
                return 1
            for item in c.text([("SendTargets", "All")]).split(b"\0"):
                if item:
                    k, _, v = item.decode().partition("=")
                    print("discover %s %s" % (k, v), flush=True)
            c.logout()
            return 0
        step = "login"
        if not c.login():
            return 1
        print("login ok tsih=%d tpgt=%s" % (c.tsih, c.tpgt), flush=True)
        for step in args.steps:
            run_step(c, step, args)
    except ProbeError as e:
        print("%s error=%s" % (step.split(":")[0], e), flush=True)
        return 3
    except OSError as e:
        print("%s error=%s" % (step.split(":")[0], e), flush=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
