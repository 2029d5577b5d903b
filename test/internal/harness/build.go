package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot is the directory of the berth module's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the berth module")
	}
	return filepath.Dir(gomod), nil
}

// BerthBinary returns the berth binary a suite runs: the prebuilt one that
// the environment variable binEnv names, or else ./cmd/berth built into a
// temporary directory, which cleanup removes.
func BerthBinary(binEnv string, race bool) (bin string, cleanup func(), err error) {
	if bin := os.Getenv(binEnv); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", binEnv, err)
		}
		return abs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "berth-bin-")
	if err != nil {
		return "", nil, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	bin = filepath.Join(dir, "berth")
	if err := buildBerth(bin, race); err != nil {
		cleanup()
		return "", nil, fmt.Errorf("building berth: %w", err)
	}
	return bin, cleanup, nil
}

// buildBerth compiles ./cmd/berth into out: static (CGO_ENABLED=0) as it
// ships, or with -race, which needs cgo.
func buildBerth(out string, race bool) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	env := os.Environ()
	if race {
		args = append(args, "-race")
		env = append(env, "CGO_ENABLED=1")
	} else {
		env = append(env, "CGO_ENABLED=0")
	}
	args = append(args, "./cmd/berth")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}
