package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/checkpoint"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/reports"
)

// exitInterrupted is returned when Ctrl-C stopped a run (results so far are written).
const exitInterrupted = 130

// runFlags are the flags shared by run, gate and matrix.
type runFlags struct {
	all            bool
	repeat         int
	seed           int64
	profile        string
	safeguards     []string
	conf           []string
	nodes, perNode int
	format         string
	out            string
	parallel       int
	quiet          bool
	matrix         bool
	runtime        string
	store          string
	s3             checkpoint.Options
}

func (f *runFlags) register(c *cobra.Command, withSelection bool) {
	fl := c.Flags()
	if withSelection {
		fl.BoolVar(&f.all, "all", false, "run every scenario")
	}
	fl.IntVar(&f.repeat, "repeat", 0, "run each cell N times (default 1, or 10 for probabilistic scenarios)")
	fl.Int64Var(&f.seed, "seed", 1, "seed of every randomised choice; run i of a cell uses seed+i")
	fl.StringVar(&f.profile, "profile", "", "safeguard profile for the catch cell: spark-1.0, spark-3 or hardened (default: each scenario's own safeguards, judged one by one)")
	fl.StringArrayVar(&f.safeguards, "safeguard", nil, "switch one safeguard: NAME=on|off (repeatable)")
	fl.StringArrayVar(&f.conf, "conf", nil, "set a Spark configuration key for every cell: KEY=VALUE (repeatable); a setting Spark refuses at start exits 2")
	fl.IntVar(&f.nodes, "nodes", 0, "number of nodes (default: the scenario's, usually 2)")
	fl.IntVar(&f.perNode, "executors-per-node", 0, "executor processes per node (default: the scenario's, usually 1)")
	fl.StringVar(&f.format, "format", "table", "output on stdout: table, json or markdown")
	fl.StringVar(&f.out, "out", "", "directory for results and reports (default runs/<time>)")
	fl.IntVar(&f.parallel, "parallel", 2, "clusters running at once")
	fl.BoolVar(&f.quiet, "quiet", false, "no live progress; plain one-line events only on stderr")
	fl.StringVar(&f.runtime, "runtime", "process", "where nodes run: process (every node on this host) or docker (each node in its own container)")
	fl.StringVar(&f.store, "checkpoint-store", "", "checkpoint streaming scenarios to this S3 location (s3://bucket/prefix) instead of the embedded S3 server; store faults cannot reach it")
	fl.StringVar(&f.s3.Endpoint, "s3-endpoint", "", "S3 endpoint of --checkpoint-store (default $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL)")
	fl.StringVar(&f.s3.AccessKey, "s3-access-key", "", "access key of --checkpoint-store (default $AWS_ACCESS_KEY_ID)")
	fl.StringVar(&f.s3.SecretKey, "s3-secret-key", "", "secret key of --checkpoint-store (default $AWS_SECRET_ACCESS_KEY)")
}

// options validates the flags and turns them into harness options; the
// scenarios are checked against them before the output directory is made.
// release ends the runtime (the docker runtime removes what it made); call it
// once the run is over, interrupted or not.
func (f *runFlags) options(ctx context.Context, scs []*harness.Scenario) (o harness.Options, release func(), err error) {
	release = func() {}
	o, err = f.harnessOptions(scs)
	if err != nil || f.runtime == "process" {
		return o, release, err
	}
	d, err := cluster.NewDocker(ctx, o.Binary)
	if err != nil {
		return o, release, infraError(err)
	}
	o.Docker = d
	return o, func() {
		if err := d.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "faultbook: docker cleanup: "+err.Error())
		}
	}, nil
}

func (f *runFlags) harnessOptions(scs []*harness.Scenario) (harness.Options, error) {
	o := harness.Options{Seed: f.seed, Repeat: f.repeat, Profile: f.profile, Nodes: f.nodes, ExecutorsPerNode: f.perNode, Parallel: f.parallel, App: fixtures.App()}
	switch {
	case f.repeat < 0:
		return o, usageErrorf("--repeat must not be negative (0 means each scenario's default)")
	case f.nodes < 0 || f.perNode < 0:
		return o, usageErrorf("--nodes and --executors-per-node must be positive")
	case f.nodes > 26 || f.nodes*max(f.perNode, 1) > 64:
		return o, usageErrorf("at most 26 nodes and 64 executors")
	case f.parallel < 1:
		return o, usageErrorf("--parallel must be at least 1")
	case f.runtime != "process" && f.runtime != "docker":
		return o, usageErrorf("--runtime %q: want process or docker", f.runtime)
	}
	switch f.format {
	case "table", "json", "markdown":
	default:
		return o, usageErrorf("--format %q: want table, json or markdown", f.format)
	}
	if f.store != "" {
		o.CheckpointStore, o.Store = f.store, f.s3.WithEnv()
		if _, err := checkpoint.Open(f.store, o.Store); err != nil || !strings.HasPrefix(f.store, "s3://") {
			if err == nil {
				err = fmt.Errorf("%w: %q: want s3://bucket/prefix", checkpoint.ErrLocation, f.store)
			}
			return o, exitError{code: exitUsage, err: fmt.Errorf("--checkpoint-store: %w", err)}
		}
	}
	if f.profile != "" {
		if _, err := safeguard.ProfileSet(f.profile); err != nil {
			return o, exitError{code: exitUsage, err: err}
		}
	}
	for _, s := range f.safeguards {
		n, on, err := safeguard.ParseSwitch(s)
		if err != nil {
			return o, exitError{code: exitUsage, err: err}
		}
		if o.Switches == nil {
			o.Switches = map[safeguard.Name]bool{}
		}
		o.Switches[n] = on
	}
	for _, kv := range f.conf {
		k, v, ok := strings.Cut(kv, "=")
		if k = strings.TrimSpace(k); !ok || !strings.HasPrefix(k, "spark.") {
			return o, usageErrorf("--conf %q: want spark.KEY=VALUE", kv)
		}
		if o.Conf == nil {
			o.Conf = map[string]string{}
		}
		o.Conf[k] = strings.TrimSpace(v)
	}
	bin, err := os.Executable()
	if err != nil {
		return o, infraError(fmt.Errorf("find own executable: %w", err))
	}
	o.Binary = bin
	if err := harness.Check(scs, o); err != nil {
		if errors.Is(err, harness.ErrTopology) || errors.Is(err, harness.ErrConfig) {
			return o, exitError{code: exitUsage, err: err}
		}
		return o, infraError(err)
	}
	if f.out == "" {
		f.out = filepath.Join("runs", time.Now().UTC().Format("20060102-150405.000"))
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return o, infraError(fmt.Errorf("create output directory: %w", err))
	}
	if err := checkWritable(f.out); err != nil {
		return o, infraError(err)
	}
	o.Dir, _ = filepath.Abs(f.out)
	return o, nil
}

// checkWritable proves that files can be created in dir, before the first
// cell runs: every cell writes its run directory there, and a directory that
// exists but refuses writes (read-only mount, wrong owner) would otherwise
// surface cell by cell, after clusters were started for nothing. It is an
// infrastructure error (3), like a directory that cannot be created: the
// command line is well formed, the machine cannot carry it out.
func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".faultbook-write-check-*")
	if err != nil {
		return fmt.Errorf("output directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("output directory %s is not writable: %w", dir, err)
	}
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("output directory %s: remove write check: %w", dir, err)
	}
	return nil
}

func newRunCmd() *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run [NAME…|--all]",
		Short: "run scenarios: four cells each, judged, with reports written to --out",
		Long: `Run scenarios on minicluster. Each scenario runs four cells — control, reproduce,
catch (one per safeguard) and no-false-alarm — each on its own cluster of real
processes. Results go to --out: results.json (written as scenarios finish),
report.md, junit.xml and report.html; the table (or --format) goes to stdout.

Exit codes: 0 all passed, 1 a scenario failed, 2 usage error, 3 infrastructure
error, 130 interrupted (results so far are written).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := catalogue()
			if err != nil {
				return err
			}
			scs, err := selectScenarios(cat, args, f.all)
			if err != nil {
				return err
			}
			o, release, err := f.options(cmd.Context(), scs)
			if err != nil {
				return err
			}
			defer release()
			res, err := runAndReport(cmd.Context(), scs, o, &f, cmd.OutOrStdout(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if err := verdictExit(res); err != nil {
				return err
			}
			if res.Matrix != nil {
				return matrixExit(res.Matrix)
			}
			return nil
		},
	}
	f.register(c, true)
	c.Flags().BoolVar(&f.matrix, "matrix", false, "also run the matrix: every fault under each profile and each single safeguard")
	return c
}

func selectScenarios(cat interface {
	All() []*harness.Scenario
	Get(...string) ([]*harness.Scenario, error)
}, args []string, all bool) ([]*harness.Scenario, error) {
	switch {
	case all && len(args) > 0:
		return nil, usageErrorf("name scenarios or give --all, not both")
	case all:
		return cat.All(), nil
	case len(args) == 0:
		return nil, usageErrorf("name one or more scenarios, or give --all (see `faultbook list`)")
	}
	scs, err := cat.Get(args...)
	if err != nil {
		return nil, exitError{code: exitUsage, err: err}
	}
	return scs, nil
}

// runAndReport runs the harness with progress, saves results as scenarios
// finish, writes every report, and prints the chosen format.
func runAndReport(ctx context.Context, scs []*harness.Scenario, o harness.Options, f *runFlags, stdout, stderr io.Writer) (*result.Results, error) {
	prog := newProgress(stderr, f.quiet)
	o.Progress = prog.update
	jsonPath := filepath.Join(o.Dir, "results.json")
	res, err := harness.Run(ctx, scs, o, func(partial *result.Results) {
		if err := reports.WriteJSON(jsonPath, partial); err != nil {
			fmt.Fprintln(stderr, "faultbook: "+err.Error())
		}
	})
	interrupted := errors.Is(err, harness.ErrInterrupted)
	if errors.Is(err, harness.ErrTopology) || errors.Is(err, cluster.ErrUsage) || errors.Is(err, harness.ErrConfig) {
		prog.close()
		return nil, exitError{code: exitUsage, err: err}
	}
	if err != nil && !interrupted {
		prog.close()
		return nil, infraError(err)
	}
	if f.matrix && !interrupted {
		res.Matrix, err = harness.RunMatrix(ctx, scs, o)
		interrupted = errors.Is(err, harness.ErrInterrupted)
		res.Interrupted = res.Interrupted || interrupted
	}
	prog.close()
	if err := writeReports(o.Dir, res); err != nil {
		return nil, infraError(err)
	}
	if err := printResults(stdout, res, f.format); err != nil {
		return nil, infraError(err)
	}
	fmt.Fprintf(stderr, "results: %s (report.html, report.md, junit.xml beside it)\n", jsonPath)
	if interrupted {
		return nil, exitError{code: exitInterrupted, err: errors.New("interrupted: results so far are written to " + jsonPath)}
	}
	return res, nil
}

func writeReports(dir string, res *result.Results) error {
	if err := reports.WriteJSON(filepath.Join(dir, "results.json"), res); err != nil {
		return err
	}
	for name, render := range map[string]func(io.Writer, *result.Results) error{
		"report.md": reports.Markdown, "junit.xml": reports.JUnit, "report.html": reports.HTML,
	} {
		if err := writeFileWith(filepath.Join(dir, name), func(w io.Writer) error { return render(w, res) }); err != nil {
			return err
		}
	}
	return nil
}

// writeFileWith renders into a temporary file and renames it into place.
func writeFileWith(path string, render func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := render(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("render %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp.Name(), path)
}

func printResults(w io.Writer, res *result.Results, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "markdown":
		return reports.Markdown(w, res)
	}
	term := terminal(w)
	if len(res.Scenarios) > 0 || res.Matrix == nil {
		if err := reports.Table(w, res, term); err != nil {
			return err
		}
	}
	if res.Matrix != nil {
		if len(res.Scenarios) > 0 {
			fmt.Fprintln(w)
		} else if err := reports.RunLine(w, res); err != nil {
			return err
		}
		return reports.MatrixTable(w, res.Matrix, term)
	}
	return nil
}

// verdictExit maps results to the exit code: 1 if any scenario failed, 3 if
// any could not be judged, 0 otherwise.
func verdictExit(res *result.Results) error {
	inconclusive := 0
	for _, s := range res.Scenarios {
		switch s.Verdict {
		case result.Fail:
			return exitError{code: exitFailed, err: fmt.Errorf("scenario %s failed its expectations", s.Name), quiet: false}
		case result.Inconclusive:
			inconclusive++
		}
	}
	if inconclusive > 0 {
		return exitError{code: exitInfra, err: fmt.Errorf("%d scenario(s) could not be judged (infrastructure)", inconclusive)}
	}
	return nil
}
