package driver

import (
	"fmt"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/rpc"
)

// The scheduler's side of locality and exclusion on failure: which pending
// task an executor's free slot gets, what a failure and a finished task set
// change, and the abort when a task can run nowhere. The bookkeeping itself is
// in exclude.go.

// placement is the driver's exclusion and locality settings.
type placement struct {
	excl         conf.ExcludeOnFailure
	health       *healthTracker // nil when exclusion is off
	localityWait time.Duration
	now          func() time.Time
	// unschedulable holds the abort time of each task set that could run
	// nowhere while an executor was idle.
	unschedulable map[*taskSet]time.Time
}

// initPlacement reads the settings, refuses an inconsistent exclusion
// configuration as Spark does at start-up, and logs deprecated keys.
func (d *Driver) initPlacement() error {
	sp := d.cfg.Spec
	for _, w := range sp.Conf.Deprecations() {
		d.log.Warn(w, "component", "SparkConf")
	}
	x, err := sp.Exclusion()
	if err != nil {
		return err
	}
	if err := x.Validate(); err != nil {
		return err
	}
	d.place = placement{excl: x, now: time.Now}
	if d.place.localityWait, err = sp.Conf.Duration(conf.LocalityWait); err != nil {
		return err
	}
	if x.Enabled {
		d.place.health = newHealthTracker(x, d.place.now)
	}
	return nil
}

// startTaskSet gives a new task set its exclusion list and starts its locality wait.
func (d *Driver) startTaskSet(ts *taskSet) {
	ts.lastLocal = time.Now()
	if d.place.excl.Enabled {
		ts.excl = newTaskSetExcludelist(d.place.excl, ts.stage.ID, ts.attempt, d.place.now)
	}
}

// pick returns the index in ts.pending of the task ex should run, or -1. A
// task whose input lives on ex's node comes first; one that prefers another
// node waits for it until spark.locality.wait has passed since the task set
// last launched on a preferred node (Spark's delay scheduling); excluded
// executors and nodes never get a task.
func (d *Driver) pick(ts *taskSet, ex *executorInfo) int {
	anyNode := time.Since(ts.lastLocal) >= d.place.localityWait
	best := -1
	for i, p := range ts.pending {
		if !canRun(ts.excl, d.place.health, ex.node, ex.id, p) {
			continue
		}
		pref := ""
		if p < len(ts.stage.PreferredNodes) {
			pref = ts.stage.PreferredNodes[p]
		}
		switch {
		case pref == ex.node:
			ts.lastLocal = time.Now()
			return i
		case d.prefers(ts.stage, p, ex.id):
			return i
		case best < 0 && (pref == "" || anyNode):
			best = i
		}
	}
	return best
}

// excludeOnFailure records a failed attempt in its task set's exclusions.
func (d *Driver) excludeOnFailure(ts *taskSet, node string, exec, index int, reason string) {
	if ts.excl == nil {
		return
	}
	d.applyChanges(ts.excl.failed(node, exec, index, reason))
}

// taskSetSucceeded hands a finished task set's failures to the application's
// tracker: only a task set that succeeded counts against its executors.
func (d *Driver) taskSetSucceeded(ts *taskSet) {
	d.applyChanges(d.place.health.taskSetSucceeded(ts.excl))
}

// expireExclusions lifts application-level exclusions past their timeout.
func (d *Driver) expireExclusions() {
	d.applyChanges(d.place.health.expire())
}

// applyChanges logs each exclusion in Spark's words, writes it to the event
// log, and kills excluded executors when spark.excludeOnFailure.killExcludedExecutors says so.
func (d *Driver) applyChanges(changes []Change) {
	logged := ""
	for _, c := range changes {
		component := "scheduler.TaskSetExcludelist"
		if c.Scope == ScopeApplication {
			component = "scheduler.HealthTracker"
		}
		if c.Message != logged { // one line for several executors expiring together
			d.log.Info(c.Message, "component", component)
			logged = c.Message
		}
		e := events.Event{Kind: eventKind(c), Executor: c.Executor, Node: c.Node, Count: c.Failures, Message: c.Message}
		if c.Scope == ScopeStage {
			e.Stage, e.StageAtt = c.Stage, c.StageAttempt
		}
		if !c.Lifted && !c.Until.IsZero() {
			until := c.Until
			e.Until = &until
		}
		d.ev.Emit(e)
		if c.Scope == ScopeApplication && !c.Lifted && d.place.excl.KillExcludedExecutors {
			d.killExcluded(c)
		}
	}
}

// eventKind is the Spark listener event of an exclusion change.
func eventKind(c Change) events.Kind {
	switch {
	case c.Lifted && c.Executor != 0:
		return events.UnexcludedExecutor
	case c.Lifted:
		return events.UnexcludedNode
	case c.Scope == ScopeStage && c.Executor != 0:
		return events.ExcludedExecutorForStage
	case c.Scope == ScopeStage:
		return events.ExcludedNodeForStage
	case c.Executor != 0:
		return events.ExcludedExecutor
	}
	return events.ExcludedNode
}

// killExcluded kills an executor excluded for the application, or every
// executor of an excluded node; their running tasks fail and run elsewhere.
func (d *Driver) killExcluded(c Change) {
	var victims []int
	if c.Executor != 0 {
		d.log.Info(fmt.Sprintf("Killing excluded executor id %d since %s is set.", c.Executor, conf.ExcludeKillExecutors), "component", "scheduler.HealthTracker")
		victims = []int{c.Executor}
	} else {
		d.log.Info(fmt.Sprintf("Killing all executors on excluded host %s since %s is set.", c.Node, conf.ExcludeKillExecutors), "component", "scheduler.HealthTracker")
		for _, id := range d.aliveIDs() {
			if d.execs[id].node == c.Node {
				victims = append(victims, id)
			}
		}
	}
	for _, id := range victims {
		ex := d.execs[id]
		if ex == nil || !ex.alive {
			continue
		}
		_ = ex.conn.Send(rpc.MsgShutdown, nil)
		d.executorLost(id, lossReason{message: "Executor killed by driver: excluded on failure"})
	}
}

// afterOffers is TaskSchedulerImpl's check after a round of offers. A launch
// clears every unschedulable task set's abort timer. When nothing launched and
// a pending task can run nowhere: with an idle executor the task set waits
// spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout for an
// exclusion to expire (Spark would also kill the idle excluded executor to get
// a fresh one, which needs dynamic allocation); with none it is aborted at
// once. Either way it ends in an abort with Spark's message, never a hang.
func (d *Driver) afterOffers(jr *jobRun, launched bool) {
	if !d.place.excl.Enabled || jr.abort != nil {
		return
	}
	if launched {
		if len(d.place.unschedulable) > 0 {
			d.log.Info("Clearing the expiry times for all unschedulable taskSets as a task was recently scheduled.", "component", "scheduler.TaskSchedulerImpl")
			clear(d.place.unschedulable)
		}
		return
	}
	nodes := map[string][]int{}
	idle := 0
	for _, id := range d.aliveIDs() {
		ex := d.execs[id]
		nodes[ex.node] = append(nodes[ex.node], id)
		if len(ex.running) == 0 {
			idle = id
		}
	}
	if len(nodes) == 0 {
		return
	}
	for _, s := range jr.job.Stages {
		ts := jr.stages[s.ID]
		if ts == nil {
			continue
		}
		index, ok := completelyExcludedTask(ts.excl, d.place.health, ts.pending, nodes)
		if !ok {
			continue
		}
		if idle != 0 {
			expiry, waiting := d.place.unschedulable[ts]
			if !waiting {
				d.log.Info(fmt.Sprintf("Not attempting to kill excluded executor id %d since allocation client is not defined.", idle), "component", "scheduler.HealthTracker")
				d.log.Info(fmt.Sprintf("Waiting for %d ms for completely excluded task to be schedulable again before aborting TaskSet %s.",
					d.place.excl.UnschedulableTaskSetTimeout.Milliseconds(), ts.name()), "component", "scheduler.TaskSchedulerImpl")
				if d.place.unschedulable == nil {
					d.place.unschedulable = map[*taskSet]time.Time{}
				}
				d.place.unschedulable[ts] = time.Now().Add(d.place.excl.UnschedulableTaskSetTimeout)
				continue
			}
			if time.Now().Before(expiry) {
				continue
			}
			d.log.Info(fmt.Sprintf("Cannot schedule any task because all executors excluded due to failures. Wait time for scheduling expired. Aborting TaskSet %s.", ts.name()),
				"component", "scheduler.TaskSchedulerImpl")
		} else {
			d.log.Info("Cannot schedule any task because all executors excluded from failures. No idle executors can be found to kill. Aborting stage now.",
				"component", "scheduler.TaskSchedulerImpl")
		}
		msg := abortMessage(ts.name(), index, ts.excl.latestFailureReason())
		d.log.Error(msg, "component", "scheduler.TaskSetManager")
		d.abort(jr, sparkError("Job aborted due to stage failure: %s", msg))
		return
	}
}
