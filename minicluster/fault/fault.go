// Package fault names the points where minicluster can be made to fail, and the
// specification of a fault as it travels from the harness to the processes that
// inject it. A fault is data: the process that owns the injection point reads its
// Spec at start and acts on it at that point only, and says so in its event log
// (a "fault" event) each time the point is hit, so a run can prove the fault was
// exercised rather than merely configured.
package fault

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Point names a place in the engine where a fault can be injected.
type Point string

const (
	// RegistrationOrder: the targeted executors run the user registrator over a
	// seeded permutation of its types, so their ids differ from everyone else's.
	RegistrationOrder Point = "registration-order"
	// RegistrationMapOrder: the user registrator ranges over a Go map of its
	// types, so the order (and the ids) can differ from process to process.
	RegistrationMapOrder Point = "registration-map-order"
	// RegistrationShift: the targeted executors lack one built-in type that every
	// other process registers before the user types (a class on one side of the
	// classpath only, SPARK-12591; or an older library build during an upgrade),
	// so every later id on them is one lower. Params["omit"] names the type
	// (default "[]byte").
	RegistrationShift Point = "registration-shift"
	// TransportWithoutBundle: the block server's transport goroutines run with a
	// context that lacks the application bundle (Spark 1.0's per-thread class
	// loader on connection-manager threads).
	TransportWithoutBundle Point = "transport-without-bundle"
	// InteropNilValues: the application's interop parser returns a key with no
	// value ("color=") as a nil entry, as the Java library of seed 003 returned
	// null, instead of leaving the key out; a lookup then yields Some(nil).
	InteropNilValues Point = "interop-nil-values"
	// MutableListResult: the application collects each partition into a
	// MutableList, a linked list with no encoding of its own, instead of an
	// ArrayBuffer; encoding a long one recurses once per element.
	MutableListResult Point = "mutable-list"
	// ExecutorKill: the targeted executors kill themselves with SIGKILL when the
	// driver launches their first task of stage Params["stage"] (default 1), as
	// an operator or the OOM killer would: the process ends at once, its map
	// outputs and cached blocks with it.
	ExecutorKill Point = "executor-kill"
)

// Info documents one fault point.
type Info struct {
	Point   Point
	Summary string
}

var catalogue = []Info{
	{RegistrationOrder, "targeted executors register the user types in a seeded permutation"},
	{RegistrationMapOrder, "the registrator ranges over a Go map of its types: the order varies by process"},
	{RegistrationShift, "targeted executors lack one built-in type the others register: every later id shifts by one"},
	{TransportWithoutBundle, "block-server goroutines run without the application bundle in their context"},
	{InteropNilValues, "the interop parser returns nil for a key with no value, so a lookup yields Some(nil)"},
	{MutableListResult, "task results hold a MutableList (a linked list encoded by recursion) instead of an ArrayBuffer"},
	{ExecutorKill, "targeted executors are killed with SIGKILL when their first task of a stage arrives"},
}

// All returns every fault point in catalogue order.
func All() []Info { return slices.Clone(catalogue) }

// Spec is one fault as configured for a run.
type Spec struct {
	Point Point `json:"point"`
	// Executors lists the executor ids the fault applies to; empty means all.
	Executors []int `json:"executors,omitempty"`
	// Seed makes a randomised fault deterministic.
	Seed int64 `json:"seed,omitempty"`
	// Params holds point-specific settings.
	Params map[string]string `json:"params,omitempty"`
}

// Applies reports whether the fault targets the given process: an executor id,
// or 0 for the driver, which only a fault with no executor list reaches.
func (s Spec) Applies(executor int) bool {
	return len(s.Executors) == 0 || slices.Contains(s.Executors, executor)
}

// String is a short label: "registration-order@exec-2".
func (s Spec) String() string {
	if len(s.Executors) == 0 {
		return string(s.Point)
	}
	ids := make([]string, len(s.Executors))
	for i, e := range s.Executors {
		ids[i] = "exec-" + strconv.Itoa(e)
	}
	return fmt.Sprintf("%s@%s", s.Point, strings.Join(ids, ","))
}

// Set is the faults of one run.
type Set []Spec

// Lookup returns the fault at a point that applies to a process (an executor id,
// or 0 for the driver), if any.
func (s Set) Lookup(p Point, executor int) (Spec, bool) {
	for _, f := range s {
		if f.Point == p && f.Applies(executor) {
			return f, true
		}
	}
	return Spec{}, false
}

// Labels returns String() of every fault.
func (s Set) Labels() []string {
	out := make([]string, len(s))
	for i, f := range s {
		out[i] = f.String()
	}
	return out
}
