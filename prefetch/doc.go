// Package prefetch makes datasets local: pin jobs that walk a dataset and
// fetch every missing block through a chain of block sources (local store,
// then peers, then the origin), with bounded concurrency and memory, progress
// by source, and resume after a restart; and read-through with read-ahead for
// datasets that are read without being pinned.
package prefetch
