package scenarios

import (
	"errors"
	"fmt"
	"slices"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// growthBatches is how many of the last batches must show the scheduling
// delay growing, batch after batch.
const growthBatches = 5

// ThrottledCheckpoint: a checkpoint store whose throughput follows its burst
// credits and its stored size, as EFS in bursting mode.
func ThrottledCheckpoint() *harness.Scenario {
	return &harness.Scenario{
		Name:    "throttled-checkpoint",
		Title:   "a burst-credit checkpoint store slowly starves the stream: checkpoint time overtakes the batch interval, delay grows",
		Source:  seed003,
		Section: "5",
		Symptom: "after the store's burst credits run out (about a week in production), checkpoints take longer than the batch interval and the processing delay grows batch after batch",
		Place:   "driver output (Total delay per batch; the batch records)",
		RootCause: "EFS in bursting mode meters throughput by stored size: 50 KiB/s per GiB, bursting to 100 MiB/s while credits last. " +
			"A small file system holding only checkpoints earns almost nothing; once the initial credits are spent every checkpoint crawls at the baseline.",
		Why: "The stream checkpoints every batch to a store whose data path is a token bucket with EFS's model; its small stored size sets a baseline below what the checkpoints need, and time is compressed so the credits run out within seconds. " +
			"While bursting, checkpoints take under a second of the 4 s batch; once the credits are spent they take about 10 s and the scheduling delay grows batch after batch. " +
			"The checkpoint-lag-alarm reads the store's credit balance and checkpoint times and warns before the delay grows, naming the store's throughput and the projected time to starvation.",
		Chain: []string{
			"the checkpoint store is small: its baseline throughput (50 KiB/s per GiB) is below what the checkpoints move",
			"checkpoints spend burst credits faster than the baseline earns them",
			"the credits run out: every write waits on the baseline",
			"checkpoint time overtakes the batch interval",
			"each batch starts later than the last: the scheduling delay grows batch after batch",
		},
		Story:     storyThrottledCheckpoint,
		Workload:  "stream-counts",
		Signature: diagnose.CheckpointThrottledStore(),
		Params:    map[string]string{"batches": "14", "checkpoint-every": "1", "time-scale": "40", "users": "6000"},
		Conf: map[string]string{conf.StoreSizeGiB: "0.5", conf.StoreCreditsMiB: "0.4", conf.StoreTimeScale: "40",
			conf.StoreBaselineKiBPerGiB: "50", conf.StoreBurstMiBps: "100"},
		Stream:           &harness.StreamRun{},
		OutputUnaffected: true,
		Faults:           fault.Set{{Point: fault.ThrottledStore}},
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.CheckpointLagAlarm}, Expect: harness.Diagnose, Diagnosis: []string{"checkpoint store", "throughput", "not the job"}},
		},
		Reproduce: reproduceStarvation,
		// The smallest stored size whose baseline keeps the stream stable at
		// the fixture's rate. Probes start with no burst credits, as the store
		// is after its week: a run then shows the steady state, not how long
		// the credits last.
		Knob: &harness.Knob{ConfKey: conf.StoreSizeGiB, Unit: "GiB", Direction: harness.Falling, Lo: 0.5, Hi: 4, Step: 0.05,
			Conf:    map[string]string{conf.StoreCreditsMiB: "0"},
			Context: []string{conf.StoreBaselineKiBPerGiB, conf.StoreTimeScale},
			Shows:   delayGrows, Proof: delayProof},
	}
}

// delayGrows says whether the store holds the stream back: the scheduling
// delay grows batch after batch while the store is bound to its baseline.
// The growth is the median of the slopes between every two batches after the
// first, whose delay is the cluster's start (Theil–Sen: a stall of the machine
// in a batch or two moves it little); it must reach a fortieth of the
// interval per batch. The store is bound to its baseline when its median
// credit balance over the last growthBatches is less than the baseline earns
// in one interval; a store banking more than that is not what holds the
// batches back (a machine too busy to process them in time is).
func delayGrows(o *harness.Observation) bool {
	g, ok := delayTrend(o)
	return ok && g.bound && g.slope >= g.iv/40
}

// trend is a run's scheduling delay over its batches after the first, and
// the store's credits against what its baseline earns a batch.
type trend struct {
	iv, first, last, slope, ckpt float64
	credits, earned              float64 // KiB
	n                            int
	bound                        bool
}

func delayTrend(o *harness.Observation) (trend, bool) {
	bs := o.Events(events.BatchCompleted)
	if len(bs) < growthBatches+2 {
		return trend{}, false
	}
	bs = bs[1:]
	g := trend{iv: bs[0].Metrics["interval_ms"], n: len(bs), first: bs[0].Metrics["delay_ms"], last: bs[len(bs)-1].Metrics["delay_ms"]}
	var slopes []float64
	for i := range bs {
		for j := i + 1; j < len(bs); j++ {
			slopes = append(slopes, (bs[j].Metrics["delay_ms"]-bs[i].Metrics["delay_ms"])/float64(j-i))
		}
	}
	g.slope = median(slopes)
	ck := make([]float64, len(bs))
	for i, b := range bs {
		ck[i] = b.Metrics["checkpoint_ms"]
	}
	g.ckpt = median(ck)
	var credits []float64
	for _, b := range bs[len(bs)-growthBatches:] {
		if c, ok := b.Metrics["credits_kib"]; ok {
			credits = append(credits, c)
		}
	}
	rate, ok := bs[len(bs)-1].Metrics["baseline_kibps"]
	if len(credits) == growthBatches && ok {
		g.credits, g.earned = median(credits), rate*g.iv/1000
		g.bound = g.credits < g.earned
	}
	return g, true
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}

// delayProof is a probe's line: the delay's course and what checkpoints took.
func delayProof(o *harness.Observation, shows bool) string {
	g, ok := delayTrend(o)
	if !ok {
		return fmt.Sprintf("only %d batches completed", len(o.Events(events.BatchCompleted)))
	}
	what := "stable"
	if shows {
		what = "delay grows"
	}
	return fmt.Sprintf("%s: scheduling delay %.0f → %.0f ms over %d batches (%+.1f ms per batch); median checkpoint %.0f ms of the %.0f ms interval; median credits over the last %d batches %.0f KiB, the baseline earns %.0f KiB a batch",
		what, g.first, g.last, g.n, g.slope, g.ckpt, g.iv, growthBatches, g.credits, g.earned)
}

// reproduceStarvation: checkpoint time overtakes the batch interval once the
// credits are spent, and the scheduling delay then grows over each of the last
// growthBatches batches.
func reproduceStarvation(o *harness.Observation, ev *harness.Evidence) error {
	bs := o.Events(events.BatchCompleted)
	if len(bs) < growthBatches+2 {
		return fmt.Errorf("only %d batches completed", len(bs))
	}
	over := -1
	for i, b := range bs {
		if b.Metrics["checkpoint_ms"] > b.Metrics["interval_ms"] {
			over = i
			break
		}
	}
	if over < 0 {
		return errors.New("checkpoint time never exceeded the batch interval")
	}
	// A monotone trend: no batch waits noticeably less than the one before
	// (a tenth of the interval is noise), and the delay grows by at least a
	// quarter interval per batch overall.
	last := bs[len(bs)-growthBatches:]
	iv := last[0].Metrics["interval_ms"]
	for i := 1; i < len(last); i++ {
		if last[i].Metrics["delay_ms"] < last[i-1].Metrics["delay_ms"]-iv/10 {
			return fmt.Errorf("the scheduling delay did not grow over the last %d batches: batch %d waited %.0f ms, batch %d %.0f ms",
				growthBatches, last[i-1].Job, last[i-1].Metrics["delay_ms"], last[i].Job, last[i].Metrics["delay_ms"])
		}
	}
	if grew := last[len(last)-1].Metrics["delay_ms"] - last[0].Metrics["delay_ms"]; grew < float64(growthBatches-1)*iv/4 {
		return fmt.Errorf("the scheduling delay did not grow over the last %d batches: %.0f ms in all, under a quarter interval per batch", growthBatches, grew)
	}
	b := bs[over]
	if c, ok := b.Metrics["credits_kib"]; ok {
		ev.Addf("burst credits at batch %d: %.0f KiB", b.Job, c)
	}
	if hits := o.FaultHits(); len(hits) > 0 {
		ev.Add(source(hits[0]), hits[0].Message)
	}
	ev.Addf("checkpoint time overtook the %.0f ms batch interval at batch %d (%.0f ms); bursting checkpoints took %.0f ms",
		b.Metrics["interval_ms"], b.Job, b.Metrics["checkpoint_ms"], bs[0].Metrics["checkpoint_ms"])
	ev.Addf("scheduling delay over the last %d batches: %s", growthBatches, delays(last))
	ev.First(o, "driver", reTotalDelay)
	ev.Observe("checkpoint time overtook the batch interval at batch %d, then the delay grew batch after batch to %.0f ms",
		b.Job, last[len(last)-1].Metrics["delay_ms"])
	return nil
}

func delays(bs []events.Event) string {
	s := ""
	for i, b := range bs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%.0f", b.Metrics["delay_ms"])
	}
	return s + " ms"
}

func source(e events.Event) string {
	if e.Role == "store" || e.Role == "harness" {
		return e.Role
	}
	return "driver"
}

const storyThrottledCheckpoint = `The documented failure (` + seed003 + `, FAILURES.md §5, EFS variant)
  The seed's author moved checkpoints from S3 to EFS: 2–4 s instead of 8–10 s, every
  40 s with 4 s batches at 2,000–5,000 messages/s. About a week later processing delay
  grew: EFS in bursting mode had spent the file system's credits, and a small file
  system holding only checkpoints is allowed little throughput.

Root cause
  EFS meters throughput by stored size: a baseline of 50 KiB/s per GiB, bursts to
  100 MiB/s while credits last, credits earned at the baseline. The workaround was a
  large junk file to raise the stored size (and the bill).

The experiment
  The stream checkpoints every batch to the embedded S3 server whose data path is a
  token bucket with EFS's model (faultbook.store.* conf keys); 0.5 GiB stored besides the
  checkpoints (the metered size is that plus what the checkpoints hold), the initial
  credits sized so they run out within seconds of compressed time. Each checkpoint moves
  about 260 KiB (its state written, then read and written again by the rename-by-copy);
  the baseline earns 100 KiB a batch.
  - control / no false alarm: an unmetered store; checkpoints stay well within the
    batch interval and nothing fires.
  - reproduce: checkpoints take under a second while bursting, then about 10 s, longer
    than the 4 s batch interval, once the credits are spent; the scheduling delay grows
    over each of the last 5 batches.
  - faultbook probe throttled-checkpoint: the smallest stored size that keeps the stream
    stable (about 1.3 GiB: the baseline must move a checkpoint within the interval).
  - catch: checkpoint-lag-alarm reads the store's credit balance (as EFS publishes it
    to CloudWatch) and the checkpoint times, and warns before the delay grows with the
    projected time to starvation, naming the store's throughput as the cause.`
