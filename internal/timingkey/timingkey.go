// Package timingkey holds the context key under which package timing's
// middleware puts a request's metrics recorder, so that the response cache
// and Memoize can leave the recorder out of the context of the work they do
// in the background for a request (a refresh, which runs after its response
// went out) without timing exporting its key or the root package
// depending on more of timing than it does.
package timingkey

// Recorder is the context key of a request's timing recorder (a
// *timing.recorder). An empty struct: ctx.Value(Recorder{}) does not
// allocate.
type Recorder struct{}
