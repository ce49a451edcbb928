package evict

// twoQ is the full 2Q (Johnson and Shasha, VLDB 1994): new blocks enter a
// FIFO (A1in, 25% of the cache); blocks evicted from it are remembered in a
// ghost FIFO (A1out, 50%); a block that returns while remembered enters an
// LRU (Am) that holds the rest.
type twoQ struct {
	nodes         map[string]*node
	in, out, main *list
	capacity      int64
}

const (
	q2In uint8 = iota + 1
	q2Out
	q2Main
)

// NewTwoQ returns a 2Q policy sized for capacity bytes.
func NewTwoQ(capacity int64) Policy {
	return &twoQ{nodes: map[string]*node{}, in: newList(0), out: newList(0),
		main: newList(0), capacity: capacity}
}

func (p *twoQ) Name() string { return string(TwoQ) }

func (p *twoQ) Add(key string, size int64) {
	if n, ok := p.nodes[key]; ok {
		if n.state != q2Out {
			return
		}
		p.out.remove(n)
		n.size, n.state = size, q2Main
		p.main.pushFront(n)
		return
	}
	n := &node{key: key, size: size, state: q2In}
	p.nodes[key] = n
	p.in.pushFront(n)
}

func (p *twoQ) Hit(key string) {
	if n, ok := p.nodes[key]; ok && n.state == q2Main {
		p.main.moveToFront(n)
	}
}

func (p *twoQ) Remove(key string) {
	n, ok := p.nodes[key]
	if !ok {
		return
	}
	n.in[0].remove(n)
	delete(p.nodes, key)
}

func (p *twoQ) Evict() (string, int64, bool) {
	if p.in.len > 0 && (p.in.bytes > p.capacity/4 || p.main.len == 0) {
		n := p.in.back()
		p.in.remove(n)
		n.state = q2Out
		p.out.pushFront(n)
		for p.out.len > 0 && p.out.bytes > p.capacity/2 {
			g := p.out.back()
			p.out.remove(g)
			delete(p.nodes, g.key)
		}
		return n.key, n.size, true
	}
	n := p.main.back()
	if n == nil {
		return "", 0, false
	}
	p.main.remove(n)
	delete(p.nodes, n.key)
	return n.key, n.size, true
}

func (p *twoQ) Contains(key string) bool {
	n, ok := p.nodes[key]
	return ok && n.state != q2Out
}

func (p *twoQ) SetCapacity(bytes int64) { p.capacity = bytes }
func (p *twoQ) Len() int                { return p.in.len + p.main.len }
func (p *twoQ) Bytes() int64            { return p.in.bytes + p.main.bytes }
