package driver

import (
	"fmt"
	"strings"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Workers are the node supervisors that start executor processes and report
// how each one ended, as a standalone Worker reports to its Master and the
// Master to the application (StandaloneAppClient). With a worker on its node,
// an executor's loss carries its exit status, and whether the exit was the
// task's doing decides whether the running tasks' failures count.

// serveWorker turns a worker's reports into loop events until it hangs up.
func (d *Driver) serveWorker(c *wire.Conn, payload []byte) {
	var reg rpc.RegisterWorker
	if err := wire.DecodeJSON(payload, &reg); err != nil || reg.Node == "" {
		d.log.Warn(fmt.Sprintf("Closing connection from %s: malformed worker registration", c.Peer()), "component", "rpc.NettyRpcEnv")
		return
	}
	if !d.post(event{kind: "worker", conn: c, worker: &reg}) {
		return
	}
	for {
		t, payload, err := c.Recv()
		if err != nil {
			d.post(event{kind: "worker-lost", conn: c, worker: &reg, err: err})
			return
		}
		var u rpc.ExecutorUpdated
		if t != rpc.MsgExecutorUpdated || wire.DecodeJSON(payload, &u) != nil || u.Node != reg.Node {
			d.log.Warn(fmt.Sprintf("Closing connection from worker %s: unexpected message type %d", reg.Node, t), "component", "rpc.NettyRpcEnv")
			d.post(event{kind: "worker-lost", conn: c, worker: &reg})
			return
		}
		if !d.post(event{kind: "worker-update", conn: c, update: &u}) {
			return
		}
	}
}

// handleWorker applies a worker's registration, report or hang-up.
func (d *Driver) handleWorker(e event) {
	switch e.kind {
	case "worker":
		if old := d.workers[e.worker.Node]; old != nil {
			d.log.Warn(fmt.Sprintf("Refusing a second worker for %s", e.worker.Node), "component", "deploy.client.StandaloneAppClient")
			_ = e.conn.Close()
			return
		}
		d.workers[e.worker.Node], d.app = e.conn, e.worker.App
		d.log.Info(fmt.Sprintf("Connected to worker of %s for application %s", e.worker.Node, e.worker.App), "component", "deploy.client.StandaloneAppClient")
	case "worker-lost":
		if d.workers[e.worker.Node] == e.conn {
			delete(d.workers, e.worker.Node)
		}
	case "worker-update":
		if d.workers[e.update.Node] == e.conn {
			if e.update.Ask {
				e.update.Replacement = d.relaunch(e.update)
				_ = e.conn.SendJSON(rpc.MsgRelaunch, rpc.Relaunch{Executor: e.update.Executor, Replacement: e.update.Replacement})
			}
			d.executorUpdated(e.update)
		}
	}
}

// relaunch answers a worker that asks to replace an executor that exited
// abnormally, as Spark's Master does for the application: it counts the exit
// against spark.deploy.maxExecutorRetries, over every node, and gives the
// replacement the application's next executor id; 0 once the retries are
// spent.
func (d *Driver) relaunch(u *rpc.ExecutorUpdated) int {
	maxRetries, err := d.cfg.Spec.Conf.Int(conf.DeployMaxExecutorRetries)
	if err != nil {
		maxRetries = -1 // validated at start
	}
	d.retries++
	if maxRetries >= 0 && d.retries > maxRetries {
		d.log.Error(fmt.Sprintf("Application %s failed %d times (spark.deploy.maxExecutorRetries=%d); launching no more executors",
			d.app, d.retries, maxRetries), "component", "deploy.master.Master")
		return 0
	}
	id := d.nextID
	d.nextID++
	return id
}

// executorUpdated applies a worker's report that an executor ended: the
// executor is lost with its exit status, and a replacement is expected.
func (d *Driver) executorUpdated(u *rpc.ExecutorUpdated) {
	if u.State != rpc.ExecutorExited {
		return
	}
	full := fmt.Sprintf("%s/%d", d.app, u.Executor)
	d.log.Info(fmt.Sprintf("Executor updated: %s is now %s (%s)", full, u.State, u.Message), "component", "deploy.client.StandaloneAppClient")
	status := u.ExitStatus
	d.ev.Emit(events.Event{Kind: events.ExecutorExited, Executor: u.Executor, Node: u.Node, Message: u.Message,
		ExitStatus: &status, Signal: u.Signal, Replacement: u.Replacement})
	d.killHit(u)
	if u.Replacement > 0 {
		d.expected++
		d.log.Info(fmt.Sprintf("Executor added: %s/%d on worker-%s (%s) with %d core(s)", d.app, u.Replacement, u.Node, u.Node, d.cfg.Spec.Topology.Slots),
			"component", "deploy.client.StandaloneAppClient")
	}
	ex := d.execs[u.Executor]
	switch {
	case ex == nil:
		if d.refusedIDs[u.Executor] {
			return
		}
		// It never registered: its exit is all there is to know, at once.
		d.exitedEarly = append(d.exitedEarly, fmt.Sprintf("executor %d: %s", u.Executor, u.Message))
		d.log.Error(fmt.Sprintf("Executor %s exited before registering: %s", full, u.Message), "component", "scheduler.cluster.StandaloneSchedulerBackend")
	case ex.alive || !ex.hungUp.IsZero():
		d.log.Info(fmt.Sprintf("Executor %s removed: %s", full, u.Message), "component", "scheduler.cluster.StandaloneSchedulerBackend")
		d.executorLost(u.Executor, lossReason{message: u.Message, causedByApp: u.CausedByApp, exit: u})
	}
}

// killHit records the executor-kill fault's hit from its effect: the node saw
// the targeted executor killed by SIGKILL, and the executor's last lines say
// the fault did it.
func (d *Driver) killHit(u *rpc.ExecutorUpdated) {
	if _, ok := d.cfg.Spec.Faults.Lookup(fault.ExecutorKill, u.Executor); !ok || u.Signal != "SIGKILL" {
		return
	}
	for _, l := range u.Tail {
		if _, said, ok := strings.Cut(l, fault.KillMarker+": "); ok {
			d.ev.Emit(events.Event{Kind: events.FaultHit, Executor: u.Executor, Node: u.Node, Name: string(fault.ExecutorKill), Role: "task",
				Message: fmt.Sprintf("%s; its node reports it killed by SIGKILL (%s)", said, u.Message)})
			return
		}
	}
}
