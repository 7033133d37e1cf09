package driver

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
)

// Exclusion on failure, as Spark 3 implements it (SPARK-8425, renamed from
// "blacklisting" by SPARK-32037): a taskSetExcludelist per task set (Spark's
// TaskSetExcludelist) excludes executors and nodes for single tasks and for the
// whole stage; one healthTracker (Spark's HealthTracker) excludes them for the
// application once the failures' task sets succeed, until a timeout. Both are
// pure bookkeeping: they return what changed, and the scheduler logs it, writes
// it to the event log and stops offering the excluded places.

// Scope of an exclusion.
type Scope string

const (
	ScopeStage       Scope = "stage"
	ScopeApplication Scope = "application"
)

// Change is one exclusion made or lifted.
type Change struct {
	Scope Scope
	// Executor is set for an executor's exclusion, Node for a node's; an
	// executor's change names its node too.
	Executor int
	Node     string
	// Stage and StageAttempt are the task set of a stage-scoped exclusion.
	Stage, StageAttempt int
	// Failures is the count that crossed the threshold (tasks, or executors
	// for a node).
	Failures int
	// Lifted is true for an expiry; Until is when an application-level
	// exclusion expires.
	Lifted bool
	Until  time.Time
	// Message is the driver's log line, in Spark's words.
	Message string
}

// taskFailures are the failures of one executor in one task set, by task index.
type taskFailures struct {
	node  string
	count map[int]int
	last  map[int]time.Time
}

func (f *taskFailures) uniqueTasks() int { return len(f.count) }

// taskSetExcludelist excludes executors and nodes within one task set.
type taskSetExcludelist struct {
	x                   conf.ExcludeOnFailure
	stage, stageAttempt int
	now                 func() time.Time

	execFailures map[int]*taskFailures
	// nodeExecsWithFailures keeps executors even after they are lost, so that
	// a node's count survives them.
	nodeExecsWithFailures map[string]map[int]bool
	nodeExcludedTasks     map[string]map[int]bool
	excludedExecs         map[int]bool
	excludedNodes         map[string]bool
	latestFailure         string
}

func newTaskSetExcludelist(x conf.ExcludeOnFailure, stage, attempt int, now func() time.Time) *taskSetExcludelist {
	return &taskSetExcludelist{x: x, stage: stage, stageAttempt: attempt, now: now,
		execFailures: map[int]*taskFailures{}, nodeExecsWithFailures: map[string]map[int]bool{},
		nodeExcludedTasks: map[string]map[int]bool{}, excludedExecs: map[int]bool{}, excludedNodes: map[string]bool{}}
}

// executorExcludedForTask: the task failed on the executor
// maxTaskAttemptsPerExecutor times.
func (l *taskSetExcludelist) executorExcludedForTask(exec, index int) bool {
	f := l.execFailures[exec]
	return f != nil && f.count[index] >= l.x.MaxTaskAttemptsPerExecutor
}

// nodeExcludedForTask: the task's attempts on the node's executors reached
// maxTaskAttemptsPerNode.
func (l *taskSetExcludelist) nodeExcludedForTask(node string, index int) bool {
	return l.nodeExcludedTasks[node][index]
}

func (l *taskSetExcludelist) executorExcluded(exec int) bool { return l.excludedExecs[exec] }
func (l *taskSetExcludelist) nodeExcluded(node string) bool  { return l.excludedNodes[node] }
func (l *taskSetExcludelist) latestFailureReason() string    { return l.latestFailure }

// failed records a failed attempt of task index on exec (on node) and returns
// the stage-level exclusions it caused.
func (l *taskSetExcludelist) failed(node string, exec, index int, reason string) []Change {
	l.latestFailure = reason
	f := l.execFailures[exec]
	if f == nil {
		f = &taskFailures{node: node, count: map[int]int{}, last: map[int]time.Time{}}
		l.execFailures[exec] = f
	}
	f.count[index]++
	f.last[index] = l.now()
	onNode := l.nodeExecsWithFailures[node]
	if onNode == nil {
		onNode = map[int]bool{}
		l.nodeExecsWithFailures[node] = onNode
	}
	onNode[exec] = true
	// Attempts, not executors, count toward the node: the job aborts on
	// attempts too, so counting executors would make it hard to configure a
	// move to another node before spark.task.maxFailures is reached.
	attempts := 0
	for e := range onNode {
		attempts += l.execFailures[e].count[index]
	}
	if attempts >= l.x.MaxTaskAttemptsPerNode {
		if l.nodeExcludedTasks[node] == nil {
			l.nodeExcludedTasks[node] = map[int]bool{}
		}
		l.nodeExcludedTasks[node][index] = true
	}
	var out []Change
	if n := f.uniqueTasks(); n >= l.x.StageMaxFailedTasksPerExecutor && !l.excludedExecs[exec] {
		l.excludedExecs[exec] = true
		out = append(out, Change{Scope: ScopeStage, Executor: exec, Node: node, Stage: l.stage, StageAttempt: l.stageAttempt, Failures: n,
			Message: fmt.Sprintf("Excluding executor %d for stage %d", exec, l.stage)})
		excludedOnNode := 0
		for e := range onNode {
			if l.excludedExecs[e] {
				excludedOnNode++
			}
		}
		if excludedOnNode >= l.x.StageMaxFailedExecutorsPerNode && !l.excludedNodes[node] {
			l.excludedNodes[node] = true
			out = append(out, Change{Scope: ScopeStage, Node: node, Stage: l.stage, StageAttempt: l.stageAttempt, Failures: excludedOnNode,
				Message: fmt.Sprintf("Excluding %s for stage %d", node, l.stage)})
		}
	}
	return out
}

// canRun reports whether task index may run on exec (on node) as far as this
// task set and the application's tracker (nil when exclusion is off) say.
func canRun(l *taskSetExcludelist, h *healthTracker, node string, exec, index int) bool {
	if l == nil {
		return true
	}
	if h.nodeExcluded(node) || h.executorExcluded(exec) {
		return false
	}
	return !l.nodeExcluded(node) && !l.executorExcluded(exec) &&
		!l.nodeExcludedForTask(node, index) && !l.executorExcludedForTask(exec, index)
}

// completelyExcludedTask is Spark's getCompletelyExcludedTaskIfAny: the last
// pending task, if no executor of any node may run it. nodes maps every node to
// its live executors. A task set whose other pending tasks are unschedulable
// finds them in a later round, once they are the last.
func completelyExcludedTask(l *taskSetExcludelist, h *healthTracker, pending []int, nodes map[string][]int) (int, bool) {
	if l == nil || len(pending) == 0 {
		return 0, false
	}
	index := pending[len(pending)-1]
	for node, execs := range nodes {
		for _, e := range execs {
			if canRun(l, h, node, e, index) {
				return 0, false
			}
		}
	}
	return index, true
}

// appFailure is a task failure counted for the application.
type appFailure struct {
	stage, stageAttempt, index int
	expiry                     time.Time
}

type excludedExecutor struct {
	node  string
	until time.Time
}

// healthTracker excludes executors and nodes for the whole application.
type healthTracker struct {
	x   conf.ExcludeOnFailure
	now func() time.Time

	failures      map[int][]appFailure
	excludedExecs map[int]excludedExecutor
	excludedNodes map[string]time.Time
	// nodeToExcludedExecs keeps executors after they are lost, so that two
	// successive bad executors on one node exclude it.
	nodeToExcludedExecs map[string]map[int]bool
}

func newHealthTracker(x conf.ExcludeOnFailure, now func() time.Time) *healthTracker {
	return &healthTracker{x: x, now: now, failures: map[int][]appFailure{}, excludedExecs: map[int]excludedExecutor{},
		excludedNodes: map[string]time.Time{}, nodeToExcludedExecs: map[string]map[int]bool{}}
}

func (h *healthTracker) executorExcluded(exec int) bool {
	if h == nil {
		return false
	}
	_, ok := h.excludedExecs[exec]
	return ok
}

func (h *healthTracker) nodeExcluded(node string) bool {
	if h == nil {
		return false
	}
	_, ok := h.excludedNodes[node]
	return ok
}

// taskSetSucceeded counts a successful task set's failures for the
// application: only now, since failures in a task set that failed say more
// about the task than about the executor. Each failure expires after the
// timeout; an executor with maxFailedTasksPerExecutor unexpired failures is
// excluded, and a node with maxFailedExecutorsPerNode excluded executors.
func (h *healthTracker) taskSetSucceeded(l *taskSetExcludelist) []Change {
	if h == nil || l == nil {
		return nil
	}
	now := h.now()
	var out []Change
	for _, exec := range slices.Sorted(maps.Keys(l.execFailures)) {
		tf := l.execFailures[exec]
		list := h.failures[exec]
		for _, index := range slices.Sorted(maps.Keys(tf.count)) {
			list = append(list, appFailure{stage: l.stage, stageAttempt: l.stageAttempt, index: index, expiry: tf.last[index].Add(h.x.Timeout)})
		}
		list = slices.DeleteFunc(list, func(f appFailure) bool { return f.expiry.Before(now) })
		h.failures[exec] = list
		total := len(list)
		if total < h.x.AppMaxFailedTasksPerExecutor || h.executorExcluded(exec) {
			continue
		}
		until := now.Add(h.x.Timeout)
		h.excludedExecs[exec] = excludedExecutor{node: tf.node, until: until}
		delete(h.failures, exec)
		out = append(out, Change{Scope: ScopeApplication, Executor: exec, Node: tf.node, Failures: total, Until: until,
			Message: fmt.Sprintf("Excluding executor id: %d because it has %d task failures in successful task sets", exec, total)})
		onNode := h.nodeToExcludedExecs[tf.node]
		if onNode == nil {
			onNode = map[int]bool{}
			h.nodeToExcludedExecs[tf.node] = onNode
		}
		onNode[exec] = true
		if len(onNode) >= h.x.AppMaxFailedExecutorsPerNode && !h.nodeExcluded(tf.node) {
			h.excludedNodes[tf.node] = until
			out = append(out, Change{Scope: ScopeApplication, Node: tf.node, Failures: len(onNode), Until: until,
				Message: fmt.Sprintf("Excluding node %s because it has %d executors excluded: %s", tf.node, len(onNode), idList(slices.Sorted(maps.Keys(onNode))))})
		}
	}
	return out
}

// expire lifts the application-level exclusions whose timeout has passed.
func (h *healthTracker) expire() []Change {
	if h == nil {
		return nil
	}
	now := h.now()
	var out, execs []Change
	var ids []int
	for _, exec := range slices.Sorted(maps.Keys(h.excludedExecs)) {
		st := h.excludedExecs[exec]
		if !st.until.Before(now) {
			continue
		}
		delete(h.excludedExecs, exec)
		if onNode := h.nodeToExcludedExecs[st.node]; onNode != nil {
			delete(onNode, exec)
			if len(onNode) == 0 {
				delete(h.nodeToExcludedExecs, st.node)
			}
		}
		ids = append(ids, exec)
		execs = append(execs, Change{Scope: ScopeApplication, Executor: exec, Node: st.node, Lifted: true, Until: st.until})
	}
	if len(ids) > 0 {
		msg := fmt.Sprintf("Removing executors %s from exclude list because the executors have reached the timed out", idList(ids))
		for i := range execs {
			execs[i].Message = msg
		}
		out = append(out, execs...)
	}
	var nodes []string
	for _, node := range slices.Sorted(maps.Keys(h.excludedNodes)) {
		if until := h.excludedNodes[node]; until.Before(now) {
			delete(h.excludedNodes, node)
			nodes = append(nodes, node)
		}
	}
	for _, node := range nodes {
		out = append(out, Change{Scope: ScopeApplication, Node: node, Lifted: true,
			Message: fmt.Sprintf("Removing nodes %s from exclude list because the nodes have reached has timed out", strings.Join(nodes, ", "))})
	}
	return out
}

// nextExpiry is when the earliest application-level exclusion ends (zero when none).
func (h *healthTracker) nextExpiry() time.Time {
	var next time.Time
	if h == nil {
		return next
	}
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, st := range h.excludedExecs {
		consider(st.until)
	}
	for _, t := range h.excludedNodes {
		consider(t)
	}
	return next
}

// abortMessage is Spark's message when a pending task can run nowhere.
func abortMessage(taskSet string, index int, latest string) string {
	return fmt.Sprintf("Aborting TaskSet %s because task %d (partition %d) cannot run anywhere due to node and executor excludeOnFailure. "+
		"Most recent failure:\n%s\n\nExcludeOnFailure behavior can be configured via spark.excludeOnFailure.*.", taskSet, index, index, latest)
}

func idList(ids []int) string {
	sort.Ints(ids)
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ", ")
}
