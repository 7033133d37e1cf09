package harness

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
)

// Observation is everything one run left behind, read back from its run
// directory, with the output compared against the oracle.
type Observation struct {
	Outcome *cluster.Outcome
	// Result is the driver's report, nil when the driver died without one.
	Result *driver.Result
	// Correct is true when the job succeeded and its output equals the oracle's;
	// Diff says how it differs otherwise.
	Correct bool
	Diff    string
	// Oracle is the expected output, as JSON values (maps, float64s).
	Oracle any
}

func observe(out *cluster.Outcome, oracle any) (*Observation, error) {
	o := &Observation{Outcome: out, Result: out.Result}
	want, err := canonicalJSON(oracle)
	if err != nil {
		return nil, fmt.Errorf("encode oracle: %w", err)
	}
	o.Oracle = want
	if o.Result == nil || o.Result.Status != driver.Succeeded {
		return o, nil
	}
	var got any
	if err := json.Unmarshal(o.Result.Output, &got); err != nil {
		o.Diff = "output is not JSON: " + err.Error()
		return o, nil
	}
	o.Diff = cmp.Diff(want, got)
	o.Correct = o.Diff == ""
	return o, nil
}

func canonicalJSON(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	return out, json.Unmarshal(b, &out)
}

// Aborted reports whether the application ended with an exception.
func (o *Observation) Aborted() bool { return o.Result != nil && o.Result.Status == driver.Aborted }

// Events returns the events of the given kinds, in order.
func (o *Observation) Events(kinds ...events.Kind) []events.Event {
	var out []events.Event
	for _, e := range o.Outcome.Events {
		if slices.Contains(kinds, e.Kind) {
			out = append(out, e)
		}
	}
	return out
}

// FaultHits returns the fault events: each a fault point's effect, with its
// proof in the message (see package fault).
func (o *Observation) FaultHits() []events.Event { return o.Events(events.FaultHit) }

// Effect returns the hits that prove the fault had an effect in this run. When
// there are none, why says what the run showed instead: a fault point reached
// without effect ("configured, no effect: …"), or processes whose states all
// agree; why is empty when no fault point was reached at all.
//
// A hit that carries a State (a registry fingerprint) counts only when the
// run's processes ended in different states, a process that reported none
// being in the canonical state: registries that all differ from the canonical
// one in the same way still agree with each other, and nothing goes wrong.
func (o *Observation) Effect() (hits []events.Event, why string) {
	differ, agreed := o.statesDiffer()
	for _, h := range o.FaultHits() {
		if h.State == "" || differ {
			hits = append(hits, h)
		}
	}
	if len(hits) > 0 {
		return hits, ""
	}
	inert := o.Events(events.FaultNoEffect)
	switch {
	case len(inert) > 0 && len(o.FaultHits()) == 0:
		return nil, fmt.Sprintf("fault %s on %s: %s", inert[0].Name, source(inert[0]), inert[0].Message)
	case agreed != "":
		return nil, "configured, no effect in this run: every process ended in the same state (" + agreed + "), so nothing differed between them"
	}
	return nil, ""
}

// statesDiffer reports whether the fault events that carry a state show
// processes in different states; when they do not, agreed is the one state.
func (o *Observation) statesDiffer() (differ bool, agreed string) {
	states := map[string]bool{}
	driver, canonical := false, ""
	for _, e := range o.Events(events.FaultHit, events.FaultNoEffect) {
		if e.State == "" {
			continue
		}
		states[e.State] = true
		canonical = e.Canonical
		if source(e) == "driver" {
			driver = true
		}
	}
	if len(states) == 0 {
		return false, ""
	}
	if !driver && canonical != "" {
		states[canonical] = true // the driver reported nothing: it is canonical
	}
	for st := range states {
		agreed = st
	}
	if len(states) > 1 {
		return true, ""
	}
	return false, agreed
}

// DataHits returns the hits that name the block or record the fault's effect
// reached.
func (o *Observation) DataHits() []events.Event {
	hits, _ := o.Effect()
	var out []events.Event
	for _, h := range hits {
		if h.Block != "" {
			out = append(out, h)
		}
	}
	return out
}

// Fired returns the safeguard events.
func (o *Observation) Fired() []events.Event { return o.Events(events.SafeguardFired) }

// FailedTasks returns the task-end events of failed attempts.
func (o *Observation) FailedTasks() []events.Event {
	var out []events.Event
	for _, e := range o.Events(events.TaskEnd) {
		if e.Outcome == "failed" {
			out = append(out, e)
		}
	}
	return out
}

// Sources lists the process log sources: "driver" first, then executors in
// id order (relaunched ones included). Workers' logs are not among them: see
// WorkerSources.
func (o *Observation) Sources() []string {
	var execs []string
	for s := range o.Outcome.Logs {
		if s != "driver" && !strings.HasPrefix(s, cluster.WorkerLogPrefix) {
			execs = append(execs, s)
		}
	}
	sort.Slice(execs, func(i, j int) bool { return execNum(execs[i]) < execNum(execs[j]) })
	return append([]string{"driver"}, execs...)
}

// WorkerSources lists the nodes' worker logs ("worker-node-a"), by node.
func (o *Observation) WorkerSources() []string {
	var out []string
	for s := range o.Outcome.Logs {
		if strings.HasPrefix(s, cluster.WorkerLogPrefix) {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func execNum(s string) int {
	var n int
	fmt.Sscanf(s, "exec-%d", &n)
	return n
}

// Grep returns the log lines of a source that match re. Stack lines (indented)
// are skipped, so each match is a message's first line.
func (o *Observation) Grep(source string, re *regexp.Regexp) []string {
	var out []string
	for _, l := range o.Outcome.Logs[source] {
		if !strings.HasPrefix(l, "\t") && re.MatchString(l) {
			out = append(out, l)
		}
	}
	return out
}

// GrepExecutors returns, per executor source, the lines matching re.
func (o *Observation) GrepExecutors(re *regexp.Regexp) map[string][]string {
	out := map[string][]string{}
	for _, s := range o.Sources() {
		if s == "driver" {
			continue
		}
		if m := o.Grep(s, re); len(m) > 0 {
			out[s] = m
		}
	}
	return out
}

// Evidence collects the lines that prove a verdict, and what was observed.
type Evidence struct {
	lines    []result.Evidence
	observed string
}

// Observe states in one line what the run showed ("IndexOutOfBoundsException in
// 4 attempts of task 0, job aborted"); the last statement wins.
func (e *Evidence) Observe(format string, a ...any) { e.observed = fmt.Sprintf(format, a...) }

// StackAfter returns the first stack line a source logged under the first
// message matching re: the exception an executor logged in full.
func (o *Observation) StackAfter(source string, re *regexp.Regexp) string {
	lines := o.Outcome.Logs[source]
	for i, l := range lines {
		if !strings.HasPrefix(l, "\t") && re.MatchString(l) && i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
			return strings.TrimSpace(lines[i+1])
		}
	}
	return ""
}

// Add records a line from a source.
func (e *Evidence) Add(source, line string) {
	if line == "" {
		return
	}
	for _, l := range e.lines {
		if l.Source == source && l.Line == line {
			return
		}
	}
	e.lines = append(e.lines, result.Evidence{Source: source, Line: line})
}

// Addf records a harness judgement.
func (e *Evidence) Addf(format string, a ...any) { e.Add("harness", fmt.Sprintf(format, a...)) }

// First records the first match of re in a source and reports whether there was one.
func (e *Evidence) First(o *Observation, source string, re *regexp.Regexp) bool {
	m := o.Grep(source, re)
	if len(m) == 0 {
		return false
	}
	e.Add(source, m[0])
	return true
}

// Lines returns what was collected.
func (e *Evidence) Lines() []result.Evidence { return slices.Clone(e.lines) }
