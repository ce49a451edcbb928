package exchange_test

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/internal/meshtest"
	"github.com/meshcache/meshcache/mesh/exchange"
)

// lendingBlocks is a Getter that is also a Viewer, lending each View a
// buffer from a pool and scribbling over it once fn returns, as a store
// reusing its read buffers would: a server that kept the bytes past fn
// (a write finished later, a slice kept) would send garbage.
type lendingBlocks struct {
	*memBlocks
	pool  sync.Pool
	views atomic.Int64
}

func (l *lendingBlocks) View(ctx context.Context, c cid.Cid, fn func([]byte) error) error {
	l.views.Add(1)
	b, err := l.memBlocks.Get(ctx, c)
	if err != nil {
		return err
	}
	bp, _ := l.pool.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	buf := append((*bp)[:0], b.RawData()...)
	err = fn(buf)
	for i := range buf {
		buf[i] = 0xEE
	}
	*bp = buf[:0]
	l.pool.Put(bp)
	return err
}

// TestServerWritesInsideView: with a Viewer the server reads no block
// with Get and sends every block intact from lent buffers, unknown CIDs
// still answered DONT_HAVE.
func TestServerWritesInsideView(t *testing.T) {
	held := randomBlocks(t, 48, 200<<10)
	unknown := randomBlocks(t, 4, 100)
	keys := meshtest.Keys(t)
	server, client := newNode(t, keys), newNode(t, keys)
	store := &lendingBlocks{memBlocks: newMemBlocks(held...)}
	srv, err := exchange.NewServer(server, exchange.ServerConfig{Blocks: store, Wrap: server.auth.Wrap, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	cl, err := exchange.NewClient(client, exchange.ClientConfig{BatchSize: 8, InFlight: 3, Logger: meshtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	connect(t, client, server)

	ctx := ctxT(t, 20*time.Second)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			want := cidsOf(held[w*12 : w*12+12])
			want = append(want, unknown[w].Cid())
			col := newCollector()
			missing, err := cl.Fetch(ctx, server.id(), want, col.add)
			if err != nil || len(missing) != 1 || missing[0] != unknown[w].Cid() {
				t.Errorf("fetch %d: missing %v, %v", w, missing, err)
				return
			}
			for _, b := range held[w*12 : w*12+12] {
				if !bytes.Equal(col.got[b.Cid()], b.RawData()) {
					t.Errorf("block %s arrived damaged", b.Cid())
				}
			}
		})
	}
	wg.Wait()
	if n := store.views.Load(); n != 52 {
		t.Errorf("%d views, want one per CID asked (52)", n)
	}
	if n := store.calls.Load() - store.views.Load(); n != 0 {
		t.Errorf("%d Gets beside the views, want none", n)
	}
	if s := srv.Stats()[client.id()]; s.BlocksSent != 48 || s.DontHave != 4 {
		t.Errorf("server stats %+v", s)
	}
}
