package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/fixtures/workloads"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// seed003 holds the five posts of FAILURES.md §3–7.
const seed003 = "003_62b8e12072c4356b.txt"

// reflectiveConf names the registrator of the record types the codec writes
// by reflection.
var reflectiveConf = map[string]string{conf.KryoRegistrator: fixtures.ReflectiveRegistrator}

var (
	// reAbortAfter is Spark's abort of a task that failed maxFailures times,
	// with the most recent failure's kind.
	reAbortAfter = regexp.MustCompile(`^Job aborted due to stage failure: Task (\d+) in stage (\d+)\.(\d+) failed (\d+) times, most recent failure: Lost task (\d+\.\d+) in stage \d+\.\d+ \(TID \d+, [^,]+, executor \d+\): (\w+)`)
	reExecTaskEx = regexp.MustCompile(`Exception in task \d+\.\d+ in stage`)
	// reCauseWords are what would name the cause: the option, the field, the
	// record or the writer. Spark's abort names none of them.
	reCauseWords = regexp.MustCompile(`Some\(|Option|Listing|color|appendJSONString|input line`)
)

// OptionNil: a lookup in a map holding nil yields Some(nil), which a JSON
// writer dereferences on an executor in one late task.
func OptionNil() *harness.Scenario {
	return &harness.Scenario{
		Name:    "option-nil",
		Title:   "Some(nil) from a map lookup: a nil dereference in one late task, retried 4 times; the driver never says why",
		Source:  seed003,
		Section: "3",
		Symptom: "Job aborted due to stage failure: Task 7 in stage 1.0 failed 4 times, most recent failure: Lost task 7.3 … NullPointerException; the driver's text says nothing of the cause, the useful stack (the JSON writer's frame) is only in the executor's log",
		Place:   "driver output (abort naming only NullPointerException); executor log (the writer's stack)",
		RootCause: "map.get of a key whose value is null returns Some(null), not None: the Java library that parsed key=value strings returned null for a key with no value. " +
			"Nothing checks what a defined option holds until a JSON writer dereferences it on an executor.",
		Why: "An interop parser returns nil for a key with no value; the job builds option fields by map lookup (Some of whatever is there) and writes them as JSON on the executors after a shuffle by id. " +
			"The few listings with an empty color all land in reduce task 7, whose JSON writer dereferences the nil: a real Go nil-pointer panic, recovered by the task runner as a NullPointerException, retried four times. " +
			"The option-nil check refuses Some(nil) at the encoder, naming the record, field and input line, and does not retry; the seed's own fix, Option(…) at the lookup, is judged beside it as a fix in user code.",
		Chain: []string{
			"the interop parser returns nil for a key with no value (\"color=\")",
			"the job looks the key up as Scala's map.get: a present key gives Some(nil)",
			"the codec writes Some(nil) through the shuffle without a word",
			"reduce task 7's JSON writer dereferences the nil pointer: runtime panic, NullPointerException",
			"the task is retried 4 times and the job aborts; the driver names only NullPointerException, the stack is in the executor's log",
		},
		Story:    storyOptionNil,
		Workload: "listings-json",
		Conf:     reflectiveConf,
		Faults:   fault.Set{{Point: fault.InteropNilValues}},
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.OptionNilCheck}, Expect: harness.Diagnose,
				Diagnosis: []string{"Some(nil) in records.Listing.Color", "input line"}, Check: triedOnce},
			{UserFix: "OptionOf at the lookup, Scala's Option(map(key))", Params: map[string]string{workloads.KeyLookup: workloads.LookupOptionOf}, Expect: harness.Survive},
		},
		Reproduce: reproduceOptionNil,
		Signature: diagnose.OptionSomeNull(),
	}
}

// reproduceOptionNil recognises the seed's split view: Spark's abort after 4
// attempts with only the exception's name, the writer's stack in an
// executor's log, and what it cost before the user saw it.
func reproduceOptionNil(o *harness.Observation, ev *harness.Evidence) error {
	if !o.Aborted() {
		if o.Correct {
			return errors.New("the job returned the right answer")
		}
		return errors.New("the job returned wrong output instead of failing: " + firstLine(o.Diff))
	}
	abort := firstLine(o.Result.Error)
	ev.Add("driver", abort)
	m := reAbortAfter.FindStringSubmatch(abort)
	if m == nil {
		return fmt.Errorf("the abort does not read like Spark's \"Task N in stage S failed 4 times, most recent failure: Lost task …\": %s", abort)
	}
	var problems []string
	task, stage, times, kind := m[1], m[2]+"."+m[3], m[4], m[6]
	if times != "4" {
		problems = append(problems, fmt.Sprintf("the task was tried %s times, not spark.task.maxFailures = 4", times))
	}
	if kind != "NullPointerException" {
		problems = append(problems, "the most recent failure is "+kind+", not NullPointerException")
	}
	if w := reCauseWords.FindString(o.Result.Error); w != "" {
		problems = append(problems, fmt.Sprintf("the driver's abort names the cause (%q), unlike the documented one", w))
	}
	frame, src := writerFrame(o)
	if frame == "" {
		problems = append(problems, "no executor logged the stack with the JSON writer's frame (workloads.appendJSONString)")
	} else {
		if l := o.Grep(src, reExecTaskEx); len(l) > 0 {
			ev.Add(src, l[len(l)-1])
		}
		ev.Add(src, frame)
	}
	attempts, wasted := wastedOn(o, task, stage)
	ev.Addf("task %s in stage %s: %d failed attempts, %.3f s from its first attempt to the abort the user saw", task, stage, attempts, wasted)
	ev.Observe("NullPointerException in task %s of stage %s, tried %d times over %.3f s; the driver's abort names no cause, the writer's frame is in %s's log", task, stage, attempts, wasted, orNobody(src))
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// reAbortOnce is the abort of a task diagnosed on its first attempt.
var reAbortOnce = regexp.MustCompile(`Task \d+ in stage \d+\.\d+ failed 1 times, .*\(not retried: diagnosed by safeguard [\w-]+\)`)

// triedOnce: a diagnosed failure is not retried; the job stops after one
// attempt, not spark.task.maxFailures.
func triedOnce(o *harness.Observation, ev *harness.Evidence) error {
	if !o.Aborted() || !reAbortOnce.MatchString(o.Result.Error) {
		return errors.New("the diagnosed task was not stopped after one attempt")
	}
	if n := len(o.FailedTasks()); n != 1 {
		return fmt.Errorf("%d attempts failed, want exactly 1", n)
	}
	ev.Addf("one failed attempt, not retried")
	return nil
}

// writerFrame finds the JSON writer's frame in an executor's logged stack.
func writerFrame(o *harness.Observation) (frame, source string) {
	for _, src := range o.Sources()[1:] {
		for _, l := range o.Outcome.Logs[src] {
			if strings.HasPrefix(l, "\t") && strings.Contains(l, "workloads.appendJSONString") {
				return strings.TrimSpace(l), src
			}
		}
	}
	return "", ""
}

// wastedOn counts a task's failed attempts and the seconds from its first
// attempt's start to the end of the application.
func wastedOn(o *harness.Observation, task, stage string) (int, float64) {
	var n int
	var first, last events.Event
	for _, e := range o.Events(events.TaskStart, events.TaskEnd, events.ApplicationEnd) {
		if e.Kind == events.ApplicationEnd {
			last = e
			continue
		}
		if fmt.Sprint(e.Task) != task || fmt.Sprintf("%d.%d", e.Stage, e.StageAtt) != stage {
			continue
		}
		if e.Kind == events.TaskStart && first.Time.IsZero() {
			first = e
		}
		if e.Kind == events.TaskEnd && e.Outcome == "failed" {
			n++
		}
	}
	if first.Time.IsZero() || last.Time.IsZero() {
		return n, 0
	}
	return n, last.Time.Sub(first.Time).Seconds()
}

func orNobody(s string) string {
	if s == "" {
		return "no executor"
	}
	return s
}

var storyOptionNil = fmt.Sprintf(`The documented failure (%s, "When Life Gives You Options…"; FAILURES.md §3)
  A Spark job failed with
    Job aborted due to stage failure: Task 7 in stage 15345.0 failed 4 times, most
    recent failure: Lost task 7.3 in stage 15345.0 (TID 27874, host):
    java.lang.NullPointerException
  and a driver stack trace that said nothing useful; the real trace, in Argonaut's
  JSON writer, was in an executor's log. The record was case class Foo(bar:
  Option[String], …): the options came from Map("bar" -> null).get("bar"), which
  is Some(null), because a Java library parsing key=value strings returned null
  for a key with no value. Option(null) would have been None.

The experiment
  listings.txt holds 800 marketplace listings as key=value lines; four of them,
  all in the last three of eight input partitions, have "color=" with no value.
  The job parses each line with the fixture's interop library, builds a
  records.Listing whose fields are codec.Option[*string] by map lookup, shuffles
  by id into 8 reduce tasks, and writes each listing as JSON with a hand-written
  writer. The empty colors all fall to reduce task 7.
  - control: the parser leaves keys with no value out: None, correct output.
  - reproduce (spark-1.0): with interop-nil-values the parser returns nil for
    them, the lookup gives Some(nil), the codec carries it through the shuffle
    and reduce task 7's writer dereferences it: a real Go nil-pointer panic,
    recovered by the task runner as NullPointerException. The task is tried 4
    times; the driver's abort names only the exception, the executor's log has
    the stack with appendJSONString. The evidence counts the attempts and the
    seconds they took.
  - catch:
      option-nil-check (beyond Spark): the encoder refuses Some(nil) in the map
        task that built it, naming records.Listing.Color, the field's type and the
        input line; the failure is not retried (one attempt, not four).
      user-fix (a fix in user code, not an engine safeguard): the seed's advice,
        Option(map(key)) — codec.OptionOf — at the lookup: None for nil, and the
        job is correct.
  - no false alarm: the check on, clean parsing: nothing refused, output correct.`, seed003)
