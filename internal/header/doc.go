// Package header is the one place that reads HTTP header syntax (RFC 9110)
// for the middlewares of this module: tokens and optional whitespace,
// comma-separated lists, Cache-Control-style directives, entity-tag lists,
// header-map key spellings, and Accept-Encoding with the content-coding
// negotiation that package compress performs and that the response cache
// keys its variants by. Having one grammar for each field means two
// middlewares can never read one header two ways.
//
// Every function is pure and safe for concurrent use. None allocates except
// where its doc comment says so; the list iterators are meant for
// range-over-func loops, which the compiler keeps on the stack.
package header
