package harness

import (
	"testing"

	"github.com/faultbook/faultbook/minicluster/job"
)

// TestOracleCache: the same workload, seed and parameters compute the oracle
// once; another seed or another parameter computes it again.
func TestOracleCache(t *testing.T) {
	calls := 0
	wl := &job.Workload{Oracle: func(p job.Params) (any, error) { calls++; return p.Seed * 10, nil }}
	c := oracleCache{m: map[oracleKey]any{}}
	ask := func(seed int64, v string) any {
		t.Helper()
		out, err := c.oracle(nil, "w", wl, job.Params{Seed: seed, Values: map[string]string{"k": v}})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for range 2 {
		if ask(1, "a") != int64(10) {
			t.Fatal("wrong oracle")
		}
	}
	if calls != 1 {
		t.Errorf("oracle computed %d times for one seed and parameters, want 1", calls)
	}
	ask(2, "a")
	ask(1, "b")
	if calls != 3 {
		t.Errorf("oracle computed %d times for three distinct seeds or parameters, want 3", calls)
	}
}
