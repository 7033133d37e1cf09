package reports_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/clipperhouse/displaywidth"
	"github.com/fatih/color"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/reports/reportstest"
)

// TestTableGolden renders the summary and the matrix of the sample and of a
// synthetic catalogue of the size the catalogue is growing to (10 scenarios,
// 15 safeguards), unlimited as for a pipe and fitted to 80 and 120 columns.
func TestTableGolden(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    *result.Results
	}{
		{"table", reportstest.Sample()},
		{"catalogue", reportstest.Catalogue(10, 15)},
	} {
		for _, width := range []int{0, 80, 120} {
			name := tc.name
			if width > 0 {
				name = fmt.Sprintf("%s-%d", tc.name, width)
			}
			t.Run(name, func(t *testing.T) {
				var b bytes.Buffer
				term := reports.Terminal{Width: width}
				if err := reports.Table(&b, tc.r, term); err != nil {
					t.Fatal(err)
				}
				b.WriteString("\n")
				if err := reports.MatrixTable(&b, tc.r.Matrix, term); err != nil {
					t.Fatal(err)
				}
				if width > 0 {
					checkTableWidth(t, b.String(), width)
				}
				golden(t, name+".golden", b.Bytes())
			})
		}
	}
}

// checkTableWidth fails for a line of a table or of the matrix legend wider
// than width. Evidence lines under the table, indented, are log lines and may
// be longer.
func checkTableWidth(t *testing.T, out string, width int) {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "  ") {
			continue
		}
		if n := displaywidth.String(l); n > width {
			t.Errorf("line of %d columns in a %d-column terminal:\n%s", n, width, l)
		}
	}
}

// forceTerminal makes fatih/color believe it writes to a colour terminal, so a
// test can tell the renderer's choice from the library's guess.
func forceTerminal(t *testing.T, on bool) {
	t.Helper()
	old := color.NoColor
	color.NoColor = !on
	t.Cleanup(func() { color.NoColor = old })
}

func TestTableColour(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool // what fatih/color would guess on its own
		colour   bool // what the caller asked for
		want     bool // whether escapes appear
	}{
		{"off on a terminal", true, false, false},
		{"on without a terminal", false, true, true},
		{"on on a terminal", true, true, true},
		{"off without a terminal", false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forceTerminal(t, tc.terminal)
			r := reportstest.Sample()
			var b bytes.Buffer
			if err := reports.Table(&b, r, reports.Terminal{Color: tc.colour}); err != nil {
				t.Fatal(err)
			}
			if err := reports.MatrixTable(&b, r.Matrix, reports.Terminal{Color: tc.colour}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if got := strings.Contains(out, "\x1b["); got != tc.want {
				t.Errorf("escape sequences present = %v, want %v:\n%q", got, tc.want, out)
			}
			if tc.want {
				// The failing verdict is red, the passing one green.
				for _, want := range []string{"\x1b[31mfail\x1b[0m", "\x1b[32mpass\x1b[0m", "\x1b[31m✘\x1b[0m"} {
					if !strings.Contains(out, want) {
						t.Errorf("output lacks %q", want)
					}
				}
			}
		})
	}
}

func TestTableDetails(t *testing.T) {
	r := reportstest.Sample()
	r.Scenarios = append(r.Scenarios, result.Scenario{
		Name: "no-output-operation", Verdict: result.Inconclusive, Error: "exec-1 did not start within 10s",
	})
	r.Scenarios[0].Cells[1].Verdict = result.Inconclusive
	r.Scenarios[0].Cells[1].Problems = []string{"timeout before the job began"}
	var b bytes.Buffer
	if err := reports.Table(&b, r, reports.Terminal{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"registration-order/reproduce: inconclusive",
		"  problem: timeout before the job began",
		"  [exec-1] ClassCastException: scala.Tuple1 cannot be cast to scala.Product2",
		"flaky-node-exclusion/catch: fail",
		"  [exec-4] fatal error: injected crash <node-b>",
		"no-output-operation: could not run\n  exec-1 did not start within 10s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// Passing cells are not detailed under the table.
	if strings.Contains(out, "registration-order/catch:") {
		t.Errorf("a passing cell is detailed:\n%s", out)
	}
	// The scenario that could not run shows dashes for its cells.
	if !strings.Contains(out, "no-output-operation") || strings.Count(out, "—") < 4 {
		t.Errorf("scenario without cells not shown with dashes:\n%s", out)
	}
}

func TestMatrixTableNil(t *testing.T) {
	var b bytes.Buffer
	if err := reports.MatrixTable(&b, nil, reports.Terminal{}); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 0 {
		t.Errorf("nil matrix wrote %q", b.String())
	}
}
