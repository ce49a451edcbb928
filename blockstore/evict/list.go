package evict

// node is one key in a policy. Two sets of links let one node sit in two
// lists at once (LIRS keeps a block both in its recency stack and its queue).
type node struct {
	key   string
	size  int64
	links [2]struct{ prev, next *node }
	in    [2]*list // the list this node is in, per link set; nil if none
	state uint8    // policy-specific
	freq  uint8    // policy-specific
}

// list is an intrusive doubly linked list over one of a node's link sets.
// Front is the most recently inserted end, Back the oldest.
type list struct {
	root  node // sentinel
	idx   int
	len   int
	bytes int64
}

func newList(idx int) *list {
	l := &list{idx: idx}
	l.root.links[idx].prev = &l.root
	l.root.links[idx].next = &l.root
	return l
}

func (l *list) pushFront(n *node) { l.insertAfter(n, &l.root) }

func (l *list) insertAfter(n, at *node) {
	i := l.idx
	next := at.links[i].next
	n.links[i].prev = at
	n.links[i].next = next
	at.links[i].next = n
	next.links[i].prev = n
	n.in[i] = l
	l.len++
	l.bytes += n.size
}

func (l *list) remove(n *node) {
	i := l.idx
	n.links[i].prev.links[i].next = n.links[i].next
	n.links[i].next.links[i].prev = n.links[i].prev
	n.links[i].prev, n.links[i].next = nil, nil
	n.in[i] = nil
	l.len--
	l.bytes -= n.size
}

// moveToFront makes n the newest; n must be in l.
func (l *list) moveToFront(n *node) {
	l.remove(n)
	l.pushFront(n)
}

// back returns the oldest node, or nil.
func (l *list) back() *node {
	if l.len == 0 {
		return nil
	}
	return l.root.links[l.idx].prev
}

// contains reports whether n is in l.
func (l *list) contains(n *node) bool { return n.in[l.idx] == l }
