package harness

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// Knob is a scenario's one numeric knob with a monotone effect: at values
// below a threshold the fault shows nothing, at and above it the effect shows.
// `faultbook probe` finds the threshold by bisection on real processes.
type Knob struct {
	// Param is the workload knob it sets ("length"); Unit says what the value
	// counts ("elements").
	Param string
	Unit  string
	// Lo and Hi are the default search bounds: Lo must not show the effect and
	// Hi must.
	Lo, Hi int
	// Conf holds configuration for probe runs, such as spark.task.maxFailures
	// = 1 when one failure is enough to tell.
	Conf map[string]string
	// Shows says whether a run showed the effect. Nil means the scenario's
	// Reproduce check passing.
	Shows func(o *Observation) bool
	// Proof returns the line that shows it, for the probe's report.
	Proof func(o *Observation) string
}

// ProbeStep is one run of a probe.
type ProbeStep struct {
	Value      int
	Shows      bool
	DurationMs int64
	// Proof is the line that shows the effect, or why the run says nothing.
	Proof  string
	RunDir string
}

// ProbeResult is a finished search: every step in order and the threshold,
// the smallest value that showed the effect (Found false when the bounds did
// not bracket it).
type ProbeResult struct {
	Scenario   string
	Param      string
	Unit       string
	Conf       map[string]string
	Steps      []ProbeStep
	Threshold  int
	Found      bool
	DurationMs int64
}

// ErrNoKnob marks a scenario that declares no knob to probe.
var ErrNoKnob = errors.New("scenario declares no knob to probe")

// ErrNotBracketed marks bounds that do not bracket the threshold.
var ErrNotBracketed = errors.New("the bounds do not bracket the threshold")

// Probe bisects sc's knob between lo and hi (the knob's defaults when 0): each
// step runs the reproduce cell once (fault on, safeguards off) on a fresh
// cluster with the knob at a value and asks whether the effect showed.
// onStep, when set, is told of every step as it ends.
func Probe(ctx context.Context, sc *Scenario, o Options, lo, hi int, onStep func(ProbeStep)) (*ProbeResult, error) {
	o.defaults()
	k := sc.Knob
	if k == nil {
		return nil, fmt.Errorf("%s: %w", sc.Name, ErrNoKnob)
	}
	if lo == 0 && hi == 0 {
		lo, hi = k.Lo, k.Hi
	}
	if lo < 0 || hi <= lo {
		return nil, fmt.Errorf("probe %s: bounds %d..%d: want 0 <= lo < hi", sc.Name, lo, hi)
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
	res := &ProbeResult{Scenario: sc.Name, Param: k.Param, Unit: k.Unit, Conf: conf}
	start := time.Now()
	step := func(v int) (bool, error) {
		s, err := probeOnce(ctx, sc, o, conf, v)
		if err != nil {
			return false, err
		}
		res.Steps = append(res.Steps, s)
		if onStep != nil {
			onStep(s)
		}
		return s.Shows, nil
	}
	defer func() { res.DurationMs = time.Since(start).Milliseconds() }()
	if shows, err := step(lo); err != nil {
		return res, err
	} else if shows {
		return res, fmt.Errorf("probe %s: %w: %s=%d already shows the effect", sc.Name, ErrNotBracketed, k.Param, lo)
	}
	if shows, err := step(hi); err != nil {
		return res, err
	} else if !shows {
		return res, fmt.Errorf("probe %s: %w: %s=%d does not show the effect", sc.Name, ErrNotBracketed, k.Param, hi)
	}
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		shows, err := step(mid)
		if err != nil {
			return res, err
		}
		if shows {
			hi = mid
		} else {
			lo = mid
		}
	}
	res.Threshold, res.Found = hi, true
	return res, nil
}

// probeOnce runs the reproduce cell once with the knob at v.
func probeOnce(ctx context.Context, sc *Scenario, o Options, conf map[string]string, v int) (ProbeStep, error) {
	k := sc.Knob
	at := *sc
	at.Conf = conf
	at.Params = maps.Clone(sc.Params)
	if at.Params == nil {
		at.Params = map[string]string{}
	}
	at.Params[k.Param] = strconv.Itoa(v)
	p := plan{kind: result.Reproduce, label: fmt.Sprintf("probe-%s-%d", k.Param, v), faults: sc.Faults, set: safeguard.Set{}, runs: 1}
	r, obs, _ := runOnce(ctx, &at, p, &o, 0)
	s := ProbeStep{Value: v, DurationMs: r.DurationMs, RunDir: r.RunDir}
	if ctx.Err() != nil {
		return s, ErrInterrupted
	}
	if obs == nil {
		return s, fmt.Errorf("probe %s at %s=%d: the run could not be carried out: %s", sc.Name, k.Param, v, firstOr(r.Problems, "no observation"))
	}
	if k.Shows != nil {
		s.Shows = k.Shows(obs)
	} else {
		s.Shows = r.Hit
	}
	switch {
	case s.Shows && k.Proof != nil:
		s.Proof = k.Proof(obs)
	case s.Shows:
		s.Proof = r.Observed
	case obs.Correct:
		s.Proof = "job completed correctly"
	case obs.Aborted():
		s.Proof = firstLine(obs.Result.Error)
	}
	return s, nil
}
