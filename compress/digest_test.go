package compress_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
)

// TestDigestsOfTheHandlersBytesAreDropped: a handler that sent a digest of
// its body (Content-Digest or Repr-Digest, RFC 9530; Content-MD5, RFC
// 3230's Digest) had it
// passed on with the compressed body, which it does not describe: a client
// that checks digests rejected every compressed response. They are dropped
// when the body is encoded, and kept when it is not.
func TestDigestsOfTheHandlersBytesAreDropped(t *testing.T) {
	sum := sha256.Sum256(big)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Digest", digest)
		w.Header().Set("Repr-Digest", digest)
		w.Header().Set("Content-MD5", "bm90IGEgcmVhbCBtZDU=")
		w.Header().Set("Digest", "SHA-256=bm90IGEgcmVhbCBkaWdlc3Q=")
		_, _ = w.Write(big)
	}
	c := compress.Must(compress.Options{})
	w := serve(t, c, h, get("gzip"))
	assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
	assert.Empty(t, w.Header().Values("Content-Digest"))
	assert.Empty(t, w.Header().Values("Repr-Digest"))
	assert.Empty(t, w.Header().Values("Content-MD5"))
	assert.Empty(t, w.Header().Values("Digest"), "RFC 3230's instance digest, of the handler's coding")

	w = serve(t, c, h, get("identity"))
	assert.Empty(t, w.Header().Get("Content-Encoding"))
	assert.Equal(t, digest, w.Header().Get("Content-Digest"), "not encoded: the digest is right")
	assert.Equal(t, digest, w.Header().Get("Repr-Digest"))
}
