//go:build !race

package simple_test

// modelSeeds is how many random runs TestStoreAgainstModel makes.
const modelSeeds = 40
