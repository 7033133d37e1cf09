// Package clustertest builds the faultbook binary once per test process, for
// tests that start real clusters.
package clustertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	buildDir  string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Main runs a package's tests and removes the binary after them; call it
// from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Binary builds ./cmd/faultbook, and ./cmd/faultbook-node and
// ./cmd/faultbook-driver beside it, from the module root with the go command
// running these tests, once, and returns faultbook's path.
func Binary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		goCmd, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("find the go command: %w", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		gomod, err := exec.CommandContext(ctx, goCmd, "env", "GOMOD").Output()
		if err != nil {
			buildErr = fmt.Errorf("go env GOMOD: %w", err)
			return
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		if buildDir, err = os.MkdirTemp("", "faultbook-test-"); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(buildDir, "faultbook")
		// faultbook-node and faultbook-driver beside it, as make build puts
		// them: clusters start their executors and cluster-mode drivers from
		// them (cluster.NodeBinary, cluster.DriverBinary).
		for _, b := range []struct{ out, pkg string }{{binPath, "./cmd/faultbook"}, {binPath + "-node", "./cmd/faultbook-node"},
			{binPath + "-driver", "./cmd/faultbook-driver"}} {
			cmd := exec.CommandContext(ctx, goCmd, "build", "-o", b.out, b.pkg)
			cmd.Dir = root
			// Static, so the docker runtime can run it FROM scratch.
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %w\n%s", b.pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}
