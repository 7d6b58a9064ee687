package caching

import (
	"context"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shopOrder points to its customer, who holds their last order by value.
type shopOrder struct {
	Customer *shopCustomer
	Lines    [][]byte
}

type shopCustomer struct {
	Name string
	Last shopOrder
}

// TestInProcessBoundCountsValueHeldBehindReference: an in-process store
// bounded at 16 MiB kept an order whose customer's last order held 64 MiB,
// counted as 360 bytes: memsize's plan of shopCustomer, worked out while
// shopOrder's was not done, dropped its field Last. It is refused as too
// large now.
func TestInProcessBoundCountsValueHeldBehindReference(t *testing.T) {
	ctx := context.Background()
	c := Must(&Options{Backend: simple.Must(simple.Options{MaxBytes: 16 << 20, Shards: 1})})
	t.Cleanup(func() { _ = c.Close() })
	o := &shopOrder{Customer: &shopCustomer{Name: "c", Last: shopOrder{Lines: [][]byte{make([]byte, 64<<20)}}}}
	err := SetAs(ctx, c, "order", o, time.Minute)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.Less(t, c.Stats().Bytes, int64(16<<20), "what the store holds")
}
