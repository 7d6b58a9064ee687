package compress

import (
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpx"
)

// siblingExt is the file extension of each pre-compressed variant.
var siblingExt = map[string]string{Zstd: ".zst", Brotli: ".br", Gzip: ".gz"}

// staleAfter is how much older than its original a sibling must be to be
// stale. Not zero: cp -r or scp -r without -p may write a.js.gz a moment
// before a.js, and FAT keeps modification times to 2 seconds.
const staleAfter = 2 * time.Second

// FileServer returns a handler that serves fsys like http.FileServerFS and,
// for a file "a.js", serves a pre-compressed sibling "a.js.zst", "a.js.br"
// or "a.js.gz" instead when the request accepts that encoding. The choice
// follows the Compressor's Accept-Encoding negotiation and Algorithms order,
// among the siblings that exist and are not older than the original by
// more than 2 seconds (staleAfter; a sibling not rebuilt when the original
// changed is stale and ignored: the original is served, compressed on the
// fly if a Handler wraps this one).
// The variant is served by http.ServeContent, so Range, If-Modified-Since
// and the other conditional headers apply to the variant's own bytes and
// modification time; Content-Type is that of the original file (by
// extension, else sniffed from the original), and "Vary: Accept-Encoding" is
// set whenever such a sibling exists. No ETag tells the variants apart,
// and they often share a modification time: when a sibling is selected, a
// Range with a date (or weak-tag) If-Range is ignored and the whole sibling
// sent, as the client may hold the decoded content; when the original is
// (the client accepts none of the siblings' encodings), its range is sent.
// Requests that Options.Skip passes through, directories, missing files and
// methods other than GET and HEAD go to http.FileServerFS. The handler is
// safe for concurrent use; it does not cache directory contents, so it sees
// files that change.
//
// FileServer reads what fsys opens, as http.FileServerFS does: os.DirFS
// follows a symbolic link out of its directory, for the original and for a
// sibling alike (a link a.js.gz to /etc/passwd is sent to anyone who
// accepts gzip). Where others may write links into the directory (an
// upload folder, a checkout), give it an os.Root's FS, which refuses them:
//
//	root, err := os.OpenRoot("public")
//	...
//	static := c.FileServer(root.FS())
func (c *Compressor) FileServer(fsys fs.FS) http.Handler {
	return &fileServer{c: c, fsys: fsys, fallback: http.FileServerFS(fsys)}
}

type fileServer struct {
	c        *Compressor
	fsys     fs.FS
	fallback http.Handler
}

func (s *fileServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.c.cfg.skip != nil && s.c.cfg.skip(r) {
		s.fallback.ServeHTTP(w, r) // untouched, as Handler passes it
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.fallback.ServeHTTP(w, r)
		return
	}
	upath := r.URL.Path
	if !strings.HasPrefix(upath, "/") {
		upath = "/" + upath
	}
	if strings.HasSuffix(upath, "/index.html") {
		s.fallback.ServeHTTP(w, r) // http.FileServer redirects these to "./"
		return
	}
	name := strings.TrimPrefix(path.Clean(upath), "/")
	if name == "" || strings.HasSuffix(upath, "/") {
		name = path.Join(name, "index.html") // as http.FileServer serves directories
		if !strings.HasSuffix(upath, "/") {
			s.fallback.ServeHTTP(w, r) // redirect to the slash form
			return
		}
	}
	orig, err := fs.Stat(s.fsys, name)
	if err != nil || orig.IsDir() {
		s.fallback.ServeHTTP(w, r)
		return
	}
	// Collect the siblings that exist and are not stale (not rebuilt when
	// the original changed), in preference order, and negotiate among them.
	var siblings prefList
	var infos []fs.FileInfo
	for _, cd := range s.c.cfg.prefs.codecs {
		ext, ok := siblingExt[cd.name]
		if !ok {
			continue
		}
		fi, err := fs.Stat(s.fsys, name+ext)
		if err != nil || fi.IsDir() || orig.ModTime().Sub(fi.ModTime()) > staleAfter {
			continue
		}
		siblings.add(cd)
		infos = append(infos, fi)
	}
	h := w.Header()
	if len(infos) > 0 {
		addVary(h, nil)
	}
	a := header.ParseAcceptEncoding(r.Header["Accept-Encoding"])
	i := a.Choose(siblings.codings)
	if i < 0 {
		s.fallback.ServeHTTP(w, r) // the original: its range as asked
		return
	}
	if rangeUnclear(r.Header, false) {
		// Variants often share a modification time (one build step,
		// an image layer), and no ETag tells them apart: the date
		// would match the decoded content the client may hold.
		r = withoutRange(r)
	}
	best, bestInfo := siblings.codecs[i], infos[i]
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		if ctype, err = s.sniff(name); err != nil {
			s.fallback.ServeHTTP(w, r)
			return
		}
	}
	f, err := s.fsys.Open(name + siblingExt[best.name])
	if err != nil {
		s.fallback.ServeHTTP(w, r)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		s.fallback.ServeHTTP(w, r) // the fs.FS cannot seek: no Range support, serve the original
		return
	}
	// The size as ServeContent measures it, by seeking: the open file's,
	// not what Stat saw before. Measured before the headers are set: the
	// fallback serves the original, which is not encoded.
	size, err := rs.Seek(0, io.SeekEnd)
	if err == nil {
		_, err = rs.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.fallback.ServeHTTP(w, r)
		return
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Encoding", best.name)
	lw := &lengthWriter{size: size}
	http.ServeContent(lw.Reset(w, lw), r, name, bestInfo.ModTime(), rs)
}

// lengthWriter gives a 200 the Content-Length of the whole file, size.
// http.ServeContent leaves it out whenever the response has a
// Content-Encoding (it cannot know whether the body is the file's bytes),
// and a precompressed sibling has one: without it, the file would go out
// chunked, with no size for a download's progress, and a HEAD with none at
// all. A range (206) keeps ServeContent's own, and a 304 or 412 has none.
type lengthWriter struct {
	httpx.Writer
	size int64
}

func (w *lengthWriter) WriteHeader(code int) {
	if h := w.Header(); code == http.StatusOK && len(h["Content-Length"]) == 0 {
		h["Content-Length"] = []string{strconv.FormatInt(w.size, 10)}
	}
	w.Writer.WriteHeader(code)
}

// sniff returns the Content-Type of the original file from its first bytes.
func (s *fileServer) sniff(name string) (string, error) {
	f, err := s.fsys.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var buf [512]byte
	n, err := io.ReadFull(f, buf[:])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	return http.DetectContentType(buf[:n]), nil
}
