package harness

import (
	"context"
	"errors"
	"maps"
	"math"
	"testing"
)

// fakeProbe runs no cluster: the effect shows where shows says, and it
// records the conf each probe was given.
type fakeProbe struct {
	shows func(v float64) bool
	confs []map[string]string
}

func (f *fakeProbe) run(_ context.Context, _ *Scenario, _ Options, conf map[string]string, v float64) (ProbeStep, error) {
	f.confs = append(f.confs, maps.Clone(conf))
	return ProbeStep{Value: v, Shows: f.shows(v)}, nil
}

// TestProbeDirections: a rising knob's threshold is the smallest value that
// shows the effect; a falling knob's (a store's size: the stream is unstable
// below it) the smallest that does not. Every probe lies on the grid of the
// step from lo, and bounds that do not bracket the threshold are refused
// after the probe that proves it.
func TestProbeDirections(t *testing.T) {
	tests := []struct {
		name           string
		knob           Knob
		lo, hi         float64
		shows          func(v float64) bool
		threshold      float64
		below          float64
		notBracketed   bool
		probesAtLeast  int
		probesAtMost   int
		lastProbeValue float64
	}{
		{name: "rising, whole numbers", knob: Knob{Param: "length", Lo: 1, Hi: 200_000},
			shows: func(v float64) bool { return v >= 875 }, threshold: 875, below: 874, probesAtLeast: 3, probesAtMost: 20},
		{name: "falling, a store's size", knob: Knob{ConfKey: "faultbook.store.sizeGiB", Direction: Falling, Lo: 0.5, Hi: 4, Step: 0.05},
			shows: func(v float64) bool { return v < 1.33 }, threshold: 1.35, below: 1.30, probesAtLeast: 3, probesAtMost: 9},
		{name: "falling, threshold at hi", knob: Knob{ConfKey: "k", Direction: Falling, Lo: 0.5, Hi: 4, Step: 0.05},
			shows: func(v float64) bool { return v < 3.99 }, threshold: 4, below: 3.95, probesAtLeast: 3, probesAtMost: 9},
		{name: "falling, lo already stable", knob: Knob{ConfKey: "k", Direction: Falling, Lo: 2, Hi: 4, Step: 0.05},
			shows: func(v float64) bool { return v < 1.33 }, notBracketed: true, probesAtLeast: 1, probesAtMost: 1},
		{name: "falling, hi still unstable", knob: Knob{ConfKey: "k", Direction: Falling, Lo: 0.5, Hi: 1, Step: 0.05},
			shows: func(v float64) bool { return v < 1.33 }, notBracketed: true, probesAtLeast: 2, probesAtMost: 2},
		{name: "rising read as falling is refused", knob: Knob{Param: "length", Direction: Falling, Lo: 1, Hi: 200_000},
			shows: func(v float64) bool { return v >= 875 }, notBracketed: true, probesAtLeast: 1, probesAtMost: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sc := testScenario()
			k := tc.knob
			k.Conf = map[string]string{"faultbook.store.initialCreditsMiB": "0"}
			sc.Knob = &k
			f := &fakeProbe{shows: tc.shows}
			var told []ProbeStep
			res, err := probe(context.Background(), sc, Options{}, tc.lo, tc.hi, 0, func(s ProbeStep) { told = append(told, s) }, f.run)
			if tc.notBracketed {
				if !errors.Is(err, ErrNotBracketed) {
					t.Fatalf("err = %v, want ErrNotBracketed", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if n := len(res.Steps); n < tc.probesAtLeast || n > tc.probesAtMost || len(told) != n {
				t.Fatalf("%d probes (%d told), want %d..%d", n, len(told), tc.probesAtLeast, tc.probesAtMost)
			}
			step := k.step()
			for _, s := range res.Steps {
				if i := (s.Value - k.Lo) / step; math.Abs(i-math.Round(i)) > 1e-6 && s.Value != k.Hi {
					t.Errorf("probe at %v is off the grid of %v from %v", s.Value, step, k.Lo)
				}
				if f.confs[0]["faultbook.store.initialCreditsMiB"] != "0" {
					t.Errorf("probe conf %v lacks the knob's own", f.confs[0])
				}
			}
			if tc.notBracketed {
				return
			}
			if !res.Found || math.Abs(res.Threshold-tc.threshold) > 1e-9 || math.Abs(res.Below-tc.below) > 1e-9 {
				t.Fatalf("threshold %v (below %v, found %v), want %v (below %v)", res.Threshold, res.Below, res.Found, tc.threshold, tc.below)
			}
			// The threshold and the value below it were both probed, with
			// the answers that make them the threshold.
			saw := map[string]bool{}
			for _, s := range res.Steps {
				saw[k.Format(s.Value)] = s.Shows
			}
			th, ok1 := saw[k.Format(tc.threshold)]
			be, ok2 := saw[k.Format(tc.below)]
			wantTh := k.Direction == Rising
			if !ok1 || !ok2 || th != wantTh || be == wantTh {
				t.Errorf("threshold %v probed %v shows %v, below %v probed %v shows %v", tc.threshold, ok1, th, tc.below, ok2, be)
			}
		})
	}
}

func TestKnobFormat(t *testing.T) {
	for _, tc := range []struct {
		step float64
		v    float64
		want string
	}{{0, 875, "875"}, {0.05, 0.5 + 17*0.05, "1.35"}, {0.25, 2, "2.00"}, {1, 200000, "200000"}} {
		k := Knob{Step: tc.step}
		if got := k.Format(tc.v); got != tc.want {
			t.Errorf("step %v: Format(%v) = %q, want %q", tc.step, tc.v, got, tc.want)
		}
	}
}
