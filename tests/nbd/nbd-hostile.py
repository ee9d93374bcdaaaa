#!/usr/bin/env python3
"""nbd-hostile.py: misbehaving NBD clients against nbd-memserver while a
well-behaved client keeps reading and writing on another connection.

Each hostile case must get its error reply (or, where the protocol leaves
no other way, its connection closed) and must not disturb the good client
or any other connection.  Usage:

    nbd-hostile.py SOCKET SERVER_PID

The server is expected to serve exports 'good' and 'hostile' (64 MiB,
block sizes 512/4096/32M) and 'victim' (removed by SIGUSR1), with a short
handshake timeout (-T 1000).  Every socket operation has a timeout, every
loop a bound.  Exit 0 on success, 1 on the first failure.
"""

import os
import random
import signal
import socket
import struct
import sys
import threading
import time

NBDMAGIC = 0x4E42444D41474943
IHAVEOPT = 0x49484156454F5054
REPMAGIC = 0x3E889045565A9
REQMAGIC = 0x25609513
SIMPLE = 0x67446698
STRUCT = 0x668E33EF

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED = 6, 7, 8
REP_ACK, REP_SERVER, REP_INFO = 1, 2, 3
ERR = 1 << 31
REP_ERR_UNSUP, REP_ERR_POLICY, REP_ERR_INVALID = ERR + 1, ERR + 2, ERR + 3
REP_ERR_UNKNOWN, REP_ERR_SHUTDOWN = ERR + 6, ERR + 7
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH, CMD_TRIM = 0, 1, 2, 3, 4
EPERM, EIO, EINVAL, ENOSPC, ESHUTDOWN = 1, 5, 22, 28, 108

TIMEOUT = 20.0
SOCK = None
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def note(msg):
    print(msg, flush=True)


class Closed(Exception):
    pass


class Client:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(TIMEOUT)
        self.s.connect(SOCK)
        self.structured = False

    def recvn(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise Closed("connection closed after %d of %d bytes"
                             % (len(buf), n))
            buf += chunk
        return bytes(buf)

    def send(self, b):
        self.s.sendall(b)

    def close(self):
        self.s.close()

    def is_closed(self):
        """True if the server closes the connection (EOF or reset) before
        the timeout; any bytes received first are skipped."""
        deadline = time.monotonic() + TIMEOUT
        try:
            while time.monotonic() < deadline:
                if not self.s.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False

    # -- handshake --
    def greeting(self):
        magic, opts, flags = struct.unpack(">QQH", self.recvn(18))
        assert magic == NBDMAGIC and opts == IHAVEOPT, "bad greeting"
        assert flags & 1, "no fixed newstyle"
        return flags

    def client_flags(self, fl=3):
        self.send(struct.pack(">I", fl))

    def option(self, opt, data=b""):
        self.send(struct.pack(">QII", IHAVEOPT, opt, len(data)) + data)

    def opt_reply(self):
        magic, opt, typ, ln = struct.unpack(">QIII", self.recvn(20))
        assert magic == REPMAGIC, "bad option reply magic %x" % magic
        return opt, typ, self.recvn(ln)

    def go(self, name, structured=True):
        self.greeting()
        self.client_flags(3)
        if structured:
            self.option(OPT_STRUCTURED)
            _, typ, _ = self.opt_reply()
            assert typ == REP_ACK
            self.structured = True
        nb = name.encode()
        self.option(OPT_GO, struct.pack(">I", len(nb)) + nb
                    + struct.pack(">HH", 1, 3))
        size = flags = None
        for _ in range(16):
            _, typ, data = self.opt_reply()
            if typ == REP_ACK:
                return size, flags
            if typ & ERR:
                raise AssertionError("GO %s failed: %x %r" % (name, typ, data))
            if typ == REP_INFO and struct.unpack(">H", data[:2])[0] == 0:
                size, flags = struct.unpack(">QH", data[2:12])
        raise AssertionError("GO: too many replies")

    # -- transmission --
    def request(self, typ, cookie, offset, length, flags=0, payload=b""):
        self.send(struct.pack(">IHHQQI", REQMAGIC, flags, typ, cookie,
                              offset, length) + payload)

    def reply(self, lengths):
        """Read one complete reply; lengths maps cookie -> READ length (for
        simple replies).  Returns (cookie, error, data)."""
        magic = struct.unpack(">I", self.recvn(4))[0]
        if magic == SIMPLE:
            err, cookie = struct.unpack(">IQ", self.recvn(12))
            data = b""
            if err == 0 and lengths.get(cookie):
                data = self.recvn(lengths[cookie])
            return cookie, err, data
        assert magic == STRUCT, "bad reply magic %x" % magic
        data = bytearray()
        err = 0
        for _ in range(1024):
            flags, typ, cookie, ln = struct.unpack(">HHQI", self.recvn(16))
            payload = self.recvn(ln)
            if typ == 1:
                data += payload[8:]
            elif typ & 0x8000:
                err = struct.unpack(">I", payload[:4])[0]
            if flags & 1:
                return cookie, err, bytes(data)
        raise AssertionError("reply: too many chunks")

    def call(self, typ, offset, length, flags=0, payload=b"", cookie=None):
        cookie = cookie if cookie is not None else random.getrandbits(63)
        self.request(typ, cookie, offset, length, flags, payload)
        c, err, data = self.reply({cookie: length if typ == CMD_READ else 0})
        assert c == cookie, "reply for cookie %x, expected %x" % (c, cookie)
        return err, data


# ---------------------------------------------------------------- good client

class Good(threading.Thread):
    """Writes and verifies patterns until told to stop."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.rounds = 0
        self.error = None

    def run(self):
        try:
            c = Client()
            c.go("good")
            rnd = random.Random(1)
            for _ in range(100000):
                if self.stop.is_set() and self.rounds >= 20:
                    break
                off = rnd.randrange(0, 64 * 1024 * 1024 // 4096) * 4096
                ln = rnd.choice([512, 4096, 65536, 1 << 20])
                ln = min(ln, 64 * 1024 * 1024 - off)
                pat = bytes([self.rounds & 0xFF]) * ln
                err, _ = c.call(CMD_WRITE, off, ln, payload=pat)
                assert err == 0, "good write failed: %d" % err
                err, data = c.call(CMD_READ, off, ln)
                assert err == 0 and data == pat, "good read mismatch"
                self.rounds += 1
            err, _ = c.call(CMD_FLUSH, 0, 0)
            assert err == 0
            c.request(CMD_DISC, 0, 0, 0)
            c.close()
        except Exception as e:      # reported by the main thread
            self.error = repr(e)


# ---------------------------------------------------------------- cases

def case_bad_request_magic():
    c = Client()
    c.go("hostile")
    c.send(struct.pack(">IHHQQI", 0xDEADBEEF, 0, CMD_READ, 1, 0, 512))
    if not c.is_closed():
        fail("bad request magic: connection not closed")
    c.close()


def case_request_errors(structured):
    c = Client()
    size, flags = c.go("hostile", structured)
    if size != 64 * 1024 * 1024:
        fail("hostile export size %r" % size)
    checks = [
        ("out-of-range read", CMD_READ, size, 512, 0, b"", EINVAL),
        ("read crossing the end", CMD_READ, size - 512, 1024, 0, b"", EINVAL),
        ("offset overflowing 64 bits", CMD_READ, (1 << 64) - 512, 1024, 0,
         b"", EINVAL),
        ("oversized read", CMD_READ, 0, 64 << 20, 0, b"", EINVAL),
        ("misaligned read", CMD_READ, 100, 512, 0, b"", EINVAL),
        ("unknown command", 42, 0, 512, 0, b"", EINVAL),
        ("unknown flag", CMD_READ, 0, 512, 0x40, b"", EINVAL),
        ("out-of-range write", CMD_WRITE, size, 4096, 0, b"x" * 4096, ENOSPC),
        ("misaligned write", CMD_WRITE, 0, 100, 0, b"y" * 100, EINVAL),
        ("flush with length", CMD_FLUSH, 0, 512, 0, b"", EINVAL),
        ("trim beyond the end", CMD_TRIM, size, 512, 0, b"", EINVAL),
    ]
    for name, typ, off, ln, fl, payload, want in checks:
        err, data = c.call(typ, off, ln, fl, payload)
        if err != want:
            fail("%s: error %d, expected %d" % (name, err, want))
        if data:
            fail("%s: data with an error reply" % name)
    # An oversized WRITE within the discard limit: the payload is read and
    # dropped, the error comes back, the connection stays in step.
    big = 40 << 20
    c.request(CMD_WRITE, 77, 0, big)
    chunk = b"\0" * (1 << 20)
    for _ in range(big // len(chunk)):
        c.send(chunk)
    cookie, err, _ = c.reply({})
    if cookie != 77 or err != EINVAL:
        fail("oversized write: cookie %x error %d" % (cookie, err))
    # Still serving: a good write and read back.
    err, _ = c.call(CMD_WRITE, 8192, 4096, payload=b"z" * 4096)
    err2, data = c.call(CMD_READ, 8192, 4096)
    if err or err2 or data != b"z" * 4096:
        fail("connection unusable after errors (structured=%s)" % structured)
    # A WRITE too large to swallow ends the connection.
    c.request(CMD_WRITE, 78, 0, 0xFFFFFE00)
    if not c.is_closed():
        fail("huge write: connection not closed")
    c.close()


def case_garbage_options():
    # option with a bad magic
    c = Client()
    c.greeting()
    c.client_flags(1)
    c.send(b"GARBAGE!" + struct.pack(">II", OPT_GO, 0))
    if not c.is_closed():
        fail("bad option magic: not closed")
    c.close()
    # unknown client flags
    c = Client()
    c.greeting()
    c.client_flags(0x80000001)
    if not c.is_closed():
        fail("unknown client flags: not closed")
    c.close()
    # option data far too long
    c = Client()
    c.greeting()
    c.client_flags(1)
    c.send(struct.pack(">QII", IHAVEOPT, OPT_LIST, 0x7FFFFFFF))
    if not c.is_closed():
        fail("huge option length: not closed")
    c.close()
    # errors that leave the haggling going, then a normal GO
    c = Client()
    c.greeting()
    c.client_flags(3)
    tests = [
        ("unknown option", 0x12345, b"whatever", REP_ERR_UNSUP),
        ("LIST with data", OPT_LIST, b"x", REP_ERR_INVALID),
        ("STARTTLS", OPT_STARTTLS, b"", REP_ERR_POLICY),
        ("truncated GO", OPT_GO, b"\0\0\0\x10abc", REP_ERR_INVALID),
        ("GO count mismatch", OPT_GO,
         struct.pack(">I", 4) + b"good" + struct.pack(">H", 5), REP_ERR_INVALID),
        ("GO unknown export", OPT_GO,
         struct.pack(">I", 6) + b"nosuch" + struct.pack(">H", 0),
         REP_ERR_UNKNOWN),
        ("INFO unknown export", OPT_INFO,
         struct.pack(">I", 2) + b"zz" + struct.pack(">H", 0), REP_ERR_UNKNOWN),
    ]
    for name, opt, data, want in tests:
        c.option(opt, data)
        o, typ, _ = c.opt_reply()
        if o != opt or typ != want:
            fail("%s: reply %x to option %x, expected %x"
                 % (name, typ, o, want))
    c.option(OPT_LIST)
    names = []
    for _ in range(16):
        _, typ, data = c.opt_reply()
        if typ == REP_ACK:
            break
        nl = struct.unpack(">I", data[:4])[0]
        names.append(data[4:4 + nl].decode())
    if sorted(names) != ["good", "hostile", "victim"]:
        fail("LIST gave %r" % names)
    c.option(OPT_ABORT)
    _, typ, _ = c.opt_reply()
    if typ != REP_ACK or not c.is_closed():
        fail("ABORT: no ACK or not closed")
    c.close()
    # too many options
    c = Client()
    c.greeting()
    c.client_flags(1)
    closed = False
    for _ in range(200):
        try:
            c.option(0x999)
            c.opt_reply()
        except (Closed, ConnectionResetError, BrokenPipeError):
            closed = True
            break
    if not closed:
        fail("200 options: connection not closed")
    c.close()
    # EXPORT_NAME of an unknown export can only be refused by hanging up
    c = Client()
    c.greeting()
    c.client_flags(3)
    c.option(OPT_EXPORT_NAME, b"nosuch")
    if not c.is_closed():
        fail("EXPORT_NAME unknown: not closed")
    c.close()
    # random bytes from the start
    for seed in range(8):
        c = Client()
        c.greeting()
        c.send(random.Random(seed).randbytes(4096))
        if not c.is_closed():
            fail("random bytes (seed %d): not closed" % seed)
        c.close()


def case_silent_client():
    c = Client()
    c.greeting()
    start = time.monotonic()
    if not c.is_closed():
        fail("silent client not timed out")
    note("silent client closed after %.1fs" % (time.monotonic() - start))
    c.close()


def case_out_of_order():
    """Many reads in flight at once (more than the server's 128-slot limit),
    replies collected afterwards: all arrive, some out of order."""
    c = Client()
    c.go("hostile")
    n = 300
    batch = b"".join(struct.pack(">IHHQQI", REQMAGIC, 0, CMD_READ, i,
                                 (i % 1024) * 4096, 4096) for i in range(n))
    c.send(batch)
    got = []
    for _ in range(n):
        cookie, err, data = c.reply({})
        if err or len(data) != 4096:
            fail("pipelined read %d: err %d len %d" % (cookie, err, len(data)))
        got.append(cookie)
    if sorted(got) != list(range(n)):
        fail("pipelined reads: wrong cookies")
    inversions = sum(1 for a, b in zip(got, got[1:]) if b < a)
    note("pipelined reads: %d replies, %d out of order" % (n, inversions))
    if inversions == 0:
        fail("no out-of-order completion observed")
    c.request(CMD_DISC, 0, 0, 0)
    c.close()


def case_abrupt_close():
    """Requests in flight, then the client vanishes."""
    for _ in range(5):
        c = Client()
        c.go("hostile")
        for i in range(64):
            c.request(CMD_WRITE, i, i * 65536, 65536, payload=b"q" * 65536)
        c.close()


def case_remove_export(pid):
    """SIGUSR1 makes the server remove 'victim'.  A connection with requests
    in flight gets ESHUTDOWN for new requests and is closed once they are
    done; an idle one is closed at once.  Which of the two a client sees
    depends on timing, so both are accepted; either way the connection
    must end and the export must be gone for new clients."""
    c = Client()
    c.go("victim", structured=False)
    err, _ = c.call(CMD_READ, 0, 4096)
    if err:
        fail("victim read before removal: %d" % err)
    os.kill(pid, signal.SIGUSR1)
    got = None
    for _ in range(200):
        try:
            err, _ = c.call(CMD_READ, 0, 4096)
        except (Closed, ConnectionResetError, BrokenPipeError):
            got = "closed"
            break
        if err == ESHUTDOWN:
            got = "ESHUTDOWN"
            break
        if err:
            got = "error %d" % err
            break
        time.sleep(0.01)
    note("after removal the client saw: %s" % got)
    if got not in ("ESHUTDOWN", "closed"):
        fail("after removal: %s" % got)
    if got == "ESHUTDOWN" and not c.is_closed():
        fail("after removal: connection not closed")
    c.close()
    c = Client()
    c.greeting()
    c.client_flags(3)
    c.option(OPT_GO, struct.pack(">I", 6) + b"victim" + struct.pack(">H", 0))
    _, typ, _ = c.opt_reply()
    if typ != REP_ERR_UNKNOWN:
        fail("GO on a removed export: %x" % typ)
    c.close()


def main():
    global SOCK
    SOCK = sys.argv[1]
    pid = int(sys.argv[2])
    random.seed(0)

    good = Good()
    good.start()
    cases = [
        ("bad request magic", case_bad_request_magic),
        ("request errors, simple", lambda: case_request_errors(False)),
        ("request errors, structured", lambda: case_request_errors(True)),
        ("garbage options", case_garbage_options),
        ("silent client", case_silent_client),
        ("out-of-order completion", case_out_of_order),
        ("abrupt close", case_abrupt_close),
        ("export removal", lambda: case_remove_export(pid)),
    ]
    for name, fn in cases:
        note("== " + name)
        try:
            fn()
        except Exception as e:
            fail("%s: %r" % (name, e))
        if not good.is_alive() and good.error:
            break
    good.stop.set()
    good.join(120)
    if good.is_alive():
        fail("good client did not finish")
    elif good.error:
        fail("good client: " + good.error)
    else:
        note("good client: %d write/read rounds, all verified" % good.rounds)
    # The server is still up and serving.
    try:
        c = Client()
        size, _ = c.go("good")
        c.request(CMD_DISC, 0, 0, 0)
        c.close()
    except Exception as e:
        fail("server not serving at the end: %r" % e)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("all hostile cases handled")
    return 0


if __name__ == "__main__":
    sys.exit(main())
