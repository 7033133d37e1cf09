package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// Knob is a scenario's one numeric knob with a monotone effect: on one side
// of a threshold the fault shows nothing, on the other it shows.
// `faultbook probe` finds the threshold by bisection on real processes.
type Knob struct {
	// Param is the workload knob it sets ("length"), or ConfKey the
	// configuration key ("faultbook.store.sizeGiB"); exactly one is set. Unit
	// says what the value counts ("elements", "GiB").
	Param   string
	ConfKey string
	Unit    string
	// Direction says on which side of the threshold the effect shows: Rising
	// (the zero value) when it shows from the threshold up (a longer list
	// overflows the stack), Falling when it shows below the threshold and
	// vanishes at and above it (a larger store earns enough throughput).
	Direction Direction
	// Lo and Hi are the default search bounds: for a rising knob Lo must not
	// show the effect and Hi must; for a falling one the other way round.
	Lo, Hi float64
	// Step is the resolution the search stops at (default 1: whole numbers).
	Step float64
	// Conf holds configuration for probe runs, such as spark.task.maxFailures
	// = 1 when one failure is enough to tell.
	Conf map[string]string
	// Context lists configuration keys whose values move the threshold; the
	// probe names them with the bounds (deep-list: the executors' stack).
	Context []string
	// Shows says whether a run showed the effect. Nil means the scenario's
	// Reproduce check passing.
	Shows func(o *Observation) bool
	// Proof returns the line that says what a run showed, for the probe's
	// report; shows is what Shows said. Nil or "": the reproduce check's
	// observation when the effect showed, else how the job ended.
	Proof func(o *Observation, shows bool) string
}

// Direction is the side of a knob's threshold where its effect shows.
type Direction int

const (
	// Rising: the effect shows at and above the threshold.
	Rising Direction = iota
	// Falling: the effect shows below the threshold and not at or above it.
	Falling
)

// Name returns what the knob sets: its workload param or its conf key.
func (k *Knob) Name() string {
	if k.ConfKey != "" {
		return k.ConfKey
	}
	return k.Param
}

// step is the knob's resolution.
func (k *Knob) step() float64 {
	if k.Step > 0 {
		return k.Step
	}
	return 1
}

// Format writes a knob value with as many decimals as its step has.
func (k *Knob) Format(v float64) string {
	d := 0
	if s := strconv.FormatFloat(k.step(), 'f', -1, 64); strings.Contains(s, ".") {
		d = len(s) - strings.Index(s, ".") - 1
	}
	return strconv.FormatFloat(v, 'f', d, 64)
}

// ProbeStep is one run of a probe.
type ProbeStep struct {
	Value      float64
	Shows      bool
	DurationMs int64
	// Proof is the line that shows the effect, or why the run says nothing.
	Proof  string
	RunDir string
}

// ProbeResult is a finished search: every step in order and the threshold,
// the smallest value on the Hi side of it (Found false when the bounds did not
// bracket it): for a rising knob the smallest value that showed the effect,
// for a falling one the smallest that did not. Below is the largest value
// probed on the other side.
type ProbeResult struct {
	Scenario   string
	Knob       string
	Unit       string
	Direction  Direction
	Conf       map[string]string
	Steps      []ProbeStep
	Threshold  float64
	Below      float64
	Found      bool
	DurationMs int64
}

// ErrNoKnob marks a scenario that declares no knob to probe.
var ErrNoKnob = errors.New("scenario declares no knob to probe")

// ErrNotBracketed marks bounds that do not bracket the threshold.
var ErrNotBracketed = errors.New("the bounds do not bracket the threshold")

// probeRunner runs the reproduce cell once at a knob value; a test swaps it.
type probeRunner func(ctx context.Context, sc *Scenario, o Options, conf map[string]string, v float64) (ProbeStep, error)

// Probe bisects sc's knob between lo and hi (the knob's defaults when both
// are 0), down to step (the knob's when 0): each step runs the reproduce cell
// once (fault on, safeguards off) on a fresh cluster with the knob at a value
// and asks whether the effect showed. onStep, when set, is told of every step
// as it ends.
func Probe(ctx context.Context, sc *Scenario, o Options, lo, hi, step float64, onStep func(ProbeStep)) (*ProbeResult, error) {
	return probe(ctx, sc, o, lo, hi, step, onStep, probeOnce)
}

func probe(ctx context.Context, sc *Scenario, o Options, lo, hi, step float64, onStep func(ProbeStep), run probeRunner) (*ProbeResult, error) {
	o.defaults()
	k := sc.Knob
	if k == nil {
		return nil, fmt.Errorf("%s: %w", sc.Name, ErrNoKnob)
	}
	if (k.Param == "") == (k.ConfKey == "") {
		return nil, fmt.Errorf("probe %s: the knob must set exactly one of a workload param and a conf key", sc.Name)
	}
	if lo == 0 && hi == 0 {
		lo, hi = k.Lo, k.Hi
	}
	if step <= 0 {
		step = k.step()
	}
	if lo < 0 || hi <= lo {
		return nil, fmt.Errorf("probe %s: bounds %s..%s: want 0 <= lo < hi", sc.Name, k.Format(lo), k.Format(hi))
	}
	if err := o.check(sc); err != nil {
		return nil, err
	}
	conf := maps.Clone(sc.Conf)
	if conf == nil {
		conf = map[string]string{}
	}
	maps.Copy(conf, k.Conf)
	maps.Copy(conf, o.Conf)
	res := &ProbeResult{Scenario: sc.Name, Knob: k.Name(), Unit: k.Unit, Direction: k.Direction, Conf: conf}
	start := time.Now()
	// past says whether a value lies on the Hi side of the threshold: it
	// shows the effect (rising) or does not (falling).
	past := func(v float64) (bool, error) {
		s, err := run(ctx, sc, o, conf, v)
		if err != nil {
			return false, err
		}
		res.Steps = append(res.Steps, s)
		if onStep != nil {
			onStep(s)
		}
		return s.Shows == (k.Direction == Rising), nil
	}
	defer func() { res.DurationMs = time.Since(start).Milliseconds() }()
	word := map[bool]string{true: "shows the effect", false: "does not show the effect"}
	if p, err := past(lo); err != nil {
		return res, err
	} else if p {
		return res, fmt.Errorf("probe %s: %w: %s=%s already %s", sc.Name, ErrNotBracketed, k.Name(), k.Format(lo), word[k.Direction == Rising])
	}
	if p, err := past(hi); err != nil {
		return res, err
	} else if !p {
		return res, fmt.Errorf("probe %s: %w: %s=%s still %s", sc.Name, ErrNotBracketed, k.Name(), k.Format(hi), word[k.Direction != Rising])
	}
	// Bisect over the grid lo + i·step (i = 0..n, the last point hi itself),
	// so that every probed value is a whole number of steps from lo.
	at := func(i int) float64 { return min(lo+float64(i)*step, hi) }
	a, b := 0, int(math.Ceil((hi-lo)/step-1e-9))
	for b-a > 1 {
		mid := a + (b-a)/2
		p, err := past(at(mid))
		if err != nil {
			return res, err
		}
		if p {
			b = mid
		} else {
			a = mid
		}
	}
	res.Threshold, res.Below, res.Found = at(b), at(a), true
	return res, nil
}

// probeOnce runs the reproduce cell once with the knob at v.
func probeOnce(ctx context.Context, sc *Scenario, o Options, conf map[string]string, v float64) (ProbeStep, error) {
	k := sc.Knob
	at := *sc
	at.Params = maps.Clone(sc.Params)
	if at.Params == nil {
		at.Params = map[string]string{}
	}
	at.Conf = maps.Clone(conf)
	if k.ConfKey != "" {
		at.Conf[k.ConfKey] = k.Format(v)
	} else {
		at.Params[k.Param] = k.Format(v)
	}
	label := fmt.Sprintf("probe-%s-%s", k.Name(), k.Format(v))
	p := plan{kind: result.Reproduce, label: label, faults: sc.Faults, set: safeguard.Set{}, runs: 1}
	r, obs, _ := runOnce(ctx, &at, p, &o, 0)
	s := ProbeStep{Value: v, DurationMs: r.DurationMs, RunDir: r.RunDir}
	if ctx.Err() != nil {
		return s, ErrInterrupted
	}
	if obs == nil {
		return s, fmt.Errorf("probe %s at %s=%s: the run could not be carried out: %s", sc.Name, k.Name(), k.Format(v), firstOr(r.Problems, "no observation"))
	}
	if k.Shows != nil {
		s.Shows = k.Shows(obs)
	} else {
		s.Shows = r.Hit
	}
	if k.Proof != nil {
		s.Proof = k.Proof(obs, s.Shows)
	}
	switch {
	case s.Proof != "":
	case s.Shows:
		s.Proof = r.Observed
	case obs.Correct:
		s.Proof = "job completed correctly"
	case obs.Aborted():
		s.Proof = firstLine(obs.Result.Error)
	}
	return s, nil
}
