package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/fixtures/workloads"
	"github.com/faultbook/faultbook/minicluster/cluster/clustertest"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// runBound bounds one cluster run in these tests; it guards against hangs.
const runBound = 2 * time.Minute

func TestMain(m *testing.M) { clustertest.Main(m) }

// faultbookBinary is the faultbook binary, built once per test process.
func faultbookBinary(tb testing.TB) string { return clustertest.Binary(tb) }

// kryoSpec is a Fast run of kryo-distributed with the fixtures' registrator.
func kryoSpec(name string, nodes, perNode int, params map[string]string) *spec.Spec {
	return &spec.Spec{
		Name:     name,
		Seed:     7,
		Topology: spec.Topology{Nodes: nodes, ExecutorsPerNode: perNode}.WithDefaults(),
		Conf:     conf.New(conf.Fast, map[string]string{conf.KryoRegistrator: fixtures.Registrator}),
		Workload: "kryo-distributed",
		Params:   params,
	}
}

// clusterMode puts sp's driver in a process of its own
// (spark.submit.deployMode=cluster); by default it runs in the test's process.
func clusterMode(sp *spec.Spec) *spec.Spec {
	sp.Conf[conf.SubmitDeployMode] = conf.DeployCluster
	return sp
}

// start starts a cluster for sp in a fresh run directory, closed with the test.
func start(t *testing.T, ctx context.Context, sp *spec.Spec) *Cluster {
	t.Helper()
	c, err := Start(ctx, sp, Options{Binary: faultbookBinary(t), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// driverProcess is the driver's process; the test fails when the driver
// runs in this process (client deploy mode).
func (c *Cluster) driverProcess(t *testing.T) *proc.Process {
	t.Helper()
	p, ok := c.driver.(*proc.Process)
	if !ok {
		t.Fatalf("driver %s: want a process of its own (cluster deploy mode)", c.Driver())
	}
	return p
}

// pids lists every process of the cluster: the driver's own in cluster
// deploy mode, then executors by id.
func (c *Cluster) pids() map[string]int {
	out := map[string]int{}
	if p, ok := c.driver.(*proc.Process); ok {
		out["driver"] = p.Pid()
	}
	for id, e := range c.execs() {
		out[fmt.Sprintf("exec-%d", id)] = e.p.Pid()
	}
	return out
}

// execs lists every executor process the cluster's workers started, by id.
func (c *Cluster) execs() map[int]*execProc {
	out := map[int]*execProc{}
	for _, w := range c.workers {
		w.mu.Lock()
		maps.Copy(out, w.execs)
		w.mu.Unlock()
	}
	return out
}

// assertGone checks that no process, nor any process of its group, is left
// for any of pids.
func assertGone(t *testing.T, pids map[string]int) {
	t.Helper()
	for name, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s (pid %d) still exists: kill(pid, 0) = %v", name, pid, err)
		}
		if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("%s's process group %d still has members: kill(-pgid, 0) = %v", name, pid, err)
		}
	}
}

func countKind(evs []events.Event, k events.Kind) int {
	n := 0
	for _, e := range evs {
		if e.Kind == k {
			n++
		}
	}
	return n
}

func containsLine(lines []string, s string) bool {
	return slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, s) })
}

// TestClusterRunsAndCleansUp runs kryo-distributed on two executor processes
// of the real binary, with the driver in the test's process (client deploy
// mode, Spark's default) and as a process of its own (cluster mode), checks
// everything the run left behind, and that no process of it survives Close.
func TestClusterRunsAndCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	for _, mode := range []string{conf.DeployClient, conf.DeployCluster} {
		t.Run(mode, func(t *testing.T) {
			sp := kryoSpec("cluster-test", 2, 1, nil)
			sp.Conf[conf.SubmitDeployMode] = mode
			runsAndCleansUp(t, sp, map[string]int{conf.DeployClient: 2, conf.DeployCluster: 3}[mode])
		})
	}
}

func runsAndCleansUp(t *testing.T, sp *spec.Spec, processes int) {
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	c := start(t, ctx, sp)
	pids := c.pids()
	if len(pids) != processes {
		t.Fatalf("cluster started %d processes, want %d: %v", len(pids), processes, pids)
	}
	out, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}

	if out.DriverExit.Code != ExitOK || out.DriverExit.Signal != "" {
		t.Errorf("driver %s, want exit status 0; log:\n%s", out.DriverExit, strings.Join(out.Logs["driver"], "\n"))
	}
	for _, id := range []int{1, 2} {
		if x, ok := out.ExecutorExits[id]; !ok || x.Code != ExitOK || x.Signal != "" {
			t.Errorf("executor %d: %s (recorded %v), want exit status 0", id, x, ok)
		}
	}
	checkOutput(t, sp, out)
	if out.Result.Executors != 2 || out.Result.Refused != 0 {
		t.Errorf("result on %d executors (%d refused), want 2", out.Result.Executors, out.Result.Refused)
	}

	for k, n := range map[events.Kind]int{events.ApplicationStart: 1, events.ExecutorAdded: 2, events.JobStart: 3, events.JobEnd: 3, events.ApplicationEnd: 1} {
		if got := countKind(out.Events, k); got != n {
			t.Errorf("%d %s events, want %d", got, k, n)
		}
	}
	for _, k := range []events.Kind{events.ExecutorRefused, events.ExecutorRemoved, events.SafeguardFired, events.FaultHit} {
		if got := countKind(out.Events, k); got != 0 {
			t.Errorf("%d %s events in a clean run", got, k)
		}
	}
	if last := out.Events[len(out.Events)-1]; last.Kind != events.ApplicationEnd || last.Outcome != string(driver.Succeeded) {
		t.Errorf("last event %+v, want application-end succeeded", last)
	}

	if len(out.Logs) != 5 {
		t.Errorf("logs of %d sources, want 5 (driver, 2 executors, 2 workers): %v", len(out.Logs), slices.Sorted(func(yield func(string) bool) {
			for k := range out.Logs {
				if !yield(k) {
					return
				}
			}
		}))
	}
	for src, want := range map[string][]string{
		"driver": {"Started driver for cluster-test", "Registered executor 1", "Registered executor 2", "Job 2 finished"},
		"exec-1": {"Successfully registered with driver", "Driver commanded a shutdown"},
		"exec-2": {"Successfully registered with driver", "Driver commanded a shutdown"},
		"worker-node-a": {"Successfully registered with driver", "Asked to launch executor app-", "/1 for cluster-test",
			"/1 finished with state EXITED message Command exited with code 0 exitStatus 0"},
		"worker-node-b": {"Asked to launch executor app-", "/2 for cluster-test"},
	} {
		for _, s := range want {
			if !containsLine(out.Logs[src], s) {
				t.Errorf("%s log lacks %q:\n%s", src, s, strings.Join(out.Logs[src], "\n"))
			}
		}
	}
	for _, f := range []string{spec.FileName, driver.ResultFile, events.FileName, "driver.log", "exec-1.log", "exec-2.log"} {
		if _, err := os.Stat(filepath.Join(out.Dir, f)); err != nil {
			t.Errorf("run directory: %v", err)
		}
	}

	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	assertGone(t, pids)
}

// waitEvents polls the run's event log until ok holds for what it holds.
func waitEvents(ctx context.Context, dir string, ok func([]events.Event) bool) ([]events.Event, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	path := filepath.Join(dir, events.FileName)
	for {
		if evs, err := events.Read(path); err == nil && ok(evs) {
			return evs, nil
		}
		select {
		case <-ctx.Done():
			evs, _ := events.Read(path)
			return evs, fmt.Errorf("wait for events: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// TestDriverKilledLeavesNoExecutor kills the driver while executors are
// registered and the application is running: every executor must notice and
// exit on its own, and nothing of the run may survive Close.
func TestDriverKilledLeavesNoExecutor(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	// More records than the default, so the run lasts well beyond registration.
	c := start(t, ctx, clusterMode(kryoSpec("driver-killed", 2, 1, map[string]string{workloads.KeyRecords: "5000"})))
	pids := c.pids()
	dp := c.driverProcess(t)

	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	_, err := waitEvents(wctx, c.dir, func(evs []events.Event) bool { return countKind(evs, events.TaskStart) > 0 })
	if err != nil {
		t.Fatal(err)
	}
	// Freeze the driver, so that what the log says now is the state it dies in.
	if err := dp.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	evs, err := events.Read(filepath.Join(c.dir, events.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if n := countKind(evs, events.ExecutorAdded); n != 2 || countKind(evs, events.ApplicationEnd) != 0 {
		t.Fatalf("driver stopped with %d executors registered and the application ended: %v; want 2 and running", n, countKind(evs, events.ApplicationEnd) != 0)
	}
	t.Logf("driver stopped after %d events; last %+v", len(evs), evs[len(evs)-1])
	if err := c.driver.Kill(); err != nil {
		t.Fatal(err)
	}
	if x, err := c.driver.Wait(wctx); err != nil || x.Signal != "SIGKILL" {
		t.Fatalf("driver ended %s (%v), want killed by SIGKILL", x, err)
	}

	execs := c.execs()
	for id, e := range execs {
		x, err := e.p.Wait(wctx)
		if err != nil {
			t.Errorf("executor %d outlived its driver: %v", id, err)
			continue
		}
		if x.Code != ExitJobFailed || x.Signal != "" {
			t.Errorf("executor %d: %s, want exit status %d", id, x, ExitJobFailed)
		}
		log, _ := os.ReadFile(filepath.Join(c.dir, fmt.Sprintf("exec-%d.log", id)))
		if !bytes.Contains(log, []byte("Driver disassociated! Shutting down")) {
			t.Errorf("exec-%d log does not say the driver was lost:\n%s", id, log)
		}
	}

	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	assertGone(t, pids)
}
