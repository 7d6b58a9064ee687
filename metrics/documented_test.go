package metrics_test

import (
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/metrics"
)

// TestEveryMetricIsDocumented: the package doc's list of metrics lacked
// caching_unavailable_total, which the Collector exports. Every metric
// the Collector describes is named in the package doc and in the README's
// table of metrics.
func TestEveryMetricIsDocumented(t *testing.T) {
	s, err := simple.New(simple.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := caching.Must(&caching.Options{Backend: s})
	defer c.Close()
	ch := make(chan *prometheus.Desc, 100)
	metrics.New(c, metrics.Options{Latency: metrics.NewLatency()}).Describe(ch)
	close(ch)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	var names []string
	for d := range ch {
		m := fqName.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names = append(names, m[1])
	}
	if len(names) == 0 {
		t.Fatal("the Collector describes no metric")
	}

	f, err := parser.ParseFile(token.NewFileSet(), "metrics.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	doc := f.Doc.Text()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		word := regexp.MustCompile(`(^|[^a-z_])` + name + `([^a-z_]|$)`)
		if !word.MatchString(doc) {
			t.Errorf("%s is not in the package doc", name)
		}
		if !word.Match(readme) {
			t.Errorf("%s is not in README.md", name)
		}
	}
}
