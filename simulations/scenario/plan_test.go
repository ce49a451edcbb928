package scenario

import (
	"testing"
)

func TestScaled(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 10, 100, 1000} {
		c := s.Scaled(n)
		if got := c.Nodes(); got < n-len(s.Regions) || got > n+len(s.Regions) {
			t.Errorf("Scaled(%d) has %d nodes", n, got)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Scaled(%d): %v", n, err)
		}
	}
	if s.Nodes() != 10 {
		t.Fatalf("Scaled changed the original: %d nodes", s.Nodes())
	}
}

func TestStartOffsets(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	a, b := s.StartOffsets(7), s.StartOffsets(7)
	distinct := map[int64]bool{}
	for ri := range a {
		for i := range a[ri] {
			if a[ri][i] != b[ri][i] {
				t.Fatalf("offsets differ for one seed")
			}
			if a[ri][i] < 0 || a[ri][i] >= s.Pins.Spread {
				t.Fatalf("offset %v outside [0, %v)", a[ri][i], s.Pins.Spread)
			}
			distinct[int64(a[ri][i])] = true
		}
	}
	if len(distinct) < 8 {
		t.Fatalf("staggered offsets barely differ: %d distinct of 10", len(distinct))
	}
	s.Pins.Start, s.Pins.Spread = StartTogether, 0
	for _, r := range s.StartOffsets(7) {
		for _, o := range r {
			if o != 0 {
				t.Fatalf("together start has offset %v", o)
			}
		}
	}
}

func TestFailurePlan(t *testing.T) {
	s, err := Parse([]byte(base))
	if err != nil {
		t.Fatal(err)
	}
	plan := s.FailurePlan(3)
	// 20% of 10 crash, plus one stop in ap.
	if len(plan) != 3 {
		t.Fatalf("plan has %d failures, want 3: %+v", len(plan), plan)
	}
	seen := map[NodeRef]bool{}
	for _, f := range plan {
		if seen[f.Node] {
			t.Fatalf("node %v fails twice", f.Node)
		}
		seen[f.Node] = true
	}
	last := plan[2]
	if last.Kind != KindStop || s.Regions[last.Node.Region].Name != "ap" || last.For == 0 {
		t.Fatalf("stop failure %+v not in ap", last)
	}
	again := s.FailurePlan(3)
	for i := range plan {
		if plan[i] != again[i] {
			t.Fatalf("plan differs for one seed")
		}
	}
	if got := s.NodeName(NodeRef{1, 2}); got != "us-2" {
		t.Fatalf("NodeName = %q", got)
	}
}
