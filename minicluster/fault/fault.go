// Package fault names the points where minicluster can be made to fail, and the
// specification of a fault as it travels from the harness to the processes that
// inject it. A fault is data: the process that owns the injection point reads its
// Spec at start and acts on it at that point only.
//
// # Hits come from effects
//
// A fault point reports a hit (an event of kind "fault" in the driver's event
// log, sent by an executor as an rpc.Report of kind "fault") only when its effect
// happened, judged from the state the point produced and never from the
// configuration: the registry it built differs from the canonical one, the
// goroutine's context really lacks the bundle, the nil really reached the
// encoder, the toxic really delayed a connection, the store really answered a
// stale LIST. The hit's message is the proof: what differs and where (the first
// differing registry id, the block, the connection, the key). A point that is
// reached with its fault configured but finds no effect reports that instead
// (kind "fault-no-effect", its message saying why), so a run can tell "the fault
// did nothing" from "the fault was never reached"; the harness judges a
// reproduce or catch cell of such a run inconclusive, never a pass.
//
// Two optional parts of a hit let the harness check that an effect mattered:
//   - Block names the block or record the effect reached (a block encoded or
//     decoded with a registry other than its reader's or writer's). A run whose
//     output is silently wrong counts as a reproduction only when a hit names
//     the data the effect reached.
//   - State and Canonical: when the effect is a difference between processes
//     (a registry), State is what the point left this process with and
//     Canonical what a process without the fault has. Such hits count only
//     when the run's processes ended in different states; a process that
//     reports nothing is in the canonical state.
//
// # Sham faults
//
// Every fault point honours the sham (Spec.Sham, the reserved parameter
// ShamParam): the switch stays on and every step of the fault runs, but its
// effect is neutralised (the permutation returns the canonical order, the bundle
// stays visible to transport goroutines). The point then finds no effect and
// reports "fault-no-effect". The test suite runs every scenario of the catalogue
// with its faults shammed, and no reproduce or catch cell may pass: a judge that
// passes a sham credits the configuration, not the fault. A new fault point must
// therefore (1) report a hit only from an observed effect, with its proof, (2)
// report "fault-no-effect" when reached without one, and (3) neutralise its
// effect, and nothing else, when Sham() is true.
package fault

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Point names a place in the engine where a fault can be injected.
type Point string

const (
	// RegistrationOrder: the targeted executors run the user registrator over a
	// seeded permutation of its types, so their ids differ from everyone else's.
	// Hit: the process's registry differs from the canonical one (first
	// differing id). Sham: the permutation returns the canonical order.
	RegistrationOrder Point = "registration-order"
	// RegistrationMapOrder: the user registrator ranges over a Go map of its
	// types, so the order (and the ids) can differ from process to process.
	// Hit: as RegistrationOrder, reported by every process it reaches, the
	// driver included. Sham: the map's order is replaced by the declared one.
	RegistrationMapOrder Point = "registration-map-order"
	// RegistrationShift: the targeted executors lack one built-in type that every
	// other process registers before the user types (a class on one side of the
	// classpath only, SPARK-12591; or an older library build during an upgrade),
	// so every later id on them is one lower. Params["omit"] names the type
	// (default "[]byte"). Hit: as RegistrationOrder. Sham: nothing is omitted.
	RegistrationShift Point = "registration-shift"
	// TransportWithoutBundle: the block server's transport goroutines run with a
	// context that lacks the application bundle (Spark 1.0's per-thread class
	// loader on connection-manager threads). Hit: the serving goroutine finds
	// no bundle in its context, with what that did (the registrator lookup
	// failed, the block it encoded and its registry; or the executor-wide
	// bundle stood in). Sham: transport goroutines keep the bundle.
	TransportWithoutBundle Point = "transport-without-bundle"
	// ExecutorKill: the targeted executors kill themselves with SIGKILL when the
	// driver launches their first task of stage Params["stage"] (default 1), as
	// an operator or the OOM killer would: the process ends at once, its map
	// outputs and cached blocks with it. Hit: its node reports the process
	// killed by SIGKILL, with the executor's KillMarker line among its last
	// lines (the driver records it). Sham: the executor does not kill itself.
	ExecutorKill Point = "executor-kill"
	// NodeFreeze, NodePartition and NodeKill act on whole nodes (Spec.Nodes),
	// from outside them, as a host's failures do: when the driver starts the
	// node's first task of stage Params["stage"] (default 1), the node is
	// frozen (docker: its container paused; processes: its executors get
	// SIGSTOP), cut off its network (docker only: the container disconnected
	// from the run's network), or killed (docker: the container gets SIGKILL;
	// processes: its executors do, and its worker hangs up). A freeze or a
	// partition is reverted (unpaused and SIGCONT, reconnected) once the
	// driver has declared every executor of the node lost, or when the run
	// ends. Hit: the effect as observed afterwards (the container's state,
	// the processes' state in /proc, how they ended), with the node's
	// executors. Sham: every step runs but the node is left alone; the point
	// then reports "fault-no-effect".
	NodeFreeze    Point = "node-freeze"
	NodePartition Point = "node-partition"
	NodeKill      Point = "node-kill"
	// NodeNetwork: the network between the targeted nodes (Spec.Nodes) and the
	// external data service fails: a toxic on those nodes' proxies
	// (Params["toxic"]: "timeout", the default, lets nothing through so the
	// client's read times out; "latency" delays by Params["latency_ms"]).
	// Hit: the node's upstream listener saw a connection through the toxic
	// proxy cut before a byte of its request arrived, or its first byte late.
	// Sham: the toxic is put on with toxicity 0.
	NodeNetwork Point = "node-network"
	// InteropNilValues: the application's interop parser returns a key with no
	// value ("color=") as a nil entry, as the Java library of seed 003 returned
	// null, instead of leaving the key out; a lookup then yields Some(nil).
	// Hit: the parser returned nil for a key (the key and input line), and the
	// encoder met the Some(nil) (the field and input line). Sham: the nil
	// entries are taken out of the parsed map again.
	InteropNilValues Point = "interop-nil-values"
	// MutableListResult: the application collects each partition into a
	// MutableList, a linked list with no encoding of its own, instead of an
	// ArrayBuffer; encoding a long one recurses once per element.
	// Hit: the task encoder met a value nested deeper than any the fixtures
	// write by design (its path and the partition's result), before the
	// recursion goes on to exhaust the stack. Sham: the list is handed on as
	// an ArrayBuffer.
	MutableListResult Point = "mutable-list"
	// EventualConsistency: the checkpoint store behaves as S3 did before
	// December 2020: a LIST omits keys written less than their lag ago, and a
	// GET/HEAD of a key asked for before it existed answers 404 for its lag.
	// Each write lags with chance Params["p"] (default 0.2) for up to
	// Params["lag"] (default 2s). Hit: a LIST answered without a key, or a
	// GET/HEAD/COPY answered 404 for a key that exists (the key and its age).
	// No effect: the store never changed an answer (reported when the run
	// ends). Sham: every answer is left consistent.
	EventualConsistency Point = "eventual-consistency"
	// MissingOutputOp: the streaming application registers no output
	// operation (its foreachRDD is left out of the graph). Hit: the graph the
	// driver built has no output operation. Sham: the foreachRDD is kept.
	MissingOutputOp Point = "missing-output-op"
	// ThrottledStore: the checkpoint store meters its throughput by stored
	// size with burst credits (EFS bursting mode); the conf's faultbook.store
	// keys set the model. Hit: a transfer took longer than the burst rate
	// allows because the credits were spent (the key, its size, the wait).
	// No effect: the credits never ran out (reported when the run ends).
	// Sham: transfers are metered but never made to wait beyond the burst rate.
	ThrottledStore Point = "throttled-store"
)

// IsNodeLevel says whether a point acts on whole nodes from outside them.
func (p Point) IsNodeLevel() bool {
	return p == NodeFreeze || p == NodePartition || p == NodeKill
}

// KillMarker starts the line an executor logs as the executor-kill fault
// kills it: the proof, in its last lines, that its SIGKILL was the fault's.
const KillMarker = "Fault executor-kill"

// Besides its own hits, a fault that makes registries differ is reported where
// its effect reaches data: a block or task result decoded with another
// registry than its writer's names the block (Block) and both registries.

// EveryNode in Spec.Nodes stands for every node of the topology.
const EveryNode = "*"

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
	{ExecutorKill, "targeted executors are killed with SIGKILL when their first task of a stage arrives"},
	{NodeFreeze, "targeted nodes are frozen mid-stage (container paused, or SIGSTOP) until declared lost, then resumed"},
	{NodePartition, "targeted nodes are cut off the network mid-stage until declared lost, then reconnected (docker runtime)"},
	{NodeKill, "targeted nodes die mid-stage: the container, or every executor of the node, gets SIGKILL"},
	{NodeNetwork, "a toxic on the targeted nodes' proxies to the external data service: a timeout, or latency"},
	{InteropNilValues, "the interop parser returns nil for a key with no value, so a lookup yields Some(nil)"},
	{MutableListResult, "task results hold a MutableList (a linked list encoded by recursion) instead of an ArrayBuffer"},
	{EventualConsistency, "the checkpoint store is eventually consistent as S3 was: LIST lags, 404s are cached"},
	{MissingOutputOp, "the streaming graph registers no output operation"},
	{ThrottledStore, "the checkpoint store's throughput follows burst credits and its stored size"},
}

// All returns every fault point in catalogue order.
func All() []Info { return slices.Clone(catalogue) }

// Spec is one fault as configured for a run.
type Spec struct {
	Point Point `json:"point"`
	// Executors lists the executor ids the fault applies to; empty means all.
	Executors []int `json:"executors,omitempty"`
	// Nodes lists the nodes a node-level fault applies to.
	Nodes []string `json:"nodes,omitempty"`
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

// String is a short label: "registration-order@exec-2", with " (sham)" for a sham.
func (s Spec) String() string {
	label := string(s.Point)
	if len(s.Nodes) > 0 {
		label = fmt.Sprintf("%s@%s", s.Point, strings.Join(s.Nodes, ","))
	} else if len(s.Executors) > 0 {
		ids := make([]string, len(s.Executors))
		for i, e := range s.Executors {
			ids[i] = "exec-" + strconv.Itoa(e)
		}
		label = fmt.Sprintf("%s@%s", s.Point, strings.Join(ids, ","))
	}
	if len(s.Nodes) > 0 {
		nodes := strings.Join(s.Nodes, ",")
		if nodes == EveryNode {
			nodes = "every-node"
		}
		label = fmt.Sprintf("%s@%s", s.Point, nodes)
	}
	if s.Sham() {
		label += " (sham)"
	}
	return label
}

// ShamParam is the reserved parameter that turns a fault into its sham: "true"
// keeps the fault's switch on and neutralises its effect (see the package doc).
// It exists for the test suite; scenarios never set it.
const ShamParam = "sham"

// Sham reports whether this fault is the sham of itself: every fault point
// must honour it by keeping its code path and neutralising its effect.
func (s Spec) Sham() bool { return s.Params[ShamParam] == "true" }

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

// Sham returns a copy of the set with every fault turned into its sham.
func (s Set) Sham() Set {
	out := make(Set, len(s))
	for i, f := range s {
		params := maps.Clone(f.Params)
		if params == nil {
			params = map[string]string{}
		}
		params[ShamParam] = "true"
		f.Params = params
		f.Executors = slices.Clone(f.Executors)
		f.Nodes = slices.Clone(f.Nodes)
		out[i] = f
	}
	return out
}
