package harness

import (
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// matrixRun judges an observation as the matrix does, through the judge, so
// that NoEffect comes from the events as it does in a real run.
func matrixRun(sc *Scenario, obs *Observation) result.MatrixCell {
	p := plan{kind: result.Catch, label: "matrix-hardened", faults: sc.Faults, set: safeguard.Set{}, catch: &Catch{Expect: sc.matrixExpect()}, runs: 1}
	var r result.Run
	judge(sc, p, obs, &r)
	return matrixCell("hardened", r, obs, sc)
}

// A slowdown that had no effect is survived when, on schedule, the
// checkpoints asked the store for no more than its baseline earns (the
// configuration kept it from setting in: manifest-commit's checkpoints move a
// third of the bytes), and not judged otherwise: the stream went slower than
// its schedule and the store earned its credits back, which says nothing of
// the configuration. Not judged needs the store's word that the fault had no
// effect: a run where nothing reported at all is a miss, and a sham is never
// survived.
func TestMatrixSlowdownWithoutEffect(t *testing.T) {
	batch := func(kib float64) events.Event {
		// A 100 ms interval at a baseline of 1,000 KiB/s earns 100 KiB.
		return events.Event{Kind: events.BatchCompleted, Metrics: map[string]float64{"checkpoint_kib": kib, "baseline_kibps": 1000, "interval_ms": 100}}
	}
	inert := events.Event{Kind: events.FaultNoEffect, Role: "store", Name: string(fault.ThrottledStore),
		Message: "the store metered 40 transfers; none was slowed beyond the burst rate (the burst credits never ran out)"}
	real := fault.Set{{Point: fault.ThrottledStore}}
	for _, tc := range []struct {
		name   string
		faults fault.Set
		evs    []events.Event
		want   result.Outcome
		detail string // what the detail must say
	}{
		{"checkpoints of 258 KiB: the credits only had not run out yet", real,
			[]events.Event{batch(258), batch(258), batch(258), inert}, result.NotJudged, "the slowdown never set in within this run: fault throttled-store on store: the store metered 40 transfers"},
		{"checkpoints of 89 KiB: within the baseline", real,
			[]events.Event{batch(89), batch(89), batch(89), inert}, result.Survived, "its checkpoints moved 267 KiB through the store, its baseline earns 300 KiB"},
		{"no batch metrics: the store's word alone", real,
			[]events.Event{inert}, result.NotJudged, "the slowdown never set in"},
		{"no fault point reported anything: a miss, not an absence of evidence", real,
			[]events.Event{batch(258), batch(258)}, result.Missed, ""},
		{"a sham within the baseline is not survived", real.Sham(),
			[]events.Event{batch(89), batch(89), {Kind: events.FaultNoEffect, Role: "store", Name: string(fault.ThrottledStore), Message: "the store metered 40 transfers (sham: no transfer was made to wait)"}},
			result.NotJudged, "the fault is a sham"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &Scenario{Name: "slow", OutputUnaffected: true, Faults: tc.faults}
			c := matrixRun(sc, observation(t, driver.Succeeded, 1, 1, tc.evs...))
			if c.Outcome != tc.want || !strings.Contains(c.Detail, tc.detail) {
				t.Errorf("%s (%s), want %s saying %q", c.Outcome, c.Detail, tc.want, tc.detail)
			}
		})
	}
}

// A deterministic fault that had no effect was kept from it by the
// configuration (survived), unless it is a sham; one that strikes by chance
// and did not strike is not judged; a fault with effect is judged as ever.
func TestMatrixNoEffect(t *testing.T) {
	inert := events.Event{Kind: events.FaultNoEffect, Role: "executor", Executor: 1, Name: string(fault.RegistrationOrder), Message: "configured, no effect: the registrator ran with the bundle"}
	hit := events.Event{Kind: events.FaultHit, Role: "executor", Executor: 1, Name: string(fault.RegistrationOrder), Message: "registered in another order"}
	for _, tc := range []struct {
		name          string
		faults        fault.Set
		probabilistic bool
		status        driver.Status
		evs           []events.Event
		want          result.Outcome
	}{
		{"deterministic, no effect, correct", fault.Set{{Point: fault.RegistrationOrder}}, false, driver.Succeeded, []events.Event{inert}, result.Survived},
		{"deterministic sham, no effect, correct", fault.Set{{Point: fault.RegistrationOrder}}.Sham(), false, driver.Succeeded, []events.Event{inert}, result.NotJudged},
		{"probabilistic, did not strike", fault.Set{{Point: fault.RegistrationOrder}}, true, driver.Succeeded, []events.Event{inert}, result.NotJudged},
		{"probabilistic, did not strike, wrong output", fault.Set{{Point: fault.RegistrationOrder}}, true, driver.Aborted, []events.Event{inert}, result.Errored},
		{"probabilistic, struck, job aborted", fault.Set{{Point: fault.RegistrationOrder}}, true, driver.Aborted, []events.Event{hit}, result.Missed},
		{"nothing reported at all", fault.Set{{Point: fault.RegistrationOrder}}, true, driver.Succeeded, nil, result.Missed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := &Scenario{Name: "s", Probabilistic: tc.probabilistic, Faults: tc.faults}
			c := matrixRun(sc, observation(t, tc.status, 1, 1, tc.evs...))
			if c.Outcome != tc.want {
				t.Errorf("%s (%s), want %s", c.Outcome, c.Detail, tc.want)
			}
			if c.Outcome == result.NotJudged && c.Detail == "" {
				t.Error("not judged without its reason")
			}
		})
	}
}
