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
		stack        string
		lo, hi, step float64
		seed         int64
		out          string
	)
	c := &cobra.Command{
		Use:   "probe NAME",
		Short: "bisect a scenario's knob for the threshold where its fault starts to show, on real processes",
		Long: `Bisect the one numeric knob a scenario declares for its threshold, each probe a
run of the reproduce cell on a fresh cluster. deep-list: the smallest list length at
which the executor's stack overflows; throttled-checkpoint: the smallest stored size
(a conf key) at which the checkpoint store keeps the stream stable. Every probe is
printed as it ends, then the threshold.

Exit codes: 0 threshold found, 1 the bounds do not bracket it, 2 usage error,
3 infrastructure error, 130 interrupted.`,
		Args: oneScenarioArg("probe"),
		RunE: func(cmd *cobra.Command, args []string) error {
			sc, err := scenarioNamed(args[0])
			if err != nil {
				return err
			}
			k := sc.Knob
			if k == nil {
				return usageErrorf("scenario %s declares no knob to probe", sc.Name)
			}
			o := harness.Options{Seed: seed, Parallel: 1, App: fixtures.App()}
			if stack != "" {
				if _, err := conf.ParseBytes(stack); err != nil {
					return usageErrorf("--stack %q: %v", stack, err)
				}
				o.Conf = map[string]string{conf.ExecutorThreadStack: stack}
			}
			if lo < 0 || hi < 0 || step < 0 || (hi != 0 && hi <= lo) {
				return usageErrorf("--lo, --hi and --step: want 0 <= lo < hi and step >= 0")
			}
			if hi == 0 {
				hi = k.Hi
			}
			if lo == 0 {
				lo = k.Lo
			}
			if hi <= lo {
				return usageErrorf("--lo %s is not below the knob's upper bound %s", k.Format(lo), k.Format(hi))
			}
			if step == 0 {
				step = k.Step
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
			fmt.Fprintf(w, "probe %s: %s (%s)%s, between %s and %s%s\n", sc.Name, k.Name(), k.Unit, probeContext(sc, o.Conf), k.Format(lo), k.Format(hi), directionNote(k))
			n := 0
			res, err := harness.Probe(cmd.Context(), sc, o, lo, hi, step, func(s harness.ProbeStep) {
				n++
				word := "no "
				if s.Shows {
					word = "yes"
				}
				fmt.Fprintf(w, "  %2d. %s=%-7s shows: %s  %5d ms  %s\n", n, k.Name(), k.Format(s.Value), word, s.DurationMs, s.Proof)
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
			th, below := k.Format(res.Threshold), k.Format(res.Below)
			if k.Direction == harness.Falling {
				fmt.Fprintf(w, "threshold: %s %s (%s does not show the effect, %s does); %d probes in %.1f s; runs in %s\n",
					th, res.Unit, th, below, len(res.Steps), float64(res.DurationMs)/1000, out)
				return nil
			}
			fmt.Fprintf(w, "threshold: %s %s (%s shows the effect, %s does not); %d probes in %.1f s; runs in %s\n",
				th, res.Unit, th, below, len(res.Steps), float64(res.DurationMs)/1000, out)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&stack, "stack", "", "executor stack limit (spark.executor.threadStackSize): 1MiB, 512k, 2m, … (default 1m)")
	fl.Float64Var(&lo, "lo", 0, "lower bound (default: the scenario's): a value on the near side of the threshold")
	fl.Float64Var(&hi, "hi", 0, "upper bound (default: the scenario's): a value on the far side of it")
	fl.Float64Var(&step, "step", 0, "resolution the search stops at (default: the scenario's)")
	fl.Int64Var(&seed, "seed", 1, "seed of the runs")
	fl.StringVar(&out, "out", "", "directory for the probe runs (default runs/probe-<time>)")
	return c
}

// probeContext names the settings that move a knob's threshold, as the
// probes will run them: ", at KEY=VALUE, …".
func probeContext(sc *harness.Scenario, over map[string]string) string {
	s := ""
	for _, key := range sc.Knob.Context {
		v, ok := over[key]
		if !ok {
			v, ok = sc.Knob.Conf[key]
		}
		if !ok {
			v, ok = sc.Conf[key]
		}
		if !ok {
			v, ok = conf.Defaults[key]
		}
		if !ok {
			v = conf.StoreDefaults[key]
		}
		if s == "" {
			s = " at "
		} else {
			s += ", "
		}
		s += key + "=" + v
	}
	return s
}

// directionNote says, for a falling knob, which side shows the effect.
func directionNote(k *harness.Knob) string {
	if k.Direction == harness.Falling {
		return " (falling: the effect shows below the threshold)"
	}
	return ""
}
