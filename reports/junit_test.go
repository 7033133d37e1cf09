package reports_test

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/reports/reportstest"
)

func TestJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := reports.JUnit(&b, reportstest.Sample()); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.junit.xml.golden", b.Bytes())
}

// The shape CI consumers read, declared here independently of the renderer.
type xSuites struct {
	XMLName  xml.Name
	Tests    *int     `xml:"tests,attr"`
	Failures *int     `xml:"failures,attr"`
	Errors   *int     `xml:"errors,attr"`
	Skipped  *int     `xml:"skipped,attr"`
	Time     *string  `xml:"time,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name     string  `xml:"name,attr"`
	Tests    int     `xml:"tests,attr"`
	Failures int     `xml:"failures,attr"`
	Errors   int     `xml:"errors,attr"`
	Skipped  int     `xml:"skipped,attr"`
	Time     string  `xml:"time,attr"`
	Cases    []xCase `xml:"testcase"`
}

type xCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Body    string `xml:",chardata"`
	} `xml:"failure"`
	Error *struct {
		Message string `xml:"message,attr"`
	} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
	SystemOut string `xml:"system-out"`
}

func parseJUnit(t *testing.T, r *result.Results) xSuites {
	t.Helper()
	var b bytes.Buffer
	if err := reports.JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc xSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("output is not XML: %v\n%s", err, b.String())
	}
	if doc.XMLName.Local != "testsuites" {
		t.Fatalf("root element %q, want testsuites", doc.XMLName.Local)
	}
	return doc
}

func TestJUnitShape(t *testing.T) {
	r := reportstest.Sample()
	doc := parseJUnit(t, r)
	if len(doc.Suites) != len(r.Scenarios) {
		t.Fatalf("%d suites, want one per scenario (%d)", len(doc.Suites), len(r.Scenarios))
	}
	for _, p := range []struct {
		name string
		v    *int
	}{{"tests", doc.Tests}, {"failures", doc.Failures}, {"errors", doc.Errors}, {"skipped", doc.Skipped}} {
		if p.v == nil {
			t.Errorf("testsuites lacks %s", p.name)
		}
	}
	if doc.Time == nil {
		t.Fatal("testsuites lacks time")
	}
	var tests, failures, wantFailures int
	for _, s := range r.Scenarios {
		for _, c := range s.Cells {
			if c.Verdict == result.Fail {
				wantFailures++
			}
		}
	}
	for i, s := range doc.Suites {
		if s.Name != r.Scenarios[i].Name {
			t.Errorf("suite %d named %q, want %q", i, s.Name, r.Scenarios[i].Name)
		}
		if s.Tests != len(s.Cases) {
			t.Errorf("suite %s: tests=%d but %d testcases", s.Name, s.Tests, len(s.Cases))
		}
		n := 0
		for _, c := range s.Cases {
			if c.Name == "" || c.Classname == "" {
				t.Errorf("suite %s: testcase without name or classname: %+v", s.Name, c)
			}
			if c.Classname != "faultbook."+s.Name {
				t.Errorf("classname %q, want faultbook.%s", c.Classname, s.Name)
			}
			if _, err := strconv.ParseFloat(c.Time, 64); err != nil {
				t.Errorf("%s/%s: time %q: %v", s.Name, c.Name, c.Time, err)
			}
			if c.Failure != nil {
				n++
				if c.Failure.Type != "fail" || c.Failure.Message == "" {
					t.Errorf("%s/%s: failure %+v lacks type or message", s.Name, c.Name, c.Failure)
				}
				if !strings.Contains(c.Failure.Body, "[exec-4] fatal error: injected crash <node-b>") {
					t.Errorf("%s/%s: failure body lacks the labelled evidence:\n%s", s.Name, c.Name, c.Failure.Body)
				}
			}
		}
		if n != s.Failures {
			t.Errorf("suite %s: failures=%d but %d failed testcases", s.Name, s.Failures, n)
		}
		tests += s.Tests
		failures += s.Failures
	}
	if *doc.Tests != tests || *doc.Failures != failures {
		t.Errorf("totals tests=%d failures=%d, suites sum to %d and %d", *doc.Tests, *doc.Failures, tests, failures)
	}
	if failures != wantFailures || wantFailures == 0 {
		t.Errorf("%d failures, want %d (the sample's failing cells)", failures, wantFailures)
	}
}

func TestJUnitInconclusiveAndErrors(t *testing.T) {
	r := reportstest.Sample()
	r.Scenarios[0].Cells[1].Verdict = result.Inconclusive
	r.Scenarios[0].Cells[1].Problems = []string{"exec-3 did not start"}
	r.Scenarios = append(r.Scenarios, result.Scenario{Name: "broken", Error: "cluster did not start"})
	// A control character from a coloured log must not break the XML.
	r.Scenarios[1].Cells[2].Evidence = append(r.Scenarios[1].Cells[2].Evidence,
		result.Evidence{Source: "exec-1", Line: "\x1b[31mred\x1b[0m ]]> end"})
	doc := parseJUnit(t, r)
	if *doc.Skipped != 1 || *doc.Errors != 4 || *doc.Failures != 1 || *doc.Tests != 12 {
		t.Errorf("totals tests=%d failures=%d errors=%d skipped=%d, want 12, 1, 4, 1",
			*doc.Tests, *doc.Failures, *doc.Errors, *doc.Skipped)
	}
	sk := doc.Suites[0].Cases[1].Skipped
	if sk == nil || !strings.Contains(sk.Message, "inconclusive: exec-3 did not start") {
		t.Errorf("inconclusive cell not skipped with its reason: %+v", doc.Suites[0].Cases[1])
	}
	for _, c := range doc.Suites[2].Cases {
		if c.Error == nil || !strings.Contains(c.Error.Message, "cluster did not start") {
			t.Errorf("cell %s of a scenario that could not run: %+v, want an error", c.Name, c)
		}
	}
	if body := doc.Suites[1].Cases[2].Failure.Body; !strings.Contains(body, "\uFFFD[31mred\uFFFD[0m ]]> end") {
		t.Errorf("failure body does not carry the sanitised line:\n%q", body)
	}
}
