package scenario

import (
	"fmt"
	"math"
)

// Validate checks the scenario and names the first field at fault.
func (s *Scenario) Validate() error {
	for _, check := range []func() error{s.validateDataset, s.validateRegions, s.validateLinks, s.validateOrigin, s.validatePins, s.validateFailures, s.validateSweep} {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scenario) validateDataset() error {
	d := s.Dataset
	switch {
	case d.Size <= 0:
		return errField("dataset.size", "must be positive")
	case d.BlockSize <= 0:
		return errField("dataset.block_size", "must be positive")
	case d.BlockSize > d.Size:
		return errField("dataset.block_size", "%d bytes is larger than the dataset (%d bytes)", d.BlockSize, d.Size)
	case d.PieceBlocks <= 0:
		return errField("dataset.piece_blocks", "must be positive")
	case d.Files <= 0:
		return errField("dataset.files", "must be positive")
	case int64(d.Files) > d.Blocks():
		return errField("dataset.files", "%d files but only %d blocks", d.Files, d.Blocks())
	}
	return nil
}

func (s *Scenario) validateRegions() error {
	if len(s.Regions) == 0 {
		return errField("regions", "at least one region is needed")
	}
	if s.DefaultNIC <= 0 {
		return errField("default_nic", "must be positive")
	}
	seen := map[string]bool{}
	for i, r := range s.Regions {
		field := fmt.Sprintf("regions[%d]", i)
		switch {
		case r.Name == "":
			return errField(field+".name", "missing")
		case seen[r.Name]:
			return errField(field+".name", "%q appears twice", r.Name)
		case r.Nodes < 1:
			return errField(field+".nodes", "must be at least 1, got %d", r.Nodes)
		}
		seen[r.Name] = true
		for j, n := range r.NIC {
			f := fmt.Sprintf("%s.nic[%d]", field, j)
			if !(n.Share > 0) || math.IsInf(n.Share, 0) {
				return errField(f+".share", "must be positive, got %v", n.Share)
			}
			if n.Bandwidth <= 0 {
				return errField(f+".bandwidth", "must be positive")
			}
		}
	}
	return nil
}

func (s *Scenario) validateLinks() error {
	seen := map[[2]string]bool{}
	for i, l := range s.Links {
		field := fmt.Sprintf("links[%d]", i)
		switch {
		case s.RegionIndex(l.A) < 0:
			return errField(field+".a", "unknown region %q", l.A)
		case s.RegionIndex(l.B) < 0:
			return errField(field+".b", "unknown region %q", l.B)
		case l.A == l.B:
			return errField(field, "links a region to itself (use intra_region)")
		}
		key := [2]string{min(l.A, l.B), max(l.A, l.B)}
		if seen[key] {
			return errField(field, "%s-%s is given twice", l.A, l.B)
		}
		seen[key] = true
	}
	return nil
}

func (s *Scenario) validateOrigin() error {
	switch {
	case s.Origin.Region == "":
		return errField("origin.region", "missing")
	case s.RegionIndex(s.Origin.Region) < 0:
		return errField("origin.region", "unknown region %q", s.Origin.Region)
	case s.Origin.Bandwidth <= 0:
		return errField("origin.bandwidth", "must be positive")
	case s.ProgressTimeout <= 0:
		return errField("progress_timeout", "must be positive")
	}
	return nil
}

func (s *Scenario) validatePins() error {
	switch s.Pins.Start {
	case StartTogether:
		if s.Pins.Spread != 0 {
			return errField("pins.spread", "only for start \"staggered\"")
		}
	case StartStaggered:
		if s.Pins.Spread <= 0 {
			return errField("pins.spread", "staggered starts need a positive spread")
		}
	default:
		return errField("pins.start", "%q: want \"together\" or \"staggered\"", s.Pins.Start)
	}
	return nil
}

func (s *Scenario) validateFailures() error {
	for i, f := range s.Failures {
		field := fmt.Sprintf("failures[%d]", i)
		pool := s.Nodes()
		if f.Region != "" {
			ri := s.RegionIndex(f.Region)
			if ri < 0 {
				return errField(field+".region", "unknown region %q", f.Region)
			}
			pool = s.Regions[ri].Nodes
		}
		switch {
		case f.Fraction != 0 && f.Count != 0:
			return errField(field, "give fraction or count, not both")
		case f.Fraction == 0 && f.Count == 0:
			return errField(field, "give fraction or count")
		case f.Fraction < 0 || f.Fraction > 1 || math.IsNaN(f.Fraction):
			return errField(field+".fraction", "must be in (0, 1], got %v", f.Fraction)
		case f.Count < 0:
			return errField(field+".count", "must be positive, got %d", f.Count)
		case f.Count > pool:
			return errField(field+".count", "%d failures among %d nodes", f.Count, pool)
		case f.Kind != KindCrash && f.Kind != KindStop:
			return errField(field+".kind", "%q: want \"crash\" or \"stop\"", f.Kind)
		case f.For != 0 && f.Kind != KindStop:
			return errField(field+".for", "only a stop comes back (kind \"stop\")")
		}
	}
	return nil
}

func (s *Scenario) validateSweep() error {
	for i, n := range s.Sweep {
		if n < len(s.Regions) {
			return errField(fmt.Sprintf("sweep[%d]", i), "%d nodes cannot fill %d regions", n, len(s.Regions))
		}
		if i > 0 && n <= s.Sweep[i-1] {
			return errField(fmt.Sprintf("sweep[%d]", i), "node counts must increase")
		}
	}
	return nil
}
