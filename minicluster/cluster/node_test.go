package cluster

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// TestRelaunch: which exits a node relaunches after, with which ids, and
// that spark.deploy.maxExecutorRetries ends the line.
func TestRelaunch(t *testing.T) {
	sigkill := proc.Exit{Code: -1, Signal: "SIGKILL", Signum: 9}
	crash := proc.Exit{Code: 2}
	tests := []struct {
		name       string
		maxRetries int
		exits      []proc.Exit
		ended      bool // the driver has ended
		want       []int
	}{
		{name: "a clean exit, a refusal, a lost driver: none", maxRetries: 10,
			exits: []proc.Exit{{Code: ExitOK}, {Code: ExitRefused}, {Code: ExitJobFailed}}, want: []int{0, 0, 0}},
		{name: "a crash and a kill: new ids in turn", maxRetries: 10, exits: []proc.Exit{crash, sigkill}, want: []int{3, 4}},
		{name: "spark.deploy.maxExecutorRetries=2 allows two", maxRetries: 2, exits: []proc.Exit{crash, crash, crash, sigkill}, want: []int{3, 4, 0, 0}},
		{name: "-1 allows any number", maxRetries: -1, exits: []proc.Exit{crash, crash, crash}, want: []int{3, 4, 5}},
		{name: "none once the driver has ended", maxRetries: 10, ended: true, exits: []proc.Exit{crash}, want: []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := testWorker(tc.maxRetries)
			w.ended = tc.ended
			for i, x := range tc.exits {
				got := w.relaunchID(&execProc{id: i + 1, w: w}, x)
				if got > 0 {
					w.watchers.Done() // the reservation launch would release
				}
				if got != tc.want[i] {
					t.Errorf("exit %d (%s): relaunched as %d, want %d", i, x, got, tc.want[i])
				}
			}
		})
	}
	t.Run("a worker on a host of its own asks the driver", func(t *testing.T) {
		w := testWorker(0) // its own count would allow none
		w.cfg.AskDriver = true
		if got := w.relaunchID(&execProc{id: 1, w: w}, crash); got != askDriver {
			t.Errorf("relaunchID = %d, want %d (ask the driver)", got, askDriver)
		}
		w.watchers.Done()
		if got := w.relaunchID(&execProc{id: 2, w: w}, proc.Exit{Code: ExitOK}); got != 0 {
			t.Errorf("a clean exit: relaunchID = %d, want 0 without asking", got)
		}
	})
	t.Run("none once the driver said it shuts down", func(t *testing.T) {
		w := testWorker(10)
		w.markGone()
		if got := w.relaunchID(&execProc{id: 1, w: w}, crash); got != 0 {
			t.Errorf("relaunched as %d after the driver left", got)
		}
	})
}

// testWorker is a worker of node-a, not connected, whose next id is 3.
func testWorker(maxRetries int) *Worker {
	return &Worker{cfg: WorkerConfig{Node: "node-a", Spec: &spec.Spec{}, IDs: NewIDs(3, 1, maxRetries)},
		gone: make(chan struct{}), log: nodelog.New(io.Discard, slog.LevelInfo), execs: map[int]*execProc{}}
}

// TestCausedByApp: an exit code or a crash signal is the process's own doing;
// a signal sent from outside is not.
func TestCausedByApp(t *testing.T) {
	for _, tc := range []struct {
		exit proc.Exit
		want bool
	}{
		{proc.Exit{Code: 2}, true},
		{proc.Exit{Code: 1}, true},
		{proc.Exit{Code: -1, Signal: "SIGSEGV", Signum: 11}, true},
		{proc.Exit{Code: -1, Signal: "SIGABRT", Signum: 6}, true},
		{proc.Exit{Code: -1, Signal: "SIGKILL", Signum: 9}, false},
		{proc.Exit{Code: -1, Signal: "SIGTERM", Signum: 15}, false},
	} {
		if got := CausedByApp(tc.exit); got != tc.want {
			t.Errorf("CausedByApp(%s) = %v, want %v", tc.exit, got, tc.want)
		}
	}
	if s := (proc.Exit{Code: -1, Signal: "SIGKILL", Signum: 9}).Status(); s != 137 {
		t.Errorf("status of a SIGKILL %d, want 137", s)
	}
}

// TestTailKeepsTheCrash: a Go crash's cause is printed above its goroutine
// dump; the tail keeps it as well as the last lines.
func TestTailKeepsTheCrash(t *testing.T) {
	tl := &tail{}
	tl.add("2026-11-29 13:00:00.000 INFO  executor.Executor: Running task 0.0 in stage 1.0 (TID 4)")
	tl.add("runtime: goroutine stack exceeds 1048576-byte limit")
	tl.add("fatal error: stack overflow")
	for i := range 40 {
		tl.add(fmt.Sprintf("main.encode(...) frame %d", i))
	}
	if got, want := tl.crash(), []string{"runtime: goroutine stack exceeds 1048576-byte limit", "fatal error: stack overflow"}; !slices.Equal(got, want) {
		t.Errorf("crash lines %q, want %q", got, want)
	}
	if got := tl.lines(); len(got) != tailLines || got[len(got)-1] != "main.encode(...) frame 39" {
		t.Errorf("tail %q, want the last %d lines", got, tailLines)
	}
}
