package evict

// lirs is LIRS (Jiang and Zhang, SIGMETRICS 2002). It ranks blocks by reuse
// distance rather than recency: blocks whose last two reads were close
// together (LIR) hold about 99% of the cache and stay; the others (HIR)
// share the remaining 1% in a FIFO queue. A recency stack remembers evicted
// HIR blocks (ghosts) so that one which returns sooner than the oldest LIR
// block is promoted. A loop larger than the cache therefore keeps a fixed
// part of itself resident instead of flushing everything, which is what an
// epoch of training over a dataset does.
type lirs struct {
	nodes    map[string]*node
	stack    *list // link set 0: LIR, resident HIR and ghost HIR, by recency
	queue    *list // link set 1: resident HIR, oldest evicted first
	ghosts   *list // link set 1: ghost HIR, oldest forgotten first
	lirBytes int64
	capacity int64
}

const (
	lirsLIR uint8 = iota + 1
	lirsHIR
	lirsGhost
)

// NewLIRS returns a LIRS policy sized for capacity bytes.
func NewLIRS(capacity int64) Policy {
	return &lirs{nodes: map[string]*node{}, stack: newList(0), queue: newList(1),
		ghosts: newList(1), capacity: capacity}
}

func (p *lirs) Name() string { return string(LIRS) }

// lirCap is the LIR share; the rest holds resident HIR blocks.
func (p *lirs) lirCap() int64 { return p.capacity - p.capacity/100 }

func (p *lirs) Add(key string, size int64) {
	n, ok := p.nodes[key]
	switch {
	case ok && n.state != lirsGhost:
		return
	case ok: // returned while remembered: its reuse distance beats the oldest LIR
		p.ghosts.remove(n)
		n.size = size
		p.makeLIR(n)
	default:
		n = &node{key: key, size: size}
		p.nodes[key] = n
		if p.lirBytes+size <= p.lirCap() {
			n.state = lirsLIR
			p.lirBytes += size
			p.stack.pushFront(n)
			return
		}
		n.state = lirsHIR
		p.stack.pushFront(n)
		p.queue.pushFront(n)
	}
}

func (p *lirs) Hit(key string) {
	n, ok := p.nodes[key]
	if !ok {
		return
	}
	switch n.state {
	case lirsLIR:
		p.stack.moveToFront(n)
		p.prune()
	case lirsHIR:
		if p.stack.contains(n) {
			p.queue.remove(n)
			p.makeLIR(n)
			return
		}
		p.stack.pushFront(n)
		p.queue.moveToFront(n)
	}
}

// makeLIR promotes n (in the stack or not, in no queue) to LIR and demotes
// the oldest LIR blocks while the LIR share is over budget.
func (p *lirs) makeLIR(n *node) {
	n.state = lirsLIR
	p.lirBytes += n.size
	if p.stack.contains(n) {
		p.stack.moveToFront(n)
	} else {
		p.stack.pushFront(n)
	}
	for p.lirBytes > p.lirCap() {
		b := p.stack.back()
		if b == n {
			break
		}
		p.stack.remove(b)
		b.state = lirsHIR
		p.lirBytes -= b.size
		p.queue.pushFront(b)
		p.prune()
	}
	p.prune()
}

// prune drops HIR entries from the stack's bottom so that it ends in an LIR
// block; ghosts dropped there are forgotten.
func (p *lirs) prune() {
	for b := p.stack.back(); b != nil && b.state != lirsLIR; b = p.stack.back() {
		p.stack.remove(b)
		if b.state == lirsGhost {
			p.ghosts.remove(b)
			delete(p.nodes, b.key)
		}
	}
}

func (p *lirs) Remove(key string) {
	n, ok := p.nodes[key]
	if !ok {
		return
	}
	if n.in[0] != nil {
		n.in[0].remove(n)
	}
	if n.in[1] != nil {
		n.in[1].remove(n)
	}
	if n.state == lirsLIR {
		p.lirBytes -= n.size
	}
	delete(p.nodes, key)
	p.prune()
}

func (p *lirs) Evict() (string, int64, bool) {
	n := p.queue.back()
	if n == nil {
		// Only LIR blocks are held: give up the oldest.
		n = p.stack.back()
		if n == nil {
			return "", 0, false
		}
		p.stack.remove(n)
		p.lirBytes -= n.size
		delete(p.nodes, n.key)
		p.prune()
		return n.key, n.size, true
	}
	p.queue.remove(n)
	if !p.stack.contains(n) {
		delete(p.nodes, n.key)
		return n.key, n.size, true
	}
	n.state = lirsGhost
	p.ghosts.pushFront(n)
	for p.ghosts.len > 0 && p.ghosts.bytes > p.capacity {
		g := p.ghosts.back()
		p.ghosts.remove(g)
		p.stack.remove(g)
		delete(p.nodes, g.key)
	}
	return n.key, n.size, true
}

func (p *lirs) Contains(key string) bool {
	n, ok := p.nodes[key]
	return ok && n.state != lirsGhost
}

func (p *lirs) SetCapacity(bytes int64) { p.capacity = bytes }
func (p *lirs) Len() int                { return len(p.nodes) - p.ghosts.len }
func (p *lirs) Bytes() int64            { return p.lirBytes + p.queue.bytes }
