// Package cluster starts a minicluster as real processes, a driver and its
// executors (the same binary, hidden subcommands), waits for the application to
// end and collects what it left behind: the driver's result, the event log, every
// process's log and exit status. Every process it starts dies with the Cluster,
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
	"strconv"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Exit codes of the driver and executor subcommands.
const (
	ExitOK        = 0
	ExitJobFailed = 1 // the application aborted (driver), or the executor was refused / lost its driver
	ExitUsage     = 2
	ExitInfra     = 3 // the run could not be carried out (no executor, bad spec)
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

// Cluster is a running minicluster.
type Cluster struct {
	spec   *spec.Spec
	dir    string
	group  *proc.Group
	driver *proc.Process
	execs  map[int]*proc.Process
	start  time.Time
}

// Start writes the spec into the run directory and starts the driver, then one
// executor process per planned executor. The cluster's secret goes to children
// through the environment.
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
	env := []string{spec.SecretEnv + "=" + wire.EncodeSecret(secret)}
	c = &Cluster{spec: sp, dir: o.Dir, group: &proc.Group{}, execs: map[int]*proc.Process{}, start: time.Now()}
	defer func() {
		if err != nil {
			_ = c.Close()
		}
	}()

	addrc := make(chan string, 1)
	c.driver, err = proc.Start(ctx, proc.Spec{
		Name: "driver", Path: o.Binary, Args: []string{"driver", "--run-dir", o.Dir}, Env: env,
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
	var addr string
	select {
	case addr = <-addrc:
	case <-c.driver.Done():
		return nil, fmt.Errorf("%w: driver exited before listening (see %s)", ErrInfra, filepath.Join(o.Dir, "driver.log"))
	case <-time.After(o.StartTimeout):
		return nil, fmt.Errorf("%w: driver did not listen within %s", ErrInfra, o.StartTimeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for _, ex := range sp.Topology.Executors() {
		name := fmt.Sprintf("exec-%d", ex.ID)
		p, err := proc.Start(ctx, proc.Spec{
			Name: name, Path: o.Binary, Env: env, LogPath: filepath.Join(o.Dir, name+".log"),
			Args: []string{"executor", "--run-dir", o.Dir, "--driver", addr, "--id", strconv.Itoa(ex.ID),
				"--node", ex.Node, "--slots", strconv.Itoa(sp.Topology.Slots)},
		})
		if err != nil {
			return nil, fmt.Errorf("%w: start %s: %v", ErrInfra, name, err)
		}
		c.group.Add(p)
		c.execs[ex.ID] = p
	}
	return c, nil
}

// Outcome is everything a finished run left behind.
type Outcome struct {
	// Result is the driver's report; nil when the driver died without one.
	Result        *driver.Result
	DriverExit    proc.Exit
	ExecutorExits map[int]proc.Exit
	Events        []events.Event
	// Logs holds each process's log lines, by source ("driver", "exec-1").
	Logs     map[string][]string
	Duration time.Duration
	Dir      string
}

// Wait waits for the driver to end, gives executors a moment to follow, stops
// whatever is left, and collects the outcome.
func (c *Cluster) Wait(ctx context.Context) (*Outcome, error) {
	dexit, err := c.driver.Wait(ctx)
	if err != nil {
		return nil, fmt.Errorf("wait for driver: %w", err)
	}
	out := &Outcome{DriverExit: dexit, ExecutorExits: map[int]proc.Exit{}, Logs: map[string][]string{}, Dir: c.dir, Duration: time.Since(c.start)}
	grace, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for id, p := range c.execs {
		x, err := p.Wait(grace)
		if err != nil {
			_ = p.Kill()
			x, _ = p.Wait(context.Background())
		}
		out.ExecutorExits[id] = x
	}
	if b, err := os.ReadFile(filepath.Join(c.dir, driver.ResultFile)); err == nil {
		var r driver.Result
		if json.Unmarshal(b, &r) == nil {
			out.Result = &r
		}
	}
	out.Events, _ = events.Read(filepath.Join(c.dir, events.FileName))
	out.Logs["driver"] = readLines(filepath.Join(c.dir, "driver.log"))
	for id := range c.execs {
		name := fmt.Sprintf("exec-%d", id)
		out.Logs[name] = readLines(filepath.Join(c.dir, name+".log"))
	}
	return out, nil
}

// Close kills every process still running and waits for them; safe twice.
func (c *Cluster) Close() error {
	if c == nil || c.group == nil {
		return nil
	}
	return c.group.Close()
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
