package scenarios

import (
	"fmt"
	"strings"
)

const npeAbort = "Job aborted due to stage failure: Task 7 in stage 1.0 failed 4 times, most recent failure: Lost task 7.3 in stage 1.0 (TID 18, node-a, executor 1): NullPointerException: runtime error: invalid memory address or nil pointer dereference"

// writerStack is option-nil's documented place: the writer's frame in an
// executor's logged stack.
var writerStack = map[string][]string{
	"driver": {"2026-11-29 13:17:08.097 WARN  scheduler.TaskSetManager: Lost task 7.3 in stage 1.0 (TID 18, node-a, executor 1): NullPointerException"},
	"exec-1": {"2026-11-29 13:17:08.097 ERROR executor.Executor: Exception in task 7.3 in stage 1.0 (TID 18)",
		"\tat github.com/faultbook/faultbook/fixtures/workloads.appendJSONString(…) (jsonwriter.go:41)"},
}

func optionNilCases() []tc {
	return []tc{
		{"documented symptom", run{abort: npeAbort, logs: writerStack}, true, ""},
		{"no symptom: the right answer", run{correct: true}, false, "right answer"},
		{"not Spark's abort", run{abort: "Job 0 cancelled because every executor was lost", logs: writerStack}, false, "does not read like Spark's"},
		{"tried twice, not spark.task.maxFailures", run{abort: strings.Replace(npeAbort, "failed 4 times", "failed 2 times", 1), logs: writerStack}, false, "tried 2 times"},
		{"wrong exception kind", run{abort: strings.Replace(npeAbort, "NullPointerException", "ClassCastException", 1), logs: writerStack}, false, "not NullPointerException"},
		{"the driver names the cause", run{abort: npeAbort + ": Some(nil) in records.Listing.Color", logs: writerStack}, false, "names the cause"},
		{"symptom in the wrong place: no writer frame in any executor's log", run{abort: npeAbort, logs: map[string][]string{"exec-1": {"ERROR executor.Executor: Exception in task 7.3"}}}, false, "writer's frame"},
	}
}

const elfAbort = "Job aborted due to stage failure: Task 7 in stage 0.0 failed 4 times, most recent failure: Lost task 7.3 in stage 0.0 (TID 10, node-b, executor 4): ExecutorLostFailure (executor 4 exited caused by one of the running tasks) Reason: Command exited with code 2"

// overflowed is deep-list's documented place: executors' logs ending in the
// runtime's stack overflow, and the driver losing each.
func overflowed(dead int) map[string][]string {
	logs := map[string][]string{"driver": nil}
	for i := 1; i <= 4; i++ {
		src := fmt.Sprintf("exec-%d", i)
		logs[src] = []string{fmt.Sprintf("2026-11-29 13:20:34.600 INFO  executor.Executor: Running task 7.%d in stage 0.0 (TID %d)", i-1, 6+i)}
		if i <= dead {
			logs[src] = append(logs[src], "runtime: goroutine stack exceeds 1048576-byte limit", "fatal error: stack overflow")
			logs["driver"] = append(logs["driver"], fmt.Sprintf("2026-11-29 13:20:34.633 ERROR scheduler.TaskSchedulerImpl: Lost executor %d on node-a: Command exited with code 2", i))
		}
	}
	return logs
}

func deepListCases() []tc {
	return []tc{
		{"documented symptom", run{abort: elfAbort, logs: overflowed(4)}, true, ""},
		{"one executor died", run{abort: elfAbort, logs: overflowed(1)}, false, "1 executor(s) died"},
		{"no executor died: the right answer", run{correct: true}, false, "0 executor(s) died"},
		{"wrong exception kind", run{abort: strings.Replace(elfAbort, "ExecutorLostFailure (executor 4", "KryoException (executor 4", 1), logs: overflowed(4)}, false, "not ExecutorLostFailure"},
		{"the job did not abort", run{logs: overflowed(4)}, false, "did not abort"},
		{"symptom in the wrong place: the driver lost none", run{abort: elfAbort, logs: map[string][]string{"exec-1": overflowed(4)["exec-1"], "exec-2": overflowed(4)["exec-2"]}}, false, "the driver logged 0 lost executor(s)"},
	}
}
