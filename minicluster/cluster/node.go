package cluster

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// A Worker is the worker of one node of the cluster: it starts the node's
// executor processes, and when one exits it tells the driver how (exit
// status, the last lines it wrote) and launches another with a new id, as a
// standalone Worker and its Master do together. The driver learns of the exit
// from the node within milliseconds, instead of from a heartbeat timeout, and
// knows whether the exit was the task's doing.
//
// In the process runtime every node's worker runs in the harness; in the
// docker runtime each runs in its node's container (`faultbook node`), so the
// node's executors are processes of that host.

// tailLines is how many of an executor's last output lines its exit report carries.
const tailLines = 12

// WorkerConfig describes one node's worker.
type WorkerConfig struct {
	Node string
	App  string
	Spec *spec.Spec
	// Dir is the run directory: the spec, and each executor's log.
	Dir string
	// Binary is the faultbook executable started as executors.
	Binary string
	// Env is added to every executor's environment (the cluster secret).
	Env    []string
	Secret []byte
	// DriverAddr is where the driver listens; Host the node's own address,
	// which its executors bind ("" is 127.0.0.1).
	DriverAddr string
	Host       string
	// IDs hands out the ids of replacement executors and counts abnormal
	// exits against spark.deploy.maxExecutorRetries.
	IDs *IDs
	// AskDriver: the application decides each replacement and its id (the
	// driver, standing for Spark's Master, answers an ExecutorUpdated that
	// asks), so that spark.deploy.maxExecutorRetries counts the abnormal
	// exits of every node, as Spark's Master counts them per application.
	// Workers on hosts of their own (the docker runtime) ask; IDs is then
	// unused.
	AskDriver bool
	// Log receives the worker's log; nil opens Dir/worker-<node>.log.
	Log io.Writer
	// DriverDone, when set, is closed when the driver process has ended.
	DriverDone <-chan struct{}
	// StartTimeout bounds the connection to the driver.
	StartTimeout time.Duration
}

// IDs hands out executor ids: Next, Next+Stride, … A cluster whose workers
// share one host shares one IDs (Stride 1); workers on their own hosts take
// interleaved ranges (node i of n: Next = planned+1+i, Stride n), so that ids
// stay unique without a round trip.
type IDs struct {
	mu                  sync.Mutex
	next, stride        int
	retries, maxRetries int
}

// NewIDs starts at next with the given stride, and allows maxRetries abnormal
// exits (negative: unlimited).
func NewIDs(next, stride, maxRetries int) *IDs {
	return &IDs{next: next, stride: max(stride, 1), maxRetries: maxRetries}
}

// NodeIDs is the id range of node i of a topology's n nodes.
func NodeIDs(sp *spec.Spec, node string) (*IDs, error) {
	maxRetries, err := sp.Conf.Int(conf.DeployMaxExecutorRetries)
	if err != nil {
		return nil, err
	}
	topo := sp.Topology.WithDefaults()
	for i := range topo.Nodes {
		if spec.NodeName(i) == node {
			return NewIDs(len(topo.Executors())+1+i, topo.Nodes, maxRetries), nil
		}
	}
	return nil, fmt.Errorf("node %s is not in the topology (%d nodes)", node, topo.Nodes)
}

// Worker is a running node worker.
type Worker struct {
	cfg     WorkerConfig
	ctx     context.Context
	log     *slog.Logger
	logFile *os.File
	group   proc.Group

	// conn is the worker's connection to the driver; gone is closed once the
	// driver said it shuts down, the connection ended, or the node died.
	sendMu    sync.Mutex
	conn      *wire.Conn
	gone      chan struct{}
	closeOnce sync.Once
	closed    bool

	mu sync.Mutex
	// execs holds every executor process started, by id, relaunched ones too.
	execs map[int]*execProc
	// ended is set once the application is over (or the node died), after
	// which nothing is launched.
	ended    bool
	watchers sync.WaitGroup
	// answers wait for the driver's Relaunch, by exited executor (AskDriver).
	answers map[int]chan int
}

// execProc is one executor process.
type execProc struct {
	id          int
	w           *Worker
	p           *proc.Process
	tail        *tail
	teardown    atomic.Bool
	replacement atomic.Int64
}

// StartWorker opens the worker's log and registers it with the driver. ctx
// bounds the life of every executor it starts.
func StartWorker(ctx context.Context, cfg WorkerConfig) (*Worker, error) {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	w := &Worker{cfg: cfg, ctx: ctx, gone: make(chan struct{}), execs: map[int]*execProc{}, answers: map[int]chan int{}}
	out := cfg.Log
	if out == nil {
		f, err := os.OpenFile(filepath.Join(cfg.Dir, WorkerLogPrefix+cfg.Node+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%w: open worker log: %v", ErrInfra, err)
		}
		w.logFile, out = f, f
	}
	w.log = nodelog.New(out, slog.LevelInfo)
	dctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	conn, err := wire.Dial(dctx, cfg.DriverAddr, cfg.Secret, WorkerLogPrefix+cfg.Node)
	if err != nil {
		w.closeLog()
		return nil, fmt.Errorf("%w: worker %s: %v", ErrInfra, cfg.Node, err)
	}
	w.conn = conn
	if err := conn.SendJSON(rpc.MsgRegisterWorker, rpc.RegisterWorker{Node: cfg.Node, App: cfg.App}); err != nil {
		_ = conn.Close()
		w.closeLog()
		return nil, fmt.Errorf("%w: register worker %s: %v", ErrInfra, cfg.Node, err)
	}
	w.log.Info(fmt.Sprintf("Successfully registered with driver %s", cfg.DriverAddr), "component", "deploy.worker.Worker")
	go w.listen()
	return w, nil
}

// Node is the worker's node name.
func (w *Worker) Node() string { return w.cfg.Node }

// Gone is closed once the driver said it shuts down or hung up.
func (w *Worker) Gone() <-chan struct{} { return w.gone }

// listen reads the driver's messages to the worker until it says shut down or
// hangs up; from then on no executor is relaunched.
func (w *Worker) listen() {
	defer w.markGone()
	for {
		t, payload, err := w.conn.Recv()
		if err != nil || t == rpc.MsgShutdown {
			return
		}
		var r rpc.Relaunch
		if t == rpc.MsgRelaunch && wire.DecodeJSON(payload, &r) == nil {
			w.mu.Lock()
			ch := w.answers[r.Executor]
			delete(w.answers, r.Executor)
			w.mu.Unlock()
			if ch != nil {
				ch <- r.Replacement
			}
		}
	}
}

func (w *Worker) markGone() {
	w.closeOnce.Do(func() { close(w.gone) })
}

func (w *Worker) driverGone() bool {
	select {
	case <-w.gone:
		return true
	case <-w.cfg.DriverDone:
		return true
	default:
		return false
	}
}

func (w *Worker) closeLog() {
	if w.logFile != nil {
		_ = w.logFile.Close()
	}
}

// hangUp ends the worker's connection and log; safe twice.
func (w *Worker) hangUp() {
	w.markGone()
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if w.conn != nil {
		_ = w.conn.Close()
	}
	if !w.closed {
		w.closed = true
		w.closeLog()
	}
}

// report sends an executor update to the driver; false when it is gone.
func (w *Worker) report(u rpc.ExecutorUpdated) bool {
	w.sendMu.Lock()
	defer w.sendMu.Unlock()
	if w.driverGone() || w.closed {
		return false
	}
	if err := w.conn.SendJSON(rpc.MsgExecutorUpdated, u); err != nil {
		w.markGone()
		return false
	}
	return true
}

// LaunchPlanned starts the executors the topology places on the worker's node.
func (w *Worker) LaunchPlanned() error {
	for _, ex := range w.cfg.Spec.Topology.Executors() {
		if ex.Node != w.cfg.Node {
			continue
		}
		w.watchers.Add(1)
		if err := w.launch(ex.ID); err != nil {
			return err
		}
	}
	return nil
}

// launch starts executor id and watches it. The caller has counted it in
// w.watchers (reserving its id); launch releases that on failure. A process
// started while the worker is being torn down is killed at once.
func (w *Worker) launch(id int) error {
	name := fmt.Sprintf("exec-%d", id)
	e := &execProc{id: id, w: w, tail: &tail{}}
	w.log.Info(fmt.Sprintf("Asked to launch executor %s/%d for %s", w.cfg.App, id, w.cfg.Spec.Name), "component", "deploy.worker.Worker")
	args := []string{"executor", "--run-dir", w.cfg.Dir, "--driver", w.cfg.DriverAddr, "--id", strconv.Itoa(id),
		"--node", w.cfg.Node, "--slots", strconv.Itoa(w.cfg.Spec.Topology.Slots)}
	if w.cfg.Host != "" {
		args = append(args, "--host", w.cfg.Host)
	}
	p, err := proc.Start(w.ctx, proc.Spec{
		Name: name, Path: w.cfg.Binary, Env: w.cfg.Env, LogPath: filepath.Join(w.cfg.Dir, name+".log"), OnLine: e.tail.add, Args: args,
	})
	if err != nil {
		w.watchers.Done()
		return fmt.Errorf("%w: start %s: %v", ErrInfra, name, err)
	}
	e.p = p
	w.group.Add(p)
	w.mu.Lock()
	w.execs[id] = e
	if w.ended {
		e.teardown.Store(true)
		_ = p.Kill()
	}
	w.mu.Unlock()
	go func() {
		defer w.watchers.Done()
		<-p.Done()
		x, _ := p.Wait(context.Background())
		w.exited(e, x)
	}()
	return nil
}

// exited reports how an executor ended and, when the application still runs
// and the exit was abnormal, launches a replacement with a new id.
func (w *Worker) exited(e *execProc, x proc.Exit) {
	status := x.Status()
	msg := fmt.Sprintf("Command exited with code %d", status)
	w.log.Info(fmt.Sprintf("Executor %s/%d finished with state %s message %s exitStatus %d", w.cfg.App, e.id, rpc.ExecutorExited, msg, status),
		"component", "deploy.worker.Worker")
	u := rpc.ExecutorUpdated{Executor: e.id, Node: w.cfg.Node, State: rpc.ExecutorExited, Message: msg, ExitStatus: status,
		Signal: x.Signal, CausedByApp: CausedByApp(x), Tail: e.tail.lines(), Fatal: e.tail.crash()}
	for _, l := range u.Fatal {
		w.log.Info(fmt.Sprintf("Executor %s/%d said before it ended: %s", w.cfg.App, e.id, l), "component", "deploy.worker.ExecutorRunner")
	}
	next := w.relaunchID(e, x)
	if next == askDriver {
		w.askRelaunch(e, u)
		return
	}
	u.Replacement = next
	if !w.report(u) || next == 0 {
		if next != 0 {
			w.watchers.Done() // reserved, never launched
		}
		return
	}
	e.replacement.Store(int64(next))
	if err := w.launch(next); err != nil {
		w.log.Error(fmt.Sprintf("Failed to launch executor %s/%d: %v", w.cfg.App, next, err), "component", "deploy.worker.Worker")
	}
}

// askDriver is relaunchID's answer when the driver decides (AskDriver).
const askDriver = -1

// askRelaunch reports an exit that this worker would replace and launches
// the replacement the driver answers with, if any. relaunchID has counted
// it in w.watchers.
func (w *Worker) askRelaunch(e *execProc, u rpc.ExecutorUpdated) {
	u.Ask = true
	ch := make(chan int, 1)
	w.mu.Lock()
	w.answers[e.id] = ch
	w.mu.Unlock()
	next := 0
	if w.report(u) {
		select {
		case next = <-ch:
		case <-w.gone:
		case <-w.cfg.DriverDone:
		case <-time.After(10 * time.Second):
			w.log.Warn(fmt.Sprintf("No answer from the driver about a replacement for executor %s/%d", w.cfg.App, e.id), "component", "deploy.worker.Worker")
		}
	}
	w.mu.Lock()
	delete(w.answers, e.id)
	w.mu.Unlock()
	if next <= 0 {
		w.watchers.Done() // reserved, never launched
		return
	}
	e.replacement.Store(int64(next))
	if err := w.launch(next); err != nil {
		w.log.Error(fmt.Sprintf("Failed to launch executor %s/%d: %v", w.cfg.App, next, err), "component", "deploy.worker.Worker")
	}
}

// relaunchID decides whether an exited executor is replaced, and reserves the
// replacement's id: 0 when it is not, askDriver when the driver decides. A clean exit, a refusal, an executor
// leaving with its lost driver, the end of the application or
// spark.deploy.maxExecutorRetries abnormal exits end the line.
func (w *Worker) relaunchID(e *execProc, x proc.Exit) int {
	if x.Signal == "" && (x.Code == ExitOK || x.Code == ExitRefused || x.Code == ExitJobFailed) {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended || e.teardown.Load() || w.driverGone() {
		return 0
	}
	if w.cfg.AskDriver {
		w.watchers.Add(1) // released by askRelaunch
		return askDriver
	}
	ids := w.cfg.IDs
	ids.mu.Lock()
	defer ids.mu.Unlock()
	ids.retries++
	if ids.maxRetries >= 0 && ids.retries > ids.maxRetries {
		w.log.Error(fmt.Sprintf("Application %s failed %d times (spark.deploy.maxExecutorRetries=%d); launching no more executors",
			w.cfg.App, ids.retries, ids.maxRetries), "component", "deploy.master.Master")
		return 0
	}
	id := ids.next
	ids.next += ids.stride
	w.watchers.Add(1) // released by launch
	return id
}

// Finish ends the worker once the application is over: it launches nothing
// more, gives executors until grace ends to exit by themselves, kills the
// rest, and returns every executor it ran and how each ended, by id.
func (w *Worker) Finish(grace context.Context) []ExecutorRun {
	w.mu.Lock()
	w.ended = true
	execs := w.snapshot()
	w.mu.Unlock()
	exited := map[int]bool{}
	for _, e := range execs {
		if _, err := e.p.Wait(grace); err == nil {
			exited[e.id] = true
		}
	}
	// Whatever did not follow the driver is killed; its watcher, and any
	// relaunch that was under way when the driver ended, finish with it.
	w.mu.Lock()
	for _, e := range w.execs {
		if !exited[e.id] {
			e.teardown.Store(true)
			_ = e.p.Kill()
		}
	}
	w.mu.Unlock()
	w.watchers.Wait()
	w.mu.Lock()
	execs = w.snapshot()
	w.mu.Unlock()
	runs := make([]ExecutorRun, 0, len(execs))
	for _, e := range execs {
		x, _ := e.p.Wait(context.Background()) // done: its watcher has returned
		runs = append(runs, ExecutorRun{ID: e.id, Node: w.cfg.Node, Exit: x, Teardown: e.teardown.Load(), Replacement: int(e.replacement.Load())})
	}
	w.hangUp()
	return runs
}

// snapshot lists the executors by id; w.mu is held.
func (w *Worker) snapshot() []*execProc {
	out := make([]*execProc, 0, len(w.execs))
	for _, e := range w.execs {
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// Close kills every executor still running and waits for them; safe twice.
func (w *Worker) Close() error {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	err := w.group.Close()
	w.watchers.Wait()
	w.hangUp()
	return err
}

// Processes lists the worker's executor processes still running, by id.
func (w *Worker) Processes() []*proc.Process {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*proc.Process
	for _, e := range w.snapshot() {
		select {
		case <-e.p.Done():
		default:
			out = append(out, e.p)
		}
	}
	return out
}

// Die ends the node as a crash of its host would: the worker hangs up
// without a word and launches nothing more, and every executor gets SIGKILL.
// It returns the executors it killed.
func (w *Worker) Die() []*proc.Process {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
	w.hangUp()
	ps := w.Processes()
	for _, p := range ps {
		_ = p.Kill()
	}
	return ps
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
