package e2e

import (
	"math"
	"testing"
	"time"
)

// TestHistogramBucketsHoldTheirValues checks that every value falls in a
// bucket whose range holds it, at most 1/64 of the value wide, and that the
// buckets follow one another.
func TestHistogramBucketsHoldTheirValues(t *testing.T) {
	check := func(v uint64) {
		i := histBucket(v)
		low, width := histRange(i)
		if v < low || v-low >= width || (v >= 2*histSub && width > low/histSub) {
			t.Fatalf("value %d: bucket %d is [%d, %d+%d)", v, i, low, low, width)
		}
		if i+1 < histBuckets {
			if next, _ := histRange(i + 1); next != low+width {
				t.Fatalf("bucket %d ends at %d, bucket %d starts at %d", i, low+width, i+1, next)
			}
		}
	}
	for v := range uint64(1 << 16) {
		check(v)
	}
	for shift := range 64 {
		check(1<<shift - 1)
		check(1 << shift)
	}
	check(math.MaxUint64)
}

func TestHistogramQuantile(t *testing.T) {
	var h, other Histogram
	if h.Quantile(0.5) != 0 {
		t.Errorf("empty: Quantile(0.5) = %v; want 0", h.Quantile(0.5))
	}
	for i := 1; i <= 1000; i++ {
		d := time.Duration(i) * time.Microsecond
		if i%2 == 0 {
			h.Record(d)
		} else {
			other.Record(d)
		}
	}
	h.Merge(&other)
	if h.Count() != 1000 || h.Max() != time.Millisecond {
		t.Fatalf("Count %d, Max %v; want 1000, 1ms", h.Count(), h.Max())
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, time.Millisecond}} {
		got := h.Quantile(tt.q)
		if diff := math.Abs(float64(got-tt.want)) / float64(tt.want); diff > 1.0/histSub {
			t.Errorf("Quantile(%v) = %v; want %v within 1/64", tt.q, got, tt.want)
		}
	}
}
