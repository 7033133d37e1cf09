package harness

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/events"
)

// TestTimelineLanesOfDeadExecutors: a lane per executor id, a dead one's end
// marked with its exit status, its replacement's lane naming it.
func TestTimelineLanesOfDeadExecutors(t *testing.T) {
	t0 := time.Unix(100, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	status := 137
	evs := []events.Event{
		{Time: at(0), Kind: events.ApplicationStart},
		{Time: at(10), Kind: events.ExecutorAdded, Executor: 1, Node: "node-a"},
		{Time: at(12), Kind: events.ExecutorAdded, Executor: 2, Node: "node-b"},
		{Time: at(50), Kind: events.ExecutorExited, Executor: 2, Node: "node-b", ExitStatus: &status, Signal: "SIGKILL", Replacement: 3},
		{Time: at(51), Kind: events.ExecutorRemoved, Executor: 2, Node: "node-b", ExitStatus: &status},
		{Time: at(90), Kind: events.ExecutorAdded, Executor: 3, Node: "node-b"},
		{Time: at(100), Kind: events.ApplicationEnd},
	}
	tl := timelineOf(&cluster.Outcome{Events: evs}, plan{})
	end := int64(50)
	want := []result.Lane{
		{ID: "exec-1", Node: "node-a"},
		{ID: "exec-2", Node: "node-b", EndMs: &end, Exit: "exit status 137, SIGKILL"},
		{ID: "exec-3", Node: "node-b", Replaces: "exec-2"},
	}
	if d := cmp.Diff(want, tl.Lanes); d != "" {
		t.Errorf("lanes (-want +got):\n%s", d)
	}
}

// TestSources: the process logs are the driver's and the executors' in id
// order, relaunched ones included; the workers' logs are listed apart.
func TestSources(t *testing.T) {
	o := &Observation{Outcome: &cluster.Outcome{Logs: map[string][]string{
		"exec-10": nil, "worker-node-b": nil, "exec-2": nil, "driver": nil, "worker-node-a": nil, "exec-1": nil,
	}}}
	if d := cmp.Diff([]string{"driver", "exec-1", "exec-2", "exec-10"}, o.Sources()); d != "" {
		t.Errorf("Sources (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"worker-node-a", "worker-node-b"}, o.WorkerSources()); d != "" {
		t.Errorf("WorkerSources (-want +got):\n%s", d)
	}
}
