package node

import (
	"context"

	"github.com/ipfs/go-cid"

	"github.com/meshcache/meshcache/blockstore"
	"github.com/meshcache/meshcache/blockstore/disk"
)

// openStore opens the on-disk block store and returns it with its
// background loop (the scrub). onCorrupt hears of each block it drops as
// corrupt.
func openStore(cfg Config, onCorrupt func(cid.Cid)) (blockstore.Store, func(context.Context) error, error) {
	mode, err := disk.ParseVerifyMode(cfg.VerifyReads)
	if err != nil {
		return nil, nil, err
	}
	s, err := disk.New(disk.Config{
		Dir:           storeDir(cfg),
		FS:            cfg.StoreFS,
		Capacity:      cfg.Capacity,
		VerifyReads:   mode,
		ScrubInterval: cfg.ScrubInterval,
		OnCorrupt:     onCorrupt,
		Logger:        cfg.Logger.With("component", "blockstore"),
	})
	if err != nil {
		return nil, nil, err
	}
	return s, s.Run, nil
}
