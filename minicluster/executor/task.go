package executor

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// runTask runs one attempt on a task goroutine and reports its end to the driver.
func (e *Executor) runTask(ctx context.Context, lt rpc.LaunchTask) {
	name := fmt.Sprintf("task %d.%d in stage %d.%d (TID %d)", lt.Partition, lt.Attempt, lt.Stage.ID, lt.StageAtt, lt.TID)
	e.log.Info("Running "+name, "component", "executor.Executor")
	start := time.Now()
	st := rpc.StatusUpdate{TID: lt.TID, Executor: e.cfg.ID, State: rpc.TaskFinished}
	cached, result, err := e.attempt(ctx, lt)
	var killed *killedError
	if cause := context.Cause(ctx); errors.As(cause, &killed) {
		e.log.Info(fmt.Sprintf("Executor killed %s, reason: %s", name, killed.reason), "component", "executor.Executor")
		st.State, st.Failure = rpc.TaskKilled, &rpc.Failure{Kind: rpc.KindTaskKilled, Message: killed.Error()}
		cached, result, err = nil, nil, nil
	}
	if err != nil {
		f := failureOf(err)
		e.log.Error("Exception in "+name, "component", "executor.Executor", "stack", strings.TrimSpace(f.String()+"\n"+f.Stack))
		st.State, st.Failure = rpc.TaskFailed, &f
		if f.Safeguard != "" {
			e.report(rpc.ReportSafeguard, f.Safeguard, "task", fmt.Sprintf("executor %d, %s: %s", e.cfg.ID, name, f.String()), false)
		}
	} else {
		st.Cached, st.Result = cached, result
		e.log.Info(fmt.Sprintf("Finished %s. %d bytes result sent to driver in %d ms", name, len(result), time.Since(start).Milliseconds()), "component", "executor.Executor")
	}
	if err := e.driver.SendJSON(rpc.MsgStatus, st); err != nil {
		e.log.Warn("Could not report "+name+": "+err.Error(), "component", "executor.Executor")
	}
}

// attempt runs the stage's functions. A panic in user code is the task's failure,
// never the executor's: it is recovered with its stack.
func (e *Executor) attempt(ctx context.Context, lt rpc.LaunchTask) (cached []int, result []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &panicError{value: p, stack: string(debug.Stack())}
		}
	}()
	w, err := e.cfg.App.Workload(lt.Workload)
	if err != nil {
		return nil, nil, err
	}
	tc := &job.TaskContext{Ctx: ctx, Stage: lt.Stage.ID, Partition: lt.Partition, Attempt: lt.Attempt, Executor: e.cfg.ID, Node: e.cfg.Node, Log: e.log, Params: lt.Params,
		Faults: e.cfg.Spec.Faults}
	where := fmt.Sprintf("executor %d, task %d.%d in stage %d.%d (TID %d)", e.cfg.ID, lt.Partition, lt.Attempt, lt.Stage.ID, lt.StageAtt, lt.TID)
	tc.Hit = func(p fault.Point, proof string) {
		e.report(rpc.ReportFault, string(p), "task", where+": "+proof, false)
	}
	tc.NoEffect = func(p fault.Point, why string) {
		e.report(rpc.ReportFaultNoEffect, string(p), "task", "configured, no effect: "+where+": "+why, false)
	}
	recs, inputErr := e.readInput(tc, w, lt)
	if inputErr != nil && len(recs) == 0 {
		return nil, nil, inputErr
	}
	// Records read before an input error flow on first, as they would through
	// Spark's lazy iterators: a consumer that fails on them fails first.
	if inputErr != nil {
		for _, name := range lt.Stage.Ops {
			op, ok := w.Ops[name]
			if !ok {
				break
			}
			if recs, err = op(tc, recs); err != nil {
				return nil, nil, fmt.Errorf("op %s: %w", name, err)
			}
		}
		return nil, nil, inputErr
	}
	if ds := lt.Stage.CacheAs; ds > 0 {
		e.store.PutCached(block.CacheID(ds, lt.Partition), recs)
		cached = []int{lt.Partition}
	}
	for _, name := range lt.Stage.Ops {
		if err := ctx.Err(); err != nil {
			return nil, nil, err // killed
		}
		op, ok := w.Ops[name]
		if !ok {
			return nil, nil, fmt.Errorf("workload %s has no op %q", w.Name, name)
		}
		if recs, err = op(tc, recs); err != nil {
			return nil, nil, fmt.Errorf("op %s: %w", name, err)
		}
	}
	switch lt.Stage.Output.Kind {
	case job.ToShuffle:
		return cached, nil, e.writeShuffle(lt, recs)
	case job.ToResult:
		b, err := block.Encode(e.taskReg, recs)
		if err != nil {
			return nil, nil, fmt.Errorf("serialise task result: %w", err)
		}
		if len(b) > MaxResultSize {
			return nil, nil, &resultTooLarge{size: len(b)}
		}
		return cached, b, nil
	}
	return nil, nil, fmt.Errorf("stage %d: unknown output %q", lt.Stage.ID, lt.Stage.Output.Kind)
}

func (e *Executor) readInput(tc *job.TaskContext, w *job.Workload, lt rpc.LaunchTask) ([]any, error) {
	in := lt.Stage.Input
	switch in.Kind {
	case job.FromSource:
		src, ok := w.Sources[in.Source]
		if !ok {
			return nil, fmt.Errorf("workload %s has no source %q", w.Name, in.Source)
		}
		return src(tc, lt.Partition)
	case job.FromCache:
		c := max(in.Coalesce, 1)
		var out []any
		for p := lt.Partition * c; p < lt.Partition*c+c; p++ {
			recs, err := e.cachedPartition(tc, w, lt, in.Dataset, p)
			out = append(out, recs...)
			if err != nil {
				return out, err
			}
		}
		return out, nil
	case job.FromShuffle:
		inputs := make([][]any, len(in.Shuffles))
		for i, sh := range in.Shuffles {
			recs, err := e.readShuffle(tc.Ctx, lt, sh)
			if err != nil {
				return nil, err
			}
			inputs[i] = recs
		}
		comb, ok := w.Combines[in.Combine]
		if !ok {
			return nil, fmt.Errorf("workload %s has no combine %q", w.Name, in.Combine)
		}
		return comb(tc, inputs)
	}
	return nil, fmt.Errorf("stage %d: unknown input %q", lt.Stage.ID, in.Kind)
}

// cachedPartition reads a cached partition: from memory when this executor holds
// it, otherwise fetched from the holder's block server and decoded here. A
// partition no executor holds any more, or whose holder cannot serve it, is
// computed again from its lineage, as Spark's getOrCompute does.
func (e *Executor) cachedPartition(tc *job.TaskContext, w *job.Workload, lt rpc.LaunchTask, ds, p int) ([]any, error) {
	id := block.CacheID(ds, p)
	if recs, ok := e.store.Cached(id); ok {
		return recs, nil
	}
	if loc, ok := lt.Cached[p]; ok {
		data, err := e.fetch(tc.Ctx, loc.Addr, rpc.GetBlock{Block: id, From: e.cfg.ID, TID: lt.TID})
		var remote *block.RemoteError
		switch {
		case err == nil:
			e.dataHit(lt, id, loc.Executor, data)
			recs, err := block.Decode(e.taskReg, id, data, e.verify)
			// The records are copies: the block's memory can take the next one.
			e.client.Release(data)
			return recs, err
		case errors.As(err, &remote), tc.Ctx.Err() != nil:
			// The holder answered (it has the block and failed to serve it),
			// or the task was killed: that is the task's failure.
			return nil, fmt.Errorf("fetch %s from executor %d: %w", id, loc.Executor, err)
		}
		e.log.Warn(fmt.Sprintf("Failed to fetch block %s from executor %d, recomputing it: %v", id, loc.Executor, err), "component", "storage.BlockManager")
	}
	return e.recompute(tc, w, lt, ds, p)
}

// recompute computes a lost cached partition again from the stage that
// cached it, whose input it is, and keeps it in memory.
func (e *Executor) recompute(tc *job.TaskContext, w *job.Workload, lt rpc.LaunchTask, ds, p int) ([]any, error) {
	id := block.CacheID(ds, p)
	jobs, err := w.Jobs(lt.Params)
	if err != nil {
		return nil, fmt.Errorf("block %s: plan lineage: %w", id, err)
	}
	for _, j := range jobs {
		for _, s := range j.Stages {
			if s.CacheAs != ds {
				continue
			}
			src, ok := w.Sources[s.Input.Source]
			if s.Input.Kind != job.FromSource || !ok {
				return nil, fmt.Errorf("block %s: no executor holds it, and its lineage (stage %d, %s input) cannot be recomputed here", id, s.ID, s.Input.Kind)
			}
			e.log.Info(fmt.Sprintf("Partition %s not found, computing it", id), "component", "rdd.RDD")
			recs, err := src(tc, p)
			if err != nil {
				return nil, fmt.Errorf("recompute %s: %w", id, err)
			}
			e.store.PutCached(id, recs)
			return recs, nil
		}
	}
	return nil, fmt.Errorf("block %s: no executor holds it, and no stage of %s caches dataset %d", id, w.Name, ds)
}

// fetch asks a block server for a block, bounded by spark.network.timeout and
// by the attempt's life.
func (e *Executor) fetch(ctx context.Context, addr string, req rpc.GetBlock) ([]byte, error) {
	timeout, err := e.cfg.Spec.Conf.Duration(conf.NetworkTimeout)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return e.client.Fetch(ctx, addr, req)
}

// readShuffle fetches this reduce partition's block from every map output and
// reads each record as a key-value pair. A map output that has no location,
// or whose executor cannot be reached, fails the attempt with FetchFailed.
func (e *Executor) readShuffle(ctx context.Context, lt rpc.LaunchTask, shuffle int) ([]any, error) {
	locs := lt.MapOutputs[shuffle]
	var out []any
	for m, loc := range locs {
		id := block.ShuffleID(shuffle, m, lt.Partition)
		var data []byte
		fetched := false
		switch {
		case loc.Addr == "":
			return nil, &FetchFailedError{Shuffle: shuffle, Map: -1, Reduce: lt.Partition,
				Cause: fmt.Errorf("org.apache.spark.shuffle.MetadataFetchFailedException: Missing an output location for shuffle %d", shuffle)}
		case loc.Executor == e.cfg.ID:
			b, ok := e.store.Shuffle(id)
			if !ok {
				return nil, fmt.Errorf("shuffle block %s missing from local store", id)
			}
			data = b
		default:
			b, err := e.fetch(ctx, loc.Addr, rpc.GetBlock{Block: id, From: e.cfg.ID, TID: lt.TID})
			var remote *block.RemoteError
			switch {
			case err == nil:
			case errors.As(err, &remote), ctx.Err() != nil:
				return nil, fmt.Errorf("fetch %s from executor %d: %w", id, loc.Executor, err)
			default:
				return nil, &FetchFailedError{Executor: loc.Executor, Addr: loc.Addr, Shuffle: shuffle, Map: m, Reduce: lt.Partition,
					Cause: fmt.Errorf("org.apache.spark.shuffle.FetchFailedException: %w", err)}
			}
			data, fetched = b, true
		}
		e.dataHit(lt, id, loc.Executor, data)
		recs, derr := block.Decode(e.taskReg, id, data, e.verify)
		if fetched {
			// The records are copies: the block's memory can take the next
			// one. A block of the local store stays where it is.
			e.client.Release(data)
		}
		// Each record is cast as it is read, as Spark's shuffle reader casts to
		// Product2: a record that decoded as the wrong type fails here, before
		// the bytes after it are read.
		for _, r := range recs {
			if _, err := codec.As[codec.Product2](r, "Product2"); err != nil {
				return nil, fmt.Errorf("read %s: %w", id, err)
			}
		}
		if derr != nil {
			return nil, derr
		}
		out = append(out, recs...)
	}
	return out, nil
}

// FetchFailedError is a map output a reduce task could not read: its
// executor is gone (or unreachable), or it has no location at all.
type FetchFailedError struct {
	// Executor and Addr are the block manager that held it; 0 and "" when
	// the output had no location.
	Executor int
	Addr     string
	Shuffle  int
	Map      int // -1 when the location of the whole shuffle is missing
	Reduce   int
	Cause    error
}

func (f *FetchFailedError) Unwrap() error { return f.Cause }

// Error is Spark's FetchFailed reason: "FetchFailed(BlockManagerId(2,
// 127.0.0.1, 40123, None), shuffleId=0, mapId=1, reduceId=3, message=…)".
func (f *FetchFailedError) Error() string {
	bm := "null"
	if f.Executor > 0 {
		host, port, err := net.SplitHostPort(f.Addr)
		if err != nil {
			host, port = f.Addr, "0"
		}
		bm = fmt.Sprintf("BlockManagerId(%d, %s, %s, None)", f.Executor, host, port)
	}
	return fmt.Sprintf("FetchFailed(%s, shuffleId=%d, mapId=%d, reduceId=%d, message=%v)", bm, f.Shuffle, f.Map, f.Reduce, f.Cause)
}

// writeShuffle hash-partitions key-value records into one encoded block per
// reducer; the encoding is done here, by the task goroutine.
func (e *Executor) writeShuffle(lt rpc.LaunchTask, recs []any) error {
	n := lt.Stage.Output.Reducers
	buckets := make([][]any, n)
	for _, r := range recs {
		kv, err := codec.As[codec.Product2](r, "Product2")
		if err != nil {
			return fmt.Errorf("write shuffle %d: %w", lt.Stage.Output.Shuffle, err)
		}
		b := Partition(kv.First(), n)
		buckets[b] = append(buckets[b], r)
	}
	for r, recs := range buckets {
		// Kept as the frame the block server sends it in.
		f, err := block.EncodeFrame(e.taskReg, recs)
		if err != nil {
			return fmt.Errorf("write shuffle %d: %w", lt.Stage.Output.Shuffle, err)
		}
		e.store.PutShuffle(block.ShuffleID(lt.Stage.Output.Shuffle, lt.Partition, r), f)
	}
	return nil
}

// Partition is the hash partitioner: the reduce partition of a key.
func Partition(key any, n int) int {
	switch k := key.(type) {
	case int64:
		return int(uint64(k) % uint64(n))
	case int:
		return int(uint(k) % uint(n))
	case string:
		h := fnv.New32a()
		h.Write([]byte(k))
		return int(h.Sum32() % uint32(n))
	}
	h := fnv.New32a()
	fmt.Fprint(h, key)
	return int(h.Sum32() % uint32(n))
}

// MaxResultSize bounds a task's serialised result so that its status update
// fits one driver message (JSON inflates bytes by a third). Spark's analogue is
// spark.driver.maxResultSize.
const MaxResultSize = wire.MaxControlFrame / 2

type resultTooLarge struct{ size int }

func (e *resultTooLarge) Error() string {
	return fmt.Sprintf("serialized task result of %d bytes is bigger than the %d-byte limit of one driver message (spark.driver.maxResultSize)", e.size, MaxResultSize)
}

func (e *resultTooLarge) Kind() string { return "SparkException" }

type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprint(p.value) }

// kinded is an error that names its type the way a Spark failure reason does.
type kinded interface{ Kind() string }

// failureOf turns a task error into the failure reason sent to the driver: the
// innermost typed error's kind and message, and the chain plus stack as the stack.
func failureOf(err error) rpc.Failure {
	f := rpc.Failure{Kind: "TaskException", Message: err.Error()}
	var pe *panicError
	var ce *codec.Error
	var me *block.MismatchError
	var one *codec.OptionNilError
	var de *codec.DepthError
	var k kinded
	var ff *FetchFailedError
	switch {
	case errors.As(err, &ff):
		return rpc.Failure{Kind: rpc.KindFetchFailed, Message: ff.Error(), Stack: chainOf(err),
			Fetch: &rpc.FetchFailure{Executor: ff.Executor, Addr: ff.Addr, Shuffle: ff.Shuffle, Map: ff.Map, Reduce: ff.Reduce}}
	case errors.As(err, &pe):
		f.Kind, f.Message = "RuntimePanic", fmt.Sprint(pe.value)
		if re, ok := pe.value.(runtime.Error); ok && strings.Contains(re.Error(), "nil pointer dereference") {
			f.Kind = "NullPointerException"
		}
		f.Stack = trimStack(pe.stack)
		return f
	case errors.As(err, &me):
		f.Kind, f.Message = me.Kind(), me.Error()
		f.Fatal, f.Safeguard = true, string(safeguard.RegistryFingerprint)
	case errors.As(err, &one):
		// Retrying cannot help: the same record is refused on every attempt.
		f.Kind, f.Message = one.Kind(), err.Error()
		f.Fatal, f.Safeguard = true, string(safeguard.OptionNilCheck)
	case errors.As(err, &de):
		f.Kind, f.Message = de.Kind(), err.Error()
		f.Fatal, f.Safeguard = true, string(safeguard.CodecDepthLimit)
	case errors.As(err, &ce):
		f.Kind, f.Message = ce.Kind, ce.Msg
	case errors.As(err, &k):
		f.Kind = k.Kind()
	}
	f.Stack = chainOf(err)
	return f
}

// chainOf renders an error's wrap chain as "at" lines, outermost first: Go
// errors carry no stack, but each wrap names the step that was under way.
func chainOf(err error) string {
	var out []string
	for err != nil {
		inner := errors.Unwrap(err)
		if inner == nil {
			break
		}
		frame := strings.TrimSuffix(err.Error(), ": "+inner.Error())
		if frame != err.Error() && frame != "" {
			out = append(out, "at "+frame)
		}
		err = inner
	}
	return strings.Join(out, "\n")
}

// trimStack keeps the goroutine's frames below the runtime's own, as "at" lines.
func trimStack(s string) string {
	var out []string
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := 1; i+1 < len(lines); i += 2 {
		fn := strings.TrimSpace(lines[i])
		if strings.HasPrefix(fn, "runtime/debug.") || strings.HasPrefix(fn, "runtime.") {
			continue
		}
		out = append(out, "at "+fn+" ("+strings.TrimSpace(lines[i+1])+")")
		if len(out) == 12 {
			break
		}
	}
	return strings.Join(out, "\n")
}
