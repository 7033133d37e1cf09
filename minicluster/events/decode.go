package events

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// sparkLine holds the fields faultbook reads from any of Spark's listener
// events (1.2 to 4.x); the rest of a line (metrics, RDD infos) is skipped.
type sparkLine struct {
	Event          string          `json:"Event"`
	Version        string          `json:"Spark Version"`
	AppName        string          `json:"App Name"`
	Timestamp      int64           `json:"Timestamp"`
	JobID          int             `json:"Job ID"`
	SubmissionTime int64           `json:"Submission Time"`
	CompletionTime int64           `json:"Completion Time"`
	JobResult      *jobResult      `json:"Job Result"`
	StageID        int             `json:"Stage ID"`
	StageAttempt   int             `json:"Stage Attempt ID"`
	StageInfo      *stageInfoJSON  `json:"Stage Info"`
	TaskInfo       *taskInfoJSON   `json:"Task Info"`
	Reason         *endReasonJSON  `json:"Task End Reason"`
	ExecutorID     string          `json:"Executor ID"`
	ExecutorInfo   *execInfoJSON   `json:"Executor Info"`
	RemovedReason  string          `json:"Removed Reason"`
	Properties     map[string]any  `json:"Properties"`
	Time           int64           `json:"time"`
	ExecutorID2    string          `json:"executorId"`
	HostID         string          `json:"hostId"`
	NodeID         string          `json:"nodeId"`
	TaskFailures   int             `json:"taskFailures"`
	ExecFailures   int             `json:"executorFailures"`
	StageID2       int             `json:"stageId"`
	StageAttempt2  int             `json:"stageAttemptId"`
	Extra          json.RawMessage `json:"Faultbook"`
}

type jobResult struct {
	Result    string `json:"Result"`
	Exception *struct {
		Message string `json:"Message"`
	} `json:"Exception"`
}

type stageInfoJSON struct {
	StageID        int    `json:"Stage ID"`
	StageAttempt   int    `json:"Stage Attempt ID"`
	Name           string `json:"Stage Name"`
	SubmissionTime int64  `json:"Submission Time"`
	CompletionTime int64  `json:"Completion Time"`
	FailureReason  string `json:"Failure Reason"`
}

type taskInfoJSON struct {
	TaskID     int    `json:"Task ID"`
	Index      int    `json:"Index"`
	Attempt    int    `json:"Attempt"`
	LaunchTime int64  `json:"Launch Time"`
	ExecutorID string `json:"Executor ID"`
	Host       string `json:"Host"`
	FinishTime int64  `json:"Finish Time"`
	Failed     bool   `json:"Failed"`
	Killed     bool   `json:"Killed"`
}

type endReasonJSON struct {
	Reason      string `json:"Reason"`
	ClassName   string `json:"Class Name"`
	Description string `json:"Description"`
	StackTrace  []struct {
		Class  string `json:"Declaring Class"`
		Method string `json:"Method Name"`
		File   string `json:"File Name"`
		Line   int    `json:"Line Number"`
	} `json:"Stack Trace"`
	FullStackTrace string `json:"Full Stack Trace"`
	ExecutorID     string `json:"Executor ID"`
	LossReason     string `json:"Loss Reason"`
	KillReason     string `json:"Kill Reason"`
	Message        string `json:"Message"`
	ShuffleID      int    `json:"Shuffle ID"`
	BlockManager   *struct {
		ExecutorID string `json:"Executor ID"`
		Host       string `json:"Host"`
	} `json:"Block Manager Address"`
}

type execInfoJSON struct {
	Host       string `json:"Host"`
	TotalCores int    `json:"Total Cores"`
}

// sparkKinds maps Spark's event names, with and without the package and
// under their 2.x "Blacklisted" names, to kinds.
var sparkKinds = map[string]Kind{
	sparkAppStart: ApplicationStart, sparkAppEnd: ApplicationEnd,
	sparkJobStart: JobStart, sparkJobEnd: JobEnd,
	sparkStageSub: StageSubmitted, sparkStageDone: StageCompleted,
	sparkTaskStart: TaskStart, sparkTaskEnd: TaskEnd,
	sparkExecAdded: ExecutorAdded, sparkExecRemove: ExecutorRemoved,
	"SparkListenerExecutorExcluded":            ExcludedExecutor,
	"SparkListenerExecutorBlacklisted":         ExcludedExecutor,
	"SparkListenerNodeExcluded":                ExcludedNode,
	"SparkListenerNodeBlacklisted":             ExcludedNode,
	"SparkListenerExecutorExcludedForStage":    ExcludedExecutorForStage,
	"SparkListenerExecutorBlacklistedForStage": ExcludedExecutorForStage,
	"SparkListenerExecutorUnexcluded":          UnexcludedExecutor,
	"SparkListenerExecutorUnblacklisted":       UnexcludedExecutor,
	"SparkListenerNodeUnexcluded":              UnexcludedNode,
	"SparkListenerNodeUnblacklisted":           UnexcludedNode,
}

// Decode parses one event-log line: a Spark listener event (any version),
// or one of faultbook's custom events. It reports false for anything else.
// Events Spark has and faultbook does not model come back as SparkOther.
func Decode(b []byte) (Event, bool) {
	if len(b) == 0 || b[0] != '{' {
		return Event{}, false
	}
	var s sparkLine
	if err := json.Unmarshal(b, &s); err != nil || s.Event == "" {
		return Event{}, false
	}
	if strings.HasPrefix(s.Event, CustomPrefix) {
		var e Event
		if json.Unmarshal(b, &e) != nil {
			return Event{}, false
		}
		e.Spark = s.Event
		if e.Kind == "" {
			e.Kind = Kind(strings.TrimPrefix(s.Event, CustomPrefix))
		}
		return e, true
	}
	e := Event{Spark: s.Event, Kind: sparkKinds[strings.TrimPrefix(s.Event, sparkScheduler)]}
	ms := func(v int64) time.Time {
		if v <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(v)
	}
	setExec := func(id string) {
		e.ExecID = id
		e.Executor, _ = strconv.Atoi(id)
	}
	switch e.Kind {
	case "":
		e.Kind = SparkOther
		if s.Event == sparkLogStart {
			e.Message = s.Version
		}
	case ApplicationStart:
		e.Time, e.Message = ms(s.Timestamp), s.AppName
	case ApplicationEnd:
		e.Time = ms(s.Timestamp)
	case JobStart:
		e.Time, e.Job = ms(s.SubmissionTime), s.JobID
		if d, ok := s.Properties["spark.job.description"].(string); ok {
			e.Message = d
		}
	case JobEnd:
		e.Time, e.Job, e.Outcome = ms(s.CompletionTime), s.JobID, "success"
		if s.JobResult != nil && s.JobResult.Result != "JobSucceeded" {
			e.Outcome = "aborted"
			if s.JobResult.Exception != nil {
				e.Message = s.JobResult.Exception.Message
			}
		}
	case StageSubmitted, StageCompleted:
		if si := s.StageInfo; si != nil {
			e.Stage, e.StageAtt, e.Message = si.StageID, si.StageAttempt, si.Name
			e.Time = ms(si.SubmissionTime)
			if e.Kind == StageCompleted {
				e.Time = ms(si.CompletionTime)
				if si.FailureReason != "" {
					e.Outcome, e.Reason = "failed", si.FailureReason
				}
			}
		}
	case TaskStart, TaskEnd:
		e.Stage, e.StageAtt = s.StageID, s.StageAttempt
		if ti := s.TaskInfo; ti != nil {
			e.TID, e.Task, e.Attempt, e.Node = ti.TaskID, ti.Index, ti.Attempt, ti.Host
			setExec(ti.ExecutorID)
			e.Time = ms(ti.LaunchTime)
			if e.Kind == TaskEnd {
				e.Time = ms(ti.FinishTime)
			}
		}
		if e.Kind == TaskEnd {
			decodeReason(&e, s.Reason)
		}
	case ExecutorAdded:
		e.Time = ms(s.Timestamp)
		setExec(s.ExecutorID)
		if s.ExecutorInfo != nil {
			e.Node = s.ExecutorInfo.Host
			if s.ExecutorInfo.TotalCores > 0 {
				e.Message = strconv.Itoa(s.ExecutorInfo.TotalCores) + " cores"
			}
		}
	case ExecutorRemoved:
		e.Time, e.Message = ms(s.Timestamp), s.RemovedReason
		setExec(s.ExecutorID)
	case ExcludedExecutor, UnexcludedExecutor, ExcludedExecutorForStage:
		e.Time, e.Count = ms(s.Time), s.TaskFailures
		setExec(s.ExecutorID2)
		e.Stage, e.StageAtt = s.StageID2, s.StageAttempt2
	case ExcludedNode, UnexcludedNode:
		e.Time, e.Count, e.Node = ms(s.Time), s.ExecFailures, s.HostID
		if e.Node == "" {
			e.Node = s.NodeID
		}
	}
	if len(s.Extra) > 0 {
		_ = json.Unmarshal(s.Extra, &e)
	}
	return e, true
}

// decodeReason reads a TaskEnd's "Task End Reason".
func decodeReason(e *Event, r *endReasonJSON) {
	if r == nil || r.Reason == "Success" {
		e.Outcome = "success"
		return
	}
	e.Outcome = "failed"
	switch r.Reason {
	case "ExceptionFailure":
		e.ReasonKind = r.ClassName
		e.Reason = r.ClassName
		if r.Description != "" {
			e.Reason += ": " + r.Description
		}
		e.Stack = r.FullStackTrace
		if e.Stack == "" && len(r.StackTrace) > 0 {
			var b strings.Builder
			b.WriteString(e.Reason)
			for _, f := range r.StackTrace {
				b.WriteString("\n\tat " + f.Class + "." + f.Method + "(" + f.File + ":" + strconv.Itoa(f.Line) + ")")
			}
			e.Stack = b.String()
		}
	case "TaskKilled", "TaskKilledException":
		e.Outcome, e.ReasonKind, e.Reason = "killed", "TaskKilled", r.KillReason
	case "ExecutorLostFailure":
		e.ReasonKind, e.Reason = r.Reason, r.LossReason
	case "FetchFailed":
		e.ReasonKind, e.Reason = r.Reason, r.Message
		if e.Reason == "" && r.BlockManager != nil {
			e.Reason = "fetch from " + r.BlockManager.Host + " failed"
		}
	default:
		e.ReasonKind, e.Reason = r.Reason, r.Reason
	}
}
