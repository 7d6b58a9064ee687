package compress

import (
	"path"
	"strings"

	"github.com/go-caching/caching/internal/header"
)

// mimeMatcher matches a response's media type against Options.MimeTypes.
type mimeMatcher struct {
	exact    map[string]bool
	prefixes []string     // "text/" for "text/*"
	suffixes []suffixRule // "application/*+json"
	all      bool         // "*/*"
}

type suffixRule struct{ typ, suffix string } // typ "" means any type; suffix "+json"

func newMimeMatcher(types []string) (mimeMatcher, error) {
	m := mimeMatcher{exact: map[string]bool{}}
	for _, t := range types {
		lt := strings.ToLower(strings.TrimSpace(t))
		typ, sub, ok := strings.Cut(lt, "/")
		if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*" && !strings.HasPrefix(sub, "*+")) {
			return m, optErr("MimeTypes", "%q is not type/subtype, type/*, */* or type/*+suffix", t)
		}
		switch {
		case typ == "*" && sub == "*":
			m.all = true
		case strings.HasPrefix(sub, "*+") && len(sub) > 2:
			if typ == "*" {
				typ = ""
			}
			m.suffixes = append(m.suffixes, suffixRule{typ, sub[1:]})
		case sub == "*":
			m.prefixes = append(m.prefixes, typ+"/")
		case strings.Contains(sub, "*") || strings.Contains(typ, "*"):
			return m, optErr("MimeTypes", "%q has a wildcard in an unsupported place", t)
		default:
			m.exact[lt] = true
		}
	}
	return m, nil
}

// typeOK reports whether a response of the lower-case media type mt may be
// encoded: MimeTypes matches it (and EventStream, for text/event-stream).
func (c *config) typeOK(mt string) bool {
	if mt == "text/event-stream" {
		return c.eventStream
	}
	return c.mime.match(mt)
}

// compressedExt maps the extensions of files that are downloaded whole and
// resumed (archives, packages, installers, disk images, documents, video,
// audio, images, fonts) to their media types: each one's type is either
// compressed by its own format (alreadyCompressed: never encoded, whatever
// MimeTypes says) or one the default MimeTypes leaves out (.iso, .img), so
// that a resumed download of one keeps its range (neverEncodesPath). It is
// fixed here, not read from the host's mime.types (mime.TypeByExtension),
// so that which requests keep their range does not change from host to
// host. TestCompressedExtNeverEncoded keeps it consistent with
// alreadyCompressed.
var compressedExt = map[string]string{
	".zip": "application/zip", ".gz": "application/gzip", ".tgz": "application/gzip",
	".bz2": "application/x-bzip2", ".xz": "application/x-xz", ".zst": "application/zstd",
	".7z": "application/x-7z-compressed", ".rar": "application/vnd.rar",
	".jar": "application/java-archive", ".war": "application/java-archive",
	".apk": "application/vnd.android.package-archive", ".whl": "application/zip",
	".deb": "application/vnd.debian.binary-package", ".rpm": "application/x-rpm",
	".msi": "application/x-msi", ".dmg": "application/x-apple-diskimage",
	".exe": "application/octet-stream", ".bin": "application/octet-stream",
	".iso": "application/x-iso9660-image", ".img": "application/octet-stream",
	".pdf": "application/pdf",
	".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime",
	".webm": "video/webm", ".mkv": "video/x-matroska", ".avi": "video/x-msvideo",
	".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".aac": "audio/aac", ".ogg": "audio/ogg",
	".oga": "audio/ogg", ".opus": "audio/opus", ".flac": "audio/flac",
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif",
	".webp": "image/webp", ".avif": "image/avif", ".heic": "image/heic",
	".woff": "font/woff", ".woff2": "font/woff2",
}

// neverEncodesPath reports whether the extension of the URL path p
// (compared without case) is one of compressedExt whose media type typeOK
// rules out: a response to p of that type is never encoded. Any other
// path may be encoded.
func (c *config) neverEncodesPath(p string) bool {
	mt, ok := compressedExt[strings.ToLower(path.Ext(p))]
	return ok && !c.typeOK(mt)
}

// mediaType returns the lower-case type/subtype of a Content-Type value.
func mediaType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	mt = header.TrimOWS(mt)
	for i := 0; i < len(mt); i++ {
		if 'A' <= mt[i] && mt[i] <= 'Z' {
			return strings.ToLower(mt)
		}
	}
	return mt
}

// match reports whether the lower-case media type mt is to be compressed.
func (m *mimeMatcher) match(mt string) bool {
	if mt == "" || alreadyCompressed(mt) {
		return false
	}
	if m.all || m.exact[mt] {
		return true
	}
	for _, p := range m.prefixes {
		if strings.HasPrefix(mt, p) {
			return true
		}
	}
	for _, s := range m.suffixes {
		typ, sub, _ := strings.Cut(mt, "/")
		if (s.typ == "" || s.typ == typ) && strings.HasSuffix(sub, s.suffix) {
			return true
		}
	}
	return false
}

// alreadyCompressed reports media types whose content is compressed by its
// own format, so that a wildcard in MimeTypes never wastes CPU on them.
func alreadyCompressed(mt string) bool {
	switch {
	case strings.HasPrefix(mt, "image/"):
		switch mt {
		case "image/svg+xml", "image/x-icon", "image/vnd.microsoft.icon", "image/bmp":
			return false
		}
		return true
	case strings.HasPrefix(mt, "video/"), strings.HasPrefix(mt, "audio/"):
		return true
	}
	switch mt {
	case "application/zip", "application/gzip", "application/x-gzip", "application/zstd",
		"application/x-bzip2", "application/x-xz", "application/x-7z-compressed",
		"application/x-rar-compressed", "application/vnd.rar", "application/x-brotli",
		"application/java-archive", "application/vnd.android.package-archive",
		"application/vnd.debian.binary-package", "application/x-rpm", "application/x-msi",
		"application/x-apple-diskimage",
		"font/woff", "font/woff2", "application/font-woff",
		"application/pdf", "application/octet-stream":
		return true
	}
	return false
}
