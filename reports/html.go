package reports

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/faultbook/faultbook/harness/result"
)

// The page is one file with its style inline and no script, font, image or
// link to anything outside it, so it can be attached to a CI run, mailed, or
// opened from a run directory offline, and shows the same thing everywhere.

//go:embed html/report.tmpl html/report.css
var htmlFiles embed.FS

var reportTemplate = template.Must(template.New("report.tmpl").Funcs(template.FuncMap{
	"n": func(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) },
}).ParseFS(htmlFiles, "html/report.tmpl"))

// reportCSS is trusted: it is this package's own embedded file.
var reportCSS = func() template.CSS {
	b, err := htmlFiles.ReadFile("html/report.css")
	if err != nil {
		panic(err) // embedded at build time; cannot be missing
	}
	return template.CSS(b)
}()

// HTML writes the results as one self-contained HTML page: the matrix and a
// summary at the top, then per scenario its four cells with their rates, the
// documented symptom beside what was observed, the causal chain, and per cell
// the driver's and the executors' evidence side by side, a timeline of task
// attempts per executor, batch delays for streaming jobs, and the node logs.
// Verdicts are shown as words and icons as well as colours, so the page reads
// in print and in greyscale.
func HTML(w io.Writer, r *result.Results) error {
	if err := reportTemplate.Execute(w, newHTMLPage(r)); err != nil {
		return fmt.Errorf("render html: %w", err)
	}
	return nil
}

type htmlPage struct {
	CSS         template.CSS
	RunFacts    []string
	Counts      string
	Interrupted bool
	Summary     []htmlSummaryRow
	Matrix      *htmlMatrix
	Scenarios   []htmlScenario
}

type htmlVerdict struct{ Class, Icon, Word string }

type htmlSummaryRow struct {
	Anchor, Name, Duration string
	// CaughtBy lists the safeguards that caught, each shown whole.
	CaughtBy []string
	Verdict  htmlVerdict
	Cells    []htmlCellBrief
}

type htmlCellBrief struct {
	Verdict htmlVerdict
	Text    string
}

type htmlMatrix struct {
	Columns []string
	Rows    []htmlMatrixRow
}

type htmlMatrixRow struct {
	Anchor, Scenario string
	Cells            []htmlOutcome
}

// htmlOutcome is a matrix cell: an icon, the word for screen readers and
// copying, the catcher's number when it is not the column's own safeguard
// (By), and on hover the column, the outcome, who caught and the detail.
type htmlOutcome struct{ Class, Icon, Word, By, Title string }

type htmlScenario struct {
	Anchor, Name, Title, Source, Section, Symptom, Place, RootCause, Why, Error string
	Observed, ObservedFrom                                                      string
	Chain                                                                       []string
	Verdict                                                                     htmlVerdict
	Cards                                                                       []htmlCard
	Details                                                                     []htmlCellDetail
}

// htmlCard is a cell at a glance.
type htmlCard struct {
	Kind     string
	Missing  bool
	Verdict  htmlVerdict
	Hits     int
	Runs     int
	HitsWord string
	Rate     *svgRate
	Facts    [][2]string
	Observed string
}

// htmlCellDetail is everything a cell recorded, shown under the cards.
type htmlCellDetail struct {
	Anchor, Kind string
	Verdict      htmlVerdict
	Open         bool
	Problems     []string
	Driver       []sourceGroup // the driver's lines, then the harness's judgements
	Executors    []sourceGroup
	Timeline     *svgTimeline
	Batches      *svgBatches
	Logs         []htmlLog
	RunDir       string
}

type htmlLog struct {
	Source    string
	Count     int
	Truncated bool
	Text      string
}

func newHTMLPage(r *result.Results) *htmlPage {
	p := &htmlPage{CSS: reportCSS, Counts: counts(r), Interrupted: r.Interrupted}
	p.RunFacts = append(p.RunFacts, runFacts(r, func(s string) string { return s })...)
	if !r.StartedAt.IsZero() {
		p.RunFacts = append(p.RunFacts, "started "+r.StartedAt.UTC().Format(time.DateTime)+" UTC")
	}
	if r.DurationMs > 0 {
		p.RunFacts = append(p.RunFacts, "took "+formatMs(r.DurationMs))
	}
	anchors := map[string]string{}
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		anchor := fmt.Sprintf("s%d-%s", i+1, cssWord(s.Name))
		anchors[s.Name] = anchor
		row := htmlSummaryRow{Anchor: anchor, Name: s.Name, Verdict: htmlVerdictOf(s.Verdict),
			CaughtBy: caughtByList(s), Duration: formatMs(scenarioMs(s))}
		for _, k := range result.Cells {
			brief := htmlCellBrief{Verdict: htmlVerdictOf(""), Text: notRun}
			if v, text, ok := kindSummary(s, k); ok {
				// "pass 1/1" stays on one line; an interval may go to the next.
				brief = htmlCellBrief{Verdict: htmlVerdictOf(v), Text: strings.Replace(text, " ", "\u00a0", 1)}
			}
			row.Cells = append(row.Cells, brief)
		}
		p.Summary = append(p.Summary, row)
		p.Scenarios = append(p.Scenarios, newHTMLScenario(s, anchor))
	}
	if m := r.Matrix; m != nil {
		hm := &htmlMatrix{Columns: m.Columns}
		for i := range m.Rows {
			row := &m.Rows[i]
			hr := htmlMatrixRow{Anchor: anchors[row.Scenario], Scenario: row.Scenario}
			for _, col := range m.Columns {
				hr.Cells = append(hr.Cells, htmlOutcomeOf(m, col, matrixCell(row, col)))
			}
			hm.Rows = append(hm.Rows, hr)
		}
		p.Matrix = hm
	}
	return p
}

func newHTMLScenario(s *result.Scenario, anchor string) htmlScenario {
	hs := htmlScenario{
		Anchor: anchor, Name: s.Name, Title: s.Title, Source: s.Source, Section: s.Section,
		Symptom: s.Symptom, Place: s.Place, RootCause: s.RootCause, Why: s.Why, Error: s.Error,
		Chain: s.Chain, Verdict: htmlVerdictOf(s.Verdict),
	}
	hs.Observed, hs.ObservedFrom = observedSymptom(s)
	for _, k := range result.Cells {
		cells := findCells(s, k)
		if len(cells) == 0 {
			hs.Cards = append(hs.Cards, htmlCard{Kind: string(k), Missing: true, Verdict: htmlVerdictOf("")})
			continue
		}
		for _, c := range cells {
			hs.Cards = append(hs.Cards, newHTMLCard(c))
		}
	}
	for _, c := range findCells(s, result.Case) {
		hs.Cards = append(hs.Cards, newHTMLCard(c))
	}
	for _, c := range orderedCells(s) {
		if d, ok := newHTMLDetail(c, s.Name, anchor); ok {
			hs.Details = append(hs.Details, d)
		}
	}
	return hs
}

// hitsWord says what a hit means for each kind of cell.
var hitsWord = map[result.CellKind]string{
	result.Control:      "correct",
	result.Reproduce:    "showed the symptom",
	result.Catch:        "caught or survived",
	result.NoFalseAlarm: "correct and quiet",
	result.Case:         "as expected",
}

func newHTMLCard(c *result.Cell) htmlCard {
	card := htmlCard{Kind: cellLabel(c), Verdict: htmlVerdictOf(c.Verdict), Hits: c.Hits, Runs: c.Runs,
		HitsWord: hitsWord[c.Cell], Rate: layoutRate(c), Observed: c.Observed}
	if card.HitsWord == "" {
		card.HitsWord = "hits"
	}
	add := func(k, v string) {
		if v != "" {
			card.Facts = append(card.Facts, [2]string{k, v})
		}
	}
	add("per run", formatMs(c.DurationMs))
	add("caught by", c.Caught())
	if c.DetectionMs > 0 {
		add("detected after", formatMs(c.DetectionMs))
	}
	if c.OverheadPct != nil {
		add("overhead", overheadText(c))
	}
	add("profile", c.Profile)
	add("safeguards", listOrNone(c.Safeguards))
	add("faults", listOrNone(c.Faults))
	return card
}

func newHTMLDetail(c *result.Cell, scenario, anchor string) (htmlCellDetail, bool) {
	d := htmlCellDetail{
		Anchor: anchor + "-" + cssWord(cellLabel(c)), Kind: cellLabel(c),
		Verdict: htmlVerdictOf(c.Verdict), Problems: c.Problems, RunDir: c.RunDir,
		Open: c.Verdict != result.Pass || c.Cell == result.Reproduce,
	}
	for _, g := range groupBySource(c.Evidence) {
		if isExecutor(g.Source) {
			d.Executors = append(d.Executors, g)
		} else {
			d.Driver = append(d.Driver, g)
		}
	}
	if tl := c.Timeline; tl != nil {
		d.Timeline = layoutTimeline("tl-"+d.Anchor, fmt.Sprintf("%s cell: task attempts per executor", cellLabel(c)), tl)
		d.Timeline.Scenario, d.Timeline.Cell = scenario, string(c.Cell)
		if len(tl.Batches) > 0 {
			d.Batches = layoutBatches("bt-"+d.Anchor, tl.Batches)
		}
	}
	for _, l := range c.Logs {
		d.Logs = append(d.Logs, htmlLog{Source: l.Source, Count: len(l.Lines), Truncated: l.Truncated,
			Text: strings.Join(l.Lines, "\n")})
	}
	has := len(d.Problems) > 0 || len(d.Driver) > 0 || len(d.Executors) > 0 || d.Timeline != nil || len(d.Logs) > 0
	return d, has
}

func htmlVerdictOf(v result.Verdict) htmlVerdict {
	switch v {
	case result.Pass:
		return htmlVerdict{"pass", "✔", "pass"}
	case result.Fail:
		return htmlVerdict{"fail", "✘", "fail"}
	case result.Inconclusive:
		return htmlVerdict{"inconclusive", "?", "inconclusive"}
	case result.Skipped:
		return htmlVerdict{"none", "–", "skipped"}
	}
	return htmlVerdict{"none", "–", verdictWord(v)}
}

// verdictClass is the CSS class of a verdict.
func verdictClass(v result.Verdict) string { return htmlVerdictOf(v).Class }

func htmlOutcomeOf(m *result.Matrix, col string, c *result.MatrixCell) htmlOutcome {
	if c == nil {
		return htmlOutcome{Class: "none", Icon: "–", Word: "not run", Title: col + ": not run"}
	}
	o := htmlOutcome{Class: cssWord(string(c.Outcome)), Icon: outcomeIcon(c.Outcome), Word: outcomeWord(c.Outcome)}
	title := col + ": " + outcomeWord(c.Outcome)
	if by := c.CaughtBy; by != "" {
		title += " by " + by
		if by != col {
			o.By = by
		}
	}
	if c.Detail != "" {
		title += " — " + c.Detail
	}
	o.Title = title
	return o
}

func listOrNone(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	return strings.Join(items, ", ")
}
