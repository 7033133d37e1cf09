package stream

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// Thresholds of the checkpoint-lag-alarm safeguard.
const (
	// approachFraction: checkpoint time at this fraction of the batch
	// interval, approachBatches batches running after the first warmBatches,
	// is checkpoint time approaching it. The rule serves stores that publish
	// no throughput metrics; one that does is judged by its credits.
	approachFraction = 0.9
	approachBatches  = 3
	warmBatches      = 3
	// horizonBatches: burst credits projected to run out within this many
	// batches raise the alarm.
	horizonBatches = 8
)

// lagAlarm watches each batch's checkpoint time and, where the store
// publishes them (as EFS does to CloudWatch), its burst credits. It records
// the credits with every batch, and with the safeguard on warns once, before
// the scheduling delay grows, naming the store's throughput as the cause.
type lagAlarm struct {
	c       *Context
	on      bool
	metrics string // the store's metrics URL, "" when it has none
	client  *http.Client
	credits []float64 // balance after each checkpointed batch, bytes
	near    int       // consecutive batches with checkpoint time near the interval
	fired   bool
	bytes   int // bytes the last checkpoint moved through the store (set by the protocol)
}

func newLagAlarm(c *Context) *lagAlarm {
	a := &lagAlarm{c: c, on: c.on(safeguard.CheckpointLagAlarm), client: &http.Client{Timeout: 2 * time.Second}}
	if ep := c.cfg.Store.WithEnv().Endpoint; ep != "" && strings.HasPrefix(c.cfg.Checkpoint, "s3") {
		if !strings.Contains(ep, "://") {
			ep = "http://" + ep
		}
		a.metrics = strings.TrimSuffix(ep, "/") + checkpoint.MetricsPath
	}
	return a
}

// balance asks the store for its throughput metrics; published is false
// when it publishes none.
func (a *lagAlarm) balance(ctx context.Context) (m checkpoint.StoreMetrics, published bool) {
	if a.metrics == "" {
		return m, false
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.metrics, nil)
	if err != nil {
		return m, false
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return m, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&m) != nil {
		return m, false
	}
	return m, true
}

// stream converts a wall duration into the stream's time.
func (a *lagAlarm) stream(d time.Duration) time.Duration {
	return time.Duration(float64(d) * a.c.cfg.TimeScale).Round(100 * time.Millisecond)
}

// observe takes one batch's figures; m is the batch's metrics, to which it
// adds the credit balance.
func (a *lagAlarm) observe(ctx context.Context, b Batch, ckpt time.Duration, m map[string]float64) {
	if ckpt == 0 {
		return
	}
	met, published := a.balance(ctx)
	ok := published && met.Throttled
	m["checkpoint_kib"] = float64(a.bytes) / 1024
	if ok {
		m["credits_kib"] = met.BurstCreditBalance / 1024
		m["baseline_kibps"] = met.BaselineBps / 1024
		a.credits = append(a.credits, met.BurstCreditBalance)
	}
	if !a.on || a.fired {
		return
	}
	interval := a.c.wall(a.c.cfg.BatchInterval)
	if !published && b.Index >= warmBatches && float64(ckpt) >= approachFraction*float64(interval) {
		a.near++
	} else {
		a.near = 0
	}
	switch {
	case a.near >= approachBatches:
		a.fire(b, fmt.Sprintf("checkpoint time %s is approaching the batch interval %s (%.0f%% of it, %d batches running): "+
			"the checkpoint store's throughput, not the job, will hold the next batches back", a.stream(ckpt), a.c.cfg.BatchInterval, 100*float64(ckpt)/float64(interval), approachBatches))
	case ok && len(a.credits) >= 3:
		n := len(a.credits)
		drain := (a.credits[n-3] - a.credits[n-1]) / 2
		if drain <= 0 || met.BurstCreditBalance <= 0 {
			return
		}
		left := met.BurstCreditBalance / drain
		if left > horizonBatches {
			return
		}
		per := time.Duration(float64(a.bytes) / (met.BaselineBps) * float64(time.Second))
		a.fire(b, fmt.Sprintf("checkpoint store throughput: burst credits %.0f KiB, falling %.0f KiB per batch, are projected to run out in %.0f batches (%s); "+
			"then the store's baseline %.0f KiB/s (set by its stored size) moves a %.0f KiB checkpoint in %s, longer than the %s batch interval, "+
			"and the scheduling delay will grow batch after batch. Cause: the store's throughput, not the job",
			met.BurstCreditBalance/1024, drain/1024, left, time.Duration(left*float64(a.c.cfg.BatchInterval)).Round(time.Second),
			met.BaselineBps/a.c.cfg.TimeScale/1024, float64(a.bytes)/1024, a.stream(per), a.c.cfg.BatchInterval))
	}
}

func (a *lagAlarm) fire(b Batch, msg string) {
	a.fired = true
	a.c.fired(safeguard.CheckpointLagAlarm, fmt.Sprintf("at batch %d: %s", b.Index, msg))
}
