// Package cluster starts a minicluster as real processes, a driver and its
// executors (the same binary, hidden subcommands), waits for the application to
// end and collects what it left behind: the driver's result, the event log, every
// process's log and exit status. Each node has a worker that starts the node's
// executors and relaunches them as they die, reporting every exit to the
// driver (node.go): in this process in the process runtime, in the node's own
// container in the docker runtime (docker.go). Every process and container it
// starts dies with the Cluster, whatever happens to the run.
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/role"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Exit codes of the driver and executor subcommands (package role runs them).
const (
	ExitOK        = role.ExitOK
	ExitJobFailed = role.ExitJobFailed // the application aborted (driver), or the executor lost its driver
	ExitUsage     = role.ExitUsage
	ExitInfra     = role.ExitInfra // the run could not be carried out (no executor, bad spec)
	// ExitRefused: the driver refused the executor. Its node does not launch
	// another in its place: the refusal is a safeguard's verdict on the
	// application's set-up, which a new process would share.
	ExitRefused = role.ExitRefused
)

// ListeningPrefix starts the line the driver prints on stdout once it accepts
// executors.
const ListeningPrefix = role.ListeningPrefix

// ErrInfra marks a run that could not be carried out.
var ErrInfra = errors.New("cluster could not run")

// Options configure Start.
type Options struct {
	// Binary is the faultbook executable; default os.Executable().
	Binary string
	// Dir is the run directory; it must exist.
	Dir string
	// StartTimeout bounds the wait for the driver to listen. Default 10 s.
	StartTimeout time.Duration
	// Docker, when set, runs each node in its own container of this engine
	// (the docker runtime); nil runs every process on this host.
	Docker *Docker
	// Env is added to every process's environment (in the docker runtime,
	// every container's).
	Env []string
	// Services are addresses on this host's loopback ("127.0.0.1:41234") that
	// the cluster's processes connect to: the data service's proxies, the S3
	// server. The process runtime reaches them directly; the docker runtime
	// relays them through a gateway container (gateway.go), where a node finds
	// each at RelayAddr(addr, true).
	Services []string
	// OnDriverLine, when set, sees each line the driver prints.
	OnDriverLine func(line string)
}

// Cluster is a running minicluster: a driver, and per node a worker that
// starts the node's executor processes and relaunches them as they die. In
// the process runtime the driver is a child process and the workers run here;
// in the docker runtime the driver and each node are containers.
type Cluster struct {
	spec  *spec.Spec
	dir   string
	app   string
	start time.Time
	// addr is the driver's address (in the docker runtime, on the run's network).
	addr string
	// onDriverLine is Options.OnDriverLine.
	onDriverLine func(string)

	// process runtime: the driver is a child process (cluster deploy mode)
	// or runs here (client deploy mode, a *clientDriver)
	group   *proc.Group
	driver  driverProc
	workers []*Worker

	// docker runtime
	dk *dockerCluster

	// faults are the node-level faults under way, reverted by Wait and Close.
	faults *nodeFaults
}

// Start writes the spec into the run directory and starts the driver, then a
// worker per node, which starts the node's executors. The cluster's secret
// goes to children through the environment.
func Start(ctx context.Context, sp *spec.Spec, o Options) (c *Cluster, err error) {
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("%w: find own executable: %v", ErrInfra, err)
		}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 10 * time.Second
	}
	if err := sp.Validate(); err != nil {
		return nil, err
	}
	if err := checkNodeFaults(sp, o.Docker != nil); err != nil {
		return nil, err
	}
	if _, err := sp.Write(o.Dir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInfra, err)
	}
	secret, err := wire.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInfra, err)
	}
	now := time.Now()
	c = &Cluster{spec: sp, dir: o.Dir, group: &proc.Group{}, start: now,
		app: fmt.Sprintf("app-%s-0000", now.UTC().Format("20060102150405"))}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()
	c.onDriverLine = o.OnDriverLine
	env := append(slices.Clone(o.Env), spec.SecretEnv+"="+wire.EncodeSecret(secret))
	if c.faults, err = newNodeFaults(c); err != nil {
		return nil, err
	}
	if o.Docker != nil {
		if _, err = o.Docker.start(ctx, c, secret, o); err != nil {
			return nil, err
		}
		return c, nil
	}

	addrc, onLine := c.driverLines()
	logPath := filepath.Join(o.Dir, "driver.log")
	if sp.Conf.DeployMode() == conf.DeployCluster {
		// faultbook-driver, or faultbook itself: a driver may checkpoint
		// to S3, which faultbook-node does not link.
		p, err := proc.Start(ctx, proc.Spec{
			Name: "driver", Path: DriverBinary(o.Binary), Args: []string{"driver", "--run-dir", o.Dir}, Env: env,
			LogPath: logPath, OnLine: onLine,
		})
		if err != nil {
			return nil, fmt.Errorf("%w: start driver: %v", ErrInfra, err)
		}
		c.driver = p
		c.group.Add(p)
	} else {
		d, err := startClientDriver(ctx, role.DriverSetup{Spec: sp, Secret: secret, Dir: o.Dir}, logPath, onLine)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInfra, err)
		}
		c.driver = d
	}
	select {
	case c.addr = <-addrc:
	case <-c.driver.Done():
		return nil, fmt.Errorf("%w: driver exited before listening (see %s)", ErrInfra, logPath)
	case <-time.After(o.StartTimeout):
		return nil, fmt.Errorf("%w: driver did not listen within %s", ErrInfra, o.StartTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	o.Binary = NodeBinary(o.Binary)
	maxRetries, _ := sp.Conf.Int(conf.DeployMaxExecutorRetries) // validated above
	ids := NewIDs(len(sp.Topology.Executors())+1, 1, maxRetries)
	for _, node := range Nodes(sp) {
		w, err := StartWorker(ctx, WorkerConfig{Node: node, App: c.app, Spec: sp, Dir: o.Dir, Binary: o.Binary, Env: env,
			Secret: secret, DriverAddr: c.addr, IDs: ids, DriverDone: c.driver.Done(), StartTimeout: o.StartTimeout})
		if err != nil {
			return nil, err
		}
		c.workers = append(c.workers, w)
	}
	for _, w := range c.workers {
		if err := w.LaunchPlanned(); err != nil {
			return nil, err
		}
	}
	c.faults.markReady()
	return c, nil
}

// driverLines follows the driver's output, in either runtime: the address
// it listens on comes out on addrc, and every line goes to the node faults.
func (c *Cluster) driverLines() (addrc chan string, onLine func(string)) {
	addrc = make(chan string, 1)
	return addrc, func(line string) {
		if c.onDriverLine != nil {
			c.onDriverLine(line)
		}
		if a, ok := strings.CutPrefix(line, ListeningPrefix); ok {
			select {
			case addrc <- strings.TrimSpace(a):
			default:
			}
		}
		c.faults.driverLine(line)
	}
}

// KillDriver sends SIGKILL to the driver, as a machine or container dying
// would: the process here, its container's (`docker kill`) in the docker
// runtime. Its executors find their driver lost and exit. A driver in client
// deploy mode cannot be killed apart from this process (ErrClientDriver).
func (c *Cluster) KillDriver() error {
	if c.dk != nil {
		return c.dk.killDriver()
	}
	return c.driver.Kill()
}

// Driver names the driver for a log line: "pid 4242", or its container.
func (c *Cluster) Driver() string {
	if c.dk != nil {
		return "container " + c.dk.names[driverHost]
	}
	if p, ok := c.driver.(*proc.Process); ok {
		return fmt.Sprintf("pid %d", p.Pid())
	}
	return fmt.Sprintf("in this process, pid %d (client deploy mode)", os.Getpid())
}

// DriverPid is the driver process's id: 0 in the docker runtime, and this
// process's in client deploy mode.
func (c *Cluster) DriverPid() int {
	if p, ok := c.driver.(*proc.Process); ok {
		return p.Pid()
	}
	if _, ok := c.driver.(*clientDriver); ok {
		return os.Getpid()
	}
	return 0
}

// Nodes lists the nodes of a run's topology, in order.
func Nodes(sp *spec.Spec) []string {
	var out []string
	for _, ex := range sp.Topology.Executors() {
		if len(out) == 0 || out[len(out)-1] != ex.Node {
			out = append(out, ex.Node)
		}
	}
	return out
}

// Outcome is everything a finished run left behind.
type Outcome struct {
	// Result is the driver's report; nil when the driver died without one.
	Result        *driver.Result
	DriverExit    proc.Exit
	ExecutorExits map[int]proc.Exit
	// Executors describes every executor process, relaunched ones included, by id.
	Executors []ExecutorRun
	Events    []events.Event
	// Logs holds each process's log lines, by source ("driver", "exec-1"), and
	// each node's worker log ("worker-node-a").
	Logs     map[string][]string
	Duration time.Duration
	Dir      string
}

// ExecutorRun is one executor process and how it ended.
type ExecutorRun struct {
	ID   int
	Node string
	Exit proc.Exit
	// Teardown: the cluster killed it after the driver ended, because it had
	// not exited by itself; its exit is the cluster's doing.
	Teardown bool
	// Replacement is the executor its node launched in its place, or 0.
	Replacement int
}

// WorkerLogPrefix starts the log source of a node's worker: "worker-node-a".
const WorkerLogPrefix = "worker-"

// Wait waits for the driver to end, gives executors a moment to follow, stops
// whatever is left, and collects the outcome.
func (c *Cluster) Wait(ctx context.Context) (*Outcome, error) {
	if c.dk != nil {
		return c.dk.wait(ctx)
	}
	dexit, err := c.driver.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("wait for driver: %w", err)
	}
	c.faults.revert()
	grace, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var runs []ExecutorRun
	for _, w := range c.workers {
		runs = append(runs, w.Finish(grace)...)
	}
	return c.collect(dexit, runs), nil
}

// collect reads what the run left in its directory: the driver's result, its
// event log and the node faults', and every process's log.
func (c *Cluster) collect(dexit proc.Exit, runs []ExecutorRun) *Outcome {
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	out := &Outcome{DriverExit: dexit, ExecutorExits: map[int]proc.Exit{}, Executors: runs, Logs: map[string][]string{},
		Dir: c.dir, Duration: time.Since(c.start)}
	for _, r := range runs {
		out.ExecutorExits[r.ID] = r.Exit
	}
	for _, n := range Nodes(c.spec) {
		out.Logs[WorkerLogPrefix+n] = readLines(filepath.Join(c.dir, WorkerLogPrefix+n+".log"))
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, driver.ResultFile)); err == nil {
		var r driver.Result
		if json.Unmarshal(b, &r) == nil {
			out.Result = &r
		}
	}
	out.Events, _ = events.Read(filepath.Join(c.dir, events.FileName))
	if fe, err := events.Read(filepath.Join(c.dir, NodeFaultEvents)); err == nil && len(fe) > 0 {
		out.Events = append(out.Events, fe...)
		sort.SliceStable(out.Events, func(i, j int) bool { return out.Events[i].Time.Before(out.Events[j].Time) })
	}
	out.Logs["driver"] = readLines(filepath.Join(c.dir, "driver.log"))
	for _, r := range runs {
		name := fmt.Sprintf("exec-%d", r.ID)
		out.Logs[name] = readLines(filepath.Join(c.dir, name+".log"))
	}
	return out
}

// Close kills every process still running and waits for them; safe twice.
// In the docker runtime it removes the run's containers and network.
func (c *Cluster) Close() error {
	if c == nil {
		return nil
	}
	c.faults.revert()
	c.faults.close()
	if c.dk != nil {
		return c.dk.close()
	}
	if c.group == nil {
		return nil
	}
	var errs []error
	for _, w := range c.workers {
		errs = append(errs, w.Close())
	}
	errs = append(errs, c.group.Close())
	if d, ok := c.driver.(*clientDriver); ok {
		errs = append(errs, d.close())
	}
	return errors.Join(errs...)
}

func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
