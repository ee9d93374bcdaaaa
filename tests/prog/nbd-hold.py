#!/usr/bin/env python3
"""nbd-hold.py: hold an NBD export open, as a guest would.

Connects to a braidd export over its Unix socket (OPT_GO), reads the
first block to prove the connection is in transmission, prints "open",
then waits: when the server closes the connection it prints "closed by
server" and exits 0; after --seconds without that it exits 2.  Used by
the volume tests: deactivate must refuse while this runs, and --force
must disconnect it.
"""
import argparse, importlib.util, os, select, sys, time

here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("nbd_verify", os.path.join(here, "nbd-verify.py"))
nv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(nv)

ap = argparse.ArgumentParser()
ap.add_argument("--socket", required=True)
ap.add_argument("--export", required=True)
ap.add_argument("--seconds", type=float, default=300)
a = ap.parse_args()

c = nv.Nbd(a.socket, a.export, 30)
err, _ = c.io(nv.CMD_READ, 0, 512)
if err:
    print("read failed: %d" % err, flush=True)
    sys.exit(1)
print("open", flush=True)
deadline = time.monotonic() + a.seconds
while time.monotonic() < deadline:
    r, _, _ = select.select([c.s], [], [], 1.0)
    if r:
        try:
            data = c.s.recv(4096)
        except OSError:
            data = b""
        if not data:
            print("closed by server", flush=True)
            sys.exit(0)
sys.exit(2)
