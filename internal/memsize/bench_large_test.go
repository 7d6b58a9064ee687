package memsize

import (
	"fmt"
	"testing"
)

// BenchmarkMeasureLarge measures values of more than sampleSize elements:
// walked whole when the budget allows, walked again sampled when not
// ("items 100k": about four visits an element).
func BenchmarkMeasureLarge(b *testing.B) {
	type body struct {
		ID   int
		Body []byte
	}
	type item struct {
		ID   int
		Name string
		Tags []string
	}
	short := make([]string, 100_000)
	for i := range short {
		short[i] = "abcdefgh"
	}
	bodies := make([]body, 2048)
	for i := range bodies {
		bodies[i].Body = make([]byte, 64)
	}
	items := make([]item, 100_000)
	for i := range items {
		items[i] = item{ID: i, Name: "item name", Tags: []string{"a", "b"}}
	}
	products := make([]*product, 10_000)
	byName := make(map[string]*product, 10_000)
	for i := range products {
		products[i] = newProduct(i)
		byName[fmt.Sprint(i)] = products[i]
	}
	for _, c := range []struct {
		name string
		v    any
	}{
		{"strings 100k", short},
		{"bodies 2k", bodies},
		{"items 100k", items},
		{"products 10k", products},
		{"map 10k", byName},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Measure(c.v)
			}
		})
	}
}
