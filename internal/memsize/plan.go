package memsize

import (
	"reflect"
	"sync"
	"sync/atomic"
)

// plan is what a walk needs to know about a type, worked out once per type
// (for a type made at run time past maxPlans, once per walk) rather than
// asked of reflect at every value: whether a value of it can
// reach heap memory at all (a type that cannot is counted by its inline
// size, with no walk of its fields or elements), and for a struct, which
// of its fields can. Plans link to the plans of the types they hold, so a
// walk follows them down a value without looking any up, except at an
// interface, whose dynamic type it looks up (planOf).
type plan struct {
	t    reflect.Type
	kind reflect.Kind
	size uintptr // a value's inline size
	// refs: a value of the type can reach heap memory (a string, slice,
	// map, pointer or interface, or an array or struct holding one).
	refs bool
	// boxed: an interface holds a value of the type in a box of its own
	// (size bytes), not in its data word.
	boxed bool
	// own: the type is one of the program's own (see ownType), or held
	// by one, which reflect cannot make: its plan is kept whatever
	// maxPlans.
	own bool
	// steps is the fewest steps (pushes) the walk of a value costs once
	// pushed (a nil reference: one), at most walkBudget+1.
	steps int
	elem  *plan // a pointer's, slice's, array's or map's element
	key   *plan // a map's key
	// n is an array's length, or a struct's number of fields (each
	// field's turn of its struct's time counts all of them).
	n      int
	fields []field // a struct's fields that hold references, first to last
}

// field is a struct field that can reach heap memory.
type field struct {
	index int
	plan  *plan
}

// elemSteps returns the fewest steps the walk of one element of the
// collection of plan p (a slice, array or map holding references) costs,
// at most walkBudget+1: a map's keys and values count where they hold
// references.
func (p *plan) elemSteps() int {
	if p.kind != reflect.Map {
		return p.elem.steps
	}
	n := 0
	if p.key.refs {
		n += p.key.steps
	}
	if p.elem.refs {
		n += p.elem.steps
	}
	return min(n, walkBudget+1)
}

var (
	// plans holds each type's plan (reflect.Type → *plan). Those of the
	// program's own types, and of the types they hold (plan.own), are
	// all kept: there are as many as the program declares. The others,
	// which a program can make without end at run time (reflect.StructOf,
	// ArrayOf, MapOf), are kept up to maxPlans of them (planCount): past
	// it, they are worked out again at each value measured, once per walk
	// (a walk keeps those it made: see walker.planOf).
	plans     sync.Map
	planCount atomic.Int64 // plans kept that are not own
)

// maxPlans is the most plans kept of types not of the program's own (see
// ownType): a program's own types do not count against it.
const maxPlans = 4096

// ownType reports whether t is one of the program's own types, of which
// there are as many as the program declares, whatever it makes at run
// time: a named type (reflect makes none; the types it holds are fixed
// at compile time), an interface (reflect makes none), or a pointer to,
// or slice of, one of those (one of each at most), so that a *Product, a
// []Product or a []any a program measures is kept along with Product.
func ownType(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		if t.Name() == "" {
			t = t.Elem()
		}
	}
	return t.Name() != "" || t.Kind() == reflect.Interface
}

// planOf returns the plan of t: kept in plans, or in made (plans worked
// out before and not kept), or worked out now with the plans of the types
// t holds, which go to made, and to plans while it has room (see plans).
// made may be nil.
func planOf(t reflect.Type, made map[reflect.Type]*plan) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	return makePlans(t, made)
}

// makePlans is planOf for t not kept in plans.
func makePlans(t reflect.Type, made map[reflect.Type]*plan) *plan {
	if p, ok := made[t]; ok {
		return p
	}
	if made == nil {
		made = map[reflect.Type]*plan{}
	}
	pl := planner{made: made}
	p := pl.plan(t, false)
	// The elements of the references planned, and theirs in turn: every
	// type t reaches, each planned once.
	for len(pl.links) > 0 {
		q := pl.links[len(pl.links)-1]
		pl.links = pl.links[:len(pl.links)-1]
		if q.kind == reflect.Map {
			q.key = pl.plan(q.t.Key(), q.own)
		}
		q.elem = pl.plan(q.t.Elem(), q.own)
	}
	// Kept only now that they are linked: a walk that finds one in plans
	// can follow it down. Past maxPlans, only own ones.
	full := false
	for _, q := range pl.fresh {
		if q.own || !full {
			full = !keep(q)
		}
	}
	return p
}

// keep keeps q in plans, and reports false when there was no room for it
// (see maxPlans; an own plan always has room). A plan not own takes its
// room first, so that planners at once cannot keep more than maxPlans
// between them, and gives it back if q's type's plan was kept already.
func keep(q *plan) bool {
	if q.own {
		plans.LoadOrStore(q.t, q)
		return true
	}
	if planCount.Add(1) > maxPlans {
		planCount.Add(-1)
		return false
	}
	if _, had := plans.LoadOrStore(q.t, q); had {
		planCount.Add(-1)
	}
	return true
}

// planner works out the plans of a type and of the types it holds, in two
// parts, so that no plan is read before it is done: plan works out a
// type's plan and those of the types it holds by value (a struct's fields,
// an array's elements), which cannot lead back to it (a Go type cannot
// hold itself by value), so each is done when its holder reads it; a
// pointer's, slice's or map's plan is done without its element's (a
// reference holds references, and its walk costs one step, whatever it
// points to) and waits in links for planOf to plan its element, which may
// hold the reference's holder by value: a type A that points to a B
// holding an A.
type planner struct {
	made  map[reflect.Type]*plan // plans made, to look up before planning (a reference's may wait in links)
	fresh []*plan                // plans made here, to keep
	links []*plan                // references whose elements are not planned yet
}

// plan returns the plan of t: kept, made before, or worked out now, with
// the plans of the types it holds by value; own says that t is held by
// one of the program's own types (see ownType). It recurses once per type
// nested in t by value, as deep as t's declaration, never per value.
func (pl *planner) plan(t reflect.Type, own bool) *plan {
	if p, ok := plans.Load(t); ok {
		return p.(*plan)
	}
	if p, ok := pl.made[t]; ok {
		return p
	}
	own = own || ownType(t)
	p := &plan{t: t, kind: t.Kind(), size: t.Size(), boxed: !isPointerShaped(t), own: own, steps: 1}
	switch p.kind {
	case reflect.String, reflect.Interface:
		p.refs = true
	case reflect.Pointer, reflect.Slice, reflect.Map:
		p.refs = true
		pl.links = append(pl.links, p)
	case reflect.Array:
		p.n, p.elem = t.Len(), pl.plan(t.Elem(), own)
		if p.refs = p.n > 0 && p.elem.refs; p.refs {
			p.steps += min(p.n, walkBudget+1) * p.elem.steps
		}
	case reflect.Struct:
		p.n = t.NumField()
		for i := range p.n {
			if f := pl.plan(t.Field(i).Type, own); f.refs {
				p.refs = true
				p.fields = append(p.fields, field{i, f})
				if p.steps <= walkBudget {
					p.steps += f.steps
				}
			}
		}
	}
	p.steps = min(p.steps, walkBudget+1)
	pl.made[t] = p
	pl.fresh = append(pl.fresh, p)
	return p
}

// planOf returns the plan of t: the last one the walker looked up if t is
// its type (the elements of a []any are often of one type), else kept in
// plans, or made during this walk (not kept: see plans), or worked out now.
// An interface's dynamic type is looked up here, and kept by the same
// rule as a measured value's type.
func (w *walker) planOf(t reflect.Type) *plan {
	if w.plan != nil && w.plan.t == t {
		return w.plan
	}
	if p, ok := plans.Load(t); ok {
		w.plan = p.(*plan)
		return w.plan
	}
	if w.made == nil {
		w.made = map[reflect.Type]*plan{}
	}
	w.plan = planOf(t, w.made)
	return w.plan
}

// isPointerShaped reports whether a value of type t is a pointer that an
// interface holds in its data word, with no box of its own.
func isPointerShaped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}
