package policy

import (
	"slices"
	"testing"
)

func TestNewView(t *testing.T) {
	v := NewView(3, []string{"c", "a", "b", "a", ""})
	if got, want := v.Members(), []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("Members = %q, want %q", got, want)
	}
	if v.Epoch() != 3 || v.Len() != 3 {
		t.Fatalf("epoch %d len %d, want 3 3", v.Epoch(), v.Len())
	}
	for i, id := range []string{"a", "b", "c"} {
		if v.Index(id) != i || !v.Contains(id) || v.Member(i) != id {
			t.Errorf("member %q: Index %d Contains %v Member(%d) %q", id, v.Index(id), v.Contains(id), i, v.Member(i))
		}
	}
	if v.Contains("d") || v.Index("") != -1 {
		t.Errorf("non-members found")
	}
	m := v.Members()
	m[0] = "zzz"
	if v.Member(0) != "a" {
		t.Errorf("Members aliases the view")
	}
	in := []string{"b", "a"}
	NewView(0, in)
	if in[0] != "b" {
		t.Errorf("NewView reordered its argument")
	}
}

func TestViewDigest(t *testing.T) {
	tests := []struct {
		name  string
		a, b  []string
		equal bool
	}{
		{"order does not matter", []string{"x", "y", "z"}, []string{"z", "x", "y"}, true},
		{"duplicates do not matter", []string{"x", "y"}, []string{"y", "x", "y"}, true},
		{"different sets", []string{"x", "y"}, []string{"x", "z"}, false},
		{"subset", []string{"x", "y"}, []string{"x"}, false},
		{"boundaries are part of the digest", []string{"ab", "c"}, []string{"a", "bc"}, false},
		{"empty vs empty ID", nil, []string{""}, true},
		{"empty vs one", nil, []string{"a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := NewView(1, tt.a), NewView(1, tt.b)
			if (a.Digest() == b.Digest()) != tt.equal || a.Agrees(b) != tt.equal {
				t.Fatalf("digests %s %s, agree %v, want equal %v", a.Digest(), b.Digest(), a.Agrees(b), tt.equal)
			}
		})
	}
	// The digest is part of the protocol: pin one value, computed independently
	// as sha256(b"\x05peerA\x05peerB")[:16].
	if got, want := NewView(0, []string{"peerA", "peerB"}).Digest().String(), "b7d7fc0b4665ce7f93f5ef56c0d5f6c5"; got != want {
		t.Errorf("digest = %s, want %s (the digest is protocol; changing it needs a version)", got, want)
	}
}

func TestViewApply(t *testing.T) {
	v := NewView(5, []string{"a", "b"})
	tests := []struct {
		name        string
		add, remove []string
		members     []string
		epoch       uint64
	}{
		{"join", []string{"c"}, nil, []string{"a", "b", "c"}, 6},
		{"leave", nil, []string{"a"}, []string{"b"}, 6},
		{"join and leave", []string{"c"}, []string{"a"}, []string{"b", "c"}, 6},
		{"no change", []string{"a"}, []string{"x"}, []string{"a", "b"}, 5},
		{"remove wins", []string{"c"}, []string{"c"}, []string{"a", "b"}, 5},
		{"empty ID ignored", []string{""}, nil, []string{"a", "b"}, 5},
		{"everyone leaves", nil, []string{"a", "b"}, nil, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := v.Apply(tt.add, tt.remove)
			if !slices.Equal(w.Members(), tt.members) && !(len(tt.members) == 0 && w.Len() == 0) {
				t.Fatalf("members %q, want %q", w.Members(), tt.members)
			}
			if w.Epoch() != tt.epoch {
				t.Fatalf("epoch %d, want %d", w.Epoch(), tt.epoch)
			}
			if w.Digest() != NewView(0, tt.members).Digest() {
				t.Fatalf("digest does not match the set")
			}
			if (w.Epoch() == v.Epoch()) != w.Agrees(v) {
				t.Fatalf("Agrees = %v with epochs %d, %d", w.Agrees(v), w.Epoch(), v.Epoch())
			}
		})
	}
	if v.Len() != 2 {
		t.Fatalf("Apply changed its receiver")
	}
}

func TestStampCompare(t *testing.T) {
	a := NewView(2, []string{"a"}).Stamp()
	b := NewView(2, []string{"b"}).Stamp()
	c := NewView(3, []string{"a"}).Stamp()
	if a.Compare(a) != 0 || a.Compare(c) >= 0 || c.Compare(b) <= 0 {
		t.Fatalf("epochs do not order stamps")
	}
	if a.Compare(b) == 0 || a.Compare(b) != -b.Compare(a) {
		t.Fatalf("same epoch, different sets: Compare %d / %d, want opposite non-zero", a.Compare(b), b.Compare(a))
	}
}
