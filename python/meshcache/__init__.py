"""Python client of the meshcache daemon (standard library only).

    import meshcache
    mc = meshcache.Client()               # $MESHCACHE_SOCKET or the default socket
    data = mc.read(root, "train/shard-00000.tar")
    with mc.open(root, "train/shard-00000.tar") as f:
        f.seek(1 << 20)
        header = f.read(512)

See docs/python.md.
"""

from ._transport import SYSTEM_SOCKET_PATH, client_socket_path, default_socket_path
from .client import DEFAULT_TIMEOUT, Client
from .errors import (BadRequest, Conflict, DaemonUnavailable, Forbidden,
                     IncompleteResponse, InsufficientStorage, IsADirectory,
                     MeshcacheError, NotADirectory, NotFound, OriginError,
                     PinFailed, RangeNotSatisfiable, ServerError)
from .reader import DEFAULT_BUFFER_SIZE, DEFAULT_READAHEAD, RemoteFile
from .types import DirEntry, FileInfo

__version__ = "0.1.0"

__all__ = [
    "Client", "RemoteFile", "DirEntry", "FileInfo",
    "DEFAULT_TIMEOUT", "DEFAULT_BUFFER_SIZE", "DEFAULT_READAHEAD", "SYSTEM_SOCKET_PATH",
    "client_socket_path", "default_socket_path",
    "MeshcacheError", "BadRequest", "IsADirectory", "NotADirectory", "Forbidden",
    "NotFound", "Conflict", "RangeNotSatisfiable", "ServerError", "OriginError",
    "InsufficientStorage", "PinFailed", "DaemonUnavailable", "IncompleteResponse",
]
