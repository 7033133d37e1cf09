// Package events is the driver's event log, written in Apache Spark's
// event-log format (the JSON lines the History Server replays), appended as
// things happen (tasks, executors, safeguards, faults), so a run directory holds
// a replayable record of what the scheduler saw and Spark's tooling can open
// it. Event is the typed view the driver emits and the harness reads back to
// judge a run and to draw its timeline; spark.go maps it to and from Spark's
// listener events, and faultbook's own events travel as custom events that
// Spark's replay skips.
package events

import (
	"time"
)

// FileName is the event log's name inside a run directory. It has no
// extension: Spark's History Server takes a file name's extension for the
// compression codec.
const FileName = "eventlog"

// Kind of event.
type Kind string

const (
	JobStart        Kind = "job-start"
	JobEnd          Kind = "job-end"
	StageSubmitted  Kind = "stage-submitted"
	StageCompleted  Kind = "stage-completed"
	TaskStart       Kind = "task-start"
	TaskEnd         Kind = "task-end"
	ExecutorAdded   Kind = "executor-added"
	ExecutorRefused Kind = "executor-refused"
	ExecutorRemoved Kind = "executor-removed"
	// ExecutorExited: a node reported how an executor process ended; the
	// node may have launched a replacement (Replacement).
	ExecutorExited Kind = "executor-exited"
	// StageResubmitted: a fetch failure sent a map stage and the stage that
	// read it back to be run again.
	StageResubmitted Kind = "stage-resubmitted"
	SafeguardFired   Kind = "safeguard"
	FaultHit         Kind = "fault"
	FaultNoEffect    Kind = "fault-no-effect"
	// FaultReverted: a node-level fault was undone (Message is the proof).
	FaultReverted    Kind = "fault-reverted"
	ApplicationStart Kind = "application-start"
	ApplicationEnd   Kind = "application-end"
	// FaultOn and FaultOff bound the time a fault acted on a node (Node).
	FaultOn  Kind = "fault-on"
	FaultOff Kind = "fault-off"
	// StoreOp is one request a checkpoint store served (Name: PUT, GET, HEAD,
	// LIST, COPY, DELETE; Message: the key; Outcome: ok, 404, error; Metrics:
	// ms, bytes).
	StoreOp Kind = "store-op"
	// BatchCompleted is one streaming micro-batch (Job: batch number; Metrics:
	// see the stream package's batch metrics).
	BatchCompleted Kind = "batch"
	// Checkpoint is a streaming checkpoint written, failed or recovered
	// (Outcome: written, failed, recovered, fresh-start).
	Checkpoint Kind = "checkpoint"
	// DriverKilled: the harness killed the driver process (SIGKILL) to restart
	// it from its checkpoint.
	DriverKilled Kind = "driver-killed"
)

// Event is one line of the log. Fields not relevant to a kind are zero.
type Event struct {
	Time     time.Time `json:"t"`
	Kind     Kind      `json:"kind"`
	Job      int       `json:"job,omitempty"`
	Stage    int       `json:"stage,omitempty"`
	StageAtt int       `json:"stage_attempt,omitempty"`
	Task     int       `json:"task,omitempty"`
	Attempt  int       `json:"attempt,omitempty"`
	TID      int       `json:"tid,omitempty"`
	Executor int       `json:"executor,omitempty"`
	Node     string    `json:"node,omitempty"`
	Spark    string    `json:"-"` // read from an event log: the listener event's name
	ExecID   string    `json:"-"` // read: the executor id as written ("driver", "7")
	Stack    string    `json:"-"` // read: a failed task's full stack trace
	Count    int       `json:"-"` // read: the failures an exclusion counted
	// Outcome of a task or job: "success", "failed", "killed", "aborted".
	Outcome string `json:"outcome,omitempty"`
	// Reason is the failure reason as the driver logged it; ReasonKind its error
	// type ("ClassCastException", "ExecutorLostFailure").
	Reason     string `json:"reason,omitempty"`
	ReasonKind string `json:"reason_kind,omitempty"`
	// Name is the safeguard or fault point; Role the goroutine role that hit it.
	Name    string `json:"name,omitempty"`
	Role    string `json:"role,omitempty"`
	Message string `json:"message,omitempty"`
	// Block, State and Canonical qualify a fault event (see package fault):
	// the block or record the effect reached, and for an effect that is a
	// difference between processes, this process's state and a fault-free one's.
	Block     string `json:"block,omitempty"`
	State     string `json:"state,omitempty"`
	Canonical string `json:"canonical,omitempty"`
	// ExitStatus and Signal are how an executor process ended (executor-exited,
	// executor-removed): the status a shell reports (128+n for signal n) and the
	// signal's name. Replacement is the executor launched in its place.
	ExitStatus  *int   `json:"exit_status,omitempty"`
	Signal      string `json:"signal,omitempty"`
	Replacement int    `json:"replacement,omitempty"`
	// Until is when an application-level exclusion expires.
	Until *time.Time `json:"until,omitempty"`
	// Metrics holds the numbers of a batch or store event, by name.
	Metrics map[string]float64 `json:"metrics,omitempty"`
}

// Exclusions are the kinds of exclusion on failure made; Unexclusions those
// lifted.
var (
	Exclusions   = []Kind{ExcludedExecutorForStage, ExcludedNodeForStage, ExcludedExecutor, ExcludedNode}
	Unexclusions = []Kind{UnexcludedExecutor, UnexcludedNode}
)

// ForStage reports whether an exclusion holds for one stage only.
func (e Event) ForStage() bool {
	return e.Kind == ExcludedExecutorForStage || e.Kind == ExcludedNodeForStage
}
