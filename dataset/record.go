package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	blocks "github.com/ipfs/go-block-format"
	"github.com/ipfs/go-cid"
	mh "github.com/multiformats/go-multihash"

	"github.com/meshcache/meshcache/origin"
)

// MaxRecordSize bounds an encoded record (about 130 bytes per file: 2
// million files). Larger records are refused when read from a CAR file or a
// peer, so a hostile length cannot make a node allocate without limit.
const MaxRecordSize = 256 << 20

// recordVersion is the version of the record's encoding.
const recordVersion = 1

var recordPrefix = cid.Prefix{Version: 1, Codec: cid.DagJSON, MhType: mh.SHA2_256, MhLength: -1}

// recordWire is the record as one dag-json block. Keys are declared in
// sorted order and encoding/json keeps declaration order, so the encoding is
// canonical dag-json (sorted keys, no whitespace) without a generic IPLD
// node tree, which would cost hundreds of bytes per file.
type recordWire struct {
	Files   []fileWire `json:"files"`
	Origin  string     `json:"origin"`
	Profile string     `json:"profile"`
	Root    linkWire   `json:"root"`
	Size    int64      `json:"size"`
	Version int        `json:"version"`
}

type fileWire struct {
	ETag      string    `json:"etag,omitempty"`
	ModTime   time.Time `json:"mtime"`
	Path      string    `json:"path"`
	Size      int64     `json:"size"`
	VersionID string    `json:"version_id,omitempty"`
}

// linkWire is a dag-json link: {"/": "<cid>"}.
type linkWire struct {
	CID string `json:"/"`
}

// EncodeRecord encodes rec as a dag-json block (codec 0x0129, CIDv1,
// sha2-256): the form a record takes in a CAR file and between peers.
func EncodeRecord(rec *Record) (blocks.Block, error) {
	if err := validateRecord(rec); err != nil {
		return nil, err
	}
	w := recordWire{
		Files:   make([]fileWire, len(rec.Files)),
		Origin:  rec.Origin,
		Profile: rec.Profile,
		Root:    linkWire{CID: rec.Root.String()},
		Size:    rec.Size,
		Version: recordVersion,
	}
	for i, f := range rec.Files {
		w.Files[i] = fileWire{ETag: f.ETag, ModTime: f.ModTime.UTC(), Path: f.Path, Size: f.Size, VersionID: f.VersionID}
	}
	data, err := marshalCanonical(w)
	if err != nil {
		return nil, fmt.Errorf("encode record of %s: %w", rec.Root, err)
	}
	c, err := recordPrefix.Sum(data)
	if err != nil {
		return nil, fmt.Errorf("encode record of %s: %w", rec.Root, err)
	}
	return blocks.NewBlockWithCid(data, c)
}

// DecodeRecord decodes and validates a record encoded by EncodeRecord. It
// refuses anything that is not the canonical encoding of a valid record.
// The caller checks that rec.Root is the dataset it expects.
func DecodeRecord(data []byte) (*Record, error) {
	if len(data) > MaxRecordSize {
		return nil, fmt.Errorf("record of %d bytes exceeds %d", len(data), MaxRecordSize)
	}
	var w recordWire
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if w.Version != recordVersion {
		return nil, fmt.Errorf("decode record: version %d, want %d", w.Version, recordVersion)
	}
	root, err := cid.Decode(w.Root.CID)
	if err != nil {
		return nil, fmt.Errorf("decode record: root: %w", err)
	}
	rec := &Record{Root: root, Origin: w.Origin, Profile: w.Profile, Size: w.Size, Files: make([]origin.FileInfo, len(w.Files))}
	for i, f := range w.Files {
		rec.Files[i] = origin.FileInfo{Path: f.Path, Size: f.Size, ModTime: f.ModTime, ETag: f.ETag, VersionID: f.VersionID}
	}
	// Only the one encoding of a record is accepted (sorted keys, no
	// spaces, base32 root, UTC times), so a record has one CID.
	canon, err := EncodeRecord(rec)
	if err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if !bytes.Equal(canon.RawData(), data) {
		return nil, errors.New("decode record: not in canonical form")
	}
	return rec, nil
}

func marshalCanonical(w recordWire) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(w); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// validateRecord checks what the index and the origin reads rely on: a root,
// the profile, files sorted by path without duplicates, valid paths, no path
// that is both a file and a directory, and a size that adds up.
func validateRecord(rec *Record) error {
	if rec == nil {
		return errors.New("no record")
	}
	if !rec.Root.Defined() {
		return errors.New("record has no root CID")
	}
	if rec.Profile != Profile {
		return fmt.Errorf("record of %s has profile %q, want %q", rec.Root, rec.Profile, Profile)
	}
	total, err := checkFiles(rec.Files)
	if err != nil {
		return fmt.Errorf("record of %s: %w", rec.Root, err)
	}
	if total != rec.Size {
		return fmt.Errorf("record of %s: size %d, files add up to %d", rec.Root, rec.Size, total)
	}
	return nil
}

// checkFiles validates a file list as Publish and the index need it and
// returns the total size.
func checkFiles(files []origin.FileInfo) (int64, error) {
	if len(files) == 0 {
		return 0, errors.New("no files")
	}
	if len(files) == 1 && files[0].Path == "" {
		return checkSize(files[0])
	}
	dirs := make(map[string]struct{})
	var total int64
	for i, f := range files {
		if f.Path == "" {
			return 0, errors.New("empty path beside other files")
		}
		if err := checkPath(f.Path); err != nil {
			return 0, err
		}
		if i > 0 && files[i-1].Path >= f.Path {
			return 0, fmt.Errorf("files not sorted by path or duplicated: %q before %q", files[i-1].Path, f.Path)
		}
		n, err := checkSize(f)
		if err != nil {
			return 0, err
		}
		if total > math.MaxInt64-n {
			return 0, errors.New("files add up to more than 2^63 bytes")
		}
		total += n
		for d := parentDir(f.Path); d != ""; d = parentDir(d) {
			if _, seen := dirs[d]; seen {
				break
			}
			dirs[d] = struct{}{}
		}
	}
	for _, f := range files {
		if _, clash := dirs[f.Path]; clash {
			return 0, fmt.Errorf("%q is both a file and a directory", f.Path)
		}
	}
	return total, nil
}

func checkSize(f origin.FileInfo) (int64, error) {
	if f.Size < 0 {
		return 0, fmt.Errorf("file %q has negative size %d", f.Path, f.Size)
	}
	return f.Size, nil
}
