package main

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode"
)

// credentials tells which parts of a request carry a credential beside
// Authorization and Cookie: fields named so (credentialField), those
// -identity-fields names, and the query parameters -token-params names. A
// read (GET, HEAD) with one is a token read (see tokenReads).
type credentials struct {
	fields  []string // -identity-fields: lower-case, '-' for '_'
	params  []string // -token-params: as normParam writes them
	markKey []byte   // tokenMarkOf's key (see tokenMarkKey); nil: processMarkKey
}

// processMarkKey is tokenMarkOf's key where no variant key secret is
// given: random, this process's alone.
var processMarkKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24)
	return k
}()

// defaultTokenParams are the query parameters -token-params names by
// default: the OAuth 2 bearer token's access_token (RFC 6750 section 2.3),
// id_token and refresh_token, and the client_secret of clients that send
// their credentials in the query; OAuth 1.0a's oauth_token (RFC 5849
// section 3.5.3); the API keys of Google's and most REST APIs (key,
// api_key, apikey, x_api_key), GitLab's private_token, Laravel's
// api_token; the generic token, auth, auth_token, jwt and password; and
// the session ids of sites that keep a session in the URL when the client
// takes no cookie: PHP's PHPSESSID (session.use_trans_sid), the Java
// servlets' JSESSIONID (as a query parameter, or as Tomcat and Jetty
// write it, the path parameter ;jsessionid=: see tokenParam), phpBB's and
// many others' sid, sessionid and session_id.
// A client that signs in by the URL sends one on every read: without it
// counted, a signed-in user's /api/me?api_key=... was stored by its
// max-age (or -default-ttl) like any page, outliving the key's
// revocation, and a signed-in user's /account;jsessionid=... was served
// to whoever had the URL after the session ended. Not sig, signature or X-Amz-Signature: a signed URL (S3,
// CloudFront, Azure SAS) grants that one URL to whoever holds it, the
// same response for every holder, which a cache may keep by its
// cache-control like any other. A parameter named so by chance (a
// search's ?key=) only makes its reads token reads: the origin's own
// public or s-maxage still shares the response (see README for what it
// costs a site).
var defaultTokenParams = []string{
	"access_token", "id_token", "refresh_token", "client_secret", "oauth_token",
	"key", "api_key", "apikey", "x_api_key", "private_token", "api_token",
	"token", "auth", "auth_token", "jwt", "password",
	"phpsessid", "jsessionid", "sid", "sessionid", "session_id",
}

// normParam returns a query parameter's name as credentials.params holds
// it, decoded: lower-case, with '_' for '-' (api-key is api_key), and the
// name an origin may read it as: PHP drops leading spaces (a '+': +api_key
// is api_key), and reads the other '.' and ' ' as '_' (api.key is api_key),
// and an unclosed '[' too (api[key); PHP and Rack read a name with a
// bracketed suffix as the name before it, whose value is a list (api_key[]
// and api_key[0] are api_key).
func normParam(name string) string {
	name = strings.TrimLeft(name, " ")
	if i := strings.IndexByte(name, '['); i >= 0 {
		if strings.IndexByte(name[i:], ']') > 0 {
			name = name[:i]
		} else {
			name = name[:i] + "_" + name[i+1:]
		}
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', ' ':
			return '_'
		}
		return unicode.ToLower(r)
	}, name)
}

// normField returns a field's name as credentials.fields holds it:
// lower-case, with '-' for '_' (a CGI-style origin reads X_User as X-User).
func normField(name string) string { return strings.ReplaceAll(strings.ToLower(name), "_", "-") }

// field reports whether the request field name carries a credential:
// credentialField's, or one of -identity-fields.
func (cr credentials) field(name string) bool {
	return credentialField(name) || slices.Contains(cr.fields, normField(name))
}

// tokenFieldName reports whether a request field of this name is a token
// field (see tokenField).
func (cr credentials) tokenFieldName(name string) bool {
	return name != "Authorization" && name != "Cookie" && name != "Proxy-Authorization" && cr.field(name)
}

// tokenField reports whether h has a field that carries a credential (see
// field) but Authorization itself; Cookie, whose reads bypass the cache
// unless -share-cookie-requests says the origin marks its personal pages;
// and Proxy-Authorization, which is this proxy's and never reaches the
// origin.
func (cr credentials) tokenField(h http.Header) bool {
	for name := range h {
		if cr.tokenFieldName(name) {
			return true
		}
	}
	return false
}

// tokenParam reports whether the query of u has a parameter -token-params
// names, with a value or not, its name decoded ("api%5Fkey" is api_key)
// and compared as normParam writes it (api.key and api_key[] are api_key),
// a ';' ending a parameter as a '&' does (?page=2;sid=...: Perl's CGI.pm
// writes its links so, and it, Rack 2 and Python's parse_qs before 3.9.2
// read a query so; a ';' in a value only costs that URL its hits),
// or whether a segment of its path has a path parameter so named
// (/account;jsessionid=..., as Java servlet containers write a session id
// for a client that takes no cookie; the path decoded, so that a %3B
// counts as a ';' too: one too many only costs a hit).
func (cr credentials) tokenParam(u *url.URL) bool {
	if u == nil || len(cr.params) == 0 {
		return false
	}
	for pair := range strings.FieldsFuncSeq(u.RawQuery, querySeparator) {
		name, _, _ := strings.Cut(pair, "=")
		if decoded, err := url.QueryUnescape(name); err == nil {
			name = decoded
		}
		if name != "" && slices.Contains(cr.params, normParam(name)) {
			return true
		}
	}
	for segment := range strings.SplitSeq(u.Path, "/") {
		_, params, _ := strings.Cut(segment, ";")
		for param := range strings.SplitSeq(params, ";") {
			name, _, _ := strings.Cut(param, "=")
			if name != "" && slices.Contains(cr.params, normParam(name)) {
				return true
			}
		}
	}
	return false
}

// querySeparator reports whether r ends a query's parameter for some
// origin: '&', or ';' (see tokenParam).
func querySeparator(r rune) bool { return r == '&' || r == ';' }

// tokenRead reports whether r carries a credential in a token field, a
// token parameter of its query or path, or an ASP.NET cookieless segment
// of its path (see cookielessSegment).
func (cr credentials) tokenRead(r *http.Request) bool {
	return cr.tokenField(r.Header) || cr.tokenParam(r.URL) || cookielessPath(r.URL)
}

// cookielessPath reports whether a segment of u's path, decoded (a %28
// counts as a '(', as ASP.NET reads it), is an ASP.NET cookieless segment
// (see cookielessSegment). A '\' ends a segment as a '/' does: IIS reads
// one (or a %5C) as a '/' before ASP.NET looks for the segment. Unlike a
// token parameter, it counts whatever -token-params says: it names no
// parameter.
func cookielessPath(u *url.URL) bool {
	if u == nil || !strings.Contains(u.Path, "(") {
		return false
	}
	for segment := range strings.FieldsFuncSeq(u.Path, pathSeparator) {
		if cookielessSegment(segment) {
			return true
		}
	}
	return false
}

// cookielessSegment reports whether a path segment has the form in which
// ASP.NET keeps the ids of a client that takes no cookie: in parentheses,
// one or more values, each a letter and its value in parentheses, with no
// ')' in it: (S(id)) for session state (sessionState cookieless="true"),
// (F(ticket)) for forms authentication, (A(id)) for anonymous
// identification, and (X(1)) for the detection of cookie support, alone or
// together, (X(1)S(id)). ASP.NET strips such a segment before it routes the
// request and reads the ids from it, so that /(S(id))/account.aspx is the
// signed-in user's page. Any letter counts, in either case (ASP.NET reads
// capitals): a segment that only looks like one, such as (X(1)) alone,
// only costs that URL its hits.
func cookielessSegment(segment string) bool {
	if len(segment) < 2 || segment[0] != '(' || segment[len(segment)-1] != ')' {
		return false
	}
	inner := segment[1 : len(segment)-1]
	if inner == "" {
		return false
	}
	for inner != "" {
		if len(inner) < 3 || !isASCIILetter(inner[0]) || inner[1] != '(' {
			return false
		}
		end := strings.IndexByte(inner[2:], ')')
		if end < 0 {
			return false
		}
		inner = inner[2+end+1:]
	}
	return true
}

// pathSeparator reports whether r ends a segment of a path as IIS reads
// it: '/', or '\' (see cookielessPath).
func pathSeparator(r rune) bool { return r == '/' || r == '\\' }

// isASCIILetter reports whether c is an ASCII letter.
func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
