package reports_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/reports/reportstest"
)

func TestMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := reports.Markdown(&b, reportstest.Sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md.golden", b.Bytes())
}

// unescapedPipe finds a pipe that separates table cells.
var unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)

func TestMarkdownEscapesTableCells(t *testing.T) {
	r := reportstest.Sample()
	s := &r.Scenarios[0]
	s.Name = "a|b"
	s.Symptom = "x | y *bold* <script>"
	s.Cells[2].CaughtBy = "guard|2"
	r.Matrix.Rows[0].Scenario = "a|b"
	var b bytes.Buffer
	if err := reports.Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Every row of a table has as many cell separators as its header.
	var header int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "|") {
			header = 0
			continue
		}
		n := len(unescapedPipe.FindAllString(line, -1))
		if header == 0 {
			header = n
			continue
		}
		if n != header {
			t.Errorf("row has %d separators, header %d: %s", n, header, line)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("raw HTML from the input reached the Markdown")
	}
	if !strings.Contains(out, `x \| y \*bold\* \<script\>`) {
		t.Errorf("symptom not escaped:\n%s", out)
	}
}

func TestMarkdownFenceOutlastsBackticks(t *testing.T) {
	r := reportstest.Sample()
	r.Scenarios[0].Cells[0].Evidence = []result.Evidence{{Source: "driver", Line: "a ```` fence in a log"}}
	var b bytes.Buffer
	if err := reports.Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "`````text\n[driver] a ```` fence in a log\n`````\n") {
		t.Errorf("fence not longer than the backticks inside:\n%s", b.String())
	}
}

func TestMarkdownWithoutOptionalParts(t *testing.T) {
	r := &result.Results{Schema: result.Schema, Seed: 7, Interrupted: true,
		Scenarios: []result.Scenario{{Name: "broken", Error: "exec-1 did not start"}}}
	var b bytes.Buffer
	if err := reports.Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, unwanted := range []string{"started", "Which safeguard", "took"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("output mentions %q though the input has none:\n%s", unwanted, out)
		}
	}
	for _, want := range []string{"**interrupted**", "could not run**: exec-1 did not start", "| `broken` | ⏸️ not run | — | — | — | — | — |"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// A catch cell that is a fix in user code is labelled as such in every
// report, never as a safeguard.
func TestUserFixLabelled(t *testing.T) {
	r := reportstest.Sample()
	s := &r.Scenarios[0]
	fix := s.Cells[2]
	fix.Safeguards, fix.UserFix, fix.CaughtBy = []string{}, "OptionOf at the lookup", "user-fix"
	s.Cells = append(s.Cells, fix)
	const want = "catch: fix in user code (OptionOf at the lookup)"
	for name, render := range map[string]func(*bytes.Buffer) error{
		"markdown": func(b *bytes.Buffer) error { return reports.Markdown(b, r) },
		"junit":    func(b *bytes.Buffer) error { return reports.JUnit(b, r) },
		"html":     func(b *bytes.Buffer) error { return reports.HTML(b, r) },
	} {
		var b bytes.Buffer
		if err := render(&b); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s report does not label the fix in user code %q", name, want)
		}
	}
}

// A catch cell that did not pass credits no safeguard, in the summary or in
// its section, even when a results file says otherwise.
func TestMarkdownCreditsOnlyPassingCatches(t *testing.T) {
	r := reportstest.Sample()
	s := &r.Scenarios[0]
	for i := range s.Cells {
		if s.Cells[i].Cell == result.Catch {
			s.Cells[i].Verdict, s.Cells[i].CaughtBy = result.Fail, "guard-that-failed"
		}
	}
	s.Verdict = result.Fail
	var b bytes.Buffer
	if err := reports.Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "guard-that-failed") {
		t.Errorf("a failed catch cell's safeguard is credited:\n%s", b.String())
	}
}
