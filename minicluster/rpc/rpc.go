// Package rpc defines the messages the driver, executors and block servers
// exchange over authenticated wire connections. Control messages are JSON; block
// payloads are raw codec bytes.
package rpc

import (
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Message types on the driver connection.
const (
	MsgRegister        wire.MsgType = iota + 1 // executor → driver: RegisterExecutor
	MsgRegistered                              // driver → executor: Registered
	MsgRefused                                 // driver → executor: Refused
	MsgHeartbeat                               // executor → driver: Heartbeat
	MsgLaunchTask                              // driver → executor: LaunchTask
	MsgStatus                                  // executor → driver: StatusUpdate
	MsgReport                                  // executor → driver: Report (fault hit, safeguard fired)
	MsgShutdown                                // driver → executor: empty
	MsgKillTask                                // driver → executor: KillTask
	MsgRegisterWorker                          // node → driver: RegisterWorker
	MsgExecutorUpdated                         // node → driver: ExecutorUpdated
	MsgRelaunch                                // driver → node: Relaunch, the answer to an ExecutorUpdated that asks
)

// Message types on a block server connection.
const (
	MsgGetBlock   wire.MsgType = iota + 32 // client → server: GetBlock
	MsgBlockData                           // server → client: raw block bytes
	MsgBlockError                          // server → client: BlockError
)

// RegisterExecutor announces an executor to the driver.
type RegisterExecutor struct {
	ID        int    `json:"id"`
	Node      string `json:"node"`
	Slots     int    `json:"slots"`
	Pid       int    `json:"pid"`
	BlockAddr string `json:"block_addr"`
	// Fingerprint and Registry describe the codec registry the executor's task
	// goroutines build, so the driver can compare it with its own.
	Fingerprint uint64          `json:"fingerprint"`
	Registry    []RegistryEntry `json:"registry"`
	// Faults are the start-time faults that shaped this executor, reported with
	// the registration so that they are on record even if it is refused.
	Faults []Report `json:"faults,omitempty"`
}

// RegistryEntry is one id of a registry.
type RegistryEntry struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Registered accepts an executor.
type Registered struct {
	Executor int `json:"executor"`
}

// Refused rejects an executor; it exits after logging the reason.
type Refused struct {
	Reason    string `json:"reason"`
	Safeguard string `json:"safeguard,omitempty"`
}

// Heartbeat says an executor is alive.
type Heartbeat struct {
	Executor int `json:"executor"`
	Running  int `json:"running"`
}

// BlockLocation says which executor serves a block, and where.
type BlockLocation struct {
	Executor int    `json:"executor"`
	Addr     string `json:"addr"`
}

// LaunchTask asks an executor to run one task attempt.
type LaunchTask struct {
	TID      int        `json:"tid"`
	Job      int        `json:"job"`
	Workload string     `json:"workload"`
	Params   job.Params `json:"params"`
	Stage    job.Stage  `json:"stage"`
	StageAtt int        `json:"stage_attempt"`
	// Partition is the task index; Attempt counts from 0.
	Partition int `json:"partition"`
	Attempt   int `json:"attempt"`
	// MapOutputs gives, per shuffle id, the location of each map partition's output.
	MapOutputs map[int][]BlockLocation `json:"map_outputs,omitempty"`
	// Cached gives, per dataset partition, the executor holding it.
	Cached map[int]BlockLocation `json:"cached,omitempty"`
}

// TaskState is the outcome of an attempt.
type TaskState string

const (
	TaskFinished TaskState = "finished"
	TaskFailed   TaskState = "failed"
	TaskKilled   TaskState = "killed"
)

// Failure is why an attempt failed, as the executor saw it.
type Failure struct {
	// Kind is the error type ("ClassCastException", "NullPointerException").
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Stack   string `json:"stack,omitempty"`
	// Fatal asks the driver to abort the job at once rather than retry: set when
	// a safeguard diagnosed the failure (retrying cannot help).
	Fatal bool `json:"fatal,omitempty"`
	// Safeguard names the safeguard that diagnosed it.
	Safeguard string `json:"safeguard,omitempty"`
	// Fetch is set on a FetchFailed: the map output that could not be read.
	Fetch *FetchFailure `json:"fetch,omitempty"`
	// NotCounted: the failure does not count toward spark.task.maxFailures
	// (Spark's countTowardsTaskFailures = false), as for an executor lost to
	// something other than its tasks. Set by the driver.
	NotCounted bool `json:"not_counted,omitempty"`
}

// Kinds of failure the scheduler itself gives a reason to, as Spark's
// TaskEndReasons do; their Message is the whole reason, printed as Spark prints it.
const (
	// KindFetchFailed: a reduce task could not fetch a map output. Message is
	// "FetchFailed(BlockManagerId(…), shuffleId=…, mapId=…, reduceId=…, message=…)".
	KindFetchFailed = "FetchFailed"
	// KindExecutorLost: the attempt's executor was lost. Message is
	// "ExecutorLostFailure (executor 2 exited caused by one of the running tasks) Reason: …".
	KindExecutorLost = "ExecutorLostFailure"
	// KindTaskKilled: the attempt was killed on request. Message is "TaskKilled (…)".
	KindTaskKilled = "TaskKilled"
)

// String is "Kind: Message", or the Message alone for the scheduler's own
// reasons (FetchFailed, ExecutorLostFailure, TaskKilled), which Spark prints whole.
func (f Failure) String() string {
	switch {
	case f.Message == "":
		return f.Kind
	case f.Kind == KindFetchFailed || f.Kind == KindExecutorLost || f.Kind == KindTaskKilled:
		return f.Message
	}
	return f.Kind + ": " + f.Message
}

// FetchFailure names the map output a reduce task could not fetch.
type FetchFailure struct {
	// Executor and Addr are the block manager that held it.
	Executor int    `json:"executor"`
	Addr     string `json:"addr"`
	Shuffle  int    `json:"shuffle"`
	Map      int    `json:"map"`
	Reduce   int    `json:"reduce"`
}

// StatusUpdate reports an attempt's end.
type StatusUpdate struct {
	TID      int       `json:"tid"`
	Executor int       `json:"executor"`
	State    TaskState `json:"state"`
	// Result holds the codec-encoded result records of a result task.
	Result []byte `json:"result,omitempty"`
	// Cached lists dataset partitions this attempt stored in memory.
	Cached  []int    `json:"cached,omitempty"`
	Failure *Failure `json:"failure,omitempty"`
}

// ReportKind says what an executor reports outside a task status.
type ReportKind string

const (
	// ReportFault: a fault point had its effect on the executor.
	ReportFault ReportKind = "fault"
	// ReportFaultNoEffect: a fault point was reached with its fault configured
	// but found no effect (a sham, or an effect that did not happen).
	ReportFaultNoEffect ReportKind = "fault-no-effect"
	// ReportSafeguard: a safeguard fired on the executor.
	ReportSafeguard ReportKind = "safeguard"
)

// Report is something an executor tells the driver outside a task status.
type Report struct {
	Executor int        `json:"executor"`
	Kind     ReportKind `json:"kind"`
	Name     string     `json:"name"`
	Role     string     `json:"role,omitempty"`
	Message  string     `json:"message"`
	// Abort asks the driver to abort the running job (a fail-fast safeguard).
	Abort bool `json:"abort,omitempty"`
	// Block, State and Canonical qualify a fault report, as in events.Event.
	Block     string `json:"block,omitempty"`
	State     string `json:"state,omitempty"`
	Canonical string `json:"canonical,omitempty"`
}

// KillTask asks an executor to stop an attempt.
type KillTask struct {
	TID    int    `json:"tid"`
	Reason string `json:"reason"`
}

// RegisterWorker announces a node's worker: the supervisor that starts the
// node's executors and reports how each one ended, as a standalone Worker does.
type RegisterWorker struct {
	Node string `json:"node"`
	// App is the application id ("app-20260101120000-0000") executors are
	// launched for; executor full ids are App + "/" + id.
	App string `json:"app"`
}

// ExecutorState is an executor's state as its worker sees it (Spark's
// ExecutorState).
type ExecutorState string

const (
	ExecutorLaunching ExecutorState = "LAUNCHING"
	ExecutorExited    ExecutorState = "EXITED"
)

// ExecutorUpdated is a worker's report about one of its executors: launched,
// or ended with an exit status.
type ExecutorUpdated struct {
	Executor int           `json:"executor"`
	Node     string        `json:"node"`
	State    ExecutorState `json:"state"`
	// Message is Spark's "Command exited with code 2".
	Message string `json:"message,omitempty"`
	// ExitStatus is the process's status as a shell reports it: the exit code,
	// or 128 + the signal number when a signal killed it.
	ExitStatus int `json:"exit_status"`
	// Signal names the signal that killed it ("SIGKILL"), or is "".
	Signal string `json:"signal,omitempty"`
	// CausedByApp says the exit came from the process itself (an exit code, a
	// crash signal such as SIGSEGV or SIGABRT) rather than from outside it
	// (SIGKILL, SIGTERM): Spark's exitCausedByApp, which decides whether the
	// running tasks' failures count toward spark.task.maxFailures.
	CausedByApp bool `json:"caused_by_app,omitempty"`
	// Tail is the last lines the process wrote (stdout and stderr as they
	// came); Fatal the first lines in which the Go runtime or a panic said why
	// it crashed ("fatal error: stack overflow"), which a crash's goroutine
	// dump pushes far above the tail.
	Tail  []string `json:"tail,omitempty"`
	Fatal []string `json:"fatal,omitempty"`
	// Replacement is the id of the executor the worker launched in its place,
	// or 0 when it launched none.
	Replacement int `json:"replacement,omitempty"`
	// Ask: the worker would launch a replacement and asks the application
	// whether, and under which id (a Relaunch answers). Workers on hosts of
	// their own ask, so that spark.deploy.maxExecutorRetries counts the
	// application's abnormal exits on every node, as Spark's Master does;
	// workers sharing one host count them together themselves.
	Ask bool `json:"ask,omitempty"`
}

// Relaunch answers an ExecutorUpdated that asks: launch Replacement in
// Executor's place, or nothing when it is 0.
type Relaunch struct {
	Executor    int `json:"executor"`
	Replacement int `json:"replacement"`
}

// GetBlock asks a block server for a block.
type GetBlock struct {
	Block string `json:"block"`
	// From identifies the requesting executor and task, for the server's log.
	From int `json:"from"`
	TID  int `json:"tid"`
}

// BlockError is a block server's refusal.
type BlockError struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}
