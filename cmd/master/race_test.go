//go:build race

package main

// raceBuild makes the binaries under test race-instrumented too, so a data
// race in the master shows as a non-zero exit when the test stops it.
const raceBuild = true
