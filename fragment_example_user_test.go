package caching

import (
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFragmentFuncInVariesOnUser: the pattern ExampleCache_FragmentFuncIn
// documents for a fragment that shows the signed-in user. The example used
// to cache {{cache "sidebar" .}}, varying on nothing, so bob's admin page
// was served alice's fragment (the example hid it by deleting the key
// before the next user's page). Varying on the user, {{cache "sidebar" .
// .}}, each user gets their own, and a second page of one user is a hit.
func TestFragmentFuncInVariesOnUser(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	renders := 0
	admin := template.New("page")
	admin.Funcs(template.FuncMap{
		"cache":  c.FragmentFuncIn("admin", admin, 5*time.Minute),
		"render": func() int { renders++; return renders },
	})
	template.Must(admin.Parse(`{{cache "sidebar" . .}}` + "\n"))
	template.Must(admin.New("sidebar").Parse(`<nav data-render="{{render}}">admin tools for {{.}}</nav>`))
	execute := func(user string) string {
		var b strings.Builder
		require.NoError(t, admin.Execute(&b, user))
		return b.String()
	}
	assert.Equal(t, "<nav data-render=\"1\">admin tools for alice</nav>\n", execute("alice"))
	assert.Equal(t, "<nav data-render=\"2\">admin tools for bob</nav>\n", execute("bob"), "bob's page shows bob's fragment")
	assert.Equal(t, "<nav data-render=\"1\">admin tools for alice</nav>\n", execute("alice"), "a hit: alice's own")
}
