package cluster

import (
	"context"
	"encoding/json"
	"net"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures/workloads"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// checkOutput fails the test unless the run succeeded with the oracle's output.
func checkOutput(t *testing.T, sp *spec.Spec, out *Outcome) {
	t.Helper()
	if out.Result == nil || out.Result.Status != driver.Succeeded {
		t.Fatalf("result %+v, want succeeded; driver log:\n%s", out.Result, strings.Join(out.Logs["driver"], "\n"))
	}
	want, err := workloads.KryoDistributed().Oracle(job.Params{Seed: sp.Seed, Values: sp.Params})
	if err != nil {
		t.Fatal(err)
	}
	var got workloads.KryoOutput
	if err := json.Unmarshal(out.Result.Output, &got); err != nil {
		t.Fatalf("output %s: %v", out.Result.Output, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("output %+v, oracle %+v", got, want)
	}
}

// TestExecutorKilledMidJob kills executor 2 with SIGKILL (the executor-kill
// fault) as its first task of a stage arrives, on real processes: its worker
// reports the exit and launches executor 3; the driver loses executor 2 with
// Spark's lines; what it held is recomputed — map outputs by resubmitting the
// map stage after a fetch failure, cached partitions from their lineage — and
// the job's output is right.
func TestExecutorKilledMidJob(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	tests := []struct {
		name  string
		stage string // kryo-distributed's stage whose first task kills executor 2
		// check looks for the recovery the loss calls for.
		check func(t *testing.T, out *Outcome)
	}{
		{
			name: "between the map and the reduce stage", stage: "5",
			check: func(t *testing.T, out *Outcome) {
				var resub []events.Event
				for _, e := range out.Events {
					if e.Kind == events.StageResubmitted {
						resub = append(resub, e)
					}
				}
				if len(resub) == 0 || resub[0].Stage != 4 || resub[0].Message != "Resubmitting ShuffleMapStage 4 (map at split) and ResultStage 5 (collect at reduceByKey) due to fetch failure" {
					t.Errorf("stage-resubmitted events %+v, want the map stage 4 resubmitted", resub)
				}
				if !containsLine(out.Logs["driver"], "FetchFailed(") {
					t.Errorf("driver log shows no FetchFailed:\n%s", strings.Join(out.Logs["driver"], "\n"))
				}
			},
		},
		{
			name: "holding cached partitions", stage: "1",
			check: func(t *testing.T, out *Outcome) {
				recomputed := false
				for src, lines := range out.Logs {
					recomputed = recomputed || strings.HasPrefix(src, "exec-") && containsLine(lines, "not found, computing it")
				}
				if !recomputed {
					t.Error("no executor recomputed a lost cached partition")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), runBound)
			defer cancel()
			sp := kryoSpec("executor-kill", 2, 1, nil)
			sp.Faults = fault.Set{{Point: fault.ExecutorKill, Executors: []int{2}, Params: map[string]string{"stage": tc.stage}}}
			c := start(t, ctx, sp)
			out, err := c.Wait(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkOutput(t, sp, out)
			tc.check(t, out)

			if x := out.ExecutorExits[2]; x.Signal != "SIGKILL" {
				t.Errorf("executor 2 ended %s, want killed by SIGKILL", x)
			}
			ids := make([]int, 0, len(out.Executors))
			for _, e := range out.Executors {
				ids = append(ids, e.ID)
				if e.ID == 2 && (e.Replacement != 3 || e.Teardown) {
					t.Errorf("executor 2: %+v, want replaced by 3", e)
				}
			}
			if !slices.Equal(ids, []int{1, 2, 3}) {
				t.Errorf("executors %v, want 1, 2 and the replacement 3", ids)
			}
			var exited, removed, hit bool
			for _, e := range out.Events {
				switch {
				case e.Kind == events.FaultHit && e.Name == string(fault.ExecutorKill):
					hit = e.Executor == 2 && strings.HasPrefix(e.Message, "executor 2 kills itself with SIGKILL on receiving task ") &&
						strings.HasSuffix(e.Message, "its node reports it killed by SIGKILL (Command exited with code 137)")

				case e.Kind == events.ExecutorExited && e.Executor == 2:
					exited = e.ExitStatus != nil && *e.ExitStatus == 137 && e.Signal == "SIGKILL" && e.Replacement == 3
				case e.Kind == events.ExecutorRemoved && e.Executor == 2:
					removed = e.ExitStatus != nil && *e.ExitStatus == 137
				}
			}
			if !hit {
				t.Errorf("no executor-kill hit proven by the node's report: %+v", out.Events)
			}
			if !exited || !removed {
				t.Errorf("events: executor 2 exited with 137 by SIGKILL, replaced by 3: %v; removed with its status: %v; driver log:\n%s", exited, removed, strings.Join(out.Logs["driver"], "\n"))
			}
			for src, want := range map[string]string{
				"worker-node-b": "/2 finished with state EXITED message Command exited with code 137 exitStatus 137",
				"driver":        "Lost executor 2 on node-b: Command exited with code 137",
			} {
				if !containsLine(out.Logs[src], want) {
					t.Errorf("%s log lacks %q:\n%s", src, want, strings.Join(out.Logs[src], "\n"))
				}
			}
			if !containsLine(out.Logs["driver"], "ExecutorLostFailure (executor 2 exited unrelated to the running tasks) Reason: Command exited with code 137") {
				t.Errorf("driver log shows no ExecutorLostFailure unrelated to the tasks:\n%s", strings.Join(out.Logs["driver"], "\n"))
			}
		})
	}
}

// TestExecutorKillSham: the executor-kill fault's sham reaches its point and
// kills nothing; it says so, and no hit is recorded.
func TestExecutorKillSham(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	sp := kryoSpec("executor-kill-sham", 2, 1, nil)
	sp.Faults = fault.Set{{Point: fault.ExecutorKill, Executors: []int{2}}}.Sham()
	out, err := start(t, ctx, sp).Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, sp, out)
	var noEffect int
	for _, e := range out.Events {
		switch e.Kind {
		case events.FaultHit, events.ExecutorRemoved, events.ExecutorExited:
			t.Errorf("a sham had an effect: %+v", e)
		case events.FaultNoEffect:
			noEffect++
		}
	}
	if noEffect != 1 || len(out.Executors) != 2 {
		t.Errorf("%d fault-no-effect events and %d executors, want 1 and 2", noEffect, len(out.Executors))
	}
}

// TestExecutorKilledBeforeRegistering kills executor 1 as soon as it is
// started: its worker's report reaches the driver at once, the replacement
// registers, and the driver does not wait out
// spark.scheduler.maxRegisteredResourcesWaitingTime.
func TestExecutorKilledBeforeRegistering(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	sp := kryoSpec("killed-at-start", 2, 1, nil)
	c := start(t, ctx, sp)
	victim := c.execs()[1]
	if err := victim.p.Kill(); err != nil {
		t.Fatal(err)
	}
	out, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkOutput(t, sp, out)
	if containsLine(out.Logs["driver"], "Starting with") {
		t.Errorf("the driver waited for the dead executor:\n%s", strings.Join(out.Logs["driver"], "\n"))
	}
	if !containsLine(out.Logs["driver"], "Registered executor 3") {
		t.Errorf("the replacement did not register:\n%s", strings.Join(out.Logs["driver"], "\n"))
	}
	if x := out.ExecutorExits[1]; x.Signal != "SIGKILL" {
		t.Errorf("executor 1 ended %s, want killed by SIGKILL", x)
	}
	t.Logf("executor 1 died before registering: %v", containsLine(out.Logs["driver"], "exited before registering"))
}

// TestStrayConnectionsDuringRun opens connections to the driver that never
// finish a handshake — one silent, some sending garbage — while a real
// cluster runs: the job is undisturbed, and the driver's shutdown ends their
// handshakes instead of waiting out the 5 s bound on each.
func TestStrayConnectionsDuringRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and starts processes")
	}
	const handshakeTimeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), runBound)
	defer cancel()
	sp := kryoSpec("stray-connections", 2, 1, nil)
	c := start(t, ctx, sp)
	opened := time.Now()
	var d net.Dialer
	for i := range 4 {
		nc, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if i > 0 {
			if _, err := nc.Write([]byte(strings.Repeat("\x00GET / HTTP/1.1\r\n", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, err := c.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(opened); took >= handshakeTimeout {
		t.Errorf("the run ended %s after the stray connections opened: the driver waited for their handshakes", took)
	}
	checkOutput(t, sp, out)
	if out.DriverExit.Code != ExitOK {
		t.Errorf("driver %s, want exit status 0", out.DriverExit)
	}
}
