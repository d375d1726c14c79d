package tunnel

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestImports keeps the package boundaries of DESIGN §2: tunnel may import
// identity and policy (and identitytest in tests), nothing else of ours.
func TestImports(t *testing.T) {
	const module = "github.com/ztunnel-dev/ztunnel/"
	allowed := map[string]bool{module + "identity": true, module + "policy": true}
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files: %v", err)
	}
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, module) || allowed[p] ||
				(p == module+"identity/identitytest" && strings.HasSuffix(f, "_test.go")) {
				continue
			}
			t.Errorf("%s imports %s: tunnel may only import identity and policy", f, p)
		}
	}
}
