#!/usr/bin/env python3
"""nbd-bad-client.py SOCKET EXPORT: malformed and out-of-range NBD requests.

Each case opens its own connection, negotiates the export with OPT_GO,
sends one bad request and checks the server's answer: an error reply with
the errno NBD wants (EINVAL for out-of-range, unaligned or unknown
requests), or the connection closed where the protocol leaves no other way
(bad request magic).  Prints one line per case; exit 0 only if every case
behaved.  Every socket operation has a timeout.
"""
import socket, struct, sys

IHAVEOPT, REQMAGIC, SIMPLE = 0x49484156454F5054, 0x25609513, 0x67446698
EINVAL, ENOSPC = 22, 28


def recvall(s, n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def connect(path, export):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    recvall(s, 18)
    s.sendall(struct.pack(">I", 3))
    name = export.encode()
    data = struct.pack(">I", len(name)) + name + b"\0\0"
    s.sendall(struct.pack(">QII", IHAVEOPT, 7, len(data)) + data)
    size = None
    while True:
        _, _, rtype, rlen = struct.unpack(">QIII", recvall(s, 20))
        p = recvall(s, rlen)
        if rtype == 3 and struct.unpack(">H", p[:2])[0] == 0:
            size = struct.unpack(">Q", p[2:10])[0]
        if rtype == 1:
            return s, size
        if rtype & (1 << 31):
            raise RuntimeError("GO refused")


def request(s, cmd, off, length, magic=REQMAGIC, flags=0, payload=b""):
    s.sendall(struct.pack(">IHHQQI", magic, flags, cmd, 7, off, length) + payload)
    m, err, cookie = struct.unpack(">IIQ", recvall(s, 16))
    assert m == SIMPLE and cookie == 7
    return err


def main():
    path, export = sys.argv[1], sys.argv[2]
    ok = True
    s, size = connect(path, export)
    s.close()
    cases = [
        ("read past the end", lambda s: request(s, 0, size, 4096), EINVAL),
        ("read crossing the end", lambda s: request(s, 0, size - 512, 4096), EINVAL),
        ("read at 2^63", lambda s: request(s, 0, 1 << 63, 4096), EINVAL),
        ("unaligned read", lambda s: request(s, 0, 100, 512), EINVAL),
        ("oversized read (64 MiB)", lambda s: request(s, 0, 0, 64 << 20), EINVAL),
        ("unknown command 42", lambda s: request(s, 42, 0, 4096), EINVAL),
        ("write past the end", lambda s: request(s, 1, size, 512, payload=b"x" * 512), ENOSPC),
    ]
    for name, fn, want in cases:
        s, _ = connect(path, export)
        try:
            err = fn(s)
            good = err == want
            print("%-28s error %d (%s)" % (name, err, "ok" if good else "WRONG, want %d" % want))
            ok &= good
            # the same connection still serves a good request afterwards
            if good and request(s, 0, 0, 4096) != 0:
                print("%-28s connection unusable after the error" % name)
                ok = False
            recvall(s, 4096) if good else None
        except (EOFError, OSError) as e:
            print("%-28s connection dropped (%s): WRONG" % (name, e))
            ok = False
        s.close()
    # Bad magic: the stream cannot be trusted any more; closing is right.
    s, _ = connect(path, export)
    s.sendall(struct.pack(">IHHQQI", 0xdeadbeef, 0, 0, 7, 0, 4096))
    try:
        data = s.recv(16)
        closed = data == b""
    except OSError:
        closed = True
    print("%-28s %s" % ("bad request magic", "connection closed (ok)" if closed else "WRONG: answered"))
    ok &= closed
    s.close()
    return 0 if ok else 1


sys.exit(main())
