package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
)

// The JUnit mapping. Each scenario is a <testsuite>, each of its four cells a
// <testcase> named after the cell with classname "faultbook.<scenario>", so CI
// tools group cells under their scenario.
//
//   - pass: a plain testcase; its observation and evidence go to <system-out>.
//   - fail: <failure type="fail">, message the first problem, body every
//     problem and every evidence line labelled by source.
//   - inconclusive: <skipped>. The experiment was not carried out (an executor
//     did not start, a timeout before the job began), so it says nothing about
//     the safeguard: it is neither a pass nor a failure of the code under test,
//     which is what "skipped" means to every consumer. The reason is in the
//     message and in <system-out>.
//   - a scenario that could not run at all (Scenario.Error), and a cell that
//     never got a verdict: <error>, because the harness itself broke and the
//     run must not look green.
//
// time is seconds over all runs of the cell. Attributes that strict readers
// (the Ant schema used by Jenkins) require are always present.

// junitHostname fills the hostname attribute the Ant schema requires: the mini
// cluster's processes all run on the machine that ran faultbook.
const junitHostname = "localhost"

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	ID         int             `xml:"id,attr"`
	Package    string          `xml:"package,attr"`
	Hostname   string          `xml:"hostname,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemErr  *cdata          `xml:"system-err,omitempty"`
}

// cdata keeps multi-line text readable in the file (newlines stay newlines);
// values go through xmlText first, since CDATA cannot escape anything.
type cdata struct {
	Text string `xml:",cdata"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *cdata        `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// JUnit writes the results as JUnit XML, as described at the top of this file.
func JUnit(w io.Writer, r *result.Results) error {
	doc := junitSuites{Name: "faultbook"}
	var totalMs int64
	for i := range r.Scenarios {
		s := &r.Scenarios[i]
		suite := junitScenario(r, s, i)
		doc.Suites = append(doc.Suites, suite)
		doc.Tests += suite.Tests
		doc.Failures += suite.Failures
		doc.Errors += suite.Errors
		doc.Skipped += suite.Skipped
		totalMs += scenarioMs(s)
	}
	doc.Time = seconds(totalMs)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("encode junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func junitScenario(r *result.Results, s *result.Scenario, index int) junitSuite {
	rt, _ := r.Env()
	suite := junitSuite{
		Name: s.Name, ID: index, Package: "faultbook", Hostname: junitHostname,
		Time: seconds(scenarioMs(s)),
	}
	if !r.StartedAt.IsZero() {
		// The Ant schema wants ISO 8601 without a zone; the run's start is in UTC.
		suite.Timestamp = r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for _, p := range [][2]string{
		{"title", s.Title}, {"source", s.Source}, {"section", s.Section},
		{"symptom", s.Symptom}, {"place", s.Place}, {"verdict", string(s.Verdict)},
		{"runtime", string(rt)},
	} {
		if p[1] != "" {
			suite.Properties = append(suite.Properties, junitProperty{Name: p[0], Value: p[1]})
		}
	}
	classname := "faultbook." + s.Name
	if s.Error != "" && len(s.Cells) == 0 {
		// Nothing ran: report every cell as an error so the totals show four
		// cells that could not be checked rather than an empty suite.
		for _, k := range result.Cells {
			suite.Cases = append(suite.Cases, junitCase{
				Name: string(k), Classname: classname, Time: seconds(0),
				Error: &junitProblem{Message: "scenario could not run: " + s.Error, Type: "error", Body: xmlText(s.Error)},
			})
			suite.Errors++
		}
		suite.Tests = len(suite.Cases)
		suite.SystemErr = newCDATA(s.Error)
		return suite
	}
	for _, c := range orderedCells(s) {
		tc := junitCase{Name: cellLabel(c), Classname: classname, Time: seconds(cellTotalMs(c))}
		detail := xmlText(junitDetail(c))
		switch c.Verdict {
		case result.Pass:
			tc.SystemOut = newCDATA(detail)
		case result.Fail:
			tc.Failure = &junitProblem{Message: junitMessage(c), Type: "fail", Body: detail}
			suite.Failures++
		case result.Inconclusive:
			tc.Skipped = &junitSkipped{Message: "inconclusive: " + junitMessage(c)}
			tc.SystemOut = newCDATA(detail)
			suite.Skipped++
		case result.Skipped:
			tc.Skipped = &junitSkipped{Message: "skipped: " + junitMessage(c)}
			suite.Skipped++
		default:
			tc.Error = &junitProblem{Message: "cell has no verdict: " + junitMessage(c), Type: "error", Body: detail}
			suite.Errors++
		}
		suite.Cases = append(suite.Cases, tc)
	}
	if s.Error != "" {
		suite.SystemErr = newCDATA(s.Error)
	}
	suite.Tests = len(suite.Cases)
	return suite
}

// junitMessage is the one line a CI page shows next to a failed test.
func junitMessage(c *result.Cell) string {
	switch {
	case len(c.Problems) > 0:
		return c.Problems[0]
	case c.Observed != "":
		return c.Observed
	}
	return verdictWord(c.Verdict) + " " + fmt.Sprintf("%d/%d", c.Hits, c.Runs)
}

// junitDetail is a cell's whole story as plain text: summary, problems and
// evidence labelled by source.
func junitDetail(c *result.Cell) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", cellSummary(c))
	if c.Caught() != "" {
		fmt.Fprintf(&b, "caught by: %s\n", c.Caught())
	}
	if c.Observed != "" {
		fmt.Fprintf(&b, "observed: %s\n", c.Observed)
	}
	for _, p := range c.Problems {
		fmt.Fprintf(&b, "problem: %s\n", p)
	}
	for _, g := range groupBySource(c.Evidence) {
		for _, l := range g.Lines {
			fmt.Fprintf(&b, "%s\n", labelled(result.Evidence{Source: g.Source, Line: l}))
		}
	}
	if c.RunDir != "" {
		fmt.Fprintf(&b, "run dir: %s\n", c.RunDir)
	}
	return b.String()
}

func newCDATA(s string) *cdata {
	if s == "" {
		return nil
	}
	return &cdata{Text: xmlText(s)}
}

// xmlText replaces what XML 1.0 cannot carry at all, even escaped (control
// characters such as the ANSI escapes of a coloured log line), with U+FFFD.
// encoding/xml does this for attributes and escaped text but not for CDATA.
func xmlText(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t', r == '\n', r == '\r',
			r >= 0x20 && r <= 0xD7FF, r >= 0xE000 && r <= 0xFFFD, r >= 0x10000 && r <= 0x10FFFF:
			return r
		}
		return '\uFFFD'
	}, s)
}

func seconds(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }
