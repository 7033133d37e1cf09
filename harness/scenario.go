// Package harness runs scenarios as experiments of four cells, each on its own
// minicluster in its own run directory, judges every run from what the processes
// left behind (results, event log, node logs), repeats probabilistic cells, and
// returns typed results. It knows scenarios only through the Scenario type;
// the scenarios themselves are declared in package scenarios.
package harness

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// Scenario is one documented failure as an experiment. Fields are data; the
// only code is the Reproduce check, which says what the documented symptom looks
// like in an observation.
type Scenario struct {
	// Name is the CLI name ("registration-order"); Title a one-line description.
	Name  string
	Title string
	// Source is the seed document's file name and Section the FAILURES.md
	// section number ("1").
	Source  string
	Section string
	// Symptom is the documented symptom; Place where it was documented to show
	// ("executor log", "driver output").
	Symptom   string
	Place     string
	RootCause string
	// Why says in two or three sentences what the experiment shows.
	Why string
	// Chain is the causal chain, cause first.
	Chain []string
	// Story is the long explanation printed by `faultbook explain`.
	Story string

	// Workload names a workload of the application bundle, Params its knobs.
	Workload string
	Params   map[string]string
	// Topology is the cluster shape; zero fields take spec defaults (2 nodes × 1
	// executor × 2 slots).
	Topology spec.Topology
	// Conf holds configuration overrides (Spark key names) for every cell.
	Conf map[string]string
	// Faults are injected in the reproduce and catch cells. A zero Seed is
	// replaced by the run's seed.
	Faults fault.Set
	// Catches are the catch cells: each switches its safeguards on and is judged
	// on its own, so results show which safeguard catches what.
	Catches []Catch
	// Probabilistic marks a fault that does not show on every run: its reproduce
	// cell passes when at least one run shows the symptom, and Repeat (default
	// 10) is how often cells run when --repeat is not given.
	Probabilistic bool
	Repeat        int
	// OutputUnaffected marks a fault that never changes the output (a
	// slowdown): only a safeguard's diagnosis counts as catching it.
	OutputUnaffected bool
	// Stream, when set, runs each cell of a streaming workload against a
	// checkpoint store the harness provides, killing the driver if asked.
	Stream *StreamRun
	// Timeout bounds one run of one cell. Default 60 s.
	Timeout time.Duration
	// Knob, when set, is the scenario's one numeric knob with a monotone
	// effect, which `faultbook probe` bisects for its threshold.
	Knob *Knob
	// ExecutorDeaths says the scenario's faults end executor processes (a
	// crash is the symptom): in the cells that inject them, an executor's
	// death is the fault's doing, not interference. False: any executor death
	// not aimed at by an executor-kill fault makes a failed run inconclusive.
	ExecutorDeaths bool

	// Signature is the documented evidence of the failure as it shows in a
	// Spark application's logs: `faultbook diagnose` recognises it in
	// production logs, and this scenario's reproduce cell must show it.
	Signature *diagnose.Signature

	// Reproduce judges a reproduce run: nil when the documented symptom showed in
	// the documented place, else why not. It adds the lines that prove it to ev.
	Reproduce func(o *Observation, ev *Evidence) error

	// Environment, when set, starts what the job needs beside the cluster (an
	// external service behind per-node proxies) for each run, injecting the
	// run's faults at its own fault points; nil for none.
	Environment func(ctx context.Context, env EnvSpec) (Environment, error)
	// Cases are extra experiments beyond the four cells, each judged on its own.
	Cases []Case
}

// EnvSpec is what an Environment is started for.
type EnvSpec struct {
	Spec   *spec.Spec
	Dir    string
	Events *events.Log
}

// Environment runs beside one cluster run.
type Environment interface {
	// Params are added to the workload's parameters (addresses, the nodes).
	Params() map[string]string
	// Close reverts the faults and stops everything; safe twice.
	Close() error
}

// Case is an extra experiment: the fault and settings of its own, and a check
// that says whether the engine behaved as documented.
type Case struct {
	// Name labels the case ("all-nodes-bad"); Title says what it shows.
	Name, Title string
	// Faults replace the scenario's; nil means none.
	Faults fault.Set
	// Conf is added to the scenario's configuration.
	Conf map[string]string
	// Safeguards are switched on.
	Safeguards []safeguard.Name
	// Refused, when set, expects the run to be refused at start with an error
	// containing it; no process may start.
	Refused string
	// Check judges an observation of the run (unless Refused).
	Check func(o *Observation, ev *Evidence) error
	// DockerOnly marks a case whose fault only the docker runtime can
	// inject (node-partition): under the process runtime its cell is
	// skipped, saying so (result.Skipped), and nothing runs.
	DockerOnly bool
}

// Expectation is what a catch cell requires of its safeguards.
type Expectation string

const (
	// Diagnose: a safeguard fires with a message naming the cause (the job may
	// stop, or go on correctly without the faulty part).
	Diagnose Expectation = "diagnose"
	// Survive: the job completes correctly despite the fault.
	Survive Expectation = "survive"
	// Either: a diagnosis or a correct completion.
	Either Expectation = "either"
)

// Catch is one catch cell.
type Catch struct {
	Safeguards []safeguard.Name
	Expect     Expectation
	// Diagnosis lists phrases the safeguard's message must contain, so that the
	// diagnosis names the cause rather than merely failing.
	Diagnosis []string
	// UserFix, when set, makes the cell a fix in the application's own code
	// rather than an engine safeguard ("OptionOf at the lookup"), the fix the
	// source document gives; Params are the workload knobs that apply it, on
	// top of the scenario's. Such a cell switches no safeguard on, and results
	// and the matrix label it as a fix in user code.
	UserFix string
	Params  map[string]string
	// Check, when set, is one more condition a catch must meet beyond the
	// diagnosis ("the task was tried once"); it adds its proof to ev.
	Check func(o *Observation, ev *Evidence) error
}

// UserFixLabel is the label of a catch cell that is a fix in user code.
const UserFixLabel = "user-fix"

// Label names the catch cell in messages: its safeguards joined by "+", or
// "user-fix".
func (c Catch) Label() string {
	if c.UserFix != "" {
		return UserFixLabel
	}
	s := ""
	for i, n := range c.Safeguards {
		if i > 0 {
			s += "+"
		}
		s += string(n)
	}
	if s == "" {
		return "none"
	}
	return s
}

// Validate checks a scenario is complete.
func (s *Scenario) Validate() error {
	switch {
	case s.Name == "":
		return fmt.Errorf("scenario with no name")
	case s.Source == "" || s.Symptom == "":
		return fmt.Errorf("scenario %s: source document and symptom are required", s.Name)
	case s.Workload == "":
		return fmt.Errorf("scenario %s: no workload", s.Name)
	case len(s.Faults) == 0:
		return fmt.Errorf("scenario %s: no fault", s.Name)
	case len(s.Catches) == 0:
		return fmt.Errorf("scenario %s: no catch cell", s.Name)
	case s.Reproduce == nil:
		return fmt.Errorf("scenario %s: no reproduce check", s.Name)
	}
	for _, c := range s.Catches {
		if (c.UserFix == "") == (len(c.Safeguards) == 0) {
			return fmt.Errorf("scenario %s: a catch cell names safeguards or a fix in user code, not both or neither", s.Name)
		}
		for _, n := range c.Safeguards {
			if _, ok := safeguard.Lookup(n); !ok {
				return fmt.Errorf("scenario %s: unknown safeguard %q", s.Name, n)
			}
		}
	}
	return nil
}

// Safeguards is the union of every catch cell's safeguards: what the
// no-false-alarm cell switches on.
func (s *Scenario) Safeguards() safeguard.Set {
	set := safeguard.Set{}
	for _, c := range s.Catches {
		for _, n := range c.Safeguards {
			set[n] = true
		}
	}
	return set
}

// UserFix returns the scenario's catch cell that is a fix in user code, if any.
func (s *Scenario) UserFix() (*Catch, bool) {
	for i := range s.Catches {
		if s.Catches[i].UserFix != "" {
			return &s.Catches[i], true
		}
	}
	return nil, false
}

// params are the workload's knobs for a cell: the scenario's, and a user
// fix's on top.
func (s *Scenario) params(c *Catch) map[string]string {
	if c == nil || len(c.Params) == 0 {
		return s.Params
	}
	out := maps.Clone(s.Params)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, c.Params)
	return out
}

// header copies the scenario's documentation into a result.
func (s *Scenario) header() result.Scenario {
	return result.Scenario{Name: s.Name, Title: s.Title, Source: s.Source, Section: s.Section, Symptom: s.Symptom,
		Place: s.Place, RootCause: s.RootCause, Why: s.Why, Chain: s.Chain}
}
