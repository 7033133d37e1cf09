package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// dockerOnce connects to the Docker engine once per test process; tests that
// need it skip with the reason when none answers.
var (
	dockerOnce sync.Once
	dockerErr  error
)

func needDocker(t *testing.T) *Docker {
	t.Helper()
	if testing.Short() {
		t.Skip("starts containers")
	}
	dockerOnce.Do(func() { _, dockerErr = Leftovers(context.Background(), "") })
	if dockerErr != nil {
		t.Skip(firstLine(dockerErr.Error()))
	}
	d, err := NewDocker(context.Background(), faultbookBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("docker cleanup: %v", err)
		}
	})
	return d
}

// runNodeFault runs kryo-distributed on 2 nodes with a fault on node-b and
// returns the outcome; the job must complete with the oracle's output on
// node-a.
func runNodeFault(t *testing.T, d *Docker, p fault.Point, params map[string]string) (*Outcome, []events.Event) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	sp := kryoSpec(string(p), 2, 1, jobFor(d))
	sp.Faults = fault.Set{{Point: p, Nodes: []string{"node-b"}, Params: params}}
	c, err := Start(ctx, sp, Options{Binary: faultbookBinary(t), Dir: t.TempDir(), Docker: d})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	out, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var faults []events.Event
	for _, e := range out.Events {
		if e.Name == string(p) {
			faults = append(faults, e)
		}
	}
	return out, faults
}

// jobFor sizes the job so that it outlasts the fault's injection: a signal
// in the process runtime; in the docker runtime, the engine's log stream that
// shows the driver's line and the call to the engine, some 100 ms on a loaded
// machine, so a job of a few seconds.
func jobFor(d *Docker) map[string]string {
	if d != nil {
		return map[string]string{"records": "20000"}
	}
	return map[string]string{"records": "4000"}
}

// wantHit checks a node fault reported one hit on node-b whose proof says what.
func wantHit(t *testing.T, evs []events.Event, proof string) {
	t.Helper()
	for _, e := range evs {
		if e.Kind == events.FaultHit {
			if e.Node != "node-b" || !strings.Contains(e.Message, proof) {
				t.Errorf("hit %+v: want node-b, proof containing %q", e, proof)
			}
			t.Logf("hit: %s", e.Message)
			return
		}
	}
	t.Errorf("no hit among %+v", evs)
}

func TestNodeFaultsProcessRuntime(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	t.Run("freeze", func(t *testing.T) {
		out, evs := runNodeFault(t, nil, fault.NodeFreeze, nil)
		checkOutput(t, kryoSpec("", 2, 1, jobFor(nil)), out)
		wantHit(t, evs, "1 of node-b's 1 executor process(es) stopped (SIGSTOP)")
		if countKind(evs, events.FaultReverted) != 1 {
			t.Errorf("freeze not reverted: %+v", evs)
		}
	})
	t.Run("kill", func(t *testing.T) {
		out, evs := runNodeFault(t, nil, fault.NodeKill, nil)
		checkOutput(t, kryoSpec("", 2, 1, jobFor(nil)), out)
		wantHit(t, evs, "1 of its 1 executor process(es) ended killed by SIGKILL")
		if x := out.ExecutorExits[2]; x.Signal != "SIGKILL" {
			t.Errorf("executor 2 ended %s, want killed by SIGKILL", x)
		}
	})
	t.Run("sham", func(t *testing.T) {
		out, evs := runNodeFault(t, nil, fault.NodeKill, map[string]string{fault.ShamParam: "true"})
		checkOutput(t, kryoSpec("", 2, 1, jobFor(nil)), out)
		if countKind(evs, events.FaultHit) != 0 || countKind(evs, events.FaultNoEffect) != 1 {
			t.Errorf("a sham kill must report no effect and no hit: %+v", evs)
		}
	})
}

func TestNodePartitionNeedsDocker(t *testing.T) {
	topo := spec.Topology{Nodes: 2}
	err := CheckFaults(fault.Set{{Point: fault.NodePartition, Nodes: []string{"node-b"}}}, topo, false)
	if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "--runtime docker") {
		t.Errorf("partition in the process runtime: %v, want a usage error naming --runtime docker", err)
	}
	if err := CheckFaults(fault.Set{{Point: fault.NodeFreeze, Nodes: []string{"node-c"}}}, topo, true); !errors.Is(err, ErrUsage) {
		t.Errorf("freeze of a missing node: %v, want a usage error", err)
	}
	if err := CheckFaults(fault.Set{{Point: fault.NodePartition, Nodes: []string{"node-b"}}}, topo, true); err != nil {
		t.Errorf("partition in the docker runtime: %v", err)
	}
}

// TestNodeFaultsDocker puts each node in a container and freezes (pauses),
// cuts off (disconnects) and kills node-b's container mid-stage: the driver
// loses its executor and the job completes on node-a.
func TestNodeFaultsDocker(t *testing.T) {
	d := needDocker(t)
	t.Run("freeze", func(t *testing.T) {
		out, evs := runNodeFault(t, d, fault.NodeFreeze, nil)
		checkOutput(t, kryoSpec("", 2, 1, jobFor(d)), out)
		wantHit(t, evs, "container")
		wantHit(t, evs, "paused=true")
		if countKind(evs, events.FaultReverted) != 1 {
			t.Errorf("pause not reverted: %+v", evs)
		}
		if !containsLine(out.Logs["driver"], "Lost executor 2 on node-b") {
			t.Errorf("the driver did not lose node-b's executor:\n%s", strings.Join(out.Logs["driver"], "\n"))
		}
	})
	t.Run("partition", func(t *testing.T) {
		out, evs := runNodeFault(t, d, fault.NodePartition, nil)
		checkOutput(t, kryoSpec("", 2, 1, jobFor(d)), out)
		wantHit(t, evs, "=false")
		if countKind(evs, events.FaultReverted) != 1 {
			t.Errorf("partition not reverted: %+v", evs)
		}
	})
	t.Run("kill", func(t *testing.T) {
		out, evs := runNodeFault(t, d, fault.NodeKill, nil)
		checkOutput(t, kryoSpec("", 2, 1, jobFor(d)), out)
		wantHit(t, evs, "exit code 137")
	})
	if n, err := Leftovers(context.Background(), d.Run()); err != nil || n.Containers+n.Networks > 0 {
		t.Errorf("left behind: %+v (%v)", n, err)
	}
}

// TestDockerWaitFailureKeepsLog: a driver that exits before it listens fails
// its readiness wait; its container's log is in the run directory all the
// same, and nothing of the cluster is left on the engine.
func TestDockerWaitFailureKeepsLog(t *testing.T) {
	d := needDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	sp := kryoSpec("no-workload", 2, 1, nil)
	sp.Workload = "no-such-workload"
	dir := t.TempDir()
	c, err := Start(ctx, sp, Options{Binary: faultbookBinary(t), Dir: dir, Docker: d})
	if err == nil {
		_ = c.Close()
		t.Fatal("the cluster started with a driver that cannot run")
	}
	if !errors.Is(err, ErrInfra) || !strings.Contains(err.Error(), "driver container") {
		t.Errorf("error %v: want an infrastructure error naming the driver container", err)
	}
	b, rerr := os.ReadFile(filepath.Join(dir, "driver.log"))
	if rerr != nil || !strings.Contains(string(b), "no-such-workload") {
		t.Errorf("driver.log (%v) does not say why it stopped:\n%s", rerr, b)
	}
	if n, err := Leftovers(context.Background(), d.Run()); err != nil || n.Containers+n.Networks > 0 {
		t.Errorf("left behind: %+v (%v)", n, err)
	}
}
