// Package safeguard names the switches that make the engine catch a failure, and
// the profiles that group them. A safeguard is a named, typed switch read at the
// one place in the engine that implements it; nothing else tests for it.
package safeguard

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Name identifies a safeguard on the command line, in specs and in results.
type Name string

const (
	// RegistryFingerprint compares codec registries between processes: at executor
	// registration (a mismatching executor is refused) and in every block header.
	// Beyond Spark: Spark has no fingerprint or handshake of the Kryo registry.
	RegistryFingerprint Name = "registry-fingerprint"
	// RegistrationRequired mirrors spark.kryo.registrationRequired: writing an
	// unregistered type is an error. It does not catch two orders of registered types.
	RegistrationRequired Name = "registration-required"
	// RegistratorFailFast mirrors SPARK-2893 (Spark 1.1): a registrator that cannot
	// be run is an error reported to the driver, not a line in an executor's log.
	RegistratorFailFast Name = "registrator-fail-fast"
	// ExecutorWideRegistry mirrors SPARK-3046 (Spark 1.1): serializers resolve the
	// registrator through the executor's application bundle, whatever goroutine asks.
	ExecutorWideRegistry Name = "executor-wide-registry"
	// ExcludeOnFailure mirrors spark.excludeOnFailure.enabled (Spark 2.1's
	// blacklisting, SPARK-8425; renamed in 3.1, SPARK-32037): executors and nodes
	// where tasks keep failing are excluded, per task, per stage and for the
	// application.
	ExcludeOnFailure Name = "exclude-on-failure"
	// OptionNilCheck: the encoder refuses a defined option holding a nil pointer
	// (Scala's Some(null)), naming the record type, the field and the input, and
	// the task is not retried. Beyond Spark: Kryo writes Some(null) silently.
	OptionNilCheck Name = "option-nil-check"
	// CodecDepthLimit: the encoder stops at a nesting depth with a typed error
	// rather than exhausting the stack; Kryo's setMaxDepth, which Spark never sets.
	CodecDepthLimit Name = "codec-depth-limit"
	// IterativeListEncoding: a chain of structs linked by a pointer to their own
	// type is encoded in a loop, as Scala's List serialises through a proxy.
	IterativeListEncoding Name = "iterative-list-encoding"
	// CrashAttribution: the driver notices that attempts of one task killed two
	// executors and aborts the task with that diagnosis at once. Beyond Spark,
	// which spends spark.task.maxFailures executors on it.
	CrashAttribution Name = "crash-attribution"
	// OutputOpValidation mirrors DStreamGraph.validate: a streaming context with
	// no output operation refuses to start.
	OutputOpValidation Name = "output-op-validation"
	// ManifestCommit writes a checkpoint's parts, then a manifest naming them
	// with checksums, last; recovery reads manifests by key with bounded retries
	// and never trusts LIST for correctness (as S3A's committers and S3Guard did).
	ManifestCommit Name = "manifest-commit"
	// ValidateOnRecovery checks a recovered checkpoint's parts against the
	// checksums its metadata records and falls back to the last complete one.
	ValidateOnRecovery Name = "validate-on-recovery"
	// CheckpointLagAlarm warns when checkpoint time approaches the batch
	// interval or the store's burst credits are projected to run out.
	CheckpointLagAlarm Name = "checkpoint-lag-alarm"
)

// Info documents one safeguard.
type Info struct {
	Name Name
	// Summary says what the safeguard does, in one sentence.
	Summary string
	// Origin says where it comes from: a Spark version and issue, or "beyond Spark".
	Origin string
	// ConfKey is the engine configuration key that mirrors Spark's, if any.
	ConfKey string
}

// catalogue is the ordered list of every safeguard the engine implements.
var catalogue = []Info{
	{RegistryFingerprint, "compare codec registries between processes at registration and in every block header", "beyond Spark", "spark.kryo.registryFingerprint"},
	{RegistrationRequired, "refuse to write a type the registry does not know", "Spark 1.0 option, default off", "spark.kryo.registrationRequired"},
	{RegistratorFailFast, "a registrator that cannot be run fails the task and is reported to the driver", "Spark 1.1 (SPARK-2893)", ""},
	{ExecutorWideRegistry, "resolve the registrator through the executor's bundle, not the calling goroutine's", "Spark 1.1 (SPARK-3046)", ""},
	{ExcludeOnFailure, "exclude executors and nodes where tasks keep failing, per task, stage and application", "Spark 2.1 (SPARK-8425), renamed in 3.1 (SPARK-32037)", "spark.excludeOnFailure.enabled"},
	{OptionNilCheck, "refuse to encode Some(nil), naming the record type, field and input line; the task is not retried", "beyond Spark", ""},
	{CodecDepthLimit, "stop encoding at a nesting depth with a typed error instead of overflowing the stack", "Kryo setMaxDepth, never set by Spark", ""},
	{IterativeListEncoding, "encode self-referential pointer chains (linked lists) in a loop, not by recursion", "Scala List's serialization proxy", ""},
	{CrashAttribution, "abort a task whose attempts killed two executors, saying so, instead of spending executors on it", "beyond Spark", ""},
	{OutputOpValidation, "refuse to start a stream with no output operation", "Spark Streaming (DStreamGraph.validate)", ""},
	{ManifestCommit, "commit a checkpoint by a manifest written last; recover by key, never by LIST", "beyond Spark (S3A committers, S3Guard)", ""},
	{ValidateOnRecovery, "verify a recovered checkpoint's checksums and fall back to the last complete one", "beyond Spark", ""},
	{CheckpointLagAlarm, "warn before checkpoint time overtakes the batch interval or burst credits run out", "beyond Spark", ""},
}

// All returns every safeguard, in catalogue order.
func All() []Info { return slices.Clone(catalogue) }

// Lookup returns a safeguard's documentation.
func Lookup(n Name) (Info, bool) {
	for _, i := range catalogue {
		if i.Name == n {
			return i, true
		}
	}
	return Info{}, false
}

// Set is a set of switched-on safeguards. The zero value has every safeguard off.
type Set map[Name]bool

// On reports whether a safeguard is switched on.
func (s Set) On(n Name) bool { return s[n] }

// Names lists the switched-on safeguards in catalogue order.
func (s Set) Names() []string {
	var out []string
	for _, i := range catalogue {
		if s[i.Name] {
			out = append(out, string(i.Name))
		}
	}
	return out
}

// Clone copies the set.
func (s Set) Clone() Set {
	c := Set{}
	for k, v := range s {
		if v {
			c[k] = true
		}
	}
	return c
}

// Profile is a named group of safeguards.
type Profile struct {
	Name    string
	Summary string
	On      []Name
}

// profiles: spark-1.0 is the engine as the seed documents met it; spark-3 adds
// what Spark added later; hardened adds everything faultbook offers.
var profiles = []Profile{
	{"spark-1.0", "the engine as the seed documents met it: no safeguard", nil},
	{"spark-3", "what Spark added later (SPARK-2893, SPARK-3046, SPARK-8425, stream graph validation)", []Name{RegistratorFailFast, ExecutorWideRegistry, ExcludeOnFailure, OutputOpValidation}},
	{"hardened", "every safeguard faultbook offers", []Name{RegistryFingerprint, RegistrationRequired, RegistratorFailFast, ExecutorWideRegistry, ExcludeOnFailure,
		OptionNilCheck, CodecDepthLimit, IterativeListEncoding, CrashAttribution,
		OutputOpValidation, ManifestCommit, ValidateOnRecovery, CheckpointLagAlarm}},
}

// Profiles returns every profile in order: spark-1.0, spark-3, hardened.
func Profiles() []Profile { return slices.Clone(profiles) }

// DefaultProfile is the profile a run uses when none is named.
const DefaultProfile = "spark-1.0"

// ProfileSet returns the safeguards a profile switches on.
func ProfileSet(name string) (Set, error) {
	for _, p := range profiles {
		if p.Name == name {
			s := Set{}
			for _, n := range p.On {
				s[n] = true
			}
			return s, nil
		}
	}
	names := make([]string, len(profiles))
	for i, p := range profiles {
		names[i] = p.Name
	}
	return nil, fmt.Errorf("unknown profile %q (known: %s)", name, strings.Join(names, ", "))
}

// ParseSwitch parses "NAME=on|off" as given to --safeguard.
func ParseSwitch(arg string) (Name, bool, error) {
	k, v, ok := strings.Cut(arg, "=")
	if !ok {
		return "", false, fmt.Errorf("safeguard switch %q: want NAME=on|off", arg)
	}
	n := Name(strings.TrimSpace(k))
	if _, known := Lookup(n); !known {
		var names []string
		for _, i := range catalogue {
			names = append(names, string(i.Name))
		}
		sort.Strings(names)
		return "", false, fmt.Errorf("safeguard switch %q: unknown safeguard %q (known: %s)", arg, n, strings.Join(names, ", "))
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1":
		return n, true, nil
	case "off", "false", "0":
		return n, false, nil
	}
	return "", false, fmt.Errorf("safeguard switch %q: value must be on or off", arg)
}
