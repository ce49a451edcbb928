package policy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestPure keeps the package what its doc comment promises: it imports
// nothing that does I/O or keeps global state, starts no goroutines, reads
// no clock and has a package doc comment.
func TestPure(t *testing.T) {
	allowed := map[string]bool{
		"bytes": true, "cmp": true, "crypto/sha256": true, "encoding/binary": true,
		"encoding/hex": true, "fmt": true, "math": true, "slices": true, "time": true,
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	docs := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package policy ") {
			docs++
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed[p] {
				t.Errorf("%s imports %s, outside the pure allowlist", name, p)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.GoStmt:
				t.Errorf("%s: goroutine started at %s", name, fset.Position(n.Pos()))
			case *ast.SelectorExpr:
				if x, ok := n.X.(*ast.Ident); ok && x.Name == "time" && (n.Sel.Name == "Now" || n.Sel.Name == "Since" || n.Sel.Name == "Until" || n.Sel.Name == "Sleep") {
					t.Errorf("%s: reads the clock at %s", name, fset.Position(n.Pos()))
				}
			}
			return true
		})
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
				t.Errorf("%s: package-level var at %s", name, fset.Position(g.Pos()))
			}
		}
	}
	if docs != 1 {
		t.Errorf("%d files carry the package doc comment, want 1", docs)
	}
}
