package wan

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// pipeDevice is a packet device in memory: tests push packets in and see
// what the router writes back, with the time it did.
type pipeDevice struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	out    []written
}

type written struct {
	at   time.Time
	data []byte
}

func newPipeDevice() *pipeDevice {
	return &pipeDevice{in: make(chan []byte, 1024), closed: make(chan struct{})}
}

func (d *pipeDevice) Read(b []byte) (int, error) {
	select {
	case p := <-d.in:
		return copy(b, p), nil
	case <-d.closed:
		return 0, io.EOF
	}
}

func (d *pipeDevice) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.out = append(d.out, written{time.Now(), append([]byte(nil), b...)})
	return len(b), nil
}

func (d *pipeDevice) Close() error { d.once.Do(func() { close(d.closed) }); return nil }

func (d *pipeDevice) written() []written {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]written(nil), d.out...)
}

// ipv4 is a minimal IPv4 packet of n bytes from src to dst.
func ipv4(src, dst string, n int) []byte {
	p := make([]byte, n)
	p[0] = 0x45
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(p[12:16], s[:])
	copy(p[16:20], d[:])
	return p
}

var testSites = []Site{
	{Name: "origin", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.255.1/32")}},
	{Name: "eu", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}},
	{Name: "us", Prefixes: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}},
}

func startRouter(t *testing.T, cfg Config) (*Router, *pipeDevice) {
	t.Helper()
	dev := newPipeDevice()
	cfg.Device = dev
	cfg.Sites = testSites
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return r, dev
}

func waitWritten(t *testing.T, d *pipeDevice, n int) []written {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if w := d.written(); len(w) >= n {
			return w
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("router wrote %d packets, want %d", len(d.written()), n)
	return nil
}

// TestDelayPerLink: each directed link adds its own delay, and the counters
// land on the pair the addresses name (the origin's /32 wins over eu's /16).
func TestDelayPerLink(t *testing.T) {
	r, dev := startRouter(t, Config{
		Links: map[Pair]Link{
			{1, 2}: {Delay: 60 * time.Millisecond},
			{0, 2}: {Delay: 20 * time.Millisecond},
		},
		Default: Link{Delay: 5 * time.Millisecond},
	})
	cases := []struct {
		name     string
		pkt      []byte
		min, max time.Duration
		src, dst string
	}{
		{"eu→us", ipv4("10.1.0.2", "10.2.0.2", 100), 60 * time.Millisecond, 200 * time.Millisecond, "eu", "us"},
		{"origin→us", ipv4("10.1.255.1", "10.2.0.3", 200), 20 * time.Millisecond, 150 * time.Millisecond, "origin", "us"},
		{"us→eu default", ipv4("10.2.0.2", "10.1.0.2", 300), 5 * time.Millisecond, 100 * time.Millisecond, "us", "eu"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sent := time.Now()
			dev.in <- tc.pkt
			w := waitWritten(t, dev, i+1)[i]
			if got := w.at.Sub(sent); got < tc.min || got > tc.max {
				t.Errorf("delay %v, want in [%v, %v]", got, tc.min, tc.max)
			}
			if len(w.data) != len(tc.pkt) {
				t.Errorf("wrote %d bytes, want %d", len(w.data), len(tc.pkt))
			}
			found := false
			for _, l := range r.Stats().Links {
				if l.Src == tc.src && l.Dst == tc.dst {
					found = l.Bytes == int64(len(tc.pkt)) && l.Packets == 1
				}
			}
			if !found {
				t.Errorf("stats %+v lack %s→%s with %d bytes", r.Stats().Links, tc.src, tc.dst, len(tc.pkt))
			}
		})
	}
	dev.in <- ipv4("192.168.0.1", "10.1.0.2", 60)
	deadline := time.Now().Add(2 * time.Second)
	for r.Stats().Unrouted != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if r.Stats().Unrouted != 1 {
		t.Errorf("unrouted %d, want 1", r.Stats().Unrouted)
	}
}

// TestRateAndBacklog: a burst leaves at the link's rate, in order, and what
// would wait longer than MaxBacklog is dropped and counted.
func TestRateAndBacklog(t *testing.T) {
	const size, rate = 1000, 100_000 // 10 ms per packet
	r, dev := startRouter(t, Config{
		Default:    Link{Rate: rate},
		MaxBacklog: 95 * time.Millisecond,
	})
	start := time.Now()
	for i := range 30 {
		p := ipv4("10.1.0.2", "10.2.0.2", size)
		p[20] = byte(i)
		dev.in <- p
	}
	// About 10 fit in the backlog (plus the one being sent); the rest drop.
	time.Sleep(300 * time.Millisecond)
	w := dev.written()
	st := r.Stats().Links
	if len(st) != 1 || st[0].Packets != int64(len(w)) || st[0].Packets+st[0].Dropped != 30 {
		t.Fatalf("stats %+v, %d written: want forwarded+dropped = 30", st, len(w))
	}
	if len(w) < 9 || len(w) > 12 {
		t.Fatalf("forwarded %d of a burst of 30 with a 95ms backlog at 10ms each, want about 10", len(w))
	}
	for i, p := range w {
		if int(p.data[20]) != i {
			t.Fatalf("packet %d left as #%d: reordered", p.data[20], i)
		}
	}
	if got, want := w[len(w)-1].at.Sub(start), time.Duration(len(w))*10*time.Millisecond; got < want-5*time.Millisecond {
		t.Errorf("%d packets left after %v, faster than the rate allows (%v)", len(w), got, want)
	}
}

func TestNewRejects(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
	}{
		{"no device", Config{Sites: testSites}},
		{"no sites", Config{Device: newPipeDevice()}},
		{"negative delay", Config{Device: newPipeDevice(), Sites: testSites, Default: Link{Delay: -1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.cfg); !errors.Is(err, ErrConfig) {
				t.Fatalf("New: %v, want ErrConfig", err)
			}
		})
	}
}
