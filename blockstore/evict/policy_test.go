package evict

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestPolicyBookkeeping drives every policy with random operations and checks
// Len, Bytes and Contains against a model of what is held.
func TestPolicyBookkeeping(t *testing.T) {
	for _, name := range Names() {
		t.Run(string(name), func(t *testing.T) {
			const capacity = 50 * 10
			p := New(name, capacity)
			held := map[string]int64{}
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range 20000 {
				k := strconv.Itoa(rng.IntN(200))
				switch op := rng.IntN(10); {
				case op < 5:
					if _, ok := held[k]; ok {
						p.Hit(k)
						break
					}
					size := int64(1 + rng.IntN(20))
					p.Add(k, size)
					held[k] = size
					for p.Bytes() > capacity {
						v, sz, ok := p.Evict()
						if !ok || held[v] != sz {
							t.Fatalf("op %d: evict gave %q size %d ok %v; held size %d", i, v, sz, ok, held[v])
						}
						delete(held, v)
					}
				case op < 7:
					p.Remove(k)
					delete(held, k)
				default:
					if _, ok := held[k]; ok != p.Contains(k) {
						t.Fatalf("op %d: Contains(%s) = %v, want %v", i, k, !ok, ok)
					}
				}
				var bytes int64
				for _, s := range held {
					bytes += s
				}
				if p.Len() != len(held) || p.Bytes() != bytes {
					t.Fatalf("op %d: Len %d Bytes %d, want %d %d", i, p.Len(), p.Bytes(), len(held), bytes)
				}
			}
			for len(held) > 0 {
				v, _, ok := p.Evict()
				if _, was := held[v]; !ok || !was {
					t.Fatalf("draining: evict %q ok %v, held %v", v, ok, was)
				}
				delete(held, v)
			}
			if _, _, ok := p.Evict(); ok || p.Len() != 0 || p.Bytes() != 0 {
				t.Fatalf("empty policy still evicts or counts: Len %d Bytes %d", p.Len(), p.Bytes())
			}
		})
	}
}

func TestNewUnknown(t *testing.T) {
	if New("nope", 1) != nil {
		t.Fatal("unknown policy name returned a policy")
	}
}
