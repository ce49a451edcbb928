package scenario

import (
	"bytes"
	"encoding/json"

	"fmt"
	"os"
	"time"
)

// quantity is a size, rate or duration as written in the file: a string
// with a unit, or a bare JSON number.
type quantity string

func (q *quantity) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*q = quantity(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string with a unit or a number, got %s", b)
	}
	*q = quantity(n.String())
	return nil
}

// The file's shape: the typed Scenario with quantities as strings.
type (
	fileScenario struct {
		Name            string        `json:"name"`
		Description     string        `json:"description"`
		Dataset         fileDataset   `json:"dataset"`
		Regions         []fileRegion  `json:"regions"`
		IntraRegion     fileLink      `json:"intra_region"`
		InterRegion     fileLink      `json:"inter_region"`
		Links           []filePair    `json:"links"`
		Origin          fileOrigin    `json:"origin"`
		DefaultNIC      quantity      `json:"default_nic"`
		Pins            filePins      `json:"pins"`
		Failures        []fileFailure `json:"failures"`
		CrossRegion     bool          `json:"cross_region"`
		Sweep           []int         `json:"sweep"`
		ProgressTimeout quantity      `json:"progress_timeout"`
	}
	fileDataset struct {
		Size        quantity `json:"size"`
		BlockSize   quantity `json:"block_size"`
		PieceBlocks int      `json:"piece_blocks"`
		Files       int      `json:"files"`
	}
	fileRegion struct {
		Name  string    `json:"name"`
		Nodes int       `json:"nodes"`
		NIC   []fileNIC `json:"nic"`
	}
	fileNIC struct {
		Share     float64  `json:"share"`
		Bandwidth quantity `json:"bandwidth"`
	}
	fileLink struct {
		Latency   quantity `json:"latency"`
		Bandwidth quantity `json:"bandwidth"`
	}
	filePair struct {
		A         string   `json:"a"`
		B         string   `json:"b"`
		Latency   quantity `json:"latency"`
		Bandwidth quantity `json:"bandwidth"`
	}
	fileOrigin struct {
		Region    string   `json:"region"`
		Bandwidth quantity `json:"bandwidth"`
		Latency   quantity `json:"latency"`
	}
	filePins struct {
		Start  string   `json:"start"`
		Spread quantity `json:"spread"`
	}
	fileFailure struct {
		Fraction float64  `json:"fraction"`
		Count    int      `json:"count"`
		At       quantity `json:"at"`
		Kind     string   `json:"kind"`
		For      quantity `json:"for"`
		Region   string   `json:"region"`
	}
)

// Load reads, parses and validates the scenario file at path.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	s, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, nil
}

// Parse parses and validates a scenario; fields left out get their
// defaults (block size 1 MiB, piece_blocks 64, files 1, default_nic
// 1 Gbit/s, pins together, failure kind crash, progress_timeout 5s).
func Parse(data []byte) (*Scenario, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileScenario
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	c := converter{}
	s := &Scenario{
		Name:        f.Name,
		Description: f.Description,
		Dataset: Dataset{
			Size:        c.size("dataset.size", f.Dataset.Size, 0),
			BlockSize:   c.size("dataset.block_size", f.Dataset.BlockSize, DefaultBlockSize),
			PieceBlocks: f.Dataset.PieceBlocks,
			Files:       f.Dataset.Files,
		},
		IntraRegion:     c.link("intra_region", f.IntraRegion.Latency, f.IntraRegion.Bandwidth),
		InterRegion:     c.link("inter_region", f.InterRegion.Latency, f.InterRegion.Bandwidth),
		Origin:          Origin{Region: f.Origin.Region, Bandwidth: c.rate("origin.bandwidth", f.Origin.Bandwidth, 0), Latency: c.duration("origin.latency", f.Origin.Latency, 0)},
		DefaultNIC:      c.rate("default_nic", f.DefaultNIC, DefaultNICRate),
		Pins:            Pins{Start: f.Pins.Start, Spread: c.duration("pins.spread", f.Pins.Spread, 0)},
		CrossRegion:     f.CrossRegion,
		Sweep:           f.Sweep,
		ProgressTimeout: c.duration("progress_timeout", f.ProgressTimeout, DefaultProgressTimeout),
	}
	if s.Dataset.PieceBlocks == 0 {
		s.Dataset.PieceBlocks = 64
	}
	if s.Dataset.Files == 0 {
		s.Dataset.Files = 1
	}
	if s.Pins.Start == "" {
		s.Pins.Start = StartTogether
	}
	for i, r := range f.Regions {
		reg := Region{Name: r.Name, Nodes: r.Nodes}
		for j, n := range r.NIC {
			reg.NIC = append(reg.NIC, NICShare{Share: n.Share, Bandwidth: c.rate(fmt.Sprintf("regions[%d].nic[%d].bandwidth", i, j), n.Bandwidth, 0)})
		}
		s.Regions = append(s.Regions, reg)
	}
	for i, l := range f.Links {
		s.Links = append(s.Links, PairLink{A: l.A, B: l.B, Link: c.link(fmt.Sprintf("links[%d]", i), l.Latency, l.Bandwidth)})
	}
	for i, fl := range f.Failures {
		kind := fl.Kind
		if kind == "" {
			kind = KindCrash
		}
		s.Failures = append(s.Failures, Failure{
			Fraction: fl.Fraction, Count: fl.Count, Kind: kind, Region: fl.Region,
			At:  c.duration(fmt.Sprintf("failures[%d].at", i), fl.At, 0),
			For: c.duration(fmt.Sprintf("failures[%d].for", i), fl.For, 0),
		})
	}
	if c.err != nil {
		return nil, c.err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// converter parses quantities and keeps the first error, so Parse reads
// as a list of fields.
type converter struct{ err error }

func (c *converter) fail(field string, q quantity, err error) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s: %q: %w", ErrInvalid, field, string(q), err)
	}
}

func (c *converter) size(field string, q quantity, def int64) int64 {
	if q == "" {
		return def
	}
	v, err := ParseSize(string(q))
	if err != nil {
		c.fail(field, q, err)
	}
	return v
}

func (c *converter) rate(field string, q quantity, def Rate) Rate {
	if q == "" {
		return def
	}
	v, err := ParseRate(string(q))
	if err != nil {
		c.fail(field, q, err)
	}
	return v
}

func (c *converter) duration(field string, q quantity, def time.Duration) time.Duration {
	if q == "" {
		return def
	}
	v, err := ParseDuration(string(q))
	if err != nil {
		c.fail(field, q, err)
	}
	return v
}

func (c *converter) link(field string, lat, bw quantity) Link {
	return Link{Latency: c.duration(field+".latency", lat, 0), Bandwidth: c.rate(field+".bandwidth", bw, 0)}
}

// errField is a validation error naming the field at fault.
func errField(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrInvalid, field, fmt.Sprintf(format, args...))
}
