#!/usr/bin/env python3
# tests/lib/iscsi-login-probe.py -- raw iSCSI login that prints what the
# target answers, for tests that check a target's negotiation (e.g. that
# start_istgt --digest really requires CRC32C).  libiscsi's tools cannot
# show this: they hide the login keys and cannot offer a data digest.
#
# usage: iscsi-login-probe.py HOST PORT TARGET_IQN [KEY=VALUE...]
#
# Runs a security stage with AuthMethod=None, then one operational stage
# offering the given keys, asking to go to full feature phase.  Prints
# "status=XXXX" (login status class/detail, hex) for each response and
# each key the target sent as KEY=VALUE.  Exit 0 if the login reached full
# feature phase, 1 if the target refused it, 2 on protocol or I/O errors.
# No CHAP: a CHAP target answers with an AuthMethod the probe stops at.

import socket
import struct
import sys

ISID = bytes([0x80, 0x62, 0x72, 0x61, 0x69, 0x64])  # type "random", "braid"


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed by target")
        buf += chunk
    return buf


def login_pdu(sock, keys, csg, nsg, itt, cmdsn, tsih):
    data = b"".join(k.encode() + b"\0" for k in keys)
    flags = 0x80 | (csg << 2) | nsg           # T=1: request the transition
    bhs = bytes([0x43, flags, 0, 0, 0]) + len(data).to_bytes(3, "big")
    bhs += ISID + tsih.to_bytes(2, "big")
    bhs += struct.pack(">IHHII", itt, 0, 0, cmdsn, 0) + bytes(16)
    sock.sendall(bhs + data + bytes((-len(data)) % 4))
    hdr = recv_exact(sock, 48)
    if hdr[0] & 0x3F != 0x23:
        raise ValueError("unexpected opcode 0x%02x" % hdr[0])
    dlen = int.from_bytes(hdr[5:8], "big")
    body = recv_exact(sock, dlen + (-dlen) % 4)[:dlen]
    status = (hdr[36] << 8) | hdr[37]
    answer = [x.decode(errors="replace") for x in body.split(b"\0") if x]
    print("status=%04x" % status)
    for kv in answer:
        print(kv)
    return hdr, status


def main():
    if len(sys.argv) < 4:
        print("usage: iscsi-login-probe.py HOST PORT TARGET_IQN "
              "[KEY=VALUE...]", file=sys.stderr)
        return 2
    host, port, iqn = sys.argv[1].strip("[]"), int(sys.argv[2]), sys.argv[3]
    offer = sys.argv[4:]
    try:
        sock = socket.create_connection((host, port), timeout=10)
        hdr, status = login_pdu(
            sock, ["InitiatorName=iqn.2026-11.dev.braid:login-probe",
                   "SessionType=Normal", "TargetName=" + iqn,
                   "AuthMethod=None"], 0, 1, 1, 0, 0)
        if status != 0:
            return 1
        if not hdr[1] & 0x80:                 # target did not transit
            print("target stayed in the security stage", file=sys.stderr)
            return 1
        tsih = int.from_bytes(hdr[14:16], "big")
        hdr, status = login_pdu(sock, offer, 1, 3, 1, 0, tsih)
        if status != 0:
            return 1
        return 0 if hdr[1] & 0x83 == 0x83 else 1
    except (OSError, EOFError, ValueError) as e:
        print("login probe: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
