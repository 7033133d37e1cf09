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

// TestExecutorKilledFromOutside kills executor 2 of a cell with SIGKILL as
// soon as it starts, as an operator or the OOM killer would. The engine
// relaunches it and recomputes what it held, so the cell either passes with
// the death on record or, if the death changed the outcome, is inconclusive
// naming it — never a failure, and within the cell's timeout.
func TestExecutorKilledFromOutside(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := command(ctx, "run", "registration-order", "--quiet", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	// The first cell whose executor 2 starts is the victim. Its log file is
	// created just before the process is spawned; there is no event to wait
	// on but these, so look every millisecond until the run ends.
	var cellDirs []string
	for _, cell := range []string{"control", "reproduce", "catch-registry-fingerprint", "no-false-alarm"} {
		cellDirs = append(cellDirs, filepath.Join(out, "registration-order", cell, "run-1"))
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var err error
	victim, killed := "", false
wait:
	for {
		select {
		case err = <-done:
			break wait
		case <-tick.C:
			for _, dir := range cellDirs {
				if _, serr := os.Stat(filepath.Join(dir, "exec-2.log")); victim == "" && serr == nil {
					victim = dir
				}
			}
			if victim != "" && !killed {
				if pid := executorPid(victim, 2); pid > 0 {
					killed = syscall.Kill(pid, syscall.SIGKILL) == nil
				}
			}
		}
	}
	if ctx.Err() != nil {
		t.Fatalf("faultbook did not finish within %s\n%s", runTimeout, stderr.String())
	}
	if !killed {
		t.Fatalf("executor 2 of %q was never seen running", victim)
	}
	r := cliResult{args: cmd.Args[1:], code: exitCode(t, err), stdout: stdout.String(), stderr: stderr.String()}
	if r.code != codeOK && r.code != codeInfra {
		t.Fatalf("exit %d, want 0 (the engine recovered) or 3 (inconclusive)\n%s", r.code, r)
	}
	res := readResultsFile(t, filepath.Join(out, "results.json"))
	sc := findScenario(t, res, "registration-order")
	var cell *result.Cell
	for i, c := range sc.Cells {
		if c.Verdict == result.Fail {
			t.Errorf("cell %s failed: %q", c.Cell, c.Problems)
		}
		if c.RunDir == victim {
			cell = &sc.Cells[i]
		}
	}
	if cell == nil {
		t.Fatalf("no cell ran in %s", victim)
	}
	const reason = "executor 2 killed by SIGKILL, not injected"
	switch cell.Verdict {
	case result.Inconclusive:
		if !slices.ContainsFunc(cell.Problems, func(p string) bool { return strings.Contains(p, reason) }) {
			t.Errorf("inconclusive %s cell does not name the death: %q", cell.Cell, cell.Problems)
		}
	case result.Pass:
		if !slices.ContainsFunc(cell.Evidence, func(e result.Evidence) bool { return strings.HasPrefix(e.Line, reason) }) {
			t.Errorf("the %s cell passed without the death on record: %+v", cell.Cell, cell.Evidence)
		}
	default:
		t.Errorf("%s cell %s, want pass or inconclusive", cell.Cell, cell.Verdict)
	}
	t.Logf("%s cell, executor 2 killed: %s in %d ms", cell.Cell, cell.Verdict, cell.DurationMs)
	wantNoProcessesUnder(t, out)
}
