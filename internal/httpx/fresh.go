package httpx

// Fresh hands out pointers to values of T that it never handed out before,
// for a reused struct whose every use needs one no earlier use may still
// hold (a wrapped writer's handle, a reader given to a ReadFrom below):
// the first is the one inside it, at no allocation (a struct used once
// allocates nothing more), the others come from blocks of freshBlock,
// allocated as they run out. Each value it hands out is T's zero value,
// or what its one user left in it. A Fresh is kept in place across its
// holder's reuse (a struct that clears itself keeps its Fresh, as
// httpcache.Recorder's Reset keeps its Writer): one cleared hands out its
// first value again. It must not be copied once used: a copy shares its
// block, and the two hand out the same values. The zero Fresh is ready
// to use; it is not safe for concurrent use.
type Fresh[T any] struct {
	first T
	used  bool // first was handed out
	rest  []T  // the block's values not yet handed out
}

// freshBlock is how many values a Fresh allocates at a time.
const freshBlock = 16

// Next returns a value never handed out before.
func (f *Fresh[T]) Next() *T {
	if !f.used {
		f.used = true
		return &f.first
	}
	if len(f.rest) == 0 {
		f.rest = make([]T, freshBlock)
	}
	p := &f.rest[0]
	f.rest = f.rest[1:]
	return p
}
