package enroll

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImports keeps enroll below the agent (DESIGN §2): it may import only
// identity and identity/ca of this module (and identitytest in tests), so
// that the agent wires it and not the other way round.
func TestImports(t *testing.T) {
	const module = "github.com/ztunnel-dev/ztunnel"
	allowed := map[string]bool{module + "/identity": true, module + "/identity/ca": true}
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
			if !strings.HasPrefix(p, module+"/") || allowed[p] {
				continue
			}
			if p == module+"/identity/identitytest" && strings.HasSuffix(f, "_test.go") {
				continue
			}
			t.Errorf("%s imports %s: enroll may import only identity and identity/ca", f, p)
		}
	}
}
