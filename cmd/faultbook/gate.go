package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/gate"
	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
)

func newMatrixCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "matrix [NAME…|--all]",
		Short: "run every scenario's fault under each profile and each single safeguard: which safeguard catches which failure",
		Long: `Run each scenario's fault once under every profile (spark-1.0, spark-3, hardened)
and under each safeguard on its own, and print the table of outcomes: caught (a
safeguard fired with a diagnosis), survived (the job completed correctly), missed
(the failure went through), error, or not judged (the fault had no effect in the
run, for a reason not the configuration's, such as a slowdown that did not set in
at the machine's pace; the cell says why). A miss is a finding, not a failure: the
exit code is 0 unless a run could not be carried out (3). With no names, every
scenario.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := catalogue()
			if err != nil {
				return err
			}
			scs, err := selectScenarios(cat, args, f.all || len(args) == 0)
			if err != nil {
				return err
			}
			o, release, err := f.options(cmd.Context(), scs)
			if err != nil {
				return err
			}
			defer release()
			prog := newProgress(cmd.ErrOrStderr(), f.quiet)
			o.Progress = prog.update
			m, err := harness.RunMatrix(cmd.Context(), scs, o)
			prog.close()
			res := &result.Results{Schema: result.Schema, Seed: o.Seed, Matrix: m, Interrupted: errors.Is(err, harness.ErrInterrupted)}
			res.Runtime, res.CheckpointStore = o.Env()
			if werr := writeReports(o.Dir, res); werr != nil {
				return infraError(werr)
			}
			if err := printResults(cmd.OutOrStdout(), res, f.format); err != nil {
				return infraError(err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "results: %s\n", filepath.Join(o.Dir, "results.json"))
			if res.Interrupted {
				return exitError{code: exitInterrupted, err: err}
			}
			return matrixExit(m)
		},
	}
	f.register(c, true)
	return c
}

func matrixExit(m *result.Matrix) error {
	for _, r := range m.Rows {
		for _, c := range r.Cells {
			if c.Outcome == result.Errored {
				return exitError{code: exitInfra, err: fmt.Errorf("%s under %s could not run: %s", r.Scenario, c.Column, c.Detail)}
			}
		}
	}
	return nil
}

func newGateCmd() *cobra.Command {
	var (
		f                 runFlags
		baseline, writeTo string
		growthPct         float64
		slackMs           int64
		requireJudged     bool
	)
	c := &cobra.Command{
		Use:   "gate --baseline FILE [RESULTS.json | NAME…|--all]",
		Short: "compare results with a committed baseline; exit 1 on any regression",
		Long: `Compare results with a baseline and list every regression precisely: a cell that
passed and now fails, a safeguard that caught before and misses now, a reproduction
lost, a rate whose interval no longer overlaps, a detection latency grown beyond the
tolerance, a matrix cell that was caught and is now missed.

Before them it says how this run's environment differs from the baseline's
(its runtime, its checkpoint store). What this run could not judge is listed
apart, as "not judged": a matrix cell whose fault had no effect in this run (a
slowdown that did not set in at this machine's pace), a case skipped because this
run's runtime cannot run it while the baseline's could. That is no regression of
the safeguards, and nothing vouches for it either: the verdict line says how many,
and --require-judged counts them as regressions.

  faultbook gate --baseline B.json results.json   judge a saved run
  faultbook gate --baseline B.json --all          run the scenarios (and the matrix when
                                                  the baseline has one), then judge
  faultbook gate --write-baseline B.json results.json

Exit codes: 0 no regression, 1 regressions, 2 usage error, 3 infrastructure error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if writeTo != "" {
				if len(args) != 1 || !strings.HasSuffix(args[0], ".json") {
					return usageErrorf("--write-baseline takes one saved results file")
				}
				res, err := readResults(args[0])
				if err != nil {
					return err
				}
				b := gate.Baseline(res)
				if err := gate.CheckBaseline(b); err != nil {
					return exitError{code: exitUsage, err: fmt.Errorf("%s: %w", args[0], err)}
				}
				if err := reports.WriteJSON(writeTo, b); err != nil {
					return infraError(err)
				}
				rt, _ := b.Env()
				fmt.Fprintf(cmd.OutOrStdout(), "baseline written: %s (%d scenarios, --runtime %s)\n", writeTo, len(res.Scenarios), rt)
				for _, u := range unjudgedCells(b) {
					fmt.Fprintf(cmd.OutOrStdout(), "not judged in this run, so gating nothing: %s\n", u)
				}
				return nil
			}
			if baseline == "" {
				return usageErrorf("--baseline is required (or --write-baseline)")
			}
			base, err := readResults(baseline)
			if err != nil {
				return err
			}
			if err := gate.CheckBaseline(base); err != nil {
				return exitError{code: exitUsage, err: fmt.Errorf("%s: %w", baseline, err)}
			}
			var cur *result.Results
			if len(args) == 1 && strings.HasSuffix(args[0], ".json") {
				if cur, err = readResults(args[0]); err != nil {
					return err
				}
			} else {
				if cur, err = gateRun(cmd.Context(), &f, args, base, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			return judgeGate(cmd.OutOrStdout(), base, cur, gate.Tolerance{DetectionGrowthPct: growthPct, DetectionSlackMs: slackMs}, requireJudged)
		},
	}
	f.register(c, true)
	c.Flags().StringVar(&baseline, "baseline", "", "baseline results to compare with")
	c.Flags().StringVar(&writeTo, "write-baseline", "", "write a baseline from a saved run to this file")
	c.Flags().Float64Var(&growthPct, "detection-growth-pct", 0, "tolerated growth of detection latency in percent (default 50)")
	c.Flags().Int64Var(&slackMs, "detection-slack-ms", 0, "absolute slack on detection latency in ms (default 250)")
	c.Flags().BoolVar(&requireJudged, "require-judged", false, "count what the baseline judged and this run could not (a matrix cell not judged, a case skipped under another runtime) as a regression")
	return c
}

func readResults(path string) (*result.Results, error) {
	res, err := reports.ReadJSON(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageErrorf("%v", err)
		}
		return nil, exitError{code: exitUsage, err: err}
	}
	return res, nil
}

// gateRun runs the scenarios named (or all of the baseline's), and the matrix
// when the baseline has one.
func gateRun(ctx context.Context, f *runFlags, args []string, base *result.Results, stderr io.Writer) (*result.Results, error) {
	cat, err := catalogue()
	if err != nil {
		return nil, err
	}
	if len(args) == 0 && !f.all {
		for _, s := range base.Scenarios {
			args = append(args, s.Name)
		}
	}
	scs, err := selectScenarios(cat, args, f.all)
	if err != nil {
		return nil, err
	}
	if f.seed == 1 && base.Seed != 0 {
		f.seed = base.Seed
	}
	o, release, err := f.options(ctx, scs)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := runAndReport(ctx, scs, o, f, io.Discard, stderr)
	if err != nil {
		return nil, err
	}
	if base.Matrix != nil {
		m, err := harness.RunMatrix(ctx, scs, o)
		if err != nil {
			return nil, infraError(err)
		}
		res.Matrix = m
		if err := writeReports(o.Dir, res); err != nil {
			return nil, infraError(err)
		}
	}
	return res, nil
}

// judgeGate prints how the run's environment differs from the baseline's,
// the improvements, what this run could not judge, and the regressions, and
// maps them to the exit code: regressions are 1; a run that could not be
// judged is 3. What was not judged is no regression unless requireJudged.
func judgeGate(w io.Writer, base, cur *result.Results, tol gate.Tolerance, requireJudged bool) error {
	for _, l := range gate.Environment(base, cur) {
		fmt.Fprintln(w, l)
	}
	regs := gate.Compare(base, cur, tol)
	unjudged := gate.NotJudged(base, cur)
	for _, imp := range gate.Improvements(base, cur) {
		fmt.Fprintln(w, "improved: "+imp)
	}
	if requireJudged {
		regs = append(regs, unjudged...)
	} else {
		for _, u := range unjudged {
			fmt.Fprintln(w, "not judged: "+u.String())
		}
	}
	if len(regs) > 0 {
		fmt.Fprintf(w, "%d regression(s) against the baseline:\n", len(regs))
		for _, r := range regs {
			fmt.Fprintln(w, "  "+r.String())
		}
		return exitError{code: exitFailed, err: fmt.Errorf("%d regression(s)", len(regs)), quiet: true}
	}
	for _, s := range cur.Scenarios {
		if s.Verdict == result.Inconclusive {
			return exitError{code: exitInfra, err: fmt.Errorf("scenario %s could not be judged (infrastructure)", s.Name)}
		}
	}
	if len(unjudged) > 0 {
		fmt.Fprintf(w, "no regression against the baseline in what this run judged (%d scenarios), but %d cell(s) the baseline judged were not judged here (\"not judged\" above): nothing vouches for them; --require-judged fails on them\n",
			len(cur.Scenarios), len(unjudged))
		return nil
	}
	fmt.Fprintf(w, "no regression against the baseline (%d scenarios)\n", len(cur.Scenarios))
	return nil
}

// unjudgedCells names the matrix cells of r that were not judged, with why.
func unjudgedCells(r *result.Results) []string {
	var out []string
	if r.Matrix == nil {
		return nil
	}
	for _, row := range r.Matrix.Rows {
		for _, c := range row.Cells {
			if c.Outcome == result.NotJudged {
				out = append(out, fmt.Sprintf("%s@%s: %s", row.Scenario, c.Column, c.Detail))
			}
		}
	}
	return out
}
