"""The client of the meshcache daemon's HTTP API (docs/api.md)."""

import http.client
import io
import json
import os
import posixpath
import re
import time
from urllib.parse import quote

from . import errors
from ._transport import ConnectionPool, client_socket_path
from .errors import (DaemonUnavailable, IncompleteResponse, IsADirectory,
                     MeshcacheError, NotADirectory, PinFailed)
from .reader import DEFAULT_BUFFER_SIZE, DEFAULT_READAHEAD, RemoteFile
from .types import DIR, FILE, DirEntry, FileInfo

__all__ = ["Client", "DEFAULT_TIMEOUT"]

# Seconds a socket operation may block: generous, since a read of data the
# node does not hold waits for peers or the origin.
DEFAULT_TIMEOUT = 300.0

USER_AGENT = "meshcache-python/0.1"

# Bounds how much of an error answer is read (as the Go client).
_MAX_ERROR_BODY = 64 << 10

# Failures of a reused keep-alive connection that mean the daemon closed it
# while idle (it does after 2 minutes, or restarted): sent again, once, on a
# fresh connection.
_STALE = (http.client.RemoteDisconnected, BrokenPipeError,
          ConnectionResetError, ConnectionAbortedError)

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)$")
_UNSATISFIED_RANGE = re.compile(r"bytes \*/(\d+)$")


def _cid(cid):
    s = str(cid).strip()
    if not s:
        raise ValueError("empty CID")
    return s


def _clean(path):
    return "/".join(seg for seg in str(path).split("/") if seg)


def fs_url(cid, path=""):
    """The route of path in the dataset cid, each segment percent-escaped."""
    url = "/v1/fs/" + quote(_cid(cid), safe="")
    for seg in _clean(path).split("/"):
        if seg:
            url += "/" + quote(seg, safe="")
    return url


class Client:
    """A client of the meshcache daemon on its unix socket.

    ``socket_path`` defaults to $MESHCACHE_SOCKET, else the socket of this
    user's daemon (/run/meshcache/meshcache.sock for root,
    $XDG_RUNTIME_DIR/meshcache/meshcache.sock or
    /tmp/meshcache-$UID/meshcache.sock for others), else, for a user who
    runs no daemon, the system daemon's socket.

    A Client is safe to share between threads and across fork(): each thread
    of each process uses its own keep-alive connection. It pickles (for
    DataLoader workers started by spawn) as its settings only.
    """

    def __init__(self, socket_path=None, *, timeout=DEFAULT_TIMEOUT):
        self.socket_path = os.fspath(socket_path) if socket_path else client_socket_path()
        self.timeout = timeout
        self._pool = ConnectionPool(self.socket_path, timeout)

    def __repr__(self):
        return "Client(socket_path=%r)" % self.socket_path

    def __getstate__(self):
        return {"socket_path": self.socket_path, "timeout": self.timeout}

    def __setstate__(self, state):
        self.__init__(state["socket_path"], timeout=state["timeout"])

    def close(self):
        """Closes the calling thread's connection. Other threads' connections
        close when their thread ends or the client is garbage collected."""
        self._pool.drop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # Files.

    def read(self, cid, path):
        """Returns the bytes of the file at path in the dataset cid."""
        url = fs_url(cid, path)
        ex = self._do("GET", url)
        if ex.resp.getheader("X-Meshcache-Type") == DIR:
            ex.discard()
            raise IsADirectory(400, "is_dir", "%s in %s is a directory" % (_clean(path) or "/", cid))
        return ex.body()

    def read_range(self, cid, path, offset, length=None):
        """Returns up to length bytes of the file at path from offset (every
        byte from offset when length is None). As with os.pread, a range
        reaching past the end is cut there and an offset at or past the end
        gives b""."""
        if offset < 0 or (length is not None and length < 0):
            raise ValueError("read_range: negative offset %d or length %r" % (offset, length))
        if length == 0:
            return b""
        ex = self._get_range(cid, path, offset, length)
        if ex is None:
            return b""
        if length is None or ex.remaining is None or ex.remaining <= length:
            return ex.body()
        # A whole-file answer (Range ignored): take what was asked for.
        buf = bytearray(length)
        n = ex.fill(memoryview(buf))
        ex.finish()
        return bytes(buf[:n])

    def read_range_into(self, cid, path, offset, buf):
        """Reads up to len(buf) bytes of the file from offset into buf (any
        writable buffer) and returns how many came: fewer only at the end of
        the file. Saves a copy over read_range for large reads."""
        mv = memoryview(buf).cast("B")
        if offset < 0:
            raise ValueError("read_range_into: negative offset %d" % offset)
        if len(mv) == 0:
            return 0
        ex = self._get_range(cid, path, offset, len(mv))
        if ex is None:
            return 0
        n = ex.fill(mv)
        ex.finish()
        return n

    def open(self, cid, path, *, buffer_size=DEFAULT_BUFFER_SIZE, readahead=DEFAULT_READAHEAD):
        """Opens the file at path for reading: a binary, seekable file object
        (an io.BufferedReader of buffer_size bytes over a RemoteFile). It
        fetches ranges of the file as they are read: at least buffer_size
        bytes after a seek, then windows doubling up to readahead bytes
        while the reads are sequential. Close it (or use ``with``) to free
        its connection."""
        raw = RemoteFile(self, cid, path, min_request=buffer_size, readahead=readahead)
        return io.BufferedReader(raw, buffer_size=buffer_size)

    def stat(self, cid, path=""):
        """Describes the file or directory at path (a FileInfo)."""
        url = fs_url(cid, path)
        ex = self._send("HEAD", url)
        ex.body()
        resp = ex.resp
        if resp.status >= 300:
            # A HEAD answer has no body: ask again with GET for the daemon's
            # message. The GET fails the same way.
            ex2 = self._send("GET", url, headers={"Range": "bytes=0-0"})
            if ex2.status >= 300:
                raise ex2.error()
            ex2.discard()
            raise errors.from_response(resp.status, resp.reason, b"")
        kind = resp.getheader("X-Meshcache-Type", "")
        size = int(resp.getheader("Content-Length") or 0) if kind == FILE else 0
        return FileInfo(cid=(resp.getheader("ETag") or "").strip('"'), path=_clean(path), type=kind, size=size)

    def listdir(self, cid, path=""):
        """Lists the directory at path: a list of DirEntry (name, path, type,
        size, cid) in the daemon's order (sorted by name)."""
        url = fs_url(cid, path)
        not_dir = NotADirectory(400, "not_dir", "%s in %s is not a directory" % (_clean(path), cid))
        # Range makes a file answer one byte instead of all of them; a
        # directory's listing ignores it.
        ex = self._send("GET", url, headers={"Range": "bytes=0-0"})
        if ex.status == 416:  # an empty file
            ex.discard()
            raise not_dir
        if ex.status >= 300:
            raise ex.error()
        if ex.resp.getheader("X-Meshcache-Type") != DIR:
            ex.discard()
            raise not_dir
        doc = json.loads(ex.body())
        base = doc.get("path") or _clean(path)
        return [DirEntry(name=e["name"], path=posixpath.join(base, e["name"]) if base else e["name"],
                         type=e["type"], size=e.get("size", 0), cid=e.get("cid", ""))
                for e in doc.get("entries") or []]

    def walk(self, cid, top=""):
        """Walks the dataset from top like os.walk (top-down): yields
        (dirpath, dirs, files) where dirs and files are lists of DirEntry.
        Removing entries from dirs in place prunes the walk."""
        stack = [_clean(top)]
        while stack:
            d = stack.pop()
            entries = self.listdir(cid, d)
            dirs = [e for e in entries if e.is_dir()]
            files = [e for e in entries if not e.is_dir()]
            yield d, dirs, files
            stack.extend(reversed([e.path for e in dirs]))

    def iter_files(self, cid, prefix=""):
        """Yields a DirEntry for every file under the directory prefix."""
        for _, _, files in self.walk(cid, prefix):
            yield from files

    # Pins and the daemon.

    def pin(self, cid, origin=None, *, wait=True, progress=None, interval=0.5, timeout=None):
        """Pins the dataset cid: the daemon fetches every block and keeps it
        until unpinned (admin only). origin is where to read blocks no peer
        holds when the daemon knows no record of cid. With wait, polls every
        interval seconds, calling progress(status) each time, until the pin
        is pinned (returns its status), failed (raises PinFailed) or timeout
        seconds have passed (raises TimeoutError); else returns the status
        the daemon accepted it with. A status is the JSON of docs/api.md
        (state, bytes_done, bytes_total, rate_bytes_per_sec, ...)."""
        body = {"cid": _cid(cid)}
        if origin:
            body["origin"] = origin
        st = self._json("POST", "/v1/pins", body)
        if not wait:
            return st
        return self.wait_pin(st.get("cid") or cid, progress=progress, interval=interval, timeout=timeout)

    def wait_pin(self, cid, *, progress=None, interval=0.5, timeout=None):
        """Polls the pin of cid until it is pinned; see pin()."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            st = self.pin_status(cid)
            if progress is not None:
                progress(st)
            if st.get("state") == "pinned":
                return st
            if st.get("state") == "failed":
                raise PinFailed(0, "pin_failed", "pin %s failed: %s" % (cid, st.get("error", "")), pin=st)
            if deadline is not None and time.monotonic() + interval > deadline:
                raise TimeoutError("pin %s is still %s after %gs: %d of %d bytes" % (
                    cid, st.get("state"), timeout, st.get("bytes_done", 0), st.get("bytes_total", 0)))
            time.sleep(interval)

    def pin_status(self, cid):
        """One pin's status; NotFound when cid is not pinned."""
        return self._json("GET", "/v1/pins/" + quote(_cid(cid), safe=""))

    def pins(self):
        """Every pin's status."""
        return self._json("GET", "/v1/pins").get("pins") or []

    def unpin(self, cid):
        """Removes the pin of cid (admin only); NotFound when not pinned."""
        self._json("DELETE", "/v1/pins/" + quote(_cid(cid), safe=""))

    def gc(self):
        """Deletes every block no pin reaches (admin only); returns
        {"blocks_removed", "bytes_removed"}."""
        return self._json("POST", "/v1/gc")

    def stats(self):
        """The daemon's usage and counters (GET /v1/stats)."""
        return self._json("GET", "/v1/stats")

    # HTTP.

    def _send(self, method, url, body=None, headers=None, pool=None):
        """Sends a request on a connection of pool (default: this thread's)
        and returns the _Exchange, whatever the status."""
        pool = pool or self._pool
        hdrs = {"User-Agent": USER_AGENT}
        if headers:
            hdrs.update(headers)
        if body is not None:
            hdrs["Content-Type"] = "application/json"
        what = "%s %s" % (method, url)
        for attempt in (0, 1):
            conn, reused = pool.get()
            try:
                conn.request(method, url, body=body, headers=hdrs)
                return _Exchange(self, pool, conn, conn.getresponse(), what)
            except DaemonUnavailable:
                pool.drop(conn)
                raise
            except _STALE as err:
                pool.drop(conn)
                if reused and attempt == 0:
                    continue
                raise DaemonUnavailable(
                    0, "connection_lost",
                    "lost the connection to meshcache daemon at %s during %s: %s" % (self.socket_path, what, err),
                    socket_path=self.socket_path) from err
            except BaseException:
                pool.drop(conn)
                raise

    def _do(self, method, url, body=None, headers=None):
        """As _send, raising the daemon's error for a non-2xx answer."""
        ex = self._send(method, url, body, headers)
        if ex.status >= 300:
            raise ex.error()
        return ex

    def _json(self, method, url, payload=None):
        body = None if payload is None else json.dumps(payload).encode()
        ex = self._do(method, url, body)
        data = ex.body()
        if not data:
            return None
        try:
            return json.loads(data)
        except ValueError as err:
            raise MeshcacheError(ex.status, "bad_answer", "%s: the daemon's answer is not JSON: %s" % (ex.what, err)) from err

    def _get_range(self, cid, path, offset, length, pool=None):
        """GETs length bytes (None: to the end) of the file from offset.
        Returns the _Exchange positioned at offset, or None when offset is
        at or past the end of the file."""
        url = fs_url(cid, path)
        last = "" if length is None else str(offset + length - 1)
        ex = self._send("GET", url, headers={"Range": "bytes=%d-%s" % (offset, last)}, pool=pool)
        if ex.status == 416:
            m = _UNSATISFIED_RANGE.match(ex.resp.getheader("Content-Range") or "")
            err = ex.error()
            if m and offset >= int(m.group(1)):
                return None
            raise err
        if ex.status >= 300:
            raise ex.error()
        if ex.resp.getheader("X-Meshcache-Type") == DIR:
            ex.discard()
            raise IsADirectory(400, "is_dir", "%s in %s is a directory" % (_clean(path) or "/", cid))
        if ex.status == 206:
            m = _CONTENT_RANGE.match(ex.resp.getheader("Content-Range") or "")
            if not m or int(m.group(1)) != offset:
                ex.drop()
                raise MeshcacheError(206, "bad_answer", "%s bytes from %d: the daemon answered Content-Range %r" % (
                    ex.what, offset, ex.resp.getheader("Content-Range")))
            return ex
        # 200: the whole file (something in between dropped the Range).
        if offset and ex.skip(offset) < offset:  # the file ends before offset
            ex.finish()
            return None
        return ex


class _Exchange:
    """A request's answer on a connection of a pool. Whoever holds one reads
    the answer to its end and calls finish() (the connection is then kept
    for the next request), or drops the connection: a half-read answer
    would be taken for the next one's."""

    def __init__(self, client, pool, conn, resp, what):
        self.client = client
        self.pool = pool
        self.conn = conn
        self.resp = resp
        self.what = what
        self.status = resp.status

    @property
    def remaining(self):
        """Bytes of the body not read yet (None when unknown)."""
        return self.resp.length

    def finish(self):
        """Keeps the connection if the answer was read to its end."""
        if self.resp.isclosed():
            self.pool.done(self.conn)
        else:
            self.pool.drop(self.conn)

    def drop(self):
        self.pool.drop(self.conn)

    def error(self):
        """Reads an error answer and returns the MeshcacheError for it."""
        try:
            body = self.resp.read(_MAX_ERROR_BODY)
        except (http.client.HTTPException, OSError):
            body = b""
        self.finish()
        return errors.from_response(self.status, self.resp.reason, body)

    def discard(self):
        """Finishes an answer whose body is not wanted: reads a small one,
        drops the connection under a large one."""
        if self.resp.length is not None and self.resp.length <= _MAX_ERROR_BODY:
            try:
                self.resp.read()
            except (http.client.HTTPException, OSError):
                pass
        self.finish()

    def body(self):
        """Reads the whole body and finishes."""
        try:
            data = self.resp.read()
        except http.client.IncompleteRead as err:
            self.drop()
            got = len(err.partial)
            raise self.incomplete(got, got + (err.expected or 0)) from err
        except BaseException:
            self.drop()
            raise
        self.finish()
        return data

    def fill(self, mv):
        """Reads min(len(mv), what is left of the body) bytes into mv;
        returns the count. Does not finish."""
        want = len(mv) if self.resp.length is None else min(len(mv), self.resp.length)
        got = 0
        try:
            while got < want:
                n = self.resp.readinto(mv[got:want])
                if not n:
                    raise self.incomplete(got, want)
                got += n
        except BaseException:
            self.drop()
            raise
        return got

    def skip(self, n):
        """Reads and discards up to n bytes; returns the count."""
        scratch = memoryview(bytearray(min(n, 1 << 20)))
        done = 0
        while done < n:
            k = self.fill(scratch[:n - done])
            if k == 0:
                break
            done += k
        return done

    def incomplete(self, got, want):
        return IncompleteResponse(
            self.status, "incomplete",
            "%s: meshcache daemon at %s cut the answer short after %d of %d bytes "
            "(it failed mid-answer; its log says why)" % (self.what, self.client.socket_path, got, want))
