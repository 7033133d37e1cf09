package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/faultbook/faultbook/fixtures/workloads"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/serializer"
)

var (
	reStackOverflow = regexp.MustCompile(`^fatal error: stack overflow`)
	reStackExceeds  = regexp.MustCompile(`^runtime: goroutine stack exceeds \d+-byte limit`)
	reLostExecutor  = regexp.MustCompile(`Lost executor \d+ on [^:]+:`)
	reRunningTask   = regexp.MustCompile(`Running task \d+\.\d+ in stage`)
)

// deepPath is where the recursion goes: the result's list, node after node.
const deepPath = "records.ListResult.List.First.Next…"

// DeepList: a task result holds a long MutableList; the reflective encoder
// recurses once per element until the executor's stack is exhausted.
func DeepList() *harness.Scenario {
	return &harness.Scenario{
		Name:    "deep-list",
		Title:   "a long MutableList in a task result: the encoder overflows the stack and kills executor after executor",
		Source:  seed003,
		Section: "4",
		Symptom: "executors die of a stack overflow while encoding one task's result (exit 2); the task is retried on the next executor, which dies too; after 4 failures the job aborts with ExecutorLostFailure",
		Place:   "executor stderr (fatal error: stack overflow, exit status); driver output (Lost executor …, ExecutorLostFailure)",
		RootCause: "MutableList is a linked list with no custom serialisation: a reflective serializer follows next once per element and recurses as deep as the list is long. " +
			"The seed's 1,335 elements overflowed a 1 MB JVM thread stack; Scala's immutable List survives because it serialises through a proxy that writes elements in a loop.",
		Why: "Each task collects its partition into one result; with the mutable-list fault the result is the seed's MutableList, and the last partition holds 3,000 elements. " +
			"The executor encodes the result by reflection with a 1 MiB goroutine stack, the JVM's default thread stack: the Go runtime's stack overflow is fatal, so the executor process dies with exit status 2 and its node starts another; the retried task kills that one too. " +
			"The depth limit (Kryo's setMaxDepth, which Spark never sets) fails the task cleanly with the path of the recursion; iterative encoding makes the job succeed; crash attribution stops the task after the second executor it killed.",
		Chain: []string{
			"a task collects its partition's ids into a MutableList (a linked list, no encoding of its own)",
			"the last partition grew to 3,000 elements",
			"the reflective encoder recurses once per element while encoding the task's result",
			"the goroutine stack passes the executor's 1 MiB limit: fatal error: stack overflow, exit status 2",
			"the node relaunches the executor; the driver fails the task with ExecutorLostFailure and retries it, killing the next executor",
			"after 4 failures the job aborts with ExecutorLostFailure as the most recent failure",
		},
		Story:    storyDeepList,
		Workload: "deep-list",
		Conf:     reflectiveConf,
		// The crash is the symptom: executors dying in the fault's cells are
		// the fault's doing, not interference.
		ExecutorDeaths: true,
		Faults:         fault.Set{{Point: fault.MutableListResult}},
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.CodecDepthLimit}, Expect: harness.Diagnose,
				Diagnosis: []string{"structure too deep", deepPath, "at depth"}, Check: triedOnceNoneDied},
			{Safeguards: []safeguard.Name{safeguard.IterativeListEncoding}, Expect: harness.Survive, Check: noneDied},
			{Safeguards: []safeguard.Name{safeguard.CrashAttribution}, Expect: harness.Diagnose,
				Diagnosis: []string{"crash attribution", "killed 2 executors", "exit status 2 (fatal error: stack overflow)"}, Check: twoDied},
		},
		Reproduce: reproduceDeepList,
		Signature: diagnose.DeepListOverflow(),
		// The list length that kills an executor at a given stack limit: one
		// failure is enough to tell, so probes stop at the first.
		Knob: &harness.Knob{Param: workloads.KeyLength, Unit: "elements", Lo: 1, Hi: 200_000,
			Conf:    map[string]string{conf.TaskMaxFailures: "1"},
			Shows:   func(o *harness.Observation) bool { return len(deadExecutors(o)) > 0 },
			Context: []string{conf.ExecutorThreadStack},
			Proof: func(o *harness.Observation, shows bool) string {
				if !shows {
					return ""
				}
				for src, lines := range deadExecutors(o) {
					return src + ": " + strings.Join(lines[1:], "; ")
				}
				return ""
			}},
	}
}

// deadExecutors lists the executors whose log ends in a Go stack overflow,
// with the lines that prove it: the task it was running, the runtime's two
// lines, and the exit status where the cluster recorded one.
func deadExecutors(o *harness.Observation) map[string][]string {
	out := map[string][]string{}
	for _, src := range o.Sources()[1:] {
		var running, exceeds string
		for _, l := range o.Outcome.Logs[src] {
			switch {
			case reRunningTask.MatchString(l):
				running = l
			case reStackExceeds.MatchString(l):
				exceeds = l
			case reStackOverflow.MatchString(l):
				proof := []string{running, exceeds, l}
				if x, ok := o.Outcome.ExecutorExits[execNum(src)]; ok {
					proof = append(proof, "process ended: "+x.String())
				}
				out[src] = proof
			}
		}
	}
	return out
}

func execNum(src string) int {
	var n int
	fmt.Sscanf(src, "exec-%d", &n)
	return n
}

// reproduceDeepList recognises the documented chain: executors die of a real
// stack overflow, one per attempt, and the job aborts after 4 failures with
// ExecutorLostFailure as the most recent.
func reproduceDeepList(o *harness.Observation, ev *harness.Evidence) error {
	var problems []string
	dead := deadExecutors(o)
	for _, src := range o.Sources()[1:] {
		for _, l := range dead[src] {
			ev.Add(src, l)
		}
	}
	if len(dead) < 2 {
		problems = append(problems, fmt.Sprintf("%d executor(s) died of a stack overflow, want one per attempt (at least 2)", len(dead)))
	}
	lost := o.Grep("driver", reLostExecutor)
	for _, l := range lost {
		ev.Add("driver", l)
	}
	if len(lost) < len(dead) {
		problems = append(problems, fmt.Sprintf("the driver logged %d lost executor(s) for %d dead", len(lost), len(dead)))
	}
	if !o.Aborted() {
		problems = append(problems, "the job did not abort")
		return errors.New(strings.Join(problems, "; "))
	}
	abort := firstLine(o.Result.Error)
	ev.Add("driver", abort)
	m := reAbortAfter.FindStringSubmatch(abort)
	switch {
	case m == nil:
		problems = append(problems, "the abort does not read like Spark's \"Task N in stage S failed 4 times, most recent failure: Lost task …\": "+abort)
	case m[4] != "4":
		problems = append(problems, fmt.Sprintf("the task failed %s times, not spark.task.maxFailures = 4", m[4]))
	case m[6] != "ExecutorLostFailure":
		problems = append(problems, "the most recent failure is "+m[6]+", not ExecutorLostFailure")
	}
	if m != nil {
		ev.Observe("%d executors died of a stack overflow (exit 2) encoding task %s's result; job aborted after %s failures with ExecutorLostFailure", len(dead), m[1], m[4])
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// noneDied: a catch of deep-list must not have cost an executor.
func noneDied(o *harness.Observation, ev *harness.Evidence) error {
	if dead := deadExecutors(o); len(dead) > 0 {
		var names []string
		for src := range dead {
			names = append(names, src)
		}
		return fmt.Errorf("executor(s) still died of a stack overflow: %s", strings.Join(names, ", "))
	}
	for id, x := range o.Outcome.ExecutorExits {
		if x.Code == 2 {
			return fmt.Errorf("executor %d exited with status 2", id)
		}
	}
	ev.Addf("no executor died")
	return nil
}

// twoDied: crash attribution stops the task after the second executor it
// killed, not the fourth.
func twoDied(o *harness.Observation, ev *harness.Evidence) error {
	if n := len(deadExecutors(o)); n != 2 {
		return fmt.Errorf("%d executors died, want exactly 2 before the task was stopped", n)
	}
	ev.Addf("2 executors died, then the task was stopped; spark-1.0 spends 4")
	return nil
}

func triedOnceNoneDied(o *harness.Observation, ev *harness.Evidence) error {
	return errors.Join(triedOnce(o, ev), noneDied(o, ev))
}

var storyDeepList = fmt.Sprintf(`The documented failure (%s, "MutableList And The Short Path To A
StackOverflowError"; FAILURES.md §4)
  A Spark job that collected records into a case class Result(list:
  mutable.MutableList[Int]) began to die with StackOverflowError once more data
  arrived, with Kryo and Java serialisation alike. MutableList is a LinkedList
  with no writeObject of its own: the serializer recurses once per element. The
  author found 1,335 elements enough to overflow a 1 MB JVM thread stack; the
  immutable List survives through a serialization proxy that loops. In Spark a
  StackOverflowError is fatal to the executor: the task fails, the executor
  exits, and its other tasks are lost with it.

The experiment
  Each of 8 tasks collects its partition's ids into one result (the seed's
  doStuff); the last partition holds %d ids (knob %q), the others 100. Results
  are encoded on the executor by the codec's reflective serializer (Kryo's
  FieldSerializer). Executors run with spark.executor.threadStackSize = 1m, the
  JVM's default thread stack, applied to the process with debug.SetMaxStack.
  - control: the ids go into an ArrayBuffer (a slice), the seed's fix: correct.
  - reproduce (spark-1.0): with mutable-list the result is a MutableList. Encoding
    it recurses once per node until the goroutine stack passes 1 MiB: the Go
    runtime prints "fatal error: stack overflow" and the executor process exits
    with status 2 (a stack overflow cannot be recovered in Go). Its node starts a
    new executor; the driver fails the task with ExecutorLostFailure and retries
    it, and the next executor dies the same way. After 4 failures the job aborts.
    The evidence quotes each dead executor's last lines and exit status.
  - catch:
      codec-depth-limit (Kryo's setMaxDepth, which Spark never sets): the encoder
        stops at depth %d with "structure too deep: %s at depth N"; the
        task fails once, cleanly, and no executor dies.
      iterative-list-encoding (as Scala's List serialises through a proxy): chains
        of a pointer to the struct's own type are encoded in a loop; the job
        succeeds with the MutableList.
      crash-attribution (beyond Spark): the driver notices that attempts of task
        7 killed two executors, each exiting with status 2, and aborts the task
        at once saying so, instead of spending four executors on it.
  - no false alarm: both on, ArrayBuffer results: correct, nothing fires.

Threshold
  faultbook probe deep-list --stack 1MiB bisects the list length that kills an
  executor at a given stack limit, on real processes (see the README's figures).`,
	seed003, workloads.DefaultLength, workloads.KeyLength, serializer.DepthLimit, deepPath)
