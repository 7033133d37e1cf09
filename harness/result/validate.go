package result

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid marks results that decode as JSON but break the schema: an
// unknown verdict or outcome, a scenario that was judged yet has no cells, a
// count that cannot be. Such a file is refused rather than read as "nothing to
// compare", which would let a broken baseline pass every run.
var ErrInvalid = errors.New("invalid results")

// Verdicts lists every verdict the schema knows.
var Verdicts = []Verdict{Pass, Fail, Inconclusive, Skipped}

// Outcomes lists every matrix outcome the schema knows.
var Outcomes = []Outcome{Caught, Survived, Missed, Errored, NotJudged}

// Validate checks r against the schema "faultbook/results/v1" beyond what
// decoding checks. Every problem is named by its JSON path
// ("scenarios[1].cells[0].verdict: ..."), all on one line separated by "; ",
// and the error wraps ErrInvalid.
//
// What a run writes as it goes stays valid: a scenario whose verdict is still
// empty is one not yet judged and may have any cells, including none. Cell
// kinds are not checked against the four known ones, since a newer build may
// add kinds that an older one shows as they are. An absent runtime or
// checkpoint store is an older file's and means the default (Env).
func (r *Results) Validate() error {
	var errs []string
	bad := func(path, format string, a ...any) {
		errs = append(errs, path+": "+fmt.Sprintf(format, a...))
	}
	if r.Schema != Schema {
		bad("schema", "%q, want %q", r.Schema, Schema)
	}
	if r.Runtime != "" && !slices.Contains(Runtimes, r.Runtime) {
		bad("runtime", "unknown runtime %q (want %s)", r.Runtime, joinQuoted(Runtimes))
	}
	if r.CheckpointStore != "" && !slices.Contains(CheckpointStores, r.CheckpointStore) {
		bad("checkpoint_store", "unknown checkpoint store %q (want %s)", r.CheckpointStore, joinQuoted(CheckpointStores))
	}
	if r.Scenarios == nil && r.Matrix == nil && !r.Interrupted {
		bad("scenarios", "missing: results hold scenarios, a matrix or both (or say they were interrupted)")
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		p := fmt.Sprintf("scenarios[%d]", i)
		if s.Name == "" {
			bad(p+".name", "empty")
		}
		if s.Verdict != "" && !slices.Contains(Verdicts, s.Verdict) {
			bad(p+".verdict", "unknown verdict %q (want %s)", s.Verdict, verdictList())
		}
		if s.Verdict != "" && len(s.Cells) == 0 && s.Error == "" {
			bad(p+".cells", "empty, yet the scenario was judged %q (a scenario that could not run says why in \"error\")", s.Verdict)
		}
		for j := range s.Cells {
			s.Cells[j].validate(fmt.Sprintf("%s.cells[%d]", p, j), bad)
		}
	}
	if r.Matrix != nil {
		r.Matrix.validate(bad)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(errs, "; "))
}

func (c *Cell) validate(p string, bad func(path, format string, a ...any)) {
	if c.Cell == "" {
		bad(p+".cell", "empty (want one of %s)", kindList())
	}
	if !slices.Contains(Verdicts, c.Verdict) {
		bad(p+".verdict", "unknown verdict %q (want %s)", c.Verdict, verdictList())
	}
	if c.Runs < 0 || c.Hits < 0 || c.Hits > c.Runs {
		bad(p+".hits", "%d hits of %d runs", c.Hits, c.Runs)
	}
	if c.Rate != nil && !(0 <= c.Rate.Lo && c.Rate.Lo <= c.Rate.Hi && c.Rate.Hi <= 1) {
		bad(p+".rate", "[%g, %g] is no interval within [0, 1]", c.Rate.Lo, c.Rate.Hi)
	}
	if c.DurationMs < 0 || c.DetectionMs < 0 {
		bad(p+".duration_ms", "negative duration")
	}
	for k, run := range c.Repeats {
		if !slices.Contains(Verdicts, run.Verdict) {
			bad(fmt.Sprintf("%s.repeats[%d].verdict", p, k), "unknown verdict %q (want %s)", run.Verdict, verdictList())
		}
	}
}

func (m *Matrix) validate(bad func(path, format string, a ...any)) {
	if m.Columns == nil {
		bad("matrix.columns", "missing")
	}
	for i := range m.Rows {
		row := &m.Rows[i]
		p := fmt.Sprintf("matrix.rows[%d]", i)
		if row.Scenario == "" {
			bad(p+".scenario", "empty")
		}
		for j, c := range row.Cells {
			cp := fmt.Sprintf("%s.cells[%d]", p, j)
			if !slices.Contains(m.Columns, c.Column) {
				bad(cp+".column", "%q is not one of matrix.columns", c.Column)
			}
			if !slices.Contains(Outcomes, c.Outcome) {
				bad(cp+".outcome", "unknown outcome %q (want %s)", c.Outcome, outcomeList())
			}
		}
	}
}

func verdictList() string { return joinQuoted(Verdicts) }
func outcomeList() string { return joinQuoted(Outcomes) }
func kindList() string    { return joinQuoted(Cells) }

func joinQuoted[T ~string](xs []T) string {
	q := make([]string, len(xs))
	for i, x := range xs {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}
