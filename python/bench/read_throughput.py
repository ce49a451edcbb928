"""Sequential read throughput of one file through the Python client, against
curl --unix-socket of the same file. A measurement, not a test.

    python3 python/bench/read_throughput.py [--size-mib 256] [--rounds 5]

Starts a real daemon in a temporary folder (the binary from $MESHCACHE_BIN or
built from this checkout), publishes one file of random bytes (its blocks
land in the store), then reads it round after round, the ways interleaved
(the page cache here is volatile: see /work/shared/FACTS.md), and prints the
median of each.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))

from harness import MiB, Daemon  # noqa: E402

import meshcache  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    size = args.size_mib * MiB

    tmp = tempfile.mkdtemp(prefix="meshcache-pybench-")
    daemon = Daemon(tmp)
    try:
        os.makedirs(os.path.join(daemon.origin, "ds"))
        with open(os.path.join(daemon.origin, "ds", "f.bin"), "wb") as f:
            for _ in range(args.size_mib):
                f.write(os.urandom(MiB))
        daemon.start()
        root = daemon.publish("ds")
        client = meshcache.Client(daemon.socket)
        url = "http://meshcache" + meshcache.client.fs_url(root, "f.bin")

        def curl():
            subprocess.run(["curl", "-sf", "--unix-socket", daemon.socket, "-o", "/dev/null", url], check=True)
            return size

        def open_read(chunk):
            def run():
                n = 0
                with client.open(root, "f.bin") as f:
                    while True:
                        b = f.read(chunk)
                        if not b:
                            return n
                        n += len(b)
            return run

        def open_readinto(chunk):
            def run():
                buf = bytearray(chunk)
                n = 0
                with client.open(root, "f.bin") as f:
                    while True:
                        k = f.readinto(buf)
                        if not k:
                            return n
                        n += k
            return run

        def fixed_ranges(chunk):
            # One GET per chunk, as a reader with a fixed buffer would do.
            def run():
                buf = bytearray(chunk)
                n = 0
                while n < size:
                    n += client.read_range_into(root, "f.bin", n, buf)
                return n
            return run

        def read_whole():
            return len(client.read(root, "f.bin"))

        ways = {
            "curl --unix-socket -o /dev/null": curl,
            "open(); read(64 KiB) loop": open_read(64 << 10),
            "open(); read(1 MiB) loop": open_read(MiB),
            "open(); readinto(1 MiB buffer) loop": open_readinto(MiB),
            "read_range_into, one GET per 4 MiB": fixed_ranges(4 * MiB),
            "Client.read() whole file": read_whole,
        }
        results = {name: [] for name in ways}
        for name, fn in ways.items():  # warm the store's files and the code paths
            fn()
        for _ in range(args.rounds):
            for name, fn in ways.items():
                t = time.perf_counter()
                n = fn()
                dt = time.perf_counter() - t
                if n != size:
                    raise SystemExit("%s read %d of %d bytes" % (name, n, size))
                results[name].append(size / dt / 1e9)
        print("sequential read of a %d MiB file, %d interleaved rounds, GB/s (median [min-max])" % (args.size_mib, args.rounds))
        base = statistics.median(results["curl --unix-socket -o /dev/null"])
        for name, v in results.items():
            m = statistics.median(v)
            print("  %-42s %5.2f  [%.2f-%.2f]  %.2fx curl" % (name, m, min(v), max(v), m / base))
        client.close()
    finally:
        daemon.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
