//go:build !race

package harness

// RaceEnabled reports whether the test binary was built with -race.
const RaceEnabled = false
