package driver

import (
	"strings"
	"testing"

	"github.com/faultbook/faultbook/minicluster/job"
)

func TestAttributeCrashes(t *testing.T) {
	byApp := func(exec, tid int) crash {
		return crash{exec: exec, tid: tid, causedByApp: true, exitStatus: 2, fatal: []string{"runtime: goroutine stack exceeds 1048576-byte limit", "fatal error: stack overflow"}, tail: []string{"goroutine 1 [running]:"}}
	}
	tests := []struct {
		name    string
		crashes []crash
		want    bool
	}{
		{"one executor killed: could be the machine", []crash{byApp(1, 7)}, false},
		{"two executors killed by the task", []crash{byApp(1, 7), byApp(2, 8)}, true},
		{"the same executor twice is one", []crash{byApp(1, 7), byApp(1, 8)}, false},
		{"losses unrelated to the task do not count", []crash{byApp(1, 7), {exec: 2, tid: 8, exitStatus: -1, signal: "SIGKILL"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := &taskSet{stage: job.Stage{ID: 0}, crashes: map[int][]crash{7: tc.crashes}}
			diag, ok := attributeCrashes(ts, 7)
			if ok != tc.want {
				t.Fatalf("attributed %v (%q), want %v", ok, diag, tc.want)
			}
			if ok {
				for _, want := range []string{"task 7 in stage 0.0", "killed 2 executors", "exit status 2 (fatal error: stack overflow)", "not retried"} {
					if !strings.Contains(diag, want) {
						t.Errorf("diagnosis lacks %q: %s", want, diag)
					}
				}
			}
		})
	}
}
