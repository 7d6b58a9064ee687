package memsize

import (
	"fmt"
	"strings"
	"testing"
)

type oddStr string

type oddInner struct {
	m  map[oddStr]oddStr
	a  map[string][2]string
	i  any
	ks map[[2]string]string
}

type oddOuter struct {
	oddInner // unexported embedded
	Pub      map[string]string
	priv     *oddInner
	self     *oddOuter
	ifc      any
	nilm     map[string]string
	arr      [3]map[string]string
}

// TestMeasureOddValuesDoNotPanic sweeps values reflect treats
// differently (unexported and embedded fields, named string types,
// interfaces holding maps, map of arrays, nil maps, cycles), small and
// large enough for the sampling walk.
func TestMeasureOddValuesDoNotPanic(t *testing.T) {
	for _, n := range []int{0, 3, 200_000} {
		m := make(map[oddStr]oddStr, n)
		a := make(map[string][2]string, min(n, 1000))
		ps := make(map[string]string, n)
		for i := range n {
			k := fmt.Sprint("k", i)
			m[oddStr(k)] = "v"
			ps[k] = "v"
			if i < 1000 {
				a[k] = [2]string{"x", "y"}
			}
		}
		in := oddInner{m: m, a: a, i: ps, ks: map[[2]string]string{{"a", "b"}: "c"}}
		o := &oddOuter{oddInner: in, Pub: ps, priv: &in, nilm: nil, ifc: map[string]any{"m": m, "s": strings.Repeat("z", 10)}}
		o.self = o
		o.arr[1] = ps
		cyc := map[string]any{}
		cyc["me"] = cyc
		sl := []any{nil}
		sl[0] = sl
		for name, v := range map[string]any{"outer": o, "outer value": *o, "cycle map": cyc, "cycle slice": sl,
			"iface map": any(map[oddStr]any{"x": m}), "array of maps": [2]map[oddStr]oddStr{m, m}} {
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Errorf("n=%d %s: panic: %v", n, name, p)
					}
				}()
				got, ok := Measure(v)
				if n > 0 && got < n && !strings.HasPrefix(name, "cycle") {
					t.Errorf("n=%d %s: %d bytes (ok %v)", n, name, got, ok)
				}
			}()
		}
	}
}
