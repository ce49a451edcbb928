package evict

// lru is plain least-recently-used: the baseline every other policy is
// measured against. A sequential scan larger than the cache defeats it.
type lru struct {
	nodes map[string]*node
	l     *list
}

// NewLRU returns a least-recently-used policy.
func NewLRU() Policy { return &lru{nodes: map[string]*node{}, l: newList(0)} }

func (p *lru) Name() string { return string(LRU) }

func (p *lru) Add(key string, size int64) {
	n := &node{key: key, size: size}
	p.nodes[key] = n
	p.l.pushFront(n)
}

func (p *lru) Hit(key string) {
	if n, ok := p.nodes[key]; ok {
		p.l.moveToFront(n)
	}
}

func (p *lru) Remove(key string) {
	if n, ok := p.nodes[key]; ok {
		p.l.remove(n)
		delete(p.nodes, key)
	}
}

func (p *lru) Evict() (string, int64, bool) {
	n := p.l.back()
	if n == nil {
		return "", 0, false
	}
	p.l.remove(n)
	delete(p.nodes, n.key)
	return n.key, n.size, true
}

func (p *lru) Contains(key string) bool { _, ok := p.nodes[key]; return ok }
func (p *lru) SetCapacity(int64)        {}
func (p *lru) Len() int                 { return p.l.len }
func (p *lru) Bytes() int64             { return p.l.bytes }
