package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// keyHeader starts every cluster key file; the version lets the format
// change without misreading old files.
const keyHeader = "meshcache-cluster-key v1"

// KeySize is the length of a cluster key.
const KeySize = 32

// KeyIDSize is the length of a key id on the wire.
const KeyIDSize = 16

// KeyID names a key without revealing it: a truncated hash of the key,
// domain-separated from the MACs.
type KeyID [KeyIDSize]byte

func (id KeyID) String() string { return hex.EncodeToString(id[:]) }

// Key is one cluster key.
type Key struct {
	secret [KeySize]byte
	id     KeyID
}

// NewKey wraps raw key bytes.
func NewKey(secret []byte) (Key, error) {
	if len(secret) != KeySize {
		return Key{}, fmt.Errorf("cluster key is %d bytes, want %d", len(secret), KeySize)
	}
	var k Key
	copy(k.secret[:], secret)
	sum := sha256.Sum256(append([]byte("meshcache-cluster-key-id\x00"), secret...))
	copy(k.id[:], sum[:KeyIDSize])
	return k, nil
}

// ID returns the key's public id.
func (k Key) ID() KeyID { return k.id }

// Keys is the set of cluster keys a node accepts, in preference order: the
// first is the one it proposes. Several keys at once allow rotation.
type Keys []Key

func (ks Keys) find(id KeyID) (Key, bool) {
	for _, k := range ks {
		if k.id == id {
			return k, true
		}
	}
	return Key{}, false
}

// GenerateKey writes a new random cluster key in the key file format.
func GenerateKey(w io.Writer) error {
	var secret [KeySize]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return fmt.Errorf("generate cluster key: %w", err)
	}
	_, err := fmt.Fprintf(w, "%s\n%s\n", keyHeader, base64.StdEncoding.EncodeToString(secret[:]))
	if err != nil {
		return fmt.Errorf("write cluster key: %w", err)
	}
	return nil
}

// ParseKey reads one key file's contents.
func ParseKey(data []byte) (Key, error) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	var lines []string
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 2 || lines[0] != keyHeader {
		return Key{}, errors.New("not a meshcache cluster key (want header " + keyHeader + " and one base64 line)")
	}
	secret, err := base64.StdEncoding.DecodeString(lines[1])
	if err != nil {
		return Key{}, fmt.Errorf("cluster key: %w", err)
	}
	return NewKey(secret)
}

// LoadKeys reads key files, the first being the preferred key. Duplicate
// keys are an error: they mean a mistyped rotation.
func LoadKeys(paths ...string) (Keys, error) {
	if len(paths) == 0 {
		return nil, errors.New("no cluster key file given")
	}
	if len(paths) > maxKeys {
		return nil, fmt.Errorf("%d cluster keys, at most %d", len(paths), maxKeys)
	}
	ks := make(Keys, 0, len(paths))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read cluster key: %w", err)
		}
		k, err := ParseKey(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if _, dup := ks.find(k.id); dup {
			return nil, fmt.Errorf("%s: same key given twice", p)
		}
		ks = append(ks, k)
	}
	return ks, nil
}
