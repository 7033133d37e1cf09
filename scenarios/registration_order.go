package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// seed000 is the Spark 1.0 Kryo bug report.
const seed000 = "000_5e7405bbbac7885c.txt"

// decodeKinds are the failures Kryo gives when bytes are read with other ids
// (the seed lists the first three; the fourth is Kryo's unknown-id error).
var reDecodeKind = regexp.MustCompile(`ClassCastException|ClassNotFoundException|IndexOutOfBoundsException|KryoException`)

var (
	reLostTask  = regexp.MustCompile(`Lost task \d+\.\d+ in stage \d+\.\d+ \(TID \d+, [^,]+, executor \d+\): (ClassCastException|ClassNotFoundException|IndexOutOfBoundsException|KryoException)`)
	reExecError = regexp.MustCompile(`ERROR executor\.Executor: Exception in task`)
	reAbortTask = regexp.MustCompile(`Task \d+ in stage \d+\.\d+ failed \d+ times`)
)

// abortShape is the abort's first clause ("job aborted: Task 1 in stage 1.0
// failed 4 times").
func abortShape(err string) string {
	if m := reAbortTask.FindString(err); m != "" {
		return "job aborted: " + m
	}
	return "job aborted"
}

// registrationConf names the user registrator, as an application sets
// spark.kryo.registrator.
var registrationConf = map[string]string{conf.KryoRegistrator: fixtures.Registrator}

// RegistrationOrder: one executor registers the user types in another order.
func RegistrationOrder() *harness.Scenario {
	return &harness.Scenario{
		Name:    "registration-order",
		Title:   "divergent type-registration order: registry ids differ between processes",
		Source:  seed000,
		Section: "1",
		Symptom: "tasks fail while deserialising shuffle data with ClassCastException (\"Tuple1 cannot be cast to Product2\"), ClassNotFoundException or IndexOutOfBoundsException; the driver only reports the loss",
		Place:   "executor log (full exception); driver output (Lost task … / Job aborted)",
		RootCause: "Kryo writes a registered type's integer id, never its name, and ids are handed out in registration order: " +
			"a process that registers the same types in another order reads every id as a different type.",
		Why: "One executor registers the user's record types in a seeded permutation of the order every other process uses. " +
			"The bytes its tasks write are read elsewhere with other ids, and the wrong-type errors of the seed arise from the bytes themselves. " +
			"Spark has no check that two registries agree; the registry fingerprint, exchanged at registration and carried in every block, refuses the odd executor before it does harm.",
		Chain: []string{
			"executor 2 registers the user types in another order",
			"its ids for user types differ from the driver's and the other executors'",
			"shuffle and result bytes carry ids, not names",
			"readers decode the ids as other types",
			"ClassCastException / IndexOutOfBoundsException / KryoException in tasks, retried 4 times, job aborted",
		},
		Story: storyOf(`executor 2 registers the user types in a seeded permutation. Its
    shuffle and result bytes are decoded elsewhere with other ids; tasks fail with the
    seed's exception kinds (from the bytes), are retried 4 times, and the job aborts
    with "Job aborted due to stage failure: Task N in stage S failed 4 times".`),
		Workload: "kryo-distributed",
		Conf:     registrationConf,
		Faults:   fault.Set{{Point: fault.RegistrationOrder, Executors: []int{2}}},
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.RegistryFingerprint}, Expect: harness.Diagnose, Diagnosis: []string{"registry", "first difference at id"}},
		},
		Signature: sigRegistrationOrder(),
		Reproduce: reproduceDecodeFailure,
	}
}

// RegistrationOrderNatural: the registrator ranges over a Go map, so each
// process may register in its own order; how often that shows is the point.
func RegistrationOrderNatural() *harness.Scenario {
	s := RegistrationOrder()
	s.Name = "registration-order-natural"
	s.Title = "registration order from ranging over a Go map: ids differ by process, by chance"
	s.Why = "The registrator ranges over a Go map of eleven record types, so each process registers them in whatever order the runtime picks. " +
		"With more than eight entries the order varies as a whole, and the driver and two executors rarely agree. " +
		"The run is repeated and the reproduction rate reported with its interval; the registry fingerprint catches every disagreeing executor at registration."
	s.Chain = append([]string{"the registrator ranges over a Go map (unspecified order)"}, s.Chain[1:]...)
	s.Faults = fault.Set{{Point: fault.RegistrationMapOrder}}
	s.Story = storyOf(`the registrator ranges over a Go map of its eleven types, in the driver
    and in every executor. Each process registers in the order its map iteration
    gives; where two disagree, bytes written by one are decoded by the other with
    other ids. The run is repeated (10 times by default) and the reproduction rate
    reported as k/N with a Wilson 95% interval.`)
	s.Probabilistic = true
	s.Repeat = 10
	s.Catches = []harness.Catch{
		{Safeguards: []safeguard.Name{safeguard.RegistryFingerprint}, Expect: harness.Either, Diagnosis: []string{"registry", "first difference at id"}},
	}
	return s
}

// RegistrationShift: one executor lacks a type the others register before the
// user types, so every later id on it is one lower: its Tuple2 is everyone
// else's Tuple1, the seed's own "Tuple1 cannot be cast to Product2".
func RegistrationShift() *harness.Scenario {
	s := RegistrationOrder()
	s.Name = "registration-shift"
	s.Title = "a type registered on one side only: every later id shifts by one"
	s.Why = "Executor 2 lacks one built-in type that the driver and the other executors register before the user types, as when a class sits on one side of the classpath only (SPARK-12591) or a library upgrade pre-registers one more type. " +
		"Every id after it is one lower on executor 2, so the Tuple2 it writes is read elsewhere as a Tuple1, and the reading task fails with the seed's own message, from the bytes. " +
		"The registry fingerprint refuses executor 2 at registration and names the first id where the registries part."
	s.Chain = append([]string{"executor 2 registers one built-in type fewer than everyone else", "every id after it is one lower on executor 2"}, s.Chain[2:]...)
	s.Faults = fault.Set{{Point: fault.RegistrationShift, Executors: []int{2}}}
	s.Story = storyOf(`executor 2 lacks one built-in type ([]byte) that the driver and the
    other executors register before the user types, as with a class on one side of
    the classpath only (SPARK-12591) or a library upgrade that pre-registers one more
    type. Every later id is one lower on executor 2: the Tuple2 it writes is everyone
    else's Tuple1, and the consumer fails with the seed's own "ClassCastException:
    Tuple1 cannot be cast to Product2" (Spark deserialises lazily, so the first
    mis-typed record is cast before the bytes after it are read).`)
	s.Symptom = "tasks fail with \"ClassCastException: Tuple1 cannot be cast to Product2\" while reading another executor's data; the driver only reports the loss"
	s.Signature = sigRegistrationShift()
	s.Reproduce = func(o *harness.Observation, ev *harness.Evidence) error {
		if err := reproduceDecodeFailure(o, ev); err != nil {
			return err
		}
		if !ev.First(o, "driver", reCastToProduct2) {
			return errors.New("no task failed with \"ClassCastException: … cannot be cast to Product2\", the seed's headline")
		}
		return nil
	}
	return s
}

// reCastToProduct2 is the seed's headline failure, as the driver reports it.
var reCastToProduct2 = regexp.MustCompile(`Lost task .*: ClassCastException: \w+ cannot be cast to Product2`)

// reproduceDecodeFailure recognises the seed's symptom: the job fails (or
// returns wrong data) because tasks decoded bytes with another registry; the
// full exception is in an executor's log and the driver reports lost tasks.
func reproduceDecodeFailure(o *harness.Observation, ev *harness.Evidence) error {
	if o.Correct {
		return errors.New("the job returned the right answer")
	}
	if !o.Aborted() {
		ev.Addf("silently wrong output: %s", firstLine(o.Diff))
		ev.Observe("silently wrong output, no error")
		return nil // the worst case FAILURES.md §1 names: wrong data, no error
	}
	var problems []string
	if !ev.First(o, "driver", reLostTask) {
		problems = append(problems, "no driver line \"Lost task … : ClassCastException|ClassNotFoundException|IndexOutOfBoundsException|KryoException\"")
	}
	execLines := o.GrepExecutors(reExecError)
	if len(execLines) == 0 {
		problems = append(problems, "no executor logged the exception in full")
	}
	for _, src := range o.Sources()[1:] {
		if l := o.Grep(src, reExecError); len(l) > 0 {
			ev.Add(src, l[0])
			ev.Add(src, o.StackAfter(src, reExecError))
			break
		}
	}
	if m := reLostTask.FindStringSubmatch(strings.Join(o.Grep("driver", reLostTask), "\n")); m != nil {
		ev.Observe("%s while decoding another process's bytes; %d failed attempts; %s", m[1], len(o.FailedTasks()), abortShape(o.Result.Error))
	}
	if !reDecodeKind.MatchString(o.Result.Error) {
		problems = append(problems, "the abort does not name a decoding failure: "+firstLine(o.Result.Error))
	}
	ev.Add("driver", firstLine(o.Result.Error))
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

const storyRegistrationOrder = `The documented failure (%s, FAILURES.md §1)
  A Spark 1.0 user saw tasks fail while deserialising shuffle data with
  "ClassCastException: scala.Tuple1 cannot be cast to scala.Product2", and at other
  times ClassNotFoundException or IndexOutOfBoundsException. The driver only said
  "Loss was due to java.lang.ClassCastException".

Root cause
  Kryo gives each registered class the next free integer id and writes only that id.
  Reader and writer must register the same classes in the same order. When two
  processes disagree, every id names a different class on the other side, and what
  breaks depends on the bytes.

The experiment
  minicluster's codec hands out ids in registration order like Kryo: built-ins, then
  the user registrator (%s), then the library types (tuples, options,
  collections), in Spark 1.0's order. The workload is Spark's own distributed Kryo
  check (cache custom records, remap keys, join) plus a word count.
  - control: every process registers in the same order; the output equals an oracle
    computed without the cluster.
  - reproduce: %s
  - catch: registry-fingerprint (beyond Spark: Spark has no registry handshake).
    Each executor sends its registry's fingerprint at registration; the driver refuses
    one whose registry differs and names the first differing id and both types. The
    job completes on the remaining executors.
  - no false alarm: the fingerprint on, no fault: nothing refused, output correct.

What Spark offers
  spark.kryo.registrationRequired (default false) rejects unregistered classes only:
  it does not notice two orders of registered ones. Explicit ids (register(Class, id))
  avoid the problem where every class gets one.`

// storyOf tells a registration scenario's story with its own reproduce step.
func storyOf(reproduce string) string {
	return fmt.Sprintf(storyRegistrationOrder, seed000, fixtures.Registrator, reproduce)
}

// How Spark reports bytes decoded with another registry, across versions:
// the driver's "Loss was due to java.lang.X" (1.0) or "Lost task 1.0 in stage
// 2.0 (TID 3, host[, executor 4]): java.lang.X: …" (1.1+), the executor's
// "Exception in task …" with Kryo's frames. Each kind counts only where it
// can come from decoding: a cast to a tuple, an id Kryo does not know, or an
// index, class or cast failure inside Kryo's reading frames; a user's own
// IndexOutOfBoundsException in a map function is not one.
const (
	kryoReadFrames = `com\.esotericsoftware\.kryo|KryoDeserializationStream|KryoSerializerInstance\.deserialize|read block|readClass|readObject`
	castToTuple    = `cannot be cast to (class )?(scala\.)?(Product2|Tuple\d+)\b`
	// wellFormedMissing: Kryo read a whole, well-formed class name it could
	// not load. Bytes read with another registry give a garbled name; a
	// proper one means the class is missing from that process's class path
	// (a jar not shipped), which is not a divergent registration.
	wellFormedMissing = `Unable to find class: [A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)+\s*$`
)

var (
	castToProduct2    = diagnose.Pattern{Exception: `(^|\.)ClassCastException$`, Message: castToTuple, Task: true}
	unregisteredID    = diagnose.Pattern{Exception: `(^|\.)KryoException$`, Message: `Encountered unregistered class ID|Unable to find class`, Not: wellFormedMissing, Task: true}
	indexInKryo       = diagnose.Pattern{Exception: `(^|\.)IndexOutOfBoundsException$`, Frame: kryoReadFrames, Task: true}
	classNotFoundKryo = diagnose.Pattern{Exception: `(^|\.)ClassNotFoundException$`, Frame: kryoReadFrames, Task: true}
	castInKryo        = diagnose.Pattern{Exception: `(^|\.)ClassCastException$`, Frame: kryoReadFrames, Task: true}
	// decodeFailures leaves out a ClassNotFoundException read by Kryo: a jar
	// missing from an executor gives it too.
	decodeFailures = []diagnose.Pattern{castToProduct2, unregisteredID, indexInKryo, castInKryo}
)

var kryoConf = []diagnose.Setting{
	{Key: "spark.kryo.registrator", Default: "(none)", Note: "the user registrator; every process must run it, in the same order"},
	{Key: "spark.kryo.registrationRequired", Default: "false", Note: "rejects unregistered classes only: it does not notice two orders of registered ones"},
	{Key: "spark.kryo.classesToRegister", Default: "(none)", Note: "registered in the listed order, after the registrator's"},
}

const registrationRoot = "Kryo writes a registered class's integer id, never its name, and ids are handed out in registration order. " +
	"When two processes register different classes or the same ones in another order, bytes one writes are read by the other as other classes, and what breaks depends on the bytes."

// sigRegistrationOrder: tasks fail decoding with the seed's kinds.
func sigRegistrationOrder() *diagnose.Signature {
	return &diagnose.Signature{
		ID: "registration-order", Title: "divergent Kryo registration: tasks fail decoding another process's bytes",
		Source: seed000, Section: "1", Scenario: "registration-order", Profile: "spark-1.0",
		RootCause: registrationRoot,
		Fixes: []string{"register every class in one registrator, in a fixed order (never by iterating a hash map)",
			"give classes explicit ids (kryo.register(Class, id)) so the order cannot matter",
			"ship the same jars to the driver and every executor (SPARK-12591) and upgrade Kryo everywhere at once"},
		Conf:      kryoConf,
		Safeguard: string(safeguard.RegistryFingerprint) + " (beyond Spark: registries compared at registration)",
		Require: []diagnose.Clause{{
			Says: "tasks failed decoding data: a cast to a tuple, an unregistered class id, or an index/class failure inside Kryo's reading",
			Any:  decodeFailures,
		}},
		Support: []diagnose.Clause{
			{Says: "an executor logged the exception in full", In: diagnose.Executor, Any: decodeFailures},
			{Says: "the driver reported the lost tasks", In: diagnose.Driver, Any: decodeFailures},
			{Says: "the job aborted once a task's attempts were spent", Any: []diagnose.Pattern{
				{Message: `failed \d+ times(; aborting job|, most recent failure)`}}},
		},
	}
}

// sigRegistrationShift: one class registered on one side only shifts every
// later id by one, so every decoding failure is the seed's cast of a
// one-element tuple (or an option) to Product2 and nothing else.
func sigRegistrationShift() *diagnose.Signature {
	return &diagnose.Signature{
		ID: "registration-shift", Title: "a class registered on one side only: every later Kryo id shifts by one",
		Source: seed000, Section: "1", Scenario: "registration-shift", Profile: "spark-1.0",
		RootCause: registrationRoot + " A class present on one side only (SPARK-12591) shifts every later id by one, so each pair is read as the type registered just before it.",
		Fixes: []string{"ship the same jars and Kryo version to the driver and every executor",
			"give classes explicit ids (kryo.register(Class, id))"},
		Conf:      kryoConf,
		Safeguard: string(safeguard.RegistryFingerprint) + " (beyond Spark: names the first id where the registries part)",
		Require: []diagnose.Clause{{
			Says: "tasks failed again and again casting a decoded value to Product2", Min: 2,
			Any: []diagnose.Pattern{castToProduct2},
		}},
		Absent: []diagnose.Clause{{
			Says: "a decoding failure of another kind (unregistered id, index out of bounds) appeared",
			Any:  []diagnose.Pattern{unregisteredID, indexInKryo, classNotFoundKryo},
		}},
		Support: []diagnose.Clause{
			{Says: "an executor logged the exception in full", In: diagnose.Executor, Any: []diagnose.Pattern{castToProduct2}},
		},
		Refines: []string{"registration-order"},
	}
}
