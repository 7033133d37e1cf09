package scenarios

import (
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

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
)

var (
	castToProduct2    = diagnose.Pattern{Exception: `(^|\.)ClassCastException$`, Message: castToTuple, Task: true}
	unregisteredID    = diagnose.Pattern{Exception: `(^|\.)KryoException$`, Message: `Encountered unregistered class ID|Unable to find class`, Task: true}
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

// Signatures lists every signature diagnose knows: the catalogue's scenarios'
// first, then those of failures no scenario in this build reproduces yet,
// which offer no command to reproduce them.
func (c *Catalogue) Signatures() []*diagnose.Signature {
	var out []*diagnose.Signature
	seen := map[string]bool{}
	for _, s := range c.list {
		if s.Signature != nil && !seen[s.Signature.ID] {
			seen[s.Signature.ID] = true
			out = append(out, s.Signature)
		}
	}
	for _, s := range diagnose.Pending() {
		if seen[s.ID] {
			continue
		}
		seen[s.ID] = true
		if _, ok := c.byName[s.Scenario]; !ok {
			s.Scenario = "" // each call builds a fresh signature: clearing it here touches no one else's
		}
		out = append(out, s)
	}
	return out
}
