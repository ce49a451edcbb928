package exchange_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/libp2p/go-libp2p/core/network"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// readRequestRaw parses a request the way a hand-written peer would.
func readRequestRaw(r io.Reader) ([]cid.Cid, error) {
	br := bufio.NewReader(r)
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	out := make([]cid.Cid, 0, n)
	for range n {
		l, err := binary.ReadUvarint(br)
		if err != nil {
			return nil, err
		}
		b := make([]byte, l)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		c, err := cid.Cast(b)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func blockFrame(data []byte) []byte {
	return append(binary.AppendUvarint([]byte{1}, uint64(len(data))), data...)
}

// TestMaliciousServer: a member speaking the protocol with bad answers.
// The client rejects each with an error naming the peer, delivers nothing
// wrong, and neither panics nor allocates what a frame claims.
func TestMaliciousServer(t *testing.T) {
	good := randomBlocks(t, 2, 4096)
	other := randomBlocks(t, 1, 4096)[0]
	corrupt := append([]byte(nil), good[0].RawData()...)
	corrupt[100] ^= 1
	huge := binary.AppendUvarint([]byte{1}, 1<<60)
	cases := []struct {
		name    string
		answer  []byte
		want    error
		badCID  bool
		deliver int
	}{
		{"corrupted bytes", blockFrame(corrupt), exchange.ErrBadBlock, true, 0},
		{"another block's bytes", blockFrame(other.RawData()), exchange.ErrBadBlock, true, 0},
		{"good then corrupted", append(blockFrame(good[0].RawData()), blockFrame(corrupt)...), exchange.ErrBadBlock, true, 1},
		{"oversized block", binary.AppendUvarint([]byte{1}, exchange.MaxBlockSize+1), exchange.ErrProtocol, false, 0},
		{"absurd block size", huge, exchange.ErrProtocol, false, 0},
		{"varint overflow", append([]byte{1}, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), exchange.ErrProtocol, false, 0},
		{"truncated block", blockFrame(good[0].RawData())[:50], exchange.ErrProtocol, false, 0},
		{"truncated size", []byte{1, 0x80}, exchange.ErrProtocol, false, 0},
		{"unknown status", []byte{0x7f}, exchange.ErrProtocol, false, 0},
		{"too few answers", []byte{2}, exchange.ErrProtocol, false, 0},
		{"nothing", nil, exchange.ErrProtocol, false, 0},
		{"bytes after the answers", []byte{2, 2, 2}, exchange.ErrProtocol, false, 0},
	}
	keys := meshtest.Keys(t)
	mal, client := newNode(t, keys), newNode(t, keys)
	cl, _ := exchange.NewClient(client, exchange.ClientConfig{IdleTimeout: 5 * time.Second, Logger: meshtest.Quiet()})
	connect(t, client, mal)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mal.SetStreamHandler(exchange.ProtocolID, mal.auth.Wrap(func(s network.Stream) {
				defer s.Close()
				if _, err := readRequestRaw(s); err != nil {
					s.Reset()
					return
				}
				s.Write(tc.answer)
			}))
			col := newCollector()
			missing, err := cl.Fetch(ctxT(t, 10*time.Second), mal.id(), cidsOf(good), col.add)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var pe *exchange.PeerError
			if !errors.As(err, &pe) || pe.Peer != mal.id() {
				t.Fatalf("error %v does not name the peer %s", err, mal.id())
			}
			if tc.badCID && pe.CID != good[tc.deliver].Cid() {
				t.Errorf("error names block %s, want %s", pe.CID, good[tc.deliver].Cid())
			}
			if col.len() != tc.deliver || len(missing) != 2-tc.deliver {
				t.Fatalf("delivered %d, missing %d; want %d, %d", col.len(), len(missing), tc.deliver, 2-tc.deliver)
			}
			for c, data := range col.got {
				if c != good[0].Cid() || string(data) != string(good[0].RawData()) {
					t.Fatalf("delivered a wrong block %s", c)
				}
			}
		})
	}
	if s := cl.Stats()[mal.id()]; s.BadBlocks != 3 {
		t.Errorf("client counted %d bad blocks, want 3", s.BadBlocks)
	}
}

// TestMaliciousRequests: malformed requests are reset without consulting
// the store, and the server goes on serving.
func TestMaliciousRequests(t *testing.T) {
	held := randomBlocks(t, 1, 1000)
	_, store, cl, server, client := pair(t, exchange.ServerConfig{MaxBatch: 8, RequestTimeout: 500 * time.Millisecond}, exchange.ClientConfig{}, held...)
	long := make([]byte, exchange.MaxCIDLen+1)
	cases := map[string][]byte{
		"zero CIDs":          {0},
		"too many CIDs":      {9},
		"absurd count":       binary.AppendUvarint(nil, 1<<62),
		"long CID":           append(binary.AppendUvarint([]byte{1}, uint64(len(long))), long...),
		"garbage CID":        {1, 4, 0xde, 0xad, 0xbe, 0xef},
		"truncated CID":      {1, 36, 1, 0x55},
		"CID trailing bytes": append(binary.AppendUvarint([]byte{1}, uint64(len(held[0].Cid().Bytes())+1)), append(held[0].Cid().Bytes(), 0)...),
		"silence":            nil,
	}
	for name, req := range cases {
		t.Run(name, func(t *testing.T) {
			ctx := ctxT(t, 5*time.Second)
			s, err := client.NewStream(ctx, server.id(), exchange.ProtocolID)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.Write(req)
			if req != nil {
				s.CloseWrite()
			}
			s.SetReadDeadline(time.Now().Add(3 * time.Second))
			got, err := io.ReadAll(s)
			if err == nil || len(got) != 0 {
				t.Fatalf("server answered %x, err %v; want a reset", got, err)
			}
		})
	}
	if n := store.calls.Load(); n != 0 {
		t.Fatalf("store consulted %d times for malformed requests", n)
	}
	col := newCollector()
	if missing, err := cl.Fetch(ctxT(t, 5*time.Second), server.id(), cidsOf(held), col.add); err != nil || len(missing) != 0 {
		t.Fatalf("server stopped serving: %v", err)
	}
}
