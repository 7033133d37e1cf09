package conf

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// Keys of Spark's exclusion on failure (Spark 2.1's "blacklisting", renamed in
// 3.1 by SPARK-32037). The defaults are in Defaults; see FAILURES.md §6.
const (
	// ExcludeEnabled switches exclusion on; the exclude-on-failure safeguard
	// switches it on too.
	ExcludeEnabled = "spark.excludeOnFailure.enabled"
	// ExcludeTaskMaxAttemptsPerExecutor: attempts of one task on one executor
	// before that executor is excluded for the task.
	ExcludeTaskMaxAttemptsPerExecutor = "spark.excludeOnFailure.task.maxTaskAttemptsPerExecutor"
	// ExcludeTaskMaxAttemptsPerNode: attempts (not executors) of one task on one
	// node before the node is excluded for the task.
	ExcludeTaskMaxAttemptsPerNode = "spark.excludeOnFailure.task.maxTaskAttemptsPerNode"
	// ExcludeStageMaxFailedTasksPerExecutor: distinct tasks failed on one
	// executor in one task set before it is excluded for the stage.
	ExcludeStageMaxFailedTasksPerExecutor = "spark.excludeOnFailure.stage.maxFailedTasksPerExecutor"
	// ExcludeStageMaxFailedExecutorsPerNode: executors of one node excluded for
	// a stage before the node is excluded for the stage.
	ExcludeStageMaxFailedExecutorsPerNode = "spark.excludeOnFailure.stage.maxFailedExecutorsPerNode"
	// ExcludeAppMaxFailedTasksPerExecutor: distinct task failures, in task sets
	// that succeeded and within the timeout, before an executor is excluded for
	// the application.
	ExcludeAppMaxFailedTasksPerExecutor = "spark.excludeOnFailure.application.maxFailedTasksPerExecutor"
	// ExcludeAppMaxFailedExecutorsPerNode: executors of one node excluded for
	// the application before the node is.
	ExcludeAppMaxFailedExecutorsPerNode = "spark.excludeOnFailure.application.maxFailedExecutorsPerNode"
	// ExcludeTimeout: how long an application-level exclusion lasts.
	ExcludeTimeout = "spark.excludeOnFailure.timeout"
	// ExcludeKillExecutors: kill executors excluded for the application.
	ExcludeKillExecutors = "spark.excludeOnFailure.killExcludedExecutors"
	// UnschedulableTaskSetTimeout: how long a task set that can run nowhere
	// waits, while some executor is idle, before it is aborted (SPARK-22148).
	UnschedulableTaskSetTimeout = "spark.scheduler.excludeOnFailure.unschedulableTaskSetTimeout"
)

// Alias is a deprecated key read in place of its successor.
type Alias struct {
	Old, Key string
	// Since is the Spark version that deprecated Old.
	Since string
}

// aliases are Spark 2.x's spark.blacklist.* names, deprecated in Spark 3.1.0.
var aliases = []Alias{
	{"spark.blacklist.enabled", ExcludeEnabled, "3.1.0"},
	{"spark.blacklist.task.maxTaskAttemptsPerExecutor", ExcludeTaskMaxAttemptsPerExecutor, "3.1.0"},
	{"spark.blacklist.task.maxTaskAttemptsPerNode", ExcludeTaskMaxAttemptsPerNode, "3.1.0"},
	{"spark.blacklist.stage.maxFailedTasksPerExecutor", ExcludeStageMaxFailedTasksPerExecutor, "3.1.0"},
	{"spark.blacklist.stage.maxFailedExecutorsPerNode", ExcludeStageMaxFailedExecutorsPerNode, "3.1.0"},
	{"spark.blacklist.application.maxFailedTasksPerExecutor", ExcludeAppMaxFailedTasksPerExecutor, "3.1.0"},
	{"spark.blacklist.application.maxFailedExecutorsPerNode", ExcludeAppMaxFailedExecutorsPerNode, "3.1.0"},
	{"spark.blacklist.timeout", ExcludeTimeout, "3.1.0"},
	{"spark.blacklist.killBlacklistedExecutors", ExcludeKillExecutors, "3.1.0"},
	{"spark.scheduler.blacklist.unschedulableTaskSetTimeout", UnschedulableTaskSetTimeout, "3.1.0"},
}

// Aliases lists the deprecated keys and their successors.
func Aliases() []Alias { return slices.Clone(aliases) }

// Deprecations returns one warning per deprecated key that is set, worded as
// SparkConf words it.
func (c Conf) Deprecations() []string {
	var out []string
	for _, a := range aliases {
		if _, ok := c[a.Old]; ok {
			out = append(out, fmt.Sprintf("The configuration key '%s' has been deprecated as of Spark %s and may be removed in the future. Please use the new key '%s' instead.", a.Old, a.Since, a.Key))
		}
	}
	return out
}

// ExcludeOnFailure holds the exclusion settings, parsed.
type ExcludeOnFailure struct {
	Enabled                        bool
	MaxTaskAttemptsPerExecutor     int
	MaxTaskAttemptsPerNode         int
	StageMaxFailedTasksPerExecutor int
	StageMaxFailedExecutorsPerNode int
	AppMaxFailedTasksPerExecutor   int
	AppMaxFailedExecutorsPerNode   int
	Timeout                        time.Duration
	KillExcludedExecutors          bool
	UnschedulableTaskSetTimeout    time.Duration
	// MaxTaskFailures is spark.task.maxFailures, which the node threshold must
	// stay below.
	MaxTaskFailures int
}

// Exclusion parses the exclusion keys. enabled comes from the caller: the key
// or the exclude-on-failure safeguard.
func (c Conf) Exclusion(enabled bool) (ExcludeOnFailure, error) {
	x := ExcludeOnFailure{Enabled: enabled}
	ints := map[string]*int{
		ExcludeTaskMaxAttemptsPerExecutor:     &x.MaxTaskAttemptsPerExecutor,
		ExcludeTaskMaxAttemptsPerNode:         &x.MaxTaskAttemptsPerNode,
		ExcludeStageMaxFailedTasksPerExecutor: &x.StageMaxFailedTasksPerExecutor,
		ExcludeStageMaxFailedExecutorsPerNode: &x.StageMaxFailedExecutorsPerNode,
		ExcludeAppMaxFailedTasksPerExecutor:   &x.AppMaxFailedTasksPerExecutor,
		ExcludeAppMaxFailedExecutorsPerNode:   &x.AppMaxFailedExecutorsPerNode,
		TaskMaxFailures:                       &x.MaxTaskFailures,
	}
	for _, k := range slices.Sorted(maps.Keys(ints)) {
		n, err := c.Int(k)
		if err != nil {
			return x, err
		}
		*ints[k] = n
	}
	d, err := c.Duration(ExcludeTimeout)
	if err != nil {
		return x, err
	}
	x.Timeout = d
	if x.UnschedulableTaskSetTimeout, err = c.Duration(UnschedulableTaskSetTimeout); err != nil {
		return x, err
	}
	if x.KillExcludedExecutors, err = c.Bool(ExcludeKillExecutors); err != nil {
		return x, err
	}
	return x, nil
}

// Validate refuses settings Spark refuses at start-up (HealthTracker's
// validateExcludeOnFailureConfs): non-positive thresholds, and a node threshold
// that spark.task.maxFailures reaches first, with which exclusion could never
// move a task off one bad node before the job aborts.
func (x ExcludeOnFailure) Validate() error {
	if !x.Enabled {
		return nil
	}
	for _, kv := range []struct {
		k string
		v int
	}{
		{ExcludeTaskMaxAttemptsPerExecutor, x.MaxTaskAttemptsPerExecutor},
		{ExcludeTaskMaxAttemptsPerNode, x.MaxTaskAttemptsPerNode},
		{ExcludeStageMaxFailedTasksPerExecutor, x.StageMaxFailedTasksPerExecutor},
		{ExcludeStageMaxFailedExecutorsPerNode, x.StageMaxFailedExecutorsPerNode},
		{ExcludeAppMaxFailedTasksPerExecutor, x.AppMaxFailedTasksPerExecutor},
		{ExcludeAppMaxFailedExecutorsPerNode, x.AppMaxFailedExecutorsPerNode},
	} {
		if kv.v <= 0 {
			return fmt.Errorf("config %s=%d: %s was <= 0; it must be positive", kv.k, kv.v, kv.k)
		}
	}
	if x.Timeout <= 0 {
		return fmt.Errorf("config %s: %s was <= 0; it must be positive", ExcludeTimeout, ExcludeTimeout)
	}
	if x.MaxTaskAttemptsPerNode >= x.MaxTaskFailures {
		return fmt.Errorf("config %s ( = %d) was >= %s ( = %d ). Though excludeOnFailure is enabled, with this configuration, "+
			"Spark will not be robust to one bad node. Decrease %s, increase %s, or disable excludeOnFailure with %s",
			ExcludeTaskMaxAttemptsPerNode, x.MaxTaskAttemptsPerNode, TaskMaxFailures, x.MaxTaskFailures,
			ExcludeTaskMaxAttemptsPerNode, TaskMaxFailures, ExcludeEnabled)
	}
	return nil
}

// validateExclusion checks the exclusion keys parse; the thresholds are checked
// against each other once it is known whether exclusion is on (spec.Validate).
func (c Conf) validateExclusion() error {
	if _, err := c.Bool(ExcludeEnabled); err != nil {
		return err
	}
	_, err := c.Exclusion(false)
	return err
}
