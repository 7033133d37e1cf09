// Package stream is minicluster's streaming half, modelled on Spark Streaming's
// DStreams: a graph of transformations over a replayable source with offsets
// (Kafka's direct stream), cut into micro-batches; each batch runs as jobs on the
// same executors and scheduler as any batch job. Keyed running state (like
// mapWithState) and output operations (like foreachRDD) run on the driver with
// each batch's results. A stream checkpoints its state and offsets to a store
// (package checkpoint) and recovers from it when its driver is restarted.
package stream

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/job"
)

// Params the tasks of a batch see: the offsets of the batch and the number of
// source partitions.
const (
	ParamFrom       = "stream.from"
	ParamUntil      = "stream.until"
	ParamPartitions = "stream.partitions"
)

// Range returns the offsets [from, until) that source partition p of the
// current batch reads: the batch's range split evenly.
func Range(tc *job.TaskContext, p int) (from, until int64) {
	lo, hi := int64(tc.Params.Int(ParamFrom, 0)), int64(tc.Params.Int(ParamUntil, 0))
	n := int64(max(tc.Params.Int(ParamPartitions, 1), 1))
	size := hi - lo
	return lo + size*int64(p)/n, lo + size*int64(p+1)/n
}

// StateFunc updates one key's running state with the key's value in a batch
// (mapWithState's function); exists is false for a key seen the first time.
type StateFunc func(key string, value, old int64, exists bool) int64

// OutputFunc is an output operation: it receives each batch's records, (key,
// value) pairs after the keyed state was applied.
type OutputFunc func(b Batch, records []codec.Tuple2) error

// Graph is a stream's transformations and output operations, built with the
// methods below in the order the records flow through them.
type Graph struct {
	source     string
	partitions int
	ops        []string
	combine    string
	reduce     string
	reducers   int
	state      StateFunc
	outputs    []output
	shape      []string // "map(parse)", for messages
}

type output struct {
	name string
	fn   OutputFunc
}

// NewGraph starts a graph at a source: a SourceFunc of the workload that
// reads the offsets Range gives, in partitions tasks per batch.
func NewGraph(source string, partitions int) *Graph {
	return &Graph{source: source, partitions: max(partitions, 1), shape: []string{"source(" + source + ")"}}
}

// Map applies a PartitionFunc of the workload to every batch.
func (g *Graph) Map(op string) *Graph {
	g.ops = append(g.ops, op)
	g.shape = append(g.shape, "map("+op+")")
	return g
}

// Filter applies a PartitionFunc that keeps some records.
func (g *Graph) Filter(op string) *Graph {
	g.ops = append(g.ops, op)
	g.shape = append(g.shape, "filter("+op+")")
	return g
}

// ReduceByKey sums values by key: combine (a PartitionFunc) merges within a map
// task, reduce (a CombineFunc) across them after a shuffle into reducers
// partitions, as Spark's reduceByKey with map-side combine.
func (g *Graph) ReduceByKey(combine, reduce string, reducers int) *Graph {
	g.combine, g.reduce, g.reducers = combine, reduce, max(reducers, 1)
	g.shape = append(g.shape, "reduceByKey("+reduce+")")
	return g
}

// MapWithState keeps a running state per key across batches.
func (g *Graph) MapWithState(f StateFunc) *Graph {
	g.state = f
	g.shape = append(g.shape, "mapWithState")
	return g
}

// ForeachRDD registers an output operation.
func (g *Graph) ForeachRDD(name string, f OutputFunc) *Graph {
	g.outputs = append(g.outputs, output{name, f})
	g.shape = append(g.shape, "foreachRDD("+name+")")
	return g
}

// Outputs is the number of output operations registered.
func (g *Graph) Outputs() int { return len(g.outputs) }

// String is the graph's shape: "source(messages) → map(parse) → …".
func (g *Graph) String() string { return strings.Join(g.shape, " → ") }

// jobFor is the job of one batch: the source partitions through the
// transformations into a shuffle, reduced into the result.
func (g *Graph) jobFor(b Batch) job.Job {
	params := map[string]string{ParamFrom: strconv.FormatInt(b.From, 10), ParamUntil: strconv.FormatInt(b.Until, 10),
		ParamPartitions: strconv.Itoa(g.partitions)}
	name := fmt.Sprintf("streaming job %d ms.0", b.Time)
	base := 2 * b.Index
	src := job.Stage{ID: base, Name: "map at batch " + strconv.FormatInt(b.Time, 10), Partitions: g.partitions,
		Input: job.Input{Kind: job.FromSource, Source: g.source}, Ops: append([]string(nil), g.ops...)}
	if g.reduce == "" {
		src.Output = job.Output{Kind: job.ToResult}
		return job.Job{Name: name, Stages: []job.Stage{src}, Params: params}
	}
	src.Ops = append(src.Ops, g.combine)
	src.Output = job.Output{Kind: job.ToShuffle, Shuffle: b.Index, Reducers: g.reducers}
	red := job.Stage{ID: base + 1, Name: "reduceByKey at batch " + strconv.FormatInt(b.Time, 10), Partitions: g.reducers,
		Input: job.Input{Kind: job.FromShuffle, Shuffles: []int{b.Index}, Combine: g.reduce}, Output: job.Output{Kind: job.ToResult}}
	return job.Job{Name: name, Stages: []job.Stage{src, red}, Params: params}
}
