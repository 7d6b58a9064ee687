package caching

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestHostKeyOfStrippedHashPathUnchanged: a host key is host + '#' + path,
// so it has a '#' of its own: a path of 43 base64url bytes without a
// leading '/' (what http.StripPrefix("/assets/", ...) leaves of a
// content-addressed /assets/<sha256 in base64url>) gave a short host key
// the shape of a shortened one, and efe028c hashed it: its version key
// changed (one miss per such path after the upgrade, and a write from an
// old process in a rolling deploy did not reach new processes' entries).
// No long key shortens to it (its host is shorter than a shortened key's
// head), so it is kept; a host as long as a head is still hashed.
func TestHostKeyOfStrippedHashPathUnchanged(t *testing.T) {
	c := Must(&Options{KeyPrefix: "x:", HostScopedWrites: true})
	defer c.Close()
	sum := sha256.Sum256([]byte("app.js"))
	path := base64.RawURLEncoding.EncodeToString(sum[:]) // 43 bytes, as StripPrefix leaves it
	assert.Equal(t, "x:h/a.example#"+path, c.hostPathTagKey("a.example", path), "a short host key (no %23 in the URL) changed")

	// A host as long as a shortened key's head could spell the shortened
	// form of a long key that begins with it: hashed.
	long := strings.Repeat("h", hashedHead)
	assert.NotEqual(t, "x:h/"+long+"#"+path, c.hostPathTagKey(long, path))
	// A path with a '#' (a %23 in the URL) of that shape: hashed, as before.
	assert.NotEqual(t, "x:h/a.example#/x#"+path, c.hostPathTagKey("a.example", "/x#"+path))
}
