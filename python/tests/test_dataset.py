"""The example PyTorch dataset, without PyTorch: it must import, list and
read without it."""

import hashlib
import importlib.util
import pickle
import unittest

from harness import DaemonTestCase, sha256

import meshcache
from meshcache.torch import MeshcacheDataset

HAVE_TORCH = importlib.util.find_spec("torch") is not None


class DatasetTest(DaemonTestCase):

    def test_items_are_the_files_in_path_order(self):
        ds = MeshcacheDataset(self.root, client=self.client)
        self.assertEqual(ds.paths, sorted(self.files))
        self.assertEqual(len(ds), len(self.files))
        for i, path in enumerate(ds.paths):
            with self.subTest(path=path):
                self.assertEqual(sha256(ds[i]), sha256(self.files[path]))
        self.assertEqual(ds[-1], self.files[ds.paths[-1]])
        with self.assertRaises(IndexError):
            ds[len(ds)]

    def test_prefix_and_suffixes(self):
        ds = MeshcacheDataset(self.root, "sub", socket_path=self.daemon.socket, suffixes=".bin")
        self.assertEqual(ds.paths, sorted(p for p in self.files if p.startswith("sub/") and p.endswith(".bin")))
        ds = MeshcacheDataset(self.root, "sub/deeper", socket_path=self.daemon.socket, suffixes=(".txt", ".md"))
        self.assertEqual(ds.paths, ["sub/deeper/notes.txt"])
        with self.assertRaises(meshcache.NotFound):
            MeshcacheDataset(self.root, "nope", client=self.client)

    def test_transform(self):
        ds = MeshcacheDataset(self.root, client=self.client, transform=lambda b: hashlib.sha256(b).hexdigest())
        self.assertEqual([ds[i] for i in range(len(ds))], [sha256(self.files[p]) for p in ds.paths])

    def test_pickles_for_spawned_workers(self):
        ds = MeshcacheDataset(self.root, client=self.client)
        ds2 = pickle.loads(pickle.dumps(ds))
        self.assertEqual(ds2.paths, ds.paths)
        self.assertIsNot(ds2.client, ds.client)
        self.assertEqual(ds2[1], ds[1])
        ds2.client.close()

    def test_as_tensor(self):
        ds = MeshcacheDataset(self.root, client=self.client, as_tensor=True)
        i = ds.paths.index("small.bin")
        if HAVE_TORCH:
            t = ds[i]
            self.assertEqual(bytes(t.numpy()), self.files["small.bin"])
        else:
            with self.assertRaises(ImportError) as cm:
                ds[i]
            self.assertIn("PyTorch", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
