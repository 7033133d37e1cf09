package gate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
)

// Baseline returns a copy of r fit to commit as the gate's baseline: it keeps
// everything Compare reads (verdicts, runs, hits, rates, caught_by,
// detection_ms, the matrix) and the evidence and problems that explain them,
// and drops what is bulky or points at one machine: node logs, timelines, run
// directories, and each repetition's evidence and run directory. A baseline so
// stripped changes only when a result does, which keeps its diffs reviewable.
// r is not modified.
func Baseline(r *result.Results) *result.Results {
	out := *r
	out.Scenarios = make([]result.Scenario, len(r.Scenarios))
	for i, s := range r.Scenarios {
		s.Chain = slices.Clone(s.Chain)
		cells := make([]result.Cell, len(s.Cells))
		for j, c := range s.Cells {
			cells[j] = baselineCell(c)
		}
		s.Cells = cells
		out.Scenarios[i] = s
	}
	out.Matrix = cloneMatrix(r.Matrix)
	return &out
}

func baselineCell(c result.Cell) result.Cell {
	if c.Rate != nil {
		iv := *c.Rate
		c.Rate = &iv
	}
	if c.OverheadPct != nil {
		v := *c.OverheadPct
		c.OverheadPct = &v
	}
	if c.OverheadInterval != nil {
		iv := *c.OverheadInterval
		c.OverheadInterval = &iv
	}
	c.Evidence = slices.Clone(c.Evidence)
	c.Safeguards = slices.Clone(c.Safeguards)
	c.Faults = slices.Clone(c.Faults)
	c.Problems = slices.Clone(c.Problems)
	c.RunDir = ""
	c.Timeline = nil
	c.Logs = nil
	if c.Repeats != nil {
		runs := make([]result.Run, len(c.Repeats))
		for i, run := range c.Repeats {
			run.RunDir = ""
			run.Evidence = nil
			run.Problems = slices.Clone(run.Problems)
			runs[i] = run
		}
		c.Repeats = runs
	}
	return c
}

func cloneMatrix(m *result.Matrix) *result.Matrix {
	if m == nil {
		return nil
	}
	out := &result.Matrix{Columns: slices.Clone(m.Columns), Rows: make([]result.MatrixRow, len(m.Rows))}
	for i, row := range m.Rows {
		out.Rows[i] = result.MatrixRow{Scenario: row.Scenario, Cells: slices.Clone(row.Cells)}
	}
	return out
}

// CheckBaseline refuses a baseline that could not gate anything: one that
// breaks the schema, was cut short, or holds a scenario never judged or judged
// without cells. Compare walks the baseline's cells, so such a file would read
// as "no regression" whatever the current run did. The error wraps
// result.ErrInvalid and names the field.
func CheckBaseline(b *result.Results) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	var errs []string
	if b.Interrupted {
		errs = append(errs, "interrupted: true (a baseline comes from a finished run)")
	}
	if len(b.Scenarios) == 0 && b.Matrix == nil {
		errs = append(errs, "scenarios: empty and no matrix: nothing to compare with")
	}
	for i, s := range b.Scenarios {
		switch {
		case s.Verdict == "":
			errs = append(errs, fmt.Sprintf("scenarios[%d].verdict: empty: scenario %s was never judged", i, s.Name))
		case len(s.Cells) == 0:
			errs = append(errs, fmt.Sprintf("scenarios[%d].cells: empty: scenario %s has nothing to compare with", i, s.Name))
		}
	}
	if b.Matrix != nil && len(b.Matrix.Rows) == 0 {
		errs = append(errs, "matrix.rows: empty: the matrix has nothing to compare with")
	}
	if len(errs) > 0 {
		return fmt.Errorf("baseline: %w: %s", result.ErrInvalid, strings.Join(errs, "; "))
	}
	return nil
}
