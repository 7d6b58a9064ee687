package filesystem

import (
	"bytes"
	"errors"
	"testing"
)

func TestDecodeRejects(t *testing.T) {
	good := encode("key", []byte("value"), 42)
	cases := map[string][]byte{
		"empty":       nil,
		"short":       good[:10],
		"truncated":   good[:len(good)-1],
		"extended":    append(append([]byte{}, good...), 0),
		"bad magic":   append([]byte("xxxx"), good[4:]...),
		"bad version": append(append(append([]byte{}, good[:4]...), 9), good[5:]...),
		"flipped bit": func() []byte { b := bytes.Clone(good); b[headerSize+4] ^= 1; return b }(),
		"bad crc":     func() []byte { b := bytes.Clone(good); b[len(b)-1] ^= 0xff; return b }(),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, _, _, err := decode(b); !errors.Is(err, errCorrupt) {
				t.Fatalf("decode = %v, want errCorrupt", err)
			}
		})
	}
	exp, k, v, err := decode(good)
	if err != nil || exp != 42 || string(k) != "key" || string(v) != "value" {
		t.Fatalf("decode(encode) = %d, %q, %q, %v", exp, k, v, err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode("key", []byte("value"), 0))
	f.Add(encode("", nil, 1))
	f.Add(encode("ключ", bytes.Repeat([]byte{0}, 300), 1<<62))
	f.Add([]byte("gcfs\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		exp, k, v, err := decode(b)
		if hexp, ok := decodeExpiry(b); err == nil && (!ok || hexp != exp) {
			t.Fatalf("decodeExpiry = %d, %v; decode said %d", hexp, ok, exp)
		}
		if err != nil {
			return
		}
		if again := encode(string(k), v, exp); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding a decoded entry gives other bytes")
		}
	})
}
