// Package events is the driver's event log: one JSON object per line, appended as
// things happen (tasks, executors, safeguards, faults), so a run directory holds a
// replayable record of what the scheduler saw. The harness reads it back to judge
// a run and to draw its timeline.
package events

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// FileName is the event log's name inside a run directory.
const FileName = "events.jsonl"

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
	ApplicationStart Kind = "application-start"
	ApplicationEnd   Kind = "application-end"
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
	// ExitStatus and Signal are how an executor process ended (executor-exited,
	// executor-removed): the status a shell reports (128+n for signal n) and the
	// signal's name. Replacement is the executor launched in its place.
	ExitStatus  *int   `json:"exit_status,omitempty"`
	Signal      string `json:"signal,omitempty"`
	Replacement int    `json:"replacement,omitempty"`
	// Block, State and Canonical qualify a fault event (see package fault):
	// the block or record the effect reached, and for an effect that is a
	// difference between processes, this process's state and a fault-free one's.
	Block     string `json:"block,omitempty"`
	State     string `json:"state,omitempty"`
	Canonical string `json:"canonical,omitempty"`
}

// Log appends events to a file. It is safe for concurrent use.
type Log struct {
	mu  sync.Mutex
	f   *os.File
	enc *json.Encoder
}

// Create opens path for appending.
func Create(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	return &Log{f: f, enc: json.NewEncoder(f)}, nil
}

// Emit appends one event, stamping it with the current time if it has none.
// A nil Log discards.
func (l *Log) Emit(e Event) {
	if l == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = l.enc.Encode(e) // a full disk loses events, never the run
}

// Close flushes and closes the file; safe twice.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Read loads an event log. A torn last line (a process killed mid-write) is skipped.
func Read(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	defer f.Close()
	var out []Event
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		var e Event
		if json.Unmarshal(sc.Bytes(), &e) == nil {
			out = append(out, e)
		}
	}
	return out, sc.Err()
}
