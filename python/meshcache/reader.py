"""A file of a dataset as a seekable binary file object."""

import io
import os

from ._transport import DedicatedConnection
from .errors import IsADirectory
from .types import DIR

# The BufferedReader's buffer, and the smallest request: a random read costs
# one GET of at least this much.
DEFAULT_BUFFER_SIZE = 256 << 10

# The largest window a sequential reader asks for in one GET.
DEFAULT_READAHEAD = 64 << 20

# A forward seek of at most this much inside an open window reads through
# the gap instead of asking again (e.g. skipping a member of a tar file).
_SKIP_MAX = 1 << 20

# An abandoned window with at most this much left is read out, to keep its
# connection; a larger one is cut by closing the connection.
_DRAIN_MAX = 512 << 10


class RemoteFile(io.RawIOBase):
    """The file at path in the dataset cid, read with ranged GETs.

    Readable and seekable. Each read that does not continue the previous
    one asks for a window of max(read size, min_request) bytes; each read
    that continues it asks for a window twice as large as the last, up to
    readahead bytes. Bytes come off the window as they are read, straight
    into the caller's buffer, so a sequential reader streams the file in a
    handful of requests while a random reader fetches little more than it
    reads. Windows travel on the file's own keep-alive connection (opened on
    the first read, closed by close()).

    Client.open wraps it in an io.BufferedReader, which serves small reads,
    readline and seeks inside its buffer without a call here. A RemoteFile
    belongs to one thread at a time, as any file object; the Client under it
    may be shared.
    """

    def __init__(self, client, cid, path, *, min_request=DEFAULT_BUFFER_SIZE, readahead=DEFAULT_READAHEAD):
        super().__init__()
        # Set first: close() runs (from __del__) even when __init__ fails.
        self._conn = None
        self._ex = None  # the open window (a client _Exchange), or None
        self.name = "%s/%s" % (cid, path)
        self.size = 0
        if min_request <= 0 or readahead < min_request:
            raise ValueError("want 0 < min_request <= readahead, got %d and %d" % (min_request, readahead))
        info = client.stat(cid, path)
        if info.type == DIR:
            raise IsADirectory(400, "is_dir", "%s in %s is a directory" % (info.path or "/", cid))
        self._client = client
        self._cid = str(cid)
        self._path = info.path
        self.name = "%s/%s" % (self._cid, self._path)
        self.file_cid = info.cid
        self.size = info.size
        self._min = min_request
        self._max = readahead
        self._conn = DedicatedConnection(client.socket_path, client.timeout)
        self._pos = 0
        self._next = 0  # where a sequential read would start
        self._window = min_request  # the size of the next sequential window
        self._ex_pos = 0  # file offset of the window's next byte
        self._ex_pid = None

    def __repr__(self):
        return "<meshcache.RemoteFile %s size=%d>" % (self.name, self.size)

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        self._checkClosed()
        return self._pos

    def seek(self, offset, whence=io.SEEK_SET):
        self._checkClosed()
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self.size + offset
        else:
            raise ValueError("invalid whence (%r, should be 0, 1 or 2)" % whence)
        if pos < 0:
            raise OSError(22, "negative seek position %d" % pos)
        self._pos = pos
        return pos

    def readinto(self, b):
        self._checkClosed()
        mv = memoryview(b).cast("B")
        n = min(len(mv), self.size - self._pos)
        if n <= 0:
            return 0
        if self._ex is not None and self._ex_pid != os.getpid():
            self._ex = None  # the parent's; the connection is replaced below
        if self._ex is not None and self._ex_pos != self._pos:
            self._reposition()
        if self._ex is None:
            if self._pos != self._next:
                self._window = self._min
            length = min(max(n, self._window), self.size - self._pos)
            self._ex = self._client._get_range(self._cid, self._path, self._pos, length, pool=self._conn)
            if self._ex is None:  # the file is shorter than it said
                return 0
            self._ex_pos, self._ex_pid = self._pos, os.getpid()
            self._window = min(self._window * 2, self._max)
        ex, self._ex = self._ex, None  # not kept if fill fails
        k = ex.fill(mv[:n])
        if ex.remaining:
            self._ex = ex
        else:
            ex.finish()
        self._ex_pos += k
        self._pos += k
        self._next = self._pos
        return k

    def _reposition(self):
        """Moves the open window to the position, or lets it go."""
        gap = self._pos - self._ex_pos
        if 0 < gap <= min(_SKIP_MAX, self._ex.remaining or 0):
            ex, self._ex = self._ex, None
            self._ex_pos += ex.skip(gap)
            if ex.remaining:
                self._ex = ex
            else:
                ex.finish()
            return
        self._abandon(drain=True)

    def _abandon(self, drain):
        ex, self._ex = self._ex, None
        if ex is None:
            return
        if drain and ex.remaining is not None and ex.remaining <= _DRAIN_MAX:
            try:
                ex.skip(ex.remaining)
                ex.finish()
                return
            except (OSError, ValueError):
                pass  # skip dropped the connection
        ex.drop()

    def readall(self):
        """The rest of the file, in one request straight into the bytes
        returned (a file read whole costs one allocation, no copy)."""
        self._checkClosed()
        if self._pos >= self.size:
            return b""
        self._abandon(drain=True)
        ex = self._client._get_range(self._cid, self._path, self._pos, None, pool=self._conn)
        data = ex.body() if ex is not None else b""
        self._pos += len(data)
        self._next = self._pos
        return data

    def close(self):
        if not self.closed:
            if self._ex is not None and self._ex_pid == os.getpid():
                self._abandon(drain=False)
            self._ex = None
            if self._conn is not None:
                self._conn.drop()
        super().close()
