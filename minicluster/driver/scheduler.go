package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/serializer"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// jobRun is the state of the running job.
type jobRun struct {
	id     int
	job    job.Job
	stages map[int]*taskSet // the latest attempt of each stage, by stage id, once submitted
	// zombies are earlier attempts of resubmitted stages: their running
	// attempts' results are ignored.
	zombies []*taskSet
	// nextAttempt[stage] numbers the stage's next attempt; failedAttempts[stage]
	// counts its attempts failed by a fetch failure (spark.stage.maxConsecutiveAttempts).
	nextAttempt    map[int]int
	failedAttempts map[int]int
	// mapOutputs[shuffle][mapPartition] is where that map output lives; an
	// empty Addr is a missing output.
	mapOutputs map[int][]rpc.BlockLocation
	params     job.Params // the workload's knobs with the job's own over them
	results    [][]any
	resultDone []bool
	abort      error
	finished   bool
}

// taskSet is a stage attempt's tasks and their accounting (Spark's TaskSetManager).
type taskSet struct {
	stage   job.Stage
	attempt int
	// tasks is how many partitions this attempt runs: all of them the first
	// time, the missing ones on a resubmission.
	tasks     int
	attempts  []int // next attempt number per partition
	failures  []int
	succeeded []bool
	numDone   int
	pending   []int
	running   map[int]*taskInfo
	// crashes[p] lists the executor losses that failed partition p's attempts.
	crashes map[int][]crash
	zombie  bool
	// excl is the task set's exclusions (nil when exclusion is off); lastLocal
	// the last launch on a preferred node, from which spark.locality.wait runs.
	excl      *taskSetExcludelist
	lastLocal time.Time
}

type taskInfo struct {
	tid, partition, attempt, exec int
	start                         time.Time
}

func (ts *taskSet) name() string { return fmt.Sprintf("%d.%d", ts.stage.ID, ts.attempt) }

// taskSets lists the latest attempts, then the zombies.
func (jr *jobRun) taskSets() []*taskSet {
	out := make([]*taskSet, 0, len(jr.stages)+len(jr.zombies))
	for _, s := range jr.job.Stages {
		if ts := jr.stages[s.ID]; ts != nil {
			out = append(out, ts)
		}
	}
	return append(out, jr.zombies...)
}

// runWorkload runs each job of the workload in order and returns its output.
func (d *Driver) runWorkload(ctx context.Context) (json.RawMessage, error) {
	if d.wl.Main != nil {
		return d.runMain(ctx)
	}
	jobs, err := d.wl.Jobs(d.params)
	if err != nil {
		return nil, fmt.Errorf("plan workload %s: %w", d.wl.Name, err)
	}
	var results [][][]any
	for _, j := range jobs {
		if err := j.Validate(); err != nil {
			return nil, err
		}
		res, err := d.runJob(ctx, j)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	out, err := d.wl.Finish(d.params, results)
	if err != nil {
		return nil, fmt.Errorf("finish workload %s: %w", d.wl.Name, err)
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encode output of %s: %w", d.wl.Name, err)
	}
	return b, nil
}

func (d *Driver) runJob(ctx context.Context, j job.Job) ([][]any, error) {
	jr := &jobRun{id: d.nextJob, job: j, stages: map[int]*taskSet{}, nextAttempt: map[int]int{}, failedAttempts: map[int]int{},
		mapOutputs: map[int][]rpc.BlockLocation{}, params: d.params.With(j)}
	d.nextJob++
	d.active = jr
	defer func() { d.active = nil }()
	start := time.Now()
	d.log.Info(fmt.Sprintf("Starting job %d: %s", jr.id, j.Name), "component", "SparkContext")
	d.ev.Emit(events.Event{Kind: events.JobStart, Job: jr.id, Message: j.Name})
	d.submitReady(jr)
	d.schedule()

	beat, _ := d.cfg.Spec.Conf.Duration(conf.ExecutorHeartbeatInterval)
	tick := time.NewTicker(beat)
	defer tick.Stop()
	for !jr.finished && jr.abort == nil {
		// With every executor lost the job waits for the replacements the
		// workers launch; with none coming it is cancelled.
		if d.aliveCount() == 0 && d.launching() == 0 && !d.awaitingLoss() {
			jr.abort = sparkError("Job %d cancelled because every executor was lost", jr.id)
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case e := <-d.events:
			d.handle(e)
		case <-tick.C:
			d.checkHeartbeats()
		}
		d.schedule()
	}
	took := time.Since(start).Seconds()
	if jr.abort != nil {
		d.killRunning(jr, "Stage cancelled: "+jr.abort.Error())
		d.log.Info(fmt.Sprintf("Job %d failed: %s, took %.3f s", jr.id, j.Name, took), "component", "scheduler.DAGScheduler")
		d.ev.Emit(events.Event{Kind: events.JobEnd, Job: jr.id, Outcome: "aborted", Message: jr.abort.Error()})
		return nil, jr.abort
	}
	d.log.Info(fmt.Sprintf("Job %d finished: %s, took %.3f s", jr.id, j.Name, took), "component", "scheduler.DAGScheduler")
	d.ev.Emit(events.Event{Kind: events.JobEnd, Job: jr.id, Outcome: "success"})
	return jr.results, nil
}

// submitReady submits every stage that has missing partitions and whose
// parents' outputs are all available, as a new attempt of that stage running
// only the missing partitions (Spark's submitStage / submitMissingTasks).
func (d *Driver) submitReady(jr *jobRun) {
	for _, s := range jr.job.Stages {
		if ts := jr.stages[s.ID]; ts != nil && !ts.zombie && ts.numDone < ts.tasks {
			continue // running
		}
		missing := jr.missing(s)
		if len(missing) == 0 {
			continue
		}
		ready := true
		for _, p := range jr.job.Parents(s) {
			ready = ready && len(jr.missing(jr.stage(p))) == 0
		}
		if !ready {
			continue
		}
		att := jr.nextAttempt[s.ID]
		jr.nextAttempt[s.ID]++
		ts := &taskSet{stage: s, attempt: att, tasks: len(missing), attempts: make([]int, s.Partitions), failures: make([]int, s.Partitions),
			succeeded: make([]bool, s.Partitions), running: map[int]*taskInfo{}, crashes: map[int][]crash{}, pending: missing}
		if old := jr.stages[s.ID]; old != nil {
			// As a new TaskSetManager, a stage attempt numbers its tasks'
			// attempts and counts their failures afresh.
			if !old.zombie {
				old.zombie = true
				jr.zombies = append(jr.zombies, old)
			}
		}
		d.startTaskSet(ts)
		jr.stages[s.ID] = ts
		if s.Output.Kind == job.ToResult && jr.results == nil {
			jr.results, jr.resultDone = make([][]any, s.Partitions), make([]bool, s.Partitions)
		}
		d.log.Info(fmt.Sprintf("Submitting %d missing tasks from %s (stage attempt %s)", len(missing), stageName(s), ts.name()), "component", "scheduler.DAGScheduler")
		d.ev.Emit(events.Event{Kind: events.StageSubmitted, Job: jr.id, Stage: s.ID, StageAtt: att, Message: s.Name})
	}
}

// stage returns the job's stage with id.
func (jr *jobRun) stage(id int) job.Stage {
	for _, s := range jr.job.Stages {
		if s.ID == id {
			return s
		}
	}
	return job.Stage{ID: id}
}

// missing lists the partitions of a stage whose output is not available: map
// outputs not registered, results not received.
func (jr *jobRun) missing(s job.Stage) []int {
	var out []int
	for p := 0; p < s.Partitions; p++ {
		switch s.Output.Kind {
		case job.ToShuffle:
			if locs := jr.mapOutputs[s.Output.Shuffle]; p >= len(locs) || locs[p].Addr == "" {
				out = append(out, p)
			}
		case job.ToResult:
			if jr.resultDone == nil || !jr.resultDone[p] {
				out = append(out, p)
			}
		}
	}
	return out
}

// schedule offers free slots to pending tasks, one task per executor per round so
// that work spreads over every executor, preferring tasks whose cached input the
// executor holds.
func (d *Driver) schedule() {
	jr := d.active
	if jr == nil || jr.abort != nil {
		return
	}
	d.expireExclusions()
	launchedAny := false
	for launched := true; launched; {
		launched = false
		for _, id := range d.aliveIDs() {
			ex := d.execs[id]
			if len(ex.running) >= ex.slots {
				continue
			}
			if d.launchOne(jr, ex) {
				launched = true
			}
		}
		launchedAny = launchedAny || launched
	}
	d.afterOffers(jr, launchedAny)
}

func (d *Driver) launchOne(jr *jobRun, ex *executorInfo) bool {
	for _, s := range jr.job.Stages {
		ts := jr.stages[s.ID]
		if ts == nil || ts.zombie || len(ts.pending) == 0 {
			continue
		}
		i := d.pick(ts, ex)
		if i < 0 {
			continue
		}
		p := ts.pending[i]
		ts.pending = slices.Delete(ts.pending, i, i+1)
		d.launch(jr, ts, p, ex)
		return true
	}
	return false
}

// prefers reports whether executor id holds cached input of partition p.
func (d *Driver) prefers(s job.Stage, p, id int) bool {
	if s.Input.Kind != job.FromCache {
		return false
	}
	c := max(s.Input.Coalesce, 1)
	for q := p * c; q < p*c+c; q++ {
		if d.cacheLocs[s.Input.Dataset][q] == id {
			return true
		}
	}
	return false
}

func (d *Driver) launch(jr *jobRun, ts *taskSet, p int, ex *executorInfo) {
	tid := d.nextTID
	d.nextTID++
	att := ts.attempts[p]
	ts.attempts[p]++
	lt := rpc.LaunchTask{TID: tid, Job: jr.id, Workload: d.wl.Name, Params: jr.params, Stage: ts.stage, StageAtt: ts.attempt,
		Partition: p, Attempt: att, MapOutputs: map[int][]rpc.BlockLocation{}}
	for _, sh := range ts.stage.Input.Shuffles {
		lt.MapOutputs[sh] = jr.mapOutputs[sh]
	}
	if ts.stage.Input.Kind == job.FromCache {
		lt.Cached = map[int]rpc.BlockLocation{}
		for q, id := range d.cacheLocs[ts.stage.Input.Dataset] {
			if e := d.execs[id]; e != nil && e.alive {
				lt.Cached[q] = rpc.BlockLocation{Executor: id, Addr: e.blockAddr}
			}
		}
	}
	ts.running[tid] = &taskInfo{tid: tid, partition: p, attempt: att, exec: ex.id, start: time.Now()}
	ex.running[tid] = true
	d.log.Info(fmt.Sprintf("Starting task %d.%d in stage %s (TID %d, %s, executor %d, partition %d)", p, att, ts.name(), tid, ex.node, ex.id, p), "component", "scheduler.TaskSetManager")
	d.ev.Emit(events.Event{Kind: events.TaskStart, Job: jr.id, Stage: ts.stage.ID, StageAtt: ts.attempt, Task: p, Attempt: att, TID: tid, Executor: ex.id, Node: ex.node})
	if err := ex.conn.SendJSON(rpc.MsgLaunchTask, lt); err != nil {
		d.disconnected(ex.id, fmt.Errorf("send task %d: %w", tid, err))
	}
}

// handle applies one loop event.
func (d *Driver) handle(e event) {
	switch e.kind {
	case "register":
		d.register(e.conn, e.register)
		if ex := d.execs[e.exec]; ex == nil || ex.conn != e.conn {
			_ = e.conn.Close() // refused: it has nothing more to say
		}
	case "heartbeat", "status", "report":
		// Only a registered executor's own connection speaks for it: a refused
		// or impostor connection claiming its id is ignored.
		ex := d.execs[e.exec]
		if ex == nil || !ex.alive || ex.conn != e.conn {
			return
		}
		switch e.kind {
		case "heartbeat":
			ex.lastBeat = time.Now()
		case "status":
			d.statusUpdate(e.exec, e.status)
		case "report":
			if e.report.Executor == e.exec {
				d.handleReport(e.report)
			}
		}
	case "lost":
		if ex := d.execs[e.exec]; ex != nil && ex.conn == e.conn {
			d.disconnected(e.exec, e.err)
		}
	case "worker", "worker-update", "worker-lost":
		d.handleWorker(e)
	}
}

func (d *Driver) register(c *wire.Conn, r *rpc.RegisterExecutor) {
	for _, f := range r.Faults {
		f.Executor = r.ID
		d.ev.Emit(faultEvent(f, r.Node))
	}
	refuse := func(reason, sg string) {
		d.refused++
		d.refusedIDs[r.ID] = true
		if d.firstRefusal == "" {
			d.firstRefusal = fmt.Sprintf("executor %d: %s", r.ID, reason)
		}
		d.log.Error(fmt.Sprintf("Refusing executor %d on %s: %s", r.ID, r.Node, reason), "component", "scheduler.CoarseGrainedSchedulerBackend")
		d.ev.Emit(events.Event{Kind: events.ExecutorRefused, Executor: r.ID, Node: r.Node, Name: sg, Message: reason})
		if sg != "" {
			d.ev.Emit(events.Event{Kind: events.SafeguardFired, Executor: r.ID, Node: r.Node, Name: sg, Role: "driver", Message: reason})
		}
		_ = c.SendJSON(rpc.MsgRefused, rpc.Refused{Reason: reason, Safeguard: sg})
	}
	if old := d.execs[r.ID]; old != nil && old.alive {
		refuse(fmt.Sprintf("executor id %d is already registered", r.ID), "")
		return
	}
	if d.cfg.Spec.Safeguards.On(safeguard.RegistryFingerprint) && r.Fingerprint != d.reg.Fingerprint() {
		theirs := make([]codec.Entry, len(r.Registry))
		for i, e := range r.Registry {
			theirs[i] = codec.Entry{ID: e.ID, Name: e.Name}
		}
		diff, _ := codec.DiffEntries(d.reg.Entries(), theirs)
		refuse(fmt.Sprintf("codec registry fingerprint %016x differs from the driver's %016x: first difference at id %d: driver has %s, executor %d has %s",
			r.Fingerprint, d.reg.Fingerprint(), diff.ID, orNone(diff.A), r.ID, orNone(diff.B)), string(safeguard.RegistryFingerprint))
		return
	}
	d.registered++
	d.execs[r.ID] = &executorInfo{id: r.ID, node: r.Node, slots: r.Slots, blockAddr: r.BlockAddr, conn: c, running: map[int]bool{}, lastBeat: time.Now(), alive: true}
	d.log.Info(fmt.Sprintf("Registered executor %d (%s) on %s with %d cores", r.ID, c.RemoteAddr(), r.Node, r.Slots), "component", "scheduler.CoarseGrainedSchedulerBackend")
	d.ev.Emit(events.Event{Kind: events.ExecutorAdded, Executor: r.ID, Node: r.Node, Message: fmt.Sprintf("%d cores", r.Slots)})
	_ = c.SendJSON(rpc.MsgRegistered, rpc.Registered{Executor: r.ID})
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func (d *Driver) statusUpdate(exec int, st *rpc.StatusUpdate) {
	ex := d.execs[exec]
	if ex != nil {
		delete(ex.running, st.TID)
	}
	jr := d.active
	if jr == nil {
		return
	}
	ts, ti := jr.find(st.TID)
	if ts == nil || ti.exec != exec {
		return // an attempt of a finished or aborted job, or not this executor's
	}
	delete(ts.running, st.TID)
	if ts.zombie {
		d.zombieStatus(jr, ts, ti, ex, st)
		return
	}
	switch st.State {
	case rpc.TaskFinished:
		d.taskSucceeded(jr, ts, ti, ex, st)
	case rpc.TaskFailed:
		f := rpc.Failure{Kind: "UnknownReason"}
		if st.Failure != nil {
			f = *st.Failure
		}
		d.taskFailed(jr, ts, ti, ex, f)
	case rpc.TaskKilled:
		// Killed on request: no failure of the task's, and run again unless
		// the job is over.
		if !ts.succeeded[ti.partition] {
			ts.pending = append(ts.pending, ti.partition)
		}
		d.emitTaskEnd(jr, ts, ti, ex, "killed", "", rpc.KindTaskKilled)
	}
}

func (jr *jobRun) find(tid int) (*taskSet, *taskInfo) {
	for _, ts := range jr.taskSets() {
		if ti, ok := ts.running[tid]; ok {
			return ts, ti
		}
	}
	return nil, nil
}

func (d *Driver) taskSucceeded(jr *jobRun, ts *taskSet, ti *taskInfo, ex *executorInfo, st *rpc.StatusUpdate) {
	p := ti.partition
	if ts.succeeded[p] {
		// Another attempt of the task succeeded first: this result is ignored.
		d.log.Info(fmt.Sprintf("Ignoring task-finished event for %d.%d in stage %s (TID %d) because task %d has already completed successfully",
			p, ti.attempt, ts.name(), ti.tid, p), "component", "scheduler.TaskSetManager")
		d.emitTaskEnd(jr, ts, ti, ex, "success", "result ignored: the task had already succeeded", "")
		return
	}
	if ts.stage.Output.Kind == job.ToResult {
		id := fmt.Sprintf("result of TID %d", ti.tid)
		d.resultHit(id, ex, st.Result)
		recs, err := block.Decode(d.reg, id, st.Result, d.cfg.Spec.Safeguards.On(safeguard.RegistryFingerprint))
		if err != nil {
			d.taskFailed(jr, ts, ti, ex, rpc.Failure{Kind: codecKind(err), Message: "Exception while getting task result: " + err.Error()})
			return
		}
		jr.results[p], jr.resultDone[p] = recs, true
	}
	if ts.stage.Output.Kind == job.ToShuffle {
		sh := ts.stage.Output.Shuffle
		if jr.mapOutputs[sh] == nil {
			jr.mapOutputs[sh] = make([]rpc.BlockLocation, ts.stage.Partitions)
		}
		jr.mapOutputs[sh][p] = rpc.BlockLocation{Executor: ti.exec, Addr: ex.blockAddr}
	}
	if ds := ts.stage.CacheAs; ds > 0 {
		if d.cacheLocs[ds] == nil {
			d.cacheLocs[ds] = map[int]int{}
		}
		for _, q := range st.Cached {
			d.cacheLocs[ds][q] = ti.exec
		}
	}
	ts.succeeded[p] = true
	ts.numDone++
	d.log.Info(fmt.Sprintf("Finished task %d.%d in stage %s (TID %d) in %d ms on %s (executor %d) (%d/%d)",
		p, ti.attempt, ts.name(), ti.tid, time.Since(ti.start).Milliseconds(), ex.node, ex.id, ts.numDone, ts.tasks), "component", "scheduler.TaskSetManager")
	d.emitTaskEnd(jr, ts, ti, ex, "success", "", "")
	if ts.numDone == ts.tasks {
		d.taskSetSucceeded(ts)
		d.log.Info(fmt.Sprintf("Stage %d (%s) finished", ts.stage.ID, ts.stage.Name), "component", "scheduler.DAGScheduler")
		d.ev.Emit(events.Event{Kind: events.StageCompleted, Job: jr.id, Stage: ts.stage.ID, StageAtt: ts.attempt})
		if ts.stage.Output.Kind == job.ToResult && len(jr.missing(ts.stage)) == 0 {
			jr.finished = true
			return
		}
		d.submitReady(jr)
	}
}

func codecKind(err error) string {
	if k := codec.KindOf(err); k != "" {
		return k
	}
	return "SparkException"
}

// taskFailed counts a failed attempt as Spark does: it is retried until the task
// has failed spark.task.maxFailures times, then the job is aborted. A failure a
// safeguard diagnosed is not retried. A FetchFailed, and an executor loss the
// task did not cause, are not counted: the first resubmits the map stage, the
// second runs the task again.
func (d *Driver) taskFailed(jr *jobRun, ts *taskSet, ti *taskInfo, ex *executorInfo, f rpc.Failure) {
	p := ti.partition
	node, eid := "unknown", ti.exec
	if ex != nil {
		node = ex.node
	}
	lost := fmt.Sprintf("Lost task %d.%d in stage %s (TID %d, %s, executor %d): %s", p, ti.attempt, ts.name(), ti.tid, node, eid, f.String())
	d.log.Warn(lost, "component", "scheduler.TaskSetManager", "stack", f.Stack)
	d.emitTaskEnd(jr, ts, ti, ex, "failed", f.String(), f.Kind)
	switch {
	case ts.zombie:
		return // an abandoned stage attempt: nothing to retry or count
	case f.Kind == rpc.KindFetchFailed:
		d.fetchFailed(jr, ts, f)
		return
	case f.NotCounted:
		ts.pending = append(ts.pending, p)
		return
	}
	if !f.Fatal {
		d.excludeOnFailure(ts, node, eid, p, lost)
	}
	ts.failures[p]++
	switch {
	case f.Fatal:
		d.abort(jr, sparkError("Job aborted due to stage failure: Task %d in stage %s failed %d times, most recent failure: %s (not retried: diagnosed by safeguard %s)",
			p, ts.name(), ts.failures[p], lost, f.Safeguard))
		role := "task"
		if f.Safeguard == string(safeguard.CrashAttribution) {
			role = "driver" // the driver's own diagnosis, from the executors' exits
		}
		d.ev.Emit(events.Event{Kind: events.SafeguardFired, Executor: eid, Node: node, Name: f.Safeguard, Role: role, Message: f.String()})
	case ts.failures[p] >= d.maxFails:
		d.log.Error(fmt.Sprintf("Task %d in stage %s failed %d times; aborting job", p, ts.name(), ts.failures[p]), "component", "scheduler.TaskSetManager")
		d.abort(jr, sparkError("Job aborted due to stage failure: Task %d in stage %s failed %d times, most recent failure: %s", p, ts.name(), ts.failures[p], lost))
	default:
		ts.pending = append(ts.pending, p)
	}
}

// sparkError makes an error whose text is one of Spark's own driver messages
// ("Job aborted due to stage failure: …"), capitalised as Spark prints it, so
// that a reader of faultbook's logs meets the lines the documents quote.
func sparkError(format string, a ...any) error {
	return sparkMessage(fmt.Sprintf(format, a...))
}

type sparkMessage string

func (m sparkMessage) Error() string { return string(m) }

func (d *Driver) abort(jr *jobRun, err error) {
	if jr.abort == nil {
		jr.abort = err
	}
}

func (d *Driver) emitTaskEnd(jr *jobRun, ts *taskSet, ti *taskInfo, ex *executorInfo, outcome, reason, kind string) {
	node := ""
	if ex != nil {
		node = ex.node
	}
	d.ev.Emit(events.Event{Kind: events.TaskEnd, Job: jr.id, Stage: ts.stage.ID, StageAtt: ts.attempt, Task: ti.partition, Attempt: ti.attempt,
		TID: ti.tid, Executor: ti.exec, Node: node, Outcome: outcome, Reason: reason, ReasonKind: kind})
}

// handleReport records what an executor reported outside a task; a fail-fast
// safeguard's report aborts the running job at once.
func (d *Driver) handleReport(r *rpc.Report) {
	node := ""
	if ex := d.execs[r.Executor]; ex != nil {
		node = ex.node
	}
	switch r.Kind {
	case rpc.ReportFault, rpc.ReportFaultNoEffect:
		d.ev.Emit(faultEvent(*r, node))
	case rpc.ReportSafeguard:
		d.ev.Emit(events.Event{Kind: events.SafeguardFired, Executor: r.Executor, Node: node, Name: r.Name, Role: r.Role, Message: r.Message})
		d.log.Error(fmt.Sprintf("Executor %d reported (%s, %s goroutine): %s", r.Executor, r.Name, r.Role, r.Message), "component", "scheduler.CoarseGrainedSchedulerBackend")
		if r.Abort && d.active != nil {
			d.abort(d.active, sparkError("Job aborted due to executor failure: %s", r.Message))
		}
	}
}

// faultEvent is a fault report as an event of the log: a hit, or a fault
// reached without effect.
func faultEvent(r rpc.Report, node string) events.Event {
	kind := events.FaultHit
	if r.Kind == rpc.ReportFaultNoEffect {
		kind = events.FaultNoEffect
	}
	return events.Event{Kind: kind, Executor: r.Executor, Node: node, Name: r.Name, Role: r.Role, Message: r.Message,
		Block: r.Block, State: r.State, Canonical: r.Canonical}
}

// resultHit records a task result about to be decoded with another registry
// than the one that encoded it, when a fault of the run makes registries
// differ: the fault's effect reached the job's output. Once per run.
func (d *Driver) resultHit(id string, ex *executorInfo, data []byte) {
	f, ok := serializer.RegistryFault(d.cfg.Spec.Faults)
	if !ok || d.resultHitSeen {
		return
	}
	h, _, err := block.ReadHeader(data)
	if err != nil || h.Fingerprint == d.reg.Fingerprint() {
		return
	}
	d.resultHitSeen = true
	from := 0
	if ex != nil {
		from = ex.id
	}
	d.ev.Emit(events.Event{Kind: events.FaultHit, Name: string(f.Point), Role: string(serializer.RoleDriver), Block: id,
		Message: fmt.Sprintf("%s from executor %d was encoded with registry %016x (%d types) and is decoded by the driver with registry %016x (%d types): the fault's effect reached the job's output",
			id, from, h.Fingerprint, h.Types, d.reg.Fingerprint(), d.reg.Len())})
}

// killRunning asks executors to stop the job's running attempts, zombies
// included: an aborted job's work is wasted.
func (d *Driver) killRunning(jr *jobRun, reason string) {
	for _, ts := range jr.taskSets() {
		for tid, ti := range ts.running {
			if ex := d.execs[ti.exec]; ex != nil && ex.alive {
				_ = ex.conn.SendJSON(rpc.MsgKillTask, rpc.KillTask{TID: tid, Reason: reason})
			}
		}
	}
}
