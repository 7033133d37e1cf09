package reports

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/faultbook/faultbook/harness/result"
)

// Markdown writes the results as GitHub/GitLab-flavoured Markdown, meant for a
// CI job summary: a table of scenarios, the matrix of which safeguard catches
// which failure, then one section per scenario telling the documented symptom
// beside what was observed, why it matters, the causal chain, and each cell's
// verdict with its evidence. Verdicts carry a word as well as an icon so the
// summary reads the same without colour or emoji.
func Markdown(w io.Writer, r *result.Results) error {
	ew := &errWriter{w: w}
	ew.printf("# faultbook results\n\n%s\n", mdRunLine(r))
	if r.Interrupted {
		ew.printf("\n> ⚠️ **interrupted**: the run was stopped before every cell finished.\n")
	}
	ew.printf("\n| scenario | verdict | control | reproduce | catch | no-false-alarm | caught by |\n")
	ew.printf("| --- | --- | --- | --- | --- | --- | --- |\n")
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		row := []string{mdCode(s.Name, true), mdVerdict(s.Verdict)}
		for _, k := range result.Cells {
			v, summary, ok := kindSummary(s, k)
			text := mdCell(summary)
			if ok && v != result.Pass {
				text = "**" + text + "**"
			}
			row = append(row, text)
		}
		row = append(row, mdCodeOrDash(caughtBy(s), true))
		ew.printf("| %s |\n", strings.Join(row, " | "))
	}
	if r.Matrix != nil {
		mdMatrix(ew, r.Matrix)
	}
	if len(r.Scenarios) > 0 {
		ew.printf("\n## Scenarios\n")
	}
	for i := range r.Scenarios {
		mdScenario(ew, &r.Scenarios[i])
	}
	return ew.err
}

// mdRunLine is the one-line header of a run. The start time is printed only
// when the input has one, so a result without it renders reproducibly.
func mdRunLine(r *result.Results) string {
	parts := append([]string{counts(r)}, runFacts(r, func(s string) string { return mdCode(s, false) })...)
	if !r.StartedAt.IsZero() {
		parts = append(parts, "started "+r.StartedAt.UTC().Format(time.DateTime)+" UTC")
	}
	if r.DurationMs > 0 {
		parts = append(parts, "took "+formatMs(r.DurationMs))
	}
	return strings.Join(parts, " · ")
}

func mdMatrix(ew *errWriter, m *result.Matrix) {
	ew.printf("\n## Which safeguard catches which failure\n\n")
	ew.printf("Each scenario's fault run under each configuration: **caught** (a safeguard fired and named the cause), " +
		"**survived** (the job was still correct), **missed** (the failure went through), **error** (the run could not be carried out), " +
		"**not judged** (the fault had no effect in this run, for a reason not the configuration's: hover or read results.json for it; neither caught, survived nor missed).\n\n")
	head := []string{"scenario"}
	sep := []string{"---"}
	for _, c := range m.Columns {
		head = append(head, mdCode(c, true))
		sep = append(sep, "---")
	}
	ew.printf("| %s |\n| %s |\n", strings.Join(head, " | "), strings.Join(sep, " | "))
	for i := range m.Rows {
		row := &m.Rows[i]
		cells := []string{mdCode(row.Scenario, true)}
		for _, col := range m.Columns {
			cells = append(cells, mdOutcome(col, matrixCell(row, col)))
		}
		ew.printf("| %s |\n", strings.Join(cells, " | "))
	}
}

func mdScenario(ew *errWriter, s *result.Scenario) {
	title := mdCode(s.Name, false)
	if s.Title != "" {
		title += ": " + mdText(s.Title)
	}
	ew.printf("\n### %s %s\n\n", mdIcon(s.Verdict), title)
	src := "**" + verdictWord(s.Verdict) + "**"
	if s.Source != "" {
		src += " · source " + mdCode(s.Source, false)
	}
	if s.Section != "" {
		src += ", FAILURES.md § " + mdText(s.Section)
	}
	ew.printf("%s\n", src)
	if s.Error != "" {
		ew.printf("\n> ⚠️ **could not run**: %s\n", mdText(s.Error))
	}

	observed, from := observedSymptom(s)
	ew.printf("\n| documented%s | observed%s |\n| --- | --- |\n| %s | %s |\n",
		mdCell(parenthesised(s.Place)), mdCell(parenthesised(from)),
		mdCellOrDash(s.Symptom), mdCellOrDash(observed))
	if s.RootCause != "" {
		ew.printf("\n**Root cause.** %s\n", mdText(s.RootCause))
	}
	if s.Why != "" {
		ew.printf("\n**Why it matters.** %s\n", mdText(s.Why))
	}
	if len(s.Chain) > 0 {
		ew.printf("\n**Causal chain**, cause first:\n\n")
		for i, step := range s.Chain {
			ew.printf("%d. %s\n", i+1, mdText(step))
		}
	}
	for _, c := range orderedCells(s) {
		mdCellSection(ew, c)
	}
}

// observedSymptom is what the reproduce cell saw, the counterpart of the
// documented symptom, and which cell it comes from.
func observedSymptom(s *result.Scenario) (text, from string) {
	if c := findCell(s, result.Reproduce); c != nil {
		return c.Observed, "reproduce cell"
	}
	return "", ""
}

func mdCellSection(ew *errWriter, c *result.Cell) {
	facts := []string{mdVerdict(c.Verdict) + fmt.Sprintf(" %d/%d", c.Hits, c.Runs)}
	if c.Rate != nil && c.Runs > 1 {
		facts = append(facts, "95% interval "+intervalText(c.Rate))
	}
	facts = append(facts, formatMs(c.DurationMs)+" per run")
	if c.Caught() != "" {
		facts = append(facts, "caught by "+mdCode(c.Caught(), false))
	}
	if c.DetectionMs > 0 {
		facts = append(facts, "detected after "+formatMs(c.DetectionMs))
	}
	if c.OverheadPct != nil {
		facts = append(facts, "overhead "+overheadText(c))
	}
	ew.printf("\n#### %s\n\n%s\n", cellLabel(c), strings.Join(facts, " · "))
	var setup []string
	if c.Profile != "" {
		setup = append(setup, "profile "+mdCode(c.Profile, false))
	}
	setup = append(setup, "safeguards "+mdList(c.Safeguards), "faults "+mdList(c.Faults))
	ew.printf("\n%s\n", strings.Join(setup, " · "))
	if c.Observed != "" {
		ew.printf("\nObserved: %s\n", mdText(c.Observed))
	}
	if len(c.Problems) > 0 {
		ew.printf("\nProblems:\n\n")
		for _, p := range c.Problems {
			ew.printf("- %s\n", mdText(p))
		}
	}
	if len(c.Evidence) > 0 {
		var lines []string
		for _, g := range groupBySource(c.Evidence) {
			for _, l := range g.Lines {
				lines = append(lines, labelled(result.Evidence{Source: g.Source, Line: l}))
			}
		}
		ew.printf("\n%s", mdFence(lines))
	}
	if c.RunDir != "" {
		ew.printf("\nRun directory: %s\n", mdCode(c.RunDir, false))
	}
}

func mdVerdict(v result.Verdict) string { return mdIcon(v) + " " + verdictWord(v) }

func mdIcon(v result.Verdict) string {
	switch v {
	case result.Pass:
		return "✅"
	case result.Fail:
		return "❌"
	case result.Inconclusive:
		return "⚠️"
	case result.Skipped:
		return "⏭️"
	}
	return "⏸️"
}

// mdOutcome is a matrix cell: icon and word, and the safeguard that caught
// unless the column is that safeguard.
func mdOutcome(column string, c *result.MatrixCell) string {
	if c == nil {
		return notRun
	}
	icon := map[result.Outcome]string{
		result.Caught: "🛡️", result.Survived: "✅", result.Missed: "❌", result.Errored: "⚠️", result.NotJudged: "∅",
	}[c.Outcome]
	s := strings.TrimSpace(icon + " " + mdCell(outcomeWord(c.Outcome)))
	if c.CaughtBy != "" && c.CaughtBy != column {
		s += " (" + mdCode(c.CaughtBy, true) + ")"
	}
	return s
}

// mdEscaper backslash-escapes the punctuation Markdown could read as markup
// (emphasis, links, HTML, tables, headings), and folds newlines so one value
// stays one line or one table row.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "&", `\&`, "|", `\|`, "#", `\#`, "~", `\~`,
	"\r\n", " ", "\n", " ", "\r", " ",
)

func mdText(s string) string { return mdEscaper.Replace(s) }

// mdCell is text for a table cell; mdText already escapes the pipe.
func mdCell(s string) string { return mdText(s) }

func mdCellOrDash(s string) string {
	if s == "" {
		return notRun
	}
	return mdCell(s)
}

// mdCode is a code span that survives any content: the fence is one backtick
// more than the longest run inside, and in a table cell the pipe is escaped,
// which GFM requires even inside code.
func mdCode(s string, inTable bool) string {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	if inTable {
		s = strings.ReplaceAll(s, "|", `\|`)
	}
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

func mdCodeOrDash(s string, inTable bool) string {
	if s == "" {
		return notRun
	}
	return mdCode(s, inTable)
}

func mdList(items []string) string {
	if len(items) == 0 {
		return "none"
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = mdCode(it, false)
	}
	return strings.Join(out, ", ")
}

// mdFence puts lines in a fenced block labelled "text", with a fence longer
// than any run of backticks in the lines so a log line cannot close it.
func mdFence(lines []string) string {
	longest := 0
	for i, l := range lines {
		l = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(l)
		lines[i] = l
		longest = max(longest, longestRun(l, '`'))
	}
	fence := strings.Repeat("`", max(3, longest+1))
	return fence + "text\n" + strings.Join(lines, "\n") + "\n" + fence + "\n"
}

func longestRun(s string, r rune) int {
	best, cur := 0, 0
	for _, c := range s {
		if c == r {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

func parenthesised(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// overheadText states a no-false-alarm cell's overhead against its control,
// with its 95% interval over the repeats when there were several; a single
// run's figure says that it is one, as it is mostly the machine's noise.
func overheadText(c *result.Cell) string {
	if c.OverheadInterval == nil {
		return fmt.Sprintf("%+.1f%% vs control (one run, no interval)", *c.OverheadPct)
	}
	return fmt.Sprintf("%+.1f%% [%+.1f%%, %+.1f%%] vs control", *c.OverheadPct, c.OverheadInterval.Lo, c.OverheadInterval.Hi)
}
