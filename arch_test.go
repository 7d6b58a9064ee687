package caching

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportDirection fails when a package of the module imports what the
// README's Architecture section says it must not: imports point one way,
// as that section's paragraph on imports states.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/go-caching/caching"
	// allowed says, for a package (path relative to the module), which of
	// the module's packages it may import (relative paths; a trailing "/"
	// allows a whole tree).
	allowed := func(pkg string) []string {
		switch {
		case pkg == ".":
			return []string{"backend", "backend/simple", "timing", "internal/"}
		case pkg == "backend":
			return nil
		case pkg == "backend/cacheurl": // opens any backend: above them all
			return []string{".", "backend", "backend/", "internal/"}
		case pkg == "metrics": // exports a Cache, its near cache and pools: above them
			return []string{".", "backend", "backend/near", "pool", "internal/"}
		case pkg == "backend/near": // keeps its memory in the in-process store
			return []string{"backend", "backend/simple", "internal/"}
		case strings.HasPrefix(pkg, "backend/"):
			return []string{"backend", "internal/"}
		case pkg == "compress", pkg == "pool":
			return []string{"timing", "internal/"} // to report to Server-Timing
		case pkg == "timing":
			return []string{"internal/"}
		case strings.HasPrefix(pkg, "internal/"):
			return []string{"internal/"}
		}
		return nil
	}
	may := func(pkg, imp string) bool {
		for _, a := range allowed(pkg) {
			if imp == a || strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a) && imp != pkg {
				return true
			}
		}
		return false
	}
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "examples", "benchmarks", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if imp != mod && !strings.HasPrefix(imp, mod+"/") {
				continue
			}
			rel := strings.TrimPrefix(strings.TrimPrefix(imp, mod), "/")
			if rel == "" {
				rel = "."
			}
			checked++
			if !may(pkg, rel) {
				t.Errorf("%s imports %s: against the direction of the README's Architecture section", path, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no import of the module's own packages was checked")
	}
}

// TestArchitectureMapsEveryFile fails when the README's Architecture
// section, the map of the code, misses a file of the root package or a
// package under backend/ or internal/.
func TestArchitectureMapsEveryFile(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, arch, _ := strings.Cut(string(readme), "## Architecture")
	arch, _, _ = strings.Cut(arch, "Imports point one way")
	listed := map[string]bool{}
	for line := range strings.Lines(arch) {
		if f := strings.Fields(line); len(f) > 0 {
			listed[strings.TrimSuffix(f[0], "/")] = true
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") && !listed[f] {
			t.Errorf("%s is not in the README's Architecture map", f)
		}
	}
	for _, parent := range []string{"internal", "backend"} {
		dirs, err := os.ReadDir(parent)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			if d.IsDir() && !listed[parent+"/"+d.Name()] {
				t.Errorf("%s/%s is not in the README's Architecture map", parent, d.Name())
			}
		}
	}
}
