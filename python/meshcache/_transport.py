"""HTTP/1.1 over the daemon's unix socket, one keep-alive connection per
thread and process."""

import errno
import grp
import http.client
import os
import socket
import threading

from .errors import DaemonUnavailable

ENV_SOCKET = "MESHCACHE_SOCKET"
SYSTEM_SOCKET_PATH = "/run/meshcache/meshcache.sock"


def default_socket_path():
    """Where a daemon run by this user listens, as api.DefaultSocketPath:
    /run/meshcache/meshcache.sock for root, else
    $XDG_RUNTIME_DIR/meshcache/meshcache.sock, else
    /tmp/meshcache-$UID/meshcache.sock."""
    uid = os.getuid()
    if uid == 0:
        return SYSTEM_SOCKET_PATH
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime:
        return os.path.join(runtime, "meshcache", "meshcache.sock")
    # Not tempfile.gettempdir(): $TMPDIR may differ between the daemon and
    # its clients.
    return "/tmp/meshcache-%d/meshcache.sock" % uid


def client_socket_path():
    """The socket a client uses when none is given, as the Go client:
    $MESHCACHE_SOCKET, else this user's own daemon, else (when the user runs
    none) the system daemon, which is what a training job run by an ordinary
    user reads from."""
    path = os.environ.get(ENV_SOCKET)
    if path:
        return path
    own = default_socket_path()
    if own != SYSTEM_SOCKET_PATH and not os.path.exists(own) and os.path.exists(SYSTEM_SOCKET_PATH):
        return SYSTEM_SOCKET_PATH
    return own


def _group_hint(path):
    """Names the group that may use the socket, for a permission error."""
    try:
        gid = os.stat(path).st_gid
    except OSError:
        return "you cannot reach the socket's folder"
    try:
        name = "'%s' (gid %d)" % (grp.getgrgid(gid).gr_name, gid)
    except KeyError:
        name = str(gid)
    return "the socket is open to group %s: ask an administrator to add you to it" % name


def connect_error(path, err):
    """The DaemonUnavailable for a failed connect to path."""
    if isinstance(err, PermissionError) or getattr(err, "errno", None) == errno.EACCES:
        msg = "cannot connect to meshcache daemon at %s: permission denied; %s" % (path, _group_hint(path))
    else:
        msg = ("cannot connect to meshcache daemon at %s: is it running? "
               "(start it with `meshcache daemon`; %s)" % (path, err.strerror or err))
    return DaemonUnavailable(0, "daemon_unavailable", msg, socket_path=path)


class UnixHTTPConnection(http.client.HTTPConnection):
    """An HTTPConnection whose connect() opens a unix socket."""

    def __init__(self, socket_path, timeout=None):
        # The host only fills the Host header; the daemon ignores it.
        super().__init__("meshcache", timeout=timeout)
        self.socket_path = socket_path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except OSError as err:
            sock.close()
            if isinstance(err, (socket.timeout, TimeoutError)):
                raise
            raise connect_error(self.socket_path, err) from err
        self.sock = sock

    def __del__(self):
        # A thread's connection is dropped when the thread ends: close it
        # here rather than leave the socket to a ResourceWarning.
        try:
            self.close()
        except Exception:
            pass


class ConnectionPool:
    """One keep-alive connection per thread, re-created in a forked child
    (a DataLoader worker must not share its parent's socket: both would read
    answers off the same stream)."""

    def __init__(self, socket_path, timeout):
        self.socket_path = socket_path
        self.timeout = timeout
        self._local = threading.local()

    def get(self):
        """Returns (connection, reused): reused is True when the connection
        has answered a request before, so the daemon may have closed it
        while it sat idle."""
        local = self._local
        conn = getattr(local, "conn", None)
        if conn is not None and local.pid != os.getpid():
            # Inherited across fork: closing our copy of the descriptor does
            # not disturb the parent's connection.
            conn.close()
            conn = None
        if conn is None:
            conn = UnixHTTPConnection(self.socket_path, timeout=self.timeout)
            local.conn, local.pid, local.used = conn, os.getpid(), False
        return conn, local.used

    def done(self, conn):
        """Marks conn as having answered a request (and so reusable)."""
        if getattr(self._local, "conn", None) is conn:
            self._local.used = True

    def drop(self, conn=None):
        """Closes this thread's connection (if it is conn, when given): after
        an error its stream may hold half an answer."""
        local = self._local
        cur = getattr(local, "conn", None)
        if cur is None or (conn is not None and cur is not conn):
            return
        local.conn = None
        if local.pid == os.getpid():
            cur.close()


class DedicatedConnection:
    """One connection kept for one user (a RemoteFile streaming a file),
    with ConnectionPool's interface. Not shared between threads."""

    def __init__(self, socket_path, timeout):
        self.socket_path = socket_path
        self.timeout = timeout
        self._conn = None
        self._pid = None
        self._used = False

    def get(self):
        if self._conn is not None and self._pid != os.getpid():
            self._conn.close()
            self._conn = None
        if self._conn is None:
            self._conn = UnixHTTPConnection(self.socket_path, timeout=self.timeout)
            self._pid, self._used = os.getpid(), False
        return self._conn, self._used

    def done(self, conn):
        if conn is self._conn:
            self._used = True

    def drop(self, conn=None):
        if self._conn is None or (conn is not None and conn is not self._conn):
            return
        conn, self._conn = self._conn, None
        conn.close()
