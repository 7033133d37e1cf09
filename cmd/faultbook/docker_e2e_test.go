package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
)

// needDocker skips a test when no Docker engine answers (or the binary under
// test cannot run FROM scratch), with the reason on one line.
func needDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containers")
	}
	if raceEnabled {
		t.Skip("docker runtime: the race build is linked dynamically and cannot run FROM scratch")
	}
	if _, err := cluster.Leftovers(context.Background(), ""); err != nil {
		t.Skip(strings.SplitN(err.Error(), "\n", 2)[0])
	}
}

// wantNothingLeft checks that the faultbook process pid left no container,
// network or image tag on the engine (other tests' runs may share it).
func wantNothingLeft(t *testing.T, pid int) {
	t.Helper()
	n, err := cluster.Leftovers(context.Background(), fmt.Sprintf("%d-", pid))
	if err != nil {
		t.Fatal(err)
	}
	if n != (cluster.Removed{}) {
		t.Errorf("left behind: %d container(s), %d network(s), %d image(s)", n.Containers, n.Networks, n.Images)
	}
}

// TestDockerRuntimeSameVerdicts runs a scenario with each node in its own
// container: its four cells reach the verdicts of the process runtime, the
// nodes have addresses of their own, their logs are in the run directory,
// and the run leaves nothing behind.
func TestDockerRuntimeSameVerdicts(t *testing.T) {
	needDocker(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := command(ctx, "run", "registration-order", "--runtime", "docker", "--format", "json", "--quiet", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{args: cmd.Args[1:], code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
	wantCode(t, r, 0)
	sc := findScenario(t, decodeResults(t, []byte(r.stdout)), "registration-order")
	if sc.Verdict != result.Pass || len(sc.Cells) != 4 {
		t.Fatalf("verdict %s with %d cells, want pass with 4\n%s", sc.Verdict, len(sc.Cells), r)
	}
	for _, c := range sc.Cells {
		if c.Verdict != result.Pass {
			t.Errorf("%s: %s %v", c.Cell, c.Verdict, c.Problems)
		}
	}
	dir := filepath.Join(out, "registration-order", "control", "run-1")
	drv, _ := os.ReadFile(filepath.Join(dir, "driver.log"))
	if !bytes.Contains(drv, []byte("Registered executor")) || bytes.Contains(drv, []byte("127.0.0.1")) {
		t.Errorf("driver.log: want executors registered from their nodes' own addresses, not 127.0.0.1:\n%s", drv)
	}
	for _, f := range []string{"worker-node-a.log", "worker-node-b.log", "exec-1.log", "exec-2.log"} {
		if b, err := os.ReadFile(filepath.Join(dir, f)); err != nil || len(b) == 0 {
			t.Errorf("%s: empty or missing (%v)", f, err)
		}
	}
	wantNothingLeft(t, cmd.Process.Pid)
}

// TestDockerInterruptLeavesNothing stops a docker run with SIGINT while its
// containers run: it exits 130 and removes its containers, networks and image.
func TestDockerInterruptLeavesNothing(t *testing.T) {
	needDocker(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := command(ctx, "run", "registration-order", "--runtime", "docker", "--repeat", "3", "--quiet", "--out", out)
	stderr := newLineSignal(nil)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The engine is another process: its state is read until the run's
	// containers show (bounded), so that finding none afterwards proves
	// something.
	for {
		if n, err := cluster.Leftovers(ctx, fmt.Sprintf("%d-", cmd.Process.Pid)); err == nil && n.Containers > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("run ended before it was interrupted: %v\n%s", err, stderr)
		case <-ctx.Done():
			t.Fatalf("no labelled container within %s", runTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
	err := interrupt(t, cmd, done, 60*time.Second, stderr)
	wantCode(t, cliResult{args: cmd.Args[1:], code: exitCode(t, err), stderr: stderr.String()}, codeInterrupted)
	wantNothingLeft(t, cmd.Process.Pid)
}

// TestDockerMissing: with no engine to answer, the docker runtime is an
// infrastructure error with a one-line reason, at once.
func TestDockerMissing(t *testing.T) {
	start := time.Now()
	r := faultbookEnv(t, []string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock")},
		"run", "registration-order", "--runtime", "docker", "--out", t.TempDir())
	wantCode(t, r, codeInfra)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no Docker engine") {
		t.Errorf("stderr: want one line naming the missing engine:\n%s", r.stderr)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %s to say so", d)
	}
}

// TestCleanupWithoutDocker: cleanup with no engine to answer is an
// infrastructure error with a one-line reason. (A cleanup against a real
// engine would remove the runs of tests running beside this one.)
func TestCleanupWithoutDocker(t *testing.T) {
	r := faultbookEnv(t, []string{"DOCKER_HOST=unix://" + filepath.Join(t.TempDir(), "no-docker.sock")}, "cleanup")
	wantCode(t, r, codeInfra)
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "no Docker engine") {
		t.Errorf("stderr: want one line naming the missing engine:\n%s", r.stderr)
	}
}
