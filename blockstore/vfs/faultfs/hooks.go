package faultfs

import (
	"sync/atomic"

	"github.com/meshcache/meshcache/blockstore/vfs"
)

// Fail returns a hook that fails every op whose path satisfies match (nil
// matches every path) with err.
func Fail(op vfs.Op, match func(path string) bool, err error) Hook {
	return func(o vfs.Op, path string) error {
		if o == op && (match == nil || match(path)) {
			return err
		}
		return nil
	}
}

// Once passes h's first failure through and lets everything after it pass.
func Once(h Hook) Hook {
	var fired atomic.Bool
	return func(op vfs.Op, path string) error {
		if fired.Load() {
			return nil
		}
		if err := h(op, path); err != nil && fired.CompareAndSwap(false, true) {
			return err
		}
		return nil
	}
}

// AfterN lets the first n operations through untouched, then defers to h.
func AfterN(n int64, h Hook) Hook {
	var seen atomic.Int64
	return func(op vfs.Op, path string) error {
		if seen.Add(1) <= n {
			return nil
		}
		return h(op, path)
	}
}

// Any runs hooks in order and returns the first failure.
func Any(hooks ...Hook) Hook {
	return func(op vfs.Op, path string) error {
		for _, h := range hooks {
			if err := h(op, path); err != nil {
				return err
			}
		}
		return nil
	}
}
