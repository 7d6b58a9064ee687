package breaker_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-caching/caching/internal/breaker"
)

func Example() {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	b := breaker.Must(breaker.Options{
		Threshold: 2,
		Cooldown:  time.Second,
		Clock:     func() time.Time { return now },
		OnChange:  func(from, to breaker.State) { fmt.Println(from, "->", to) },
	})
	const read breaker.Kind = 0 // the only kind of call here
	call := func(fail bool) error {
		if !b.Allow() {
			return breaker.ErrOpen
		}
		if fail {
			b.Failure(read)
			return errors.New("backend down")
		}
		b.Success(read)
		return nil
	}
	fmt.Println(call(true))
	fmt.Println(call(true))
	fmt.Println(call(false))
	now = now.Add(time.Second)
	fmt.Println(call(false))
	// Output:
	// backend down
	// closed -> open
	// backend down
	// breaker: open
	// open -> half-open
	// half-open -> closed
	// <nil>
}
