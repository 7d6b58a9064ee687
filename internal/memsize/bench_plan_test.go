package memsize

import (
	"fmt"
	"testing"
	"time"
)

// scalars is a struct of many fields that hold no references: counted by
// its inline size, whatever it holds.
type scalars struct {
	A, B, C, D     int64
	E, F, G, H     float64
	I, J, K, L     uint32
	M, N, O, P     bool
	Q              [8]int16
	When, Modified time.Duration
}

// wide is a struct of many scalar fields and a few that hold references.
type wide struct {
	ID      int64
	Name    string
	S1, S2  scalars
	Created time.Time
	Score   float64
	Tags    []string
	Flags   [16]bool
	Rank    int32
}

// BenchmarkMeasureShapes measures values whose types hold few or no
// references among many scalar fields and elements: what a per-type plan
// lets the walk skip.
func BenchmarkMeasureShapes(b *testing.B) {
	wides := make([]wide, 1000)
	for i := range wides {
		wides[i] = wide{ID: int64(i), Name: "wide", Created: time.Unix(int64(i), 0), Tags: []string{"a"}}
	}
	bySc := make(map[string]scalars, 10_000)
	for i := range 10_000 {
		bySc[fmt.Sprint("key-", i)] = scalars{A: int64(i)}
	}
	for _, c := range []struct {
		name string
		v    any
	}{
		{"struct of scalars", &scalars{A: 1}},
		{"wide struct", &wides[0]},
		{"wide structs 1k", wides},
		{"scalar structs 10k", make([]scalars, 10_000)},
		{"array of floats", &[4096]float64{}},
		{"map of scalar structs 10k", bySc},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Measure(c.v)
			}
		})
	}
}
