package caching

import "testing"

// TestPatternHasHost reads the host of ServeMux patterns, with and
// without a method, as ServeMux parses them ("[METHOD ][HOST]/[PATH]").
func TestPatternHasHost(t *testing.T) {
	for pattern, want := range map[string]bool{
		"/":                  false,
		"/page":              false,
		"GET /page":          false,
		"GET \t /page/{id}":  false,
		"a.example/page":     true,
		"GET a.example/page": true,
		"POST\ta.example/":   true,
		"a.example:8080/":    true,
		"HEAD /file":         false,
	} {
		if got := patternHasHost(pattern); got != want {
			t.Errorf("patternHasHost(%q) = %v, want %v", pattern, got, want)
		}
	}
}
