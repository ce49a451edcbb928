package evict

import "container/heap"

// Belady replays t with the offline optimum (evict the block read again
// farthest in the future, and do not admit a block read later than every
// held one) on a cache of cfg.Capacity bytes: the bound no policy can beat.
func Belady(cfg SimConfig, t Trace) Result {
	slots := int(cfg.Capacity / cfg.BlockSize)
	next := nextUses(t.Reads)
	cur := make(map[int]int, slots) // held block -> its next read
	h := &useHeap{}
	res := Result{Policy: "optimal (Belady)"}
	for i, b := range t.Reads {
		_, hit := cur[b]
		switch {
		case hit:
			cur[b] = next[i]
			heap.Push(h, use{next[i], b})
		case len(cur) < slots:
			cur[b] = next[i]
			heap.Push(h, use{next[i], b})
		default:
			far := h.farthest(cur)
			if next[i] < far.at {
				heap.Pop(h)
				delete(cur, far.block)
				cur[b] = next[i]
				heap.Push(h, use{next[i], b})
			}
		}
		if i < t.Warmup {
			continue
		}
		if hit {
			res.Hits++
		} else {
			res.Misses++
		}
	}
	return res
}

// nextUses gives, for each read, the index of the next read of the same
// block (len(reads) if none).
func nextUses(reads []int) []int {
	next := make([]int, len(reads))
	last := map[int]int{}
	for i := len(reads) - 1; i >= 0; i-- {
		n, ok := last[reads[i]]
		if !ok {
			n = len(reads)
		}
		next[i] = n
		last[reads[i]] = i
	}
	return next
}

type use struct{ at, block int }

// useHeap is a max-heap of next reads with stale entries dropped lazily.
type useHeap []use

func (h useHeap) Len() int           { return len(h) }
func (h useHeap) Less(i, j int) bool { return h[i].at > h[j].at }
func (h useHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *useHeap) Push(x any)        { *h = append(*h, x.(use)) }
func (h *useHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// farthest drops stale tops and returns the held block read farthest ahead.
func (h *useHeap) farthest(cur map[int]int) use {
	for {
		top := (*h)[0]
		if at, ok := cur[top.block]; ok && at == top.at {
			return top
		}
		heap.Pop(h)
	}
}
