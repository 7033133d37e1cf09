package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/checkpoint"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// Options configure a run of the harness.
type Options struct {
	// Seed drives every run; run i of a cell uses Seed+i. Default 1.
	Seed int64
	// Repeat is how many times each cell runs; 0 means the scenario's default
	// (1, or Scenario.Repeat for a probabilistic one).
	Repeat int
	// Profile, when set, replaces the scenario's own catch cells by one catch cell
	// with the profile's safeguards (and the no-false-alarm cell's set likewise);
	// Switches then turn single safeguards on or off on top.
	Profile  string
	Switches map[safeguard.Name]bool
	// Conf holds configuration overrides (Spark key names) for every cell, over
	// the scenario's own; a run they make inconsistent is refused (ErrConfig).
	Conf map[string]string
	// Nodes and ExecutorsPerNode override the scenario's topology when > 0.
	Nodes, ExecutorsPerNode int
	// Dir is the run directory; each cell run gets its own directory below it.
	Dir string
	// Binary is the faultbook executable started as driver and executors.
	Binary string
	// Docker, when set, runs every cluster in containers (the docker runtime).
	Docker *cluster.Docker
	// Parallel bounds how many clusters run at once. Default 2.
	Parallel int
	// App is the application bundle, for the oracles.
	App *bundle.Bundle
	// CheckpointStore, when set ("s3://bucket/prefix"), is where streaming
	// scenarios checkpoint instead of the embedded S3 server; Store names its
	// endpoint and credentials. A store fault cannot reach such a store.
	CheckpointStore string
	Store           checkpoint.Options
	// Progress, when set, is told when runs start and end (from several goroutines).
	Progress func(Progress)
	// Cells, when set, runs only the cells of these kinds (a benchmark of
	// the safeguards' overhead needs only control and no-false-alarm).
	Cells []result.CellKind
}

// Progress is one step of a run.
type Progress struct {
	Scenario string
	Cell     string
	Run      int // 1-based
	Runs     int
	Done     bool
	Verdict  result.Verdict
	Message  string
}

// ErrInterrupted marks results cut short by cancellation.
var ErrInterrupted = errors.New("run interrupted")

// plan is one cell to run.
type plan struct {
	kind   result.CellKind
	label  string // directory and display label: "catch-registry-fingerprint"
	faults fault.Set
	set    safeguard.Set
	catch  *Catch
	runs   int
	// cas is the extra case a plan runs, nil for the four cells.
	cas *Case
}

func (o *Options) defaults() {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Parallel <= 0 {
		o.Parallel = 2
	}
}

// plans builds the cells of a scenario under the options.
func (o *Options) plans(sc *Scenario) ([]plan, error) {
	runs := o.Repeat
	if runs <= 0 {
		runs = 1
		if sc.Probabilistic {
			runs = max(sc.Repeat, 10)
		}
	}
	nfa := sc.Safeguards()
	var catches []plan
	if o.Profile != "" || len(o.Switches) > 0 {
		set := nfa.Clone()
		if o.Profile != "" {
			var err error
			if set, err = safeguard.ProfileSet(o.Profile); err != nil {
				return nil, err
			}
		}
		for n, on := range o.Switches {
			set[n] = on
		}
		set = set.Clone()
		names := set.Names()
		label := "catch"
		if len(names) > 0 {
			label += "-" + strings.Join(names, "+")
		}
		catches = append(catches, plan{kind: result.Catch, label: label, faults: sc.Faults, set: set, catch: &Catch{Expect: Either}, runs: runs})
		nfa = set
	} else {
		for i := range sc.Catches {
			c := &sc.Catches[i]
			set := safeguard.Set{}
			for _, n := range c.Safeguards {
				set[n] = true
			}
			catches = append(catches, plan{kind: result.Catch, label: "catch-" + c.Label(), faults: sc.Faults, set: set, catch: c, runs: runs})
		}
	}
	out := []plan{
		{kind: result.Control, label: "control", set: safeguard.Set{}, runs: runs},
		{kind: result.Reproduce, label: "reproduce", faults: sc.Faults, set: safeguard.Set{}, runs: runs},
	}
	out = append(out, catches...)
	out = append(out, plan{kind: result.NoFalseAlarm, label: "no-false-alarm", set: nfa, runs: runs})
	for i := range sc.Cases {
		c := &sc.Cases[i]
		set := safeguard.Set{}
		for _, n := range c.Safeguards {
			set[n] = true
		}
		out = append(out, plan{kind: result.Case, label: "case-" + c.Name, faults: c.Faults, set: set, runs: runs, cas: c})
	}
	if len(o.Cells) > 0 {
		out = slices.DeleteFunc(out, func(p plan) bool { return !slices.Contains(o.Cells, p.kind) })
	}
	return out, nil
}

// Run runs every scenario and returns their results. onUpdate, when set, is
// called with the results so far each time a cell finishes, so that a caller can
// save them as it goes (calls never overlap). Cancelling ctx stops every cluster
// and returns what finished, with ErrInterrupted.
func Run(ctx context.Context, scs []*Scenario, o Options, onUpdate func(*result.Results)) (*result.Results, error) {
	o.defaults()
	for _, sc := range scs {
		if err := o.check(sc); err != nil {
			return nil, err
		}
	}
	res := &result.Results{Schema: result.Schema, Seed: o.Seed, Profile: o.Profile, StartedAt: time.Now().UTC()}
	res.Runtime, res.CheckpointStore = o.Env()
	start := time.Now()
	sem := make(chan struct{}, o.Parallel)
	var mu sync.Mutex
	for _, sc := range scs {
		if ctx.Err() != nil {
			break
		}
		mu.Lock()
		res.Scenarios = append(res.Scenarios, sc.header())
		si := len(res.Scenarios) - 1
		mu.Unlock()
		sr, err := runScenario(ctx, sc, &o, sem, func(done []result.Cell) {
			mu.Lock()
			defer mu.Unlock()
			res.Scenarios[si].Cells = done
			res.DurationMs = time.Since(start).Milliseconds()
			if onUpdate != nil {
				onUpdate(res)
			}
		})
		if err != nil {
			return nil, err
		}
		mu.Lock()
		res.Scenarios[si] = sr
		res.DurationMs = time.Since(start).Milliseconds()
		if ctx.Err() != nil {
			res.Interrupted = true
		}
		if onUpdate != nil {
			onUpdate(res)
		}
		mu.Unlock()
	}
	res.DurationMs = time.Since(start).Milliseconds()
	if ctx.Err() != nil {
		res.Interrupted = true
		return res, ErrInterrupted
	}
	return res, nil
}

// Check refuses, before anything runs, scenarios whose faults could never
// fire on the chosen topology (ErrTopology) and settings the engine would
// refuse at start (ErrConfig).
func Check(scs []*Scenario, o Options) error {
	o.defaults()
	for _, sc := range scs {
		if err := o.check(sc); err != nil {
			return err
		}
	}
	return nil
}

// ErrTopology marks a scenario whose faults target executors the topology
// does not have: the fault could never be exercised.
var ErrTopology = errors.New("fault targets a missing executor")

// ErrConfig marks a configuration the engine refuses at start, as Spark
// refuses it (maxTaskAttemptsPerNode >= spark.task.maxFailures).
var ErrConfig = errors.New("configuration refused")

// topology is the scenario's cluster shape with --nodes and
// --executors-per-node applied, defaults filled.
func (o *Options) topology(sc *Scenario) spec.Topology {
	topo := sc.Topology
	if o.Nodes > 0 {
		topo.Nodes = o.Nodes
	}
	if o.ExecutorsPerNode > 0 {
		topo.ExecutorsPerNode = o.ExecutorsPerNode
	}
	return topo.WithDefaults()
}

// check refuses a run whose faults could never fire on the chosen topology.
func (o *Options) check(sc *Scenario) error {
	topo := o.topology(sc)
	n := len(topo.Executors())
	faults := slices.Clone(sc.Faults)
	for _, c := range sc.Cases {
		faults = append(faults, c.Faults...)
	}
	for _, f := range faults {
		for _, node := range f.Nodes {
			if node != fault.EveryNode && !slices.ContainsFunc(topo.Executors(), func(e spec.Executor) bool { return e.Node == node }) {
				return fmt.Errorf("scenario %s: %w: %s, but the cluster has %d node(s)", sc.Name, ErrTopology, f.String(), topo.Nodes)
			}
		}
	}
	for _, f := range sc.Faults {
		for _, e := range f.Executors {
			if e > n {
				return fmt.Errorf("scenario %s: %w: %s, but the cluster has %d executor(s)", sc.Name, ErrTopology, f.String(), n)
			}
		}
	}
	if err := cluster.CheckFaults(sc.Faults, o.topology(sc), o.Docker != nil); err != nil {
		return fmt.Errorf("scenario %s: %w", sc.Name, err)
	}
	for _, c := range sc.Cases {
		// A docker-only case is skipped, saying so, under the process runtime.
		if err := cluster.CheckFaults(c.Faults, o.topology(sc), o.Docker != nil || c.DockerOnly); err != nil {
			return fmt.Errorf("scenario %s, case %s: %w", sc.Name, c.Name, err)
		}
	}
	if n < 2 {
		return fmt.Errorf("scenario %s: %w: every scenario needs at least 2 executors to move data between processes, the cluster has %d", sc.Name, ErrTopology, n)
	}
	plans, err := o.plans(sc)
	if err != nil {
		return err
	}
	for _, p := range plans {
		if p.cas != nil && p.cas.Refused != "" {
			continue // refused on purpose, and judged so
		}
		sp := specFor(sc, p, o, o.Seed)
		if err := sp.Validate(); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrConfig, p.label, err)
		}
		if why := clusterDriver(sc, o); why != "" && sp.Conf.DeployMode() != conf.DeployCluster {
			return fmt.Errorf("scenario %s: %w: %s=%s, but %s", sc.Name, ErrConfig, conf.SubmitDeployMode, sp.Conf.DeployMode(), why)
		}
	}
	return nil
}

func runScenario(ctx context.Context, sc *Scenario, o *Options, sem chan struct{}, cellDone func([]result.Cell)) (result.Scenario, error) {
	sr := sc.header()
	plans, err := o.plans(sc)
	if err != nil {
		return sr, err
	}
	cells := make([]result.Cell, len(plans))
	finished := make([]bool, len(plans))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, p := range plans {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := runCell(ctx, sc, p, o, sem)
			mu.Lock()
			defer mu.Unlock()
			cells[i], finished[i] = c, true
			var done []result.Cell
			for j := range cells {
				if finished[j] {
					done = append(done, cells[j])
				}
			}
			cellDone(done)
		}()
	}
	wg.Wait()
	var control *result.Cell
	for i := range cells {
		if cells[i].Cell == result.Control {
			control = &cells[i]
		}
	}
	for i := range cells {
		if cells[i].Cell == result.NoFalseAlarm && control != nil && control.DurationMs > 0 {
			pct := 100 * float64(cells[i].DurationMs-control.DurationMs) / float64(control.DurationMs)
			if p, iv, ok := Overhead(durations(cells[i].Repeats), durations(control.Repeats)); ok {
				pct, cells[i].OverheadInterval = p, &iv
			}
			cells[i].OverheadPct = &pct
		}
	}
	sr.Cells = cells
	sr.Verdict = scenarioVerdict(cells)
	return sr, nil
}

// durations lists the wall times of a cell's runs, in ms.
func durations(runs []result.Run) []float64 {
	out := make([]float64, len(runs))
	for i, r := range runs {
		out[i] = float64(r.DurationMs)
	}
	return out
}

func scenarioVerdict(cells []result.Cell) result.Verdict {
	v := result.Pass
	for _, c := range cells {
		switch c.Verdict {
		case result.Fail:
			return result.Fail
		case result.Inconclusive:
			v = result.Inconclusive
		}
	}
	return v
}

// runOnce runs one cell once on a fresh cluster and judges it, then weighs
// executor deaths no fault of the cell caused (see applyInterference).
func runOnce(ctx context.Context, sc *Scenario, p plan, o *Options, idx int) (result.Run, *Observation, *cluster.Outcome) {
	r, obs, out := runAndJudge(ctx, sc, p, o, idx)
	applyInterference(&r, externalDeaths(sc, p, out))
	return r, obs, out
}

func runAndJudge(ctx context.Context, sc *Scenario, p plan, o *Options, idx int) (result.Run, *Observation, *cluster.Outcome) {
	seed := o.Seed + int64(idx)
	r := result.Run{Index: idx, Seed: seed, Verdict: result.Inconclusive}
	dir := filepath.Join(o.Dir, sc.Name, p.label, fmt.Sprintf("run-%d", idx+1))
	r.RunDir = dir
	// The run directory is this run's alone: nothing of an earlier run into the
	// same --out may mix into its logs or events.
	if err := os.RemoveAll(dir); err != nil {
		r.Problems = []string{"clear run directory: " + err.Error()}
		return r, nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.Problems = []string{"create run directory: " + err.Error()}
		return r, nil, nil
	}
	sp := specFor(sc, p, o, seed)
	if p.cas != nil && p.cas.Refused != "" {
		judgeRefusal(p.cas, sp, &r)
		return r, nil, nil
	}
	timeout := sc.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	env, services, err := startEnvironment(rctx, sc, sp, dir, o.Docker != nil)
	if err != nil {
		r.Problems = []string{err.Error()}
		return r, nil, nil
	}
	defer env.Close()
	var out *cluster.Outcome
	if sc.Stream != nil {
		out, err = runStream(rctx, sc, sp, o, dir)
	} else {
		out, err = startAndWait(rctx, sp, o, dir, services)
	}
	r.DurationMs = time.Since(start).Milliseconds()
	if err != nil {
		r.Problems = []string{err.Error()}
		return r, nil, out
	}
	if out.Result == nil {
		r.Problems = []string{fmt.Sprintf("driver ended without a result (exit %d): %s", out.DriverExit.Code, lastLine(out.Logs["driver"]))}
		return r, nil, out
	}
	wl, err := o.App.Workload(sc.Workload)
	if err != nil {
		r.Problems = []string{err.Error()}
		return r, nil, out
	}
	oracle, err := oracles.oracle(o.App, sc.Workload, wl, job.Params{Seed: seed, Values: sp.Params})
	if err != nil {
		r.Problems = []string{"compute oracle: " + err.Error()}
		return r, nil, out
	}
	obs, err := observe(out, oracle)
	if err != nil {
		r.Problems = []string{err.Error()}
		return r, nil, out
	}
	judge(sc, p, obs, &r)
	return r, obs, out
}

func startAndWait(ctx context.Context, sp *spec.Spec, o *Options, dir string, services []string) (*cluster.Outcome, error) {
	cl, err := cluster.Start(ctx, sp, cluster.Options{Binary: o.Binary, Dir: dir, Docker: o.Docker, Services: services})
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	defer cl.Close()
	out, err := cl.Wait(ctx)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("run did not finish in time (see %s)", dir)
		}
		return nil, err
	}
	return out, nil
}

func specFor(sc *Scenario, p plan, o *Options, seed int64) *spec.Spec {
	topo := o.topology(sc)
	faults := make(fault.Set, len(p.faults))
	for i, f := range p.faults {
		if f.Seed == 0 {
			f.Seed = seed
		}
		faults[i] = f
	}
	return &spec.Spec{
		Name: fmt.Sprintf("%s/%s#%d", sc.Name, p.label, seed), Seed: seed, Topology: topo,
		Conf: conf.New(conf.Fast, deployConf(sc, o), sc.Conf, o.Conf, caseConf(p)), Safeguards: p.set, Faults: faults, Workload: sc.Workload, Params: maps.Clone(sc.params(p.catch)),
	}
}

// clusterDriver says why a run needs its driver in a process of its own
// (spark.submit.deployMode=cluster), or "" when the driver may run in the
// harness, as spark-submit runs it in client mode (Spark's default): a
// scenario that kills and restarts its driver, as Spark supervises drivers
// only in cluster mode, and the docker runtime, whose driver is a container.
func clusterDriver(sc *Scenario, o *Options) string {
	switch {
	case sc.Stream != nil && sc.Stream.KillDriver:
		return "it kills and restarts its driver, which Spark supervises only in cluster deploy mode"
	case o.Docker != nil:
		return "the docker runtime runs the driver in a container of its own"
	}
	return ""
}

// deployConf is the deploy mode a run's driver needs, under the scenario's and
// the user's settings: check refuses a setting that contradicts it.
func deployConf(sc *Scenario, o *Options) map[string]string {
	if clusterDriver(sc, o) != "" {
		return map[string]string{conf.SubmitDeployMode: conf.DeployCluster}
	}
	return nil
}

func caseConf(p plan) map[string]string {
	if p.cas == nil {
		return nil
	}
	return p.cas.Conf
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" && !strings.HasPrefix(lines[i], "\t") {
			return lines[i]
		}
	}
	return "(no output)"
}
