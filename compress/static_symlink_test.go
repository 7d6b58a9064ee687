package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-caching/caching/compress"
)

// TestFileServerRootRefusesSymlinksOut: FileServer follows the fs.FS it
// is given, as http.FileServerFS does. Given an os.Root's FS (the doc's
// advice for a directory others may write links into), a link that leaves
// the directory is refused, as the original and as a pre-compressed
// sibling, and a path that climbs out with "..", spelled raw or escaped,
// reaches nothing outside.
func TestFileServerRootRefusesSymlinksOut(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	pub := filepath.Join(base, "public")
	for _, d := range []string{outside, pub} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	secret := strings.Repeat("SECRET ", 100)
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(outside, "secret.txt"), secret)
	write(filepath.Join(outside, "secret.txt.gz"), secret) // not gzip: any bytes show the leak
	write(filepath.Join(pub, "app.js"), "console.log(1)")
	write(filepath.Join(pub, "ok.css"), "body{}")
	write(filepath.Join(pub, "ok.css.gz"), "GZ") // a sibling inside the root is served
	if err := os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(pub, "leak.txt")); err != nil {
		t.Skip("no symlinks here:", err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret.txt.gz"), filepath.Join(pub, "app.js.gz")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(pub)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	srv := httptest.NewServer(compress.Must(compress.Options{}).FileServer(root.FS()))
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true}
	for _, p := range []string{"/ok.css", "/leak.txt", "/app.js", "/../outside/secret.txt", "/..%2Foutside%2Fsecret.txt", "/%2e%2e/outside/secret.txt"} {
		req, _ := http.NewRequest("GET", srv.URL+p, nil)
		req.URL.RawPath = "" // as written
		req.URL.Opaque = p
		req.Header.Set("Accept-Encoding", "gzip")
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(body), "SECRET") {
			t.Errorf("GET %s: %d %q: served a file outside the root", p, res.StatusCode, res.Header.Get("Content-Encoding"))
		}
		if p == "/ok.css" && (res.Header.Get("Content-Encoding") != "gzip" || string(body) != "GZ") {
			t.Errorf("GET /ok.css: %q %q, want its sibling", res.Header.Get("Content-Encoding"), body)
		}
		if p == "/app.js" && (res.StatusCode != http.StatusOK || string(body) != "console.log(1)") {
			t.Errorf("GET /app.js: %d %q, want the original", res.StatusCode, body)
		}
	}
}
