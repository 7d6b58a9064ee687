// Package httpcache holds the HTTP rules of the response cache, apart from
// the Cache type that stores entries: Cache-Control parsing, which responses
// may be stored and for how long, Vary variants, the stored-response
// Snapshot with its binary encoding, and serving a hit (Age, ETag, 304).
// The header syntax itself (lists, directives, entity-tags, Accept-Encoding
// negotiation, key spellings) is internal/header's, shared with compress.
//
// Everything here is pure and safe for concurrent use unless a doc comment
// says otherwise. A Snapshot is immutable once built: any number of
// goroutines may serve it at once.
package httpcache
