package driver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/serializer"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// runBound bounds a whole driver run in these tests; stepBound any single wait
// inside one. Both are guards against hangs, never waits for an event.
const (
	runBound  = 30 * time.Second
	stepBound = 10 * time.Second
)

const (
	testRegistrator = "test.RecordsRegistrator"
	testWorkload    = "one-stage"
	// testStage and testPartitions shape the workload's only stage; failingTask
	// is the partition the fake executors fail in most cases.
	testStage      = 3
	testPartitions = 8
	failingTask    = 7
)

var cce = rpc.Failure{Kind: "ClassCastException", Message: "Tuple1 cannot be cast to Product2"}

// testApp is a bundle with a user registrator and a one-job workload: one result
// stage whose partition p yields the single record int64(p). Finish sums them.
func testApp(t *testing.T) *bundle.Bundle {
	t.Helper()
	b := bundle.New("driver-test")
	if err := b.AddRegistrator(bundle.Registrator{Name: testRegistrator, Types: records.Types()}); err != nil {
		t.Fatal(err)
	}
	w := &job.Workload{
		Name: testWorkload,
		Jobs: func(job.Params) ([]job.Job, error) {
			return []job.Job{{Name: "collect at sum", Stages: []job.Stage{{
				ID: testStage, Name: "collect at sum", Partitions: testPartitions,
				Input:  job.Input{Kind: job.FromSource, Source: "numbers"},
				Output: job.Output{Kind: job.ToResult},
			}}}}, nil
		},
		Finish: sumResults,
		Oracle: func(job.Params) (any, error) { return int64(testPartitions * (testPartitions - 1) / 2), nil },
		Sources: map[string]job.SourceFunc{
			"numbers": func(_ *job.TaskContext, p int) ([]any, error) { return []any{int64(p)}, nil },
		},
	}
	if err := b.AddWorkload(w); err != nil {
		t.Fatal(err)
	}
	if err := b.AddWorkload(shuffleWorkload()); err != nil {
		t.Fatal(err)
	}
	return b
}

// sumResults finishes a workload by summing the int64 records of its only job.
func sumResults(_ job.Params, results [][][]any) (any, error) {
	var sum int64
	for _, part := range results[0] {
		for _, v := range part {
			n, err := codec.As[int64](v, "int64")
			if err != nil {
				return nil, err
			}
			sum += n
		}
	}
	return sum, nil
}

// testSpec is a Fast cluster of two nodes with one executor each. The network
// timeout is long so that fake executors need not heartbeat.
func testSpec(overrides map[string]string, sg safeguard.Set) *spec.Spec {
	return &spec.Spec{
		Name:       "driver-test",
		Seed:       1,
		Topology:   spec.Topology{Nodes: 2, ExecutorsPerNode: 1, Slots: 1}.WithDefaults(),
		Conf:       conf.New(conf.Fast, map[string]string{conf.KryoRegistrator: testRegistrator, conf.NetworkTimeout: "60s"}, overrides),
		Safeguards: sg,
		Workload:   testWorkload,
	}
}

// registryFor builds the registry a process of app builds with the given order.
func registryFor(t *testing.T, app *bundle.Bundle, order serializer.OrderKind, seed int64) *codec.Registry {
	t.Helper()
	reg, err := serializer.NewRegistry(bundle.With(context.Background(), app),
		serializer.Options{Registrator: testRegistrator, Order: order, Seed: seed, Role: serializer.RoleTask})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// logBuffer collects a logger's output; it is safe for concurrent use and
// lets a test wait for a line to be written.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.buf.Write(p)
	close(l.changed)
	l.changed = make(chan struct{})
	return n, err
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// messages returns the message of every line, as nodelog parses it back.
func (l *logBuffer) messages() []string {
	var out []string
	for _, s := range strings.Split(l.String(), "\n") {
		if line, ok := nodelog.ParseLine(s); ok {
			out = append(out, line.Msg)
		}
	}
	return out
}

// waitUntil waits until the log's text satisfies ok.
func (l *logBuffer) waitUntil(ctx context.Context, what string, ok func(log string) bool) error {
	for {
		l.mu.Lock()
		done, changed := ok(l.buf.String()), l.changed
		l.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %s in the driver log: %w", what, ctx.Err())
		}
	}
}

// run is one driver run in the background.
type run struct {
	addr    string
	secret  []byte
	app     *bundle.Bundle
	log     *logBuffer
	evPath  string
	done    chan struct{}
	res     *driver.Result
	err     error
	drvReg  *codec.Registry
	evClose func() error
}

// startDriver runs driver.Run in a goroutine and returns once it listens.
func startDriver(t *testing.T, sp *spec.Spec) *run {
	t.Helper()
	secret, err := wire.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	r := &run{secret: secret, app: testApp(t), log: newLogBuffer(), evPath: filepath.Join(t.TempDir(), events.FileName), done: make(chan struct{})}
	r.drvReg = registryFor(t, r.app, serializer.Canonical, 0)
	ev, err := events.Create(r.evPath)
	if err != nil {
		t.Fatal(err)
	}
	r.evClose = ev.Close
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	addrc := make(chan string, 1)
	go func() {
		defer close(r.done)
		r.res, r.err = driver.Run(ctx, driver.Config{
			Spec: sp, App: r.app, Secret: secret, Events: ev, Log: nodelog.New(r.log, slog.LevelInfo),
			Listening: func(addr string) { addrc <- addr },
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-r.done
		_ = ev.Close()
	})
	select {
	case r.addr = <-addrc:
	case <-r.done:
		t.Fatalf("driver ended before listening: %v", r.err)
	case <-time.After(stepBound):
		t.Fatal("driver did not listen in time")
	}
	return r
}

// wait waits for the run's result and returns it with the event log.
func (r *run) wait(t *testing.T) (*driver.Result, []events.Event) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(runBound):
		t.Fatalf("driver did not finish; log:\n%s", r.log)
	}
	if r.err != nil {
		t.Fatalf("driver.Run: %v; log:\n%s", r.err, r.log)
	}
	if err := r.evClose(); err != nil {
		t.Fatal(err)
	}
	evs, err := events.Read(r.evPath)
	if err != nil {
		t.Fatal(err)
	}
	return r.res, evs
}

// action is what a fake executor does with one task attempt.
type action int

const (
	succeed    action = iota
	fail              // report the failure given
	disconnect        // hang up without a word
	silent            // keep the connection, never answer, never heartbeat again
)

// behaviour decides a fake executor's action for an attempt.
type behaviour func(lt rpc.LaunchTask) (action, rpc.Failure)

func alwaysSucceed(rpc.LaunchTask) (action, rpc.Failure) { return succeed, rpc.Failure{} }

// failTask fails every attempt of partition p below attempt `until` (all of
// them when until < 0) with f; everything else succeeds.
func failTask(p, until int, f rpc.Failure) behaviour {
	return func(lt rpc.LaunchTask) (action, rpc.Failure) {
		if lt.Partition == p && (until < 0 || lt.Attempt < until) {
			return fail, f
		}
		return succeed, rpc.Failure{}
	}
}

// fakeExecutor is an executor made of a wire connection: it registers, then
// answers each launched task as its behaviour says.
type fakeExecutor struct {
	id   int
	node string
	reg  *codec.Registry // what it announces and encodes results with
	do   behaviour
	// beat, when set, is how often the executor heartbeats until it falls silent.
	beat time.Duration

	mute func()     // stops the heartbeats
	done chan error // the serve loop's end
	// onExit, when set, runs on the serve goroutine once the connection is closed.
	onExit func()
	// kills are the kill requests it received.
	killsMu sync.Mutex
	kills   []rpc.KillTask
}

// connect dials the driver and registers, then serves in a goroutine. It
// returns the driver's answer to the registration: nil when accepted.
func (f *fakeExecutor) connect(t *testing.T, r *run) *rpc.Refused {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), stepBound)
	defer cancel()
	c, err := wire.Dial(ctx, r.addr, r.secret, fmt.Sprintf("exec-%d", f.id))
	if err != nil {
		t.Fatalf("exec %d: %v", f.id, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	entries := f.reg.Entries()
	msg := rpc.RegisterExecutor{ID: f.id, Node: f.node, Slots: 1, Pid: 1000 + f.id, BlockAddr: "127.0.0.1:1",
		Fingerprint: f.reg.Fingerprint(), Registry: make([]rpc.RegistryEntry, len(entries))}
	for i, e := range entries {
		msg.Registry[i] = rpc.RegistryEntry{ID: e.ID, Name: e.Name}
	}
	if err := c.SendJSON(rpc.MsgRegister, msg); err != nil {
		t.Fatalf("exec %d: %v", f.id, err)
	}
	typ, payload, err := c.Recv()
	if err != nil {
		t.Fatalf("exec %d: registration unanswered: %v", f.id, err)
	}
	switch typ {
	case rpc.MsgRegistered:
	case rpc.MsgRefused:
		var ref rpc.Refused
		if err := wire.DecodeJSON(payload, &ref); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		return &ref
	default:
		t.Fatalf("exec %d: registration answered with message type %d", f.id, typ)
	}
	f.done = make(chan error, 1)
	mute := make(chan struct{})
	f.mute = sync.OnceFunc(func() { close(mute) })
	if f.beat > 0 {
		go func() {
			tick := time.NewTicker(f.beat)
			defer tick.Stop()
			for {
				select {
				case <-mute:
					return
				case <-tick.C:
					if c.SendJSON(rpc.MsgHeartbeat, rpc.Heartbeat{Executor: f.id}) != nil {
						return
					}
				}
			}
		}()
	}
	go func() {
		err := f.serve(c)
		if f.onExit != nil {
			f.onExit()
		}
		f.done <- err
	}()
	t.Cleanup(func() {
		_ = c.Close()
		select {
		case err := <-f.done:
			if err != nil {
				t.Errorf("exec %d: %v", f.id, err)
			}
		case <-time.After(stepBound):
			t.Errorf("exec %d: serve loop did not end", f.id)
		}
	})
	return nil
}

// serve answers the driver until it says shut down or hangs up. It runs on
// its own goroutine, so it returns its trouble rather than failing the test.
func (f *fakeExecutor) serve(c *wire.Conn) error {
	defer c.Close()
	for {
		typ, payload, err := c.Recv()
		if err != nil {
			return nil // the driver hung up, or the test closed the connection
		}
		switch typ {
		case rpc.MsgShutdown:
			return nil
		case rpc.MsgKillTask:
			var k rpc.KillTask
			if err := wire.DecodeJSON(payload, &k); err != nil {
				return err
			}
			f.killsMu.Lock()
			f.kills = append(f.kills, k)
			f.killsMu.Unlock()
			continue
		case rpc.MsgLaunchTask:
		default:
			return fmt.Errorf("unexpected message type %d", typ)
		}
		var lt rpc.LaunchTask
		if err := wire.DecodeJSON(payload, &lt); err != nil {
			return err
		}
		st := rpc.StatusUpdate{TID: lt.TID, Executor: f.id}
		switch a, fl := f.do(lt); a {
		case disconnect:
			return nil
		case silent:
			f.mute()
			continue
		case fail:
			st.State, st.Failure = rpc.TaskFailed, &fl
		case succeed:
			res, err := block.Encode(f.reg, []any{int64(lt.Partition)})
			if err != nil {
				return err
			}
			st.State, st.Result = rpc.TaskFinished, res
		}
		if err := c.SendJSON(rpc.MsgStatus, st); err != nil {
			return nil // the driver went away mid-answer
		}
	}
}

// startFakes connects one fake executor per planned executor, all with the
// driver's registry and the same behaviour.
func startFakes(t *testing.T, r *run, sp *spec.Spec, do behaviour) {
	t.Helper()
	for _, ex := range sp.Topology.Executors() {
		f := &fakeExecutor{id: ex.ID, node: ex.Node, reg: r.drvReg, do: do}
		if ref := f.connect(t, r); ref != nil {
			t.Fatalf("exec %d refused: %s", ex.ID, ref.Reason)
		}
	}
}

// attempts returns the task-end events of a partition, in order.
func attempts(evs []events.Event, partition int) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if e.Kind == events.TaskEnd && e.Task == partition {
			out = append(out, e)
		}
	}
	return out
}

func lostLine(e events.Event, reason string) string {
	return fmt.Sprintf("Lost task %d.%d in stage %d.0 (TID %d, %s, executor %d): %s", e.Task, e.Attempt, e.Stage, e.TID, e.Node, e.Executor, reason)
}

// TestTaskFailureAccounting drives the scheduler with fake executors whose
// answers are scripted, and checks Spark's accounting: attempts numbered from 0
// with fresh TIDs, one "Lost task" line per failure, an abort at
// spark.task.maxFailures with Spark's message, a retry that succeeds, and a
// safeguard's diagnosis that is not retried.
func TestTaskFailureAccounting(t *testing.T) {
	fatal := rpc.Failure{Kind: "RegistryMismatchException", Message: "block shuffle_1_0_7 was encoded with another codec registry",
		Fatal: true, Safeguard: string(safeguard.RegistryFingerprint)}
	tests := []struct {
		name     string
		conf     map[string]string
		do       behaviour
		reason   rpc.Failure
		attempts int // of the failing task
		// abort is the expected Result.Error; "" means the job succeeds.
		abort string
	}{
		{
			name: "aborts after spark.task.maxFailures=4 by default", do: failTask(failingTask, -1, cce), reason: cce, attempts: 4,
			abort: "Job aborted due to stage failure: Task 7 in stage 3.0 failed 4 times, most recent failure: Lost task 7.3 in stage 3.0 (TID %d, %s, executor %d): ClassCastException: Tuple1 cannot be cast to Product2",
		},
		{
			name: "aborts after spark.task.maxFailures=2", conf: map[string]string{conf.TaskMaxFailures: "2"},
			do: failTask(failingTask, -1, cce), reason: cce, attempts: 2,
			abort: "Job aborted due to stage failure: Task 7 in stage 3.0 failed 2 times, most recent failure: Lost task 7.1 in stage 3.0 (TID %d, %s, executor %d): ClassCastException: Tuple1 cannot be cast to Product2",
		},
		{
			name: "aborts after the only attempt with spark.task.maxFailures=1", conf: map[string]string{conf.TaskMaxFailures: "1"},
			do: failTask(failingTask, -1, cce), reason: cce, attempts: 1,
			abort: "Job aborted due to stage failure: Task 7 in stage 3.0 failed 1 times, most recent failure: Lost task 7.0 in stage 3.0 (TID %d, %s, executor %d): ClassCastException: Tuple1 cannot be cast to Product2",
		},
		{
			name: "a success on the last retry completes the job", do: failTask(failingTask, 3, cce), reason: cce, attempts: 4,
		},
		{
			name: "a success on the first retry completes the job", do: failTask(failingTask, 1, cce), reason: cce, attempts: 2,
		},
		{
			name: "a safeguard's diagnosis aborts at once", do: failTask(failingTask, -1, fatal), reason: fatal, attempts: 1,
			abort: "Job aborted due to stage failure: Task 7 in stage 3.0 failed 1 times, most recent failure: Lost task 7.0 in stage 3.0 (TID %d, %s, executor %d): " +
				"RegistryMismatchException: block shuffle_1_0_7 was encoded with another codec registry (not retried: diagnosed by safeguard registry-fingerprint)",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := testSpec(tc.conf, nil)
			r := startDriver(t, sp)
			startFakes(t, r, sp, tc.do)
			res, evs := r.wait(t)

			tries := attempts(evs, failingTask)
			if len(tries) != tc.attempts {
				t.Fatalf("task %d ended %d times, want %d: %+v\nlog:\n%s", failingTask, len(tries), tc.attempts, tries, r.log)
			}
			msgs := r.log.messages()
			for i, e := range tries {
				if e.Attempt != i {
					t.Errorf("attempt %d of task %d is numbered %d", i, failingTask, e.Attempt)
				}
				if i > 0 && e.TID <= tries[i-1].TID {
					t.Errorf("attempt %d of task %d has TID %d, not after %d", i, failingTask, e.TID, tries[i-1].TID)
				}
				if e.Stage != testStage || e.Node == "" || e.Executor == 0 {
					t.Errorf("attempt %d: stage %d node %q executor %d", i, e.Stage, e.Node, e.Executor)
				}
				succeeded := tc.abort == "" && i == len(tries)-1
				if succeeded {
					if e.Outcome != "success" {
						t.Errorf("last attempt's outcome %q, want success", e.Outcome)
					}
					continue
				}
				if e.Outcome != "failed" || e.ReasonKind != tc.reason.Kind || e.Reason != tc.reason.String() {
					t.Errorf("attempt %d ended %q (%s: %q), want failed (%s: %q)", i, e.Outcome, e.ReasonKind, e.Reason, tc.reason.Kind, tc.reason.String())
				}
				if want := lostLine(e, tc.reason.String()); !slices.Contains(msgs, want) {
					t.Errorf("driver did not log %q; log:\n%s", want, r.log)
				}
			}
			// Every other task succeeded at its first attempt.
			for p := range testPartitions {
				if p == failingTask {
					continue
				}
				for _, e := range attempts(evs, p) {
					if e.Attempt != 0 || e.Outcome != "success" {
						t.Errorf("task %d: attempt %d ended %q", p, e.Attempt, e.Outcome)
					}
				}
			}

			if tc.abort == "" {
				if res.Status != driver.Succeeded || res.Error != "" {
					t.Fatalf("result %s %q, want succeeded; log:\n%s", res.Status, res.Error, r.log)
				}
				if want := fmt.Sprint(testPartitions * (testPartitions - 1) / 2); string(res.Output) != want {
					t.Errorf("output %s, want %s", res.Output, want)
				}
				return
			}
			last := tries[len(tries)-1]
			if want := fmt.Sprintf(tc.abort, last.TID, last.Node, last.Executor); res.Status != driver.Aborted || res.Error != want {
				t.Errorf("result %s %q\nwant     aborted %q", res.Status, res.Error, want)
			}
			if end := lastOf(evs, events.JobEnd); end.Outcome != "aborted" || end.Message != res.Error {
				t.Errorf("job-end event %+v, want aborted with the result's error", end)
			}
			sgs := kinds(evs, events.SafeguardFired)
			if tc.reason.Fatal {
				if len(sgs) != 1 || sgs[0].Name != tc.reason.Safeguard || sgs[0].Role != "task" {
					t.Errorf("safeguard events %+v, want one from %s on a task", sgs, tc.reason.Safeguard)
				}
				if strings.Contains(r.log.String(), "aborting job") {
					t.Errorf("a diagnosed failure was counted toward spark.task.maxFailures; log:\n%s", r.log)
				}
			} else {
				if len(sgs) != 0 {
					t.Errorf("safeguard events %+v for an undiagnosed failure", sgs)
				}
				if want := fmt.Sprintf("Task 7 in stage 3.0 failed %d times; aborting job", tc.attempts); !slices.Contains(msgs, want) {
					t.Errorf("driver did not log %q", want)
				}
			}
		})
	}
}

func kinds(evs []events.Event, k events.Kind) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

func lastOf(evs []events.Event, k events.Kind) events.Event {
	all := kinds(evs, k)
	if len(all) == 0 {
		return events.Event{}
	}
	return all[len(all)-1]
}

// TestRegistration checks what the driver accepts: a registry that differs from
// its own is refused, naming the first differing id, only with the
// registry-fingerprint safeguard on; a second executor with a taken id is
// refused; a refused executor does not stop the run on the others.
func TestRegistration(t *testing.T) {
	fp := safeguard.Set{safeguard.RegistryFingerprint: true}
	tests := []struct {
		name string
		sg   safeguard.Set
		// second is how executor 2 registers: its id and registry order.
		secondID    int
		secondOrder serializer.OrderKind
		// refusal is a format of the expected reason (with the second
		// registry's fingerprint, the driver's, the first differing id, the
		// driver's type there and the second's); "" means accepted.
		refusal   string
		safeguard string
	}{
		{name: "same registry, safeguard on", sg: fp, secondID: 2},
		{name: "differing registry, safeguard off", secondID: 2, secondOrder: serializer.Permuted},
		{
			name: "differing registry, safeguard on", sg: fp, secondID: 2, secondOrder: serializer.Permuted,
			refusal:   "codec registry fingerprint %016x differs from the driver's %016x: first difference at id %d: driver has %s, executor 2 has %s",
			safeguard: string(safeguard.RegistryFingerprint),
		},
		{name: "executor id taken", secondID: 1, refusal: "executor id 1 is already registered"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sp := testSpec(nil, tc.sg)
			r := startDriver(t, sp)
			first := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: alwaysSucceed}
			if ref := first.connect(t, r); ref != nil {
				t.Fatalf("first executor refused: %s", ref.Reason)
			}
			second := &fakeExecutor{id: tc.secondID, node: "node-b", reg: registryFor(t, r.app, tc.secondOrder, 7), do: alwaysSucceed}
			ref := second.connect(t, r)
			res, evs := r.wait(t)

			refused := kinds(evs, events.ExecutorRefused)
			if tc.refusal == "" {
				if ref != nil {
					t.Fatalf("refused: %s", ref.Reason)
				}
				if res.Executors != 2 || res.Refused != 0 || len(refused) != 0 {
					t.Errorf("executors %d refused %d (events %+v), want 2 and 0", res.Executors, res.Refused, refused)
				}
			} else {
				want := tc.refusal
				if strings.Contains(want, "%") {
					d, differ := codec.DiffEntries(r.drvReg.Entries(), second.reg.Entries())
					if !differ {
						t.Fatal("the permuted registry does not differ from the driver's")
					}
					want = fmt.Sprintf(tc.refusal, second.reg.Fingerprint(), r.drvReg.Fingerprint(), d.ID, d.A, d.B)
				}
				if ref == nil {
					t.Fatalf("accepted, want refused with %q", want)
				}
				if ref.Reason != want || ref.Safeguard != tc.safeguard {
					t.Errorf("refused with %q (safeguard %q)\nwant         %q (safeguard %q)", ref.Reason, ref.Safeguard, want, tc.safeguard)
				}
				if res.Executors != 1 || res.Refused != 1 || len(refused) != 1 || refused[0].Message != want {
					t.Errorf("executors %d refused %d (events %+v), want 1 and 1", res.Executors, res.Refused, refused)
				}
				if sgs := kinds(evs, events.SafeguardFired); tc.safeguard != "" && (len(sgs) != 1 || sgs[0].Name != tc.safeguard || sgs[0].Role != "driver") {
					t.Errorf("safeguard events %+v, want one from %s on the driver", sgs, tc.safeguard)
				}
				if line := fmt.Sprintf("Refusing executor %d on node-b: %s", tc.secondID, want); !slices.Contains(r.log.messages(), line) {
					t.Errorf("driver did not log %q", line)
				}
			}
			if res.Status != driver.Succeeded {
				t.Errorf("result %s %q, want succeeded", res.Status, res.Error)
			}
			// Accepted executors ran tasks; a refused one never did.
			ran := map[int]bool{}
			for _, e := range kinds(evs, events.TaskStart) {
				ran[e.Executor] = true
			}
			if tc.refusal == "" && !(ran[1] && ran[2]) || tc.refusal != "" && (ran[2] || !ran[1]) {
				t.Errorf("executors that ran tasks: %v", ran)
			}
		})
	}
}

// TestExecutorLostMidTask hangs up an executor while it runs a task: the
// attempt fails with ExecutorLostFailure and is retried on the other executor.
func TestExecutorLostMidTask(t *testing.T) {
	sp := testSpec(nil, nil)
	r := startDriver(t, sp)
	survivor := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: alwaysSucceed}
	if ref := survivor.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	var lostTask rpc.LaunchTask
	victim := &fakeExecutor{id: 2, node: "node-b", reg: r.drvReg, do: func(lt rpc.LaunchTask) (action, rpc.Failure) {
		lostTask = lt // read after the run, once the serve loop has ended
		return disconnect, rpc.Failure{}
	}}
	if ref := victim.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	res, evs := r.wait(t)
	if err := <-victim.done; err != nil {
		t.Fatal(err)
	}
	victim.done <- nil // for the cleanup's receive

	if res.Status != driver.Succeeded {
		t.Fatalf("result %s %q, want succeeded after a retry; log:\n%s", res.Status, res.Error, r.log)
	}
	removed := kinds(evs, events.ExecutorRemoved)
	if len(removed) != 1 || removed[0].Executor != 2 {
		t.Fatalf("executor-removed events %+v, want one for executor 2", removed)
	}
	tries := attempts(evs, lostTask.Partition)
	if len(tries) != 2 {
		t.Fatalf("task %d ended %d times, want 2: %+v", lostTask.Partition, len(tries), tries)
	}
	lost, retry := tries[0], tries[1]
	reason := "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: Remote RPC client disassociated"
	if lost.TID != lostTask.TID || lost.Executor != 2 || lost.Outcome != "failed" || lost.ReasonKind != "ExecutorLostFailure" || lost.Reason != reason {
		t.Errorf("lost attempt %+v, want TID %d on executor 2 failed with %q", lost, lostTask.TID, reason)
	}
	if retry.Attempt != 1 || retry.Executor != 1 || retry.Outcome != "success" {
		t.Errorf("retry %+v, want attempt 1 succeeding on executor 1", retry)
	}
	msgs := r.log.messages()
	for _, want := range []string{lostLine(lost, reason), "Lost executor 2 on node-b: Remote RPC client disassociated"} {
		if !slices.Contains(msgs, want) {
			t.Errorf("driver did not log %q; log:\n%s", want, r.log)
		}
	}
}

// TestStrayConnections sends the driver's port garbage, a wrong secret and an
// authenticated connection that does not register: each is refused and logged,
// and the run on the real executors is undisturbed.
func TestStrayConnections(t *testing.T) {
	sp := testSpec(nil, nil)
	r := startDriver(t, sp)
	ctx, cancel := context.WithTimeout(context.Background(), stepBound)
	defer cancel()

	// Garbage: the driver must hang up on it.
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(stepBound))
	if _, err := nc.Write([]byte("GET / HTTP/1.1\r\nHost: driver\r\n\r\n" + strings.Repeat("\x00\xff", 64))); err != nil {
		t.Fatal(err)
	}
	// The driver hangs up: a clean end, or a reset when our garbage was left
	// unread; only a timeout means it kept the connection.
	if _, err := io.Copy(io.Discard, nc); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal("driver kept a connection that sent garbage")
	}

	// A wrong secret.
	other, err := wire.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := wire.Dial(ctx, r.addr, other, "exec-9"); !errors.Is(err, wire.ErrAuth) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("dial with a wrong secret: %v, want ErrAuth", err)
	}

	// The right secret, then something other than a registration.
	c, err := wire.Dial(ctx, r.addr, r.secret, "exec-8")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendJSON(rpc.MsgHeartbeat, rpc.Heartbeat{Executor: 8}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Recv(); err == nil {
		t.Fatal("driver answered a connection that did not register")
	}

	// Garbage and the wrong secret are refused at the handshake; the silent
	// connection after it.
	err = r.log.waitUntil(ctx, "two refused connections and a missing registration", func(log string) bool {
		return strings.Count(log, "Refused connection from") == 2 && strings.Contains(log, "expected a registration, got message type 4")
	})
	if err != nil {
		t.Fatalf("%v; log:\n%s", err, r.log)
	}

	startFakes(t, r, sp, alwaysSucceed)
	res, evs := r.wait(t)
	if res.Status != driver.Succeeded || res.Executors != 2 || res.Refused != 0 {
		t.Errorf("result %s (%q), executors %d, refused %d; want succeeded on 2 with none refused", res.Status, res.Error, res.Executors, res.Refused)
	}
	if n := len(kinds(evs, events.ExecutorAdded)); n != 2 {
		t.Errorf("%d executor-added events, want 2", n)
	}
	for _, e := range evs {
		if e.Kind == events.ExecutorRefused || e.Kind == events.ExecutorRemoved {
			t.Errorf("stray connection showed up as %+v", e)
		}
	}
}

// TestResultOutputIsJSON guards the result shape a run directory stores.
func TestResultOutputIsJSON(t *testing.T) {
	sp := testSpec(nil, nil)
	r := startDriver(t, sp)
	startFakes(t, r, sp, alwaysSucceed)
	res, _ := r.wait(t)
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back driver.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Status != driver.Succeeded || string(back.Output) != "28" || back.Executors != 2 {
		t.Errorf("result read back as %+v", back)
	}
}

// TestAllExecutorsRefused: when every executor is refused the application ends
// aborted, with the first refusal as its diagnosis, rather than as a run that
// could not be carried out.
func TestAllExecutorsRefused(t *testing.T) {
	sp := testSpec(nil, safeguard.Set{safeguard.RegistryFingerprint: true})
	r := startDriver(t, sp)
	var reasons []string
	for _, ex := range sp.Topology.Executors() {
		f := &fakeExecutor{id: ex.ID, node: ex.Node, reg: registryFor(t, r.app, serializer.Permuted, int64(ex.ID)), do: alwaysSucceed}
		ref := f.connect(t, r)
		if ref == nil {
			t.Fatalf("executor %d with a permuted registry accepted", ex.ID)
		}
		reasons = append(reasons, ref.Reason)
	}
	res, evs := r.wait(t)
	want := "Application aborted: no executor could be used: all 2 executors were refused; first: executor 1: " + reasons[0]
	if res.Status != driver.Aborted || res.Error != want || res.Executors != 0 || res.Refused != 2 {
		t.Errorf("result %s %q (executors %d, refused %d)\nwant     aborted %q (0, 2)", res.Status, res.Error, res.Executors, res.Refused, want)
	}
	if n := len(kinds(evs, events.TaskStart)); n != 0 {
		t.Errorf("%d tasks started with no usable executor", n)
	}
	if end := lastOf(evs, events.ApplicationEnd); end.Outcome != string(driver.Aborted) {
		t.Errorf("application-end event %+v, want aborted", end)
	}
}

// TestExecutorLostToMissedHeartbeats: an executor that keeps its connection but
// stops answering and heartbeating is declared lost after spark.network.timeout;
// its running attempt fails with ExecutorLostFailure and runs again elsewhere.
func TestExecutorLostToMissedHeartbeats(t *testing.T) {
	sp := testSpec(map[string]string{conf.NetworkTimeout: "400ms", conf.ExecutorHeartbeatInterval: "50ms"}, nil)
	r := startDriver(t, sp)
	survivor := &fakeExecutor{id: 1, node: "node-a", reg: r.drvReg, do: alwaysSucceed, beat: 50 * time.Millisecond}
	if ref := survivor.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	victim := &fakeExecutor{id: 2, node: "node-b", reg: r.drvReg, beat: 50 * time.Millisecond,
		do: func(rpc.LaunchTask) (action, rpc.Failure) { return silent, rpc.Failure{} }}
	if ref := victim.connect(t, r); ref != nil {
		t.Fatal(ref.Reason)
	}
	res, evs := r.wait(t)
	if res.Status != driver.Succeeded {
		t.Fatalf("result %s %q, want succeeded after a retry; log:\n%s", res.Status, res.Error, r.log)
	}
	removed := kinds(evs, events.ExecutorRemoved)
	if len(removed) != 1 || removed[0].Executor != 2 || !strings.HasPrefix(removed[0].Message, "Executor heartbeat timed out after ") {
		t.Fatalf("executor-removed events %+v, want executor 2 lost to missed heartbeats", removed)
	}
	var lost []events.Event
	for _, e := range kinds(evs, events.TaskEnd) {
		if e.Executor == 2 {
			lost = append(lost, e)
		}
	}
	if len(lost) == 0 {
		t.Fatal("no attempt ended on executor 2")
	}
	for _, e := range lost {
		if e.Outcome != "failed" || e.ReasonKind != "ExecutorLostFailure" {
			t.Errorf("attempt on the silent executor %+v, want failed with ExecutorLostFailure", e)
		}
		if again := attempts(evs, e.Task); again[len(again)-1].Outcome != "success" || again[len(again)-1].Executor != 1 {
			t.Errorf("task %d did not succeed again on executor 1: %+v", e.Task, again)
		}
	}
}
