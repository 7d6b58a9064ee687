package argkey_test

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/argkey"
	tempa "github.com/go-caching/caching/internal/argkey/internal/a/temp"
	tempb "github.com/go-caching/caching/internal/argkey/internal/b/temp"
)

type Celsius float64

func (c Celsius) String() string { return fmt.Sprintf("%g°C", float64(c)) }

type Fahrenheit float64

func (f Fahrenheit) String() string { return fmt.Sprintf("%g°F", float64(f)) }

// Regression (issue 12.11): an argument whose static type is an interface
// was encoded by its value only, so Memoize gave Celsius(100) and
// Fahrenheit(100), or int(5), int64(5) and time.Duration(5), passed as any,
// one key and one another's results.
func TestInterfaceArgumentsKeepTheirDynamicType(t *testing.T) {
	groups := map[string][]any{
		"Celsius and Fahrenheit":     {Celsius(100), Fahrenheit(100), 100.0},
		"int widths and Duration":    {int(5), int64(5), time.Duration(5), int8(5), uint(5)},
		"one name in two packages":   {tempa.Celsius(100), tempb.Celsius(100), Celsius(100)},
		"pointers":                   {ptr(Celsius(1)), ptr(Fahrenheit(1)), ptr(tempa.Celsius(1)), ptr(tempb.Celsius(1))},
		"string and bytes and named": {"a", []byte("a"), Level(0)},
		"nil and zero values":        {nil, 0, "", false, Celsius(0), (*Celsius)(nil)},
	}
	for name, vs := range groups {
		t.Run(name, func(t *testing.T) {
			seen := map[string]any{}
			for _, v := range vs {
				b := encOf[any](t, v)
				if prev, ok := seen[string(b)]; ok {
					t.Errorf("%T(%v) and %T(%v) share the key %x", prev, prev, v, v, b)
				}
				seen[string(b)] = v
				assert.Equal(t, b, encOf[any](t, v), "the same value gives the same key")
			}
		})
	}
	// Any interface type, not only any.
	s1, err := argkey.AppendOf[fmt.Stringer](nil, Celsius(100))
	require.NoError(t, err)
	s2, err := argkey.AppendOf[fmt.Stringer](nil, Fahrenheit(100))
	require.NoError(t, err)
	assert.NotEqual(t, s1, s2, "fmt.Stringer")
	// The name carries the package path.
	b := encOf[any](t, tempa.Celsius(1))
	assert.True(t, bytes.Contains(b, []byte("github.com/go-caching/caching/internal/argkey/internal/a/temp.Celsius")), "%q", b)
	// The same holds one level down, where it always did.
	assert.NotEqual(t, enc(t, []any{Celsius(1)}), enc(t, []any{Fahrenheit(1)}))
}

// FuzzInterfaceArguments: two arguments passed as any share a key exactly
// when they have one dynamic type and equal values.
func FuzzInterfaceArguments(f *testing.F) {
	f.Add(uint8(0), int64(5), uint8(1), int64(5))
	f.Add(uint8(3), int64(100), uint8(4), int64(100))
	f.Add(uint8(5), int64(-1), uint8(6), int64(-1))
	f.Add(uint8(2), int64(7), uint8(2), int64(7))
	f.Fuzz(func(t *testing.T, ka uint8, a int64, kb uint8, b int64) {
		va, vb := typed(ka, a), typed(kb, b)
		same := reflect.TypeOf(va) == reflect.TypeOf(vb) && va == vb
		ea, eb := encOf[any](t, va), encOf[any](t, vb)
		if same != bytes.Equal(ea, eb) {
			t.Fatalf("%T(%v) vs %T(%v): same=%v, keys equal=%v", va, va, vb, vb, same, bytes.Equal(ea, eb))
		}
	})
}

// typed converts n to one of several types of one kind or of one name.
func typed(k uint8, n int64) any {
	switch k % 10 {
	case 0:
		return int(n)
	case 1:
		return n
	case 2:
		return time.Duration(n)
	case 3:
		return Celsius(n)
	case 4:
		return Fahrenheit(n)
	case 5:
		return tempa.Celsius(n)
	case 6:
		return tempb.Celsius(n)
	case 7:
		return int32(n)
	case 8:
		return UserID(n)
	default:
		return float64(n)
	}
}

// deterministicValues are encoded in this process and in a child: maps (whose
// iteration order is random per process), pointers (whose addresses differ)
// and interfaces of named types must give the same bytes.
func deterministicValues() []any {
	return []any{
		map[string]any{"c": Celsius(1), "f": Fahrenheit(2), "d": time.Duration(3), "p": ptr(4)},
		map[any]int{Celsius(1): 1, Fahrenheit(1): 2, tempa.Celsius(1): 3, tempb.Celsius(1): 4, 1: 5},
		[]any{&Inner{1, 2}, ptr(tempb.Celsius(5)), nil},
		Outer{Inner: Inner{1, 2}, P: &Inner{3, 4}, Any: map[int]string{2: "b", 1: "a"}, When: time.Unix(9, 9)},
	}
}

func TestKeysAreTheSameInAnotherProcess(t *testing.T) {
	keys := func() string {
		var sb strings.Builder
		for _, v := range deterministicValues() {
			b, err := argkey.AppendOf[any](nil, v)
			if err != nil {
				return err.Error()
			}
			fmt.Fprintln(&sb, hex.EncodeToString(b))
		}
		return sb.String()
	}
	if os.Getenv("ARGKEY_CHILD") == "1" {
		fmt.Print("keys:\n" + keys())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKeysAreTheSameInAnotherProcess$")
	cmd.Env = append(os.Environ(), "ARGKEY_CHILD=1")
	out, err := cmd.Output()
	require.NoError(t, err)
	_, child, ok := strings.Cut(string(out), "keys:\n")
	require.True(t, ok, "%s", out)
	child, _, _ = strings.Cut(child, "PASS")
	assert.Equal(t, keys(), child)
}
