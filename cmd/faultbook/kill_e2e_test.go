package main_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultbook/faultbook/harness/result"
)

// executorPid finds the executor process with the given id whose run
// directory is runDir, from the processes' command lines.
func executorPid(runDir string, id int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if len(argv) < 2 || !strings.Contains(filepath.Base(argv[0]), "faultbook") || argv[1] != "executor" {
			continue
		}
		if flagValue(argv, "--run-dir") == runDir && flagValue(argv, "--id") == strconv.Itoa(id) {
			return pid
		}
	}
	return 0
}

// TestExecutorKilledFromOutside kills executor 2 of a control cell with
// SIGKILL soon after it starts, as an operator or the OOM killer would. The
// engine relaunches it and recomputes what it held, so the cell either passes
// with the death on record or, if the death changed the outcome, is
// inconclusive naming it — never a failure, and within the cell's timeout.
func TestExecutorKilledFromOutside(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := command(ctx, "run", "registration-order", "--quiet", "--parallel", "1", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// Wait for the process to appear: there is no event to wait on but its
	// command line, so look for it every millisecond until the run ends.
	runDir := filepath.Join(out, "registration-order", "control", "run-1")
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var err error
	killed := false
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			if pid := executorPid(runDir, 2); pid > 0 && !killed {
				killed = syscall.Kill(pid, syscall.SIGKILL) == nil
			}
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("faultbook did not finish within %s\n%s", runTimeout, stderr.String())
	}
	if !killed {
		entries, _ := os.ReadDir(runDir)
		t.Fatalf("executor 2 of the control cell was never seen running (run directory: %v)", entries)
	}
	r := cliResult{args: cmd.Args[1:], code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
	if r.code != codeOK && r.code != codeInfra {
		t.Fatalf("exit %d, want 0 (the engine recovered) or 3 (inconclusive)\n%s", r.code, r)
	}
	res := readResultsFile(t, filepath.Join(out, "results.json"))
	sc := findScenario(t, res, "registration-order")
	for _, c := range sc.Cells {
		if c.Verdict == result.Fail {
			t.Errorf("cell %s failed: %q", c.Cell, c.Problems)
		}
	}
	control := oneCell(t, sc, result.Control)
	const reason = "executor 2 killed by SIGKILL, not injected"
	switch control.Verdict {
	case result.Inconclusive:
		if !slices.ContainsFunc(control.Problems, func(p string) bool { return strings.Contains(p, reason) }) {
			t.Errorf("inconclusive control cell does not name the death: %q", control.Problems)
		}
	case result.Pass:
		if !slices.ContainsFunc(control.Evidence, func(e result.Evidence) bool { return strings.HasPrefix(e.Line, reason) }) {
			t.Errorf("the control cell passed without the death on record: %+v", control.Evidence)
		}
	default:
		t.Errorf("control cell %s, want pass or inconclusive", control.Verdict)
	}
	t.Logf("control cell: %s in %d ms", control.Verdict, control.DurationMs)
	wantNoProcessesUnder(t, out)
}
