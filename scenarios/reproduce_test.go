package scenarios

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
)

// Lines as the processes log them, for building observations by hand.
const (
	lostCast      = "2026-11-29 13:15:10.451 WARN  scheduler.TaskSetManager: Lost task 0.0 in stage 1.0 (TID 8, node-a, executor 1): ClassCastException: Tuple1 cannot be cast to Product2"
	lostIndex     = "2026-11-29 13:15:10.451 WARN  scheduler.TaskSetManager: Lost task 0.0 in stage 1.0 (TID 8, node-a, executor 1): IndexOutOfBoundsException: index 207779716 out of bounds for length 9657"
	lostExecutor  = "2026-11-29 13:15:10.451 WARN  scheduler.TaskSetManager: Lost task 0.0 in stage 1.0 (TID 8, node-a, executor 1): ExecutorLostFailure (executor 1 exited caused by one of the running tasks)"
	execException = "2026-11-29 13:15:10.450 ERROR executor.Executor: Exception in task 0.0 in stage 1.0 (TID 8)"
	registratorKO = "2026-11-29 13:15:10.808 ERROR serializer.KryoSerializer: Failed to run spark.kryo.registrator"
	abortCast     = "Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times, most recent failure: Lost task 0.3 in stage 1.0 (TID 20, node-a, executor 1): ClassCastException: Tuple1 cannot be cast to Product2"
	abortIndex    = "Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times, most recent failure: Lost task 0.3 in stage 1.0 (TID 20, node-a, executor 1): IndexOutOfBoundsException: index 207779716 out of bounds for length 9657"
	abortLost     = "Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times, most recent failure: Lost task 0.3 in stage 1.0 (TID 20, node-a, executor 1): ExecutorLostFailure (executor 1 exited caused by one of the running tasks)"
)

// run is a hand-built observation: how the job ended and what each process logged.
type run struct {
	correct bool   // the job returned the oracle's output
	abort   string // the abort, when the job aborted
	logs    map[string][]string
	// events, output and oracle, for the streaming judges.
	events []events.Event
	output string
	oracle any
}

func (r run) observation(t *testing.T) *harness.Observation {
	t.Helper()
	res := &driver.Result{Status: driver.Succeeded, Output: json.RawMessage(`{"answer":42}`)}
	if r.output != "" {
		res.Output = json.RawMessage(r.output)
	}
	if r.abort != "" {
		res = &driver.Result{Status: driver.Aborted, Error: r.abort}
	}
	logs := map[string][]string{"driver": nil, "exec-1": nil, "exec-2": nil}
	for src, lines := range r.logs {
		logs[src] = lines
	}
	o := &harness.Observation{Outcome: &cluster.Outcome{Result: res, Logs: logs, Events: r.events}, Result: res, Correct: r.correct, Oracle: r.oracle}
	if r.abort == "" && !r.correct {
		o.Diff = "answer: 42 != 41"
	}
	return o
}

// decodeFailure is the registration scenarios' documented symptom: the full
// exception in an executor's log, the loss in the driver's, the job aborted.
func decodeFailure(lost, abort string) run {
	return run{abort: abort, logs: map[string][]string{
		"driver": {lost},
		"exec-1": {execException, "\tClassCastException: Tuple1 cannot be cast to Product2", "\tat op remap-keys"},
	}}
}

// tc (also judgeCase) is a run a reproduce judge must accept or reject.
type tc = judgeCase

// judgeCase is a run a reproduce judge must accept or reject.
type judgeCase struct {
	name   string
	run    run
	accept bool
	why    string // a phrase the rejection must contain
}

// TestReproduceJudgesReject shows each scenario's reproduce judge accepting its
// documented symptom and rejecting what only resembles it.
func TestReproduceJudgesReject(t *testing.T) {
	orderCases := []tc{
		{"documented symptom", decodeFailure(lostIndex, abortIndex), true, ""},
		{"no symptom: the right answer", run{correct: true}, false, "right answer"},
		{"symptom in the wrong place: no executor logged the exception", run{abort: abortIndex, logs: map[string][]string{"driver": {lostIndex}}}, false, "no executor logged the exception"},
		{"symptom in the wrong place: the driver reports no lost task", run{abort: abortIndex, logs: map[string][]string{"exec-1": {execException}}}, false, "no driver line"},
		{"wrong exception kind", decodeFailure(lostExecutor, abortLost), false, "does not name a decoding failure"},
	}
	shiftCases := append([]tc{
		{"the seed's headline", decodeFailure(lostCast, abortCast), true, ""},
		{"a decoding failure other than the seed's", decodeFailure(lostIndex, abortIndex), false, "cannot be cast to Product2"},
	}, orderCases[1:]...)
	transport := func(driverLines ...string) run {
		return run{abort: abortIndex, logs: map[string][]string{
			"driver": append([]string{lostIndex}, driverLines...),
			"exec-1": {registratorKO, "\tClassNotFoundException: fixtures.RecordsRegistrator"},
		}}
	}
	transportCases := []tc{
		{"documented symptom", transport(), true, ""},
		{"no symptom: the right answer", run{correct: true, logs: map[string][]string{"exec-1": {registratorKO}}}, false, "right answer"},
		{"symptom in the wrong place: no executor logged the registrator failure", run{abort: abortIndex, logs: map[string][]string{"driver": {lostIndex, registratorKO}}}, false, "no executor logged"},
		{"the driver mentions the registrator", transport("2026-11-29 13:15:10.900 ERROR SparkContext: Failed to register classes with Kryo"), false, "mentions the registrator"},
		{"wrong exception kind", run{abort: abortLost, logs: map[string][]string{"driver": {lostExecutor}, "exec-1": {registratorKO}}}, false, "does not name a decoding failure"},
	}
	timeout := "java.net.SocketTimeoutException: Read timed out after 400 ms fetching http://127.0.0.1:40001/partition/1?seed=1&lines=60"
	lostOn := func(node string) string {
		return "2026-11-29 13:15:10.451 WARN  scheduler.TaskSetManager: Lost task 1.3 in stage 0.0 (TID 41, " + node + ", executor 3): " + timeout
	}
	abortOn := func(node string) string {
		return "Job aborted due to stage failure: Task 1 in stage 0.0 failed 4 times, most recent failure: Lost task 1.3 in stage 0.0 (TID 41, " + node + ", executor 3): " + timeout
	}
	flakyCases := []tc{
		{"documented symptom", run{abort: abortOn(badNode), logs: map[string][]string{"driver": {lostOn(badNode)}}}, true, ""},
		{"no symptom: the right answer", run{correct: true}, false, "did not abort"},
		{"symptom in the wrong place: the driver logged no lost task", run{abort: abortOn(badNode)}, false, "no driver line"},
		{"the timeout on another node", run{abort: abortOn("node-a"), logs: map[string][]string{"driver": {lostOn("node-a")}}}, false, "not on node-b"},
		{"wrong exception kind", run{abort: abortLost, logs: map[string][]string{"driver": {lostOn(badNode)}}}, false, "network timeout"},
		{"an abort by exclusion, not by 4 failures", run{abort: "Job aborted due to stage failure: Aborting TaskSet 0.0 because task 1 (partition 1) cannot run anywhere due to node and executor excludeOnFailure. Most recent failure:\n" + lostOn(badNode),
			logs: map[string][]string{"driver": {lostOn(badNode)}}}, false, "4 failures"},
	}
	cases := map[string][]tc{
		"no-output-op":               noOutputCases(),
		"eventual-checkpoint":        recoveryCases(),
		"throttled-checkpoint":       starvationCases(),
		"flaky-node":                 flakyCases,
		"registration-order":         orderCases,
		"registration-order-natural": orderCases,
		"registration-shift":         shiftCases,
		"registrator-transport":      transportCases,
		"option-nil":                 optionNilCases(),
		"deep-list":                  deepListCases(),
	}
	// Every judge, present and future, rejects a run that shows nothing.
	generic := []tc{
		{"nothing shown: the right answer, nothing logged", run{correct: true}, false, ""},
		{"nothing shown: an abort no process explains", run{abort: "Job aborted due to stage failure: Task 0 in stage 1.0 failed 4 times"}, false, ""},
	}
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range c.All() {
		tcs, ok := cases[sc.Name]
		if !ok {
			t.Errorf("%s: its reproduce judge has no cases here that it must reject (symptom absent, in the wrong place, of the wrong kind)", sc.Name)
		}
		for _, tc := range append(generic, tcs...) {
			t.Run(sc.Name+"/"+tc.name, func(t *testing.T) {
				var ev harness.Evidence
				err := sc.Reproduce(tc.run.observation(t), &ev)
				switch {
				case tc.accept && err != nil:
					t.Errorf("rejected the documented symptom: %v", err)
				case tc.accept && len(ev.Lines()) == 0:
					t.Error("accepted without evidence")
				case !tc.accept && err == nil:
					t.Errorf("accepted; evidence %v", ev.Lines())
				case !tc.accept && !strings.Contains(err.Error(), tc.why):
					t.Errorf("rejected for %q, want a reason containing %q", err, tc.why)
				}
			})
		}
	}
}

// batch is a batch record as the driver's stream writes it.
func batch(i int, m map[string]float64) events.Event {
	return events.Event{Kind: events.BatchCompleted, Job: i, Metrics: m}
}

const streamStarted = "2026-11-29 13:15:10.451 INFO  streaming.StreamingContext: StreamingContext started: source(messages) → map(parse)"

func noOutputCases() []judgeCase {
	batches := func(out float64) []events.Event {
		var evs []events.Event
		for i := range 3 {
			evs = append(evs, batch(i, map[string]float64{"records": 12000, "output_records": out}))
		}
		return evs
	}
	quiet := map[string][]string{"driver": {streamStarted}}
	return []judgeCase{
		{"documented symptom", run{output: "{}", events: batches(0), logs: quiet}, true, ""},
		{"the stream produced output", run{output: `{"user-01":5}`, events: batches(40), logs: quiet}, false, "produced output"},
		{"no batch ran", run{output: "{}", logs: quiet}, false, "no batch completed"},
		{"an error was logged somewhere", run{output: "{}", events: batches(0), logs: map[string][]string{"exec-1": {execException}}}, false, "logged a warning or error"},
	}
}

func recoveryCases() []judgeCase {
	killed := []events.Event{{Kind: events.DriverKilled, Role: "harness", Message: "SIGKILL to the driver (pid 7) during batch 5"}}
	oracle := map[string]any{"user-01": 10.0, "user-02": 7.0}
	return []judgeCase{
		{"failed recovery", run{abort: "org.apache.spark.SparkException: Failed to read checkpoint from directory s3://faultbook/checkpoints/", events: killed}, true, ""},
		{"lost state", run{output: `{"user-01":4,"user-02":7}`, oracle: oracle, events: killed}, true, ""},
		{"the driver was never killed", run{output: `{"user-01":4,"user-02":7}`, oracle: oracle}, false, "never killed"},
		{"recovered exactly", run{correct: true, events: killed}, false, "equals the oracle"},
		{"a failure other than recovery", run{abort: abortIndex, events: killed}, false, "not in recovery"},
	}
}

func starvationCases() []judgeCase {
	series := func(ckpt func(i int) float64, delay func(i int) float64) []events.Event {
		var evs []events.Event
		for i := range 12 {
			evs = append(evs, batch(i, map[string]float64{"checkpoint_ms": ckpt(i), "delay_ms": delay(i), "interval_ms": 100}))
		}
		return evs
	}
	starving := func(i int) float64 {
		if i < 5 {
			return 30
		}
		return 220
	}
	growing := func(i int) float64 { return float64(max(i-5, 0)) * 150 }
	return []judgeCase{
		{"documented symptom", run{correct: true, events: series(starving, growing)}, true, ""},
		{"checkpoints stay within the interval", run{correct: true, events: series(func(int) float64 { return 30 }, growing)}, false, "never exceeded"},
		{"the delay does not grow", run{correct: true, events: series(starving, func(i int) float64 { return float64(i%2) * 50 })}, false, "did not grow"},
	}
}
