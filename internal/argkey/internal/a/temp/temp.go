// Package temp (a) declares a type whose name and package name another
// package (b) declares too, so that argkey's tests can show that values of
// the two types passed as any never share a key.
package temp

// Celsius is a temperature; b's Celsius has the same name and kind.
type Celsius float64
