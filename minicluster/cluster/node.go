package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// A node is the worker of one node of the cluster, in this process: it starts
// the node's executor processes, and when one exits it tells the driver how
// (exit status, the last lines it wrote) and launches another with a new id,
// as a standalone Worker and its Master do together. The driver learns of the
// exit from the node within milliseconds, instead of from a heartbeat timeout,
// and knows whether the exit was the task's doing.

// tailLines is how many of an executor's last output lines its exit report carries.
const tailLines = 12

// node is one node's worker.
type node struct {
	c       *Cluster
	name    string
	log     *slog.Logger
	logFile *os.File
	logPath string

	// conn is the node's connection to the driver; gone is closed once the
	// driver said it shuts down or the connection ended.
	sendMu    sync.Mutex
	conn      *wire.Conn
	gone      chan struct{}
	closeOnce sync.Once
}

// execProc is one executor process.
type execProc struct {
	id          int
	node        *node
	p           *proc.Process
	tail        *tail
	teardown    atomic.Bool
	replacement atomic.Int64
}

// startNode opens the node's log and registers its worker with the driver.
func (c *Cluster) startNode(ctx context.Context, name string, secret []byte, timeout time.Duration) (*node, error) {
	n := &node{c: c, name: name, logPath: filepath.Join(c.dir, WorkerLogPrefix+name+".log"), gone: make(chan struct{})}
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%w: open worker log: %v", ErrInfra, err)
	}
	n.logFile, n.log = f, nodelog.New(f, slog.LevelInfo)
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, err := wire.Dial(dctx, c.addr, secret, WorkerLogPrefix+name)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%w: worker %s: %v", ErrInfra, name, err)
	}
	n.conn = conn
	if err := conn.SendJSON(rpc.MsgRegisterWorker, rpc.RegisterWorker{Node: name, App: c.app}); err != nil {
		_ = conn.Close()
		_ = f.Close()
		return nil, fmt.Errorf("%w: register worker %s: %v", ErrInfra, name, err)
	}
	n.log.Info(fmt.Sprintf("Successfully registered with driver %s", c.addr), "component", "deploy.worker.Worker")
	go n.listen()
	return n, nil
}

// listen reads the driver's messages to the worker until it says shut down or
// hangs up; from then on no executor is relaunched.
func (n *node) listen() {
	defer n.markGone()
	for {
		t, _, err := n.conn.Recv()
		if err != nil || t == rpc.MsgShutdown {
			return
		}
	}
}

func (n *node) markGone() {
	n.closeOnce.Do(func() { close(n.gone) })
}

func (n *node) driverGone() bool {
	select {
	case <-n.gone:
		return true
	case <-n.c.driver.Done():
		return true
	default:
		return false
	}
}

// close ends the worker's connection and log; safe twice.
func (n *node) close() {
	n.markGone()
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	if n.conn != nil {
		_ = n.conn.Close()
	}
	if n.logFile != nil {
		_ = n.logFile.Close()
		n.logFile = nil
	}
}

// report sends an executor update to the driver; false when it is gone.
func (n *node) report(u rpc.ExecutorUpdated) bool {
	n.sendMu.Lock()
	defer n.sendMu.Unlock()
	if n.driverGone() || n.logFile == nil {
		return false
	}
	if err := n.conn.SendJSON(rpc.MsgExecutorUpdated, u); err != nil {
		n.markGone()
		return false
	}
	return true
}

// launch starts executor id on node n and watches it. The caller has counted
// it in c.watchers (reserving its id); launch releases that on failure. A
// process started while the cluster is being torn down is killed at once.
func (c *Cluster) launch(n *node, id int) error {
	name := fmt.Sprintf("exec-%d", id)
	e := &execProc{id: id, node: n, tail: &tail{}}
	n.log.Info(fmt.Sprintf("Asked to launch executor %s/%d for %s", c.app, id, c.spec.Name), "component", "deploy.worker.Worker")
	p, err := proc.Start(c.ctx, proc.Spec{
		Name: name, Path: c.binary, Env: c.env, LogPath: filepath.Join(c.dir, name+".log"), OnLine: e.tail.add,
		Args: []string{"executor", "--run-dir", c.dir, "--driver", c.addr, "--id", strconv.Itoa(id),
			"--node", n.name, "--slots", strconv.Itoa(c.spec.Topology.Slots)},
	})
	if err != nil {
		c.watchers.Done()
		return fmt.Errorf("%w: start %s: %v", ErrInfra, name, err)
	}
	e.p = p
	c.group.Add(p)
	c.mu.Lock()
	c.execs[id] = e
	if c.ended {
		e.teardown.Store(true)
		_ = p.Kill()
	}
	c.mu.Unlock()
	go func() {
		defer c.watchers.Done()
		<-p.Done()
		x, _ := p.Wait(context.Background())
		c.exited(e, x)
	}()
	return nil
}

// exited reports how an executor ended and, when the application still runs
// and the exit was abnormal, launches a replacement with a new id.
func (c *Cluster) exited(e *execProc, x proc.Exit) {
	n := e.node
	status := x.Status()
	msg := fmt.Sprintf("Command exited with code %d", status)
	n.log.Info(fmt.Sprintf("Executor %s/%d finished with state %s message %s exitStatus %d", c.app, e.id, rpc.ExecutorExited, msg, status),
		"component", "deploy.worker.Worker")
	u := rpc.ExecutorUpdated{Executor: e.id, Node: n.name, State: rpc.ExecutorExited, Message: msg, ExitStatus: status,
		Signal: x.Signal, CausedByApp: CausedByApp(x), Tail: e.tail.lines(), Fatal: e.tail.crash()}
	for _, l := range u.Fatal {
		n.log.Info(fmt.Sprintf("Executor %s/%d said before it ended: %s", c.app, e.id, l), "component", "deploy.worker.ExecutorRunner")
	}
	next := c.relaunchID(e, x)
	u.Replacement = next
	if !n.report(u) || next == 0 {
		return
	}
	e.replacement.Store(int64(next))
	if err := c.launch(n, next); err != nil {
		n.log.Error(fmt.Sprintf("Failed to launch executor %s/%d: %v", c.app, next, err), "component", "deploy.worker.Worker")
	}
}

// relaunchID decides whether an exited executor is replaced, and reserves the
// replacement's id: 0 when it is not. A clean exit, a refusal, an executor
// leaving with its lost driver, the end of the application or
// spark.deploy.maxExecutorRetries abnormal exits end the line.
func (c *Cluster) relaunchID(e *execProc, x proc.Exit) int {
	if x.Signal == "" && (x.Code == ExitOK || x.Code == ExitRefused || x.Code == ExitJobFailed) {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || e.teardown.Load() || e.node.driverGone() {
		return 0
	}
	c.retries++
	if c.maxRetries >= 0 && c.retries > c.maxRetries {
		e.node.log.Error(fmt.Sprintf("Application %s failed %d times (spark.deploy.maxExecutorRetries=%d); launching no more executors",
			c.app, c.retries, c.maxRetries), "component", "deploy.master.Master")
		return 0
	}
	id := c.nextID
	c.nextID++
	c.watchers.Add(1) // released by launch
	return id
}

// CausedByApp says whether an executor's exit came from the process itself —
// an exit code (a Go runtime fatal error exits with 2), or a signal the
// process raises on itself when it crashes — rather than from outside it
// (SIGKILL, SIGTERM, SIGINT, SIGHUP, SIGQUIT: an operator, the OOM killer, a
// preempting scheduler). Spark's cluster managers make the same distinction
// (exitCausedByApp); only an exit caused by the application counts toward its
// running tasks' spark.task.maxFailures.
func CausedByApp(x proc.Exit) bool {
	switch x.Signal {
	case "":
		return true
	case "SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT":
		return false
	}
	return true
}

// tail keeps the last lines of a process's output, and the first lines in
// which the Go runtime or a panic announced a crash: a crashing process's
// last lines are its goroutines' stacks, the cause is printed above them.
type tail struct {
	mu    sync.Mutex
	buf   []string
	fatal []string
}

// crashPrefixes start the lines in which a Go process says why it crashed.
var crashPrefixes = []string{"fatal error: ", "panic: ", "runtime: goroutine stack exceeds", "unexpected signal", "SIGSEGV", "SIGBUS"}

func (t *tail) add(line string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fatal) < 4 {
		for _, p := range crashPrefixes {
			if strings.HasPrefix(line, p) {
				t.fatal = append(t.fatal, line)
				break
			}
		}
	}
	if len(t.buf) == tailLines {
		t.buf = append(t.buf[:0], t.buf[1:]...)
	}
	t.buf = append(t.buf, line)
}

func (t *tail) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.buf...)
}

func (t *tail) crash() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.fatal...)
}
