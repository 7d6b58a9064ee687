//go:build ignore

// racetests lists the tests of a module that check something only without
// the race detector: .ci/norace.sh runs just these once without -race, after
// .ci/run's `go test -race ./...` has run everything else.
//
// A test is listed when it uses, directly or through the helpers, methods
// and function values it calls (at any depth), a name declared in a file
// whose build constraint mentions "race" (race_test.go's raceEnabled,
// race_internal_test.go's raceOn, backend/simple's modelSeeds, ...), or when
// it is declared in such a file. Tests, examples and fuzz targets (whose
// seed inputs run as tests) count. Names are matched across the whole
// module and without regard to package or receiver: a name that collides
// lists a test too many, never one too few.
//
// It fails (exit status 1) when a function calls t.Skip, t.Skipf or
// t.SkipNow with a message that mentions the race detector but is not
// found by the rule above (a new way of telling the race build apart would
// otherwise drop its tests from the run without -race), and when it finds
// no test at all.
//
// It reads the module's packages and those of the modules in its folders
// (examples/, metrics/, benchmarks/). Output: one line per package
// directory, "./DIR ^(TestA|TestB)$", sorted, for `go test -run` from the
// root of the directory's module.
//
//	go run .ci/racetests.go        # from the root module's folder
package main

import (
	"fmt"
	"go/ast"
	"go/build/constraint"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// decl is one top-level function, method or variable: the names its body
// or initializer uses.
type decl struct {
	dir, name string
	test      bool // a Test, Example or Fuzz function
	marked    bool // uses a marked name, or is declared in a race-constrained file
	uses      map[string]bool
	pos       token.Position
	skipsRace bool // calls t.Skip* with a message about the race detector
}

var raceMessage = regexp.MustCompile(`(?i)race detector|-race\b|under race`)

func main() {
	fset := token.NewFileSet()
	markers := map[string]bool{} // names declared in race-constrained files
	var decls []*decl
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir := filepath.Dir(path)
		raceFile, withoutRace := mentionsRace(f)
		testFile := strings.HasSuffix(path, "_test.go")
		for _, dcl := range f.Decls {
			switch dcl := dcl.(type) {
			case *ast.FuncDecl:
				if raceFile {
					markers[dcl.Name.Name] = true
				}
				dc := &decl{dir: dir, name: dcl.Name.Name, marked: raceFile, uses: map[string]bool{}, pos: fset.Position(dcl.Pos())}
				// A test of a file built only with -race ran in that run.
				dc.test = testFile && withoutRace && dcl.Recv == nil && isTestName(dcl.Name.Name)
				if dcl.Body != nil {
					collect(dcl.Body, dc)
				}
				decls = append(decls, dc)
			case *ast.GenDecl:
				for _, spec := range dcl.Specs {
					switch spec := spec.(type) {
					case *ast.ValueSpec:
						for i, n := range spec.Names {
							if raceFile {
								markers[n.Name] = true
							}
							dc := &decl{dir: dir, name: n.Name, marked: raceFile, uses: map[string]bool{}, pos: fset.Position(n.Pos())}
							if i < len(spec.Values) {
								collect(spec.Values[i], dc)
							}
							decls = append(decls, dc)
						}
					case *ast.TypeSpec:
						if raceFile {
							markers[spec.Name.Name] = true
						}
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "racetests:", err)
		os.Exit(2)
	}

	// Spread the mark to every declaration that uses a marked name, and
	// from it to its name, until nothing changes.
	marked := markers
	for changed := true; changed; {
		changed = false
		for _, d := range decls {
			if d.marked {
				continue
			}
			for u := range d.uses {
				if marked[u] {
					d.marked = true
					marked[d.name] = true
					changed = true
					break
				}
			}
		}
	}

	tests := map[string]map[string]bool{} // dir -> test names
	failed := false
	for _, d := range decls {
		if d.skipsRace && !d.marked {
			fmt.Fprintf(os.Stderr, "racetests: %s: %s skips with a message about the race detector, but uses no name of a race-constrained file (race_test.go's raceEnabled, race_internal_test.go's raceOn): use one, so that .ci/norace.sh runs it without -race\n", d.pos, d.name)
			failed = true
		}
		if d.test && d.marked {
			if tests[d.dir] == nil {
				tests[d.dir] = map[string]bool{}
			}
			tests[d.dir][d.name] = true
		}
	}
	if len(tests) == 0 {
		fmt.Fprintln(os.Stderr, "racetests: found no test that uses a name of a race-constrained file")
		failed = true
	}
	if failed {
		os.Exit(1)
	}
	dirs := make([]string, 0, len(tests))
	for dir := range tests {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		names := make([]string, 0, len(tests[dir]))
		for n := range tests[dir] {
			names = append(names, n)
		}
		sort.Strings(names)
		pkg := "./" + filepath.ToSlash(dir)
		if dir == "." {
			pkg = "."
		}
		fmt.Printf("%s ^(%s)$\n", pkg, strings.Join(names, "|"))
	}
}

// mentionsRace reports whether f's build constraint names the race tag,
// and whether f is built without the race detector (its other tags taken as
// set).
func mentionsRace(f *ast.File) (race, withoutRace bool) {
	withoutRace = true
	for _, cg := range f.Comments {
		if cg.Pos() >= f.Package {
			break
		}
		for _, c := range cg.List {
			if !constraint.IsGoBuild(c.Text) && !constraint.IsPlusBuild(c.Text) {
				continue
			}
			expr, err := constraint.Parse(c.Text)
			if err != nil {
				continue
			}
			withoutRace = expr.Eval(func(tag string) bool {
				if tag == "race" {
					race = true
					return false
				}
				return true
			})
			return race, withoutRace
		}
	}
	return false, true
}

// isTestName reports whether name is one go test runs as a test: TestX,
// ExampleX or FuzzX (X not starting with a lower-case letter), TestMain
// excepted.
func isTestName(name string) bool {
	if name == "TestMain" {
		return false
	}
	for _, prefix := range []string{"Test", "Example", "Fuzz"} {
		if rest, ok := strings.CutPrefix(name, prefix); ok {
			return rest == "" || !('a' <= rest[0] && rest[0] <= 'z')
		}
	}
	return false
}

// collect adds to d the names n uses (identifiers, and the selected names
// of selector expressions: methods, fields, other packages' names), and
// notes a Skip call about the race detector.
func collect(n ast.Node, d *decl) {
	ast.Inspect(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			d.uses[n.Name] = true
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok || !strings.HasPrefix(sel.Sel.Name, "Skip") {
				break
			}
			for _, arg := range n.Args {
				if lit, ok := arg.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil && raceMessage.MatchString(s) {
						d.skipsRace = true
					}
				}
			}
		}
		return true
	})
}
