package driver

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// lossReason is why an executor was lost, as Spark's ExecutorLossReason.
type lossReason struct {
	// message is what the driver logs: "Command exited with code 2",
	// "Remote RPC client disassociated", "Executor heartbeat timed out after …".
	message string
	// causedByApp: the loss is the running tasks' doing (Spark's
	// exitCausedByApp), so their failures count toward spark.task.maxFailures.
	causedByApp bool
	// exit is the worker's report of how the process ended, when known.
	exit *rpc.ExecutorUpdated
}

// disconnected handles an executor whose connection ended. With a worker on
// its node the driver stops offering it tasks and waits for the worker's
// report, which says how the process ended (as Spark on YARN asks the cluster
// manager for an executor's loss reason before removing it); without one (or if the report does not come within
// spark.network.timeout) the executor is lost as Spark loses it, with "Remote
// RPC client disassociated", counted as the tasks' doing.
func (d *Driver) disconnected(id int, cause error) {
	ex := d.execs[id]
	if ex == nil || !ex.alive {
		return
	}
	if d.workers[ex.node] == nil || ex.stopping {
		d.executorLost(id, disassociated(cause))
		return
	}
	ex.alive = false
	_ = ex.conn.Close()
	ex.hungUp, ex.hangUpCause = time.Now(), cause
}

func disassociated(cause error) lossReason {
	r := lossReason{message: "Remote RPC client disassociated", causedByApp: true}
	if cause != nil && !strings.Contains(cause.Error(), "EOF") {
		r.message = cause.Error()
	}
	return r
}

// expireHangUps loses the executors whose worker did not report in time.
func (d *Driver) expireHangUps() {
	timeout, _ := d.cfg.Spec.Conf.Duration(conf.NetworkTimeout)
	for id, ex := range d.execs {
		if !ex.hungUp.IsZero() && time.Since(ex.hungUp) > timeout {
			d.executorLost(id, disassociated(ex.hangUpCause))
		}
	}
}

// awaitingLoss reports whether an executor hung up and its worker's report
// is still awaited.
func (d *Driver) awaitingLoss() bool {
	for _, ex := range d.execs {
		if !ex.hungUp.IsZero() {
			return true
		}
	}
	return false
}

// launching counts executors launched for the application that have neither
// registered, been refused, nor exited: while there are some, a job whose
// executors are all lost waits for them.
func (d *Driver) launching() int {
	return d.expected - d.registered - d.refused - len(d.exitedEarly)
}

// executorLost fails the executor's running attempts with ExecutorLostFailure,
// forgets the blocks it held and unregisters the map outputs it served.
func (d *Driver) executorLost(id int, r lossReason) {
	ex := d.execs[id]
	if ex == nil || (!ex.alive && ex.hungUp.IsZero()) {
		return
	}
	ex.alive, ex.hungUp = false, time.Time{}
	_ = ex.conn.Close()
	if ex.stopping {
		d.log.Info(fmt.Sprintf("Executor %d on %s stopped", id, ex.node), "component", "scheduler.CoarseGrainedSchedulerBackend")
		return
	}
	d.log.Error(fmt.Sprintf("Lost executor %d on %s: %s", id, ex.node, r.message), "component", "scheduler.TaskSchedulerImpl")
	ev := events.Event{Kind: events.ExecutorRemoved, Executor: id, Node: ex.node, Message: r.message}
	if r.exit != nil {
		status := r.exit.ExitStatus
		ev.ExitStatus, ev.Signal = &status, r.exit.Signal
	}
	d.ev.Emit(ev)
	for ds, locs := range d.cacheLocs {
		for p, holder := range locs {
			if holder == id {
				delete(d.cacheLocs[ds], p)
			}
		}
	}
	jr := d.active
	if jr == nil {
		return
	}
	for _, ts := range jr.taskSets() {
		for tid, ti := range ts.running {
			if ti.exec != id {
				continue
			}
			delete(ts.running, tid)
			d.taskLostWithExecutor(jr, ts, ti, ex, r)
		}
	}
	d.unregisterOutputs(jr, id)
}

// crash is what is known of an executor loss that failed an attempt.
type crash struct {
	exec, tid   int
	node        string
	causedByApp bool
	// exitStatus, signal, fatal and tail are the worker's report: the status
	// as a shell reports it, the signal's name, the lines in which the process
	// said why it crashed, the last lines it wrote. exitStatus is -1 when the
	// process's end is unknown.
	exitStatus  int
	signal      string
	fatal, tail []string
}

// taskLostWithExecutor is where an attempt lost with its executor is
// recorded: every such loss of a task is kept in its task set's crashes
// (with the exit status and the dead executor's last lines), then the attempt
// fails with Spark's ExecutorLostFailure, counted toward
// spark.task.maxFailures only when the exit was the task's doing.
func (d *Driver) taskLostWithExecutor(jr *jobRun, ts *taskSet, ti *taskInfo, ex *executorInfo, r lossReason) {
	c := crash{exec: ex.id, tid: ti.tid, node: ex.node, causedByApp: r.causedByApp, exitStatus: -1}
	if r.exit != nil {
		c.exitStatus, c.signal, c.fatal, c.tail = r.exit.ExitStatus, r.exit.Signal, r.exit.Fatal, r.exit.Tail
	}
	ts.crashes[ti.partition] = append(ts.crashes[ti.partition], c)
	f := executorLostFailure(ex.id, r)
	if d.cfg.Spec.Safeguards.On(safeguard.CrashAttribution) {
		if diag, ok := attributeCrashes(ts, ti.partition); ok {
			f.Message += "; " + diag
			f.Fatal, f.Safeguard = true, string(safeguard.CrashAttribution)
		}
	}
	d.taskFailed(jr, ts, ti, ex, f)
}

// crashesToAttribute is how many executors one task's attempts must have
// killed before crash-attribution blames the task: one death can be the
// machine's, two on different executors are the task's.
const crashesToAttribute = 2

// attributeCrashes is the crash-attribution safeguard's diagnosis (beyond
// Spark): when the attempts of one task were running on crashesToAttribute
// different executors as each died of the task's doing, the task itself kills
// executors, and retrying it only spends more of them.
func attributeCrashes(ts *taskSet, p int) (string, bool) {
	var execs, tids, statuses []string
	seen := map[int]bool{}
	for _, c := range ts.crashes[p] {
		if !c.causedByApp || seen[c.exec] {
			continue
		}
		seen[c.exec] = true
		execs = append(execs, fmt.Sprint(c.exec))
		tids = append(tids, fmt.Sprint(c.tid))
		st := "an unknown status"
		switch {
		case c.signal != "":
			st = "signal " + c.signal
		case c.exitStatus >= 0:
			st = fmt.Sprintf("exit status %d", c.exitStatus)
		}
		if line := fatalLine(slices.Concat(c.fatal, c.tail)); line != "" {
			st += " (" + line + ")"
		}
		statuses = append(statuses, st)
	}
	if len(execs) < crashesToAttribute {
		return "", false
	}
	return fmt.Sprintf("crash attribution: attempts of task %d in stage %s (TIDs %s) killed %d executors (%s: %s); the task kills whatever executor runs it, so it is not retried",
		p, ts.name(), strings.Join(tids, ", "), len(execs), "executors "+strings.Join(execs, ", "), strings.Join(statuses, "; ")), true
}

// fatalLine finds the runtime's own verdict among the lines a dead process
// said why in, and its last lines.
func fatalLine(tail []string) string {
	for _, l := range tail {
		if strings.HasPrefix(l, "fatal error: ") {
			return l
		}
	}
	return ""
}

// executorLostFailure is Spark's ExecutorLostFailure reason.
func executorLostFailure(id int, r lossReason) rpc.Failure {
	behaviour := "caused by one of the running tasks"
	if !r.causedByApp {
		behaviour = "unrelated to the running tasks"
	}
	return rpc.Failure{Kind: rpc.KindExecutorLost, NotCounted: !r.causedByApp,
		Message: fmt.Sprintf("ExecutorLostFailure (executor %d exited %s) Reason: %s", id, behaviour, r.message)}
}

func (d *Driver) checkHeartbeats() {
	timeout, _ := d.cfg.Spec.Conf.Duration(conf.NetworkTimeout)
	for _, id := range d.aliveIDs() {
		if ex := d.execs[id]; time.Since(ex.lastBeat) > timeout {
			// Told to exit: a frozen executor that wakes reads this first.
			_ = ex.conn.Send(rpc.MsgShutdown, nil)
			d.executorLost(id, lossReason{message: fmt.Sprintf("Executor heartbeat timed out after %d ms", time.Since(ex.lastBeat).Milliseconds()), causedByApp: true})
		}
	}
	d.expireHangUps()
}
