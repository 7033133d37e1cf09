package stream

import (
	"context"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// TestLagAlarmOnCheckpointTime: on a store that publishes no metrics, the
// alarm fires once checkpoint time has stayed near the interval for
// approachBatches batches after the warm-up, and not for a short spike.
func TestLagAlarmOnCheckpointTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ckpt  []time.Duration // per batch, the interval being 40 ms
		fires bool
	}{
		{"slow warm-up only", []time.Duration{39, 39, 39, 5, 5, 5, 5}, false},
		{"a spike", []time.Duration{5, 5, 5, 39, 39, 5, 39, 5}, false},
		{"near the interval, batch after batch", []time.Duration{5, 5, 5, 37, 38, 39, 40}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newContext(t, "file://"+t.TempDir(), safeguard.Set{safeguard.CheckpointLagAlarm: true})
			for i, d := range tc.ckpt {
				c.alarm.observe(context.Background(), c.batch(i), d*time.Millisecond, map[string]float64{})
			}
			if c.alarm.fired != tc.fires {
				t.Fatalf("fired = %v, want %v", c.alarm.fired, tc.fires)
			}
		})
	}
}
