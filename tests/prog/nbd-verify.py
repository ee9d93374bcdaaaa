#!/usr/bin/env python3
"""nbd-verify.py: a continuous verified writer over NBD (own client).

Writes blocks chosen at random over a region, each block's content
derived from its LBA and a per-block generation, reads every block back
after writing it, and at the end reads the whole region and checks every
block against the last generation written.  Records every I/O's
completion time and reports the longest gap between two consecutive
completions, the number of errors and of mismatches, as JSON.  Runs for
a fixed time (and a fixed number of I/Os at most); used by the failover
tests while paths are cut under it.

With --reconnect SECONDS it also survives the server going away (the
daemon crash tests): a lost connection is reopened, retrying for up to
SECONDS, and the I/O that got no reply is issued again (rewriting the same
data is safe, and the generation table only moves once a write is
acknowledged, so the final read-back still checks every block).  Those
reconnects and re-issued I/Os are counted apart from errors; without the
option a lost connection ends the run as before.
"""
import argparse, hashlib, json, os, random, socket, struct, sys, time

NBD_MAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x3e889045565a9
OPT_GO = 7
REQ_MAGIC = 0x25609513
SIMPLE_REPLY = 0x67446698
CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH = 0, 1, 2, 3


def recvall(s, n):
    b = bytearray()
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError("server closed the connection")
        b += c
    return bytes(b)


class ExportRefused(RuntimeError):
    pass


class Nbd:
    def __init__(self, path, export, timeout):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        magic, opt, flags = struct.unpack(">QQH", recvall(self.s, 18))
        assert magic == NBD_MAGIC and opt == IHAVEOPT, "not a newstyle server"
        self.s.sendall(struct.pack(">I", 1 | 2))  # FIXED_NEWSTYLE | NO_ZEROES
        name = export.encode()
        data = struct.pack(">I", len(name)) + name + struct.pack(">H", 0)
        self.s.sendall(struct.pack(">QII", IHAVEOPT, OPT_GO, len(data)) + data)
        self.size = None
        while True:
            rm, ropt, rtype, rlen = struct.unpack(">QIII", recvall(self.s, 20))
            payload = recvall(self.s, rlen)
            if rtype == 1:  # ACK
                break
            if rtype == 3 and rlen >= 12 and struct.unpack(">H", payload[:2])[0] == 0:
                self.size = struct.unpack(">Q", payload[2:10])[0]
            elif rtype & (1 << 31):
                raise ExportRefused("OPT_GO refused: %d %r" % (rtype, payload))
        self.cookie = 0

    def io(self, cmd, off, length, data=b""):
        self.cookie += 1
        self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, cmd, self.cookie, off, length) + data)
        magic, err, cookie = struct.unpack(">IIQ", recvall(self.s, 16))
        assert magic == SIMPLE_REPLY and cookie == self.cookie, "bad reply"
        out = recvall(self.s, length) if cmd == CMD_READ and err == 0 else b""
        return err, out

    def close(self):
        try:
            self.s.sendall(struct.pack(">IHHQQI", REQ_MAGIC, 0, CMD_DISC, 0, 0, 0))
        except OSError:
            pass
        self.s.close()


class Reconnecting:
    """An Nbd that reopens itself after a lost connection (--reconnect)."""

    def __init__(self, a):
        self.a = a
        self.c = None
        self.reconnects = 0
        self.reissued = 0
        self.refused = 0         # handshakes told "unknown export"
        self.longest_outage = 0.0
        self.connect()

    def connect(self):
        t0 = time.monotonic()
        while True:
            try:
                self.c = Nbd(self.a.socket, self.a.export, self.a.io_timeout)
                break
            except (ConnectionError, FileNotFoundError, EOFError,
                    ExportRefused) as e:
                # Refused, reset, no socket yet, closed in the handshake, or
                # the export not there yet: the daemon is down or still
                # bringing its maps back.
                if isinstance(e, ExportRefused):
                    self.refused += 1
                if time.monotonic() - t0 >= self.a.reconnect:
                    raise RuntimeError("could not reconnect within %g s: %s"
                                       % (self.a.reconnect, e))
                time.sleep(0.1)
        self.longest_outage = max(self.longest_outage, time.monotonic() - t0)

    def io(self, cmd, off, length, data=b""):
        while True:
            try:
                return self.c.io(cmd, off, length, data)
            except (ConnectionError, EOFError):
                # No reply: the server went away.  Not a timeout: a server
                # that hangs is a failure, not something to paper over.
                try:
                    self.c.s.close()
                except OSError:
                    pass
                self.reconnects += 1
                self.reissued += 1
                self.connect()

    def close(self):
        self.c.close()


def pattern(lba, gen, bs):
    seed = hashlib.sha256(b"%d:%d" % (lba, gen)).digest()
    return (seed * (bs // len(seed) + 1))[:bs]


def note_gap(gaps, t0, last, max_gap, max_gap_at):
    """Record the time since the previous completion, reads and writes alike:
    a path cut that catches a read must show its gap too."""
    now = time.monotonic()
    gap = now - last
    if gap > max_gap:
        max_gap, max_gap_at = gap, now - t0
    gaps.append((round(now - t0, 4), round(gap * 1000, 3)))
    return now, max_gap, max_gap_at


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--export", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--max-ios", type=int, default=10_000_000)
    ap.add_argument("--blocks", type=int, default=4096)
    ap.add_argument("--bs", type=int, default=4096)
    ap.add_argument("--rate", type=float, default=0, help="I/Os per second, 0 = as fast as possible")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--io-timeout", type=float, default=120)
    ap.add_argument("--report", default="-")
    ap.add_argument("--ready-file")
    ap.add_argument("--stop-file", help="stop early when this file appears")
    ap.add_argument("--timeline", help="write every completion as 'seconds gap_ms' (bench/)")
    ap.add_argument("--reconnect", type=float, default=0, metavar="SECONDS",
                    help="on a lost connection, reconnect (retrying for up to SECONDS) "
                         "and re-issue the unanswered I/O")
    a = ap.parse_args()

    rnd = random.Random(a.seed)
    c = Reconnecting(a) if a.reconnect > 0 else Nbd(a.socket, a.export, a.io_timeout)
    gen = [0] * a.blocks
    ios = errors = mismatches = 0
    max_gap = 0.0
    max_gap_at = 0.0
    gaps = []
    t0 = time.monotonic()
    last = t0
    if a.ready_file:
        open(a.ready_file, "w").close()
    while ios < a.max_ios and time.monotonic() - t0 < a.seconds:
        if a.stop_file and os.path.exists(a.stop_file):
            break
        lba = rnd.randrange(a.blocks)
        g = gen[lba] + 1
        err, _ = c.io(CMD_WRITE, lba * a.bs, a.bs, pattern(lba, g, a.bs))
        last, max_gap, max_gap_at = note_gap(gaps, t0, last, max_gap, max_gap_at)
        ios += 1
        if err:
            errors += 1
            continue
        gen[lba] = g
        err, data = c.io(CMD_READ, lba * a.bs, a.bs)
        last, max_gap, max_gap_at = note_gap(gaps, t0, last, max_gap, max_gap_at)
        ios += 1
        if err:
            errors += 1
        elif data != pattern(lba, g, a.bs):
            mismatches += 1
        if a.rate:
            delay = ios / a.rate - (time.monotonic() - t0)
            if delay > 0:
                time.sleep(delay)
    # Final pass: every block must hold the last generation written.
    final_bad = 0
    chunk = 64
    for start in range(0, a.blocks, chunk):
        n = min(chunk, a.blocks - start)
        err, data = c.io(CMD_READ, start * a.bs, n * a.bs)
        if err:
            errors += 1
            continue
        for i in range(n):
            lba = start + i
            want = pattern(lba, gen[lba], a.bs) if gen[lba] else None
            got = data[i * a.bs:(i + 1) * a.bs]
            if want is not None and got != want:
                final_bad += 1
    c.close()
    if a.timeline:
        with open(a.timeline, "w") as f:
            for t, ms in gaps:
                f.write("%s %s\n" % (t, ms))
    # Keep the report small: the gaps above 50 ms, plus the longest.
    slow = [g for g in gaps if g[1] > 50]
    rep = {"ios": ios, "errors": errors, "mismatches": mismatches + final_bad,
           "final_mismatches": final_bad, "max_gap_ms": round(max_gap * 1000, 1),
           "max_gap_at_s": round(max_gap_at, 3), "seconds": round(time.monotonic() - t0, 2),
           "slow_completions": slow[:200]}
    if a.reconnect > 0:
        rep.update(reconnects=c.reconnects, reissued_ios=c.reissued,
                   export_refused=c.refused,
                   longest_outage_s=round(c.longest_outage, 3))
    text = json.dumps(rep)
    if a.report == "-":
        print(text)
    else:
        with open(a.report, "w") as f:
            f.write(text + "\n")
    return 0 if errors == 0 and mismatches + final_bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
