package harness

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// An exclusion without a fault is a false alarm: the no-false-alarm cell fails
// on it, and passes without it.
func TestNoFalseAlarmCountsExclusions(t *testing.T) {
	sc := testScenario()
	p := plan{kind: result.NoFalseAlarm, set: safeguard.Set{safeguard.ExcludeOnFailure: true}}
	excluded := events.Event{Kind: events.ExcludedExecutorForStage, Executor: 3, Node: "node-b", Message: "Excluding executor 3 for stage 0"}
	for _, tc := range []struct {
		evs  []events.Event
		pass bool
	}{{nil, true}, {[]events.Event{excluded}, false}} {
		var r result.Run
		judge(sc, p, observation(t, driver.Succeeded, 1, 1, tc.evs...), &r)
		if (r.Verdict == result.Pass) != tc.pass {
			t.Errorf("events %v: verdict %s, problems %q", tc.evs, r.Verdict, r.Problems)
		}
	}
}

// A catch by survival lists the exclusions, in order, as evidence.
func TestCatchListsExclusions(t *testing.T) {
	sc := testScenario()
	sc.Catches = []Catch{{Safeguards: []safeguard.Name{safeguard.ExcludeOnFailure}, Expect: Survive}}
	p := plan{kind: result.Catch, set: safeguard.Set{safeguard.ExcludeOnFailure: true}, catch: &sc.Catches[0]}
	netHit := events.Event{Kind: events.FaultHit, Node: "node-b", Role: "network", Name: string(fault.NodeNetwork), Message: "toxic timeout on node-b's proxy cut connection 1"}
	var r result.Run
	judge(sc, p, observation(t, driver.Succeeded, 1, 1, netHit,
		events.Event{Kind: events.ExcludedExecutorForStage, Executor: 4, Node: "node-b", Message: "Excluding executor 4 for stage 0"},
		events.Event{Kind: events.ExcludedExecutorForStage, Executor: 3, Node: "node-b", Message: "Excluding executor 3 for stage 0"},
		events.Event{Kind: events.ExcludedNodeForStage, Node: "node-b", Message: "Excluding node-b for stage 0"}), &r)
	if r.Verdict != result.Pass {
		t.Fatalf("verdict %s: %q", r.Verdict, r.Problems)
	}
	var lines []string
	for _, e := range r.Evidence {
		if strings.HasPrefix(e.Line, "Excluding") {
			lines = append(lines, e.Line)
		}
	}
	if want := []string{"Excluding executor 4 for stage 0", "Excluding executor 3 for stage 0", "Excluding node-b for stage 0"}; !slices.Equal(lines, want) {
		t.Errorf("exclusions in evidence %q, want %q", lines, want)
	}
}

// The timeline draws a node fault's span from its on to its off event over
// that node's lanes, a stage exclusion until the stage completes, and an
// application exclusion until it expires.
func TestTimelineExclusionAndFaultBands(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	until := at(900)
	evs := []events.Event{
		{Time: at(0), Kind: events.ApplicationStart},
		{Time: at(1), Kind: events.ExecutorAdded, Executor: 1, Node: "node-a"},
		{Time: at(2), Kind: events.ExecutorAdded, Executor: 3, Node: "node-b"},
		{Time: at(3), Kind: events.ExecutorAdded, Executor: 4, Node: "node-b"},
		{Time: at(10), Kind: events.FaultOn, Node: "node-b", Name: "node-network"},
		{Time: at(100), Kind: events.ExcludedExecutorForStage, Executor: 3, Node: "node-b", Stage: 0},
		{Time: at(150), Kind: events.ExcludedNodeForStage, Node: "node-b", Stage: 0},
		{Time: at(400), Kind: events.StageCompleted, Stage: 0},
		{Time: at(500), Kind: events.ExcludedExecutor, Executor: 3, Node: "node-b", Until: &until},
		{Time: at(800), Kind: events.FaultOff, Node: "node-b", Name: "node-network"},
		{Time: at(1000), Kind: events.ApplicationEnd},
	}
	p := plan{faults: fault.Set{{Point: fault.NodeNetwork, Nodes: []string{"node-b"}}}}
	tl := timelineOf(&cluster.Outcome{Events: evs}, p)
	want := []result.Band{
		{FromMs: 10, ToMs: 800, Kind: "fault", Label: "node-network@node-b", Lanes: []string{"exec-3", "exec-4"}},
		{FromMs: 100, ToMs: 400, Kind: "excluded", Label: "exec-3 excluded for stage 0", Lanes: []string{"exec-3"}},
		{FromMs: 150, ToMs: 400, Kind: "excluded", Label: "node-b excluded for stage 0", Lanes: []string{"exec-3", "exec-4"}},
		{FromMs: 500, ToMs: 900, Kind: "excluded", Label: "exec-3 excluded for the application", Lanes: []string{"exec-3"}},
	}
	if len(tl.Bands) != len(want) {
		t.Fatalf("bands %+v, want %+v", tl.Bands, want)
	}
	for i := range want {
		g, w := tl.Bands[i], want[i]
		if g.FromMs != w.FromMs || g.ToMs != w.ToMs || g.Kind != w.Kind || g.Label != w.Label || !slices.Equal(g.Lanes, w.Lanes) {
			t.Errorf("band %d: %+v, want %+v", i, g, w)
		}
	}
}
