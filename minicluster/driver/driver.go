// Package driver is the minicluster driver process: it accepts executors,
// checks what they claim, runs a workload's jobs through the scheduler, and writes
// an event log of everything it saw. Like Spark's DAGScheduler it is one event
// loop: connection goroutines only turn messages into events, and all scheduler
// state belongs to the loop. Nodes' workers report how executor processes end
// (workers.go); a lost executor's tasks and outputs are dealt with in loss.go,
// fetch failures and stage resubmission in stages.go.
package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/serializer"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// ErrNoExecutors: no executor could be used, so no job could run.
var ErrNoExecutors = errors.New("no usable executor registered")

// Config is one driver run.
type Config struct {
	Spec   *spec.Spec
	App    *bundle.Bundle
	Secret []byte
	Events *events.Log
	Log    *slog.Logger
	// Host is the address the driver listens on; "" is 127.0.0.1.
	Host string
	// Dir is the run directory (a driver program may keep files there).
	Dir string
	// Listening is called with the driver's address once it accepts connections.
	Listening func(addr string)
}

// Status of the application.
type Status string

const (
	Succeeded Status = "succeeded"
	Aborted   Status = "aborted"
)

// Result is what the driver reports of the application.
type Result struct {
	Status Status `json:"status"`
	// Error is the exception that ended the application, as the driver printed it.
	Error string `json:"error,omitempty"`
	// Output is the workload's output (JSON), when it succeeded.
	Output     json.RawMessage `json:"output,omitempty"`
	Executors  int             `json:"executors"`
	Refused    int             `json:"refused,omitempty"`
	DurationMs int64           `json:"duration_ms"`
}

// ResultFile is the result's name inside a run directory.
const ResultFile = "result.json"

type executorInfo struct {
	id        int
	node      string
	slots     int
	blockAddr string
	conn      *wire.Conn
	running   map[int]bool // TIDs
	lastBeat  time.Time
	alive     bool
	// stopping: the driver asked it to shut down, so its hang-up is expected.
	stopping bool
	// hungUp is when its connection ended while its node's worker had not yet
	// said how the process ended; zero otherwise. See disconnected.
	hungUp      time.Time
	hangUpCause error
}

type event struct {
	kind     string // register, status, report, heartbeat, lost, worker, worker-update, worker-lost
	conn     *wire.Conn
	exec     int
	register *rpc.RegisterExecutor
	status   *rpc.StatusUpdate
	report   *rpc.Report
	worker   *rpc.RegisterWorker
	update   *rpc.ExecutorUpdated
	err      error
}

// Driver is a running driver.
type Driver struct {
	cfg      Config
	log      *slog.Logger
	ev       *events.Log
	reg      *codec.Registry
	wl       *job.Workload
	params   job.Params
	maxFails int

	events       chan event
	execs        map[int]*executorInfo
	refused      int
	refusedIDs   map[int]bool
	firstRefusal string
	// resultHitSeen: a result decoded with another registry was recorded.
	resultHitSeen bool
	// expected counts the executors launched for the application: the
	// topology's, then each replacement a worker reports. Every one of them
	// ends up registered, refused, or exited before registering.
	expected, registered int
	exitedEarly          []string // "executor 3: Command exited with code 2"
	// workers are the node supervisors that report executor exits, by node.
	workers map[string]*wire.Conn
	// retries counts the abnormal exits workers asked to replace, and
	// nextID is the id the next replacement gets (workers.go).
	retries, nextID int
	app             string

	ln net.Listener
	// life bounds every connection's handshake; shutdown ends it, so a peer
	// that never finishes its handshake cannot delay the driver's exit.
	life     context.Context
	stopLife context.CancelFunc
	connsMu  sync.Mutex
	conns    map[*wire.Conn]bool
	wg       sync.WaitGroup
	closing  chan struct{}

	// cacheLocs[dataset][partition] is the executor holding a cached partition.
	cacheLocs map[int]map[int]int
	nextTID   int
	nextJob   int
	active    *jobRun
	// place holds locality and exclusion on failure (schedule_exclude.go).
	place placement
}

// Run executes the application described by the spec and returns its result.
// An error means the run could not be carried out (no executor, bad spec); a job
// that aborts is a Result with Status Aborted.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	sp := cfg.Spec
	d := &Driver{cfg: cfg, log: cfg.Log, ev: cfg.Events, events: make(chan event, 1024), execs: map[int]*executorInfo{},
		conns: map[*wire.Conn]bool{}, closing: make(chan struct{}), cacheLocs: map[int]map[int]int{},
		expected: len(sp.Topology.Executors()), workers: map[string]*wire.Conn{}, refusedIDs: map[int]bool{},
		nextID: len(sp.Topology.Executors()) + 1}
	d.life, d.stopLife = context.WithCancel(ctx)
	defer d.stopLife()
	var err error
	if d.maxFails, err = sp.Conf.Int(conf.TaskMaxFailures); err != nil {
		return nil, err
	}
	if err = d.initPlacement(); err != nil {
		return nil, err
	}
	if d.wl, err = cfg.App.Workload(sp.Workload); err != nil {
		return nil, err
	}
	d.params = job.Params{Seed: sp.Seed, Values: sp.Params}
	d.reg, err = serializer.NewRegistry(bundle.With(ctx, cfg.App), serializer.ForProcess(sp, 0, cfg.App, serializer.RoleDriver, d.log))
	if err != nil {
		return nil, fmt.Errorf("build driver serializer: %w", err)
	}
	if d.ln, err = net.Listen("tcp", net.JoinHostPort(block.BindHost(cfg.Host), "0")); err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	defer d.shutdown()
	d.wg.Add(1)
	go d.acceptLoop(d.life)
	d.log.Info("Started driver for "+sp.Name+" at "+d.ln.Addr().String(), "component", "SparkContext")
	d.ev.Emit(events.Event{Kind: events.ApplicationStart, Message: sp.Name})
	for _, h := range serializer.RegistryHits(sp, 0, d.reg, serializer.CanonicalRegistry(cfg.App, serializer.ForProcess(sp, 0, cfg.App, serializer.RoleDriver, nil))) {
		d.ev.Emit(faultEvent(h, ""))
	}
	if cfg.Listening != nil {
		cfg.Listening(d.ln.Addr().String())
	}

	res := &Result{}
	var out json.RawMessage
	err = d.awaitExecutors(ctx)
	if err == nil {
		out, err = d.runWorkload(ctx)
	}
	res.Executors, res.Refused = d.aliveCount(), d.refused
	res.DurationMs = time.Since(start).Milliseconds()
	switch {
	case errors.Is(err, ErrNoExecutors) || ctx.Err() != nil:
		return nil, err
	case errors.Is(err, errAllRefused):
		res.Status, res.Error = Aborted, err.Error()
		d.log.Error("Exception in main: "+err.Error(), "component", "SparkContext")
	case err != nil:
		res.Status, res.Error = Aborted, err.Error()
		d.log.Error("Exception in main: "+err.Error(), "component", "SparkContext")
	default:
		res.Status, res.Output = Succeeded, out
	}
	d.ev.Emit(events.Event{Kind: events.ApplicationEnd, Outcome: string(res.Status), Message: res.Error})
	return res, nil
}

func (d *Driver) acceptLoop(ctx context.Context) {
	defer d.wg.Done()
	for {
		nc, err := d.ln.Accept()
		if err != nil {
			return
		}
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.handleConn(ctx, nc)
		}()
	}
}

// handleConn authenticates a connection, expects a registration first, then
// turns every message into a loop event.
func (d *Driver) handleConn(ctx context.Context, nc net.Conn) {
	hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	c, err := wire.Accept(hctx, nc, d.cfg.Secret)
	cancel()
	if err != nil {
		// A handshake cut short by the driver's own shutdown is no refusal; a
		// peer that failed to prove the secret is one, whenever shutdown comes.
		if ctx.Err() == nil || errors.Is(err, wire.ErrAuth) {
			d.log.Warn("Refused connection from "+nc.RemoteAddr().String()+": "+err.Error(), "component", "rpc.NettyRpcEnv")
		}
		_ = nc.Close()
		return
	}
	if !d.track(c) {
		_ = c.Close()
		return
	}
	defer d.untrack(c)
	t, payload, err := c.Recv()
	if err != nil {
		return
	}
	if t == rpc.MsgRegisterWorker {
		d.serveWorker(c, payload)
		return
	}
	var reg rpc.RegisterExecutor
	if t != rpc.MsgRegister || wire.DecodeJSON(payload, &reg) != nil {
		d.log.Warn(fmt.Sprintf("Closing connection from %s: expected a registration, got message type %d", c.Peer(), t), "component", "rpc.NettyRpcEnv")
		return
	}
	if !d.post(event{kind: "register", conn: c, exec: reg.ID, register: &reg}) {
		return
	}
	for {
		t, payload, err := c.Recv()
		if err != nil {
			d.post(event{kind: "lost", exec: reg.ID, conn: c, err: err})
			return
		}
		ev := event{exec: reg.ID, conn: c}
		switch t {
		case rpc.MsgHeartbeat:
			ev.kind = "heartbeat"
		case rpc.MsgStatus:
			ev.kind, ev.status = "status", &rpc.StatusUpdate{}
			err = wire.DecodeJSON(payload, ev.status)
		case rpc.MsgReport:
			ev.kind, ev.report = "report", &rpc.Report{}
			err = wire.DecodeJSON(payload, ev.report)
		default:
			err = fmt.Errorf("unexpected message type %d", t)
		}
		if err != nil {
			d.log.Warn(fmt.Sprintf("Closing connection from executor %d: %v", reg.ID, err), "component", "rpc.NettyRpcEnv")
			d.post(event{kind: "lost", exec: reg.ID, conn: c, err: err})
			return
		}
		if !d.post(ev) {
			return
		}
	}
}

func (d *Driver) post(e event) bool {
	select {
	case d.events <- e:
		return true
	case <-d.closing:
		return false
	}
}

func (d *Driver) track(c *wire.Conn) bool {
	d.connsMu.Lock()
	defer d.connsMu.Unlock()
	select {
	case <-d.closing:
		return false
	default:
	}
	d.conns[c] = true
	return true
}

func (d *Driver) untrack(c *wire.Conn) {
	d.connsMu.Lock()
	delete(d.conns, c)
	d.connsMu.Unlock()
	_ = c.Close()
}

// awaitExecutors waits until every expected executor registered or was refused,
// or until the registration wait runs out with at least one usable executor.
func (d *Driver) awaitExecutors(ctx context.Context) error {
	wait, _ := d.cfg.Spec.Conf.Duration(conf.SchedulerRegistrationWait)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for d.registered+d.refused+len(d.exitedEarly) < d.expected {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			if d.aliveCount() == 0 {
				return fmt.Errorf("%w within %s (%d expected, %d refused%s)", ErrNoExecutors, wait, d.expected, d.refused, d.exitedEarlyNote())
			}
			d.log.Warn(fmt.Sprintf("Starting with %d of %d executors after %s", d.aliveCount(), d.expected, wait), "component", "scheduler.TaskSchedulerImpl")
			return nil
		case e := <-d.events:
			d.handle(e)
		}
	}
	switch {
	case d.aliveCount() > 0:
		return nil
	case d.refused > 0:
		return fmt.Errorf("%w: all %d executors were refused; first: %s", errAllRefused, d.refused, d.firstRefusal)
	}
	return fmt.Errorf("%w: every executor exited before registering%s", ErrNoExecutors, d.exitedEarlyNote())
}

// exitedEarlyNote names the executors that exited before registering.
func (d *Driver) exitedEarlyNote() string {
	if len(d.exitedEarly) == 0 {
		return ""
	}
	// In executor order, not in the order their nodes happened to report.
	notes := slices.Clone(d.exitedEarly)
	id := func(n string) (v int) { fmt.Sscanf(n, "executor %d:", &v); return }
	slices.SortStableFunc(notes, func(a, b string) int { return id(a) - id(b) })
	return fmt.Sprintf("; %d exited before registering: %s", len(notes), strings.Join(notes, "; "))
}

// errAllRefused: every executor came and was refused. The application ends
// with that diagnosis; it is not an infrastructure failure.
var errAllRefused = sparkError("Application aborted: no executor could be used")

func (d *Driver) aliveCount() int {
	n := 0
	for _, e := range d.execs {
		if e.alive {
			n++
		}
	}
	return n
}

func (d *Driver) aliveIDs() []int {
	var ids []int
	for id, e := range d.execs {
		if e.alive {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	return ids
}

// shutdown tells executors to stop, closes every connection and waits for the
// connection goroutines.
func (d *Driver) shutdown() {
	d.stopLife() // handshakes still in flight end now
	// Workers first: an executor that exits on the shutdown is not to be relaunched.
	for _, w := range d.workers {
		_ = w.Send(rpc.MsgShutdown, nil)
	}
	for _, id := range d.aliveIDs() {
		_ = d.execs[id].conn.Send(rpc.MsgShutdown, nil)
		d.execs[id].stopping = true
	}
	// Let executors hang up first, so none mistakes the shutdown for a lost driver.
	grace := time.NewTimer(2 * time.Second)
	defer grace.Stop()
	for d.aliveCount() > 0 {
		select {
		case e := <-d.events:
			d.handle(e)
			continue
		case <-grace.C:
		}
		break
	}
	close(d.closing)
	_ = d.ln.Close()
	d.connsMu.Lock()
	for c := range d.conns {
		_ = c.Close()
	}
	d.connsMu.Unlock()
	d.wg.Wait()
}
