// Package reports renders a faultbook run's results for people and for CI: a
// terminal table, Markdown for a CI job summary, JUnit XML for test-report
// consumers, a self-contained HTML page, and the JSON file the other renderers
// can be re-run from.
//
// It reads the types of harness/result and nothing else of the project, so a
// saved result can be rendered again long after the run, by any version that
// understands its schema. Every renderer is deterministic for a given input:
// no map order and no clock reach the output.
package reports

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/faultbook/faultbook/harness/result"
)

// notRun is shown for a cell a scenario does not have, such as every cell of a
// scenario that could not start.
const notRun = "—"

// findCell returns the scenario's cell of that kind, or nil.
func findCell(s *result.Scenario, kind result.CellKind) *result.Cell {
	for i := range s.Cells {
		if s.Cells[i].Cell == kind {
			return &s.Cells[i]
		}
	}
	return nil
}

// findCells returns every cell of that kind: a scenario may judge several
// safeguards in catch cells of their own.
func findCells(s *result.Scenario, kind result.CellKind) []*result.Cell {
	var out []*result.Cell
	for i := range s.Cells {
		if s.Cells[i].Cell == kind {
			out = append(out, &s.Cells[i])
		}
	}
	return out
}

// cellLabel names a cell where several of a kind may stand side by side:
// "catch: registry-fingerprint" for a catch cell, the kind otherwise.
func cellLabel(c *result.Cell) string {
	if c.Cell == result.Catch && c.UserFix != "" {
		return "catch: fix in user code (" + c.UserFix + ")"
	}
	if c.Cell == result.Catch && len(c.Safeguards) > 0 {
		return "catch: " + strings.Join(c.Safeguards, "+")
	}
	if c.Case != "" {
		return "case: " + c.Case
	}
	return string(c.Cell)
}

// kindSummary is the summary-table entry of one kind of cell: the cell's own
// summary when there is one, else the worst verdict and how many of the cells
// passed ("pass 3/3 cells").
func kindSummary(s *result.Scenario, kind result.CellKind) (result.Verdict, string, bool) {
	cells := findCells(s, kind)
	switch len(cells) {
	case 0:
		return "", notRun, false
	case 1:
		return cells[0].Verdict, cellSummary(cells[0]), true
	}
	v, passed := result.Pass, 0
	for _, c := range cells {
		switch c.Verdict {
		case result.Pass:
			passed++
		case result.Fail:
			v = result.Fail
		default:
			if v != result.Fail {
				v = c.Verdict
			}
		}
	}
	return v, fmt.Sprintf("%s %d/%d cells", verdictWord(v), passed, len(cells)), true
}

// orderedCells returns the scenario's cells in the canonical order, then any
// cell of a kind this package does not know, in the order they were recorded,
// so that a newer result is shown whole rather than partly.
func orderedCells(s *result.Scenario) []*result.Cell {
	out := make([]*result.Cell, 0, len(s.Cells))
	for _, k := range result.Cells {
		out = append(out, findCells(s, k)...)
	}
	for i := range s.Cells {
		if !slices.Contains(result.Cells, s.Cells[i].Cell) {
			out = append(out, &s.Cells[i])
		}
	}
	return out
}

// verdictWord is the verdict as a word; an empty verdict means the cell or
// scenario was not judged (an interrupted run).
func verdictWord(v result.Verdict) string {
	if v == "" {
		return "not run"
	}
	return string(v)
}

// cellSummary is a cell in one short phrase: "pass 1/1", or with the interval
// when the cell ran more than once, "pass 7/10 [0.40–0.89]".
func cellSummary(c *result.Cell) string {
	if c == nil {
		return notRun
	}
	if c.Verdict == result.Skipped {
		return "skipped (not applicable to this runtime)"
	}
	s := fmt.Sprintf("%s %d/%d", verdictWord(c.Verdict), c.Hits, c.Runs)
	if c.Rate != nil && c.Runs > 1 {
		s += " " + intervalText(c.Rate)
	}
	return s
}

// intervalText prints an interval the way the tables do: "[0.40–0.89]".
func intervalText(iv *result.Interval) string {
	return fmt.Sprintf("[%.2f–%.2f]", iv.Lo, iv.Hi)
}

// caughtBy lists the safeguards that caught the fault, over every catch cell.
func caughtBy(s *result.Scenario) string { return strings.Join(caughtByList(s), ", ") }

func caughtByList(s *result.Scenario) []string {
	var names []string
	for _, c := range findCells(s, result.Catch) {
		if c.Caught() != "" && !slices.Contains(names, c.Caught()) {
			names = append(names, c.Caught())
		}
	}
	return names
}

// cellTotalMs is the wall time a cell took over all its runs.
func cellTotalMs(c *result.Cell) int64 {
	return c.DurationMs * int64(max(c.Runs, 1))
}

// scenarioMs is the wall time of all of a scenario's runs. Scenario carries no
// duration of its own, so it is the sum of its cells'.
func scenarioMs(s *result.Scenario) int64 {
	var ms int64
	for i := range s.Cells {
		ms += cellTotalMs(&s.Cells[i])
	}
	return ms
}

// formatMs prints a duration for people: "412ms", "4.5s", "1m2.3s".
func formatMs(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	if d >= time.Second {
		d = d.Round(100 * time.Millisecond)
	}
	return d.String()
}

// sourceGroup is the evidence of one source, in the order it was recorded.
type sourceGroup struct {
	Source string
	Lines  []string
}

// groupBySource groups evidence by where it came from: the driver first, then
// executors by number (exec-2 before exec-10), then anything else by name, and
// the harness's own judgements last.
func groupBySource(ev []result.Evidence) []sourceGroup {
	var groups []sourceGroup
	for _, e := range ev {
		i := slices.IndexFunc(groups, func(g sourceGroup) bool { return g.Source == e.Source })
		if i < 0 {
			groups = append(groups, sourceGroup{Source: e.Source})
			i = len(groups) - 1
		}
		groups[i].Lines = append(groups[i].Lines, e.Line)
	}
	slices.SortStableFunc(groups, func(a, b sourceGroup) int { return compareSources(a.Source, b.Source) })
	return groups
}

// compareSources orders evidence sources as groupBySource describes.
func compareSources(a, b string) int {
	ra, na := sourceRank(a)
	rb, nb := sourceRank(b)
	if c := cmp.Compare(ra, rb); c != 0 {
		return c
	}
	if c := cmp.Compare(na, nb); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func sourceRank(s string) (rank, n int) {
	switch {
	case s == "driver":
		return 0, 0
	case isExecutor(s):
		n, _ := strconv.Atoi(strings.TrimPrefix(s, "exec-"))
		return 1, n
	case s == "harness":
		return 3, 0
	}
	return 2, 0
}

// isExecutor reports whether a source names an executor ("exec-N").
func isExecutor(s string) bool {
	n, ok := strings.CutPrefix(s, "exec-")
	if !ok || n == "" {
		return false
	}
	_, err := strconv.Atoi(n)
	return err == nil
}

// labelled prints evidence the way every text renderer does: "[exec-2] line".
func labelled(e result.Evidence) string {
	src := e.Source
	if src == "" {
		src = "?"
	}
	return "[" + src + "] " + e.Line
}

// needsDetail reports whether a cell's problems and evidence belong under a
// table: anything that did not pass.
func needsDetail(c *result.Cell) bool {
	return c.Verdict != result.Pass
}

// counts tallies scenario verdicts for one-line summaries.
func counts(r *result.Results) string {
	var pass, fail, inc, other int
	for _, s := range r.Scenarios {
		switch s.Verdict {
		case result.Pass:
			pass++
		case result.Fail:
			fail++
		case result.Inconclusive:
			inc++
		default:
			other++
		}
	}
	parts := []string{fmt.Sprintf("%d scenarios", len(r.Scenarios))}
	for _, p := range []struct {
		n    int
		word string
	}{{pass, "pass"}, {fail, "fail"}, {inc, "inconclusive"}, {other, "not run"}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", p.n, p.word))
		}
	}
	return strings.Join(parts, ", ")
}

// outcomeIcon is a matrix outcome as one symbol, the same in every renderer:
// ⚑ caught, ✔ survived, ✘ missed, ? error, ∅ not judged (the fault had no
// effect in the run), – anything else.
func outcomeIcon(o result.Outcome) string {
	switch o {
	case result.Caught:
		return "⚑"
	case result.Survived:
		return "✔"
	case result.Missed:
		return "✘"
	case result.Errored:
		return "?"
	case result.NotJudged:
		return "∅"
	}
	return "–"
}

// outcomeWord is a matrix outcome in words.
func outcomeWord(o result.Outcome) string {
	if o == result.NotJudged {
		return "not judged"
	}
	return string(o)
}

// matrixLegendEntries explain the matrix's symbols, the same in every renderer.
var matrixLegendEntries = []string{"⚑ caught", "✔ survived", "✘ missed", "? error", "∅ not judged"}

// runFacts are the settings of a run shown in a report's header: the seed,
// the profile, the runtime (an older file without one ran under processes)
// and an external checkpoint store.
func runFacts(r *result.Results, code func(string) string) []string {
	rt, store := r.Env()
	facts := []string{"seed " + code(fmt.Sprint(r.Seed))}
	if r.Profile != "" {
		facts = append(facts, "profile "+code(r.Profile))
	}
	facts = append(facts, "runtime "+code(string(rt)))
	if store != result.StoreEmbedded {
		facts = append(facts, "checkpoint store "+code(string(store)))
	}
	return facts
}

// matrixCell finds a row's cell for a column. Rows are matched to columns by
// name rather than position so that a row missing a column does not shift.
func matrixCell(row *result.MatrixRow, column string) *result.MatrixCell {
	for i := range row.Cells {
		if row.Cells[i].Column == column {
			return &row.Cells[i]
		}
	}
	return nil
}
