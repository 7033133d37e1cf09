package diagnose

// The documented failures of FAILURES.md §3–§7, as Spark writes their
// evidence across versions. Each is named after the scenario that reproduces
// it (option-nil, deep-list, eventual-checkpoint, throttled-checkpoint,
// flaky-node, no-output-op), which references it (Scenario.Signature =
// diagnose.OptionSomeNull()); a build without that scenario still recognises
// the failure and offers no command to reproduce it.

const seed003 = "003_62b8e12072c4356b.txt"

// maxFailures is Spark's spark.task.maxFailures setting.
var maxFailures = Setting{"spark.task.maxFailures", "4", "attempts of one task before its job aborts"}

// jsonFrames are the frames of JSON encoders a null string reaches: the
// writing side of the common JVM JSON libraries (Jackson's generators and
// serializers, json4s, circe, argonaut, spray-json, play-json, Gson,
// org.json, Spark's own JacksonGenerator) and any frame whose class or
// method says it writes JSON ("appendJsonString", "JsonEncoder.encode").
// Their reading side (Jackson's deserializers and parsers, Spark's
// JacksonParser) is left out: a NullPointerException while parsing JSON is
// another failure.
const jsonFrames = `com\.fasterxml\.jackson\.(core\.json\.\w*(Generator|Writer)|core\.io\.SegmentedStringWriter|databind\.(ser\.|ObjectMapper\.write|ObjectWriter))` +
	`|org\.json4s\.\S*(Serializ|compact|pretty|render|write|decompose|Printer)|io\.circe\.(Encoder|Printer|Json\S*\.(noSpaces|spaces|print))|argonaut\.|spray\.json\.\S*(Writer|Printer|write|productElement2Field)` +
	`|play\.api\.libs\.json\.\S*(Writes|toJson|stringify|prettyPrint)|com\.google\.gson\.(Gson\.toJson|stream\.JsonWriter|internal\.bind\.\S*\.write)` +
	`|catalyst\.json\.JacksonGenerator|org\.json\.JSON(Object|Array|Writer)\S*\.(put|write|toString)` +
	`|(?i)json\w*[.$](encode|write|serializ|render|print|stringify|tojson|compact|pretty)|(encode|write|append|print|render|marshal|tojson|stringify)\w*json`

// OptionSomeNull is FAILURES.md §3: a null inside Some, dereferenced by a JSON
// encoder on an executor.
func OptionSomeNull() *Signature {
	return &Signature{
		ID: "option-nil", Scenario: "option-nil", Title: "a null inside Some(…): NullPointerException in a JSON encoder on executors",
		Source: seed003, Section: "3",
		RootCause: "A map lookup on a value that is null gives Some(null), not None, so an Option-aware encoder passes the null on to code that dereferences it. " +
			"The executor throws NullPointerException inside the JSON encoder; the driver only reports the lost task and, after spark.task.maxFailures attempts, a useless abort.",
		Fixes: []string{"wrap values from Java libraries with Option(x), never Some(x), so null becomes None",
			"read the executor's log (not the driver's) for the trace that names the encoder and the field"},
		Conf:      []Setting{maxFailures},
		Safeguard: "a check that no option holds nil before encoding (beyond Spark)",
		Require: []Clause{{
			Says: "a task failed with NullPointerException inside a JSON encoder",
			Any: []Pattern{
				{Exception: `(^|\.)NullPointerException$`, Frame: jsonFrames, Task: true},
				{Exception: `(^|\.)NullPointerException$`, Frame: jsonFrames, Message: `Exception in task|Lost task|aborted`},
				{Message: `nil pointer dereference`, Frame: jsonFrames},
			},
		}},
		Support: []Clause{
			{Says: "the job aborted after the task's attempts were spent", Any: []Pattern{{Message: `failed \d+ times`, Exception: `NullPointerException`}}},
			{Says: "an executor logged the full trace", In: Executor, Any: []Pattern{{Exception: `NullPointerException`, Frame: jsonFrames}}},
		},
	}
}

// serializerFrames are the frames of a recursive serialiser.
const serializerFrames = `(?i)com\.esotericsoftware\.kryo|ObjectOutputStream|ObjectInputStream|writeObject|readObject|Serializer\.write|serializ|codec\.|encod`

// DeepListOverflow is FAILURES.md §4: a recursive serialiser overflows the
// stack on a deep linked list; the executor process dies.
func DeepListOverflow() *Signature {
	return &Signature{
		ID: "deep-list", Scenario: "deep-list", Title: "StackOverflowError serialising a deep linked structure; the executor is lost",
		Source: seed003, Section: "4",
		RootCause: "A linked list without its own serialisation makes Kryo or Java serialisation recurse once per element, and a few thousand elements overflow a thread's stack. " +
			"In Spark a StackOverflowError is fatal: the task fails, the executor process exits (code 50) and its other tasks are lost with it.",
		Fixes: []string{"use a collection that serialises its elements in a loop (immutable List, Vector, ArrayBuffer) or write a serializer that loops",
			"raise the thread stack size (-Xss) only as a stopgap"},
		Conf: []Setting{{"spark.executor.extraJavaOptions", "(none)", "-Xss raises the executor threads' stack"},
			{"spark.driver.extraJavaOptions", "(none)", "the same for the driver, where results are deserialised"}},
		Safeguard: "a depth limit in the serialiser (Kryo's setMaxDepth, which Spark never sets)",
		Require: []Clause{{
			Says: "StackOverflowError inside a recursive serialiser",
			Any: []Pattern{
				{Exception: `(^|\.)StackOverflowError$`, Frame: serializerFrames},
				{Exception: `(^|\.)StackOverflowError$`, Message: `StackOverflowError.*(ObjectOutputStream|ObjectInputStream|com\.esotericsoftware\.kryo)`},
				{Message: `goroutine stack exceeds \d+-byte limit|fatal error: stack overflow`},
			},
		}},
		Support: []Clause{
			{Says: "the executor was lost with it", Any: []Pattern{{Message: `Lost executor|ExecutorLostFailure|exit code 50|exit status 50|exited with status 50|Executor \S+ removed`}}},
		},
	}
}

// The files Spark's checkpoints leave on S3, across its checkpoint writers:
// a stream's checkpoint-<time> (DStreams), an RDD's rdd-<id>/part-<n>, a
// structured stream's offsets/, commits/, sources/ and state/ logs and a file
// sink's _spark_metadata, or any path naming a checkpoint directory.
const (
	s3             = `s3[an]?://`
	checkpointOnS3 = `(?i)` + s3 + `\S*(check[-_]?point|/(offsets|commits|sources|state)/\S|/rdd-\d+(/part-\d+)?|/_spark_metadata)`
	// missing: the store said a file written a moment before was not there,
	// or a read of it came back short, which is what an eventually
	// consistent listing or read-after-write looks like; a refused
	// credential or a class that changed is another failure.
	missing = `(FileNotFound|EOF|(^|\.)Consistency)Exception$`
)

// CheckpointEventualConsistency is FAILURES.md §5: checkpoints on S3 before it
// was strongly consistent.
func CheckpointEventualConsistency() *Signature {
	return &Signature{
		ID: "eventual-checkpoint", Scenario: "eventual-checkpoint", Title: "checkpoints on an eventually consistent S3: sporadic \"not found\" failures",
		Source: seed003, Section: "5",
		RootCause: "Spark's checkpoint writers write a temporary file, rename it and list the directory, which assumes a file system; on S3 before December 2020 a listing or a read right after a write could miss the new object. " +
			"Checkpoint writes and reads then fail sporadically with \"not found\", failed tasks pile up beside real ones, and driver recovery from the checkpoint is unreliable.",
		Fixes: []string{"checkpoint to a store with atomic rename and consistent listing (HDFS, EFS)",
			"use a consistent metadata layer (S3Guard, s3mper) or the S3A committers on old Hadoop; S3 itself is strongly consistent since December 2020"},
		Conf:      []Setting{{"spark.hadoop.fs.s3a.metadatastore.impl", "(none)", "S3Guard's consistent index (Hadoop 2.9–3.3)"}},
		Safeguard: "checkpoint writes verified by a consistent read-back before they are trusted (beyond Spark)",
		Require: []Clause{{
			Says: "a checkpoint on S3 failed to be written, listed or read",
			Any: []Pattern{
				{Message: `(Error in attempt \d+ of writing checkpoint to|Error reading checkpoint from file) .*` + s3, Exception: missing},
				{Exception: `FileNotFoundException$`, Message: checkpointOnS3},
				{Exception: `IllegalStateException$`, Message: checkpointOnS3 + `\S* (does not|doesn't) exist`},
				{Message: `(?i)(Invalid checkpoint file|Checkpoint (RDD )?directory does not exist).*` + s3},
				{Message: `has (a )?different number of partitions from original RDD`},
				{Exception: `(^|\.)ConsistencyException$`},
			},
		}},
		Support: []Clause{
			{Says: "it happened more than once (sporadic)", Min: 2, Any: []Pattern{{Message: checkpointOnS3, Exception: missing}}},
		},
	}
}

// CheckpointThrottledStore is FAILURES.md §5's EFS variant: a bursting file
// system out of credits slows every checkpoint.
func CheckpointThrottledStore() *Signature {
	return &Signature{
		ID: "throttled-checkpoint", Scenario: "throttled-checkpoint", Title: "checkpoints slowed by a throttled store: processing delay grows",
		Source: seed003, Section: "5",
		RootCause: "A bursting file system (EFS) gives throughput in proportion to the data stored, so a small checkpoint store runs out of burst credits after days and is throttled. " +
			"Each checkpoint then takes seconds instead of milliseconds, and a streaming job's batches queue behind them.",
		Fixes: []string{"give the store provisioned throughput, or enough stored data to earn the baseline it needs",
			"checkpoint less often (a multiple of the batch interval)"},
		Conf:      []Setting{{"spark.streaming.receiver.writeAheadLog.enable", "false", "write-ahead logs add to the store's load"}},
		Safeguard: "an alert on checkpoint duration against the batch interval (beyond Spark)",
		Require: []Clause{{
			Says: "the stream wrote checkpoints",
			Any:  []Pattern{{Message: `Checkpoint for time \d+ ms saved to`}},
		}},
		RequireAny: []Clause{
			{
				Says: "checkpoints took seconds to write", Min: 3,
				Any: []Pattern{{Message: `Checkpoint for time \d+ ms saved to file .*took \d+ bytes and (\d+) ms`, AtLeast: 4000}},
			},
			{
				Says: "the processing delay grew batch after batch", Min: 5, Growing: true,
				Any: []Pattern{{Message: `Total delay: ([\d.]+) s for time`}},
			},
		},
		Support: []Clause{
			{Says: "batches were delayed", Any: []Pattern{{Message: `Total delay: ([\d.]+) s for time`, AtLeast: 8}}},
		},
	}
}

// environmental are failures a machine causes (its network, its disks), not
// the code; notNode are those that name another machine or the code's memory
// (a shuffle fetch from another host, a container killed for its memory).
const (
	environmental = `(?i)(SocketTimeout|Connect|NoRouteToHost|UnknownHost|Socket|EOF|Timeout|FileSystem|DiskError|(^|\.)IO)Exception$`
	notNode       = `FetchFailed|ExecutorLostFailure|exceeding memory limits|OutOfMemoryError|TaskKilled`
)

// FlakyNode is FAILURES.md §6: a bad node fails tasks until the scheduler
// excludes it, or the job aborts.
func FlakyNode() *Signature {
	return &Signature{
		ID: "flaky-node", Scenario: "flaky-node", Title: "a flaky node fails tasks; exclusion (blacklisting) decides whether the job survives",
		Source: seed003, Section: "6",
		RootCause: "Without exclusion the scheduler keeps offering a failed task to the same bad executor or node, so one flaky machine spends spark.task.maxFailures attempts and aborts the job. " +
			"With exclusion (Spark 2.1 blacklisting, 3.1 excludeOnFailure) the executor and node are excluded after a few failures, or the task set aborts when no place is left to run it.",
		Fixes: []string{"enable exclusion so failing executors and nodes stop receiving tasks",
			"keep spark.excludeOnFailure.task.maxTaskAttemptsPerNode below spark.task.maxFailures, or one bad node still aborts the job",
			"take the node out of the cluster"},
		Conf: []Setting{{"spark.excludeOnFailure.enabled", "false", "spark.blacklist.enabled before 3.1"},
			{"spark.excludeOnFailure.task.maxTaskAttemptsPerExecutor", "1", ""},
			{"spark.excludeOnFailure.task.maxTaskAttemptsPerNode", "2", ""},
			{"spark.excludeOnFailure.application.maxFailedTasksPerExecutor", "2", ""},
			maxFailures},
		Safeguard: "exclusion on failure (Spark's excludeOnFailure)",
		RequireAny: []Clause{
			{
				Says: "the scheduler excluded executors or nodes after failures, or could place a task nowhere",
				Any: []Pattern{
					{Message: `(Blacklisting|Excluding) (executor|node|host)|(Blacklisting|Excluding) \S+ for stage \d+|excluded after \d+ (task|executor) failures|cannot run anywhere due to node and executor|Killing (blacklisted|excluded) executor`},
					// YARN's launch exclusion (SPARK-16630): executors kept failing to start on the node.
					{Message: `(blacklisting|excluding) \S+ as YARN allocation failed \d+ times`},
				},
			},
			{
				Says: "tasks failed on one host only, with network or I/O errors, while tasks finished on others", Min: 3, OneHost: true,
				Any: []Pattern{
					{Task: true, Exception: environmental, Not: notNode},
					{Task: true, Message: `(?i)timed out|connection (refused|reset)|no route to host|no space left|input/output error|read-only file system|broken pipe`, Not: notNode},
				},
			},
		},
		Support: []Clause{
			{Says: "tasks failed before it", Min: 2, Any: []Pattern{{Task: true, Message: `Lost task|Exception in task`}}},
		},
	}
}

// NoOutputOperations is FAILURES.md §7: a stream graph with nothing to run.
func NoOutputOperations() *Signature {
	return &Signature{
		ID: "no-output-op", Scenario: "no-output-op", Title: "a stream with no output operation: the streaming context refuses to start",
		Source: seed003, Section: "7",
		RootCause: "DStream transformations are lazy, and only an output operation (print, foreachRDD, saveAs…) makes a graph something to run. " +
			"A graph of transformations alone fails validation when the streaming context starts, on the driver.",
		Fixes:     []string{"end the graph in an output operation (foreachRDD, print, saveAsTextFiles)"},
		Safeguard: "the graph's validation at start (Spark's own check)",
		Require: []Clause{{
			Says: "the streaming graph was refused for having no output operation",
			Any:  []Pattern{{Message: `No output (operations|streams) registered, so nothing to execute`}},
		}},
	}
}

// Pending lists the catalogue's signatures for failures reproduced on other
// builds, for diagnose to know them before a scenario references them.
func Pending() []*Signature {
	return []*Signature{OptionSomeNull(), DeepListOverflow(), CheckpointEventualConsistency(), CheckpointThrottledStore(), FlakyNode(), NoOutputOperations()}
}
