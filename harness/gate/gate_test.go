package gate_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/faultbook/faultbook/harness/gate"
	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports/reportstest"
)

// cell returns a cell of the sample by scenario index and kind.
func cell(r *result.Results, scenario int, kind result.CellKind) *result.Cell {
	s := &r.Scenarios[scenario]
	for i := range s.Cells {
		if s.Cells[i].Cell == kind {
			return &s.Cells[i]
		}
	}
	panic("no cell " + string(kind))
}

// Scenario 0 of the sample ("registration-order") passes every cell; scenario 1
// ("flaky-node-exclusion") fails its catch cell.
const ro, flaky = 0, 1

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(r *result.Results) // applied to the current results
		tol    gate.Tolerance
		want   []string
	}{
		{name: "identical", change: func(*result.Results) {}},
		{
			name: "verdict lost",
			change: func(r *result.Results) {
				c := cell(r, ro, result.Control)
				c.Verdict, c.Problems = result.Fail, []string{"output differs from the reference: 3 rows"}
			},
			want: []string{"registration-order/control: verdict pass → fail: output differs from the reference: 3 rows"},
		},
		{
			name:   "pass to inconclusive",
			change: func(r *result.Results) { cell(r, ro, result.NoFalseAlarm).Verdict = result.Inconclusive },
			want:   []string{"registration-order/no-false-alarm: verdict pass → inconclusive"},
		},
		{
			name: "a cell that failed before and still fails",
			change: func(r *result.Results) {
				cell(r, flaky, result.Catch).Problems = []string{"another reason"}
			},
		},
		{
			name: "safeguard stopped catching",
			change: func(r *result.Results) {
				c := cell(r, ro, result.Catch)
				c.CaughtBy, c.Verdict, c.Hits, c.DetectionMs = "", result.Fail, 0, 0
			},
			want: []string{"registration-order/catch[registry-fingerprint]: safeguard registry-fingerprint caught before, now missed (verdict pass → fail)"},
		},
		{
			name:   "another safeguard caught it",
			change: func(r *result.Results) { cell(r, ro, result.Catch).CaughtBy = "registration-required" },
			want:   []string{"registration-order/catch[registry-fingerprint]: safeguard registry-fingerprint caught before, now registration-required caught it"},
		},
		{
			name: "nothing fired but the job survived",
			change: func(r *result.Results) {
				c := cell(r, ro, result.Catch)
				c.CaughtBy, c.DetectionMs = "", 0
			},
			want: []string{"registration-order/catch[registry-fingerprint]: safeguard registry-fingerprint caught before, now nothing fired and the job survived"},
		},
		{
			name: "reproduction lost",
			change: func(r *result.Results) {
				c := cell(r, ro, result.Reproduce)
				c.Hits, c.Rate, c.Verdict = 0, reportstest.Wilson(0, 10), result.Fail
			},
			want: []string{"registration-order/reproduce: documented symptom reproduced in 7/10 runs before, now in none of 10 (verdict pass → fail)"},
		},
		{
			name: "rate fell beyond chance",
			change: func(r *result.Results) {
				c := cell(r, ro, result.Reproduce)
				c.Runs, c.Hits, c.Rate = 20, 1, reportstest.Wilson(1, 20)
			},
			want: []string{"registration-order/reproduce: rate 7/10 [0.40–0.89] before, now 1/20 [0.01–0.24]: the 95% intervals no longer overlap"},
		},
		{
			name: "rate fell within chance",
			change: func(r *result.Results) {
				c := cell(r, ro, result.Reproduce)
				c.Hits, c.Rate = 4, reportstest.Wilson(4, 10)
			},
		},
		{
			name:   "detection slower beyond tolerance",
			change: func(r *result.Results) { cell(r, ro, result.Catch).DetectionMs = 1200 },
			want:   []string{"registration-order/catch[registry-fingerprint]: detection took 412ms before, now 1200ms (limit 868ms: +50% and 250ms slack)"},
		},
		{
			name:   "detection slower within tolerance",
			change: func(r *result.Results) { cell(r, ro, result.Catch).DetectionMs = 868 },
		},
		{
			name:   "detection with no tolerance at all",
			change: func(r *result.Results) { cell(r, ro, result.Catch).DetectionMs = 413 },
			tol:    gate.Tolerance{DetectionGrowthPct: -1, DetectionSlackMs: -1},
			want:   []string{"registration-order/catch[registry-fingerprint]: detection took 412ms before, now 413ms (limit 412ms: +0% and 0ms slack)"},
		},
		{
			name:   "detection with a wider tolerance",
			change: func(r *result.Results) { cell(r, ro, result.Catch).DetectionMs = 1200 },
			tol:    gate.Tolerance{DetectionGrowthPct: 200},
		},
		{
			name:   "scenario missing",
			change: func(r *result.Results) { r.Scenarios = r.Scenarios[1:] },
			want:   []string{"registration-order: scenario missing from the current results (was pass)"},
		},
		{
			name: "cells missing because the scenario could not run",
			change: func(r *result.Results) {
				s := &r.Scenarios[flaky]
				s.Cells, s.Error, s.Verdict = nil, "exec-1 did not start", result.Inconclusive
			},
			want: []string{
				"flaky-node-exclusion/control: cell missing from the current results (was pass): scenario could not run: exec-1 did not start",
				"flaky-node-exclusion/reproduce: cell missing from the current results (was pass): scenario could not run: exec-1 did not start",
				"flaky-node-exclusion/catch[exclude-on-failure]: cell missing from the current results (was fail): scenario could not run: exec-1 did not start",
				"flaky-node-exclusion/no-false-alarm: cell missing from the current results (was pass): scenario could not run: exec-1 did not start",
			},
		},
		{
			name: "matrix caught and survived went missed and error",
			change: func(r *result.Results) {
				r.Matrix.Rows[0].Cells[2] = result.MatrixCell{Column: "hardened", Outcome: result.Missed, Detail: "ClassCastException on exec-1"}
				r.Matrix.Rows[1].Cells[2] = result.MatrixCell{Column: "hardened", Outcome: result.Errored, Detail: "exec-4 did not start"}
			},
			want: []string{
				"registration-order@hardened: caught by registry-fingerprint before, now missed (ClassCastException on exec-1)",
				"flaky-node-exclusion@hardened: survived before, now error (exec-4 did not start)",
			},
		},
		{
			name: "matrix caught went survived",
			change: func(r *result.Results) {
				r.Matrix.Rows[0].Cells[2] = result.MatrixCell{Column: "hardened", Outcome: result.Survived}
			},
		},
		{
			name:   "matrix cell missing",
			change: func(r *result.Results) { r.Matrix.Rows[1].Cells = r.Matrix.Rows[1].Cells[:4] },
			want:   []string{"flaky-node-exclusion@exclude-on-failure: matrix cell missing from the current results (was error (exec-4 did not start))"},
		},
		{
			name:   "matrix missing",
			change: func(r *result.Results) { r.Matrix = nil },
			want:   []string{"results: matrix missing from the current results"},
		},
		{
			name: "improvements are not regressions",
			change: func(r *result.Results) {
				c := cell(r, flaky, result.Catch)
				c.Verdict, c.Hits, c.CaughtBy, c.Problems = result.Pass, 1, "exclude-on-failure", nil
				r.Matrix.Rows[0].Cells[0].Outcome = result.Caught
				cell(r, ro, result.Catch).DetectionMs = 20
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			baseline := reportstest.Sample()
			current := reportstest.Sample()
			tc.change(current)
			var got []string
			for _, r := range gate.Compare(baseline, current, tc.tol) {
				got = append(got, r.String())
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("regressions differ (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCompareKinds(t *testing.T) {
	baseline := reportstest.Sample()
	current := reportstest.Sample()
	cell(current, ro, result.Catch).CaughtBy = ""
	cell(current, ro, result.Control).Verdict = result.Fail
	regs := gate.Compare(baseline, current, gate.Tolerance{})
	want := []gate.Regression{
		{Scenario: "registration-order", Cell: result.Control, Where: "control", Kind: gate.KindVerdict, Was: "pass", Now: "fail",
			Detail: "verdict pass → fail"},
		{Scenario: "registration-order", Cell: result.Catch, Where: "catch[registry-fingerprint]", Kind: gate.KindCaughtBy, Was: "registry-fingerprint", Now: "",
			Detail: "safeguard registry-fingerprint caught before, now nothing fired and the job survived"},
	}
	if diff := cmp.Diff(want, regs); diff != "" {
		t.Errorf("regressions differ (-want +got):\n%s", diff)
	}
}

func TestRegressionStringWithoutDetail(t *testing.T) {
	r := gate.Regression{Scenario: "s", Cell: result.Catch, Kind: gate.KindCaughtBy, Was: "x"}
	if got, want := r.String(), "s/catch: caught-by x → none"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestCompareAgainstItsOwnBaseline(t *testing.T) {
	r := reportstest.Sample()
	if regs := gate.Compare(gate.Baseline(r), r, gate.Tolerance{}); len(regs) != 0 {
		t.Errorf("a run regresses against its own baseline: %v", regs)
	}
	if imp := gate.Improvements(gate.Baseline(r), r); len(imp) != 0 {
		t.Errorf("a run improves on its own baseline: %v", imp)
	}
}

func TestImprovements(t *testing.T) {
	baseline := reportstest.Sample()
	current := reportstest.Sample()
	c := cell(current, flaky, result.Catch)
	c.Verdict, c.Hits, c.Rate, c.CaughtBy = result.Pass, 1, reportstest.Wilson(1, 1), "exclude-on-failure"
	cell(current, ro, result.Catch).DetectionMs = 20
	r := cell(current, ro, result.Reproduce)
	r.Runs, r.Hits, r.Rate = 40, 40, reportstest.Wilson(40, 40)
	current.Matrix.Rows[1].Cells[4] = result.MatrixCell{Column: "exclude-on-failure", Outcome: result.Caught, CaughtBy: "exclude-on-failure"}
	current.Scenarios = append(current.Scenarios, result.Scenario{Name: "no-output-operation", Verdict: result.Pass})
	want := []string{
		"registration-order/reproduce: rate up from 7/10 [0.40–0.89] to 40/40 [0.91–1.00]",
		"registration-order/catch[registry-fingerprint]: detection down from 412ms to 20ms",
		"flaky-node-exclusion/catch[exclude-on-failure]: verdict fail → pass",
		"flaky-node-exclusion/catch[exclude-on-failure]: now caught by exclude-on-failure",
		"no-output-operation: new scenario (pass)",
		"flaky-node-exclusion@exclude-on-failure: error (exec-4 did not start) before, now caught by exclude-on-failure",
	}
	if diff := cmp.Diff(want, gate.Improvements(baseline, current)); diff != "" {
		t.Errorf("improvements differ (-want +got):\n%s", diff)
	}
	if regs := gate.Compare(baseline, current, gate.Tolerance{}); len(regs) != 0 {
		t.Errorf("improvements reported as regressions: %v", regs)
	}
}

func TestBaseline(t *testing.T) {
	r := reportstest.Sample()
	b := gate.Baseline(r)
	if diff := cmp.Diff(reportstest.Sample(), r); diff != "" {
		t.Fatalf("Baseline changed its input (-before +after):\n%s", diff)
	}
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, gone := range []string{`"timeline"`, `"logs"`, `"run_dir"`} {
		if strings.Contains(string(data), gone) {
			t.Errorf("baseline still carries %s", gone)
		}
	}
	rc, bc := cell(r, ro, result.Reproduce), cell(b, ro, result.Reproduce)
	if bc.Runs != rc.Runs || bc.Hits != rc.Hits || *bc.Rate != *rc.Rate || bc.Verdict != rc.Verdict || len(bc.Repeats) != len(rc.Repeats) {
		t.Errorf("baseline lost the reproduce cell's counts: %+v", bc)
	}
	for _, run := range bc.Repeats {
		if run.RunDir != "" || run.Evidence != nil {
			t.Errorf("repeat %d keeps its run dir or evidence", run.Index)
		}
	}
	if cb := cell(b, ro, result.Catch); cb.CaughtBy != "registry-fingerprint" || cb.DetectionMs != 412 {
		t.Errorf("baseline lost caught_by or detection_ms: %+v", cb)
	}
	if diff := cmp.Diff(r.Matrix, b.Matrix); diff != "" {
		t.Errorf("baseline matrix differs (-run +baseline):\n%s", diff)
	}
	// The copy is deep: changing it leaves the run alone.
	cell(b, ro, result.Reproduce).Rate.Lo = 0
	b.Matrix.Rows[0].Cells[0].Outcome = result.Caught
	if cell(r, ro, result.Reproduce).Rate.Lo == 0 || r.Matrix.Rows[0].Cells[0].Outcome == result.Caught {
		t.Error("baseline shares memory with the run")
	}
}

// Several catch cells of one scenario are matched by their safeguards, not by
// their kind alone: a second catch cell is not compared with the first.
func TestCompareSeveralCatchCells(t *testing.T) {
	withTwo := func() *result.Results {
		r := reportstest.Sample()
		s := &r.Scenarios[0]
		second := *cell(r, ro, result.Catch)
		second.Safeguards, second.CaughtBy = []string{"registrator-fail-fast"}, "registrator-fail-fast"
		s.Cells = append(s.Cells, second)
		return r
	}
	baseline, current := withTwo(), withTwo()
	if regs := gate.Compare(baseline, current, gate.Tolerance{}); len(regs) != 0 {
		t.Fatalf("identical results with two catch cells: %v", regs)
	}
	s := &current.Scenarios[0]
	s.Cells[len(s.Cells)-1].CaughtBy, s.Cells[len(s.Cells)-1].Verdict = "", result.Fail
	var got []string
	for _, r := range gate.Compare(baseline, current, gate.Tolerance{}) {
		got = append(got, r.String())
	}
	want := []string{"registration-order/catch[registrator-fail-fast]: safeguard registrator-fail-fast caught before, now missed (verdict pass → fail)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("regressions differ (-want +got):\n%s", diff)
	}
}

// TestCheckBaseline refuses baselines that would gate nothing; each of these
// made Compare report no regression against any run.
func TestCheckBaseline(t *testing.T) {
	if err := gate.CheckBaseline(gate.Baseline(reportstest.Sample())); err != nil {
		t.Fatalf("the sample's baseline is refused: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(r *result.Results)
		field  string
	}{
		{"cells null", func(r *result.Results) { r.Scenarios[ro].Cells = nil }, "scenarios[0].cells"},
		{"unknown verdict", func(r *result.Results) { r.Scenarios[flaky].Cells[0].Verdict = "ok" }, "scenarios[1].cells[0].verdict"},
		{"never judged", func(r *result.Results) { r.Scenarios[flaky].Verdict = "" }, "scenarios[1].verdict"},
		{"interrupted", func(r *result.Results) { r.Interrupted = true }, "interrupted"},
		{"nothing at all", func(r *result.Results) { r.Scenarios, r.Matrix = []result.Scenario{}, nil }, "scenarios"},
		{"empty matrix", func(r *result.Results) { r.Matrix.Rows = nil }, "matrix.rows"},
		{"unknown outcome", func(r *result.Results) { r.Matrix.Rows[0].Cells[0].Outcome = "stopped" }, "matrix.rows[0].cells[0].outcome"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := gate.Baseline(reportstest.Sample())
			tc.change(b)
			err := gate.CheckBaseline(b)
			if !errors.Is(err, result.ErrInvalid) || !strings.Contains(err.Error(), tc.field+":") {
				t.Fatalf("CheckBaseline() = %v, want ErrInvalid naming %s", err, tc.field)
			}
		})
	}
}

// A case skipped because this run's runtime cannot run it, where the
// baseline ran under another, is not judged rather than a regression; the
// same skip under the baseline's own runtime is one. A matrix cell not
// judged is listed apart whatever the baseline's outcome was, and real
// regressions beside them are still regressions.
func TestNotJudged(t *testing.T) {
	withCase := func(rt result.Runtime, v result.Verdict) *result.Results {
		r := reportstest.Sample()
		r.Runtime = rt
		c := result.Cell{Cell: result.Case, Case: "node-partition", Verdict: v, Runs: 1, Hits: 1}
		if v == result.Skipped {
			c.Runs, c.Hits, c.Problems = 0, 0, []string{"node-partition@node-b needs each node to be a host of its own (--runtime docker)"}
		}
		r.Scenarios[flaky].Cells = append(r.Scenarios[flaky].Cells, c)
		return r
	}
	strs := func(regs []gate.Regression) []string {
		var out []string
		for _, r := range regs {
			out = append(out, r.String())
		}
		return out
	}
	for _, tc := range []struct {
		name           string
		baseline, cur  *result.Results
		change         func(r *result.Results)
		regs, unjudged []string
		env            []string
	}{
		{
			name:     "docker baseline, process run",
			baseline: withCase(result.RuntimeDocker, result.Pass), cur: withCase(result.RuntimeProcess, result.Skipped),
			unjudged: []string{"flaky-node-exclusion/case[node-partition]: pass before, now skipped under --runtime process: node-partition@node-b needs each node to be a host of its own (--runtime docker)"},
			env:      []string{"baseline ran under --runtime docker, this run under --runtime process: cells that need docker are skipped here, not judged (run the gate with --runtime docker to judge them)"},
		},
		{
			name:     "docker baseline, process run, and a real regression",
			baseline: withCase(result.RuntimeDocker, result.Pass), cur: withCase(result.RuntimeProcess, result.Skipped),
			change:   func(r *result.Results) { cell(r, ro, result.Control).Verdict = result.Fail },
			regs:     []string{"registration-order/control: verdict pass → fail"},
			unjudged: []string{"flaky-node-exclusion/case[node-partition]: pass before, now skipped under --runtime process: node-partition@node-b needs each node to be a host of its own (--runtime docker)"},
			env:      []string{"baseline ran under --runtime docker, this run under --runtime process: cells that need docker are skipped here, not judged (run the gate with --runtime docker to judge them)"},
		},
		{
			name:     "skipped under the baseline's own runtime",
			baseline: withCase(result.RuntimeProcess, result.Pass), cur: withCase("", result.Skipped),
			regs: []string{"flaky-node-exclusion/case[node-partition]: verdict pass → skipped: node-partition@node-b needs each node to be a host of its own (--runtime docker)"},
		},
		{
			name:     "process baseline, docker run",
			baseline: withCase(result.RuntimeProcess, result.Skipped), cur: withCase(result.RuntimeDocker, result.Pass),
			env: []string{"baseline ran under --runtime process, this run under --runtime docker: cells the baseline skipped for needing docker run here"},
		},
		{
			name:     "an older baseline without the field is the process runtime",
			baseline: withCase("", result.Skipped), cur: withCase(result.RuntimeProcess, result.Skipped),
		},
		{
			name:     "matrix cells not judged",
			baseline: reportstest.Sample(), cur: reportstest.Sample(),
			change: func(r *result.Results) {
				r.Matrix.Rows[0].Cells[2] = result.MatrixCell{Column: "hardened", Outcome: result.NotJudged, Detail: "the slowdown never set in within this run"}
				r.Matrix.Rows[0].Cells[0] = result.MatrixCell{Column: "spark-1.0", Outcome: result.NotJudged, Detail: "the slowdown never set in within this run"}
				r.Matrix.Rows[1].Cells[4] = result.MatrixCell{Column: "exclude-on-failure", Outcome: result.NotJudged, Detail: "no effect"}
			},
			// The baseline's error cell was not judged either: nothing to say.
			unjudged: []string{
				"registration-order@spark-1.0: missed (ClassCastException on exec-1) before, now not judged: the slowdown never set in within this run",
				"registration-order@hardened: caught by registry-fingerprint before, now not judged: the slowdown never set in within this run",
			},
		},
		{
			name:     "external store",
			baseline: reportstest.Sample(), cur: reportstest.Sample(),
			change: func(r *result.Results) { r.CheckpointStore = result.StoreExternal },
			env:    []string{"baseline checkpointed to the embedded store, this run to the external one: store faults cannot reach it here"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.change != nil {
				tc.change(tc.cur)
			}
			if diff := cmp.Diff(tc.regs, strs(gate.Compare(tc.baseline, tc.cur, gate.Tolerance{}))); diff != "" {
				t.Errorf("regressions differ (-want +got):\n%s", diff)
			}
			nj := gate.NotJudged(tc.baseline, tc.cur)
			if diff := cmp.Diff(tc.unjudged, strs(nj)); diff != "" {
				t.Errorf("not judged differ (-want +got):\n%s", diff)
			}
			for _, r := range nj {
				if r.Kind != gate.KindNotJudged {
					t.Errorf("%s: kind %s, want %s", r, r.Kind, gate.KindNotJudged)
				}
			}
			if diff := cmp.Diff(tc.env, gate.Environment(tc.baseline, tc.cur)); diff != "" {
				t.Errorf("environment lines differ (-want +got):\n%s", diff)
			}
		})
	}
}

// A matrix cell judged again after a run that could not judge it is an
// improvement when it caught or survived.
func TestNotJudgedThenJudged(t *testing.T) {
	baseline, current := reportstest.Sample(), reportstest.Sample()
	baseline.Matrix.Rows[0].Cells[0] = result.MatrixCell{Column: "spark-1.0", Outcome: result.NotJudged, Detail: "the slowdown never set in within this run"}
	current.Matrix.Rows[0].Cells[0] = result.MatrixCell{Column: "spark-1.0", Outcome: result.Caught, CaughtBy: "registry-fingerprint"}
	want := []string{"registration-order@spark-1.0: not-judged (the slowdown never set in within this run) before, now caught by registry-fingerprint"}
	if diff := cmp.Diff(want, gate.Improvements(baseline, current)); diff != "" {
		t.Errorf("improvements differ (-want +got):\n%s", diff)
	}
	if regs, nj := gate.Compare(baseline, current, gate.Tolerance{}), gate.NotJudged(baseline, current); len(regs)+len(nj) != 0 {
		t.Errorf("regressions %v, not judged %v; want none", regs, nj)
	}
}
