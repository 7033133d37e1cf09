package reportstest

import (
	"fmt"

	"github.com/faultbook/faultbook/harness/result"
)

// Scenario and safeguard names of the synthetic catalogue: the four of the
// catalogue today, then ones of the kind being added, so that widths are
// realistic.
var (
	catalogueScenarios = []string{
		"registration-order", "registration-order-natural", "registration-shift", "registrator-transport",
		"option-nil", "deep-list", "flaky-node-exclusion", "streaming-checkpoint-stall",
		"streaming-batch-backlog", "executor-lost-fetch-failed", "speculative-duplicate-output",
		"broadcast-too-large",
	}
	catalogueSafeguards = []string{
		"registry-fingerprint", "registrator-fail-fast", "executor-wide-registry", "exclude-on-failure",
		"option-nil-guard", "fetch-failed-recompute", "deep-list-depth-limit", "checkpoint-timeout",
		"batch-backpressure", "speculation", "output-commit-coordinator", "broadcast-size-limit",
		"heartbeat-timeout", "shuffle-checksum", "task-result-size-limit", "stage-retry-limit",
	}
	catalogueProfiles = []string{"spark-1.0", "spark-3", "hardened"}
)

// Catalogue returns the results of a synthetic run of the given number of
// scenarios (at most 12) and safeguards (at most 16), with a matrix of every
// profile and safeguard: the size the catalogue is growing to, for testing
// that tables still fit a screen. Outcomes, verdicts and rates vary in a
// fixed pattern, so the output is deterministic; the scenario at index 2 fails
// its catch cell and the one at index 5 ran its reproduce cell ten times.
func Catalogue(scenarios, safeguards int) *result.Results {
	names := catalogueScenarios[:scenarios]
	guards := catalogueSafeguards[:safeguards]
	r := &result.Results{Schema: result.Schema, Seed: 1, DurationMs: 12_400}
	m := &result.Matrix{Columns: append(append([]string{}, catalogueProfiles...), guards...)}
	for i, name := range names {
		// Each scenario is caught by one or two of the safeguards.
		own := []string{guards[i%len(guards)]}
		if i%3 == 0 {
			own = append(own, guards[(i+5)%len(guards)])
		}
		r.Scenarios = append(r.Scenarios, catalogueScenario(i, name, own))
		row := result.MatrixRow{Scenario: name}
		for j, col := range m.Columns {
			c := result.MatrixCell{Column: col, Outcome: result.Missed, Detail: "the documented symptom: job aborted"}
			switch {
			case col == "hardened" || col == own[0]:
				c.Outcome, c.CaughtBy, c.Detail = result.Caught, own[0], own[0]+" fired: diagnosis names the cause"
			case col == "spark-3" && i%2 == 0:
				c.Outcome, c.Detail = result.Survived, "the job completed correctly"
			case (i+j)%11 == 0:
				c.Outcome, c.Detail = result.Errored, "exec-2 did not register within 10s"
			case len(own) > 1 && col == own[1]:
				c.Outcome, c.CaughtBy, c.Detail = result.Caught, col, col+" fired"
			}
			row.Cells = append(row.Cells, c)
		}
		m.Rows = append(m.Rows, row)
	}
	r.Matrix = m
	return r
}

func catalogueScenario(i int, name string, guards []string) result.Scenario {
	fault := []string{name + ":exec-2"}
	cell := func(kind result.CellKind, v result.Verdict, runs, hits int, sg []string) result.Cell {
		c := result.Cell{Cell: kind, Verdict: v, Runs: runs, Hits: hits, Rate: Wilson(hits, runs),
			DurationMs: int64(300 + 40*i), Safeguards: sg, Faults: []string{}, Evidence: []result.Evidence{}}
		if kind == result.Reproduce || kind == result.Catch {
			c.Faults = fault
		}
		return c
	}
	s := result.Scenario{Name: name, Title: fmt.Sprintf("synthetic failure %d", i+1), Source: "000_5e7405bbbac7885c.txt",
		Symptom: "ClassCastException", Verdict: result.Pass}
	s.Cells = append(s.Cells, cell(result.Control, result.Pass, 1, 1, []string{}))
	if i == 5 {
		s.Cells = append(s.Cells, cell(result.Reproduce, result.Pass, 10, 7, []string{}))
	} else {
		s.Cells = append(s.Cells, cell(result.Reproduce, result.Pass, 1, 1, []string{}))
	}
	for _, g := range guards {
		c := cell(result.Catch, result.Pass, 1, 1, []string{g})
		c.CaughtBy = g
		if i == 2 {
			c.Verdict, c.Hits, c.CaughtBy = result.Fail, 0, ""
			c.Problems = []string{g + " did not fire: the job aborted with the documented symptom"}
			c.Observed = "job aborted after 4 failures of task 3"
			s.Verdict = result.Fail
		}
		s.Cells = append(s.Cells, c)
	}
	s.Cells = append(s.Cells, cell(result.NoFalseAlarm, result.Pass, 1, 1, guards))
	return s
}
