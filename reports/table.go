package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/fatih/color"
	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/faultbook/faultbook/harness/result"
)

// palette colours words for a terminal, or leaves them alone. Each colour is
// switched on explicitly when wanted, so the caller's choice wins over
// fatih/color's own guess from the output device; when colour is off no escape
// sequence is written at all.
type palette struct{ on bool }

func (p palette) paint(attr color.Attribute, s string) string {
	if !p.on {
		return s
	}
	c := color.New(attr)
	c.EnableColor()
	return c.Sprint(s)
}

func (p palette) verdict(v result.Verdict, s string) string {
	switch v {
	case result.Pass:
		return p.paint(color.FgGreen, s)
	case result.Fail:
		return p.paint(color.FgRed, s)
	case result.Inconclusive:
		return p.paint(color.FgYellow, s)
	}
	return s
}

func (p palette) outcome(o result.Outcome, s string) string {
	switch o {
	case result.Caught, result.Survived:
		return p.paint(color.FgGreen, s)
	case result.Missed:
		return p.paint(color.FgRed, s)
	case result.Errored:
		return p.paint(color.FgYellow, s)
	}
	return s
}

// newTable is the one table style used in the terminal. Header words are kept
// as written (no upper-casing) so they match the cell names used everywhere
// else, and rows are not wrapped so that each scenario stays on one line.
func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
}

// Table writes one row per scenario (verdict, its four cells, the safeguard that
// caught the fault, the time it took) and, under the table, the problems and
// evidence of every cell that did not pass. color switches ANSI colours on for
// verdicts; the caller decides it (from a terminal check, NO_COLOR or a flag).
func Table(w io.Writer, r *result.Results, color bool) error {
	p := palette{on: color}
	t := newTable(w)
	header := []any{"scenario", "verdict"}
	for _, k := range result.Cells {
		header = append(header, string(k))
	}
	t.Header(append(header, "caught by", "duration")...)
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		row := []any{s.Name, p.verdict(s.Verdict, verdictWord(s.Verdict))}
		for _, k := range result.Cells {
			v, text, ok := kindSummary(s, k)
			if !ok {
				row = append(row, notRun)
				continue
			}
			row = append(row, p.verdict(v, text))
		}
		row = append(row, orDash(strings.ReplaceAll(caughtBy(s), ", ", "\n")), formatMs(scenarioMs(s)))
		if err := t.Append(row...); err != nil {
			return fmt.Errorf("add row %s: %w", s.Name, err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	return tableDetails(w, r, p)
}

// tableDetails writes, for each cell that did not pass, why: its problems and
// its evidence labelled by source. A scenario that could not run says so.
func tableDetails(w io.Writer, r *result.Results, p palette) error {
	ew := &errWriter{w: w}
	if r.Interrupted {
		ew.printf("\n%s\n", p.paint(color.FgYellow, "run interrupted: some cells did not finish"))
	}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		if s.Error != "" {
			ew.printf("\n%s: %s\n  %s\n", s.Name, p.verdict(result.Inconclusive, "could not run"), s.Error)
		}
		for _, c := range orderedCells(s) {
			if !needsDetail(c) {
				continue
			}
			ew.printf("\n%s/%s: %s\n", s.Name, c.Cell, p.verdict(c.Verdict, verdictWord(c.Verdict)))
			if c.Observed != "" {
				ew.printf("  observed: %s\n", c.Observed)
			}
			for _, pr := range c.Problems {
				ew.printf("  problem: %s\n", pr)
			}
			for _, g := range groupBySource(c.Evidence) {
				for _, l := range g.Lines {
					ew.printf("  %s\n", labelled(result.Evidence{Source: g.Source, Line: l}))
				}
			}
			if c.RunDir != "" {
				ew.printf("  run dir: %s\n", c.RunDir)
			}
		}
	}
	return ew.err
}

// MatrixTable writes which safeguard catches which failure: one row per
// scenario, one column per configuration, each cell caught, survived, missed or
// error, with the safeguard that caught it.
func MatrixTable(w io.Writer, m *result.Matrix, color bool) error {
	if m == nil {
		return nil
	}
	p := palette{on: color}
	t := newTable(w)
	header := []any{"scenario"}
	for _, c := range m.Columns {
		header = append(header, c)
	}
	t.Header(header...)
	for i := range m.Rows {
		row := &m.Rows[i]
		cells := []any{row.Scenario}
		for _, col := range m.Columns {
			mc := matrixCell(row, col)
			if mc == nil {
				cells = append(cells, notRun)
				continue
			}
			cells = append(cells, p.outcome(mc.Outcome, matrixCellText(mc)))
		}
		if err := t.Append(cells...); err != nil {
			return fmt.Errorf("add matrix row %s: %w", row.Scenario, err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("render matrix: %w", err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return notRun
	}
	return s
}

// errWriter keeps the first write error so a long run of prints can be checked
// once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err != nil {
		return
	}
	_, e.err = fmt.Fprintf(e.w, format, args...)
}
