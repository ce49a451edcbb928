"""Errors raised by the meshcache client.

Every error answer of the daemon is JSON ``{"error": MESSAGE, "code": CODE}``
(docs/api.md, "Errors"); the client raises it as a :class:`MeshcacheError`
carrying the HTTP status, the code and the daemon's message. Subclasses let
callers branch with ``except``; the ones that match a Python built-in also
derive from it, so ``except FileNotFoundError`` catches a path missing from a
dataset just as it catches a missing local file.
"""

import json


class MeshcacheError(Exception):
    """An error answer of the daemon, or a failure to talk to it.

    ``status`` is the HTTP status (0 when no answer came), ``code`` the
    daemon's machine code (``"not_found"``, ``"bad_cid"``, ...) and
    ``message`` the text a person can act on.
    """

    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def __str__(self):
        return self.message

    def __repr__(self):
        return "%s(status=%d, code=%r, message=%r)" % (
            type(self).__name__, self.status, self.code, self.message)

    def __reduce__(self):
        # Exceptions cross process boundaries (multiprocessing pools,
        # DataLoader workers): rebuild from all three fields, not from args.
        return (type(self), (self.status, self.code, self.message))


class BadRequest(MeshcacheError):
    """400: a malformed CID (code ``bad_cid``), path (``bad_path``), body..."""


class IsADirectory(BadRequest, IsADirectoryError):
    """A file was asked for, but the path is a directory (code ``is_dir``)."""


class NotADirectory(BadRequest, NotADirectoryError):
    """A listing was asked for, but the path is a file (code ``not_dir``)."""


class Forbidden(MeshcacheError, PermissionError):
    """403: an admin route called by a non-admin, or an origin outside the
    daemon's allowlist."""


class NotFound(MeshcacheError, FileNotFoundError):
    """404: unknown dataset, path, block, pin or publish job."""


class Conflict(MeshcacheError):
    """409: the request clashes with the daemon's state."""


class RangeNotSatisfiable(MeshcacheError):
    """416: a byte range that does not overlap the file."""


class ServerError(MeshcacheError):
    """5xx: the daemon failed; the message is its error."""


class OriginError(ServerError):
    """502/503/504 with code ``origin_unavailable``, ``origin_changed`` or
    ``origin_timeout``: the dataset's origin failed; the message names it."""


class InsufficientStorage(ServerError):
    """507: a pin that does not fit in the store beside the other pins."""


class PinFailed(MeshcacheError):
    """A pin reached state ``failed``; ``pin`` is its last status."""

    def __init__(self, status, code, message, pin=None):
        super().__init__(status, code, message)
        self.pin = pin

    def __reduce__(self):
        return (type(self), (self.status, self.code, self.message, self.pin))


class DaemonUnavailable(MeshcacheError, ConnectionError):
    """The daemon's socket could not be reached, or the connection to it
    broke before an answer came (status 0)."""

    def __init__(self, status, code, message, socket_path=None):
        super().__init__(status, code, message)
        self.socket_path = socket_path

    def __reduce__(self):
        return (type(self), (self.status, self.code, self.message, self.socket_path))


class IncompleteResponse(MeshcacheError, ConnectionError):
    """The daemon cut an answer short of its Content-Length: it failed after
    the first bytes went out (say the origin broke mid-file). The bytes that
    came are not returned, so no caller mistakes them for the whole."""


_BY_CODE = {
    "is_dir": IsADirectory,
    "not_dir": NotADirectory,
    "range_not_satisfiable": RangeNotSatisfiable,
    "origin_unavailable": OriginError,
    "origin_changed": OriginError,
    "origin_timeout": OriginError,
    "insufficient_storage": InsufficientStorage,
}

_BY_STATUS = {
    400: BadRequest,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    416: RangeNotSatisfiable,
    507: InsufficientStorage,
}

# The code of an answer that carries none (plain-text answers of Go's HTTP
# server itself), as the Go client's codeFor.
_CODE_FOR_STATUS = {
    400: "bad_request", 403: "forbidden", 404: "not_found", 409: "conflict",
    503: "not_available", 504: "timeout", 507: "insufficient_storage",
}


def error_class(status, code):
    """The MeshcacheError subclass for an answer's status and code."""
    cls = _BY_CODE.get(code) or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else MeshcacheError
    return cls


def from_response(status, reason, body):
    """Builds the error for a non-2xx answer from its status and body.

    The daemon's answers are JSON; a few come from Go's HTTP server before
    the API sees the request (a request line that does not parse, headers
    too large) and are plain text, which is kept as the message.
    """
    code, message = "", ""
    try:
        doc = json.loads(body)
        if isinstance(doc, dict):
            message = doc.get("error") or ""
            code = doc.get("code") or ""
    except ValueError:
        pass
    if not message:
        text = body.decode("utf-8", "replace").strip() or "%d %s" % (status, reason)
        message = "meshcache daemon answered %d %s: %s" % (status, reason, text)
        code = ""
    if not code:
        code = _CODE_FOR_STATUS.get(status, "internal")
    return error_class(status, code)(status, code, message)
