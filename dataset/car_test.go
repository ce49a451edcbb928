package dataset

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	car "github.com/ipld/go-car/v2"
	"github.com/ipld/go-car/v2/storage"
)

// publishCAR publishes a fixture to a writable origin and returns the
// result and the CAR file's bytes.
func publishCAR(t testing.TB, name string, opts PublishOptions) (*PublishResult, []byte) {
	t.Helper()
	return publishCARFrom(t, sharedCase(t, findCase(t, name)), opts)
}

func publishCARFrom(t testing.TB, o *dirOrigin, opts PublishOptions) (*PublishResult, []byte) {
	t.Helper()
	if opts.Store == nil {
		opts.Store = newMemStore()
	}
	res, err := Publish(context.Background(), o, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.CARPath != CARPath(res.Root) {
		t.Fatalf("CARPath %q, want %q", res.CARPath, CARPath(res.Root))
	}
	data, err := os.ReadFile(filepath.Join(o.root, filepath.FromSlash(res.CARPath)))
	if err != nil {
		t.Fatal(err)
	}
	return res, data
}

func TestCARRoundTrip(t *testing.T) {
	o := sharedCase(t, findCase(t, "hamt"))
	res, data := publishCARFrom(t, o, PublishOptions{NoStore: true})
	rec, blks, err := ReadCAR(bytes.NewReader(data), res.Root)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := EncodeRecord(res.Record)
	got, _ := EncodeRecord(rec)
	if !bytes.Equal(got.RawData(), want.RawData()) || rec.Origin != res.Record.Origin {
		t.Fatalf("record read back differs:\n%s\nwant\n%s", got.RawData()[:200], want.RawData()[:200])
	}
	if len(blks) != len(res.MetadataBlocks) {
		t.Fatalf("CAR holds %d blocks, publish made %d metadata blocks", len(blks), len(res.MetadataBlocks))
	}
	// The CAR alone (no leaves) is enough to index the dataset.
	bs := newMemStore()
	if err := bs.PutMany(t.Context(), blks); err != nil {
		t.Fatal(err)
	}
	assertStoreHolds(t, bs, res.MetadataBlocks)
	ix, err := BuildIndex(t.Context(), t.TempDir(), rec, bs.Get)
	if err != nil {
		t.Fatal(err)
	}
	ix.Close()

	// Metadata read back from the store instead of memory gives the same file.
	_, data2 := publishCARFrom(t, o, PublishOptions{metaMemLimit: 1})
	if !bytes.Equal(data, data2) {
		t.Fatal("CAR written from the store differs from the one written from memory")
	}
}

func TestCARSingleFileOrigin(t *testing.T) {
	// A single-file origin answers ErrNotWritable: no CAR, no failure.
	res, err := Publish(t.Context(), sharedCase(t, findCase(t, "tiny-single")), PublishOptions{Store: newMemStore()})
	if err != nil {
		t.Fatal(err)
	}
	if res.CARPath != "" || len(res.MetadataBlocks) != 0 || res.Root.Type() != cid.Raw {
		t.Fatalf("result %+v, want a raw root, no metadata, no CAR", res)
	}
}

func TestCARWriteFailureFailsPublish(t *testing.T) {
	o := sharedCase(t, findCase(t, "small"))
	o.writeErr = errors.New("disk quota exceeded")
	_, err := Publish(t.Context(), o, PublishOptions{Store: newMemStore()})
	if !errors.Is(err, o.writeErr) || !strings.Contains(err.Error(), "CAR") {
		t.Fatalf("Publish = %v, want the write error, naming the CAR file", err)
	}
}

// makeCAR writes a CARv1 with the given roots and blocks.
func makeCAR(t testing.TB, roots []cid.Cid, blks ...blocks.Block) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := storage.NewWritable(&buf, roots, car.WriteAsCarV1(true), car.AllowDuplicatePuts(true))
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range blks {
		if err := w.Put(context.Background(), b.Cid().KeyString(), b.RawData()); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestReadCARRejects(t *testing.T) {
	res, data := publishCAR(t, "nested", PublishOptions{NoStore: true})
	root := res.Root
	_, blks, err := ReadCAR(bytes.NewReader(data), root)
	if err != nil {
		t.Fatal(err)
	}
	recBlk, _ := EncodeRecord(res.Record)
	otherRoot := blks[0].Cid()
	otherRec := *res.Record
	otherRec.Root = otherRoot
	otherRecBlk, _ := EncodeRecord(&otherRec)
	leafData := []byte("a raw leaf")
	leafBlk, _ := blocks.NewBlockWithCid(leafData, mustSum(t, rawPrefix, leafData))

	cases := map[string][]byte{
		"empty":              nil,
		"not a CAR":          []byte("hello, world"),
		"wrong header root":  makeCAR(t, []cid.Cid{otherRoot}, append(blks, recBlk)...),
		"two roots":          makeCAR(t, []cid.Cid{root, otherRoot}, append(blks, recBlk)...),
		"record of another":  makeCAR(t, []cid.Cid{root}, append(blks, otherRecBlk)...),
		"no record":          makeCAR(t, []cid.Cid{root}, blks...),
		"two records":        makeCAR(t, []cid.Cid{root}, append(blks, recBlk, recBlk)...),
		"block missing":      makeCAR(t, []cid.Cid{root}, append(blks[1:], recBlk)...),
		"raw leaf inside":    makeCAR(t, []cid.Cid{root}, append(blks, leafBlk, recBlk)...),
		"trailing garbage":   append(bytes.Clone(data), 0xff, 0xff),
		"corrupt last byte":  flipByte(data, len(data)-1),
		"corrupt mid block":  flipByte(data, len(data)/2),
		"corrupt first data": flipByte(data, 200),
	}
	for name, in := range cases {
		if _, _, err := ReadCAR(bytes.NewReader(in), root); !errors.Is(err, ErrBadCAR) {
			t.Errorf("%s: ReadCAR = %v, want ErrBadCAR", name, err)
		}
	}
	// Every truncation fails: the record comes last.
	for n := range len(data) {
		if _, _, err := ReadCAR(bytes.NewReader(data[:n]), root); !errors.Is(err, ErrBadCAR) {
			t.Fatalf("truncated to %d of %d bytes: ReadCAR = %v, want ErrBadCAR", n, len(data), err)
		}
	}
}

func flipByte(data []byte, i int) []byte {
	out := bytes.Clone(data)
	out[i] ^= 0x40
	return out
}

func mustSum(t testing.TB, p cid.Prefix, data []byte) cid.Cid {
	t.Helper()
	c, err := p.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func FuzzReadCAR(f *testing.F) {
	res, data := publishCAR(f, "small", PublishOptions{NoStore: true})
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		rec, blks, err := ReadCAR(bytes.NewReader(in), res.Root)
		if err != nil {
			if !errors.Is(err, ErrBadCAR) {
				t.Fatalf("error %v does not wrap ErrBadCAR", err)
			}
			return
		}
		if !rec.Root.Equals(res.Root) {
			t.Fatalf("accepted a record of %s", rec.Root)
		}
		for _, b := range blks {
			if c, _ := b.Cid().Prefix().Sum(b.RawData()); !c.Equals(b.Cid()) {
				t.Fatalf("accepted block %s whose bytes do not match", b.Cid())
			}
		}
	})
}
