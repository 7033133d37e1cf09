package scenarios

import (
	"fmt"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/proc"
)

const npeAbort = "Job aborted due to stage failure: Task 7 in stage 1.0 failed 4 times, most recent failure: Lost task 7.3 in stage 1.0 (TID 18, node-a, executor 1): NullPointerException: runtime error: invalid memory address or nil pointer dereference"

func aborted(msg string, logs map[string][]string) *harness.Observation {
	return &harness.Observation{Outcome: &cluster.Outcome{Logs: logs, ExecutorExits: map[int]proc.Exit{}},
		Result: &driver.Result{Status: driver.Aborted, Error: msg}}
}

func writerLogs() map[string][]string {
	return map[string][]string{
		"driver": {"WARN  scheduler.TaskSetManager: Lost task 7.3 in stage 1.0"},
		"exec-1": {"ERROR executor.Executor: Exception in task 7.3 in stage 1.0 (TID 18)",
			"\tat github.com/faultbook/faultbook/fixtures/workloads.appendJSONString(…) (jsonwriter.go:41)"},
	}
}

func TestReproduceOptionNil(t *testing.T) {
	tests := []struct {
		name    string
		o       *harness.Observation
		wantErr string
	}{
		{"the documented symptom", aborted(npeAbort, writerLogs()), ""},
		{"the job succeeded", &harness.Observation{Outcome: &cluster.Outcome{}, Result: &driver.Result{Status: driver.Succeeded}, Correct: true}, "right answer"},
		{"not Spark's abort", aborted("Job 0 cancelled because every executor was lost", writerLogs()), "does not read like Spark's"},
		{"tried twice", aborted(strings.Replace(npeAbort, "failed 4 times", "failed 2 times", 1), writerLogs()), "tried 2 times"},
		{"another exception", aborted(strings.Replace(npeAbort, "NullPointerException", "ClassCastException", 1), writerLogs()), "not NullPointerException"},
		{"the driver names the cause", aborted(npeAbort+" at Some(nil) in records.Listing.Color", writerLogs()), "names the cause"},
		{"no writer frame in any executor's log", aborted(npeAbort, map[string][]string{"driver": nil, "exec-1": {"ERROR executor.Executor: Exception in task 7.3"}}), "writer's frame"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := reproduceOptionNil(tc.o, &harness.Evidence{})
			if got := fmt.Sprint(err); (tc.wantErr == "") != (err == nil) || !strings.Contains(got, tc.wantErr) {
				t.Errorf("reproduce check: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

const elfAbort = "Job aborted due to stage failure: Task 7 in stage 0.0 failed 4 times, most recent failure: Lost task 7.3 in stage 0.0 (TID 10, node-b, executor 4): ExecutorLostFailure (executor 4 exited caused by one of the running tasks) Reason: Command exited with code 2"

func overflowLogs(dead int) map[string][]string {
	logs := map[string][]string{"driver": nil}
	for i := 1; i <= 4; i++ {
		src := fmt.Sprintf("exec-%d", i)
		logs[src] = []string{fmt.Sprintf("INFO  executor.Executor: Running task 7.%d in stage 0.0 (TID %d)", i-1, 6+i)}
		if i <= dead {
			logs[src] = append(logs[src], "runtime: goroutine stack exceeds 1048576-byte limit", "fatal error: stack overflow")
			logs["driver"] = append(logs["driver"], fmt.Sprintf("ERROR scheduler.TaskSchedulerImpl: Lost executor %d on node-a: Command exited with code 2", i))
		}
	}
	return logs
}

func TestReproduceDeepList(t *testing.T) {
	tests := []struct {
		name    string
		o       *harness.Observation
		wantErr string
	}{
		{"the documented symptom", aborted(elfAbort, overflowLogs(4)), ""},
		{"one executor died", aborted(elfAbort, overflowLogs(1)), "1 executor(s) died"},
		{"the most recent failure is another", aborted(strings.Replace(elfAbort, "ExecutorLostFailure (executor 4", "KryoException (executor 4", 1), overflowLogs(4)), "not ExecutorLostFailure"},
		{"the job did not abort", &harness.Observation{Outcome: &cluster.Outcome{Logs: overflowLogs(4)}, Result: &driver.Result{Status: driver.Succeeded}}, "did not abort"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := reproduceDeepList(tc.o, &harness.Evidence{})
			if got := fmt.Sprint(err); (tc.wantErr == "") != (err == nil) || !strings.Contains(got, tc.wantErr) {
				t.Errorf("reproduce check: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
