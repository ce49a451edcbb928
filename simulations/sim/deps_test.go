package sim

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The simulator must measure the daemon's decisions, so it may not decide
// ownership or rank anything itself. These tests parse its sources and
// fail if someone adds a hash, a weight or a ranking of their own.

const policyPath = "github.com/meshcache/meshcache/mesh/policy"

type goFile struct {
	path string
	file *ast.File
}

func parseTree(t *testing.T, root string) []goFile {
	t.Helper()
	var out []goFile
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out = append(out, goFile{path, f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no Go files under %s", root)
	}
	return out
}

// TestUsesPolicy: the simulator asks mesh/policy for pieces, views,
// owners, takeover order and cross-region sources.
func TestUsesPolicy(t *testing.T) {
	calls := map[string]bool{}
	imports := false
	for _, f := range parseTree(t, ".") {
		if strings.HasSuffix(f.path, "_test.go") {
			continue
		}
		for _, imp := range f.file.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == policyPath {
				imports = true
			}
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				if sel, ok := c.Fun.(*ast.SelectorExpr); ok {
					calls[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	if !imports {
		t.Fatalf("simulations/sim does not import %s", policyPath)
	}
	for _, want := range []string{"NewPieces", "NewView", "NewTable", "Rank", "TakeoverIndex", "Decide", "RankHolders"} {
		if !calls[want] {
			t.Errorf("simulations/sim never calls policy's %s", want)
		}
	}
}

// forbiddenImports compute hashes or mix bits: what an own ranking needs.
var forbiddenImports = []string{"hash", "hash/fnv", "hash/maphash", "hash/crc32", "hash/crc64", "hash/adler32",
	"crypto/sha256", "crypto/sha1", "crypto/sha512", "crypto/md5", "math/bits"}

// rankingName matches function names that suggest an own ranking;
// hashName also catches hashing, which only the simulator itself is
// barred from (the emulation harness may checksum files).
var (
	rankingName = regexp.MustCompile(`(?i)(weight|rendezvous|hrw|splitmix|mix64)`)
	hashName    = regexp.MustCompile(`(?i)(hash|fnv|score)`)
)

// violations lists what in f looks like an own ranking. strict (the
// simulator's own packages) also bans hash imports, any Weight call and
// 64-bit constants; the rest of simulations/ is checked for ranking
// declarations and policy.Weight calls only.
func violations(path string, f *ast.File, strict bool) []string {
	var out []string
	if strict {
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, bad := range forbiddenImports {
				if p == bad {
					out = append(out, path+" imports "+p+": the simulator must not hash; ask mesh/policy")
				}
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.FuncDecl:
			if rankingName.MatchString(n.Name.Name) || strict && hashName.MatchString(n.Name.Name) {
				out = append(out, path+" declares "+n.Name.Name+": rankings and weights belong to mesh/policy")
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && x.Name == "policy" && n.Sel.Name == "Weight" {
				out = append(out, path+" calls policy.Weight: ask a policy.Table for owners")
			} else if strict && n.Sel.Name == "Weight" {
				out = append(out, path+" uses a Weight method: ask the Table for owners, not weights")
			}
		case *ast.BasicLit:
			if strict && n.Kind == token.INT {
				if v, err := strconv.ParseUint(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil && v > math.MaxUint32 {
					out = append(out, path+" holds the constant "+n.Value+": looks like a hash; ask mesh/policy")
				}
			}
		}
		return true
	})
	return out
}

// TestNoOwnRanking: no source of the simulator (sim and scenario)
// imports a hash, declares a hashing or weighting function, holds a
// 64-bit mixing constant, or calls policy.Weight (the simulator asks a
// Table for owners, never for weights); nothing under simulations/
// declares a ranking or calls policy.Weight.
func TestNoOwnRanking(t *testing.T) {
	for _, f := range append(parseTree(t, "."), parseTree(t, "../scenario")...) {
		for _, v := range violations(f.path, f.file, true) {
			t.Error(v)
		}
	}
	for _, f := range parseTree(t, "..") {
		for _, v := range violations(f.path, f.file, false) {
			t.Error(v)
		}
	}
}

// TestDetectorsWork: the checks catch a hand-rolled rendezvous hash.
func TestDetectorsWork(t *testing.T) {
	src := `package x
import "hash/fnv"
import "github.com/meshcache/meshcache/mesh/policy"
func ownerWeight(piece int64, member string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(member))
	return h.Sum64() ^ uint64(piece)*0x9e3779b97f4a7c15 ^ policy.Weight("ds", piece, member)
}`
	f, err := parser.ParseFile(token.NewFileSet(), "x.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := violations("x.go", f, true); len(got) != 4 {
		t.Fatalf("strict check found %d problems in a hand-rolled hash, want 4 (import, name, policy.Weight, constant): %q", len(got), got)
	}
	if got := violations("x.go", f, false); len(got) != 2 { // ownerWeight matches rankingName
		t.Fatalf("loose check found %d problems, want 2 (name, policy.Weight): %q", len(got), got)
	}
}
