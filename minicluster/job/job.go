// Package job describes work for minicluster: a workload is a sequence of jobs, a
// job a list of stages split at shuffles, and a stage names the functions its
// tasks run. Functions are referenced by name and resolved in the application
// bundle of the process that runs them, as Spark resolves classes from the
// application jar: the plan itself carries no code.
package job

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"strconv"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// InputKind says where a stage's tasks get their records.
type InputKind string

const (
	// FromSource: a generator function makes the partition.
	FromSource InputKind = "source"
	// FromCache: the partition is read from a cached dataset, locally from memory
	// or remotely from the executor that holds it.
	FromCache InputKind = "cached"
	// FromShuffle: the partition is fetched from the map outputs of one or more
	// shuffles (one per parent, for joins).
	FromShuffle InputKind = "shuffle"
)

// Input is where a stage reads.
type Input struct {
	Kind InputKind `json:"kind"`
	// Source names a SourceFunc (FromSource).
	Source string `json:"source,omitempty"`
	// Dataset is the cached dataset id (FromCache). Coalesce > 1 makes task p read
	// dataset partitions p*Coalesce … p*Coalesce+Coalesce-1, as Spark's coalesce
	// without shuffle does, so that blocks held by other executors are read remotely.
	Dataset  int `json:"dataset,omitempty"`
	Coalesce int `json:"coalesce,omitempty"`
	// Shuffles are the shuffle ids read (FromShuffle); Combine names a CombineFunc
	// that receives one record list per shuffle.
	Shuffles []int  `json:"shuffles,omitempty"`
	Combine  string `json:"combine,omitempty"`
}

// OutputKind says where a stage's tasks send their records.
type OutputKind string

const (
	// ToShuffle: records (Product2 pairs) are hash-partitioned by key into
	// Reducers buckets, encoded by the task, and kept by the executor's block store.
	ToShuffle OutputKind = "shuffle"
	// ToResult: records are encoded and sent to the driver.
	ToResult OutputKind = "result"
)

// Output is where a stage writes.
type Output struct {
	Kind     OutputKind `json:"kind"`
	Shuffle  int        `json:"shuffle,omitempty"`
	Reducers int        `json:"reducers,omitempty"`
}

// Stage is a set of tasks, one per partition, that run the same functions.
type Stage struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
	// Partitions is the number of tasks.
	Partitions int   `json:"partitions"`
	Input      Input `json:"input"`
	// Ops are PartitionFuncs applied in order after the input is read.
	Ops []string `json:"ops,omitempty"`
	// CacheAs, when > 0, persists each partition as the input produced it (before
	// Ops), deserialised in the executor's memory, as dataset CacheAs: Spark's
	// rdd.cache() followed by an action on it (MEMORY_ONLY).
	CacheAs int    `json:"cache_as,omitempty"`
	Output  Output `json:"output"`
	// PreferredNodes[p], when set, is the node that holds partition p's input
	// (Spark's preferredLocations): the driver launches the task there while
	// spark.locality.wait allows, and anywhere after.
	PreferredNodes []string `json:"preferred_nodes,omitempty"`
}

// Job is one action: its stages in dependency order, the last being the result stage.
type Job struct {
	Name   string  `json:"name"`
	Stages []Stage `json:"stages"`
	// Params are knobs of this job alone, over the workload's (a streaming
	// batch's offsets); its tasks see both.
	Params map[string]string `json:"params,omitempty"`
}

// With returns p with a job's own knobs over it.
func (p Params) With(j Job) Params {
	if len(j.Params) == 0 {
		return p
	}
	vals := make(map[string]string, len(p.Values)+len(j.Params))
	maps.Copy(vals, p.Values)
	maps.Copy(vals, j.Params)
	return Params{Seed: p.Seed, Values: vals}
}

// Validate checks the job's stages reference shuffles produced earlier.
func (j *Job) Validate() error {
	if len(j.Stages) == 0 {
		return fmt.Errorf("job %q: no stages", j.Name)
	}
	produced := map[int]bool{}
	for i, s := range j.Stages {
		if s.Partitions <= 0 {
			return fmt.Errorf("job %q stage %d: no partitions", j.Name, s.ID)
		}
		for _, sh := range s.Input.Shuffles {
			if !produced[sh] {
				return fmt.Errorf("job %q stage %d: reads shuffle %d before any stage writes it", j.Name, s.ID, sh)
			}
		}
		last := i == len(j.Stages)-1
		switch {
		case last && s.Output.Kind != ToResult:
			return fmt.Errorf("job %q: last stage %d must output to the result", j.Name, s.ID)
		case !last && s.Output.Kind != ToShuffle:
			return fmt.Errorf("job %q stage %d: only the last stage outputs to the result", j.Name, s.ID)
		}
		if s.Output.Kind == ToShuffle {
			produced[s.Output.Shuffle] = true
		}
	}
	return nil
}

// Parents returns the ids of the stages whose shuffles a stage reads.
func (j *Job) Parents(s Stage) []int {
	var out []int
	for _, sh := range s.Input.Shuffles {
		for _, p := range j.Stages {
			if p.Output.Kind == ToShuffle && p.Output.Shuffle == sh {
				out = append(out, p.ID)
			}
		}
	}
	return out
}

// TaskContext is what a function sees of the task running it.
type TaskContext struct {
	Ctx       context.Context
	Stage     int
	Partition int
	Attempt   int
	Executor  int
	// Node is the node of the executor running the task.
	Node   string
	Log    *slog.Logger
	Params Params
	// Faults are the run's faults aimed at this executor: application code that
	// is itself a fault point (a parser that returns nil) reads its switch here,
	// and reports through Hit that its effect happened, with proof.
	Faults fault.Set
	Hit    func(p fault.Point, proof string)
	// NoEffect reports that a fault point was reached with its fault
	// configured but had no effect (a sham), saying why.
	NoEffect func(p fault.Point, why string)
}

// Fault returns the fault at point p aimed at this task's executor, if any.
func (tc *TaskContext) Fault(p fault.Point) (fault.Spec, bool) {
	return tc.Faults.Lookup(p, tc.Executor)
}

// FaultNoEffect reports that the fault at p was reached but had no effect.
func (tc *TaskContext) FaultNoEffect(p fault.Point, why string) {
	if tc.NoEffect != nil {
		tc.NoEffect(p, why)
	}
}

// FaultHit reports that the fault at p had its effect; proof says what happened
// and where ("nil for key color at input line 536").
func (tc *TaskContext) FaultHit(p fault.Point, proof string) {
	if tc.Hit != nil {
		tc.Hit(p, proof)
	}
}

// SourceFunc makes a partition from nothing.
type SourceFunc func(tc *TaskContext, partition int) ([]any, error)

// PartitionFunc transforms a partition.
type PartitionFunc func(tc *TaskContext, in []any) ([]any, error)

// CombineFunc merges the records of several shuffles for one reduce partition.
type CombineFunc func(tc *TaskContext, inputs [][]any) ([]any, error)

// Params are a workload's knobs; Seed drives its generators.
type Params struct {
	Seed   int64             `json:"seed"`
	Values map[string]string `json:"values,omitempty"`
}

// Int returns an integer knob or its default.
func (p Params) Int(key string, def int) int {
	if v, ok := p.Values[key]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			return n
		}
	}
	return def
}

// Workload is a named piece of work with its expected answer.
type Workload struct {
	Name    string
	Summary string
	// Jobs builds the jobs the driver runs in order.
	Jobs func(p Params) ([]Job, error)
	// Finish turns the result partitions of every job (results[job][partition])
	// into the workload's output, on the driver.
	Finish func(p Params, results [][][]any) (any, error)
	// Main, when set, is a driver program (a streaming application's main): the
	// driver runs it instead of Jobs and Finish, and its return value is the
	// workload's output.
	Main func(ctx context.Context, rt Runtime) (any, error)
	// Oracle computes the correct output without the cluster.
	Oracle func(p Params) (any, error)
	// Sources, Ops and Combines are the functions stages name.
	Sources  map[string]SourceFunc
	Ops      map[string]PartitionFunc
	Combines map[string]CombineFunc
}

// Runtime is what a driver program sees of the driver it runs in.
type Runtime interface {
	// RunJob runs one job on the cluster's executors through the scheduler and
	// returns its result partitions.
	RunJob(ctx context.Context, j Job) ([][]any, error)
	// Params are the workload's knobs.
	Params() Params
	// Env is the run: its spec, event log, logger and directory.
	Env() Env
}

// Env is the run a driver program belongs to.
type Env struct {
	Spec   *spec.Spec
	Events *events.Log
	Log    *slog.Logger
	// Dir is the run directory.
	Dir string
}
