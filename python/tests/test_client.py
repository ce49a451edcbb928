"""The Python client against a real daemon: listings, reads, ranges, the
file-like reader, errors, pins, threads and fork."""

import io
import os
import random
import shutil
import socket
import tempfile
import threading
import traceback
import unittest

from harness import MiB, DaemonTestCase, sha256

import meshcache
from meshcache.client import fs_url

BIG = "big.bin"
UNICODE = "sub/na\u00efve file \u2713.bin"


class ListingTest(DaemonTestCase):

    def test_listdir(self):
        for d in ["", "sub", "sub/deeper", "sub/x y"]:
            with self.subTest(dir=d):
                # What the fixture holds directly under d: files with their
                # sizes, folders as None.
                want = {}
                for p, data in self.files.items():
                    rel = p[len(d) + 1:] if d else p
                    if d and not p.startswith(d + "/"):
                        continue
                    name, sep, _ = rel.partition("/")
                    want[name] = None if sep else len(data)
                got = self.client.listdir(self.root, d)
                self.assertEqual([e.name for e in got], sorted(want))
                for e in got:
                    self.assertEqual(e.path, "/".join(p for p in (d, e.name) if p))
                    self.assertEqual(e.is_dir(), want[e.name] is None)
                    if e.is_file():
                        self.assertEqual(e.size, want[e.name])
                    self.assertTrue(e.cid.startswith("baf"), e.cid)

    def test_listdir_accepts_slashes(self):
        self.assertEqual(self.client.listdir(self.root, "/sub/deeper/"), self.client.listdir(self.root, "sub/deeper"))

    def test_walk_finds_every_file(self):
        got = {}
        dirpaths = []
        for dirpath, dirs, files in self.client.walk(self.root):
            dirpaths.append(dirpath)
            for f in files:
                got[f.path] = f.size
        self.assertEqual(got, {p: len(b) for p, b in self.files.items()})
        self.assertEqual(dirpaths, ["", "sub", "sub/deeper", "sub/x y"])  # top-down, by name

    def test_walk_prunes_in_place(self):
        seen = []
        for dirpath, dirs, _ in self.client.walk(self.root):
            seen.append(dirpath)
            dirs[:] = [d for d in dirs if d.name != "deeper"]
        self.assertEqual(seen, ["", "sub", "sub/x y"])

    def test_iter_files_under_prefix(self):
        got = sorted(f.path for f in self.client.iter_files(self.root, "sub"))
        self.assertEqual(got, sorted(p for p in self.files if p.startswith("sub/")))

    def test_stat(self):
        entries = {e.name: e for e in self.client.listdir(self.root, "sub")}
        cases = [
            ("", "dir", 0),
            ("sub", "dir", 0),
            (BIG, "file", 3 * MiB + 12345),
            ("empty", "file", 0),
            (UNICODE, "file", MiB + 1),
        ]
        for path, kind, size in cases:
            with self.subTest(path=path):
                fi = self.client.stat(self.root, path)
                self.assertEqual((fi.type, fi.size, fi.path), (kind, size, path))
        self.assertEqual(self.client.stat(self.root, "").cid, self.root)
        self.assertEqual(self.client.stat(self.root, UNICODE).cid, entries["na\u00efve file \u2713.bin"].cid)


class ReadTest(DaemonTestCase):

    def test_read_every_file(self):
        for path, data in self.files.items():
            with self.subTest(path=path):
                self.assertEqual(sha256(self.client.read(self.root, path)), sha256(data))

    def test_read_range(self):
        big = self.local(BIG)
        size = len(big)
        cases = [
            ("across the 1 MiB block boundary", BIG, MiB - 10, 20),
            ("last byte of block 0", BIG, MiB - 1, 1),
            ("first byte of block 1", BIG, MiB, 1),
            ("three blocks", BIG, MiB - 1, 2 * MiB + 2),
            ("head", BIG, 0, 100),
            ("to the end", BIG, 2 * MiB + 5, None),
            ("cut at the end", BIG, size - 5, 100),
            ("at the end", BIG, size, 10),
            ("past the end", BIG, size + MiB, 10),
            ("zero length", BIG, 5, 0),
            ("empty file", "empty", 0, 10),
            ("small file whole", "small.bin", 0, None),
            ("unicode name across the boundary", UNICODE, MiB - 3, 10),
        ]
        for name, path, off, n in cases:
            with self.subTest(name):
                data = self.local(path)
                want = data[off:] if n is None else data[off:off + n]
                self.assertEqual(self.client.read_range(self.root, path, off, n), want)

    def test_read_range_into(self):
        buf = bytearray(3 * MiB)
        n = self.client.read_range_into(self.root, BIG, 2 * MiB, buf)
        self.assertEqual(n, len(self.local(BIG)) - 2 * MiB)
        self.assertEqual(bytes(buf[:n]), self.local(BIG)[2 * MiB:])

    def test_negative_range_is_refused(self):
        with self.assertRaises(ValueError):
            self.client.read_range(self.root, BIG, -1, 10)

    def test_read_dir_is_an_error(self):
        with self.assertRaises(meshcache.IsADirectory) as cm:
            self.client.read(self.root, "sub")
        self.assertIsInstance(cm.exception, IsADirectoryError)
        with self.assertRaises(meshcache.IsADirectory):
            self.client.open(self.root, "sub")

    def test_listdir_of_file_is_an_error(self):
        for path in ["small.bin", "empty"]:
            with self.subTest(path=path), self.assertRaises(meshcache.NotADirectory) as cm:
                self.client.listdir(self.root, path)
            self.assertIsInstance(cm.exception, NotADirectoryError)


class FileObjectTest(DaemonTestCase):

    def check_ops(self, path, ops, buffer_size=meshcache.DEFAULT_BUFFER_SIZE):
        local = io.BytesIO(self.local(path))
        with self.client.open(self.root, path, buffer_size=buffer_size) as f:
            for i, (op, *args) in enumerate(ops):
                got = getattr(f, op)(*args)
                want = getattr(local, op)(*args)
                self.assertEqual(got, want, "op %d: %s%r" % (i, op, tuple(args)))
                self.assertEqual(f.tell(), local.tell(), "op %d: tell after %s%r" % (i, op, tuple(args)))

    def test_patterns(self):
        size = len(self.local(BIG))
        cases = {
            "read all": [("read",)],
            "read in 4 KiB steps": [("read", 4096)] * 800,
            "seek across the block boundary": [("seek", MiB - 7), ("read", 14), ("read", 3)],
            "seek relative": [("seek", 100), ("seek", 50, io.SEEK_CUR), ("read", 10), ("seek", -20, io.SEEK_CUR), ("read", 40)],
            "seek from the end": [("seek", -100, io.SEEK_END), ("read", 1000), ("read", 10)],
            "seek past the end": [("seek", size + 10), ("read", 10), ("read",)],
            "read more than the buffer": [("seek", 3), ("read", 5 * MiB)],
            "backwards": [("seek", 2 * MiB), ("read", 100), ("seek", MiB), ("read", 100), ("seek", 0), ("read", 100)],
            "peek-free zero read": [("read", 0), ("seek", 9), ("read", 0), ("read", 1)],
            "read1": [("seek", 12345), ("read1", 70000), ("read1", 10)],
        }
        for name, ops in cases.items():
            with self.subTest(name):
                self.check_ops(BIG, ops)

    def test_random_ops(self):
        size = len(self.local(BIG))
        rnd = random.Random(7)
        ops = []
        for _ in range(300):
            r = rnd.random()
            if r < 0.3:
                ops.append(("seek", rnd.randrange(size + 100)))
            elif r < 0.4:
                ops.append(("seek", rnd.randrange(-50000, 50000), io.SEEK_CUR))
            else:
                ops.append(("read", rnd.choice([1, 17, 4096, 65536, 300000, MiB + 3])))
        for buffer_size in [meshcache.DEFAULT_BUFFER_SIZE, 64 * 1024 + 3, 1]:
            with self.subTest(buffer_size=buffer_size):
                # Negative relative seeks that the random walk would take
                # below 0 fail alike on both sides; skip them up front.
                self.check_ops(BIG, _clamp(ops), buffer_size=buffer_size)

    def test_readinto_readline_and_iteration(self):
        path = "sub/deeper/notes.txt"
        with self.client.open(self.root, path) as f:
            self.assertEqual(f.readline(), b"line 0 of the notes\n")
            buf = bytearray(7)
            self.assertEqual(f.readinto(buf), 7)
            self.assertEqual(bytes(buf), b"line 1 ")
            rest = list(f)
        self.assertEqual(b"line 0 of the notes\nline 1 " + b"".join(rest), self.local(path))

    def test_empty_and_unicode_files(self):
        with self.client.open(self.root, "empty") as f:
            self.assertEqual(f.read(), b"")
            self.assertEqual(f.read(10), b"")
        with self.client.open(self.root, UNICODE) as f:
            self.assertEqual(sha256(f.read()), sha256(self.local(UNICODE)))
            self.assertEqual(f.raw.size, MiB + 1)

    def test_file_object_properties(self):
        f = self.client.open(self.root, BIG)
        self.assertTrue(f.readable() and f.seekable())
        self.assertFalse(f.writable())
        self.assertEqual(f.name, "%s/%s" % (self.root, BIG))
        with self.assertRaises(OSError):
            f.seek(-1)
        f.close()
        with self.assertRaises(ValueError):
            f.read(1)

    def counted(self, fn):
        """Runs fn; returns (its result, GETs and HEADs it made, file bytes
        the daemon sent). The daemon counts a request when it starts (the
        second stats call is taken off) but the bytes when the answer ends,
        which may be just after the client has them: bytes_served is only
        good for bounds with a little slack."""
        before = self.client.stats()["api"]
        out = fn()
        after = self.client.stats()["api"]
        return out, after["requests"] - before["requests"] - 1, after["bytes_served"] - before["bytes_served"]

    def test_counted_is_calibrated(self):
        self.assertEqual(self.counted(lambda: None)[:2], (None, 0))
        self.assertEqual(self.counted(lambda: self.client.read_range(self.root, BIG, 5, 10))[1], 1)

    def test_windows(self):
        # The window policy step by step, on the raw file object.
        data = self.local(BIG)
        K = 1024
        raw = meshcache.RemoteFile(self.client, self.root, BIG, min_request=64 * K, readahead=256 * K)
        self.addCleanup(raw.close)

        def read(n):
            return lambda: raw.read(n)

        def seek(to):
            return lambda: raw.seek(to(raw.tell()))

        steps = [
            # (what, action, requests it makes, bytes it reads; None: a seek)
            ("first read: a 64K window", read(10), 1, 10),
            ("the rest of that window, short, no request", read(100 * K), 0, 64 * K - 10),
            ("sequential: a 128K window", read(K), 1, K),
            ("a forward seek inside it", seek(lambda p: p + 5000), 0, None),
            ("reads through the gap", read(K), 0, K),
            ("seek back", seek(lambda p: 0), 0, None),
            ("a jump: a 64K window again", read(K), 1, K),
        ]
        for name, action, want_requests, want_len in steps:
            with self.subTest(name):
                pos = raw.tell()
                got, requests, _ = self.counted(action)
                self.assertEqual(requests, want_requests)
                if want_len is not None:
                    self.assertEqual(got, data[pos:pos + want_len])

        def rest():
            out = []
            while True:
                b = raw.read(32 * K)
                if not b:
                    return b"".join(out)
                out.append(b)

        pos = raw.tell()
        got, requests, _ = self.counted(rest)
        self.assertEqual(got, data[pos:])
        # The rest of the 64K window, then windows of 128K and 256K, 256K...
        left = len(data) - 64 * K - 128 * K
        self.assertEqual(requests, 1 + -(-left // (256 * K)))
        self.assertEqual(raw.read(10), b"")

    def test_random_reads_fetch_little_more_than_they_read(self):
        rnd = random.Random(11)
        data = self.local(BIG)
        offsets = [rnd.randrange(len(data) - 4096) for _ in range(40)]

        def run():
            with self.client.open(self.root, BIG) as f:
                for off in offsets:
                    f.seek(off)
                    self.assertEqual(f.read(4096), data[off:off + 4096])

        _, reqs, sent = self.counted(run)
        self.assertLessEqual(reqs, 1 + len(offsets))  # HEAD, then one GET per jump at most
        # Each jump fetches one buffer (256 KiB), which the buffered reader
        # takes whole: nothing more is sent (one buffer of slack for bytes
        # counted late).
        self.assertLessEqual(sent, (len(offsets) + 1) * meshcache.DEFAULT_BUFFER_SIZE)

    def test_sequential_small_reads_use_few_requests(self):
        # 4 KiB reads through the 256 KiB buffer: HEAD, then windows of
        # 256K, 512K, 1M and 2M (cut at the end of the 3 MiB file), not one
        # GET per read.
        def run():
            with self.client.open(self.root, BIG) as f:
                while f.read(4096):
                    pass

        self.assertEqual(self.counted(run)[1], 5)

    def test_large_reads_go_straight_through(self):
        # HEAD, one GET for the 1 MiB read, one for the rest.
        def run():
            with self.client.open(self.root, BIG) as f:
                self.assertEqual(f.read(MiB), self.local(BIG)[:MiB])
                self.assertEqual(f.read(), self.local(BIG)[MiB:])

        self.assertEqual(self.counted(run)[1], 3)


def _clamp(ops):
    pos, out = 0, []
    for op in ops:
        if op[0] == "seek" and len(op) == 3 and pos + op[1] < 0:
            op = ("seek", 0)
        if op[0] == "seek":
            pos = op[1] if len(op) == 2 else pos + op[1]
        out.append(op)
    return out


class ErrorTest(DaemonTestCase):

    def test_missing_path_is_not_found(self):
        path = "sub/nope.bin"
        status, code, message = self.daemon_error(fs_url(self.root, path))
        self.assertEqual((status, code), (404, "not_found"))
        calls = {
            "read": lambda: self.client.read(self.root, path),
            "read_range": lambda: self.client.read_range(self.root, path, 5, 5),
            "stat": lambda: self.client.stat(self.root, path),
            "open": lambda: self.client.open(self.root, path),
            "listdir": lambda: self.client.listdir(self.root, path),
        }
        for name, call in calls.items():
            with self.subTest(name), self.assertRaises(meshcache.NotFound) as cm:
                call()
            e = cm.exception
            self.assertEqual((e.status, e.code, e.message, str(e)), (404, "not_found", message, message))
            self.assertIsInstance(e, FileNotFoundError)
            self.assertIsInstance(e, meshcache.MeshcacheError)

    def test_malformed_cid_is_bad_request(self):
        bad = "bafyNOPE"
        status, code, message = self.daemon_error("/v1/fs/%s/x" % bad)
        self.assertEqual((status, code), (400, "bad_cid"))
        for name, call in {
            "read": lambda: self.client.read(bad, "x"),
            "stat": lambda: self.client.stat(bad, "x"),
            "pin_status": lambda: self.client.pin_status(bad),
        }.items():
            with self.subTest(name), self.assertRaises(meshcache.BadRequest) as cm:
                call()
            self.assertEqual(cm.exception.status, 400)
            self.assertEqual(cm.exception.code, "bad_cid")
            self.assertIn("malformed CID", cm.exception.message)
        with self.assertRaises(meshcache.BadRequest) as cm:
            self.client.read(bad, "x")
        self.assertEqual(cm.exception.message, message)

    def test_bad_path_is_bad_request(self):
        for path in ["../big.bin", "sub/./x"]:
            with self.subTest(path=path), self.assertRaises(meshcache.BadRequest) as cm:
                self.client.read(self.root, path)
            self.assertEqual(cm.exception.code, "bad_path")

    def test_unpinned_cid_is_not_found(self):
        with self.assertRaises(meshcache.NotFound):
            self.client.unpin(self.root)
        with self.assertRaises(meshcache.NotFound):
            self.client.pin_status(self.root)

    def test_errors_pickle(self):
        import pickle
        for e in [meshcache.NotFound(404, "not_found", "gone"),
                  meshcache.DaemonUnavailable(0, "daemon_unavailable", "down", socket_path="/x"),
                  meshcache.PinFailed(0, "pin_failed", "failed", pin={"state": "failed"})]:
            with self.subTest(type(e).__name__):
                got = pickle.loads(pickle.dumps(e))
                self.assertEqual((type(got), got.status, got.code, got.message), (type(e), e.status, e.code, e.message))
                self.assertEqual(vars(got), vars(e))

    def test_missing_daemon(self):
        absent = os.path.join(self.tmp, "no-daemon.sock")
        stale = os.path.join(self.tmp, "stale.sock")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(stale)  # a socket file nothing listens on: ECONNREFUSED
        self.addCleanup(s.close)
        for path in [absent, stale]:
            with self.subTest(path=path), self.assertRaises(meshcache.DaemonUnavailable) as cm:
                meshcache.Client(path).read(self.root, BIG)
            e = cm.exception
            self.assertIsInstance(e, ConnectionError)
            self.assertIn(path, str(e))
            self.assertIn("`meshcache daemon`", str(e))
            self.assertEqual(e.socket_path, path)

    def test_permission_denied_names_the_group(self):
        # As nobody, who may reach the socket's folder but is not in the
        # socket's group (it has mode 0660).
        os.chmod(self.tmp, 0o755)
        self.addCleanup(os.chmod, self.tmp, 0o700)
        gid = os.stat(self.daemon.socket).st_gid
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                try:
                    meshcache.Client(self.daemon.socket).stats()
                    os.write(w, b"no error")
                except meshcache.DaemonUnavailable as e:
                    os.write(w, str(e).encode())
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            msg = f.read()
        os.waitpid(pid, 0)
        self.assertIn("cannot connect to meshcache daemon at %s: permission denied" % self.daemon.socket, msg)
        self.assertIn("(gid %d)" % gid, msg)
        self.assertIn("ask an administrator to add you to it", msg)

    def test_socket_path_from_environment(self):
        old = os.environ.get("MESHCACHE_SOCKET")
        os.environ["MESHCACHE_SOCKET"] = self.daemon.socket
        try:
            c = meshcache.Client()
            self.assertEqual(c.socket_path, self.daemon.socket)
            self.assertEqual(c.read(self.root, "small.bin"), self.local("small.bin"))
            c.close()
        finally:
            if old is None:
                del os.environ["MESHCACHE_SOCKET"]
            else:
                os.environ["MESHCACHE_SOCKET"] = old


class SocketPathTest(unittest.TestCase):
    """The default socket, as api.DefaultSocketPath and the Go client choose
    it, for root and (in a child that becomes nobody) for another user."""

    def resolve(self, uid, env, system_exists=False, own_exists=False):
        """client_socket_path() in a child process run as uid with env."""
        tmp = tempfile.mkdtemp(prefix="meshcache-py-sock-")
        self.addCleanup(shutil.rmtree, tmp, True)
        os.chmod(tmp, 0o755)
        system = os.path.join(tmp, "system.sock")
        if system_exists:
            open(system, "w").close()
        env = {k: v.replace("TMP", tmp) for k, v in env.items()}
        if own_exists:
            own = os.path.join(env["XDG_RUNTIME_DIR"], "meshcache")
            os.makedirs(own)
            open(os.path.join(own, "meshcache.sock"), "w").close()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                from meshcache import _transport
                _transport.SYSTEM_SOCKET_PATH = system
                for k in ("MESHCACHE_SOCKET", "XDG_RUNTIME_DIR"):
                    os.environ.pop(k, None)
                os.environ.update(env)
                if uid != 0:
                    os.setgid(uid)
                    os.setuid(uid)
                os.write(w, _transport.client_socket_path().replace(tmp, "TMP").encode())
            except BaseException:
                traceback.print_exc()  # the parent then fails on an empty answer
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r) as f:
            got = f.read()
        os.waitpid(pid, 0)
        return got

    def test_rules(self):
        nobody = 65534
        cases = [
            ("MESHCACHE_SOCKET wins", nobody, {"MESHCACHE_SOCKET": "/x/s", "XDG_RUNTIME_DIR": "TMP"}, False, False, "/x/s"),
            ("root: the system socket", 0, {}, False, False, "TMP/system.sock"),
            ("user with XDG_RUNTIME_DIR", nobody, {"XDG_RUNTIME_DIR": "TMP/run"}, False, False, "TMP/run/meshcache/meshcache.sock"),
            ("user without it", nobody, {}, False, False, "/tmp/meshcache-65534/meshcache.sock"),
            ("user without a daemon: the system's", nobody, {"XDG_RUNTIME_DIR": "TMP/run"}, True, False, "TMP/system.sock"),
            ("user with a daemon: their own", nobody, {"XDG_RUNTIME_DIR": "TMP/run"}, True, True, "TMP/run/meshcache/meshcache.sock"),
        ]
        for name, uid, env, system_exists, own_exists, want in cases:
            with self.subTest(name):
                self.assertEqual(self.resolve(uid, env, system_exists, own_exists), want)


class PinTest(DaemonTestCase):

    def test_pin_pins_unpin(self):
        seen = []
        st = self.client.pin(self.root, progress=seen.append, interval=0.05, timeout=60)
        total = sum(len(b) for b in self.files.values())
        self.assertEqual(st["state"], "pinned")
        self.assertEqual(st["cid"], self.root)
        self.assertEqual((st["bytes_done"], st["bytes_total"]), (total, total))
        self.assertTrue(seen and seen[-1]["state"] == "pinned", seen)
        pins = {p["cid"]: p for p in self.client.pins()}
        self.assertEqual(pins[self.root]["state"], "pinned")
        self.assertEqual(self.client.stats()["pins"]["pinned"], 1)

        # Pinning again answers at once with the pinned status.
        self.assertEqual(self.client.pin(self.root, wait=False)["state"], "pinned")

        self.client.unpin(self.root)
        self.assertNotIn(self.root, [p["cid"] for p in self.client.pins()])
        with self.assertRaises(meshcache.NotFound):
            self.client.unpin(self.root)

    def test_pin_without_wait_then_wait(self):
        st = self.client.pin(self.root, wait=False)
        self.addCleanup(self.client.unpin, self.root)
        self.assertIn(st["state"], ("queued", "pinning", "pinned"))
        self.assertEqual(self.client.wait_pin(self.root, interval=0.05, timeout=60)["state"], "pinned")

    def test_pin_errors(self):
        unknown = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
        cases = [
            ("unknown dataset, no origin", None, meshcache.NotFound, "not_found"),
            ("origin off the allowlist", "file:///nowhere/else", meshcache.Forbidden, "forbidden"),
            ("origin holding another dataset", "file://" + os.path.join(self.daemon.origin, "ds"), meshcache.OriginError, "origin_changed"),
        ]
        for name, origin, cls, code in cases:
            with self.subTest(name), self.assertRaises(cls) as cm:
                self.client.pin(unknown, origin=origin, interval=0.05, timeout=30)
            self.assertEqual(cm.exception.code, code)
            self.assertIn(origin or unknown, cm.exception.message)
        self.assertNotIn(unknown, [p["cid"] for p in self.client.pins()])

    def test_stats(self):
        st = self.client.stats()
        for key in ["store", "pins", "bytes_by_source", "api"]:
            self.assertIn(key, st)
        self.assertGreater(st["store"]["blocks"], 0)


class ConcurrencyTest(DaemonTestCase):

    def test_keep_alive(self):
        c = meshcache.Client(self.daemon.socket)
        self.addCleanup(c.close)
        c.read(self.root, "small.bin")
        conn, reused = c._pool.get()
        sock = conn.sock
        for path in ["small.bin", BIG, "empty", "nope"]:
            try:
                c.read(self.root, path)
            except meshcache.NotFound:
                pass
        c.stat(self.root, BIG)
        c.listdir(self.root)
        self.assertIs(c._pool.get()[0].sock, sock, "the connection was not kept alive")

    def test_threads_share_a_client(self):
        c = meshcache.Client(self.daemon.socket)
        paths = sorted(self.files)
        failures = []
        socks = {}

        def work(i):
            try:
                for k in range(10):
                    path = paths[(i + k) % len(paths)]
                    if sha256(c.read(self.root, path)) != sha256(self.files[path]):
                        failures.append((i, path))
                    with c.open(self.root, path) as f:
                        f.seek(len(self.files[path]) // 2)
                        if f.read(70000) != self.files[path][len(self.files[path]) // 2:][:70000]:
                            failures.append((i, path, "ranged"))
                socks[i] = c._pool.get()[0].sock
                c.close()
            except Exception as e:  # reported below, with the thread
                failures.append((i, repr(e)))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(failures, [])
        self.assertEqual(len({id(s) for s in socks.values()}), 8, "threads shared a connection")

    def test_fork(self):
        c = meshcache.Client(self.daemon.socket)
        self.addCleanup(c.close)
        self.assertEqual(c.read(self.root, "small.bin"), self.local("small.bin"))  # a live connection
        parent_sock = c._pool.get()[0].sock
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report and leave without running cleanups
            try:
                os.close(r)
                ok = sha256(c.read(self.root, BIG)) == sha256(self.files[BIG])
                fresh = c._pool.get()[0].sock is not parent_sock
                os.write(w, b"%d%d" % (ok, fresh))
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(0)
        os.close(w)
        with os.fdopen(r, "rb") as f:
            got = f.read()
        _, status = os.waitpid(pid, 0)
        self.assertEqual(status, 0)
        self.assertEqual(got, b"11", "child: (read ok, own connection)")
        # The parent's connection is untouched by the child.
        self.assertEqual(c.read(self.root, UNICODE), self.local(UNICODE))
        self.assertIs(c._pool.get()[0].sock, parent_sock)

    def test_client_pickles_as_settings(self):
        import pickle
        c = meshcache.Client(self.daemon.socket, timeout=12)
        c.read(self.root, "small.bin")
        c2 = pickle.loads(pickle.dumps(c))
        self.assertEqual((c2.socket_path, c2.timeout), (c.socket_path, 12))
        self.assertEqual(c2.read(self.root, "small.bin"), self.local("small.bin"))
        c.close()
        c2.close()


class RestartTest(DaemonTestCase):

    def test_reconnects_after_restart_and_fails_clearly_while_down(self):
        c = meshcache.Client(self.daemon.socket)
        self.addCleanup(c.close)
        self.assertEqual(c.read(self.root, "small.bin"), self.local("small.bin"))
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        with self.assertRaises(meshcache.DaemonUnavailable) as cm:
            c.read(self.root, "small.bin")
        self.assertIn(self.daemon.socket, str(cm.exception))
        self.daemon.start()
        # Data and dataset record survive the restart.
        self.assertEqual(c.read(self.root, BIG), self.local(BIG))
        # A kept-alive connection the daemon closed behind our back is
        # replaced without an error.
        self.daemon.stop()
        self.daemon.start()
        self.assertEqual(c.read(self.root, "small.bin"), self.local("small.bin"))


class TruncationTest(DaemonTestCase):
    """A file whose origin changes under a --no-store dataset: the daemon
    serves the first block, then finds the second does not match its CID and
    cuts the answer short. The client must raise, never return a prefix."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        folder = os.path.join(cls.daemon.origin, "bad")
        os.makedirs(folder)
        p = os.path.join(folder, "f.bin")
        cls.bad_data = random.Random(3).randbytes(3 * MiB)
        with open(p, "wb") as f:
            f.write(cls.bad_data)
        cls.bad_root = cls.daemon.publish("bad", "--no-store")
        st = os.stat(p)
        with open(p, "r+b") as f:  # same size and mtime, other bytes
            f.seek(MiB + 100)
            f.write(b"\0" * 100)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))

    def test_cut_answer_raises(self):
        with self.assertRaises(meshcache.IncompleteResponse) as cm:
            self.client.read(self.bad_root, "f.bin")
        self.assertIsInstance(cm.exception, ConnectionError)
        self.assertIn("after %d of %d bytes" % (MiB, 3 * MiB), str(cm.exception))
        with self.client.open(self.bad_root, "f.bin") as f:
            with self.assertRaises(meshcache.IncompleteResponse):
                f.read(2 * MiB)
        # The first block is fine, and the client recovers its connection.
        self.assertEqual(self.client.read_range(self.bad_root, "f.bin", 0, MiB), self.bad_data[:MiB])
        self.assertEqual(self.client.read(self.root, "small.bin"), self.local("small.bin"))

    def test_pin_of_a_changed_origin_fails(self):
        seen = []
        with self.assertRaises(meshcache.PinFailed) as cm:
            self.client.pin(self.bad_root, progress=seen.append, interval=0.05, timeout=60)
        self.addCleanup(self.client.unpin, self.bad_root)
        e = cm.exception
        self.assertEqual((e.code, e.pin["state"]), ("pin_failed", "failed"))
        self.assertIn(self.bad_root, e.message)
        self.assertIn(e.pin["error"], e.message)
        self.assertEqual(seen[-1]["state"], "failed")

    def test_failure_before_the_first_byte_is_the_daemons_error(self):
        status, code, message = self.daemon_error(fs_url(self.bad_root, "f.bin"), [("Range", "bytes=%d-" % MiB)])
        with self.assertRaises(meshcache.MeshcacheError) as cm:
            self.client.read_range(self.bad_root, "f.bin", MiB, 10)
        e = cm.exception
        self.assertEqual((e.status, e.code, e.message), (status, code, message))
        self.assertGreaterEqual(e.status, 500)
        self.assertIsInstance(e, meshcache.ServerError)


if __name__ == "__main__":
    unittest.main()
