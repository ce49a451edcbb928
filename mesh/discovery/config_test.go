package discovery_test

import (
	"errors"
	"testing"
	"time"

	"github.com/meshcache/meshcache/mesh/discovery"
)

func TestConfigValidate(t *testing.T) {
	ok := discovery.Config{Membership: anyone{}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	const member = "/ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooWKdANB5FeuRnm3DnDZoc1TTWpEPpiaukYiCT2XjZEDxdR"
	withBoot := ok
	withBoot.Bootstrap = []string{member}
	if err := withBoot.Validate(); err != nil {
		t.Fatalf("bootstrap %s: %v", member, err)
	}
	for name, mutate := range map[string]func(*discovery.Config){
		"no membership":        func(c *discovery.Config) { c.Membership = nil },
		"public prefix":        func(c *discovery.Config) { c.ProtocolPrefix = "/ipfs" },
		"relative prefix":      func(c *discovery.Config) { c.ProtocolPrefix = "meshcache" },
		"reprovide beyond ttl": func(c *discovery.Config) { c.RecordTTL = time.Minute; c.ReprovideInterval = time.Minute },
		"negative ttl":         func(c *discovery.Config) { c.RecordTTL = -time.Second },
		"bootstrap without id": func(c *discovery.Config) { c.Bootstrap = []string{"/ip4/127.0.0.1/udp/4001/quic-v1"} },
		"bootstrap garbage":    func(c *discovery.Config) { c.Bootstrap = []string{"not a multiaddr"} },
	} {
		c := ok
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, discovery.ErrConfig) {
			t.Errorf("%s: Validate() = %v, want ErrConfig", name, err)
		}
	}
}
