package simple_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

func Example() {
	s, err := simple.New(simple.Options{
		MaxEntries: 10_000,   // at most 10,000 entries
		MaxBytes:   32 << 20, // and 32 MiB of keys and values
	})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()

	_ = s.Set(ctx, "greeting", []byte("hello"), time.Minute)
	v, _ := s.Get(ctx, "greeting") // read-only: copy it before modifying
	fmt.Printf("%s\n", v)

	n, _ := s.Incr(ctx, "visits", 1)
	n, _ = s.Incr(ctx, "visits", 1)
	fmt.Println(n)

	added, _ := s.Add(ctx, "greeting", []byte("bonjour"), 0)
	fmt.Println(added)

	_ = s.Delete(ctx, "greeting")
	_, err = s.Get(ctx, "greeting")
	fmt.Println(errors.Is(err, backend.ErrNotFound))

	err = s.Set(ctx, "huge", make([]byte, s.MaxValueSize()), 0)
	fmt.Println(errors.Is(err, backend.ErrValueTooLarge))
	// Output:
	// hello
	// 2
	// false
	// true
	// true
}

func ExampleStore_StoreValue() {
	s := simple.Must(simple.Options{})
	defer s.Close()

	type product struct{ Name string }
	// Go values are held as they are (not encoded); size counts against MaxBytes.
	_ = s.StoreValue("product:1", &product{Name: "lamp"}, 64, time.Hour)
	v, ok := s.LoadValue("product:1")
	fmt.Println(v.(*product).Name, ok)
	// Output: lamp true
}
