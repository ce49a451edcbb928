"""A real meshcache daemon for the Python client's tests.

Builds the binary once per test run (or uses $MESHCACHE_BIN), runs
`meshcache daemon` on a unix socket in a temporary folder, publishes fixture
folders with the real CLI, and stops the daemon with SIGTERM.
"""

import atexit
import functools
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if os.path.join(REPO, "python") not in sys.path:
    sys.path.insert(0, os.path.join(REPO, "python"))

import meshcache  # noqa: E402 (needs the path above)

MiB = 1 << 20


@functools.lru_cache(maxsize=None)
def meshcache_binary():
    """$MESHCACHE_BIN, else the daemon built from this checkout."""
    path = os.environ.get("MESHCACHE_BIN")
    if path:
        return path
    out_dir = tempfile.mkdtemp(prefix="meshcache-py-bin-")
    atexit.register(shutil.rmtree, out_dir, True)
    out = os.path.join(out_dir, "meshcache")
    res = subprocess.run(["go", "build", "-o", out, "./cmd/meshcache"], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if res.returncode != 0:
        raise RuntimeError("go build ./cmd/meshcache failed:\n" + res.stdout)
    return out


def write_fixture(root):
    """Creates the test dataset under root and returns {path: bytes}."""
    rnd = random.Random(20261125)
    files = {
        "empty": b"",
        "small.bin": rnd.randbytes(1000),
        "one-mib.bin": rnd.randbytes(MiB),
        "big.bin": rnd.randbytes(3 * MiB + 12345),
        "sub/deeper/notes.txt": b"".join(b"line %d of the notes\n" % i for i in range(2000)),
        "sub/na\u00efve file \u2713.bin": rnd.randbytes(MiB + 1),
        "sub/x y/z.bin": rnd.randbytes(4096),
    }
    for rel, data in files.items():
        p = os.path.join(root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
    return files


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Daemon:
    """One `meshcache daemon` process; origins under <tmp>/origin are allowed."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.origin = os.path.join(tmp, "origin")
        self.socket = os.path.join(tmp, "s")
        self.log_path = os.path.join(tmp, "daemon.log")
        self.proc = None
        os.makedirs(self.origin, exist_ok=True)

    def start(self):
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [meshcache_binary(), "daemon", "--data", self.data, "--socket", self.socket,
                 "--allow-origin", "file://" + self.origin],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        finally:
            log.close()
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("meshcache daemon exited with %d:\n%s" % (self.proc.returncode, self.log()))
            if self._accepts():
                return
            if time.monotonic() > deadline:
                self.proc.kill()
                self.proc.wait()
                raise RuntimeError("meshcache daemon did not listen on %s within 20s:\n%s" % (self.socket, self.log()))
            time.sleep(0.02)

    def _accepts(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.socket)
            return True
        except OSError:
            return False
        finally:
            s.close()

    def stop(self):
        """SIGTERM, then waits; returns the exit code."""
        if self.proc is None:
            return None
        proc, self.proc = self.proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise RuntimeError("meshcache daemon ignored SIGTERM for 20s:\n" + self.log())

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-8000:]
        except OSError:
            return ""

    def publish(self, folder, *flags):
        """Publishes <origin>/folder with the CLI; returns the root CID (the
        last line the CLI prints)."""
        res = subprocess.run(
            [meshcache_binary(), "publish", "--socket", self.socket, *flags,
             "file://" + os.path.join(self.origin, folder)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError("meshcache publish failed (%d): %s\n%s" % (res.returncode, res.stderr, self.log()))
        return res.stdout.strip().splitlines()[-1]


def raw_get(socket_path, url, headers=()):
    """GETs url over a fresh connection with nothing from the client under
    test; returns (status, headers dict with lower-case names, body)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(socket_path)
        req = "GET %s HTTP/1.1\r\nHost: meshcache\r\nConnection: close\r\n" % url
        req += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        s.sendall(req.encode())
        chunks = []
        while True:
            b = s.recv(1 << 16)
            if not b:
                break
            chunks.append(b)
    finally:
        s.close()
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


class DaemonTestCase(unittest.TestCase):
    """Starts one daemon with the fixture published, for a whole class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="meshcache-py-")
        cls.daemon = Daemon(cls.tmp)
        try:
            cls.files = write_fixture(os.path.join(cls.daemon.origin, "ds"))
            cls.daemon.start()
            cls.root = cls.daemon.publish("ds")
        except BaseException:
            cls.daemon.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)
            raise
        cls.client = meshcache.Client(cls.daemon.socket)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()
        code = cls.daemon.stop()
        log = cls.daemon.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if code not in (0, None):  # None: a test left it stopped
            raise AssertionError("daemon exited with %r after SIGTERM:\n%s" % (code, log))

    def local(self, rel):
        return self.files[rel]

    def daemon_error(self, url, headers=()):
        """The daemon's own JSON error for url, read without the client."""
        status, _, body = raw_get(self.daemon.socket, url, headers)
        doc = json.loads(body)
        return status, doc["code"], doc["error"]
