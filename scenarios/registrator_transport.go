package scenarios

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

var (
	reRegistratorFailed = regexp.MustCompile(`Failed to run spark\.kryo\.registrator`)
	reRegistrator       = regexp.MustCompile(`spark\.kryo\.registrator|Failed to register classes|` + regexp.QuoteMeta(fixtures.Registrator))
)

// RegistratorTransport: the block server's transport goroutines cannot see the
// application bundle, so they build serializers without the user registrator.
func RegistratorTransport() *harness.Scenario {
	return &harness.Scenario{
		Name:    "registrator-transport",
		Title:   "a registrator missing on transport goroutines: the error only in an executor's log, swallowed",
		Source:  seed000,
		Section: "2",
		Symptom: "\"Failed to run spark.kryo.registrator\" with ClassNotFoundException in an executor's stderr only, then item 1's deserialisation failures; the driver's output never mentions the registrator",
		Place:   "executor log (registrator error); driver output (only the downstream task failures)",
		RootCause: "Spark 1.0 built each serializer with the current thread's context class loader: task threads had the application jar, " +
			"the connection-manager threads that serve remote blocks did not, so the registrator lookup failed there, was logged and swallowed.",
		Why: "Executors keep a cached dataset deserialised in memory; when another executor reads a cached partition, the block server's own goroutine encodes it. " +
			"Those goroutines run without the application bundle, the analogue of a thread's class loader without the application jar, so their serializer registers no user types and every library id shifts. " +
			"The seed's author could only hypothesise this; here each safeguard is switched on alone: fail-fast (SPARK-2893) stops the job naming the registrator and the goroutine, the executor-wide registry (SPARK-3046) makes the job correct, and the registry fingerprint refuses the mismatched block.",
		Chain: []string{
			"a cached partition is read by a task on another executor",
			"the holder's block-server goroutine encodes it with a serializer built from its own context",
			"that context lacks the application bundle: \"Failed to run spark.kryo.registrator\" is logged on the executor and swallowed",
			"the serializer has no user types, so every library id (Tuple2, options, collections) shifts down",
			"the reading task decodes the bytes with the full registry: wrong types, out-of-range lengths, unknown ids",
			"the task fails 4 times and the job aborts; the driver shows only the downstream exception",
		},
		Story:    storyRegistratorTransport,
		Workload: "kryo-distributed",
		Conf:     registrationConf,
		Faults:   fault.Set{{Point: fault.TransportWithoutBundle}},
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.RegistratorFailFast}, Expect: harness.Diagnose, Diagnosis: []string{"Failed to register classes with Kryo", fixtures.Registrator, "transport goroutine"}},
			{Safeguards: []safeguard.Name{safeguard.ExecutorWideRegistry}, Expect: harness.Survive},
			{Safeguards: []safeguard.Name{safeguard.RegistryFingerprint}, Expect: harness.Diagnose, Diagnosis: []string{"registry", "registrator did not run"}},
		},
		Signature: sigRegistratorTransport(),
		Reproduce: reproduceSwallowedRegistrator,
	}
}

// reproduceSwallowedRegistrator recognises the seed's split: the registrator
// error is in executors' logs and nowhere in the driver's output, and the job
// fails (or returns wrong data) downstream of it.
func reproduceSwallowedRegistrator(o *harness.Observation, ev *harness.Evidence) error {
	var problems []string
	logged := o.GrepExecutors(reRegistratorFailed)
	if len(logged) == 0 {
		problems = append(problems, "no executor logged \"Failed to run spark.kryo.registrator\"")
	}
	for _, src := range o.Sources()[1:] {
		if lines := logged[src]; len(lines) > 0 {
			ev.Add(src, lines[0])
			ev.Add(src, o.StackAfter(src, reRegistratorFailed))
			break
		}
	}
	executors := len(o.Sources()) - 1
	ev.Addf("%d of %d executors logged the registrator failure; the driver's output mentions no registrator", len(logged), executors)
	if l := o.Grep("driver", reRegistrator); len(l) > 0 {
		problems = append(problems, "the driver's output mentions the registrator, unlike the documented failure: "+l[0])
	}
	switch {
	case o.Correct:
		problems = append(problems, "the job returned the right answer")
	case o.Aborted():
		ev.First(o, "driver", reLostTask)
		ev.Add("driver", firstLine(o.Result.Error))
		kind := reDecodeKind.FindString(o.Result.Error)
		ev.Observe("registrator error in %d of %d executors' logs only; downstream %s; %s", len(logged), executors, kind, abortShape(o.Result.Error))
		if !reDecodeKind.MatchString(o.Result.Error) {
			problems = append(problems, "the abort does not name a decoding failure: "+firstLine(o.Result.Error))
		}
	default:
		ev.Addf("silently wrong output: %s", firstLine(o.Diff))
		ev.Observe("registrator error in %d of %d executors' logs only; silently wrong output", len(logged), executors)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

var storyRegistratorTransport = fmt.Sprintf(`The documented failure (%s, "Root cause hypothesis" 3-4; FAILURES.md §2)
  The same user as registration-order found, in some workers' stderr only:
    ERROR serializer.KryoSerializer: Failed to run spark.kryo.registrator
    java.lang.ClassNotFoundException: org.example.MyRegistrator
  The driver console and web UI showed nothing of it. The author hypothesised that
  the connection-manager threads, which send and receive blocks, lacked the
  application jar in their class loader.

The mechanism modelled here
  Executors carry an application bundle (registrators, job functions), the analogue
  of the application jar. Task goroutines run with it in their context; the block
  server's transport goroutines run with a context that lacks it. In the spark-1.0
  profile the serializer resolves spark.kryo.registrator (%s) through the
  current goroutine's context, as Spark 1.0 used the thread's context class loader.
  On a transport goroutine that fails: the executor logs the error to its own log,
  swallows it, and builds a registry of defaults and library types only, so every
  library id shifts down by the number of user types. Cached partitions are held
  deserialised; when a task on another executor reads one, the transport goroutine
  encodes it with that registry and the task decodes it with the full one.

The experiment
  The workload caches custom records, then reads them through a coalesce so that
  tasks read partitions cached on other executors.
  - control: the bundle is visible everywhere; the output equals the oracle.
  - reproduce (spark-1.0): "Failed to run spark.kryo.registrator" appears in
    executors' logs and not in the driver's; tasks fail with deserialisation errors
    from the bytes; after 4 attempts the job aborts.
  - catch, judged one safeguard at a time:
      registrator-fail-fast (SPARK-2893): the transport goroutine's failure is an
        error; the executor reports it to the driver and the job stops at once with
        "Failed to register classes with Kryo", naming the registrator and the
        goroutine role.
      executor-wide-registry (SPARK-3046): serializers resolve the registrator
        through the executor's bundle, whatever goroutine asks: the job is correct.
      registry-fingerprint (beyond Spark): every block carries its writer's registry
        fingerprint; the reader refuses a block from another registry and says the
        writer has fewer types, i.e. its registrator did not run.
  - no false alarm: all three on, no fault: correct output, nothing fires.`, seed000, fixtures.Registrator)

// sigRegistratorTransport: "Failed to run spark.kryo.registrator" in an
// executor's log only (Spark 1.0 logged and swallowed it; its absence from
// the driver's output is part of the evidence), or SPARK-21928's "Failed to
// register classes with Kryo" thrown under a network thread's frames, which
// reaches the driver as a task failure.
func sigRegistratorTransport() *diagnose.Signature {
	const registratorFailed = `Failed to run spark\.kryo\.registrator`
	return &diagnose.Signature{
		ID: "registrator-transport", Title: "the Kryo registrator missing on transport threads: the error only in executors' logs",
		Source: seed000, Section: "2", Scenario: "registrator-transport", Profile: "spark-1.0",
		RootCause: "Spark 1.0 built each serializer with the current thread's context class loader, which on the threads serving remote blocks lacked the application jar, so the registrator lookup failed there, was logged in the executor's stderr and swallowed. " +
			"Those serializers then registered no user classes, every later id shifted, and readers failed decoding with the errors of a divergent registration while the driver never mentioned the registrator.",
		Fixes: []string{"upgrade: Spark 1.1.1/1.2 fails fast (SPARK-2893) and uses the executor's class loader (SPARK-3046); SPARK-21928 fixed the same on netty threads in 2.2.1",
			"put the registrator's jar on the executors' system class path (spark.executor.extraClassPath) so every thread sees it"},
		Conf:      append([]diagnose.Setting{{Key: "spark.executor.extraClassPath", Default: "(none)", Note: "makes the registrator visible to every executor thread"}}, kryoConf[0]),
		Safeguard: string(safeguard.RegistratorFailFast) + " (SPARK-2893), " + string(safeguard.ExecutorWideRegistry) + " (SPARK-3046) or " + string(safeguard.RegistryFingerprint),
		Require: []diagnose.Clause{{
			Says: "a process could not run the registrator",
			Any: []diagnose.Pattern{
				{Message: registratorFailed},
				{Message: `Failed to register classes with Kryo`, Frame: `org\.apache\.spark\.network|ConnectionManager|NettyBlockRpcServer|TransportRequestHandler|BlockManager\.getRemote|io\.netty|transport goroutine`},
			},
		}},
		Absent: []diagnose.Clause{{
			Says: "the driver's output mentioned the registrator failure", In: diagnose.Driver,
			Any: []diagnose.Pattern{{Message: registratorFailed}},
		}},
		Support: []diagnose.Clause{
			{Says: "it was an executor's log", In: diagnose.Executor, Any: []diagnose.Pattern{{Message: registratorFailed}, {Message: `Failed to register classes with Kryo`}}},
			{Says: "the registrator's class was not found", Any: []diagnose.Pattern{{Exception: `ClassNotFoundException$`, Message: registratorFailed + `|Failed to register classes with Kryo`}}},
			{Says: "tasks then failed decoding with the shifted registry", Any: decodeFailures},
		},
		Refines: []string{"registration-order", "registration-shift"},
	}
}
