package driver_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

const (
	shuffleWorkloadName = "map-reduce"
	mapStage            = 0
	reduceStage         = 1
	mapParts            = 4
	reduceParts         = 4
)

// shuffleWorkload is a map stage writing shuffle 0 and a result stage reading
// it; fake executors answer each reduce partition p with int64(p), which
// Finish sums.
func shuffleWorkload() *job.Workload {
	return &job.Workload{
		Name: shuffleWorkloadName,
		Jobs: func(job.Params) ([]job.Job, error) {
			return []job.Job{{Name: "collect at reduce", Stages: []job.Stage{
				{ID: mapStage, Name: "map at numbers", Partitions: mapParts, Input: job.Input{Kind: job.FromSource, Source: "numbers"},
					Output: job.Output{Kind: job.ToShuffle, Shuffle: 0, Reducers: reduceParts}},
				{ID: reduceStage, Name: "collect at reduce", Partitions: reduceParts, Input: job.Input{Kind: job.FromShuffle, Shuffles: []int{0}, Combine: "concat"},
					Output: job.Output{Kind: job.ToResult}},
			}}}, nil
		},
		Finish:   sumResults,
		Oracle:   func(job.Params) (any, error) { return int64(reduceParts * (reduceParts - 1) / 2), nil },
		Sources:  map[string]job.SourceFunc{"numbers": func(_ *job.TaskContext, p int) ([]any, error) { return []any{int64(p)}, nil }},
		Combines: map[string]job.CombineFunc{"concat": func(_ *job.TaskContext, in [][]any) ([]any, error) { return slices.Concat(in...), nil }},
	}
}

// fakeWorker is a node's worker made of a wire connection: it registers and
// reports executor exits when told.
type fakeWorker struct {
	node string
	mu   sync.Mutex
	c    *wire.Conn
}

func connectWorker(t *testing.T, r *run, node string) *fakeWorker {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepBound)
	defer cancel()
	c, err := wire.Dial(ctx, r.addr, r.secret, "worker-"+node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.SendJSON(rpc.MsgRegisterWorker, rpc.RegisterWorker{Node: node, App: "app-20260101000000-0000"}); err != nil {
		t.Fatal(err)
	}
	// The registration is applied in order with what follows on this
	// connection, but an executor's hang-up comes on another: wait until the
	// driver has it.
	if err := r.log.waitUntil(ctx, "the worker's registration", func(log string) bool {
		return strings.Contains(log, "Connected to worker of "+node)
	}); err != nil {
		t.Fatal(err)
	}
	return &fakeWorker{node: node, c: c}
}

// exited reports an executor's end; safe from any goroutine.
func (w *fakeWorker) exited(u rpc.ExecutorUpdated) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	u.Node, u.State = w.node, rpc.ExecutorExited
	if u.Message == "" {
		u.Message = fmt.Sprintf("Command exited with code %d", u.ExitStatus)
	}
	return w.c.SendJSON(rpc.MsgExecutorUpdated, u)
}

func shuffleSpec(overrides map[string]string) *spec.Spec {
	sp := testSpec(overrides, nil)
	sp.Workload = shuffleWorkloadName
	return sp
}

// TestExecutorExitRelaunch: an executor dies while running a task; its worker
// reports the exit status and the replacement it launched; the driver loses
// the executor with Spark's lines, fails the task with ExecutorLostFailure,
// and the task runs again — on the replacement when it is the only executor,
// so the job waits for it rather than being cancelled.
func TestExecutorExitRelaunch(t *testing.T) {
	tests := []struct {
		name string
		// exit is the worker's report of executor 1's end.
		exit rpc.ExecutorUpdated
		// reason is the lost attempt's expected failure.
		reason string
	}{
		{
			name:   "a crash with exit status 2 is the task's doing",
			exit:   rpc.ExecutorUpdated{Executor: 1, ExitStatus: 2, CausedByApp: true, Tail: []string{"fatal error: stack overflow"}, Replacement: 2},
			reason: "ExecutorLostFailure (executor 1 exited caused by one of the running tasks) Reason: Command exited with code 2",
		},
		{
			name:   "a SIGKILL from outside is not",
			exit:   rpc.ExecutorUpdated{Executor: 1, ExitStatus: 137, Signal: "SIGKILL", Replacement: 2},
			reason: "ExecutorLostFailure (executor 1 exited unrelated to the running tasks) Reason: Command exited with code 137",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := testSpec(nil, nil)
			sp.Topology = spec.Topology{Nodes: 1, ExecutorsPerNode: 1, Slots: 1}.WithDefaults()
			r := startDriver(t, sp)
			w := connectWorker(t, r, "node-a")
			died := make(chan error, 1)
			victim := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
				if lt.Partition == failingTask {
					return disconnect, rpc.Failure{}
				}
				return succeed, rpc.Failure{}
			}}
			victim.onExit = func() { died <- w.exited(tc.exit) }
			if ref := victim.connect(t, r); ref != nil {
				t.Fatal(ref.Reason)
			}
			select {
			case err := <-died:
				if err != nil {
					t.Fatal(err)
				}
			case <-r.done:
				t.Fatalf("driver ended before the executor died; log:\n%s", r.log)
			}
			replacement := &fakeExecutor{id: 2, node: "node-a", reg: r.drvReg, do: alwaysSucceed}
			if ref := replacement.connect(t, r); ref != nil {
				t.Fatal(ref.Reason)
			}
			res, evs := r.wait(t)
			if res.Status != driver.Succeeded {
				t.Fatalf("result %s %q, want succeeded on the replacement; log:\n%s", res.Status, res.Error, r.log)
			}
			tries := attempts(evs, failingTask)
			if len(tries) != 2 || tries[0].Executor != 1 || tries[0].ReasonKind != rpc.KindExecutorLost || tries[0].Reason != tc.reason ||
				tries[1].Executor != 2 || tries[1].Outcome != "success" {
				t.Fatalf("attempts of task %d: %+v\nwant lost on executor 1 with %q, then success on executor 2", failingTask, tries, tc.reason)
			}
			removed := kinds(evs, events.ExecutorRemoved)
			if len(removed) != 1 || removed[0].Executor != 1 || removed[0].ExitStatus == nil || *removed[0].ExitStatus != tc.exit.ExitStatus ||
				removed[0].Signal != tc.exit.Signal || removed[0].Message != fmt.Sprintf("Command exited with code %d", tc.exit.ExitStatus) {
				t.Errorf("executor-removed events %+v, want executor 1 with exit status %d", removed, tc.exit.ExitStatus)
			}
			if exited := kinds(evs, events.ExecutorExited); len(exited) != 1 || exited[0].Replacement != 2 {
				t.Errorf("executor-exited events %+v, want one naming replacement 2", exited)
			}
			msgs := r.log.messages()
			for _, want := range []string{
				fmt.Sprintf("Lost executor 1 on node-a: Command exited with code %d", tc.exit.ExitStatus),
				lostLine(tries[0], tc.reason),
				"Executor added: app-20260101000000-0000/2 on worker-node-a (node-a) with 1 core(s)",
			} {
				if !slices.Contains(msgs, want) {
					t.Errorf("driver did not log %q; log:\n%s", want, r.log)
				}
			}
		})
	}
}

// TestFailureCounting: what counts toward spark.task.maxFailures and what
// does not. Each case's task fails the same way at every attempt up to
// `until`; with maxFailures=2 a counted failure aborts at the second attempt.
func TestFailureCounting(t *testing.T) {
	fetchFailed := func(lt rpc.LaunchTask) rpc.Failure {
		ff := &rpc.FetchFailure{Executor: 2, Addr: "127.0.0.1:1", Shuffle: 0, Map: 1, Reduce: lt.Partition}
		return rpc.Failure{Kind: rpc.KindFetchFailed, Fetch: ff,
			Message: fmt.Sprintf("FetchFailed(BlockManagerId(2, 127.0.0.1, 1, None), shuffleId=0, mapId=1, reduceId=%d, message=org.apache.spark.shuffle.FetchFailedException: connection refused)", lt.Partition)}
	}
	tests := []struct {
		name  string
		conf  map[string]string
		fails func(lt rpc.LaunchTask) (rpc.Failure, bool)
		// abort is the start of the expected abort, "" for success.
		abort string
	}{
		{
			name: "a task error counts",
			fails: func(lt rpc.LaunchTask) (rpc.Failure, bool) {
				return cce, lt.Stage.ID == reduceStage && lt.Partition == 1 && lt.Attempt < 2
			},
			abort: "Job aborted due to stage failure: Task 1 in stage 1.0 failed 2 times, most recent failure: Lost task 1.1 in stage 1.0",
		},
		{
			name: "an executor loss the task caused counts",
			fails: func(lt rpc.LaunchTask) (rpc.Failure, bool) {
				return rpc.Failure{Kind: rpc.KindExecutorLost, Message: "ExecutorLostFailure (executor 1 exited caused by one of the running tasks) Reason: Command exited with code 2"},
					lt.Stage.ID == reduceStage && lt.Partition == 1 && lt.Attempt < 2
			},
			abort: "Job aborted due to stage failure: Task 1 in stage 1.0 failed 2 times, most recent failure: Lost task 1.1 in stage 1.0 (TID",
		},
		{
			name: "an executor loss the task did not cause does not count",
			fails: func(lt rpc.LaunchTask) (rpc.Failure, bool) {
				return rpc.Failure{Kind: rpc.KindExecutorLost, NotCounted: true, Message: "ExecutorLostFailure (executor 1 exited unrelated to the running tasks) Reason: Command exited with code 137"},
					lt.Stage.ID == reduceStage && lt.Partition == 1 && lt.Attempt < 3
			},
		},
		{
			name: "a fetch failure does not count; it resubmits the stages",
			fails: func(lt rpc.LaunchTask) (rpc.Failure, bool) {
				return fetchFailed(lt), lt.Stage.ID == reduceStage && lt.Partition == 1 && lt.StageAtt < 3
			},
		},
		{
			name: "spark.stage.maxConsecutiveAttempts fetch failures abort the job",
			fails: func(lt rpc.LaunchTask) (rpc.Failure, bool) {
				return fetchFailed(lt), lt.Stage.ID == reduceStage && lt.Partition == 1
			},
			abort: "Job aborted due to stage failure: ResultStage 1 (collect at reduce) has failed the maximum allowable number of times: 4. Most recent failure reason: FetchFailed(BlockManagerId(2, 127.0.0.1, 1, None), shuffleId=0, mapId=1, reduceId=1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := shuffleSpec(map[string]string{conf.TaskMaxFailures: "2"})
			r := startDriver(t, sp)
			startFakes(t, r, sp, func(lt rpc.LaunchTask) (action, rpc.Failure) {
				// The driver's own reasons are sent as an executor would
				// send a failure, to exercise the counting alone.
				if f, ok := tc.fails(lt); ok {
					return fail, f
				}
				return succeed, rpc.Failure{}
			})
			res, _ := r.wait(t)
			if tc.abort == "" {
				if res.Status != driver.Succeeded || string(res.Output) != "6" {
					t.Fatalf("result %s %q output %s, want succeeded with 6; log:\n%s", res.Status, res.Error, res.Output, r.log)
				}
				return
			}
			if res.Status != driver.Aborted || !strings.HasPrefix(res.Error, tc.abort) {
				t.Fatalf("result %s %q\nwant aborted %q…; log:\n%s", res.Status, res.Error, tc.abort, r.log)
			}
		})
	}
}

// TestFetchFailedResubmitsMapStage: executor 2 dies between the map and the
// reduce stage; a reduce task cannot fetch its map output and fails with
// FetchFailed. The reduce stage attempt is abandoned, executor 2's outputs are
// unregistered, the map stage runs again for them (attempt 0.1) and then the
// reduce stage (attempt 1.1); the job's output is right.
func TestFetchFailedResubmitsMapStage(t *testing.T) {
	sp := shuffleSpec(nil)
	r := startDriver(t, sp)
	var mu sync.Mutex
	var mapOn2 []int // map partitions executor 2 wrote
	survivor := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		mu.Lock()
		defer mu.Unlock()
		if lt.Stage.ID == reduceStage && lt.StageAtt == 0 {
			for _, loc := range lt.MapOutputs[0] {
				if loc.Executor == 2 {
					return fail, rpc.Failure{Kind: rpc.KindFetchFailed, Fetch: &rpc.FetchFailure{Executor: 2, Addr: loc.Addr, Shuffle: 0, Map: mapOn2[0], Reduce: lt.Partition},
						Message: fmt.Sprintf("FetchFailed(BlockManagerId(2, 127.0.0.1, 1, None), shuffleId=0, mapId=%d, reduceId=%d, message=connection refused)", mapOn2[0], lt.Partition)}
				}
			}
		}
		if lt.Stage.ID == reduceStage {
			for m, loc := range lt.MapOutputs[0] {
				if loc.Executor != 1 {
					return fail, rpc.Failure{Kind: "IllegalStateException", Message: fmt.Sprintf("reduce attempt %d.%d reads map output %d from executor %d", lt.Partition, lt.StageAtt, m, loc.Executor)}
				}
			}
		}
		return succeed, rpc.Failure{}
	}}
	if ref := survivor.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	victim := &fakeExecutor{id: 2, node: "node-b", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		if lt.Stage.ID == mapStage {
			mu.Lock()
			mapOn2 = append(mapOn2, lt.Partition)
			mu.Unlock()
			return succeed, rpc.Failure{}
		}
		return silent, rpc.Failure{} // it is dead to the reduce stage
	}}
	if ref := victim.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	res, evs := r.wait(t)
	if res.Status != driver.Succeeded || string(res.Output) != "6" {
		t.Fatalf("result %s %q output %s, want succeeded with 6; log:\n%s", res.Status, res.Error, res.Output, r.log)
	}
	resub := kinds(evs, events.StageResubmitted)
	if len(resub) != 1 || resub[0].Stage != mapStage || resub[0].StageAtt != 1 || resub[0].ReasonKind != rpc.KindFetchFailed ||
		resub[0].Message != "Resubmitting ShuffleMapStage 0 (map at numbers) and ResultStage 1 (collect at reduce) due to fetch failure" {
		t.Fatalf("stage-resubmitted events %+v, want one for stage 0 attempt 1", resub)
	}
	var submitted []string
	for _, e := range kinds(evs, events.StageSubmitted) {
		submitted = append(submitted, fmt.Sprintf("%d.%d", e.Stage, e.StageAtt))
	}
	if want := []string{"0.0", "1.0", "0.1", "1.1"}; !slices.Equal(submitted, want) {
		t.Errorf("stage attempts submitted %v, want %v", submitted, want)
	}
	mu.Lock()
	lost := len(mapOn2)
	mu.Unlock()
	var rerun int
	for _, e := range kinds(evs, events.TaskStart) {
		if e.Stage == mapStage && e.StageAtt == 1 {
			rerun++
		}
	}
	if lost == 0 || rerun != lost {
		t.Errorf("map stage attempt 0.1 ran %d tasks, want the %d executor 2 had written", rerun, lost)
	}
	msgs := r.log.messages()
	for _, want := range []string{
		"Marking ResultStage 1 (collect at reduce) as failed due to a fetch failure from ShuffleMapStage 0 (map at numbers)",
		fmt.Sprintf("Submitting %d missing tasks from ShuffleMapStage 0 (map at numbers) (stage attempt 0.1)", lost),
	} {
		if !slices.Contains(msgs, want) {
			t.Errorf("driver did not log %q; log:\n%s", want, r.log)
		}
	}
	if strings.Contains(r.log.String(), "aborting job") {
		t.Errorf("a fetch failure was counted toward spark.task.maxFailures")
	}
}

// TestIdleConnectionsDoNotDelayShutdown: connections that never finish their
// handshake (one silent, a few sending garbage and staying open) are open
// through a whole run; the run is undisturbed and the driver's shutdown ends
// their handshakes instead of waiting for them to time out (5 s).
func TestIdleConnectionsDoNotDelayShutdown(t *testing.T) {
	const handshakeTimeout = 5 * time.Second // wire's bound on a handshake
	sp := testSpec(nil, nil)
	r := startDriver(t, sp)
	opened := time.Now()
	var d net.Dialer
	ctx, cancel := context.WithTimeout(context.Background(), stepBound)
	defer cancel()
	for i := range 4 {
		nc, err := d.DialContext(ctx, "tcp", r.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if i > 0 { // garbage that is no complete handshake
			if _, err := nc.Write([]byte(strings.Repeat("FBWR\x01", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	startFakes(t, r, sp, alwaysSucceed)
	res, evs := r.wait(t)
	if took := time.Since(opened); took >= handshakeTimeout {
		t.Errorf("the run ended %s after the idle connections opened: the driver waited for their handshakes to time out", took)
	}
	if res.Status != driver.Succeeded || res.Executors != 2 || res.Refused != 0 {
		t.Errorf("result %s (%q), executors %d, refused %d; want succeeded on 2", res.Status, res.Error, res.Executors, res.Refused)
	}
	for _, e := range evs {
		if e.Kind == events.ExecutorRefused || e.Kind == events.ExecutorRemoved {
			t.Errorf("an idle connection showed up as %+v", e)
		}
	}
}

// TestAbortKillsRunningAttempts: when a job is aborted, the driver asks the
// executors to kill the attempts still running.
func TestAbortKillsRunningAttempts(t *testing.T) {
	sp := testSpec(nil, nil)
	r := startDriver(t, sp)
	fatal := rpc.Failure{Kind: "RegistryMismatchException", Message: "diagnosed", Fatal: true, Safeguard: "registry-fingerprint"}
	var held []int
	busy := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		held = append(held, lt.TID) // read after the run, once the serve loop has ended
		return silent, rpc.Failure{}
	}}
	if ref := busy.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	failing := &fakeExecutor{id: 2, node: "node-b", reg: r.drvReg, do: func(rpc.LaunchTask) (action, rpc.Failure) { return fail, fatal }}
	if ref := failing.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	res, _ := r.wait(t)
	if res.Status != driver.Aborted {
		t.Fatalf("result %s, want aborted", res.Status)
	}
	if err := <-busy.done; err != nil {
		t.Fatal(err)
	}
	busy.done <- nil // for the cleanup's receive
	busy.killsMu.Lock()
	defer busy.killsMu.Unlock()
	if len(held) != 1 || len(busy.kills) != 1 || busy.kills[0].TID != held[0] || !strings.HasPrefix(busy.kills[0].Reason, "Stage cancelled: Job aborted due to stage failure") {
		t.Errorf("executor 1 held TIDs %v and was asked to kill %+v; want its running attempt killed with the abort as reason", held, busy.kills)
	}
}

// TestZombieResultIgnored: a result that arrives from a stage attempt
// abandoned after a fetch failure is ignored; the partition is computed by
// the new attempt.
func TestZombieResultIgnored(t *testing.T) {
	sp := shuffleSpec(nil)
	r := startDriver(t, sp)
	release := make(chan struct{})
	var releaseOnce sync.Once
	slow := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		if lt.Stage.ID == reduceStage && lt.StageAtt == 0 {
			<-release // answers only once the stage has been resubmitted
		}
		return succeed, rpc.Failure{}
	}}
	if ref := slow.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	fetcher := &fakeExecutor{id: 2, node: "node-b", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		switch {
		case lt.Stage.ID == reduceStage && lt.StageAtt == 0:
			return fail, rpc.Failure{Kind: rpc.KindFetchFailed, Fetch: &rpc.FetchFailure{Executor: 2, Addr: "127.0.0.1:1", Shuffle: 0, Map: 1, Reduce: lt.Partition},
				Message: "FetchFailed(BlockManagerId(2, 127.0.0.1, 1, None), shuffleId=0, mapId=1, reduceId=1, message=lost)"}
		case lt.Stage.ID == reduceStage:
			// Let the zombie answer, and answer only once the driver has
			// dealt with it, so that the job is still running when it does.
			releaseOnce.Do(func() {
				close(release)
				ctx, cancel := context.WithTimeout(context.Background(), stepBound)
				defer cancel()
				_ = r.log.waitUntil(ctx, "the zombie's result", func(log string) bool { return strings.Contains(log, "Ignoring result of task") })
			})
		}
		return succeed, rpc.Failure{}
	}}
	if ref := fetcher.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	res, evs := r.wait(t)
	if res.Status != driver.Succeeded || string(res.Output) != "6" {
		t.Fatalf("result %s %q output %s, want succeeded with 6; log:\n%s", res.Status, res.Error, res.Output, r.log)
	}
	var ignored []events.Event
	for _, e := range kinds(evs, events.TaskEnd) {
		if e.Stage == reduceStage && e.StageAtt == 0 && e.Executor == 1 {
			ignored = append(ignored, e)
		}
	}
	if len(ignored) != 1 || ignored[0].Outcome != "success" || ignored[0].Reason != "result ignored: stage attempt 1.0 was abandoned" {
		t.Fatalf("ends of executor 1's attempts in stage 1.0: %+v, want one success ignored; log:\n%s", ignored, r.log)
	}
	p := ignored[0].Task
	var redone bool
	for _, e := range attempts(evs, p) {
		redone = redone || e.Stage == reduceStage && e.StageAtt == 1 && e.Outcome == "success"
	}
	if !redone {
		t.Errorf("partition %d was not computed again by stage attempt 1.1: %+v", p, attempts(evs, p))
	}
	want := fmt.Sprintf("Ignoring result of task %d.0 in stage 1.0 (TID %d): the stage attempt was abandoned after a fetch failure", p, ignored[0].TID)
	if !slices.Contains(r.log.messages(), want) {
		t.Errorf("driver did not log %q; log:\n%s", want, r.log)
	}
}

// TestRunningMapStageRerunsLostOutputs: an executor that wrote map outputs
// dies while the map stage still runs; the partitions it wrote run again
// (Spark's "Resubmitted" tasks), so the reduce stage reads none of its
// outputs and no fetch failure is needed.
func TestRunningMapStageRerunsLostOutputs(t *testing.T) {
	sp := shuffleSpec(nil)
	r := startDriver(t, sp)
	gone := make(chan struct{})
	var first sync.Once
	holder := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		first.Do(func() { <-gone }) // busy until executor 2 is gone, so that it takes two map tasks
		if lt.Stage.ID == reduceStage {
			for m, loc := range lt.MapOutputs[0] {
				if loc.Executor != 1 {
					return fail, rpc.Failure{Kind: "IllegalStateException", Message: fmt.Sprintf("reads map output %d from executor %d", m, loc.Executor)}
				}
			}
		}
		return succeed, rpc.Failure{}
	}}
	if ref := holder.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	wrote := -1
	victim := &fakeExecutor{id: 2, node: "node-b", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		if wrote < 0 {
			wrote = lt.Partition // read after the run, once the serve loop has ended
			return succeed, rpc.Failure{}
		}
		return disconnect, rpc.Failure{}
	}}
	victim.onExit = func() { close(gone) }
	if ref := victim.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	res, evs := r.wait(t)
	if res.Status != driver.Succeeded || string(res.Output) != "6" {
		t.Fatalf("result %s %q output %s, want succeeded with 6; log:\n%s", res.Status, res.Error, res.Output, r.log)
	}
	if err := <-victim.done; err != nil {
		t.Fatal(err)
	}
	victim.done <- nil // for the cleanup's receive
	want := fmt.Sprintf("Resubmitted task %d in stage 0.0: Resubmitted (resubmitted due to lost executor 2, which held its map output)", wrote)
	if !slices.Contains(r.log.messages(), want) {
		t.Errorf("driver did not log %q; log:\n%s", want, r.log)
	}
	if n := len(kinds(evs, events.StageResubmitted)); n != 0 {
		t.Errorf("%d stage resubmissions, want none: the running stage ran the lost partitions itself", n)
	}
}

// TestExitBeforeRegistering: a worker's report that an executor exited before
// registering is taken at once — the job starts on the others, or, with no
// executor left, the run ends saying why — instead of waiting out
// spark.scheduler.maxRegisteredResourcesWaitingTime.
func TestExitBeforeRegistering(t *testing.T) {
	wait := map[string]string{conf.SchedulerRegistrationWait: "60s"} // a wait the test would notice
	t.Run("the job starts on the others", func(t *testing.T) {
		sp := testSpec(wait, nil)
		r := startDriver(t, sp)
		w := connectWorker(t, r, "node-b")
		if err := w.exited(rpc.ExecutorUpdated{Executor: 2, ExitStatus: 137, Signal: "SIGKILL"}); err != nil {
			t.Fatal(err)
		}
		f := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: alwaysSucceed}
		if ref := f.connect(t, r); ref != nil {
			t.Fatal(ref.Reason)
		}
		res, _ := r.wait(t)
		if res.Status != driver.Succeeded || res.Executors != 1 {
			t.Fatalf("result %s %q on %d executors, want succeeded on 1; log:\n%s", res.Status, res.Error, res.Executors, r.log)
		}
		msgs := r.log.messages()
		if want := "Executor app-20260101000000-0000/2 exited before registering: Command exited with code 137"; !slices.Contains(msgs, want) {
			t.Errorf("driver did not log %q; log:\n%s", want, r.log)
		}
		if strings.Contains(r.log.String(), "Starting with") {
			t.Errorf("the driver waited for the dead executor; log:\n%s", r.log)
		}
	})
	t.Run("no executor left", func(t *testing.T) {
		sp := testSpec(wait, nil)
		r := startDriver(t, sp)
		for _, node := range []string{"node-a", "node-b"} {
			w := connectWorker(t, r, node)
			id := map[string]int{"node-a": 1, "node-b": 2}[node]
			if err := w.exited(rpc.ExecutorUpdated{Executor: id, ExitStatus: 2, CausedByApp: true}); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-r.done:
		case <-time.After(runBound):
			t.Fatalf("driver did not end; log:\n%s", r.log)
		}
		want := "no usable executor registered: every executor exited before registering; 2 exited before registering: executor 1: Command exited with code 2; executor 2: Command exited with code 2"
		if r.err == nil || !errors.Is(r.err, driver.ErrNoExecutors) || r.err.Error() != want {
			t.Errorf("driver.Run: %v\nwant       %s", r.err, want)
		}
	})
}

// TestWorkersAskForRelaunch: workers on hosts of their own ask the
// application whether to replace an executor that exited abnormally; the
// driver counts those exits over every node against
// spark.deploy.maxExecutorRetries, as Spark's Master counts them per
// application, and hands out the application's next ids.
func TestWorkersAskForRelaunch(t *testing.T) {
	sp := testSpec(map[string]string{conf.DeployMaxExecutorRetries: "2"}, nil)
	sp.Topology = spec.Topology{Nodes: 2, ExecutorsPerNode: 1, Slots: 1}.WithDefaults()
	r := startDriver(t, sp)
	a, b := connectWorker(t, r, "node-a"), connectWorker(t, r, "node-b")
	for _, step := range []struct {
		w        *fakeWorker
		executor int
		want     int
	}{{a, 1, 3}, {b, 2, 4}, {a, 3, 0}} {
		if err := step.w.exited(rpc.ExecutorUpdated{Executor: step.executor, ExitStatus: 2, CausedByApp: true, Ask: true}); err != nil {
			t.Fatal(err)
		}
		type msg struct {
			typ     wire.MsgType
			payload []byte
			err     error
		}
		ch := make(chan msg, 1)
		go func() {
			typ, payload, err := step.w.c.Recv()
			ch <- msg{typ, payload, err}
		}()
		var m msg
		select {
		case m = <-ch:
		case <-time.After(stepBound):
			t.Fatalf("%s, executor %d: no answer within %s; log:\n%s", step.w.node, step.executor, stepBound, r.log)
		}
		var got rpc.Relaunch
		if m.err != nil || m.typ != rpc.MsgRelaunch || wire.DecodeJSON(m.payload, &got) != nil {
			t.Fatalf("%s, executor %d: no relaunch answer (type %d, %v); log:\n%s", step.w.node, step.executor, m.typ, m.err, r.log)
		}
		if got.Executor != step.executor || got.Replacement != step.want {
			t.Errorf("%s, executor %d: answer %+v, want replacement %d", step.w.node, step.executor, got, step.want)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepBound)
	defer cancel()
	if err := r.log.waitUntil(ctx, "the Master's line", func(log string) bool {
		return strings.Contains(log, "failed 3 times (spark.deploy.maxExecutorRetries=2); launching no more executors")
	}); err != nil {
		t.Fatalf("%v; log:\n%s", err, r.log)
	}
}
