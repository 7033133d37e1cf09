package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// ZeroTime is the stream time of offset 0, in ms: batch times are
// ZeroTime + (index+1) × interval, as Spark names batches by their end time.
const ZeroTime int64 = 1_600_000_000_000

// Config is one streaming application.
type Config struct {
	// BatchInterval is the batch duration in stream time (the seed's 4 s).
	BatchInterval time.Duration
	// TimeScale is how many stream seconds pass per wall second: 40 runs a 4 s
	// batch every 100 ms.
	TimeScale float64
	// Rate is the source's messages per stream second (the seed: 2,000–5,000).
	Rate int
	// Batches is the length of the input in batches: the fixture stream ends.
	Batches int
	// CheckpointEvery is the number of batches between checkpoints; 0: none.
	CheckpointEvery int
	// Checkpoint is the store's location (checkpoint.Open); Store the options.
	Checkpoint string
	Store      checkpoint.Options
	// Parts is the number of state partitions a checkpoint writes. Default 4.
	Parts int
	// Epoch is when the source began producing (offset 0). A context that
	// starts without a checkpoint starts at the source's latest offset when
	// ResetToLatest is set (Kafka's auto.offset.reset=largest, the default of
	// Spark's Kafka direct stream), else at offset 0.
	Epoch         time.Time
	ResetToLatest bool
}

// Batch is one micro-batch.
type Batch struct {
	Index int
	// Time is the batch time in ms of stream time.
	Time        int64
	From, Until int64
}

// Result is what a stream leaves when its input ends.
type Result struct {
	State map[string]int64
	// Batches is the number of batches this driver processed; Recovered the
	// batch it recovered at (-1: fresh start).
	Batches   int
	Recovered int
	Records   int64
}

// ErrNoOutput is Spark's refusal to start a graph with nothing to execute.
var ErrNoOutput = errors.New("java.lang.IllegalArgumentException: requirement failed: No output operations registered, so nothing to execute")

// Context runs a graph on a driver, as Spark's StreamingContext.
type Context struct {
	rt    job.Runtime
	env   job.Env
	log   *slog.Logger
	ev    *events.Log
	g     *Graph
	cfg   Config
	store *checkpoint.Recorder
	proto protocol
	alarm *lagAlarm
}

// New prepares a stream; nothing runs until Run.
func New(rt job.Runtime, g *Graph, cfg Config) (*Context, error) {
	if cfg.BatchInterval <= 0 || cfg.TimeScale <= 0 || cfg.Rate <= 0 || cfg.Batches <= 0 {
		return nil, fmt.Errorf("stream config: batch interval, time scale, rate and batches must be positive")
	}
	if cfg.Parts <= 0 {
		cfg.Parts = 4
	}
	env := rt.Env()
	c := &Context{rt: rt, env: env, log: env.Log, ev: env.Events, g: g, cfg: cfg}
	if cfg.Checkpoint != "" {
		st, err := checkpoint.Open(cfg.Checkpoint, cfg.Store)
		if err != nil {
			return nil, err
		}
		c.store = &checkpoint.Recorder{Store: st}
		c.proto = protocolFor(c)
	}
	c.alarm = newLagAlarm(c)
	return c, nil
}

func (c *Context) on(n safeguard.Name) bool { return c.env.Spec != nil && c.env.Spec.Safeguards.On(n) }

// wall converts stream time to wall time.
func (c *Context) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.cfg.TimeScale)
}

// latestBatch is the batch the source's latest offset falls in now.
func (c *Context) latestBatch() int {
	elapsed := time.Duration(float64(time.Since(c.cfg.Epoch)) * c.cfg.TimeScale)
	return min(max(int(elapsed/c.cfg.BatchInterval), 0), c.cfg.Batches)
}

func (c *Context) batch(i int) Batch {
	per := int64(c.cfg.Rate) * c.cfg.BatchInterval.Milliseconds() / 1000
	return Batch{Index: i, Time: ZeroTime + int64(i+1)*c.cfg.BatchInterval.Milliseconds(), From: int64(i) * per, Until: int64(i+1) * per}
}

// validate is DStreamGraph.validate: a graph without an output operation has
// nothing to execute.
func (c *Context) validate() error {
	if c.g.Outputs() > 0 || !c.on(safeguard.OutputOpValidation) {
		return nil
	}
	c.log.Error("Error starting the context, marking it as stopped", "component", "streaming.StreamingContext", "stack", ErrNoOutput.Error())
	c.ev.Emit(events.Event{Kind: events.SafeguardFired, Name: string(safeguard.OutputOpValidation), Role: "driver",
		Message: fmt.Sprintf("%s (graph: %s)", ErrNoOutput.Error(), c.g)})
	return ErrNoOutput
}

// Run starts the stream, recovering from the checkpoint when there is one, and
// processes batches until the input ends.
func (c *Context) Run(ctx context.Context) (*Result, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	res := &Result{State: map[string]int64{}, Recovered: -1}
	next := 0
	if c.proto != nil {
		snap, err := c.recover(ctx)
		if err != nil {
			return nil, err
		}
		if snap != nil {
			res.State, res.Recovered, next = snap.State, snap.Batch, snap.Batch+1
		}
		if snap == nil && c.cfg.ResetToLatest && !c.cfg.Epoch.IsZero() {
			next = c.latestBatch()
			c.log.Info(fmt.Sprintf("Starting at the source's latest offset %d (auto.offset.reset=largest): batch %d", c.batch(next).From, next), "component", "streaming.StreamingContext")
		}
	}
	c.log.Info(fmt.Sprintf("StreamingContext started: %s; %d batches of %s at %d messages/s from batch %d",
		c.g, c.cfg.Batches, c.cfg.BatchInterval, c.cfg.Rate, next), "component", "streaming.StreamingContext")
	start := time.Now()
	for i := next; i < c.cfg.Batches; i++ {
		b := c.batch(i)
		due := start.Add(c.wall(time.Duration(i-next) * c.cfg.BatchInterval))
		if w := time.Until(due); w > 0 {
			if err := sleep(ctx, w); err != nil {
				return nil, err
			}
		}
		if err := c.runBatch(ctx, b, due, res); err != nil {
			return nil, err
		}
		res.Batches++
	}
	c.log.Info(fmt.Sprintf("StreamingContext stopped: input ended after batch %d", c.cfg.Batches-1), "component", "streaming.StreamingContext")
	return res, nil
}

// runBatch runs one batch's job, applies the state and output operations, and
// checkpoints when one is due; it records the batch's figures.
func (c *Context) runBatch(ctx context.Context, b Batch, due time.Time, res *Result) error {
	started := time.Now()
	delay := started.Sub(due)
	c.log.Info(fmt.Sprintf("Starting job streaming job %d ms.0 from job set of time %d ms", b.Time, b.Time), "component", "scheduler.JobScheduler")
	parts, err := c.rt.RunJob(ctx, c.g.jobFor(b))
	if err != nil {
		return fmt.Errorf("streaming job %d ms.0: %w", b.Time, err)
	}
	recs, err := pairsOf(parts)
	if err != nil {
		return fmt.Errorf("streaming job %d ms.0: %w", b.Time, err)
	}
	if c.g.state != nil {
		for i, kv := range recs {
			k := kv.A.(string)
			old, ok := res.State[k]
			v := c.g.state(k, kv.B.(int64), old, ok)
			res.State[k] = v
			recs[i].B = v
		}
	}
	out := 0
	for _, o := range c.g.outputs {
		if err := o.fn(b, recs); err != nil {
			return fmt.Errorf("output operation %s at batch %d ms: %w", o.name, b.Time, err)
		}
		out += len(recs)
	}
	res.Records += b.Until - b.From
	processed := time.Now()
	c.log.Info(fmt.Sprintf("Finished job streaming job %d ms.0 from job set of time %d ms", b.Time, b.Time), "component", "scheduler.JobScheduler")

	var ckpt time.Duration
	var ops []checkpoint.Op
	if c.proto != nil && c.cfg.CheckpointEvery > 0 && (b.Index+1)%c.cfg.CheckpointEvery == 0 {
		t := time.Now()
		c.writeCheckpoint(ctx, snapshot{Batch: b.Index, Time: b.Time, Offset: b.Until, State: res.State})
		ckpt = time.Since(t)
		ops = c.store.Take()
	}
	total := time.Since(due)
	c.log.Info(fmt.Sprintf("Total delay: %.3f s for time %d ms (execution: %.3f s)", total.Seconds(), b.Time, time.Since(started).Seconds()),
		"component", "scheduler.JobScheduler")
	failed := 0
	for _, o := range ops {
		if o.Err != nil {
			failed++
		}
	}
	m := map[string]float64{
		"records": float64(b.Until - b.From), "output_records": float64(out),
		"processing_ms": msOf(processed.Sub(started)), "checkpoint_ms": msOf(ckpt), "delay_ms": msOf(delay),
		"total_delay_ms": msOf(total), "interval_ms": msOf(c.wall(c.cfg.BatchInterval)),
		"store_ops": float64(len(ops)), "store_errors": float64(failed),
	}
	c.alarm.observe(ctx, b, ckpt, m)
	c.ev.Emit(events.Event{Kind: events.BatchCompleted, Job: b.Index, Message: fmt.Sprintf("batch %d ms", b.Time), Metrics: m})
	return nil
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// pairsOf flattens result partitions into (string, int64) pairs, sorted by key.
func pairsOf(parts [][]any) ([]codec.Tuple2, error) {
	var out []codec.Tuple2
	for _, p := range parts {
		for _, r := range p {
			kv, ok := r.(codec.Product2)
			if !ok {
				return nil, fmt.Errorf("result record %T is not a pair", r)
			}
			k, ok1 := kv.First().(string)
			v, ok2 := kv.Second().(int64)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("result pair (%T, %T) is not (string, int64)", kv.First(), kv.Second())
			}
			out = append(out, codec.Tuple2{A: k, B: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].A.(string) < out[j].A.(string) })
	return out, nil
}
