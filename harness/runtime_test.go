package harness

import (
	"context"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// A docker-only case under the process runtime is skipped, saying why: it
// starts nothing (no binary is given, so a run would be inconclusive), and it
// weighs nothing in the scenario's verdict.
func TestDockerOnlyCaseSkippedUnderProcesses(t *testing.T) {
	sc := testScenario()
	sc.Cases = []Case{{Name: "node-partition", DockerOnly: true,
		Faults: fault.Set{{Point: fault.NodePartition, Nodes: []string{"node-b"}}}}}
	o := &Options{Dir: t.TempDir()}
	o.defaults()
	if err := o.check(sc); err != nil {
		t.Fatalf("a docker-only case refused under the process runtime: %v", err)
	}
	ps, err := o.plans(sc)
	if err != nil {
		t.Fatal(err)
	}
	p := ps[len(ps)-1]
	c := runCell(context.Background(), sc, p, o, make(chan struct{}, 1))
	if c.Verdict != result.Skipped || c.Runs != 0 || len(c.Problems) != 1 || !strings.Contains(c.Problems[0], "--runtime docker") {
		t.Fatalf("cell %+v: want skipped, no run, with the reason", c)
	}
	if v := scenarioVerdict([]result.Cell{{Verdict: result.Pass}, c}); v != result.Pass {
		t.Errorf("a skipped case made the scenario %s", v)
	}

	// Without DockerOnly, the same case is refused under the process runtime.
	sc.Cases[0].DockerOnly = false
	sc.Topology = spec.Topology{Nodes: 2}
	if err := o.check(sc); err == nil {
		t.Error("a partition case that is not docker-only was accepted under the process runtime")
	}
}

// In the docker runtime the parameters name each service at the gateway,
// whole addresses only; the process runtime leaves them as they are.
func TestRelayParams(t *testing.T) {
	services := []string{"127.0.0.1:4123", "127.0.0.1:41234"}
	params := func() map[string]string {
		return map[string]string{"a": "127.0.0.1:41234", "b": "127.0.0.1:4123", "url": "http://127.0.0.1:4123/x", "other": "127.0.0.1:9"}
	}
	got := params()
	relayParams(got, services, true)
	want := map[string]string{"a": "gateway:41234", "b": "gateway:4123", "url": "http://gateway:4123/x", "other": "127.0.0.1:9"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("docker: %s = %q, want %q", k, got[k], v)
		}
	}
	got = params()
	relayParams(got, services, false)
	for k, v := range params() {
		if got[k] != v {
			t.Errorf("process: %s = %q, want it unchanged %q", k, got[k], v)
		}
	}
}
