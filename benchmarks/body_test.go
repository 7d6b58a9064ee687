package benchmarks

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
)

// product is one item of the JSON bodies the HTTP benchmarks serve: a
// product catalog page, compressible the way real API responses are (field
// names repeat, values vary).
type product struct {
	ID          int      `json:"id"`
	SKU         string   `json:"sku"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	PriceCents  int      `json:"price_cents"`
	Stock       int      `json:"stock"`
	Tags        []string `json:"tags"`
}

var words = []string{
	"steel", "oak", "linen", "compact", "deluxe", "travel", "kitchen", "garden",
	"lamp", "chair", "kettle", "mug", "blanket", "shelf", "brush", "mirror",
	"blue", "green", "matte", "polished", "recycled", "handmade", "classic", "slim",
}

// jsonBody returns a deterministic JSON array of products of about size
// bytes (a little under, never over).
func jsonBody(size int) []byte {
	r := rand.New(rand.NewPCG(uint64(size), 7))
	word := func() string { return words[r.IntN(len(words))] }
	var items []product
	var out []byte
	for i := 1; ; i++ {
		p := product{
			ID:          i,
			SKU:         fmt.Sprintf("SKU-%06d", r.IntN(1_000_000)),
			Name:        word() + " " + word(),
			Description: word() + " " + word() + " " + word() + " " + word() + " " + word(),
			PriceCents:  r.IntN(100_000),
			Stock:       r.IntN(500),
			Tags:        []string{word(), word()},
		}
		next, err := json.Marshal(append(items, p))
		if err != nil {
			panic(err)
		}
		if len(next) > size {
			if out == nil {
				panic("jsonBody: size too small for one product")
			}
			return out
		}
		items, out = append(items, p), next
	}
}
