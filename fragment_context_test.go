package caching

import (
	"bytes"
	"html/template"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFragmentOtherContexts: a fragment is rendered from its own template in
// HTML text and trusted there alone: placed by a page in an attribute, a
// script or an RCDATA element, the cached template.HTML, hit or miss, is
// escaped for that context by html/template, so that markup a client put
// in it cannot break out of the attribute, the script or the element.
func TestFragmentOtherContexts(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	p := template.New("page")
	p.Funcs(template.FuncMap{"cache": c.FragmentFunc(p, time.Minute)})
	template.Must(p.Parse(`<p>{{cache "f" .}}</p><div title="{{cache "f" .}}"></div>` +
		`<a href="/?q={{cache "f" .}}">x</a><script>var s = {{cache "f" .}};</script><textarea>{{cache "f" .}}</textarea>`))
	template.Must(p.New("f").Parse(`<b onclick="{{.}}">{{.}}</b>`))
	for _, round := range []string{"miss", "hit"} {
		var b bytes.Buffer
		require.NoError(t, p.ExecuteTemplate(&b, "page", `"x</textarea><script>alert(1)</script>`), round)
		out := b.String()
		assert.Contains(t, out, `<p><b onclick=`, "%s: trusted in HTML text", round)
		assert.Equal(t, 1, bytes.Count(b.Bytes(), []byte("<b ")), "%s: markup nowhere else: %s", round, out)
		assert.Equal(t, 1, bytes.Count(b.Bytes(), []byte("</textarea>")), "%s: the element not broken out of: %s", round, out)
		assert.Equal(t, 1, bytes.Count(b.Bytes(), []byte("<script>")), "%s: only the page's script: %s", round, out)
	}
}
