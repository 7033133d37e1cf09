package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/minicluster/conf"
)

func newProbeCmd() *cobra.Command {
	var (
		stack  string
		lo, hi int
		seed   int64
		out    string
	)
	c := &cobra.Command{
		Use:   "probe NAME",
		Short: "bisect a scenario's knob for the threshold where its fault starts to show, on real processes",
		Long: `Bisect the one numeric knob a scenario declares (deep-list: the list length) for
the smallest value at which the fault shows, each probe a run of the reproduce cell
on a fresh cluster. Every probe is printed as it ends, then the threshold.

Exit codes: 0 threshold found, 1 the bounds do not bracket it, 2 usage error,
3 infrastructure error, 130 interrupted.`,
		Args: oneScenarioArg("probe"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarioNamed(args[0])
			if err != nil {
				return err
			}
			if sc.Knob == nil {
				return usageErrorf("scenario %s declares no knob to probe", sc.Name)
			}
			o := harness.Options{Seed: seed, Parallel: 1, App: fixtures.App()}
			if stack != "" {
				if _, err := conf.ParseBytes(stack); err != nil {
					return usageErrorf("--stack %q: %v", stack, err)
				}
				o.Conf = map[string]string{conf.ExecutorThreadStack: stack}
			}
			if lo < 0 || hi < 0 || (hi != 0 && hi <= lo) {
				return usageErrorf("--lo and --hi: want 0 <= lo < hi")
			}
			if hi == 0 {
				hi = sc.Knob.Hi
			}
			if lo == 0 {
				lo = sc.Knob.Lo
			}
			if o.Binary, err = os.Executable(); err != nil {
				return infraError(fmt.Errorf("find own executable: %w", err))
			}
			if out == "" {
				out = filepath.Join("runs", "probe-"+time.Now().UTC().Format("20060102-150405.000"))
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return infraError(fmt.Errorf("create output directory: %w", err))
			}
			o.Dir, _ = filepath.Abs(out)
			w := cmd.OutOrStdout()
			stackShown := stack
			if stackShown == "" {
				stackShown = conf.Defaults[conf.ExecutorThreadStack]
			}
			fmt.Fprintf(w, "probe %s: %s (%s) at %s=%s, between %d and %d\n", sc.Name, sc.Knob.Param, sc.Knob.Unit, conf.ExecutorThreadStack, stackShown, lo, hi)
			n := 0
			res, err := harness.Probe(cmd.Context(), sc, o, lo, hi, func(s harness.ProbeStep) {
				n++
				word := "no "
				if s.Shows {
					word = "yes"
				}
				fmt.Fprintf(w, "  %2d. %s=%-7d shows: %s  %5d ms  %s\n", n, sc.Knob.Param, s.Value, word, s.DurationMs, s.Proof)
			})
			switch {
			case errors.Is(err, harness.ErrInterrupted):
				return exitError{code: exitInterrupted, err: err}
			case errors.Is(err, harness.ErrNotBracketed):
				return exitError{code: exitFailed, err: err}
			case errors.Is(err, harness.ErrTopology):
				return exitError{code: exitUsage, err: err}
			case err != nil:
				return infraError(err)
			}
			fmt.Fprintf(w, "threshold: %d %s (%d shows the effect, %d does not); %d probes in %.1f s; runs in %s\n",
				res.Threshold, res.Unit, res.Threshold, res.Threshold-1, len(res.Steps), float64(res.DurationMs)/1000, out)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&stack, "stack", "", "executor stack limit (spark.executor.threadStackSize): 1MiB, 512k, 2m, … (default 1m)")
	fl.IntVar(&lo, "lo", 0, "lower bound: a value that does not show the effect (default: the scenario's)")
	fl.IntVar(&hi, "hi", 0, "upper bound: a value that shows it (default: the scenario's)")
	fl.Int64Var(&seed, "seed", 1, "seed of the runs")
	fl.StringVar(&out, "out", "", "directory for the probe runs (default runs/probe-<time>)")
	return c
}
