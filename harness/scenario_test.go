package harness

import (
	"errors"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/spec"
)

func TestCatchIsSafeguardsOrUserFix(t *testing.T) {
	base := func(c Catch) *Scenario {
		return &Scenario{Name: "s", Source: "seed", Symptom: "x", Workload: "w", Faults: fault.Set{{Point: "p"}},
			Catches: []Catch{c}, Reproduce: func(*Observation, *Evidence) error { return nil }}
	}
	tests := []struct {
		name  string
		catch Catch
		ok    bool
	}{
		{"a safeguard", Catch{Safeguards: []safeguard.Name{safeguard.OptionNilCheck}}, true},
		{"a fix in user code", Catch{UserFix: "OptionOf at the lookup", Params: map[string]string{"lookup": "option-of"}}, true},
		{"neither", Catch{}, false},
		{"both", Catch{UserFix: "fix", Safeguards: []safeguard.Name{safeguard.OptionNilCheck}}, false},
	}
	for _, tc := range tests {
		if err := base(tc.catch).Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// A user fix's knobs reach the cell's run on top of the scenario's; other
// cells keep the scenario's own.
func TestUserFixParams(t *testing.T) {
	fix := Catch{UserFix: "fix", Params: map[string]string{"lookup": "option-of"}}
	sc := &Scenario{Params: map[string]string{"lookup": "get", "n": "3"}, Catches: []Catch{{Safeguards: []safeguard.Name{safeguard.OptionNilCheck}}, fix}}
	got, _ := sc.UserFix()
	if p := sc.params(got); p["lookup"] != "option-of" || p["n"] != "3" {
		t.Errorf("user fix params %v", p)
	}
	if p := sc.params(&sc.Catches[0]); p["lookup"] != "get" {
		t.Errorf("safeguard cell params %v", p)
	}
	if sc.Params["lookup"] != "get" {
		t.Error("the scenario's own params were changed")
	}
	if l := got.Label(); !strings.Contains(l, UserFixLabel) {
		t.Errorf("label %q", l)
	}
}

// A run's driver is in the harness (client deploy mode) unless it must be a
// process of its own: a scenario that kills its driver, and the docker
// runtime, get cluster mode on their own, and asking for client mode there
// is refused before anything runs, naming why.
func TestDeployMode(t *testing.T) {
	batch := &Scenario{Name: "batch", Workload: "w", Topology: spec.Topology{Nodes: 2}}
	killer := &Scenario{Name: "killer", Workload: "w", Topology: spec.Topology{Nodes: 2}, Stream: &StreamRun{KillDriver: true}}
	client := map[string]string{conf.SubmitDeployMode: conf.DeployClient}
	for _, tc := range []struct {
		name    string
		sc      *Scenario
		o       Options
		want    string // the run's deploy mode; "" when refused
		refuses string
	}{
		{"batch", batch, Options{}, conf.DeployClient, ""},
		{"batch asking for cluster", batch, Options{Conf: map[string]string{conf.SubmitDeployMode: conf.DeployCluster}}, conf.DeployCluster, ""},
		{"a scenario that kills its driver", killer, Options{}, conf.DeployCluster, ""},
		{"killing a client driver", killer, Options{Conf: client}, "", "kills and restarts its driver"},
		{"docker", batch, Options{Docker: &cluster.Docker{}}, conf.DeployCluster, ""},
		{"docker asking for client", batch, Options{Docker: &cluster.Docker{}, Conf: client}, "", "container of its own"},
	} {
		err := Check([]*Scenario{tc.sc}, tc.o)
		if tc.refuses != "" {
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.refuses) {
				t.Errorf("%s: Check = %v, want %v saying %q", tc.name, err, ErrConfig, tc.refuses)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Check = %v", tc.name, err)
		}
		o := tc.o
		o.defaults()
		sp := specFor(tc.sc, plan{kind: result.Control, label: "control", set: safeguard.Set{}, runs: 1}, &o, 1)
		if got := sp.Conf.DeployMode(); got != tc.want {
			t.Errorf("%s: deploy mode %s, want %s", tc.name, got, tc.want)
		}
	}
}
