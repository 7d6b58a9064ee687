package filesystem_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-caching/caching/backend/filesystem"
)

func Example() {
	dir, err := os.MkdirTemp("", "cache")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	store, err := filesystem.New(filesystem.Options{
		Dir:        dir,
		Namespace:  "pages",
		MaxEntries: 10_000,
		MaxBytes:   256 << 20,
	})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	ctx := context.Background()
	_ = store.Set(ctx, "/products?page=1", []byte("<html>…</html>"), 5*time.Minute)
	v, err := store.Get(ctx, "/products?page=1")
	fmt.Println(string(v), err)
	n, _ := store.Incr(ctx, "visits", 1)
	fmt.Println("visits:", n)
	// Output:
	// <html>…</html> <nil>
	// visits: 1
}
