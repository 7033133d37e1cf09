package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/scenarios"
)

func addCommands(root *cobra.Command) {
	root.AddCommand(newListCmd(), newExplainCmd(), newRunCmd(), newReportCmd(), newGateCmd(), newMatrixCmd(), newDiagnoseCmd(), newCleanupCmd(), newProbeCmd(), newBenchTableCmd())
}

func catalogue() (*scenarios.Catalogue, error) {
	c, err := scenarios.New()
	if err != nil {
		return nil, infraError(fmt.Errorf("load scenario catalogue: %w", err))
	}
	return c, nil
}

// oneScenarioArg accepts exactly one scenario name.
func oneScenarioArg(command string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != 1 {
			return usageErrorf("%s takes one scenario name", command)
		}
		return nil
	}
}

// scenarioNamed looks one scenario up; an unknown name is a usage error.
func scenarioNamed(name string) (*harness.Scenario, error) {
	cat, err := catalogue()
	if err != nil {
		return nil, err
	}
	scs, err := cat.Get(name)
	if err != nil {
		return nil, exitError{code: exitUsage, err: err}
	}
	return scs[0], nil
}

// terminal decides how tables are drawn on w: on a terminal, fitted to its
// width and in colour unless NO_COLOR is set (fatih/color reads NO_COLOR into
// color.NoColor); to a pipe or a file, whole and plain, unless COLUMNS is set
// in the environment, which fits them to that width as for a terminal.
func terminal(w io.Writer) reports.Terminal {
	columns, err := strconv.Atoi(os.Getenv("COLUMNS"))
	if err != nil || columns < 0 {
		columns = 0
	}
	f, ok := w.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return reports.Terminal{Width: columns}
	}
	if width, _, err := term.GetSize(int(f.Fd())); err == nil && width > 0 {
		columns = width
	}
	return reports.Terminal{Color: !color.NoColor, Width: columns}
}

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "list the scenarios",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cat, err := catalogue()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			return list(out, cat.All(), terminal(out).Width)
		},
	}
}

// list writes the catalogue as a table fitted to width (0: no limit): each
// scenario's name, the failure it reproduces and the safeguards that catch
// it. Its source document is told by explain.
func list(w io.Writer, scs []*harness.Scenario, width int) error {
	rows := make([][]string, 0, len(scs))
	for _, s := range scs {
		var sg []string
		for _, c := range s.Catches {
			sg = append(sg, c.Label())
		}
		rows = append(rows, []string{s.Name, s.Title, strings.Join(sg, ", ")})
	}
	return reports.WriteTable(w, []string{"scenario", "failure", "caught by"}, rows, width)
}

func newExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain NAME",
		Short: "explain a scenario: the documented failure, its root cause, the experiment and the safeguards",
		Args:  oneScenarioArg("explain"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarioNamed(args[0])
			if err != nil {
				return err
			}
			explain(cmd.OutOrStdout(), sc)
			return nil
		},
	}
}

func explain(w io.Writer, s *harness.Scenario) {
	fmt.Fprintf(w, "%s — %s\n\n", s.Name, s.Title)
	fmt.Fprintf(w, "Source: ../shared/seeds/%s (FAILURES.md §%s)\n", s.Source, s.Section)
	fmt.Fprintf(w, "Documented symptom: %s\n", s.Symptom)
	fmt.Fprintf(w, "Where it shows: %s\n\n", s.Place)
	if s.Story != "" {
		fmt.Fprintln(w, s.Story)
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "Causal chain:")
	for i, c := range s.Chain {
		fmt.Fprintf(w, "  %d. %s\n", i+1, c)
	}
	fmt.Fprintln(w, "\nFaults injected (reproduce and catch cells):")
	for _, f := range s.Faults {
		fmt.Fprintf(w, "  %s — %s\n", f.String(), faultSummary(f.Point))
	}
	fmt.Fprintln(w, "\nSafeguards judged (one catch cell each):")
	for _, c := range s.Catches {
		if c.UserFix != "" {
			fmt.Fprintf(w, "  %s (a fix in user code, not an engine safeguard) — %s; expected to %s\n", c.Label(), c.UserFix, c.Expect)
		}
		for _, n := range c.Safeguards {
			info, _ := safeguard.Lookup(n)
			fmt.Fprintf(w, "  %s (%s) — %s; expected to %s\n", n, info.Origin, info.Summary, c.Expect)
		}
	}
	if s.Knob != nil {
		k := s.Knob
		fmt.Fprintf(w, "\nThreshold search: `faultbook probe %s` bisects %s (%s) between %s and %s%s.\n", s.Name, k.Name(), k.Unit, k.Format(k.Lo), k.Format(k.Hi), directionNote(k))
	}
	fmt.Fprintln(w, "\nProfiles:")
	for _, p := range safeguard.Profiles() {
		on := "none"
		if len(p.On) > 0 {
			var ns []string
			for _, n := range p.On {
				ns = append(ns, string(n))
			}
			on = strings.Join(ns, ", ")
		}
		fmt.Fprintf(w, "  %-10s %s (%s)\n", p.Name, p.Summary, on)
	}
	if sig := s.Signature; sig != nil {
		fmt.Fprintf(w, "\nRecognised in Spark logs by `faultbook diagnose` (and required of the reproduce cell) as %s:\n", sig.ID)
		for _, c := range sig.Require {
			fmt.Fprintf(w, "  requires: %s%s\n", c.Says, where(c.In))
		}
		for _, c := range sig.RequireAny {
			fmt.Fprintf(w, "  requires one of: %s%s\n", c.Says, where(c.In))
		}
		for _, c := range sig.Absent {
			fmt.Fprintf(w, "  never: %s%s\n", c.Says, where(c.In))
		}
		for _, c := range sig.Support {
			fmt.Fprintf(w, "  supports: %s%s\n", c.Says, where(c.In))
		}
	}
	if s.Probabilistic {
		fmt.Fprintf(w, "\nThe fault does not show on every run: cells run %d times by default and the\nreproduction rate is reported as k/N with a Wilson 95%% interval.\n", max(s.Repeat, 10))
	}
}

// where says in which process's log a clause must hold.
func where(p diagnose.Place) string {
	if p == diagnose.Anywhere {
		return ""
	}
	return " (in the " + string(p) + "'s log)"
}

func faultSummary(p fault.Point) string {
	for _, i := range fault.All() {
		if i.Point == p {
			return i.Summary
		}
	}
	return ""
}
