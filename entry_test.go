package caching

import (
	"bytes"
	"errors"
	"testing"
)

func TestEntryRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		e    entry
	}{
		{"empty", entry{}},
		{"forever with payload", entry{Created: 1, Payload: []byte("hello")}},
		{"ttl", entry{Created: 10, FreshUntil: 20, StaleUntil: 20, Payload: []byte{0, 1, 2}}},
		{"stale window", entry{Created: 10, FreshUntil: 20, StaleUntil: 99}},
		{"tags", entry{Created: 10, TagKeys: []string{"t/a", "t/b"}, Versions: []uint64{1, 1 << 63}, Payload: []byte("x")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeEntry(&tc.e)
			if len(b) != cap(b) {
				t.Fatalf("encoded %d bytes in a buffer of %d", len(b), cap(b))
			}
			got, err := decodeEntry(b)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if got.Created != tc.e.Created || got.FreshUntil != tc.e.FreshUntil || got.StaleUntil != tc.e.StaleUntil ||
				!bytes.Equal(got.Payload, tc.e.Payload) || !sameKeys(got.TagKeys, tc.e.TagKeys) || len(got.Versions) != len(tc.e.Versions) {
				t.Fatalf("round trip changed the entry: %+v -> %+v", tc.e, *got)
			}
			for i := range got.Versions {
				if got.Versions[i] != tc.e.Versions[i] {
					t.Fatalf("version %d: %d -> %d", i, tc.e.Versions[i], got.Versions[i])
				}
			}
		})
	}
}

func TestEntryDecodeRejects(t *testing.T) {
	good := encodeEntry(&entry{Created: 1, FreshUntil: 2, StaleUntil: 3, TagKeys: []string{"t"}, Versions: []uint64{7}, Payload: []byte("payload")})
	cases := map[string][]byte{
		"nil":              nil,
		"short":            good[:10],
		"bad magic":        append([]byte("xx"), good[2:]...),
		"future version":   append([]byte{'c', 'e', 2}, good[3:]...),
		"flags":            append([]byte{'c', 'e', 1, 1}, good[4:]...),
		"truncated":        good[:len(good)-1],
		"trailing":         append(append([]byte{}, good...), 0),
		"counter":          []byte("12345"),
		"fresh past stale": encodeEntry(&entry{Created: 1, FreshUntil: 9, StaleUntil: 3}),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := decodeEntry(b); !errors.Is(err, errCorrupt) {
				t.Fatalf("decodeEntry = %v, want errCorrupt", err)
			}
		})
	}
}

// FuzzDecodeEntry checks that the decoder never panics and that whatever it
// accepts encodes back to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(&entry{}))
	f.Add(encodeEntry(&entry{Created: 5, FreshUntil: 6, StaleUntil: 7, TagKeys: []string{"a"}, Versions: []uint64{3}, Payload: []byte("p")}))
	f.Add([]byte("ce\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeEntry(b)
		if err != nil {
			return
		}
		if again := encodeEntry(e); !bytes.Equal(again, b) {
			t.Fatalf("decode then encode changed the bytes:\n%q\n%q", b, again)
		}
	})
}
