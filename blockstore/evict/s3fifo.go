package evict

// s3fifo is S3-FIFO (Yang et al., SOSP 2023): new blocks enter a small FIFO
// (10% of the cache); those read again while there move to the main FIFO,
// the rest leave and are remembered in a ghost FIFO so that a quick return
// goes straight to main. Main is a FIFO with reinsertion (CLOCK-like, a
// 2-bit frequency). One-hit wonders are filtered out; loops larger than the
// cache still defeat it.
type s3fifo struct {
	nodes              map[string]*node
	small, main, ghost *list
	capacity           int64
}

const (
	s3Small uint8 = iota + 1
	s3Main
	s3Ghost
)

// NewS3FIFO returns an S3-FIFO policy sized for capacity bytes.
func NewS3FIFO(capacity int64) Policy {
	return &s3fifo{nodes: map[string]*node{}, small: newList(0), main: newList(0),
		ghost: newList(0), capacity: capacity}
}

func (p *s3fifo) Name() string { return string(S3FIFO) }

func (p *s3fifo) Add(key string, size int64) {
	if n, ok := p.nodes[key]; ok {
		if n.state != s3Ghost {
			return
		}
		p.ghost.remove(n)
		n.size, n.freq, n.state = size, 0, s3Main
		p.main.pushFront(n)
		return
	}
	n := &node{key: key, size: size, state: s3Small}
	p.nodes[key] = n
	p.small.pushFront(n)
}

func (p *s3fifo) Hit(key string) {
	if n, ok := p.nodes[key]; ok && n.state != s3Ghost && n.freq < 3 {
		n.freq++
	}
}

func (p *s3fifo) Remove(key string) {
	n, ok := p.nodes[key]
	if !ok {
		return
	}
	n.in[0].remove(n)
	delete(p.nodes, key)
}

func (p *s3fifo) Evict() (string, int64, bool) {
	for p.small.len+p.main.len > 0 {
		var victim *node
		if p.main.len == 0 || p.small.bytes > p.capacity/10 {
			victim = p.evictSmall()
		} else {
			victim = p.evictMain()
		}
		if victim != nil {
			return victim.key, victim.size, true
		}
	}
	return "", 0, false
}

// evictSmall moves the oldest small block to main if it was read while in
// small, else evicts it into the ghost queue.
func (p *s3fifo) evictSmall() *node {
	n := p.small.back()
	p.small.remove(n)
	if n.freq > 0 {
		n.freq, n.state = 0, s3Main
		p.main.pushFront(n)
		return nil
	}
	n.state = s3Ghost
	p.ghost.pushFront(n)
	for p.ghost.len > 0 && p.ghost.bytes > p.capacity*9/10 {
		g := p.ghost.back()
		p.ghost.remove(g)
		delete(p.nodes, g.key)
	}
	return n
}

// evictMain gives a read block another round with one less credit, and
// evicts an unread one.
func (p *s3fifo) evictMain() *node {
	n := p.main.back()
	if n.freq > 0 {
		n.freq--
		p.main.moveToFront(n)
		return nil
	}
	p.main.remove(n)
	delete(p.nodes, n.key)
	return n
}

func (p *s3fifo) Contains(key string) bool {
	n, ok := p.nodes[key]
	return ok && n.state != s3Ghost
}

func (p *s3fifo) SetCapacity(bytes int64) { p.capacity = bytes }
func (p *s3fifo) Len() int                { return p.small.len + p.main.len }
func (p *s3fifo) Bytes() int64            { return p.small.bytes + p.main.bytes }
