package scenarios

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/minicluster/cluster/clustertest"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

func TestMain(m *testing.M) { clustertest.Main(m) }

// TestRecoveryAtRandomKillPoints kills the driver at 20 seeded points of a run
// on the eventually consistent store — during a batch, during a checkpoint's
// parts, between the parts and the metadata — and requires, with each recovery
// safeguard, the recovered final totals to equal the oracle's every time.
// Without a safeguard the same points must lose the totals at least once, so
// the test is shown able to fail.
func TestRecoveryAtRandomKillPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 120 clusters")
	}
	const points = 20
	sc := EventualCheckpoint()
	batches, _ := strconv.Atoi(sc.Params["batches"])
	every, _ := strconv.Atoi(sc.Params["checkpoint-every"])
	phases := map[string]int{}
	for seed := int64(1); seed <= points; seed++ {
		phases[harness.KillPointFor(seed, batches, every).Phase]++
	}
	for _, ph := range []string{"batch", "parts", "commit"} {
		if phases[ph] == 0 {
			t.Fatalf("no kill point of phase %q among %d seeds: %v", ph, points, phases)
		}
	}
	bin := clustertest.Binary(t)
	for _, sg := range []safeguard.Name{"", safeguard.ManifestCommit, safeguard.ValidateOnRecovery} {
		name := string(sg)
		if name == "" {
			name = "unguarded"
		}
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			sem := make(chan struct{}, 2)
			var mu sync.Mutex
			var failures []string
			var wg sync.WaitGroup
			for seed := int64(1); seed <= points; seed++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sem <- struct{}{}
					defer func() { <-sem }()
					o := harness.Options{Binary: bin, App: fixtures.App(), Dir: t.TempDir()}
					set := safeguard.Set{}
					if sg != "" {
						set[sg] = true
					}
					r, obs := harness.RunFault(ctx, sc, set, seed, o)
					kp := harness.KillPointFor(seed, batches, every)
					var why string
					switch {
					case obs == nil:
						why = fmt.Sprintf("run could not be carried out: %v", r.Problems)
					case len(obs.Events(events.DriverKilled)) == 0:
						why = "the driver was never killed"
					case !obs.Correct:
						why = fmt.Sprintf("recovered state differs from the oracle: %s %s", firstLine(obs.Diff), resultError(obs))
					}
					if why != "" {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("seed %d, killed %s: %s", seed, kp, why))
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			t.Logf("%s: %d/%d recoveries equal the oracle", name, points-len(failures), points)
			if sg == "" {
				if len(failures) == 0 {
					t.Errorf("unguarded: every one of %d recoveries equals the oracle; the store's faults never bit", points)
				}
				return
			}
			for _, f := range failures {
				t.Error(f)
			}
		})
	}
}

func resultError(o *harness.Observation) string {
	if o.Result != nil && o.Result.Error != "" {
		return "(" + firstLine(o.Result.Error) + ")"
	}
	return ""
}
