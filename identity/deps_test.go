package identity

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoInternalImports keeps identity a leaf (DESIGN §2): no file of the
// package (tests included) imports another package of this module, except
// its own helpers identity/identitytest (tests only).
func TestNoInternalImports(t *testing.T) {
	const module = "github.com/ztunnel-dev/ztunnel"
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	fset := token.NewFileSet()
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if p != module && !strings.HasPrefix(p, module+"/") {
				continue
			}
			if p == module+"/identity/identitytest" && strings.HasSuffix(f, "_test.go") {
				continue
			}
			t.Errorf("%s imports %s: identity must not import packages of this module", f, p)
		}
	}
}
