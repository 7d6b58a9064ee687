// Package temp (b) declares a type whose name and package name another
// package (a) declares too; see a's documentation.
package temp

// Celsius is a temperature; a's Celsius has the same name and kind.
type Celsius float64
