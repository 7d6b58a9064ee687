package main

// Example runs the program as the smoke test of the core API: its output is
// checked line by line.
func Example() {
	main()
	// Output:
	// GET /price/A1 -> 9.99, X-Cache: MISS, function calls: 1
	// GET /price/A1 -> 9.99, X-Cache: HIT, function calls: 1
	// GET /price/A1 -> 9.99, X-Cache: MISS, function calls: 2
	// cache hits: 1, misses: 4 (views and Memoize counted together)
	//   views:   3 lookups (one per request), hits: 1, misses: 2
	//   Memoize: 2 lookups (one per handler run), hits: 0, misses: 2
}
