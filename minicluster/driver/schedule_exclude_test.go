package driver_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/spec"
)

var timeout = rpc.Failure{Kind: "SocketTimeoutException", Message: "Read timed out"}

// failOn fails every attempt that runs on one of the given nodes' executors.
func failOn(sp *spec.Spec, nodes ...string) func(id int) behaviour {
	return func(id int) behaviour {
		for _, ex := range sp.Topology.Executors() {
			if ex.ID == id && slices.Contains(nodes, ex.Node) {
				return func(rpc.LaunchTask) (action, rpc.Failure) { return fail, timeout }
			}
		}
		return alwaysSucceed
	}
}

func startFakesBy(t *testing.T, r *run, sp *spec.Spec, do func(id int) behaviour) {
	t.Helper()
	for _, ex := range sp.Topology.Executors() {
		f := &fakeExecutor{id: ex.ID, node: ex.Node, reg: r.drvReg, do: do(ex.ID)}
		if ref := f.connect(t, r); ref != nil {
			t.Fatalf("exec %d refused: %s", ex.ID, ref.Reason)
		}
	}
}

func excludeSpec(nodes, perNode int, overrides map[string]string, on bool, prefer string) *spec.Spec {
	sg := safeguard.Set{}
	if on {
		sg[safeguard.ExcludeOnFailure] = true
	}
	sp := testSpec(overrides, sg)
	sp.Topology = spec.Topology{Nodes: nodes, ExecutorsPerNode: perNode, Slots: 1}.WithDefaults()
	if prefer != "" {
		sp.Params = map[string]string{"prefer": prefer}
	}
	return sp
}

// Spark's "bad preferred node" case: every partition's input lives on node-b,
// whose executors fail every attempt. Without exclusion delay scheduling keeps
// sending the retries there and the job aborts at spark.task.maxFailures; with
// the defaults the node is excluded and the job succeeds elsewhere.
func TestBadPreferredNode(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprintf("exclusion=%v", on), func(t *testing.T) {
			sp := excludeSpec(3, 2, nil, on, "node-b")
			r := startDriver(t, sp)
			startFakesBy(t, r, sp, failOn(sp, "node-b"))
			res, evs := r.wait(t)
			if !on {
				if res.Status != driver.Aborted || !strings.Contains(res.Error, "failed 4 times, most recent failure: Lost task") ||
					!strings.Contains(res.Error, "node-b") || !strings.Contains(res.Error, "SocketTimeoutException: Read timed out") {
					t.Fatalf("result %s %q, want an abort after 4 failures on node-b; log:\n%s", res.Status, res.Error, r.log)
				}
				if n := len(exclusions(evs)); n != 0 {
					t.Errorf("%d exclusions with exclusion off", n)
				}
				return
			}
			if res.Status != driver.Succeeded {
				t.Fatalf("result %s %q, want success; log:\n%s", res.Status, res.Error, r.log)
			}
			if want := fmt.Sprint(testPartitions * (testPartitions - 1) / 2); string(res.Output) != want {
				t.Errorf("output %s, want %s", res.Output, want)
			}
			var got []string
			for _, e := range exclusions(evs) {
				got = append(got, e.Message)
			}
			for _, want := range []string{"Excluding executor 3 for stage 3", "Excluding executor 4 for stage 3", "Excluding node-b for stage 3",
				"Excluding executor id: 3 because it has ", "Excluding node node-b because it has 2 executors excluded: 3, 4"} {
				if !slices.ContainsFunc(got, func(m string) bool { return strings.HasPrefix(m, want) }) {
					t.Errorf("no exclusion %q among %q", want, got)
				}
			}
			if removed := kinds(evs, events.ExecutorRemoved); len(removed) != 0 {
				t.Errorf("executors removed without killExcludedExecutors: %+v", removed)
			}
			for _, e := range kinds(evs, events.TaskEnd) {
				if e.Outcome == "failed" && e.Attempt >= 2 {
					t.Errorf("task %d failed %d times despite exclusion", e.Task, e.Attempt+1)
				}
			}
		})
	}
}

// With the defaults a job succeeds despite several bad executors on one node,
// with no preference pulling tasks there.
func TestSeveralBadExecutorsOnOneNode(t *testing.T) {
	sp := excludeSpec(2, 3, nil, true, "")
	r := startDriver(t, sp)
	startFakesBy(t, r, sp, failOn(sp, "node-a"))
	res, _ := r.wait(t)
	if res.Status != driver.Succeeded {
		t.Fatalf("result %s %q, want success; log:\n%s", res.Status, res.Error, r.log)
	}
}

// With fewer executors than spark.task.maxFailures, a task that fails
// everywhere can run nowhere before it fails 4 times. The executors are idle,
// so the task set waits spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout
// for an exclusion to lift, then aborts with Spark's message: no hang.
func TestFewerExecutorsThanMaxFailuresAborts(t *testing.T) {
	sp := excludeSpec(2, 1, map[string]string{conf.UnschedulableTaskSetTimeout: "300ms"}, true, "")
	r := startDriver(t, sp)
	startFakes(t, r, sp, failTask(failingTask, -1, timeout))
	res, evs := r.wait(t)
	tries := attempts(evs, failingTask)
	if len(tries) != 2 {
		t.Fatalf("task %d ran %d times, want once per executor; log:\n%s", failingTask, len(tries), r.log)
	}
	last := tries[len(tries)-1]
	want := fmt.Sprintf("Job aborted due to stage failure: Aborting TaskSet 3.0 because task 7 (partition 7) cannot run anywhere due to node and executor excludeOnFailure. "+
		"Most recent failure:\n%s\n\nExcludeOnFailure behavior can be configured via spark.excludeOnFailure.*.", lostLine(last, timeout.String()))
	if res.Status != driver.Aborted || res.Error != want {
		t.Fatalf("result %s %q\nwant     aborted %q", res.Status, res.Error, want)
	}
	msgs := r.log.messages()
	for _, want := range []string{"Waiting for 300 ms for completely excluded task to be schedulable again before aborting TaskSet 3.0.",
		"Cannot schedule any task because all executors excluded due to failures. Wait time for scheduling expired. Aborting TaskSet 3.0."} {
		if !slices.Contains(msgs, want) {
			t.Errorf("driver did not log %q; log:\n%s", want, r.log)
		}
	}
	if end, failed := lastOf(evs, events.JobEnd), last.Time; end.Time.Sub(failed) < 300*time.Millisecond {
		t.Errorf("aborted %s after the last failure, before the 300 ms wait", end.Time.Sub(failed))
	}
}

// The 2.x names still work, with Spark's deprecation warning; a node threshold
// at spark.task.maxFailures is refused at start with the reason.
func TestExclusionConfAtStart(t *testing.T) {
	sp := excludeSpec(2, 1, map[string]string{"spark.blacklist.enabled": "true", "spark.scheduler.blacklist.unschedulableTaskSetTimeout": "100ms"}, false, "")
	r := startDriver(t, sp)
	startFakes(t, r, sp, failTask(failingTask, -1, timeout))
	res, _ := r.wait(t)
	if !strings.Contains(res.Error, "cannot run anywhere") {
		t.Errorf("spark.blacklist.enabled=true did not enable exclusion: %q", res.Error)
	}
	for _, key := range []string{"spark.blacklist.enabled", "spark.scheduler.blacklist.unschedulableTaskSetTimeout"} {
		if !strings.Contains(r.log.String(), "The configuration key '"+key+"' has been deprecated as of Spark 3.1.0") {
			t.Errorf("no deprecation warning for %s; log:\n%s", key, r.log)
		}
	}
	if !strings.Contains(r.log.String(), "Waiting for 100 ms for completely excluded task") {
		t.Errorf("the 2.x name of the unschedulable timeout was not read; log:\n%s", r.log)
	}

	bad := excludeSpec(2, 1, map[string]string{conf.ExcludeTaskMaxAttemptsPerNode: "4"}, true, "")
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "will not be robust to one bad node") {
		t.Fatalf("spec validation %v, want the refusal", err)
	}
}

// With spark.excludeOnFailure.killExcludedExecutors, executors excluded for
// the application are killed, and so is every executor of an excluded node.
func TestKillExcludedExecutors(t *testing.T) {
	sp := excludeSpec(3, 2, map[string]string{conf.ExcludeKillExecutors: "true"}, true, "node-b")
	r := startDriver(t, sp)
	startFakesBy(t, r, sp, failOn(sp, "node-b"))
	res, evs := r.wait(t)
	if res.Status != driver.Succeeded {
		t.Fatalf("result %s %q, want success; log:\n%s", res.Status, res.Error, r.log)
	}
	msgs := r.log.messages()
	for _, want := range []string{"Killing excluded executor id 3 since spark.excludeOnFailure.killExcludedExecutors is set.",
		"Killing all executors on excluded host node-b since spark.excludeOnFailure.killExcludedExecutors is set."} {
		if !slices.Contains(msgs, want) {
			t.Errorf("driver did not log %q; log:\n%s", want, r.log)
		}
	}
	var killed []int
	for _, e := range kinds(evs, events.ExecutorRemoved) {
		if e.Message == "Executor killed by driver: excluded on failure" {
			killed = append(killed, e.Executor)
		}
	}
	if slices.Sort(killed); !slices.Equal(killed, []int{3, 4}) {
		t.Errorf("killed executors %v, want 3 and 4", killed)
	}
}

func exclusions(evs []events.Event) []events.Event {
	var out []events.Event
	for _, e := range evs {
		if slices.Contains(events.Exclusions, e.Kind) {
			out = append(out, e)
		}
	}
	return out
}
