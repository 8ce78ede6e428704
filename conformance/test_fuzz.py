"""A seeded protocol fuzzer against the router: random, truncated, oversized and
out-of-order messages (at least 10,000 a run), before and after authentication.
After every batch the server answers SELECT 1 on a fresh connection, no process
has died, and the router's memory stays bounded. FLOE_FUZZ_SEED replays a run."""

import os
import random
import socket
import struct

import psycopg

from conftest import Server

MESSAGES = 10_000
BATCH = 250
TAGS = b"QPBEDCHSFXdcfp~!\x00\xff"


def startup(params):
    body = struct.pack("!i", 196608)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def message(rng):
    kind = rng.random()
    tag = bytes([rng.choice(TAGS)])
    if kind < 0.35:  # well-formed frame, random body
        body = rng.randbytes(rng.randint(0, 64))
        return tag + struct.pack("!i", len(body) + 4) + body
    if kind < 0.5:  # plausible SQL, sometimes cut short
        sql = rng.choice([b"SELECT 1", b"SELECT $1", b"BEGIN", b"COMMIT", b"SELECT 'x", b"/*"])
        body = sql + b"\0"
        m = b"Q" + struct.pack("!i", len(body) + 4) + body
        return m[: rng.randint(1, len(m))] if rng.random() < 0.3 else m
    if kind < 0.6:  # a length claiming far more than is sent
        return tag + struct.pack("!i", rng.choice([2**30, 2**31 - 1, 500_000_000, 70_000_000])) + b"x" * 16
    if kind < 0.7:  # negative or tiny lengths
        return tag + struct.pack("!i", rng.choice([-1, 0, 1, 3, -(2**31)]))
    if kind < 0.8:  # extended-protocol messages out of order
        parts = [
            b"B" + struct.pack("!i", 12) + b"\0\0" + b"\0\0\0\0" + b"\0\0",
            b"E" + struct.pack("!i", 9) + b"\0" + b"\0\0\0\0",
            b"S" + struct.pack("!i", 4),
            b"D" + struct.pack("!i", 6) + b"Sx",
            b"C" + struct.pack("!i", 6) + b"P\0",
            b"d" + struct.pack("!i", 8) + b"abcd",
        ]
        rng.shuffle(parts)
        return b"".join(parts[: rng.randint(1, len(parts))])
    return rng.randbytes(rng.randint(1, 200))  # noise


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_protocol_fuzz():
    seed = int(os.environ.get("FLOE_FUZZ_SEED", "20261205"))
    rng = random.Random(seed)
    s = Server('[admin]\nlisten = ""\n[router]\nauthentication_timeout = 2\n')
    try:
        sent = 0
        baseline = None
        while sent < MESSAGES:
            for _ in range(BATCH // 50):
                sock = socket.create_connection((s.host, s.port))
                sock.settimeout(0.2)
                try:
                    if rng.random() < 0.8:
                        sock.sendall(startup({"user": "floe", "database": "floe"}))
                    for _ in range(50):
                        sock.sendall(message(rng))
                        sent += 1
                    try:
                        sock.recv(65536)
                    except (socket.timeout, OSError):
                        pass
                except OSError:
                    pass  # the server closed a connection it judged broken
                finally:
                    sock.close()
            assert s.proc.poll() is None, f"server died (seed {seed}, after {sent})"
            with psycopg.connect(s.dsn(), connect_timeout=10) as c:
                assert c.execute("SELECT 1").fetchone() == (1,), f"seed {seed}"
            rss = rss_kb(s.proc.pid)
            baseline = baseline or rss
            assert rss < baseline + 200_000, f"router RSS grew to {rss} kB (seed {seed})"
        assert sent >= MESSAGES
        assert "panicked" not in "".join(s.log), f"seed {seed}: a panic was logged"
    finally:
        s.stop()
