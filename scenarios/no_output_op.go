package scenarios

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

var (
	reWarnOrError = regexp.MustCompile(` (WARN|ERROR) `)
	reTotalDelay  = regexp.MustCompile(`Total delay`)
)

// NoOutputOp: a streaming graph of transformations only.
func NoOutputOp() *harness.Scenario {
	return &harness.Scenario{
		Name:    "no-output-op",
		Title:   "a stream with no output operation: batches run, consume input and produce nothing",
		Source:  seed003,
		Section: "7",
		Symptom: "the stream runs batch after batch, consuming its input, and produces no output; nothing in any log says why",
		Place:   "driver output (batches complete, zero output records, no error)",
		RootCause: "DStream transformations are lazy: only an output operation (foreachRDD, print, saveAs…) makes a batch produce anything. " +
			"A graph of transformations alone has nothing to execute.",
		Why: "The application's graph (parse, filter, reduceByKey, mapWithState) is built without its foreachRDD. " +
			"Unchecked, the stream starts and runs every batch as jobs on the executors, reading the whole input, and writes nothing: a silent no-op. " +
			"Spark's graph validation refuses to start such a context with \"No output operations registered, so nothing to execute\".",
		Chain: []string{
			"the application registers transformations but no output operation",
			"every batch still reads its offsets and runs its jobs",
			"nothing consumes the results: zero output records, batch after batch",
			"no error and no warning anywhere",
		},
		Story:     storyNoOutputOp,
		Workload:  "stream-counts",
		Faults:    fault.Set{{Point: fault.MissingOutputOp}},
		Signature: diagnose.NoOutputOperations(),
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.OutputOpValidation}, Expect: harness.Diagnose, Diagnosis: []string{"No output operations registered, so nothing to execute"}},
		},
		Reproduce: reproduceNoOutput,
	}
}

// reproduceNoOutput: the application succeeded, batches completed reading
// input, no output record was produced, and no log line is a warning or error.
func reproduceNoOutput(o *harness.Observation, ev *harness.Evidence) error {
	if o.Result == nil || o.Aborted() {
		return errors.New("the application did not complete")
	}
	batches := o.Events(events.BatchCompleted)
	if len(batches) == 0 {
		return errors.New("no batch completed")
	}
	var records, outputs float64
	for _, b := range batches {
		records += b.Metrics["records"]
		outputs += b.Metrics["output_records"]
	}
	if records == 0 {
		return errors.New("the batches read no input")
	}
	if outputs > 0 || string(o.Result.Output) != "{}" {
		return fmt.Errorf("the stream produced output (%v records): %s", outputs, trimTo(string(o.Result.Output), 80))
	}
	for _, src := range o.Sources() {
		if l := o.Grep(src, reWarnOrError); len(l) > 0 {
			return fmt.Errorf("%s logged a warning or error: %s", src, l[0])
		}
	}
	ev.First(o, "driver", regexp.MustCompile(`StreamingContext started`))
	ev.First(o, "driver", regexp.MustCompile(`Total delay`))
	ev.Addf("%d batches completed reading %.0f messages; %.0f output records; output %s", len(batches), records, outputs, string(o.Result.Output))
	ev.Addf("no WARN or ERROR line in the driver's or any executor's log")
	ev.Observe("%d batches ran, %.0f messages consumed, zero output, no error anywhere", len(batches), records)
	return nil
}

func trimTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

const storyNoOutputOp = `The documented failure (` + seed003 + `, FAILURES.md §7)
  A user's post on the DStream API: transformations describe what to do with each
  batch, and only output operations (foreachRDD, print, saveAs…) make it happen.
  A graph of transformations alone has nothing to execute.

Root cause
  DStreams are lazy, like RDDs. Without an output operation no batch result is ever
  consumed. Spark's DStreamGraph.validate refuses to start such a context:
  "No output operations registered, so nothing to execute".

The experiment
  The application reads a message stream (3,000 messages/s in 4 s batches,
  time-compressed 80×), parses and filters it, sums amounts by user per batch
  (reduceByKey on the executors), keeps running totals (mapWithState) and writes
  them out (foreachRDD).
  - control: the full graph; what foreachRDD wrote equals the totals over the input.
  - reproduce: foreachRDD left out, validation off: every batch runs its jobs and
    reads its input; zero output records; no warning or error in any log.
  - catch: output-op-validation (Spark's graph validation) refuses to start the
    context with Spark's message, on the driver.
  - no false alarm: the full graph with validation on runs as the control.`
