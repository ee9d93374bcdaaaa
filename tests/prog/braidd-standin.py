#!/usr/bin/env python3
"""braidd-standin.py: a stand-in for braidd's control socket.

Listens on DIR/braidd.sock with multipathd's framing (native size_t
length counting the NUL, then the text) and answers "show status" with
the contents of DIR/status (reread per request), and "show paths json",
"nodes" and "exports" with empty lists.  Runs until DIR/stop exists or
--seconds pass.  Lets a test drive "braid status" through replies braidd
itself does not give yet (e.g. "host state: non-operational").
"""
import argparse, json, os, socket, struct, time

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--seconds", type=float, default=120)
a = ap.parse_args()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(os.path.join(a.dir, "braidd.sock"))
s.listen(8)
s.settimeout(1)
end = time.monotonic() + a.seconds
replies = {"show paths json": {"paths": []}, "nodes": {"nodes": []},
           "exports": {"exports": []}}
while time.monotonic() < end and not os.path.exists(os.path.join(a.dir, "stop")):
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    with c:
        n = struct.unpack("=Q", c.recv(8, socket.MSG_WAITALL))[0]
        cmd = c.recv(n, socket.MSG_WAITALL).rstrip(b"\0").decode()
        if cmd == "show status":
            with open(os.path.join(a.dir, "status")) as f:
                text = f.read()
        elif cmd in replies:
            text = json.dumps(replies[cmd]) + "\n"
        else:
            text = "fail\n"
        b = text.encode() + b"\0"
        c.sendall(struct.pack("=Q", len(b)) + b)
