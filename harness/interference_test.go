package harness

import (
	"slices"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/proc"
)

// TestInterference: an executor death no fault caused turns a failed run
// into an inconclusive one naming the death, leaves a pass standing with the
// death on record, and leaves alone the exits that are part of a run's life
// and the deaths a fault of the cell injected.
func TestInterference(t *testing.T) {
	kill := fault.Spec{Point: fault.ExecutorKill, Executors: []int{2}}
	sigkill := proc.Exit{Code: -1, Signal: "SIGKILL", Signum: 9}
	tests := []struct {
		name     string
		sc       Scenario
		faults   fault.Set
		execs    []cluster.ExecutorRun
		verdict  result.Verdict // of the judged run
		want     result.Verdict
		problem  string // the first problem expected, "" for none added
		evidence string // an evidence line expected, "" for none added
	}{
		{
			name: "an outside SIGKILL makes a failure inconclusive", verdict: result.Fail, want: result.Inconclusive,
			execs:   []cluster.ExecutorRun{{ID: 1}, {ID: 2, Exit: sigkill, Replacement: 3}, {ID: 3}},
			problem: "executor 2 killed by SIGKILL, not injected: the run cannot be judged",
		},
		{
			name: "a crash makes a run that could not be judged say why", verdict: result.Inconclusive, want: result.Inconclusive,
			execs:   []cluster.ExecutorRun{{ID: 1, Exit: proc.Exit{Code: 2}}},
			problem: "executor 1 exited with status 2, not injected: the run cannot be judged",
		},
		{
			name: "a pass stands with the death on record", verdict: result.Pass, want: result.Pass,
			execs:    []cluster.ExecutorRun{{ID: 2, Exit: sigkill}},
			evidence: "executor 2 killed by SIGKILL, not injected; the engine recovered and the verdict stands",
		},
		{
			name: "a failure with no death stays a failure", verdict: result.Fail, want: result.Fail,
			execs: []cluster.ExecutorRun{{ID: 1}, {ID: 2, Exit: proc.Exit{Code: cluster.ExitRefused}}, {ID: 3, Exit: proc.Exit{Code: cluster.ExitJobFailed}}},
		},
		{
			name: "the cluster's teardown is no death", verdict: result.Fail, want: result.Fail,
			execs: []cluster.ExecutorRun{{ID: 2, Exit: sigkill, Teardown: true}},
		},
		{
			name: "an injected kill is the fault's doing", verdict: result.Fail, want: result.Fail, faults: fault.Set{kill},
			execs: []cluster.ExecutorRun{{ID: 2, Exit: sigkill}},
		},
		{
			name: "a kill aimed at another executor explains nothing", verdict: result.Fail, want: result.Inconclusive, faults: fault.Set{kill},
			execs:   []cluster.ExecutorRun{{ID: 1, Exit: sigkill}},
			problem: "executor 1 killed by SIGKILL, not injected: the run cannot be judged",
		},
		{
			name: "a scenario whose fault crashes executors", verdict: result.Fail, want: result.Fail,
			sc:     Scenario{ExecutorDeaths: true},
			faults: fault.Set{{Point: fault.RegistrationOrder}},
			execs:  []cluster.ExecutorRun{{ID: 1, Exit: proc.Exit{Code: 2}}},
		},
		{
			name: "…but not in a cell without the fault", verdict: result.Fail, want: result.Inconclusive,
			sc:      Scenario{ExecutorDeaths: true},
			execs:   []cluster.ExecutorRun{{ID: 1, Exit: proc.Exit{Code: 2}}},
			problem: "executor 1 exited with status 2, not injected: the run cannot be judged",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := result.Run{Verdict: tc.verdict, Problems: []string{"judged"}, Hit: tc.verdict == result.Pass}
			applyInterference(&r, externalDeaths(&tc.sc, plan{faults: tc.faults}, &cluster.Outcome{Executors: tc.execs}))
			if r.Verdict != tc.want {
				t.Errorf("verdict %s, want %s (problems %q)", r.Verdict, tc.want, r.Problems)
			}
			switch {
			case tc.problem != "" && (len(r.Problems) != 2 || r.Problems[0] != tc.problem):
				t.Errorf("problems %q, want %q first", r.Problems, tc.problem)
			case tc.problem == "" && len(r.Problems) != 1:
				t.Errorf("problems %q, want the judge's alone", r.Problems)
			}
			lines := make([]string, len(r.Evidence))
			for i, e := range r.Evidence {
				lines[i] = e.Line
			}
			if tc.evidence != "" && !slices.Contains(lines, tc.evidence) || tc.evidence == "" && len(lines) > 0 {
				t.Errorf("evidence %q, want %q", lines, tc.evidence)
			}
			if r.Verdict == result.Inconclusive && r.Hit {
				t.Error("an inconclusive run counted as a hit")
			}
			if tc.want != tc.verdict && !strings.Contains(r.Problems[0], "not injected") {
				t.Errorf("the verdict changed without naming the death: %q", r.Problems)
			}
		})
	}
}
