package reports

import (
	"fmt"
	"io"
	"slices"
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

// verdictPaint returns a function that colours text for the verdict, or nil
// when colour is off.
func (p palette) verdictPaint(v result.Verdict) func(string) string {
	if !p.on {
		return nil
	}
	return func(s string) string { return p.verdict(v, s) }
}

// outcomePaint is verdictPaint for a matrix outcome.
func (p palette) outcomePaint(o result.Outcome) func(string) string {
	if !p.on {
		return nil
	}
	return func(s string) string { return p.outcome(o, s) }
}

func (p palette) outcome(o result.Outcome, s string) string {
	switch o {
	case result.Caught, result.Survived:
		return p.paint(color.FgGreen, s)
	case result.Missed:
		return p.paint(color.FgRed, s)
	case result.Errored:
		return p.paint(color.FgYellow, s)
	case result.NotJudged:
		return p.paint(color.FgCyan, s)
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

// Table writes the run's settings on one line, then one row per scenario
// (verdict, its four cells, the safeguard that caught the fault, the time it
// took) and, under the table, the problems and evidence of every cell that
// did not pass, fitted to the terminal as Terminal describes.
func Table(w io.Writer, r *result.Results, term Terminal) error {
	if err := RunLine(w, r); err != nil {
		return err
	}
	p := palette{on: term.Color}
	g := &grid{header: []string{"scenario", "verdict"}}
	for _, k := range result.Cells {
		g.header = append(g.header, string(k))
	}
	g.header = append(g.header, "caught by", "duration")
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		row := []string{s.Name, verdictWord(s.Verdict)}
		paint := []func(string) string{nil, p.verdictPaint(s.Verdict)}
		for _, k := range result.Cells {
			v, text, ok := kindSummary(s, k)
			row = append(row, text)
			if ok {
				paint = append(paint, p.verdictPaint(v))
			} else {
				paint = append(paint, nil)
			}
		}
		row = append(row, orDash(strings.Join(caughtByList(s), "\n")), formatMs(scenarioMs(s)))
		g.rows = append(g.rows, row)
		g.paint = append(g.paint, paint)
	}
	if err := writeGrid(w, g, term.Width); err != nil {
		return err
	}
	return tableDetails(w, r, p, term.Width)
}

// tableDetails writes, for each cell that did not pass, why: its problems and
// its evidence labelled by source. A scenario that could not run says so.
// What was observed and each problem wrap to width between words, indented
// under their label; evidence lines are log lines and stay as logged.
func tableDetails(w io.Writer, r *result.Results, p palette, width int) error {
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
			where := string(c.Cell)
			if c.Case != "" {
				where = cellLabel(c)
			}
			ew.printf("\n%s/%s: %s\n", s.Name, where, p.verdict(c.Verdict, verdictWord(c.Verdict)))
			if c.Observed != "" {
				ew.printf("%s", hanging("  observed: ", c.Observed, width))
			}
			label := "  problem: "
			if c.Verdict == result.Skipped {
				label = "  why: "
			}
			for _, pr := range c.Problems {
				ew.printf("%s", hanging(label, pr, width))
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

// RunLine writes the run's settings on one line: seed, profile, runtime
// and, when external, the checkpoint store.
func RunLine(w io.Writer, r *result.Results) error {
	_, err := io.WriteString(w, strings.Join(runFacts(r, func(s string) string { return s }), " · ")+"\n")
	return err
}

// MatrixTable writes which safeguard catches which failure: one row per
// scenario, one column per configuration, one symbol per cell (⚑ caught,
// ✔ survived, ✘ missed, ? error, ∅ not judged), coloured when colour is on and readable
// without it, with the legend under the table. A profile's column adds the
// safeguard that caught; a single safeguard's column does not repeat its name.
//
// Columns are headed by their names when those fit the terminal, else by
// numbers that the legend names; when even that is too wide, the columns go
// to two (or more) tables, each beginning with the scenario.
func MatrixTable(w io.Writer, m *result.Matrix, term Terminal) error {
	if m == nil {
		return nil
	}
	named := matrixGrid(m, palette{on: term.Color}, false)
	if term.Width <= 0 || len(named.groups(term.Width)) == 1 && fits(named, term.Width) {
		if err := writeGrid(w, named, term.Width); err != nil {
			return fmt.Errorf("render matrix: %w", err)
		}
		return matrixLegend(w, m, false, term.Width)
	}
	numbered := matrixGrid(m, palette{on: term.Color}, true)
	if err := writeGrid(w, numbered, term.Width); err != nil {
		return fmt.Errorf("render matrix: %w", err)
	}
	return matrixLegend(w, m, true, term.Width)
}

// fits reports whether the grid's natural layout is within width.
func fits(g *grid, width int) bool {
	total := borderWidth(len(g.header))
	for c := range g.header {
		total += g.natural(c)
	}
	return total <= width
}

// matrixGrid lays out the matrix with a symbol per cell, headed by column
// names or by numbers. A cell of a column that is not the safeguard that
// caught names the catcher: by its column number when it has one and the
// columns are numbered ("⚑4"), else by name ("⚑ registry-fingerprint").
func matrixGrid(m *result.Matrix, p palette, numbered bool) *grid {
	g := &grid{header: []string{"scenario"}, nowrap: make([]bool, len(m.Columns)+1)}
	for i, c := range m.Columns {
		if numbered {
			c = fmt.Sprint(i + 1)
		}
		g.header = append(g.header, c)
		g.nowrap[i+1] = true
	}
	for i := range m.Rows {
		row := &m.Rows[i]
		cells := []string{row.Scenario}
		paint := []func(string) string{nil}
		for _, col := range m.Columns {
			mc := matrixCell(row, col)
			if mc == nil {
				cells, paint = append(cells, notRun), append(paint, nil)
				continue
			}
			text := outcomeIcon(mc.Outcome)
			if by := mc.CaughtBy; by != "" && by != col {
				if n := slices.Index(m.Columns, by); numbered && n >= 0 {
					text += fmt.Sprint(n + 1)
				} else {
					text += " " + by
				}
			}
			cells = append(cells, text)
			paint = append(paint, p.outcomePaint(mc.Outcome))
		}
		g.rows = append(g.rows, cells)
		g.paint = append(g.paint, paint)
	}
	return g
}

// matrixLegend explains the symbols and, when the columns are numbered, names
// each number, filling lines to width.
func matrixLegend(w io.Writer, m *result.Matrix, numbered bool, width int) error {
	lines := fillLines(matrixLegendEntries, width)
	if numbered {
		var cols []string
		for i, c := range m.Columns {
			cols = append(cols, fmt.Sprintf("%d %s", i+1, c))
		}
		lines = append(lines, fillLines(cols, width)...)
	}
	_, err := io.WriteString(w, strings.Join(lines, "\n")+"\n")
	return err
}

// fillLines joins entries with " · " into as few lines of width as it can,
// never splitting an entry; width 0 puts them all on one line.
func fillLines(entries []string, width int) []string {
	var lines []string
	cur := ""
	for _, e := range entries {
		switch {
		case cur == "":
			cur = e
		case width > 0 && textWidth(cur)+3+textWidth(e) > width:
			lines = append(lines, cur)
			cur = e
		default:
			cur += " · " + e
		}
	}
	return append(lines, cur)
}

// hanging is label and text wrapped to width (0: one line), later lines
// indented under the text's start.
func hanging(label, text string, width int) string {
	if width <= 0 {
		return label + text + "\n"
	}
	lines := wrapText(text, max(width-len(label), 20))
	return label + strings.Join(lines, "\n"+strings.Repeat(" ", len(label))) + "\n"
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
