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
)

// The checkpoint store's throughput model (EFS bursting mode), beyond Spark:
// read by the harness, which runs the store. Sizes and rates are in the
// stream's time; the harness compresses them by the run's time scale. Their
// defaults (in StoreDefaults) are EFS's.
const (
	StoreBaselineKiBPerGiB = "faultbook.store.baselineKiBPerGiB" // 50 KiB/s per GiB stored
	StoreBurstMiBps        = "faultbook.store.burstMiBps"        // 100 MiB/s while credits last
	StoreSizeGiB           = "faultbook.store.sizeGiB"           // stored size, which sets the baseline
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
}

// Fast holds the timing overrides the harness applies to every cluster: a
// heartbeat every 100 ms and an executor declared lost after 3 s of silence.
var Fast = map[string]string{
	ExecutorHeartbeatInterval: "100ms",
	NetworkTimeout:            "3s",
	SchedulerRegistrationWait: "15s",
}

// Conf is a set of configuration values over Defaults.
type Conf map[string]string

// New returns a Conf holding the given values over the defaults.
func New(overrides ...map[string]string) Conf {
	c := Conf(maps.Clone(Defaults))
	for _, o := range overrides {
		maps.Copy(c, o)
	}
	return c
}

// Get returns a key's value, or its default.
func (c Conf) Get(key string) string {
	if v, ok := c[key]; ok {
		return v
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
	for _, k := range []string{ExecutorHeartbeatInterval, NetworkTimeout, SchedulerRegistrationWait} {
		if d, err := c.Duration(k); err != nil {
			return err
		} else if d <= 0 {
			return fmt.Errorf("config %s: must be positive", k)
		}
	}
	return nil
}

// Keys lists the set keys in order, for display.
func (c Conf) Keys() []string { return slices.Sorted(maps.Keys(c)) }
