package harness

import (
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
)

// A slowdown that had no effect is a miss (the run may have been too short
// for it to set in), unless on schedule the checkpoints asked the store for
// no more than its baseline earns: then the configuration kept it from
// setting in (manifest-commit's checkpoints move a third of the bytes), and
// the matrix says survived.
func TestMatrixSlowdownWithoutEffect(t *testing.T) {
	sc := &Scenario{Name: "slow", OutputUnaffected: true}
	batch := func(kib float64) events.Event {
		// A 100 ms interval at a baseline of 1,000 KiB/s earns 100 KiB.
		return events.Event{Kind: events.BatchCompleted, Metrics: map[string]float64{"checkpoint_kib": kib, "baseline_kibps": 1000, "interval_ms": 100}}
	}
	for _, tc := range []struct {
		name string
		kib  float64
		want result.Outcome
	}{
		{"checkpoints of 258 KiB: the credits only had not run out yet", 258, result.Missed},
		{"checkpoints of 89 KiB: within the baseline", 89, result.Survived},
	} {
		inert := events.Event{Kind: events.FaultNoEffect, Role: "store", Name: string(fault.ThrottledStore), Message: "the burst credits never ran out"}
		obs := observation(t, driver.Succeeded, 1, 1, batch(tc.kib), batch(tc.kib), batch(tc.kib), inert)
		r := result.Run{Verdict: result.Inconclusive, NoEffect: true, Problems: []string{"fault throttled-store on store: " + tc.name}}
		if c := matrixCell("hardened", r, obs, sc); c.Outcome != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, c.Outcome, c.Detail, tc.want)
		}
	}
}
