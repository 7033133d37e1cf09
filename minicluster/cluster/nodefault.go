package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// Node-level faults act on a node from outside it, as a host's failures do:
// the cluster injects them, watching the driver's log for the moment (the
// node's first task of a stage) and for the driver's verdict (every executor
// of the node lost), and reverts them then or when the run ends. Inject and
// revert are one code path (setNode with on true or false), in both runtimes.
// Each injection's hit, with the proof of its effect as observed afterwards,
// goes to an event log of its own beside the driver's, which Wait merges.

// NodeFaultEvents is the node-level faults' event log in a run directory.
const NodeFaultEvents = "node-faults.jsonl"

// ErrUsage marks a run that cannot be asked for: a node fault the runtime
// cannot inject, or on a node the topology lacks.
var ErrUsage = errors.New("fault cannot run")

// CheckFaults refuses node-level faults a run could not inject: on a node the
// topology lacks, or a partition outside the docker runtime.
func CheckFaults(faults fault.Set, topo spec.Topology, docker bool) error {
	sp := &spec.Spec{Topology: topo.WithDefaults()}
	nodes := Nodes(sp)
	for _, f := range faults {
		if !f.Point.IsNodeLevel() {
			continue
		}
		if len(f.Nodes) == 0 {
			return fmt.Errorf("%w: %s names no node", ErrUsage, f.Point)
		}
		for _, n := range f.Nodes {
			if !slices.Contains(nodes, n) {
				return fmt.Errorf("%w: %s, but the cluster has %d node(s)", ErrUsage, f.String(), len(nodes))
			}
		}
		if f.Point == fault.NodePartition && !docker {
			return fmt.Errorf("%w: %s needs the docker runtime (--runtime docker): processes of one host share its network", ErrUsage, f.String())
		}
		if _, err := stageOf(f); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrUsage, f.String(), err)
		}
	}
	return nil
}

func checkNodeFaults(sp *spec.Spec, docker bool) error {
	return CheckFaults(sp.Faults, sp.Topology, docker)
}

func stageOf(f fault.Spec) (int, error) {
	s, ok := f.Params["stage"]
	if !ok {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("stage %q: want a stage id", s)
	}
	return n, nil
}

var (
	reStartTask  = regexp.MustCompile(`Starting task \d+\.\d+ in stage (\d+)\.\d+ \(TID \d+, ([^,]+), executor (\d+)`)
	reRegistered = regexp.MustCompile(`Registered executor (\d+) \([^)]*\) on (\S+) with`)
	reLost       = regexp.MustCompile(`Lost executor (\d+) on ([^:]+):`)
)

// nodeFaults are the node-level faults of one cluster.
type nodeFaults struct {
	c   *Cluster
	log *events.Log

	mu         sync.Mutex
	faults     []*nodeFault
	registered map[string]map[int]bool
	wg         sync.WaitGroup
	// ready is closed once the cluster has started (or is closing): a fault
	// fired while nodes were still starting waits for it.
	ready     chan struct{}
	readyOnce sync.Once
}

func (nf *nodeFaults) markReady() {
	if nf != nil {
		nf.readyOnce.Do(func() { close(nf.ready) })
	}
}

// nodeFault is one fault on one node.
type nodeFault struct {
	spec  fault.Spec
	node  string
	stage int
	lost  map[int]bool
	fired bool // under nodeFaults.mu

	mu       sync.Mutex // orders inject and revert
	on       bool
	reverted bool
}

func newNodeFaults(c *Cluster) (*nodeFaults, error) {
	nf := &nodeFaults{c: c, registered: map[string]map[int]bool{}, ready: make(chan struct{})}
	for _, f := range c.spec.Faults {
		if !f.Point.IsNodeLevel() {
			continue
		}
		stage, _ := stageOf(f) // checked
		for _, n := range f.Nodes {
			nf.faults = append(nf.faults, &nodeFault{spec: f, node: n, stage: stage, lost: map[int]bool{}})
		}
	}
	if len(nf.faults) == 0 {
		return nf, nil
	}
	var err error
	if nf.log, err = events.Create(filepath.Join(c.dir, NodeFaultEvents)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInfra, err)
	}
	return nf, nil
}

// driverLine follows the driver's log: it fires a fault when the driver
// starts its node's first task of its stage, and reverts it once the driver
// has declared every executor of the node lost. It never blocks.
func (nf *nodeFaults) driverLine(line string) {
	if nf == nil || len(nf.faults) == 0 {
		return
	}
	nf.mu.Lock()
	defer nf.mu.Unlock()
	if m := reRegistered.FindStringSubmatch(line); m != nil {
		id, _ := strconv.Atoi(m[1])
		if nf.registered[m[2]] == nil {
			nf.registered[m[2]] = map[int]bool{}
		}
		nf.registered[m[2]][id] = true
		return
	}
	if m := reStartTask.FindStringSubmatch(line); m != nil {
		stage, _ := strconv.Atoi(m[1])
		for _, f := range nf.faults {
			if !f.fired && f.node == m[2] && f.stage == stage {
				f.fired = true
				execs := nf.execsOf(f.node)
				nf.wg.Go(func() { nf.inject(f, execs) })
			}
		}
		return
	}
	if m := reLost.FindStringSubmatch(line); m != nil {
		id, _ := strconv.Atoi(m[1])
		for _, f := range nf.faults {
			if !f.fired || f.node != m[2] || f.spec.Point == fault.NodeKill {
				continue
			}
			f.lost[id] = true
			all := true
			for e := range nf.registered[f.node] {
				all = all && f.lost[e]
			}
			if all {
				nf.wg.Go(func() { nf.revertOne(f) })
			}
		}
	}
}

// execsOf lists the executors registered on a node; nf.mu is held.
func (nf *nodeFaults) execsOf(node string) []int {
	var ids []int
	for id := range nf.registered[node] {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// inject puts a fault on and reports its hit, or that it had no effect.
func (nf *nodeFaults) inject(f *nodeFault, execs []int) {
	<-nf.ready
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reverted {
		return
	}
	f.on = true
	at := time.Now()
	proof, effect, err := nf.c.setNode(f, true)
	ev := events.Event{Kind: events.FaultHit, Name: string(f.spec.Point), Node: f.node, Role: "node", Time: at}
	switch {
	case err != nil:
		ev.Kind, ev.Message = events.FaultNoEffect, fmt.Sprintf("%s on %s failed: %v", f.spec.Point, f.node, err)
	case !effect:
		ev.Kind, ev.Message = events.FaultNoEffect, proof
	default:
		ev.Message = fmt.Sprintf("%s at t=%s, %s", proof, at.UTC().Format("15:04:05.000"), execList(execs))
	}
	nf.log.Emit(ev)
}

func execList(ids []int) string {
	if len(ids) == 0 {
		return "no executor registered there yet"
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = "exec-" + strconv.Itoa(id)
	}
	return fmt.Sprintf("%d executor(s) on it: %s", len(ids), strings.Join(names, ", "))
}

// revertOne undoes a freeze or a partition; a kill stays.
func (nf *nodeFaults) revertOne(f *nodeFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.reverted {
		return
	}
	f.reverted = true
	if !f.on || f.spec.Point == fault.NodeKill {
		return
	}
	proof, _, err := nf.c.setNode(f, false)
	msg := proof
	if err != nil {
		msg = fmt.Sprintf("undo %s on %s failed: %v", f.spec.Point, f.node, err)
	}
	nf.log.Emit(events.Event{Kind: events.FaultReverted, Name: string(f.spec.Point), Node: f.node, Role: "node", Message: msg})
}

// revert undoes every fault still on, and waits for injections under way.
func (nf *nodeFaults) revert() {
	if nf == nil {
		return
	}
	nf.markReady()
	for _, f := range nf.faults {
		nf.revertOne(f)
	}
	nf.wg.Wait()
}

func (nf *nodeFaults) close() {
	if nf != nil {
		_ = nf.log.Close()
	}
}

// setNode puts a node-level fault on (true) or off on its node, in either
// runtime, and returns the proof of its effect as observed afterwards.
func (c *Cluster) setNode(f *nodeFault, on bool) (proof string, effect bool, err error) {
	sham := f.spec.Sham()
	if c.dk != nil {
		return c.dk.setNode(f.spec.Point, f.node, on, sham)
	}
	var w *Worker
	for _, x := range c.workers {
		if x.Node() == f.node {
			w = x
		}
	}
	if w == nil {
		return "", false, fmt.Errorf("no worker for %s", f.node)
	}
	ps := w.Processes()
	switch f.spec.Point {
	case fault.NodeFreeze:
		sig, want := syscall.SIGCONT, false
		if on {
			sig, want = syscall.SIGSTOP, true
		}
		for _, p := range ps {
			if !sham {
				_ = p.Signal(sig)
			}
		}
		n := waitStopped(ps, want)
		verb := map[bool]string{true: "stopped (SIGSTOP)", false: "continued (SIGCONT)"}[on]
		return fmt.Sprintf("%d of %s's %d executor process(es) %s, as /proc shows", n, f.node, len(ps), verb), len(ps) > 0 && n == len(ps), nil
	case fault.NodeKill:
		if !on {
			return "", false, nil
		}
		if !sham {
			w.Die()
		}
		n := 0
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, p := range ps {
			if x, err := p.Wait(ctx); err == nil && x.Signal == "SIGKILL" {
				n++
			}
		}
		return fmt.Sprintf("%s died: its worker hung up, %d of its %d executor process(es) ended killed by SIGKILL", f.node, n, len(ps)),
			len(ps) > 0 && n == len(ps), nil
	}
	return "", false, fmt.Errorf("%s is not supported by the process runtime", f.spec.Point)
}

// waitStopped waits up to a second for every process to be stopped (want
// true) or not, as /proc/PID/stat says, and returns how many are.
func waitStopped(ps []*proc.Process, want bool) int {
	deadline := time.Now().Add(time.Second)
	for {
		n := 0
		for _, p := range ps {
			if procStopped(p.Pid()) == want {
				n++
			}
		}
		if n == len(ps) || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func procStopped(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	st := b[i+2]
	return st == 'T' || st == 't'
}

// setNode is the docker runtime's half of Cluster.setNode: the node's
// container is paused, disconnected or killed through the engine.
func (dc *dockerCluster) setNode(p fault.Point, node string, on, sham bool) (string, bool, error) {
	id := dc.nodeContainer(node)
	if id == "" {
		return "", false, fmt.Errorf("no container for %s", node)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := dc.d.cli
	var err error
	if !sham {
		switch {
		case p == fault.NodeFreeze && on:
			_, err = cli.ContainerPause(ctx, id, client.ContainerPauseOptions{})
		case p == fault.NodeFreeze:
			_, err = cli.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{})
		case p == fault.NodePartition && on:
			_, err = cli.NetworkDisconnect(ctx, dc.net.ID, client.NetworkDisconnectOptions{Container: id, Force: true})
		case p == fault.NodePartition:
			_, err = cli.NetworkConnect(ctx, dc.net.ID, client.NetworkConnectOptions{Container: id,
				EndpointConfig: &network.EndpointSettings{Aliases: []string{node}}})
		case p == fault.NodeKill && on:
			if _, err = cli.ContainerKill(ctx, id, client.ContainerKillOptions{Signal: "SIGKILL"}); err == nil {
				w := cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: container.WaitConditionNotRunning})
				select {
				case <-w.Result:
				case err = <-w.Error:
				}
			}
		default:
			return "", false, nil
		}
		if err != nil {
			return "", false, err
		}
	}
	ins, err := cli.ContainerInspect(ctx, id, client.ContainerInspectOptions{})
	if err != nil {
		return "", false, err
	}
	st := ins.Container.State
	short := id
	switch p {
	case fault.NodeFreeze:
		return fmt.Sprintf("%s's container %s paused=%v (engine state %s)", node, short, st.Paused, st.Status), st.Paused == on, nil
	case fault.NodePartition:
		_, attached := ins.Container.NetworkSettings.Networks[dc.net.Name]
		return fmt.Sprintf("%s's container %s attached to network %s=%v", node, short, dc.net.Name, attached), attached != on, nil
	}
	// NodeKill: the engine reports the container stopped, killed by SIGKILL.
	switch {
	case !st.Running && st.ExitCode == 137:
		return fmt.Sprintf("%s's container %s killed: running=false, exit code 137 (128+SIGKILL)", node, short), true, nil
	case !st.Running:
		return fmt.Sprintf("%s's container %s had already ended by itself (exit code %d)", node, short, st.ExitCode), false, nil
	}
	return fmt.Sprintf("%s's container %s still running", node, short), false, nil
}
