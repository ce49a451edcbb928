"""What the client returns for paths in a dataset."""

from dataclasses import dataclass

FILE = "file"
DIR = "dir"


@dataclass(frozen=True)
class DirEntry:
    """One entry of a directory listing.

    ``path`` is the entry's path from the dataset's root (slash-separated);
    ``size`` is a file's size in bytes, or for a directory the total size of
    the files under it when the daemon knows it (else 0); ``cid`` is the
    entry's own CID.
    """

    name: str
    path: str
    type: str
    size: int
    cid: str

    def is_dir(self):
        return self.type == DIR

    def is_file(self):
        return self.type == FILE


@dataclass(frozen=True)
class FileInfo:
    """What stat() learns of a path: its CID, kind and (for a file) size;
    ``size`` is 0 for a directory."""

    cid: str
    path: str
    type: str
    size: int

    def is_dir(self):
        return self.type == DIR

    def is_file(self):
        return self.type == FILE
