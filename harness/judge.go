package harness

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/events"
)

var (
	reJobFinished = regexp.MustCompile(`Job \d+ finished`)
	reAbort       = regexp.MustCompile(`Job aborted`)
)

// judge fills a run's verdict, hit, evidence and problems from an observation.
// A reproduce or catch run whose fault had no effect is inconclusive: it
// proves nothing either way, and is never a pass.
func judge(sc *Scenario, p plan, o *Observation, r *result.Run) {
	var ev Evidence
	var problems []string
	inconclusive := false
	switch p.kind {
	case result.Control, result.NoFalseAlarm:
		problems = judgeCorrect(o, &ev)
		if p.kind == result.NoFalseAlarm {
			for _, f := range o.Fired() {
				problems = append(problems, fmt.Sprintf("safeguard %s fired without a fault: %s", f.Name, f.Message))
				ev.Add(source(f), f.Message)
			}
			for _, x := range o.Events(events.Exclusions...) {
				problems = append(problems, "excluded without a fault: "+x.Message)
				ev.Add("driver", x.Message)
			}
		}
	case result.Reproduce, result.Catch:
		effect, why := o.Effect()
		switch {
		case len(effect) > 0:
			h := effect[0]
			ev.Addf("fault %s hit on %s: %s", h.Name, source(h), h.Message)
			if p.kind == result.Reproduce {
				problems = judgeReproduce(sc, o, &ev)
			} else {
				problems = judgeCatch(sc, p, o, &ev, r)
				if p.catch != nil && p.catch.Check != nil && len(problems) == 0 {
					if err := p.catch.Check(o, &ev); err != nil {
						problems = append(problems, err.Error())
					}
				}
			}
		case why != "":
			inconclusive, r.NoEffect = true, true
			problems = []string{why}
			ev.Addf("%s", why)
			ev.Observe("fault %s configured, no effect", strings.Join(p.faults.Labels(), ", "))
		default:
			problems = []string{"no fault point was hit: the fault " + strings.Join(p.faults.Labels(), ", ") + " was configured but never exercised, so the run proves nothing"}
		}
	case result.Case:
		if err := p.cas.Check(o, &ev); err != nil {
			problems = append(problems, err.Error())
		}
	}
	r.Hit = len(problems) == 0
	r.Evidence = ev.Lines()
	r.Observed = ev.observed
	r.Problems = problems
	switch {
	case inconclusive:
		r.Verdict = result.Inconclusive
	case len(problems) == 0:
		r.Verdict = result.Pass
	default:
		r.Verdict = result.Fail
	}
	if r.Verdict != result.Pass {
		r.CaughtBy = "" // credit only for a catch that was earned
	}
}

// judgeReproduce applies the scenario's symptom check, and ties silently wrong
// output to the fault: it counts only when a hit shows the fault's effect
// reached the data.
func judgeReproduce(sc *Scenario, o *Observation, ev *Evidence) []string {
	if err := sc.Reproduce(o, ev); err != nil {
		return []string{"documented symptom not shown: " + err.Error()}
	}
	if problems := judgeSignature(sc, o, ev); len(problems) > 0 {
		return problems
	}
	if o.Correct || o.Result == nil || o.Aborted() {
		return nil
	}
	data := o.DataHits()
	if len(data) == 0 {
		return []string{"the output is silently wrong, but no fault hit shows the fault's effect reached the data: nothing ties the wrong output to the fault"}
	}
	ev.Add(source(data[0]), data[0].Message)
	ev.Addf("the fault's effect reached %s, and the output came out wrong", data[0].Block)
	return nil
}

// judgeCorrect checks the job succeeded with the oracle's output.
func judgeCorrect(o *Observation, ev *Evidence) []string {
	switch {
	case o.Correct:
		ev.First(o, "driver", reJobFinished)
		ev.Addf("output equals the oracle's (%d bytes of JSON)", len(o.Result.Output))
		return nil
	case o.Aborted():
		ev.Add("driver", o.Result.Error)
		return []string{"job aborted: " + firstLine(o.Result.Error)}
	default:
		ev.Addf("output differs from the oracle: %s", firstLine(o.Diff))
		return []string{"output differs from the oracle: " + firstLine(o.Diff)}
	}
}

// judgeCatch: given a fault that had an effect in the run, either a safeguard
// of the cell fired with a diagnosis naming the cause, or the job completed
// correctly; a silently wrong answer is never a catch.
func judgeCatch(sc *Scenario, p plan, o *Observation, ev *Evidence, r *result.Run) []string {
	var problems []string
	var fired []events.Event
	for _, f := range o.Fired() {
		if p.set.On(safeguardName(f.Name)) {
			fired = append(fired, f)
		}
	}
	expect := p.catch.Expect
	switch {
	case len(fired) > 0:
		f := fired[0]
		r.CaughtBy = f.Name
		ev.Add(source(f), f.Message)
		if line := o.Grep("driver", regexp.MustCompile(regexp.QuoteMeta(trimTo(f.Message, 60)))); len(line) > 0 {
			ev.Add("driver", line[0])
		}
		want := diagnosisFor(sc, p, f.Name)
		for _, phrase := range want {
			if !strings.Contains(f.Message, phrase) {
				problems = append(problems, fmt.Sprintf("safeguard %s fired but its diagnosis does not name the cause (no %q): %s", f.Name, phrase, f.Message))
			}
		}
		switch {
		case o.Aborted():
			ev.First(o, "driver", reAbort)
		case o.Result != nil && !o.Correct:
			problems = append(problems, "safeguard fired but the job still returned wrong output: "+firstLine(o.Diff))
		default:
			ev.Addf("job completed correctly without the refused part")
		}
		if expect == Survive && !o.Correct {
			problems = append(problems, "expected the job to complete correctly; it was stopped instead")
		}
	case o.Correct:
		if expect == Diagnose {
			problems = append(problems, "expected a safeguard to fire with a diagnosis; the job completed without one")
		}
		r.CaughtBy = strings.Join(p.set.Names(), "+")
		for _, x := range o.Events(events.Exclusions...) {
			ev.Add("driver", x.Message)
		}
		if p.catch != nil && p.catch.UserFix != "" {
			r.CaughtBy = UserFixLabel
		}
		ev.First(o, "driver", reJobFinished)
		ev.Addf("job completed with the oracle's output despite the fault")
	default:
		problems = append(problems, "missed: the fault went through with no safeguard firing")
		if o.Aborted() {
			ev.Add("driver", firstLine(o.Result.Error))
			ev.Observe("%s", firstLine(o.Result.Error))
		} else if o.Diff != "" {
			ev.Addf("output differs from the oracle: %s", firstLine(o.Diff))
			ev.Observe("silently wrong output: %s", firstLine(o.Diff))
		}
	}
	return problems
}

func diagnosisFor(sc *Scenario, p plan, fired string) []string {
	if len(p.catch.Diagnosis) > 0 {
		return p.catch.Diagnosis
	}
	for _, c := range sc.Catches {
		if slices.Contains(c.Safeguards, safeguardName(fired)) {
			return c.Diagnosis
		}
	}
	return nil
}

// detectionMs is the time from application start to the first safeguard
// firing; for a restarted driver, from the start of the driver that fired.
func detectionMs(o *Observation) int64 {
	fired := o.Fired()
	if len(fired) == 0 {
		return -1
	}
	var start *events.Event
	for _, s := range o.Events(events.ApplicationStart) {
		if !s.Time.After(fired[0].Time) {
			start = &s
		}
	}
	if start == nil {
		return -1
	}
	return fired[0].Time.Sub(start.Time).Milliseconds()
}

func source(e events.Event) string {
	if e.Role == "network" {
		return "network"
	}
	if e.Role == "store" || e.Role == "harness" {
		return e.Role
	}
	if e.Role == "driver" || e.Executor == 0 {
		return "driver"
	}
	return fmt.Sprintf("exec-%d", e.Executor)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

func trimTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
