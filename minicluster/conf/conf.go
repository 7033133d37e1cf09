// Package conf is minicluster's configuration: Spark's key names with Spark's
// defaults, so a scenario reads like the Spark setting it mirrors. Values are
// strings, as in SparkConf; typed getters parse them and report a malformed value
// as an error naming the key.
package conf

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Keys mirrored from Spark. The default of each is in Defaults.
const (
	TaskMaxFailures           = "spark.task.maxFailures"
	KryoRegistrator           = "spark.kryo.registrator"
	KryoRegistrationRequired  = "spark.kryo.registrationRequired"
	ExecutorHeartbeatInterval = "spark.executor.heartbeatInterval"
	NetworkTimeout            = "spark.network.timeout"
	// SchedulerRegistrationWait bounds how long the driver waits for the expected
	// executors before it starts the job (Spark's
	// spark.scheduler.maxRegisteredResourcesWaitingTime).
	SchedulerRegistrationWait = "spark.scheduler.maxRegisteredResourcesWaitingTime"
	// DeployMaxExecutorRetries bounds how many abnormal executor exits the
	// nodes relaunch after, per application (standalone Master's limit).
	DeployMaxExecutorRetries = "spark.deploy.maxExecutorRetries"
	// StageMaxConsecutiveAttempts bounds how many times a stage is attempted
	// after fetch failures before the job is aborted.
	StageMaxConsecutiveAttempts = "spark.stage.maxConsecutiveAttempts"
	// LocalityWait is how long a task set waits to launch a task on the node that
	// holds its input before it accepts any node (Spark's delay scheduling).
	LocalityWait = "spark.locality.wait"
	// ExecutorThreadStack is the largest stack a goroutine of an executor may
	// grow, standing for the JVM thread stack Spark users set with -Xss in
	// spark.executor.extraJavaOptions (1 MiB by default on x64). Not a Spark key:
	// Go has no per-thread stack flag, so the executor applies it to its whole
	// process with debug.SetMaxStack.
	ExecutorThreadStack = "spark.executor.threadStackSize"
	// SubmitDeployMode says where the driver runs: "client", in the process
	// that submits the application (Spark's default; here the harness, as
	// spark-submit), or "cluster", as a process of its own that the cluster
	// starts and may lose (Spark supervises and restarts drivers only in
	// cluster mode). The docker runtime always runs the driver in a container
	// of its own.
	SubmitDeployMode = "spark.submit.deployMode"
)

// The values of SubmitDeployMode.
const (
	DeployClient  = "client"
	DeployCluster = "cluster"
)

// The checkpoint store's throughput model (EFS bursting mode), beyond Spark:
// read by the harness, which runs the store. Sizes and rates are in the
// stream's time; the harness compresses them by the run's time scale. Their
// defaults (in StoreDefaults) are EFS's.
const (
	StoreBaselineKiBPerGiB = "faultbook.store.baselineKiBPerGiB" // 50 KiB/s per GiB stored
	StoreBurstMiBps        = "faultbook.store.burstMiBps"        // 100 MiB/s while credits last
	StoreSizeGiB           = "faultbook.store.sizeGiB"           // data held besides the checkpoints; with them, the metered size that sets the baseline
	StoreCreditsMiB        = "faultbook.store.initialCreditsMiB" // burst credits at start
	StoreTimeScale         = "faultbook.store.timeScale"         // stream seconds per wall second
)

// StoreDefaults are the throughput model's defaults.
var StoreDefaults = map[string]string{
	StoreBaselineKiBPerGiB: "50", StoreBurstMiBps: "100", StoreSizeGiB: "1", StoreCreditsMiB: "2048", StoreTimeScale: "1",
}

// Float parses a number key, falling back on StoreDefaults.
func (c Conf) Float(key string) (float64, error) {
	v := c.Get(key)
	if v == "" {
		v = StoreDefaults[key]
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("config %s=%q: not a non-negative number", key, v)
	}
	return f, nil
}

// Defaults are Spark's defaults for the keys above. The harness scales the timing
// keys down (see Fast) so that a whole catalogue runs in seconds; the names and
// the counting rules stay Spark's.
var Defaults = map[string]string{
	TaskMaxFailures:             "4",
	KryoRegistrator:             "",
	KryoRegistrationRequired:    "false",
	ExecutorHeartbeatInterval:   "10s",
	NetworkTimeout:              "120s",
	SchedulerRegistrationWait:   "30s",
	DeployMaxExecutorRetries:    "10",
	StageMaxConsecutiveAttempts: "4",
	LocalityWait:                "3s",

	ExcludeEnabled:                        "false",
	ExcludeTaskMaxAttemptsPerExecutor:     "1",
	ExcludeTaskMaxAttemptsPerNode:         "2",
	ExcludeStageMaxFailedTasksPerExecutor: "2",
	ExcludeStageMaxFailedExecutorsPerNode: "2",
	ExcludeAppMaxFailedTasksPerExecutor:   "2",
	ExcludeAppMaxFailedExecutorsPerNode:   "2",
	ExcludeTimeout:                        "1h",
	ExcludeKillExecutors:                  "false",
	UnschedulableTaskSetTimeout:           "120s",
	ExecutorThreadStack:                   "1m",
	SubmitDeployMode:                      DeployClient,
}

// Fast holds the timing overrides the harness applies to every cluster: a
// heartbeat every 100 ms, an executor declared lost after 3 s of silence, a
// locality wait of 1.5 s (a scenario's fetch timeout stays below it), an
// application-level exclusion that lasts 90 s and an unschedulable task set
// that waits 3 s (an hour and 120 s scaled as the network timeout is, 120 s
// to 3 s).
var Fast = map[string]string{
	ExecutorHeartbeatInterval:   "100ms",
	NetworkTimeout:              "3s",
	SchedulerRegistrationWait:   "15s",
	LocalityWait:                "2s",
	ExcludeTimeout:              "90s",
	UnschedulableTaskSetTimeout: "3s",
}

// Conf is a set of configuration values over Defaults.
type Conf map[string]string

// New returns a Conf holding the given values over the defaults.
func New(overrides ...map[string]string) Conf {
	c := Conf(maps.Clone(Defaults))
	for _, o := range overrides {
		maps.Copy(c, o)
		// A deprecated key set without its successor sets the successor.
		for _, a := range aliases {
			_, old := o[a.Old]
			if _, set := o[a.Key]; old && !set {
				c[a.Key] = o[a.Old]
			}
		}
	}
	return c
}

// DeployMode is SubmitDeployMode's value, DeployClient when unset.
func (c Conf) DeployMode() string {
	if m := c.Get(SubmitDeployMode); m != "" {
		return m
	}
	return DeployClient
}

// Get returns a key's value, the value of its deprecated alias, or its default.
func (c Conf) Get(key string) string {
	if v, ok := c[key]; ok {
		return v
	}
	for _, a := range aliases {
		if a.Key == key {
			if v, ok := c[a.Old]; ok {
				return v
			}
		}
	}
	return Defaults[key]
}

// Int parses an integer key.
func (c Conf) Int(key string) (int, error) {
	v := c.Get(key)
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("config %s=%q: not an integer", key, v)
	}
	return n, nil
}

// Bool parses a boolean key.
func (c Conf) Bool(key string) (bool, error) {
	v := c.Get(key)
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("config %s=%q: not a boolean", key, v)
	}
	return b, nil
}

// Duration parses a duration key ("10s", "100ms").
func (c Conf) Duration(key string) (time.Duration, error) {
	v := c.Get(key)
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("config %s=%q: not a duration", key, v)
	}
	return d, nil
}

// Bytes parses a size key: a number of bytes with an optional unit, k/m/g as
// the JVM's -Xss takes them or KiB/MiB/GiB ("1m", "512k", "2MiB", "1048576").
func (c Conf) Bytes(key string) (int64, error) {
	v := c.Get(key)
	n, err := ParseBytes(v)
	if err != nil {
		return 0, fmt.Errorf("config %s=%q: %w", key, v, err)
	}
	return n, nil
}

// ParseBytes parses a size as Bytes does.
func ParseBytes(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if t, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = strings.TrimSpace(t), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("not a positive size (want e.g. 1m, 512k, 2MiB)")
	}
	return n * mult, nil
}

// Validate checks every known key parses and the values make sense together.
func (c Conf) Validate() error {
	if n, err := c.Int(TaskMaxFailures); err != nil {
		return err
	} else if n < 1 {
		return fmt.Errorf("config %s=%d: must be at least 1", TaskMaxFailures, n)
	}
	if n, err := c.Int(DeployMaxExecutorRetries); err != nil {
		return err
	} else if n < -1 {
		return fmt.Errorf("config %s=%d: must be -1 (no limit) or more", DeployMaxExecutorRetries, n)
	}
	if n, err := c.Int(StageMaxConsecutiveAttempts); err != nil {
		return err
	} else if n < 1 {
		return fmt.Errorf("config %s=%d: must be at least 1", StageMaxConsecutiveAttempts, n)
	}
	if _, err := c.Bool(KryoRegistrationRequired); err != nil {
		return err
	}
	if _, err := c.Bytes(ExecutorThreadStack); err != nil {
		return err
	}
	if m := c.DeployMode(); m != DeployClient && m != DeployCluster {
		return fmt.Errorf("config %s=%q: must be %s or %s", SubmitDeployMode, m, DeployClient, DeployCluster)
	}
	for _, k := range []string{ExecutorHeartbeatInterval, NetworkTimeout, SchedulerRegistrationWait, ExcludeTimeout} {
		if d, err := c.Duration(k); err != nil {
			return err
		} else if d <= 0 {
			return fmt.Errorf("config %s: must be positive", k)
		}
	}
	if d, err := c.Duration(LocalityWait); err != nil {
		return err
	} else if d < 0 {
		return fmt.Errorf("config %s: must not be negative", LocalityWait)
	}
	return c.validateExclusion()
}

// Keys lists the set keys in order, for display.
func (c Conf) Keys() []string { return slices.Sorted(maps.Keys(c)) }
