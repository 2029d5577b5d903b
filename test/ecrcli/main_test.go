package ecrcli

import (
	"fmt"
	"os"
	"testing"

	"github.com/berth-registry/berth/test/internal/harness"
)

// berthBin is the berth binary the test starts; TestMain builds it once.
var berthBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// Static, as it ships: this suite tests the CLI workflow, not races.
	bin, cleanup, err := harness.BerthBinary("BERTH_E2E_BIN", false)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ecrcli: %v\n", err)
		return 1
	}
	defer cleanup()
	berthBin = bin
	return m.Run()
}

// server is a berth process under test.
type server = harness.Server

// startServer starts berth with fresh root access keys (see
// harness.StartServer); extraArgs are appended to `berth serve`.
func startServer(t testing.TB, extraArgs ...string) *server {
	t.Helper()
	return harness.StartServer(t, harness.Options{Bin: berthBin, Args: extraArgs})
}
