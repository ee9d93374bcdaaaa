#!/usr/bin/env python3
"""nbd-tls-probe.py MODE HOST PORT [EXPORT]: raw checks of an NBD server's TLS.

The first line printed is the client's own address (HOST:PORT, as the
server logs its peer), then one line per check; exit 0 only if every check
behaved.  Every socket operation has a timeout (WAIT_S).

inject      The STARTTLS injection attack (CVE-2011-0411 in SMTP): a man in
            the middle appends plaintext to the client's NBD_OPT_STARTTLS,
            hoping the server keeps it buffered and later treats it as if it
            had come over TLS.  We send the client flags, NBD_OPT_STARTTLS,
            a plaintext NBD_OPT_STRUCTURED_REPLY and junk in one send,
            before the server's ACK.  A safe server closes the connection:
            before its ACK, or after it when the handshake reads the
            plaintext as a TLS record and fails.  A server still open WAIT_S
            seconds later (waiting for a ClientHello while the injected
            bytes sit in its buffer) fails.
tls-reqd    A plaintext client of a server that requires TLS: GO, INFO,
            LIST, STRUCTURED_REPLY, LIST_META_CONTEXT and SET_META_CONTEXT
            must each get NBD_REP_ERR_TLS_REQD, and NBD_OPT_EXPORT_NAME
            must end the connection without the export's size.
"""
import socket, struct, sys

IHAVEOPT, REPLY_MAGIC = 0x49484156454F5054, 0x3E889045565A9
OPT_EXPORT_NAME, OPT_LIST, OPT_STARTTLS, OPT_INFO, OPT_GO = 1, 3, 5, 6, 7
OPT_STRUCTURED_REPLY, OPT_LIST_META, OPT_SET_META = 8, 9, 10
REP_ACK, REP_ERR_TLS_REQD = 1, (1 << 31) + 5
WAIT_S = 10


def recv_until_close(s, want):
    """Read up to WANT bytes; return (data, closed)."""
    data = b""
    while len(data) < want:
        try:
            c = s.recv(want - len(data))
        except ConnectionResetError:
            return data, True
        except socket.timeout:
            return data, False
        if not c:
            return data, True
        data += c
    return data, False


def option(opt, data=b""):
    return struct.pack(">QII", IHAVEOPT, opt, len(data)) + data


def connect(host, port):
    s = socket.create_connection((host, port), timeout=WAIT_S)
    print("%s:%d" % s.getsockname()[:2], flush=True)
    greeting, closed = recv_until_close(s, 18)
    if closed or greeting[:16] != b"NBDMAGICIHAVEOPT":
        print("no newstyle greeting: %r" % greeting)
        sys.exit(2)
    return s


def inject(host, port):
    s = connect(host, port)
    s.sendall(struct.pack(">I", 3) + option(OPT_STARTTLS)
              + option(OPT_STRUCTURED_REPLY) + b"INJECTED-PLAINTEXT")
    reply, closed = recv_until_close(s, 20)
    if closed and not reply:
        print("closed before the ACK")
        return 0
    if len(reply) == 20:
        magic, opt, rtype, rlen = struct.unpack(">QIII", reply)
        if magic != REPLY_MAGIC or opt != OPT_STARTTLS or rtype != REP_ACK or rlen != 0:
            print("unexpected reply to STARTTLS: opt %d type %#x len %d" % (opt, rtype, rlen))
            return 1
        more, closed = recv_until_close(s, 1 << 16)
        if closed:
            print("closed after the ACK" + (" (%d bytes sent first)" % len(more) if more else ""))
            return 0
        print("open %d s after the ACK: the server waits for a handshake with the "
              "injected plaintext still unread" % WAIT_S)
        return 1
    print("open: %d-byte partial reply, then nothing for %d s" % (len(reply), WAIT_S))
    return 1


def tls_reqd(host, port, export):
    s = connect(host, port)
    s.sendall(struct.pack(">I", 3))
    name = export.encode()
    go = struct.pack(">I", len(name)) + name + struct.pack(">H", 0)
    meta = struct.pack(">I", len(name)) + name + struct.pack(">I", 0)
    cases = [("GO", OPT_GO, go), ("INFO", OPT_INFO, go), ("LIST", OPT_LIST, b""),
             ("STRUCTURED_REPLY", OPT_STRUCTURED_REPLY, b""),
             ("LIST_META_CONTEXT", OPT_LIST_META, meta),
             ("SET_META_CONTEXT", OPT_SET_META, meta)]
    ok = True
    for label, opt, data in cases:
        s.sendall(option(opt, data))
        hdr, closed = recv_until_close(s, 20)
        if len(hdr) < 20:
            print("%s: no reply (%s)" % (label, "closed" if closed else "timeout"))
            return 1
        magic, ropt, rtype, rlen = struct.unpack(">QIII", hdr)
        if rlen > 65536:
            print("%s: reply length %d" % (label, rlen))
            return 1
        recv_until_close(s, rlen)
        good = magic == REPLY_MAGIC and ropt == opt and rtype == REP_ERR_TLS_REQD
        ok = ok and good
        print("%s: reply %#x%s" % (label, rtype, "" if good else " (want ERR_TLS_REQD)"))
    s.sendall(option(OPT_EXPORT_NAME, name))
    data, closed = recv_until_close(s, 10)
    if closed and not data:
        print("EXPORT_NAME: closed")
    else:
        print("EXPORT_NAME: %d bytes of export info%s" % (len(data), "" if closed else ", still open"))
        ok = False
    return 0 if ok else 1


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "inject":
        return inject(host, port)
    if mode == "tls-reqd":
        return tls_reqd(host, port, sys.argv[4] if len(sys.argv) > 4 else "")
    print("unknown mode %s" % mode)
    return 2


if __name__ == "__main__":
    sys.exit(main())
