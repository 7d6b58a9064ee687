package main

// Example runs the program as the smoke test of the core API: its output is
// checked line by line.
func Example() {
	main()
	// Output:
	// first read:  9.99 (calls: 1)
	// second read: 9.99 (calls: 1, served from the cache)
	// after InvalidateTags: 9.99 (calls: 2)
	// cache hits: 1
}
