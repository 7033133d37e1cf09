// Package reportstest builds synthetic results for tests of the packages that
// render or compare them. The sample is written by hand rather than recorded so
// that every field a renderer reads has a value, and so that golden files do not
// change when the engine does.
package reportstest

import (
	"fmt"
	"math"
	"time"

	"github.com/faultbook/faultbook/harness/result"
)

// Sample returns a fresh, fully populated result of a two-scenario run:
//
//   - "registration-order" passes every cell; its reproduce cell ran ten times
//     and showed the symptom in seven (7/10 with its Wilson interval), and its
//     timeline has failed, killed and successful attempts and an abort.
//   - "flaky-node-exclusion" fails its catch cell; that timeline loses exec-4
//     (an executor-lost marker), excludes exec-3, and carries streaming batches.
//
// Both timelines have four executors on two nodes. The run also has a matrix.
// Each call returns new values, so a test may change them freely.
func Sample() *result.Results {
	return &result.Results{
		Schema:     result.Schema,
		Seed:       20260314,
		Profile:    "spark-3",
		Runtime:    result.RuntimeProcess,
		StartedAt:  time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC),
		DurationMs: 41_870,
		Scenarios:  []result.Scenario{registrationOrder(), flakyNode()},
		Matrix:     matrix(),
	}
}

// Wilson returns the Wilson 95% interval of hits/runs rounded to four places,
// the way the harness reports it.
func Wilson(hits, runs int) *result.Interval {
	if runs == 0 {
		return nil
	}
	const z = 1.959964
	n := float64(runs)
	p := float64(hits) / n
	d := 1 + z*z/n
	c := (p + z*z/(2*n)) / d
	m := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / d
	r := func(x float64) float64 { return math.Round(x*1e4) / 1e4 }
	return &result.Interval{Lo: r(math.Max(0, c-m)), Hi: r(math.Min(1, c+m))}
}

// lanes are the four executors of the mini cluster, two per node.
func lanes() []result.Lane {
	return []result.Lane{
		{ID: "exec-1", Node: "node-a"}, {ID: "exec-2", Node: "node-a"},
		{ID: "exec-3", Node: "node-b"}, {ID: "exec-4", Node: "node-b"},
	}
}

func ev(source, line string) result.Evidence { return result.Evidence{Source: source, Line: line} }

func pct(f float64) *float64 { return &f }

func registrationOrder() result.Scenario {
	none := []string{}
	fault := []string{"registration-order:exec-2"}
	guard := []string{"registry-fingerprint"}
	return result.Scenario{
		Name:      "registration-order",
		Title:     "Divergent type-registration order",
		Source:    "000_5e7405bbbac7885c.txt",
		Section:   "1. Divergent type-registration order",
		Symptom:   "ClassCastException: scala.Tuple1 cannot be cast to scala.Product2, while deserialising shuffle data",
		Place:     "executor log",
		RootCause: "exec-2 registers the same codec types as the driver, in a different order",
		Why: "The codec writes a registered type's integer id, never its name, so a reader whose registry is " +
			"ordered differently decodes the bytes as another type. Only the executor that reads the block " +
			"sees the exception; the driver learns its class and nothing else. A registry fingerprint " +
			"exchanged at registration refuses the odd executor and names the cause.",
		Chain: []string{
			"exec-2 registers the codec types in another order than the driver",
			"exec-2 writes map output for stage 0 with its own ids (id 14 = Tuple1)",
			"exec-1 reads id 14 as Product2 while fetching shuffle block 3",
			"ClassCastException in exec-1's log; the driver logs only \"Lost task 3.0 … ClassCastException\"",
			"task 3 fails 4 times (spark.task.maxFailures) and the job aborts",
		},
		Verdict: result.Pass,
		Cells: []result.Cell{
			{
				Cell: result.Control, Verdict: result.Pass, Runs: 1, Hits: 1, Rate: Wilson(1, 1),
				Evidence:   []result.Evidence{ev("harness", "output matches the reference: 4000 rows, checksum 9f3c1a2e")},
				DurationMs: 3120, Profile: "spark-3", Safeguards: none, Faults: none,
				Observed: "job completed; 4000 rows match the reference",
				RunDir:   "runs/20260314T093000/registration-order/control",
			},
			{
				Cell: result.Reproduce, Verdict: result.Pass, Runs: 10, Hits: 7, Rate: Wilson(7, 10),
				Evidence: []result.Evidence{
					ev("exec-1", "ERROR Executor: Exception in task 3.0 in stage 1.0 (TID 11)"),
					ev("exec-1", "ClassCastException: scala.Tuple1 cannot be cast to scala.Product2"),
					ev("exec-1", "    at codec.readObject(block shuffle_0_2_3, offset 4812)"),
					ev("driver", "WARN TaskSetManager: Lost task 3.0 in stage 1.0 (TID 11, node-a, executor 1): ClassCastException"),
					ev("driver", "ERROR TaskSetManager: Task 3 in stage 1.0 failed 4 times; aborting job"),
					ev("harness", "symptom found in exec-1's log, not in driver output: as documented"),
				},
				DurationMs: 4480, Profile: "spark-3", Safeguards: none, Faults: fault,
				Observed: "ClassCastException in exec-1's log while reading exec-2's shuffle output; the job aborted after 4 failures of task 3",
				RunDir:   "runs/20260314T093000/registration-order/reproduce-01",
				Timeline: registrationTimeline(),
				Logs: []result.NodeLog{
					{Source: "driver", Lines: []string{
						"INFO DAGScheduler: Submitting 8 missing tasks from ResultStage 1",
						"WARN TaskSetManager: Lost task 3.0 in stage 1.0 (TID 11, node-a, executor 1): ClassCastException",
						"WARN TaskSetManager: Lost task 3.1 in stage 1.0 (TID 16, node-b, executor 3): ClassCastException",
						"ERROR TaskSetManager: Task 3 in stage 1.0 failed 4 times; aborting job",
						"Job aborted due to stage failure: Task 3 in stage 1.0 failed 4 times, most recent failure: Lost task 3.3 in stage 1.0 (TID 19, node-a, executor 1): ClassCastException",
					}},
					{Source: "exec-1", Lines: []string{
						"INFO Executor: Running task 3.0 in stage 1.0 (TID 11)",
						"ERROR Executor: Exception in task 3.0 in stage 1.0 (TID 11)",
						"ClassCastException: scala.Tuple1 cannot be cast to scala.Product2",
						"    at codec.readObject(block shuffle_0_2_3, offset 4812)",
						"    at shuffle.fetchBlock(exec-2, shuffle_0_2_3)",
					}, Truncated: true},
					{Source: "exec-2", Lines: []string{
						"INFO Registry: 17 types registered (order: permuted by fault registration-order)",
						"INFO Executor: Finished task 2.0 in stage 0.0 (TID 2)",
					}},
				},
				Repeats: repeats(10, []bool{true, true, false, true, true, false, true, true, false, true}),
			},
			{
				Cell: result.Catch, Verdict: result.Pass, Runs: 1, Hits: 1, Rate: Wilson(1, 1),
				Evidence: []result.Evidence{
					ev("driver", "ERROR registry-fingerprint: refused exec-2: registry fingerprint 5c1e07aa differs from the driver's 9a07d2f1 (first difference at id 14: Tuple1 vs Product2)"),
					ev("exec-2", "ERROR Executor: registration refused by driver: registry fingerprint mismatch"),
				},
				CaughtBy: "registry-fingerprint", DurationMs: 1310, DetectionMs: 412,
				Profile: "hardened", Safeguards: guard, Faults: fault,
				Observed: "exec-2 refused at registration; diagnosis names the registry order",
				RunDir:   "runs/20260314T093000/registration-order/catch",
				Timeline: &result.Timeline{
					DurationMs: 1310, Lanes: lanes(),
					Markers: []result.Marker{{AtMs: 412, Lane: "exec-2", Kind: "safeguard", Label: "registry-fingerprint refused exec-2"}},
					Bands:   []result.Band{{FromMs: 0, ToMs: 1310, Kind: "fault", Label: "registration order permuted on exec-2"}},
				},
			},
			{
				Cell: result.NoFalseAlarm, Verdict: result.Pass, Runs: 1, Hits: 1, Rate: Wilson(1, 1),
				Evidence:   []result.Evidence{ev("harness", "output matches the reference; no safeguard fired")},
				DurationMs: 3215, OverheadPct: pct(3.0), Profile: "hardened", Safeguards: guard, Faults: none,
				Observed: "job correct; nothing fired",
				RunDir:   "runs/20260314T093000/registration-order/no-false-alarm",
			},
		},
	}
}

// registrationTimeline shows stage 0 writing map output everywhere, then task 3
// of stage 1 failing on every executor that reads exec-2's block, and the
// running tasks being killed when the job aborts.
func registrationTimeline() *result.Timeline {
	var tasks []result.TaskBar
	tid := 0
	add := func(lane, stage string, task, attempt int, from, to int64, outcome, reason string) {
		tasks = append(tasks, result.TaskBar{Lane: lane, Stage: stage, Task: task, Attempt: attempt,
			TID: tid, StartMs: from, EndMs: to, Outcome: outcome, Reason: reason})
		tid++
	}
	for i := range 8 {
		lane := fmt.Sprintf("exec-%d", i%4+1)
		from := int64(120 + (i/4)*640)
		add(lane, "0.0", i, 0, from, from+560+int64(i%3)*40, "success", "")
	}
	const cce = "ClassCastException: scala.Tuple1 cannot be cast to scala.Product2"
	add("exec-1", "1.0", 0, 0, 1480, 2210, "success", "")
	add("exec-2", "1.0", 1, 0, 1480, 2150, "success", "")
	add("exec-3", "1.0", 2, 0, 1480, 2290, "success", "")
	add("exec-1", "1.0", 3, 0, 1490, 1720, "failed", cce)
	add("exec-3", "1.0", 3, 1, 2300, 2520, "failed", cce)
	add("exec-4", "1.0", 4, 0, 1480, 2460, "success", "")
	add("exec-4", "1.0", 3, 2, 2530, 2760, "failed", cce)
	add("exec-2", "1.0", 5, 0, 2160, 3120, "killed", "stage cancelled: job aborted")
	add("exec-1", "1.0", 3, 3, 2780, 3010, "failed", cce)
	add("exec-3", "1.0", 6, 0, 2530, 3120, "killed", "stage cancelled: job aborted")
	return &result.Timeline{
		DurationMs: 3200,
		Lanes:      lanes(),
		Tasks:      tasks,
		Markers: []result.Marker{
			{AtMs: 1720, Lane: "exec-1", Kind: "fault", Label: "bad id 14 in shuffle_0_2_3"},
			{AtMs: 3010, Kind: "abort", Label: "job aborted: task 3 failed 4 times"},
		},
		Bands: []result.Band{{FromMs: 0, ToMs: 3200, Kind: "fault", Label: "registration order permuted on exec-2"}},
	}
}

func repeats(n int, hits []bool) []result.Run {
	out := make([]result.Run, n)
	for i := range n {
		out[i] = result.Run{
			Index: i, Seed: 20260314 + int64(i), Verdict: result.Pass, Hit: hits[i],
			DurationMs: 4300 + int64(i%4)*90,
			RunDir:     fmt.Sprintf("runs/20260314T093000/registration-order/reproduce-%02d", i+1),
		}
		if hits[i] {
			out[i].Evidence = []result.Evidence{ev("exec-1", "ClassCastException: scala.Tuple1 cannot be cast to scala.Product2")}
		}
	}
	return out
}

func flakyNode() result.Scenario {
	none := []string{}
	fault := []string{"task-failure:node-b"}
	guard := []string{"exclude-on-failure"}
	return result.Scenario{
		Name:      "flaky-node-exclusion",
		Title:     "Flaky nodes and exclusion",
		Source:    "003_62b8e12072c4356b.txt",
		Section:   "6. Flaky nodes and exclusion",
		Symptom:   "Job aborted due to stage failure: Task 3 in stage 0.0 failed 4 times",
		Place:     "driver output",
		RootCause: "every task that runs on node-b fails; without exclusion the scheduler keeps offering task 3 to node-b",
		Why: "Without exclusion the scheduler retries a failing task wherever a slot frees up, so a bad node " +
			"spends all of spark.task.maxFailures and the job aborts. With excludeOnFailure the node should be " +
			"excluded after two attempts and the job finish on node-a. Here exec-4 was lost mid-stage, its " +
			"failures were never counted, and the job still aborted.",
		Chain: []string{
			"node-b fails every task it runs (injected)",
			"task 3 fails on exec-3, then on exec-4",
			"exec-4 is lost; its failed attempts leave the exclusion count",
			"task 3 returns to node-b and fails again",
			"task 3 fails 4 times and the job aborts",
		},
		Verdict: result.Fail,
		Cells: []result.Cell{
			{
				Cell: result.Control, Verdict: result.Pass, Runs: 1, Hits: 1, Rate: Wilson(1, 1),
				Evidence:   []result.Evidence{ev("harness", "output matches the reference: 12 batches, 48000 records")},
				DurationMs: 5020, Profile: "spark-3", Safeguards: none, Faults: none,
				Observed: "all 12 batches complete",
			},
			{
				Cell: result.Reproduce, Verdict: result.Pass, Runs: 1, Hits: 1, Rate: Wilson(1, 1),
				Evidence: []result.Evidence{
					ev("driver", "Job aborted due to stage failure: Task 3 in stage 0.0 failed 4 times, most recent failure: Lost task 3.3 in stage 0.0 (TID 9, node-b, executor 3): injected task failure"),
				},
				DurationMs: 2870, Profile: "spark-3", Safeguards: none, Faults: fault,
				Observed: "driver aborted the job after 4 failures of task 3, all on node-b",
			},
			{
				Cell: result.Catch, Verdict: result.Fail, Runs: 1, Hits: 0, Rate: Wilson(0, 1),
				Evidence: []result.Evidence{
					ev("driver", "WARN HealthTracker: exec-3 excluded for task 3 after 1 failure"),
					ev("driver", "ERROR TaskSchedulerImpl: Lost executor 4 on node-b: process exited with code 2"),
					ev("driver", "Job aborted due to stage failure: Task 3 in stage 0.0 failed 4 times | most recent: ExecutorLostFailure"),
					ev("exec-3", "ERROR Executor: Exception in task 3.0 in stage 0.0 (TID 3): injected task failure"),
					ev("exec-4", "fatal error: injected crash <node-b>"),
					ev("harness", "want: completion on node-a; got: abort"),
				},
				DurationMs: 6240, Profile: "spark-3+exclude", Safeguards: guard, Faults: fault,
				Observed: "job aborted; exclusion fired for exec-3 but exec-4's loss reset the node count",
				Problems: []string{
					"job aborted: Task 3 in stage 0.0 failed 4 times; want completion on node-a",
					"node-b was never excluded: attempts on lost executor exec-4 were not counted",
				},
				RunDir:   "runs/20260314T093000/flaky-node-exclusion/catch",
				Timeline: flakyTimeline(),
				Logs: []result.NodeLog{
					{Source: "driver", Lines: []string{
						"WARN HealthTracker: exec-3 excluded for task 3 after 1 failure",
						"ERROR TaskSchedulerImpl: Lost executor 4 on node-b: process exited with code 2",
						"Job aborted due to stage failure: Task 3 in stage 0.0 failed 4 times",
					}},
					{Source: "exec-4", Lines: []string{"fatal error: injected crash <node-b>", "exit status 2"}},
				},
			},
			{
				Cell: result.NoFalseAlarm, Verdict: result.Pass, Runs: 1, Hits: 1, Rate: Wilson(1, 1),
				Evidence:   []result.Evidence{ev("harness", "output matches the reference; nobody excluded")},
				DurationMs: 5090, OverheadPct: pct(1.4), Profile: "spark-3+exclude", Safeguards: guard, Faults: none,
				Observed: "job correct; nothing excluded",
			},
		},
	}
}

// flakyTimeline is a streaming job on a cluster whose node-b fails every task.
func flakyTimeline() *result.Timeline {
	const bad = "injected task failure"
	t := []result.TaskBar{
		{Lane: "exec-1", Stage: "0.0", Task: 0, TID: 0, StartMs: 100, EndMs: 900, Outcome: "success"},
		{Lane: "exec-2", Stage: "0.0", Task: 1, TID: 1, StartMs: 100, EndMs: 1000, Outcome: "success"},
		{Lane: "exec-3", Stage: "0.0", Task: 2, TID: 2, StartMs: 100, EndMs: 420, Outcome: "failed", Reason: bad},
		{Lane: "exec-3", Stage: "0.0", Task: 3, TID: 3, StartMs: 110, EndMs: 380, Outcome: "failed", Reason: bad},
		{Lane: "exec-4", Stage: "0.0", Task: 3, Attempt: 1, TID: 4, StartMs: 500, EndMs: 1100, Outcome: "failed", Reason: "ExecutorLostFailure (exec-4 exited)"},
		{Lane: "exec-1", Stage: "0.0", Task: 2, Attempt: 1, TID: 5, StartMs: 950, EndMs: 1700, Outcome: "success"},
		{Lane: "exec-3", Stage: "0.0", Task: 3, Attempt: 2, TID: 6, StartMs: 1500, EndMs: 1800, Outcome: "failed", Reason: bad},
		{Lane: "exec-2", Stage: "0.0", Task: 4, TID: 7, StartMs: 1050, EndMs: 1900, Outcome: "success"},
		{Lane: "exec-3", Stage: "0.0", Task: 3, Attempt: 3, TID: 8, StartMs: 2100, EndMs: 2400, Outcome: "failed", Reason: bad},
		{Lane: "exec-2", Stage: "0.0", Task: 5, TID: 9, StartMs: 1950, EndMs: 2400, Outcome: "killed", Reason: "job aborted"},
	}
	// exec-4's process died at 1.1 s; its node relaunched it as exec-5.
	ls := lanes()
	died := int64(1100)
	ls[3].EndMs, ls[3].Exit = &died, "exit status 2"
	ls = append(ls, result.Lane{ID: "exec-5", Node: "node-b", Replaces: "exec-4"})
	return &result.Timeline{
		DurationMs: 2600,
		Lanes:      ls,
		Tasks:      t,
		Markers: []result.Marker{
			{AtMs: 380, Lane: "exec-3", Kind: "excluded", Label: "exec-3 excluded for task 3"},
			{AtMs: 1100, Lane: "exec-4", Kind: "executor-lost", Label: "exec-4 lost (exit 2)"},
			{AtMs: 1120, Kind: "safeguard", Label: "exclusion count reset"},
			{AtMs: 2400, Kind: "abort", Label: "job aborted"},
		},
		Bands: []result.Band{{FromMs: 0, ToMs: 2600, Kind: "fault", Label: "node-b fails every task"}},
		Batches: []result.Batch{
			{Index: 0, DelayMs: 120, CheckpointMs: 820}, {Index: 1, DelayMs: 140, CheckpointMs: 790},
			{Index: 2, DelayMs: 1900, CheckpointMs: 850}, {Index: 3, DelayMs: 4100, CheckpointMs: 910},
			{Index: 4, DelayMs: 6300, CheckpointMs: 1020}, {Index: 5, DelayMs: 8600, CheckpointMs: 990},
		},
	}
}

func matrix() *result.Matrix {
	cols := []string{"spark-1.0", "spark-3", "hardened", "registry-fingerprint", "exclude-on-failure"}
	row := func(name string, cells ...result.MatrixCell) result.MatrixRow {
		for i := range cells {
			cells[i].Column = cols[i]
		}
		return result.MatrixRow{Scenario: name, Cells: cells}
	}
	return &result.Matrix{
		Columns: cols,
		Rows: []result.MatrixRow{
			row("registration-order",
				result.MatrixCell{Outcome: result.Missed, Detail: "ClassCastException on exec-1"},
				result.MatrixCell{Outcome: result.Missed, Detail: "ClassCastException on exec-1"},
				result.MatrixCell{Outcome: result.Caught, CaughtBy: "registry-fingerprint"},
				result.MatrixCell{Outcome: result.Caught, CaughtBy: "registry-fingerprint"},
				result.MatrixCell{Outcome: result.Missed}),
			row("flaky-node-exclusion",
				result.MatrixCell{Outcome: result.Missed},
				result.MatrixCell{Outcome: result.Missed},
				result.MatrixCell{Outcome: result.Survived, Detail: "node-b excluded after 2 attempts"},
				result.MatrixCell{Outcome: result.NotJudged, Detail: "the fault, which strikes by chance, had no effect in this run"},
				result.MatrixCell{Outcome: result.Errored, Detail: "exec-4 did not start"}),
		},
	}
}
