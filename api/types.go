package api

import "time"

// EntryType is the kind of a dataset entry.
type EntryType string

const (
	TypeFile EntryType = "file"
	TypeDir  EntryType = "dir"
)

// Dir is a directory listing, the JSON answer for a directory path.
type Dir struct {
	CID CID `json:"cid"`
	// Path is the directory's path in the dataset, "" for the root (the
	// handler sets it from the request).
	Path    string     `json:"path"`
	Entries []DirEntry `json:"entries"`
}

// DirEntry is one entry of a Dir.
type DirEntry struct {
	Name string    `json:"name"`
	Type EntryType `json:"type"`
	// Size is the file's size in bytes; for a directory, the total size of
	// the files under it when known, else 0.
	Size int64 `json:"size"`
	CID  CID   `json:"cid,omitzero"`
}

// FileInfo is what Client.Stat learns of a path.
type FileInfo struct {
	CID  CID       `json:"cid"`
	Path string    `json:"path"`
	Type EntryType `json:"type"`
	// Size is the file's size; 0 for a directory.
	Size int64 `json:"size"`
}

// PinRequest is the body of POST /v1/pins.
type PinRequest struct {
	CID CID `json:"cid"`
	// Origin is where to read blocks no peer holds, when no dataset record
	// for CID is known yet (e.g. "s3://bucket/prefix"). Optional.
	Origin string `json:"origin,omitempty"`
}

// PinState is where a pin is in its life.
type PinState string

const (
	PinQueued  PinState = "queued"
	PinPinning PinState = "pinning"
	PinPinned  PinState = "pinned"
	PinFailed  PinState = "failed"
)

// SourceBytes counts bytes by where they came from.
type SourceBytes struct {
	Local  int64 `json:"local"`
	Peer   int64 `json:"peer"`
	Origin int64 `json:"origin"`
}

// PinStatus is a pin and its progress.
type PinStatus struct {
	CID    CID      `json:"cid"`
	Origin string   `json:"origin,omitempty"`
	State  PinState `json:"state"`
	// Error says why the pin failed (State failed).
	Error string `json:"error,omitempty"`
	// Totals are 0 until the dataset's structure is known.
	BytesDone   int64       `json:"bytes_done"`
	BytesTotal  int64       `json:"bytes_total"`
	BlocksDone  int64       `json:"blocks_done"`
	BlocksTotal int64       `json:"blocks_total"`
	BySource    SourceBytes `json:"bytes_by_source"`
	// CrossRegionBytes are bytes fetched from peers in other regions.
	CrossRegionBytes int64 `json:"cross_region_bytes"`
	// Rate is the recent transfer rate in bytes per second.
	Rate float64 `json:"rate_bytes_per_sec"`
	// ETASeconds is the estimated time to completion, 0 when unknown or done.
	ETASeconds float64   `json:"eta_seconds"`
	Started    time.Time `json:"started,omitzero"`
	Updated    time.Time `json:"updated,omitzero"`
}

// Done reports whether the pin has reached a final state.
func (s PinStatus) Done() bool { return s.State == PinPinned || s.State == PinFailed }

// PublishRequest is the body of POST /v1/datasets.
type PublishRequest struct {
	// Origin is the folder to publish: file:///…, https://…, s3://bucket/prefix.
	Origin string `json:"origin"`
	// NoStore publishes without keeping the data blocks in the local store
	// (metadata is kept); reads then go to peers or the origin.
	NoStore bool `json:"no_store,omitempty"`
	// Files restricts the dataset to these paths (relative to the origin's
	// prefix, slash-separated); empty means every file.
	Files []string `json:"files,omitempty"`
}

// PublishState is where a publish job is in its life.
type PublishState string

const (
	PublishQueued  PublishState = "queued"
	PublishRunning PublishState = "running"
	PublishDone    PublishState = "done"
	PublishFailed  PublishState = "failed"
)

// PublishStatus is a publish job and its progress.
type PublishStatus struct {
	ID         string       `json:"id"`
	Origin     string       `json:"origin"`
	State      PublishState `json:"state"`
	Error      string       `json:"error,omitempty"`
	FilesDone  int64        `json:"files_done"`
	FilesTotal int64        `json:"files_total"`
	BytesDone  int64        `json:"bytes_done"`
	BytesTotal int64        `json:"bytes_total"`
	// Root is the dataset's CID, set when State is done.
	Root    CID       `json:"root,omitzero"`
	Started time.Time `json:"started,omitzero"`
	Updated time.Time `json:"updated,omitzero"`
}

// Done reports whether the job has reached a final state.
func (s PublishStatus) Done() bool { return s.State == PublishDone || s.State == PublishFailed }

// GCResult says what a garbage collection removed.
type GCResult struct {
	BlocksRemoved int64 `json:"blocks_removed"`
	BytesRemoved  int64 `json:"bytes_removed"`
}

// Stats is GET /v1/stats.
type Stats struct {
	Version string     `json:"version,omitempty"`
	Started time.Time  `json:"started,omitzero"`
	Store   StoreStats `json:"store"`
	Pins    PinCounts  `json:"pins"`
	// BytesBySource counts bytes that entered the store since start.
	BytesBySource    SourceBytes   `json:"bytes_by_source"`
	CrossRegionBytes int64         `json:"cross_region_bytes"`
	Origins          []OriginStats `json:"origins"`
	// Peers is nil until the mesh runs.
	Peers *PeerStats `json:"peers,omitempty"`
	// API is filled by the handler.
	API APIStats `json:"api"`
}

// StoreStats are the block store's usage and counters since start.
type StoreStats struct {
	Blocks        int64 `json:"blocks"`
	Bytes         int64 `json:"bytes"`
	Capacity      int64 `json:"capacity"` // 0: unlimited
	PinnedBytes   int64 `json:"pinned_bytes"`
	Corrupt       int64 `json:"corrupt"`
	Evicted       int64 `json:"evicted"`
	EvictedBytes  int64 `json:"evicted_bytes"`
	VerifiedReads int64 `json:"verified_reads"`
}

// PinCounts counts pins by state.
type PinCounts struct {
	Total   int `json:"total"`
	Pinned  int `json:"pinned"`
	Pinning int `json:"pinning"` // queued or pinning
	Failed  int `json:"failed"`
}

// OriginStats are the reads from one origin since start.
type OriginStats struct {
	Origin    string `json:"origin"`
	BytesRead int64  `json:"bytes_read"`
	Requests  int64  `json:"requests"`
	Errors    int64  `json:"errors"`
}

// PeerStats summarise the mesh.
type PeerStats struct {
	Connected     int   `json:"connected"`
	BytesSent     int64 `json:"bytes_sent"`
	BytesReceived int64 `json:"bytes_received"`
	// BadBlocks counts blocks peers sent that did not match their CID
	// (rejected, fetched elsewhere).
	BadBlocks int64 `json:"bad_blocks"`
}

// APIStats are the API's own counters since start.
type APIStats struct {
	Requests     int64 `json:"requests"`
	ServerErrors int64 `json:"server_errors"` // 5xx answers
	BytesServed  int64 `json:"bytes_served"`  // file and block bytes
}

// Identity is GET /v1/id.
type Identity struct {
	PeerID  string   `json:"peer_id"`
	Addrs   []string `json:"addrs"`
	Region  string   `json:"region,omitempty"`
	Zone    string   `json:"zone,omitempty"`
	Rack    string   `json:"rack,omitempty"`
	Version string   `json:"version,omitempty"`
}

// PeerInfo is one peer in GET /v1/peers.
type PeerInfo struct {
	PeerID string   `json:"peer_id"`
	Addrs  []string `json:"addrs"`
	Region string   `json:"region,omitempty"`
	Zone   string   `json:"zone,omitempty"`
	Rack   string   `json:"rack,omitempty"`
	// Transport is the connection's transport: "quic-v1" or "tcp".
	Transport     string    `json:"transport,omitempty"`
	RTTMillis     float64   `json:"rtt_ms"`
	Authenticated bool      `json:"authenticated"`
	BytesSent     int64     `json:"bytes_sent"`
	BytesReceived int64     `json:"bytes_received"`
	Connected     time.Time `json:"connected,omitzero"`
}

// Response envelopes of the list routes (objects, so fields can be added).
type (
	pinsResponse struct {
		Pins []PinStatus `json:"pins"`
	}
	peersResponse struct {
		Peers []PeerInfo `json:"peers"`
	}
)
