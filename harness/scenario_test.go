package harness

import (
	"strings"
	"testing"

	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
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
