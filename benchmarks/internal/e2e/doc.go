// Package e2e is the end-to-end benchmark of issue 15: real HTTP servers on
// loopback, each in a process of its own, serving the same cached 2 KiB JSON
// route, driven by a load generator of ours over keep-alive connections.
//
// Its parts are meant to be reused (issue 13's multi-process test):
//
//   - ServeMain is a server command (flags -addr, -mode, -redis, -prefix):
//     the page behind the naive map cache, Cached on the in-process store or
//     Cached on Redis. The command cmd/e2ebench runs it as "e2ebench serve".
//   - A Contender says how to start one kind of server (one of ours, or
//     Flask with Flask-Caching under gunicorn); Start runs it and finds the
//     address it listens on.
//   - Load drives a list of targets with a fixed number of connections for a
//     bounded time, warm-up excluded, and returns req/s and a latency
//     histogram.
//   - Bench runs every contender, one at a time, for several rounds in a
//     rotating order, and Table writes the ratios to the naive map server.
//
// Nothing here is API of the caching module; it lives in internal/ to be
// changed freely.
package e2e
