package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// TestRunSmall runs every case, the alternative client's included, on a
// few MiB and checks the report names each case and ratio: every byte
// moved by the exchange cases is verified against its CID on the way.
func TestRunSmall(t *testing.T) {
	cfg, err := parseFlags([]string{"-mib", "8", "-runs", "1", "-alt-batch", "4", "-alt-inflight", "1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	report := out.String()
	for _, name := range caseNames() {
		if !strings.Contains(report, "| "+name+" |") {
			t.Errorf("report has no row for %s:\n%s", name, report)
		}
	}
	for _, r := range ratios {
		if !strings.Contains(report, "| "+r[0]+" / "+r[1]+" |") {
			t.Errorf("report has no ratio %s / %s", r[0], r[1])
		}
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{nil, true},
		{[]string{"-only", "quic,mesh-quic"}, true},
		{[]string{"-only", "nope"}, false},
		{[]string{"-only", "mesh-quic-alt"}, false},
		{[]string{"-only", "mesh-quic-alt", "-alt-inflight", "1"}, true},
		{[]string{"-mib", "3", "-block-kib", "2048"}, false},
		{[]string{"-block-kib", "4096"}, false},
		{[]string{"-runs", "0"}, false},
	} {
		_, err := parseFlags(tc.args)
		if (err == nil) != tc.ok {
			t.Errorf("parseFlags(%q): %v, want ok=%v", tc.args, err, tc.ok)
		}
	}
}
