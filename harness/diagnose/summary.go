package diagnose

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/faultbook/faultbook/minicluster/events"
)

// Summary is what the inputs show whether or not a failure mode matched: the
// failures found, and an event log's account of tasks and executors.
type Summary struct {
	Records       int      `json:"records"`
	FailedTasks   int      `json:"failed_tasks"`
	Exceptions    []Count  `json:"exceptions,omitempty"`
	LostExecutors []string `json:"lost_executors,omitempty"`
	Aborted       []string `json:"aborted,omitempty"`
	// EventLog is the event logs' account, when any were read.
	EventLog *Account `json:"event_log,omitempty"`
}

// Count is how often an exception kind was named.
type Count struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

// Account counts what event logs recorded.
type Account struct {
	SparkVersions     []string       `json:"spark_versions,omitempty"`
	Events            int            `json:"events"`
	ByName            map[string]int `json:"by_name"`
	Tasks             int            `json:"tasks"`
	FailedTasks       int            `json:"failed_tasks"`
	FailureReasons    map[string]int `json:"failure_reasons,omitempty"`
	ExecutorsAdded    int            `json:"executors_added"`
	ExecutorsRemoved  int            `json:"executors_removed"`
	ExcludedExecutors int            `json:"excluded_executors"`
	ExcludedNodes     int            `json:"excluded_nodes"`
	Jobs              int            `json:"jobs"`
	FailedJobs        int            `json:"failed_jobs"`
}

const maxListed = 10

type summaryState struct {
	records, failedTasks int
	exceptions           map[string]int
	lost, aborted        []string
	eventLogs            int
	acc                  Account
}

func newSummary() summaryState {
	return summaryState{exceptions: map[string]int{}, acc: Account{ByName: map[string]int{}, FailureReasons: map[string]int{}}}
}

var reLostExecutor = regexp.MustCompile(`Lost executor (\S+) on (.*)`)

func (s *summaryState) record(r *Record) {
	s.records++
	if r.Reported {
		return // counted from the event itself
	}
	seen := map[string]bool{}
	for _, e := range r.Exceptions {
		if !seen[e.Class] && (len(s.exceptions) < 1000 || s.exceptions[e.Class] > 0) {
			seen[e.Class] = true
			s.exceptions[e.Class]++
		}
	}
	switch {
	case strings.HasPrefix(r.Text, "Lost task ") || strings.HasPrefix(r.Text, "Lost TID "):
		s.failedTasks++
	case strings.Contains(r.Text, "Lost executor "):
		if m := reLostExecutor.FindStringSubmatch(r.Text); m != nil && len(s.lost) < maxListed {
			s.lost = append(s.lost, "executor "+m[1]+" on "+m[2])
		}
	}
	for _, e := range append([]Exception{{Text: r.Text}}, r.Exceptions...) {
		if strings.Contains(e.Text, "Job aborted due to stage failure") || strings.HasPrefix(e.Text, "Aborting TaskSet") {
			if len(s.aborted) < maxListed {
				s.aborted = append(s.aborted, firstLine(e.Text))
			}
			break
		}
	}
}

func (s *summaryState) event(e events.Event) {
	if strings.HasPrefix(e.Spark, events.CustomPrefix) {
		return
	}
	a := &s.acc
	a.Events++
	name := strings.TrimPrefix(e.Spark, "org.apache.spark.scheduler.")
	a.ByName[name]++
	switch e.Kind {
	case events.TaskEnd:
		a.Tasks++
		if e.Outcome != "success" {
			a.FailedTasks++
			a.FailureReasons[e.ReasonKind]++
			if e.Outcome == "failed" {
				s.failedTasks++
				if e.ReasonKind != "" {
					s.exceptions[e.ReasonKind]++
				}
			}
		}
	case events.ExecutorAdded:
		a.ExecutorsAdded++
	case events.ExecutorRemoved:
		a.ExecutorsRemoved++
		if len(s.lost) < maxListed {
			s.lost = append(s.lost, fmt.Sprintf("executor %s: %s", e.ExecID, e.Message))
		}
	case events.ExcludedExecutor:
		a.ExcludedExecutors++
	case events.ExcludedNode:
		a.ExcludedNodes++
	case events.JobEnd:
		a.Jobs++
		if e.Outcome != "success" {
			a.FailedJobs++
			if len(s.aborted) < maxListed {
				s.aborted = append(s.aborted, fmt.Sprintf("job %d: %s", e.Job, firstLine(e.Message)))
			}
		}
	}
}

func (s *summaryState) summary() Summary {
	out := Summary{Records: s.records, FailedTasks: s.failedTasks, LostExecutors: s.lost, Aborted: s.aborted}
	for k, n := range s.exceptions {
		out.Exceptions = append(out.Exceptions, Count{k, n})
	}
	sort.Slice(out.Exceptions, func(i, j int) bool {
		a, b := out.Exceptions[i], out.Exceptions[j]
		return a.N > b.N || a.N == b.N && a.Name < b.Name
	})
	if len(out.Exceptions) > maxListed {
		out.Exceptions = out.Exceptions[:maxListed]
	}
	if s.eventLogs > 0 {
		acc := s.acc
		out.EventLog = &acc
	}
	return out
}
