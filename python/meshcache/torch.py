"""An example PyTorch map-style dataset over the files of a meshcache dataset.

This module imports without PyTorch; torch is imported only when an item is
asked for as a tensor. DataLoader takes any object with __len__ and
__getitem__ as a map-style dataset, so MeshcacheDataset needs no torch base
class:

    from torch.utils.data import DataLoader
    from meshcache.torch import MeshcacheDataset

    ds = MeshcacheDataset(root, "train", suffixes=(".jpg",), transform=decode_jpeg)
    for batch in DataLoader(ds, batch_size=64, num_workers=8, shuffle=True):
        ...

Each worker process talks to the daemon over its own connection: the Client
opens one per thread and process, and pickles as its settings only (for
workers started by spawn).
"""

from .client import Client

__all__ = ["MeshcacheDataset"]


def _torch():
    try:
        import torch
    except ImportError as err:
        raise ImportError("MeshcacheDataset(as_tensor=True) needs PyTorch (pip install torch): %s" % err) from err
    return torch


class MeshcacheDataset:
    """Item i is the content of the i-th file (sorted by path) under the
    directory prefix of the dataset cid.

    Items are bytes, or with as_tensor a 1-D uint8 torch tensor of them;
    transform (if given) is applied last, e.g. to decode an image. Decoding
    is the caller's: the daemon serves bytes. suffixes keeps only the files
    whose names end with one of them. The file list is read once, here.

    ``files`` is the list of DirEntry (path, size, cid) in item order.
    """

    def __init__(self, cid, prefix="", *, client=None, socket_path=None,
                 suffixes=None, transform=None, as_tensor=False):
        self.client = client if client is not None else Client(socket_path)
        self.cid = str(cid)
        self.prefix = prefix
        self.transform = transform
        self.as_tensor = as_tensor
        if isinstance(suffixes, str):
            suffixes = (suffixes,)
        files = self.client.iter_files(self.cid, prefix)
        if suffixes:
            files = (f for f in files if f.name.endswith(tuple(suffixes)))
        self.files = sorted(files, key=lambda f: f.path)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        data = self.client.read(self.cid, self.files[index].path)
        if self.as_tensor:
            torch = _torch()
            # bytearray: frombuffer wants a writable buffer, and a non-empty one.
            data = torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.empty(0, dtype=torch.uint8)
        if self.transform is not None:
            data = self.transform(data)
        return data

    @property
    def paths(self):
        """The files' paths from the dataset's root, in item order."""
        return [f.path for f in self.files]

    def __repr__(self):
        return "MeshcacheDataset(cid=%r, prefix=%r, files=%d)" % (self.cid, self.prefix, len(self.files))
