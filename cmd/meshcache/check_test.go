package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/api"
	"github.com/meshcache/meshcache/internal/testenv"
)

// Prefetch Manager defaults (prefetch.Config): what one pin has in flight
// at the origin at any moment, and what read-ahead may add.
const (
	pinWorkers   = 4
	pinBatch     = 16 // blocks per fetch: one ranged read
	readAhead    = 8  // blocks
	inFlightByte = (pinWorkers*pinBatch + readAhead) * mib
)

// checkFiles reads every file of the dataset through the daemon's socket
// and compares it with the origin's bytes.
func checkFiles(t testing.TB, cl *api.Client, fx *fixture) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, p := range fx.paths() {
		rc, err := cl.Open(ctx, fx.root, p)
		if err != nil {
			t.Fatalf("open %s: %v", p, err)
		}
		h := sha256.New()
		n, err := io.Copy(h, rc)
		rc.Close()
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		if want := fx.sums[p]; n != fx.files[p] || !bytes.Equal(h.Sum(nil), want[:]) {
			t.Fatalf("%s: read %d bytes that differ from the origin's %d", p, n, fx.files[p])
		}
	}
}

// blockFiles lists the block files of a data directory (layout of
// blockstore/disk: <data>/blocks/blocks/<shard>/<name>.data) and every temp
// file anywhere under it.
func blockFiles(t testing.TB, data string) (blocks, temps []string) {
	t.Helper()
	err := filepath.WalkDir(data, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
		case strings.HasSuffix(p, ".tmp") || strings.Contains(e.Name(), ".tmp"):
			temps = append(temps, p)
		case strings.HasSuffix(p, ".data") && filepath.Base(filepath.Dir(filepath.Dir(p))) == "blocks":
			blocks = append(blocks, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", data, err)
	}
	return blocks, temps
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// checkStore fails unless the store holds no temp file, no partial or
// damaged block (every block file hashes to its name) and nothing in
// quarantine; it returns the number of blocks.
func checkStore(t testing.TB, data string) int {
	t.Helper()
	blocks, temps := blockFiles(t, data)
	if len(temps) > 0 {
		t.Fatalf("temp files remain after restart: %v", temps)
	}
	for _, p := range blocks {
		if err := checkBlockFile(p); err != nil {
			t.Fatalf("block file %s: %v", p, err)
		}
	}
	q, err := os.ReadDir(filepath.Join(data, "blocks", "quarantine"))
	if err != nil {
		t.Fatalf("read quarantine: %v", err)
	}
	if len(q) > 0 {
		t.Fatalf("%d blocks in quarantine, want none", len(q))
	}
	return len(blocks)
}

// checkBlockFile says whether a block file holds exactly the block its
// name (the base32 multihash) stands for.
func checkBlockFile(p string) error {
	raw, err := b32.DecodeString(strings.TrimSuffix(filepath.Base(p), ".data"))
	if err != nil {
		return err
	}
	dec, err := multihash.Decode(raw)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	sum, err := multihash.Sum(data, dec.Code, dec.Length)
	if err != nil {
		return err
	}
	if !bytes.Equal(sum, raw) {
		return errors.New("content does not hash to the name")
	}
	return nil
}

// blockPath is where the store keeps the raw leaf holding data.
func blockPath(data string, leaf []byte) string {
	mh, err := multihash.Sum(leaf, multihash.SHA2_256, -1)
	if err != nil {
		panic(err)
	}
	name := b32.EncodeToString(mh)
	return filepath.Join(data, "blocks", "blocks", name[len(name)-3:len(name)-1], name+".data")
}

// leafCID is the CID of a raw leaf.
func leafCID(leaf []byte) cid.Cid {
	mh, _ := multihash.Sum(leaf, multihash.SHA2_256, -1)
	return cid.NewCidV1(cid.Raw, mh)
}

// originRead is what nginx's log says was read from it.
type originRead struct {
	data, meta int64 // body bytes of dataset files, of .meshcache/ (CAR)
	requests   int
}

func readOrigin(ng *testenv.Nginx) originRead {
	total := ng.BytesSent() // waits until the log settles
	var r originRead
	for _, e := range ng.Requests() {
		r.requests++
		if strings.Contains(e.URI, "/.meshcache/") {
			r.meta += e.BodyBytes
		} else {
			r.data += e.BodyBytes
		}
	}
	if r.data+r.meta != total {
		// The log grew between the two reads; take the later one.
		return readOrigin(ng)
	}
	return r
}

// pinRecordState is the state a pin's durable record holds
// (<data>/pins/<root>.json), read while no daemon runs.
func pinRecordState(t testing.TB, data string, root cid.Cid) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(data, "pins", root.String()+".json"))
	if err != nil {
		t.Fatalf("pin record: %v", err)
	}
	var rec struct{ State string }
	if err := json.Unmarshal(b, &rec); err != nil || rec.State == "" {
		t.Fatalf("pin record %s: %v", b, err)
	}
	return rec.State
}
