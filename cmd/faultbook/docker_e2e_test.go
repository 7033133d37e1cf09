package main_test

import (
	"bytes"
	"context"
	"encoding/json"
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

// runDocker runs the binary with --runtime docker, JSON on stdout, and
// returns the scenario's results; the run must exit with code (0 all
// passed, 1 a scenario failed) and leave nothing behind.
func runDocker(t *testing.T, name string, code int, extra ...string) (*result.Scenario, string) {
	t.Helper()
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	args := append([]string{"run", name, "--runtime", "docker", "--format", "json", "--quiet", "--out", out}, extra...)
	cmd := command(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{args: cmd.Args[1:], code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
	if r.code != code {
		// Say which cells failed, and why, before the whole output.
		var res result.Results
		if json.Unmarshal(stdout.Bytes(), &res) == nil {
			for _, s := range res.Scenarios {
				for _, c := range s.Cells {
					if c.Verdict != result.Pass {
						t.Errorf("%s %s: %s %v (%s)", s.Name, cellName(c), c.Verdict, c.Problems, c.RunDir)
					}
				}
			}
		}
	}
	wantCode(t, r, code)
	wantNothingLeft(t, cmd.Process.Pid)
	return findScenario(t, decodeResults(t, []byte(r.stdout)), name), out
}

// TestDockerFlakyNode runs flaky-node with each node a container: the data
// service and its per-node proxies stay on this host's loopback, reached
// through the run's gateway container; the timeout toxic's hit is proven
// from the upstream's side; node-freeze pauses node-b's container and
// node-partition disconnects it from the network, each until its executors
// are declared lost; every cell and case passes.
func TestDockerFlakyNode(t *testing.T) {
	needDocker(t)
	sc, out := runDocker(t, "flaky-node", 0)
	cells := map[string]*result.Cell{}
	for i := range sc.Cells {
		c := &sc.Cells[i]
		key := string(c.Cell)
		if c.Case != "" {
			key = c.Case
		}
		cells[key] = c
		if c.Verdict != result.Pass {
			t.Errorf("%s: %s %v", key, c.Verdict, c.Problems)
		}
	}
	for key, want := range map[string]string{
		"reproduce":      "toxic timeout on node-b's proxy cut connection",
		"node-freeze":    "paused=true (engine state paused)",
		"node-partition": "attached to network",
	} {
		c := cells[key]
		if c == nil {
			t.Errorf("no cell %s", key)
			continue
		}
		var lines []string
		for _, e := range c.Evidence {
			lines = append(lines, e.Line)
		}
		if !strings.Contains(strings.Join(lines, "\n"), want) {
			t.Errorf("%s: evidence lacks %q:\n%s", key, want, strings.Join(lines, "\n"))
		}
	}
	// The nodes reached the data service at the gateway, not at 127.0.0.1.
	sp, err := os.ReadFile(filepath.Join(out, "flaky-node", "reproduce", "run-1", "spec.json"))
	if err != nil || !bytes.Contains(sp, []byte(`"datasvc.node-b": "gateway:`)) {
		t.Errorf("spec.json: want node-b's route named at the gateway (%v):\n%s", err, sp)
	}
	if b, err := os.ReadFile(filepath.Join(out, "flaky-node", "reproduce", "run-1", "gateway.log")); err != nil || !bytes.Contains(b, []byte("gateway listening")) {
		t.Errorf("gateway.log: %q, %v", b, err)
	}
}

// TestDockerStreamKillsDriverContainer runs eventual-checkpoint once per
// cell with the driver in a container: the harness kills it through the
// engine (SIGKILL) and starts the application again from its checkpoint on
// the S3 server, which the containers reach through the gateway. On the
// consistent store (control) and under either safeguard (catch) the totals
// are the oracle's; the reproduce cell, whose fault shows in some runs only,
// is not judged from one run.
func TestDockerStreamKillsDriverContainer(t *testing.T) {
	needDocker(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := command(ctx, "run", "eventual-checkpoint", "--runtime", "docker", "--repeat", "1", "--format", "json", "--quiet", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{args: cmd.Args[1:], code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
	if r.code != 0 && r.code != 1 {
		t.Fatalf("exit %d, want 0 or 1 (the reproduce cell may miss in one run)\n%s", r.code, r)
	}
	wantNothingLeft(t, cmd.Process.Pid)
	sc := findScenario(t, decodeResults(t, []byte(r.stdout)), "eventual-checkpoint")
	for _, c := range sc.Cells {
		if c.Cell != result.Reproduce && c.Verdict != result.Pass {
			t.Errorf("%s: %s %v", cellName(c), c.Verdict, c.Problems)
		}
	}
	store, err := os.ReadFile(filepath.Join(out, "eventual-checkpoint", "control", "run-1", "store.jsonl"))
	if err != nil || !bytes.Contains(store, []byte("SIGKILL to the driver (container faultbook-")) {
		t.Errorf("store.jsonl: want the harness's kill of the driver's container (%v):\n%s", err, store)
	}
	run := filepath.Join(out, "eventual-checkpoint", "control", "run-1")
	if sp, _ := os.ReadFile(filepath.Join(run, "spec.json")); !bytes.Contains(sp, []byte(`"checkpoint-endpoint": "gateway:`)) {
		t.Errorf("spec.json: want the S3 server named at the gateway:\n%s", sp)
	}
	if drv, _ := os.ReadFile(filepath.Join(run, "driver.log")); !bytes.Contains(drv, []byte("Recovered from checkpoint")) {
		t.Errorf("driver.log: the restarted driver did not recover from its checkpoint:\n%s", drv)
	}
}

func cellName(c result.Cell) string {
	if c.Case != "" {
		return c.Case
	}
	return string(c.Cell)
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
