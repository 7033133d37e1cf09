package harness

import (
	"encoding/json"
	"errors"
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

// observation builds what a run would leave behind: a driver result, events
// and logs, so that every judge can be shown both to pass and to fail.
func observation(t *testing.T, status driver.Status, output any, oracle any, evs ...events.Event) *Observation {
	t.Helper()
	res := &driver.Result{Status: status}
	if status == driver.Succeeded {
		b, err := json.Marshal(output)
		if err != nil {
			t.Fatal(err)
		}
		res.Output = b
	} else {
		res.Error = "Job aborted due to stage failure: Task 1 in stage 1.0 failed 4 times, most recent failure: Lost task 1.3 in stage 1.0 (TID 9, node-a, executor 1): IndexOutOfBoundsException: index 9 out of bounds for length 4"
	}
	t0 := time.Unix(0, 0)
	all := append([]events.Event{{Time: t0, Kind: events.ApplicationStart}}, evs...)
	for i := range all {
		if all[i].Time.IsZero() {
			all[i].Time = t0.Add(time.Duration(i) * 10 * time.Millisecond)
		}
	}
	o, err := observe(&cluster.Outcome{Result: res, Events: all, Logs: map[string][]string{
		"driver": {"2026-11-21 08:00:00.000 INFO  scheduler.DAGScheduler: Job 2 finished: collect, took 0.1 s"},
		"exec-1": {}, "exec-2": {},
	}}, oracle)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

var (
	hit = events.Event{Kind: events.FaultHit, Executor: 2, Name: string(fault.RegistrationOrder), Message: "permuted"}
	// inert is a fault point reached without effect (a sham, say).
	inert = events.Event{Kind: events.FaultNoEffect, Executor: 2, Name: string(fault.RegistrationOrder),
		Message: "configured, no effect: user types registered in a seeded permutation (seed 1), yet the registry equals the canonical one"}
	// registry hits carry their process's state: exec-2's registry differs
	// from the canonical one; the driver's and exec-1's may or may not.
	stateHit    = events.Event{Kind: events.FaultHit, Executor: 2, Name: string(fault.RegistrationMapOrder), Message: "map order: registry differs", State: "bbbb", Canonical: "aaaa"}
	driverSame  = events.Event{Kind: events.FaultHit, Role: "driver", Name: string(fault.RegistrationMapOrder), Message: "map order: registry differs", State: "bbbb", Canonical: "aaaa"}
	driverCanon = events.Event{Kind: events.FaultNoEffect, Role: "driver", Name: string(fault.RegistrationMapOrder), Message: "configured, no effect", State: "aaaa", Canonical: "aaaa"}
	exec1Same   = events.Event{Kind: events.FaultHit, Executor: 1, Name: string(fault.RegistrationMapOrder), Message: "map order: registry differs", State: "bbbb", Canonical: "aaaa"}
	// dataHit: the fault's effect reached a block.
	dataHit = events.Event{Kind: events.FaultHit, Executor: 1, Name: string(fault.RegistrationOrder), Block: "shuffle_0_1_0", Role: "task",
		Message: "block shuffle_0_1_0 from executor 2 was encoded with registry bbbb and is decoded by TID 7 with registry aaaa"}
	fired = events.Event{Kind: events.SafeguardFired, Executor: 2, Role: "driver", Name: string(safeguard.RegistryFingerprint),
		Message: "codec registry fingerprint a differs from the driver's b: first difference at id 6: driver has records.Click, executor 2 has records.Review"}
)

func testScenario() *Scenario {
	return &Scenario{
		Name: "t", Source: "seed", Symptom: "s", Workload: "w",
		Faults: fault.Set{{Point: fault.RegistrationOrder, Executors: []int{2}}},
		Catches: []Catch{{Safeguards: []safeguard.Name{safeguard.RegistryFingerprint}, Expect: Diagnose,
			Diagnosis: []string{"registry", "first difference at id"}}},
		Reproduce: func(o *Observation, ev *Evidence) error {
			if o.Correct {
				return errors.New("the job returned the right answer")
			}
			return nil
		},
	}
}

func TestJudge(t *testing.T) {
	sc := testScenario()
	ps, err := (&Options{}).plans(sc)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[result.CellKind]plan{}
	for _, p := range ps {
		byKind[p.kind] = p
	}
	right := map[string]int{"answer": 42}
	wrong := map[string]int{"answer": 41}
	for _, tc := range []struct {
		name     string
		kind     result.CellKind
		obs      func(t *testing.T) *Observation
		pass     bool
		problem  string // a phrase the first problem must contain
		caughtBy string
		verdict  result.Verdict // when set, the verdict expected (an inconclusive run)
	}{
		{"control correct", result.Control, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right) }, true, "", "", ""},
		{"control wrong output", result.Control, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, wrong, right) }, false, "output differs from the oracle", "", ""},
		{"control aborted", result.Control, func(t *testing.T) *Observation { return observation(t, driver.Aborted, nil, right) }, false, "job aborted", "", ""},
		{"reproduce shown", result.Reproduce, func(t *testing.T) *Observation { return observation(t, driver.Aborted, nil, right, hit) }, true, "", "", ""},
		{"reproduce fault never hit", result.Reproduce, func(t *testing.T) *Observation { return observation(t, driver.Aborted, nil, right) }, false, "never exercised", "", result.Fail},
		{"reproduce fault configured, no effect", result.Reproduce, func(t *testing.T) *Observation { return observation(t, driver.Aborted, nil, right, inert) }, false, "configured, no effect", "", result.Inconclusive},
		{"reproduce silently wrong, effect reached a block", result.Reproduce, func(t *testing.T) *Observation {
			return observation(t, driver.Succeeded, wrong, right, hit, dataHit)
		}, true, "", "", ""},
		{"reproduce silently wrong, nothing ties it to the fault", result.Reproduce, func(t *testing.T) *Observation {
			return observation(t, driver.Succeeded, wrong, right, hit)
		}, false, "nothing ties the wrong output to the fault", "", result.Fail},
		{"reproduce with registries that differ from the driver's", result.Reproduce, func(t *testing.T) *Observation {
			return observation(t, driver.Aborted, nil, right, driverCanon, stateHit)
		}, true, "", "", ""},
		{"reproduce with every registry alike", result.Reproduce, func(t *testing.T) *Observation {
			return observation(t, driver.Aborted, nil, right, driverSame, exec1Same, stateHit)
		}, false, "every process ended in the same state", "", result.Inconclusive},
		{"reproduce symptom absent", result.Reproduce, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, hit) }, false, "right answer", "", ""},
		{"catch diagnosed", result.Catch, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, hit, fired) }, true, "", "registry-fingerprint", ""},
		{"catch fault never hit", result.Catch, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, fired) }, false, "no fault point was hit", "", ""},
		{"catch fault configured, no effect", result.Catch, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, inert) }, false, "configured, no effect", "", result.Inconclusive},
		{"catch missed", result.Catch, func(t *testing.T) *Observation { return observation(t, driver.Aborted, nil, right, hit) }, false, "missed", "", ""},
		{"catch diagnosis names no cause", result.Catch, func(t *testing.T) *Observation {
			vague := fired
			vague.Message = "something went wrong"
			return observation(t, driver.Aborted, nil, right, hit, vague)
		}, false, "does not name the cause", "", ""},
		{"catch fired but output still wrong", result.Catch, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, wrong, right, hit, fired) }, false, "wrong output", "", ""},
		{"catch expects a diagnosis, job merely survived", result.Catch, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, hit) }, false, "expected a safeguard to fire", "", ""},
		{"no false alarm quiet", result.NoFalseAlarm, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right) }, true, "", "", ""},
		{"no false alarm fired", result.NoFalseAlarm, func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, fired) }, false, "fired without a fault", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r result.Run
			judge(sc, byKind[tc.kind], tc.obs(t), &r)
			if (r.Verdict == result.Pass) != tc.pass || r.Hit != tc.pass || tc.verdict != "" && r.Verdict != tc.verdict {
				t.Fatalf("verdict %s hit %v, want pass=%v; problems: %v", r.Verdict, r.Hit, tc.pass, r.Problems)
			}
			if tc.problem != "" && (len(r.Problems) == 0 || !strings.Contains(r.Problems[0], tc.problem)) {
				t.Errorf("problems %q, want one containing %q", r.Problems, tc.problem)
			}
			if r.CaughtBy != tc.caughtBy {
				t.Errorf("caught by %q, want %q", r.CaughtBy, tc.caughtBy)
			}
			if len(r.Evidence) == 0 && tc.pass {
				t.Error("a passing verdict without evidence")
			}
		})
	}
}

func TestPlans(t *testing.T) {
	sc := testScenario()
	sc.Catches = append(sc.Catches, Catch{Safeguards: []safeguard.Name{safeguard.ExecutorWideRegistry}, Expect: Survive})
	for _, tc := range []struct {
		name   string
		o      Options
		labels []string
		nfa    []string
	}{
		{"one catch cell per safeguard", Options{}, []string{"control", "reproduce", "catch-registry-fingerprint", "catch-executor-wide-registry", "no-false-alarm"},
			[]string{"registry-fingerprint", "executor-wide-registry"}},
		{"a profile replaces them", Options{Profile: "spark-3"}, []string{"control", "reproduce", "catch-registrator-fail-fast+executor-wide-registry+exclude-on-failure+output-op-validation", "no-false-alarm"},
			[]string{"registrator-fail-fast", "executor-wide-registry", "exclude-on-failure", "output-op-validation"}},
		{"spark-1.0 has nothing to catch with", Options{Profile: "spark-1.0"}, []string{"control", "reproduce", "catch", "no-false-alarm"}, nil},
		{"a switch on top of a profile", Options{Profile: "spark-1.0", Switches: map[safeguard.Name]bool{safeguard.RegistryFingerprint: true}},
			[]string{"control", "reproduce", "catch-registry-fingerprint", "no-false-alarm"}, []string{"registry-fingerprint"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := tc.o.plans(sc)
			if err != nil {
				t.Fatal(err)
			}
			var labels []string
			for _, p := range ps {
				labels = append(labels, p.label)
				if p.kind == result.Control && (len(p.faults) > 0 || len(p.set.Names()) > 0) {
					t.Error("control runs with a fault or a safeguard")
				}
				if p.kind == result.Reproduce && len(p.set.Names()) > 0 {
					t.Error("reproduce runs with a safeguard")
				}
				if p.kind == result.NoFalseAlarm {
					if len(p.faults) > 0 {
						t.Error("no-false-alarm runs with a fault")
					}
					if strings.Join(p.set.Names(), ",") != strings.Join(tc.nfa, ",") {
						t.Errorf("no-false-alarm safeguards %v, want %v", p.set.Names(), tc.nfa)
					}
				}
			}
			if strings.Join(labels, " ") != strings.Join(tc.labels, " ") {
				t.Errorf("cells %v, want %v", labels, tc.labels)
			}
		})
	}
}

// Extra cases run after the four cells, each with its own faults and
// safeguards, whatever the profile.
func TestPlansWithCases(t *testing.T) {
	sc := testScenario()
	sc.Cases = []Case{
		{Name: "slow", Faults: fault.Set{{Point: fault.NodeNetwork, Nodes: []string{"node-b"}}}, Safeguards: []safeguard.Name{safeguard.ExcludeOnFailure}},
		{Name: "refused", Refused: "will not be robust"},
	}
	for _, o := range []Options{{}, {Profile: "spark-1.0"}} {
		ps, err := o.plans(sc)
		if err != nil {
			t.Fatal(err)
		}
		last := ps[len(ps)-2:]
		if last[0].kind != result.Case || last[0].label != "case-slow" || last[0].cas != &sc.Cases[0] || len(last[0].faults) != 1 ||
			!last[0].set.On(safeguard.ExcludeOnFailure) {
			t.Errorf("plan %+v, want the case slow with its fault and safeguard", last[0])
		}
		if last[1].label != "case-refused" || len(last[1].faults) != 0 || len(last[1].set.Names()) != 0 {
			t.Errorf("plan %+v, want the case refused with nothing on", last[1])
		}
	}
	o := Options{Nodes: 2}
	sc.Cases[0].Faults[0].Nodes = []string{"node-c"}
	if err := o.check(sc); !errors.Is(err, ErrTopology) {
		t.Errorf("a case's fault on a missing node: %v, want ErrTopology", err)
	}
}

func TestCheckTopology(t *testing.T) {
	sc := testScenario()
	if err := (&Options{}).check(sc); err != nil {
		t.Errorf("default topology: %v", err)
	}
	for _, o := range []Options{{Nodes: 1}, {Nodes: 1, ExecutorsPerNode: 1}} {
		if err := o.check(sc); !errors.Is(err, ErrTopology) {
			t.Errorf("%+v: %v, want ErrTopology", o, err)
		}
	}
	if err := (&Options{Nodes: 1, ExecutorsPerNode: 2}).check(sc); err != nil {
		t.Errorf("two executors on one node: %v", err)
	}
}

// TestJudgeSurvive: a survive catch is credited only when the fault had an
// effect in the run and the output is correct.
func TestJudgeSurvive(t *testing.T) {
	sc := testScenario()
	sc.Catches = append(sc.Catches, Catch{Safeguards: []safeguard.Name{safeguard.ExecutorWideRegistry}, Expect: Survive})
	ps, err := (&Options{}).plans(sc)
	if err != nil {
		t.Fatal(err)
	}
	var p plan
	for _, q := range ps {
		if q.label == "catch-executor-wide-registry" {
			p = q
		}
	}
	right := map[string]int{"answer": 42}
	wrong := map[string]int{"answer": 41}
	for _, tc := range []struct {
		name     string
		obs      func(t *testing.T) *Observation
		verdict  result.Verdict
		caughtBy string
	}{
		{"effect, correct output", func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, hit) }, result.Pass, "executor-wide-registry"},
		{"no effect, correct output", func(t *testing.T) *Observation { return observation(t, driver.Succeeded, right, right, inert) }, result.Inconclusive, ""},
		{"registries all alike, correct output", func(t *testing.T) *Observation {
			return observation(t, driver.Succeeded, right, right, driverSame, exec1Same, stateHit)
		}, result.Inconclusive, ""},
		{"effect, wrong output", func(t *testing.T) *Observation { return observation(t, driver.Succeeded, wrong, right, hit) }, result.Fail, ""},
		{"effect, job aborted", func(t *testing.T) *Observation { return observation(t, driver.Aborted, nil, right, hit) }, result.Fail, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r result.Run
			judge(sc, p, tc.obs(t), &r)
			if r.Verdict != tc.verdict || r.CaughtBy != tc.caughtBy {
				t.Errorf("verdict %s caught by %q, want %s and %q; problems %v", r.Verdict, r.CaughtBy, tc.verdict, tc.caughtBy, r.Problems)
			}
		})
	}
}

// TestAggregateNoEffect: a run whose fault had no effect makes a cell
// inconclusive; for a probabilistic fault it is a run where the fault did not
// show, and the cell is inconclusive only when no run had an effect.
func TestAggregateNoEffect(t *testing.T) {
	pass := result.Run{Verdict: result.Pass, Hit: true}
	fail := result.Run{Verdict: result.Fail, Problems: []string{"missed"}}
	inert := result.Run{Verdict: result.Inconclusive, NoEffect: true, Problems: []string{"configured, no effect"}}
	broken := result.Run{Verdict: result.Inconclusive, Problems: []string{"start cluster: boom"}}
	for _, tc := range []struct {
		name          string
		probabilistic bool
		kind          result.CellKind
		runs          []result.Run
		want          result.Verdict
	}{
		{"deterministic catch, one run without effect", false, result.Catch, []result.Run{pass, inert}, result.Inconclusive},
		{"deterministic reproduce without effect", false, result.Reproduce, []result.Run{inert}, result.Inconclusive},
		{"probabilistic reproduce, a hit among runs without effect", true, result.Reproduce, []result.Run{inert, pass, fail}, result.Pass},
		{"probabilistic reproduce, no run with effect", true, result.Reproduce, []result.Run{inert, inert}, result.Inconclusive},
		{"probabilistic catch, every run with effect caught", true, result.Catch, []result.Run{pass, inert, pass}, result.Pass},
		{"probabilistic catch, a run with effect missed", true, result.Catch, []result.Run{pass, fail, inert}, result.Fail},
		{"probabilistic catch, no run with effect", true, result.Catch, []result.Run{inert, inert}, result.Inconclusive},
		{"probabilistic catch, a run that could not be carried out", true, result.Catch, []result.Run{pass, broken}, result.Inconclusive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := testScenario()
			sc.Probabilistic = tc.probabilistic
			c := result.Cell{Cell: tc.kind, Runs: len(tc.runs)}
			for i := range tc.runs {
				tc.runs[i].Index = i
				if tc.runs[i].Hit {
					c.Hits++
				}
			}
			if got := aggregate(sc, plan{kind: tc.kind}, tc.runs, &c); got != tc.want {
				t.Errorf("verdict %s, want %s; problems %v", got, tc.want, c.Problems)
			}
		})
	}
}
