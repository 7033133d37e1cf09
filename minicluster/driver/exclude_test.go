package driver

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/conf"
)

// Modelled on Spark's TaskSetExcludelistSuite and HealthTrackerSuite: the
// bookkeeping alone, on a fake clock.

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func defaults(t *testing.T, overrides map[string]string) conf.ExcludeOnFailure {
	t.Helper()
	x, err := conf.New(overrides).Exclusion(true)
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Validate(); err != nil {
		t.Fatal(err)
	}
	return x
}

func messages(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Message)
	}
	return out
}

// The threshold per task counts attempts on one executor, the one per node
// counts attempts over the node's executors (not executors), and the stage
// thresholds count distinct tasks, then excluded executors.
func TestTaskSetExcludelistThresholds(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newTaskSetExcludelist(defaults(t, nil), 1, 0, clk.now)

	// Task 0 fails on executor 1 of hostA: executor 1 is excluded for task 0
	// only (maxTaskAttemptsPerExecutor = 1); nothing for the stage yet.
	if got := l.failed("hostA", 1, 0, "Lost task 0.0"); len(got) != 0 {
		t.Fatalf("one failure excluded %v", messages(got))
	}
	if !l.executorExcludedForTask(1, 0) || l.executorExcludedForTask(1, 1) || l.executorExcludedForTask(2, 0) {
		t.Fatal("executor 1 must be excluded for task 0 only")
	}
	if l.nodeExcludedForTask("hostA", 0) {
		t.Fatal("one attempt excluded the node for the task (maxTaskAttemptsPerNode = 2)")
	}
	// The same task fails on executor 2 of hostA: two attempts on the node
	// exclude hostA for task 0, still not for the stage.
	if got := l.failed("hostA", 2, 0, "Lost task 0.1"); len(got) != 0 {
		t.Fatalf("two failures of one task excluded %v", messages(got))
	}
	if !l.nodeExcludedForTask("hostA", 0) || l.nodeExcludedForTask("hostA", 1) {
		t.Fatal("hostA must be excluded for task 0 only")
	}
	if l.executorExcluded(1) || l.nodeExcluded("hostA") {
		t.Fatal("failures of one task excluded an executor or a node for the stage")
	}
	// A second distinct task failing on executor 1 excludes it for the stage.
	got := l.failed("hostA", 1, 1, "Lost task 1.0")
	if want := []string{"Excluding executor 1 for stage 1"}; !slices.Equal(messages(got), want) {
		t.Fatalf("changes %q, want %q", messages(got), want)
	}
	// Executor 2's second distinct task excludes it, and with two excluded
	// executors the node.
	got = l.failed("hostA", 2, 2, "Lost task 2.0")
	if want := []string{"Excluding executor 2 for stage 1", "Excluding hostA for stage 1"}; !slices.Equal(messages(got), want) {
		t.Fatalf("changes %q, want %q", messages(got), want)
	}
	if !l.nodeExcluded("hostA") || l.nodeExcluded("hostB") {
		t.Fatal("hostA must be excluded for the stage, hostB not")
	}
	if l.latestFailureReason() != "Lost task 2.0" {
		t.Errorf("latest failure %q", l.latestFailureReason())
	}
	// Further failures change nothing already excluded.
	if got := l.failed("hostA", 2, 3, "Lost task 3.0"); len(got) != 0 {
		t.Errorf("re-excluded: %v", messages(got))
	}
}

// Two attempts of one task on one executor (maxTaskAttemptsPerExecutor = 2)
// exclude the node for that task: attempts count, not executors.
func TestNodeExcludedForTaskCountsAttempts(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newTaskSetExcludelist(defaults(t, map[string]string{conf.ExcludeTaskMaxAttemptsPerExecutor: "2"}), 0, 0, clk.now)
	l.failed("hostA", 1, 5, "first")
	if l.executorExcludedForTask(1, 5) || l.nodeExcludedForTask("hostA", 5) {
		t.Fatal("one failure excluded something")
	}
	l.failed("hostA", 1, 5, "second")
	if !l.executorExcludedForTask(1, 5) || !l.nodeExcludedForTask("hostA", 5) {
		t.Fatal("two attempts on one executor must exclude the executor and the node for the task")
	}
	if l.executorExcluded(1) {
		t.Fatal("two attempts of one task are one distinct task: not excluded for the stage")
	}
}

// A task every executor is excluded for is found; a task one executor may
// still run is not. With fewer executors than spark.task.maxFailures, one bad
// task exhausts them all before maxFailures.
func TestCompletelyExcludedTask(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1000, 0)}
	l := newTaskSetExcludelist(defaults(t, nil), 0, 0, clk.now)
	nodes := map[string][]int{"hostA": {1}, "hostB": {2}}
	l.failed("hostA", 1, 0, "Lost task 0.0")
	if _, ok := completelyExcludedTask(l, nil, []int{0}, nodes); ok {
		t.Fatal("task 0 can still run on executor 2")
	}
	l.failed("hostB", 2, 0, "Lost task 0.1")
	index, ok := completelyExcludedTask(l, nil, []int{3, 0}, nodes)
	if !ok || index != 0 {
		t.Fatalf("completely excluded = %d, %v; want task 0", index, ok)
	}
	msg := abortMessage("0.0", index, l.latestFailureReason())
	for _, want := range []string{"Aborting TaskSet 0.0 because task 0 (partition 0) cannot run anywhere due to node and executor excludeOnFailure. Most recent failure:\nLost task 0.1",
		"ExcludeOnFailure behavior can be configured via spark.excludeOnFailure.*."} {
		if !strings.Contains(msg, want) {
			t.Errorf("abort message %q lacks %q", msg, want)
		}
	}
	// Only the last pending task is checked, as in Spark: a runnable last task
	// defers the verdict.
	if _, ok := completelyExcludedTask(l, nil, []int{0, 3}, nodes); ok {
		t.Fatal("task 3 can run: no abort yet")
	}
	if _, ok := completelyExcludedTask(nil, nil, []int{0}, nodes); ok {
		t.Fatal("exclusion off must never abort")
	}
}

// Application-level failures count only once their task set succeeds, expire
// after the timeout, and exclude an executor, then its node; the exclusions
// expire too.
func TestHealthTracker(t *testing.T) {
	x := defaults(t, map[string]string{conf.ExcludeTimeout: "1h"})
	clk := &fakeClock{t: time.Unix(1000, 0)}
	h := newHealthTracker(x, clk.now)

	ts0 := newTaskSetExcludelist(x, 0, 0, clk.now)
	ts0.failed("hostA", 1, 0, "f")
	// The task set has not succeeded: nothing counts yet.
	if h.executorExcluded(1) {
		t.Fatal("failures of a running task set counted")
	}
	if got := h.taskSetSucceeded(ts0); len(got) != 0 {
		t.Fatalf("one failure excluded %v", messages(got))
	}
	// A failed task set's failures never reach the tracker.
	failedSet := newTaskSetExcludelist(x, 1, 0, clk.now)
	failedSet.failed("hostA", 1, 0, "f")
	failedSet.failed("hostA", 1, 1, "f")

	ts2 := newTaskSetExcludelist(x, 2, 0, clk.now)
	ts2.failed("hostA", 1, 4, "f")
	ts2.failed("hostA", 2, 4, "f")
	got := h.taskSetSucceeded(ts2)
	if want := []string{"Excluding executor id: 1 because it has 2 task failures in successful task sets"}; !slices.Equal(messages(got), want) {
		t.Fatalf("changes %q, want %q", messages(got), want)
	}
	if got[0].Until != clk.t.Add(time.Hour) {
		t.Errorf("executor 1 excluded until %v, want an hour from now", got[0].Until)
	}
	if !h.executorExcluded(1) || h.executorExcluded(2) || h.nodeExcluded("hostA") {
		t.Fatal("executor 1 only must be excluded")
	}

	clk.advance(10 * time.Minute)
	ts3 := newTaskSetExcludelist(x, 3, 0, clk.now)
	ts3.failed("hostA", 2, 0, "f")
	got = h.taskSetSucceeded(ts3)
	want := []string{"Excluding executor id: 2 because it has 2 task failures in successful task sets",
		"Excluding node hostA because it has 2 executors excluded: 1, 2"}
	if !slices.Equal(messages(got), want) {
		t.Fatalf("changes %q, want %q", messages(got), want)
	}
	if !h.nodeExcluded("hostA") {
		t.Fatal("hostA must be excluded")
	}

	// Executor 1 expires an hour after its exclusion; executor 2 and the node later.
	clk.advance(50*time.Minute + time.Millisecond)
	got = h.expire()
	if len(got) != 1 || got[0].Executor != 1 || !got[0].Lifted || !strings.HasPrefix(got[0].Message, "Removing executors 1 from exclude list") {
		t.Fatalf("expiry %+v, want executor 1 lifted", got)
	}
	clk.advance(10 * time.Minute)
	got = h.expire()
	if want := []string{"Removing executors 2 from exclude list because the executors have reached the timed out",
		"Removing nodes hostA from exclude list because the nodes have reached has timed out"}; !slices.Equal(messages(got), want) {
		t.Fatalf("expiry %q, want %q", messages(got), want)
	}
	if h.executorExcluded(2) || h.nodeExcluded("hostA") || !h.nextExpiry().IsZero() {
		t.Fatal("everything must be included again")
	}
}

// Failures further apart than the timeout never add up to an exclusion.
func TestHealthTrackerFailuresExpire(t *testing.T) {
	x := defaults(t, map[string]string{conf.ExcludeTimeout: "1m"})
	clk := &fakeClock{t: time.Unix(1000, 0)}
	h := newHealthTracker(x, clk.now)
	ts0 := newTaskSetExcludelist(x, 0, 0, clk.now)
	ts0.failed("hostA", 1, 0, "f")
	h.taskSetSucceeded(ts0)
	clk.advance(time.Minute + time.Second)
	ts1 := newTaskSetExcludelist(x, 1, 0, clk.now)
	ts1.failed("hostA", 1, 0, "f")
	if got := h.taskSetSucceeded(ts1); len(got) != 0 {
		t.Fatalf("an expired failure still counted: %v", messages(got))
	}
}

// Spark refuses, at start-up, a node threshold that spark.task.maxFailures
// reaches first, and says why.
func TestExclusionConfigValidation(t *testing.T) {
	tests := []struct {
		name     string
		set      map[string]string
		enabled  bool
		wantErr  string
		warnings int
	}{
		{name: "defaults", enabled: true},
		{name: "node threshold at maxFailures", enabled: true, set: map[string]string{conf.ExcludeTaskMaxAttemptsPerNode: "4"},
			wantErr: "spark.excludeOnFailure.task.maxTaskAttemptsPerNode ( = 4) was >= spark.task.maxFailures ( = 4 ). Though excludeOnFailure is enabled, with this configuration, Spark will not be robust to one bad node."},
		{name: "maxFailures lowered", enabled: true, set: map[string]string{conf.TaskMaxFailures: "2"}, wantErr: "will not be robust to one bad node"},
		{name: "off is not checked", set: map[string]string{conf.ExcludeTaskMaxAttemptsPerNode: "9"}},
		{name: "non-positive threshold", enabled: true, set: map[string]string{conf.ExcludeStageMaxFailedTasksPerExecutor: "0"}, wantErr: "must be positive"},
		{name: "2.x alias read", enabled: true, set: map[string]string{"spark.blacklist.task.maxTaskAttemptsPerNode": "5"}, wantErr: "( = 5) was >=", warnings: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := conf.New(tc.set)
			x, err := c.Exclusion(tc.enabled)
			if err == nil {
				err = x.Validate()
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if w := c.Deprecations(); len(w) != tc.warnings {
				t.Errorf("deprecation warnings %q, want %d", w, tc.warnings)
			}
		})
	}
}
