package harness

import (
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/s3server"
)

// A slowdown that had no effect is a miss, unless the store says the load
// fitted its throughput: then the configuration kept it from setting in
// (manifest-commit's checkpoints move a third of the bytes), whatever the
// run's length, and the matrix says survived.
func TestMatrixSlowdownWithoutEffect(t *testing.T) {
	sc := &Scenario{Name: "slow", OutputUnaffected: true}
	for _, tc := range []struct {
		name    string
		outcome string
		want    result.Outcome
	}{
		{"the credits never ran out", "", result.Missed},
		{"the load fitted the baseline", s3server.WithinBaseline, result.Survived},
	} {
		inert := events.Event{Kind: events.FaultNoEffect, Role: "store", Name: string(fault.ThrottledStore), Message: tc.name, Outcome: tc.outcome}
		obs := observation(t, driver.Succeeded, 1, 1, inert)
		r := result.Run{Verdict: result.Inconclusive, NoEffect: true, Problems: []string{"fault throttled-store on store: " + tc.name}}
		if c := matrixCell("hardened", r, obs, sc); c.Outcome != tc.want {
			t.Errorf("%s: %s (%s), want %s", tc.name, c.Outcome, c.Detail, tc.want)
		}
	}
}
