//go:build race

package simple_test

// modelSeeds is how many random runs TestStoreAgainstModel makes: fewer
// under the race detector, which makes each about 15 times slower.
const modelSeeds = 4
