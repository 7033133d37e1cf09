package main_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/scenarios"
)

// shamRepeat is how often each cell runs under a sham: enough for a
// probabilistic reproduce cell to have had its chances, few enough to keep the
// test in seconds (a sham is deterministic: its effect is always neutralised).
const shamRepeat = 2

// TestShamFaultsPassNothing runs every scenario of the catalogue with each of
// its faults turned into its sham: the switch on, every step of the fault
// taken, its effect neutralised (see package fault). A judge that passes a
// reproduce or catch cell then credits the configuration, not the fault. A new
// scenario is covered by being in the catalogue; a new fault point by
// honouring fault.Spec.Sham.
func TestShamFaultsPassNothing(t *testing.T) {
	cat, err := scenarios.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range cat.All() {
		t.Run(sc.Name, func(t *testing.T) {
			sham := *sc
			sham.Faults = sc.Faults.Sham()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o := harness.Options{Binary: binary, App: fixtures.App(), Dir: t.TempDir(), Repeat: shamRepeat, Parallel: 2}
			res, err := harness.Run(ctx, []*harness.Scenario{&sham}, o, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range res.Scenarios[0].Cells {
				label := string(c.Cell) + " " + strings.Join(c.Safeguards, "+")
				switch c.Cell {
				case result.Control:
					// The cluster itself must work, or every "not a pass"
					// below would prove nothing.
					if c.Verdict != result.Pass {
						t.Fatalf("control did not pass, so the sham proves nothing: %v", c.Problems)
					}
				case result.Reproduce, result.Catch:
					if c.Verdict == result.Pass {
						t.Errorf("%s passed with the fault shammed (%s): evidence %v", label, strings.Join(c.Faults, ", "), c.Evidence)
					} else if c.CaughtBy != "" {
						t.Errorf("%s: caught_by %q on a cell that did not pass", label, c.CaughtBy)
					}
					t.Logf("%s: %s: %s", label, c.Verdict, firstProblem(c.Problems))
				}
			}
		})
	}
}

func firstProblem(p []string) string {
	if len(p) == 0 {
		return "(no problem stated)"
	}
	return p[0]
}
