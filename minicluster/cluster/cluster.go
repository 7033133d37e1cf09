// Package cluster starts a minicluster as real processes, a driver and its
// executors (the same binary, hidden subcommands), waits for the application to
// end and collects what it left behind: the driver's result, the event log, every
// process's log and exit status. Each node has a worker in this process that
// starts the node's executors and relaunches them as they die, reporting every
// exit to the driver (node.go). Every process it starts dies with the Cluster,
// whatever happens to the run.
package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Exit codes of the driver and executor subcommands.
const (
	ExitOK        = 0
	ExitJobFailed = 1 // the application aborted (driver), or the executor lost its driver
	ExitUsage     = 2
	ExitInfra     = 3 // the run could not be carried out (no executor, bad spec)
	// ExitRefused: the driver refused the executor. Its node does not launch
	// another in its place: the refusal is a safeguard's verdict on the
	// application's set-up, which a new process would share.
	ExitRefused = 4
)

// ListeningPrefix starts the line the driver prints on stdout once it accepts
// executors.
const ListeningPrefix = "listening "

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
}

// Cluster is a running minicluster: a driver process, and per node a worker
// (in this process) that starts the node's executor processes and relaunches
// them as they die.
type Cluster struct {
	spec   *spec.Spec
	dir    string
	app    string
	group  *proc.Group
	driver *proc.Process
	nodes  []*node
	start  time.Time

	// launch is what every executor process is started with.
	ctx    context.Context
	binary string
	env    []string
	addr   string

	mu sync.Mutex
	// execs holds every executor process started, by id, relaunched ones too.
	execs  map[int]*execProc
	nextID int
	// retries counts abnormal executor exits of the application; ended is set
	// once the driver has exited, after which nothing is launched.
	retries, maxRetries int
	ended               bool
	watchers            sync.WaitGroup
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
	if _, err := sp.Write(o.Dir); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInfra, err)
	}
	secret, err := wire.NewSecret()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInfra, err)
	}
	maxRetries, _ := sp.Conf.Int(conf.DeployMaxExecutorRetries) // validated above
	now := time.Now()
	c = &Cluster{spec: sp, dir: o.Dir, group: &proc.Group{}, execs: map[int]*execProc{}, start: now,
		app: fmt.Sprintf("app-%s-0000", now.UTC().Format("20060102150405")), ctx: ctx, binary: o.Binary,
		env: []string{spec.SecretEnv + "=" + wire.EncodeSecret(secret)}, maxRetries: maxRetries}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()

	addrc := make(chan string, 1)
	c.driver, err = proc.Start(ctx, proc.Spec{
		Name: "driver", Path: o.Binary, Args: []string{"driver", "--run-dir", o.Dir}, Env: c.env,
		LogPath: filepath.Join(o.Dir, "driver.log"),
		OnLine: func(line string) {
			if a, ok := strings.CutPrefix(line, ListeningPrefix); ok {
				select {
				case addrc <- strings.TrimSpace(a):
				default:
				}
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%w: start driver: %v", ErrInfra, err)
	}
	c.group.Add(c.driver)
	select {
	case c.addr = <-addrc:
	case <-c.driver.Done():
		return nil, fmt.Errorf("%w: driver exited before listening (see %s)", ErrInfra, filepath.Join(o.Dir, "driver.log"))
	case <-time.After(o.StartTimeout):
		return nil, fmt.Errorf("%w: driver did not listen within %s", ErrInfra, o.StartTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	planned := sp.Topology.Executors()
	c.nextID = len(planned) + 1
	byNode := map[string]*node{}
	for _, ex := range planned {
		if byNode[ex.Node] != nil {
			continue
		}
		n, err := c.startNode(ctx, ex.Node, secret, o.StartTimeout)
		if err != nil {
			return nil, err
		}
		byNode[ex.Node] = n
		c.nodes = append(c.nodes, n)
	}
	for _, ex := range planned {
		c.watchers.Add(1)
		if err := c.launch(byNode[ex.Node], ex.ID); err != nil {
			return nil, err
		}
	}
	return c, nil
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
	dexit, err := c.driver.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("wait for driver: %w", err)
	}
	c.mu.Lock()
	c.ended = true // no launch after this: the set of executors is final
	execs := make([]*execProc, 0, len(c.execs))
	for _, e := range c.execs {
		execs = append(execs, e)
	}
	c.mu.Unlock()
	out := &Outcome{DriverExit: dexit, ExecutorExits: map[int]proc.Exit{}, Logs: map[string][]string{}, Dir: c.dir, Duration: time.Since(c.start)}
	grace, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for _, e := range execs {
		if x, err := e.p.Wait(grace); err == nil {
			out.ExecutorExits[e.id] = x
		}
	}
	// Whatever did not follow the driver is killed; its watcher, and any
	// relaunch that was under way when the driver ended, finish with it.
	c.mu.Lock()
	for _, e := range c.execs {
		if _, done := out.ExecutorExits[e.id]; !done {
			e.teardown.Store(true)
			_ = e.p.Kill()
		}
	}
	c.mu.Unlock()
	c.watchers.Wait()
	c.mu.Lock()
	execs = execs[:0]
	for _, e := range c.execs {
		execs = append(execs, e)
	}
	c.mu.Unlock()
	sort.Slice(execs, func(i, j int) bool { return execs[i].id < execs[j].id })
	for _, e := range execs {
		x, _ := e.p.Wait(context.Background()) // done: its watcher has returned
		out.ExecutorExits[e.id] = x
	}
	for _, e := range execs {
		out.Executors = append(out.Executors, ExecutorRun{ID: e.id, Node: e.node.name, Exit: out.ExecutorExits[e.id],
			Teardown: e.teardown.Load(), Replacement: int(e.replacement.Load())})
	}
	for _, n := range c.nodes {
		n.close()
		out.Logs[WorkerLogPrefix+n.name] = readLines(n.logPath)
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, driver.ResultFile)); err == nil {
		var r driver.Result
		if json.Unmarshal(b, &r) == nil {
			out.Result = &r
		}
	}
	out.Events, _ = events.Read(filepath.Join(c.dir, events.FileName))
	out.Logs["driver"] = readLines(filepath.Join(c.dir, "driver.log"))
	for _, e := range execs {
		name := fmt.Sprintf("exec-%d", e.id)
		out.Logs[name] = readLines(filepath.Join(c.dir, name+".log"))
	}
	return out, nil
}

// Close kills every process still running and waits for them; safe twice.
func (c *Cluster) Close() error {
	if c == nil || c.group == nil {
		return nil
	}
	c.mu.Lock()
	c.ended = true
	c.mu.Unlock()
	err := c.group.Close()
	c.watchers.Wait()
	for _, n := range c.nodes {
		n.close()
	}
	return err
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
