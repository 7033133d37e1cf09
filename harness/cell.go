package harness

import (
	"context"
	"fmt"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
)

// maxLogLines bounds each process's log kept in a result.
const maxLogLines = 300

// runCell runs a cell p.runs times and aggregates: Hits counts runs that showed
// what the cell looks for; the representative run (the first hit for reproduce,
// the first failing run otherwise) supplies evidence, timeline and logs.
func runCell(ctx context.Context, sc *Scenario, p plan, o *Options, sem chan struct{}) result.Cell {
	c := result.Cell{Cell: p.kind, Safeguards: nonNil(p.set.Names()), Faults: nonNil(p.faults.Labels()), Profile: o.Profile}
	if p.kind == result.Catch {
		c.Observed = "catch with " + catchSetting(p, o)
		if p.catch != nil && p.catch.UserFix != "" {
			c.UserFix = p.catch.UserFix
			c.Observed = "catch with a fix in user code: " + p.catch.UserFix
		}
	}
	if p.cas != nil {
		c.Case = p.cas.Name
		if p.cas.DockerOnly && o.Docker == nil {
			c.Verdict = result.Skipped
			c.Observed = "not applicable to the process runtime"
			c.Problems = []string{fmt.Sprintf("%s needs each node to be a host of its own (--runtime docker): processes of one host share its network", strings.Join(p.faults.Labels(), ", "))}
			return c
		}
	}
	var (
		runs            []result.Run
		repIdx          = -1
		total, detected int64
		nDetected       int
		reps            = map[int]*cluster.Outcome{}
	)
	for i := 0; i < p.runs; i++ {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		if o.Progress != nil {
			o.Progress(Progress{Scenario: sc.Name, Cell: p.label, Run: i + 1, Runs: p.runs})
		}
		r, obs, out := runOnce(ctx, sc, p, o, i)
		<-sem
		if o.Progress != nil {
			o.Progress(Progress{Scenario: sc.Name, Cell: p.label, Run: i + 1, Runs: p.runs, Done: true, Verdict: r.Verdict, Message: firstOr(r.Problems, "")})
		}
		runs = append(runs, r)
		// Only a run that can be the representative keeps its outcome (its
		// logs and events): the first, the first to qualify, the first
		// without effect. A cell of many runs would otherwise hold every
		// run's logs to the end.
		if i == 0 || (repIdx < 0 && qualifies(p, r)) || (r.NoEffect && !sc.Probabilistic && !anyNoEffect(runs[:i])) {
			reps[i] = out
		}
		total += r.DurationMs
		if r.Hit {
			c.Hits++
			if obs != nil {
				if ms := detectionMs(obs); ms >= 0 && r.CaughtBy != "" {
					detected += ms
					nDetected++
				}
			}
		}
		if repIdx < 0 && qualifies(p, r) {
			repIdx = i
		}
	}
	c.Runs = len(runs)
	if c.Runs == 0 {
		c.Verdict = result.Inconclusive
		c.Problems = []string{"interrupted before any run"}
		return c
	}
	if repIdx < 0 {
		repIdx = 0
		for i, r := range runs {
			if r.NoEffect && !sc.Probabilistic {
				repIdx = i // the run that makes the cell inconclusive
				break
			}
		}
	}
	rep := runs[repIdx]
	c.Evidence, c.RunDir, c.CaughtBy = rep.Evidence, rep.RunDir, rep.CaughtBy
	if p.kind == result.Reproduce || p.kind == result.Case {
		c.Observed = rep.Observed
	}
	c.DurationMs = total / int64(c.Runs)
	if nDetected > 0 {
		c.DetectionMs = detected / int64(nDetected)
	}
	iv := Wilson(c.Hits, c.Runs)
	c.Rate = &iv
	if out := reps[repIdx]; out != nil {
		c.Timeline = timelineOf(out, p)
		c.Logs = logsOf(out)
	}
	c.Verdict = aggregate(sc, p, runs, &c)
	if c.Verdict != result.Pass {
		c.CaughtBy = "" // a catch cell that did not pass caught nothing
	} else if c.CaughtBy == "" {
		for _, r := range runs {
			if r.CaughtBy != "" {
				c.CaughtBy = r.CaughtBy
				break
			}
		}
	}
	if c.Runs > 1 {
		c.Repeats = runs
	}
	if p.kind != result.Catch {
		c.Observed = observedOf(p.kind, c)
	} else if c.CaughtBy != "" {
		c.Observed += fmt.Sprintf(": caught by %s", c.CaughtBy)
	}
	if n := noEffect(runs); n > 0 && n < c.Runs {
		c.Observed += fmt.Sprintf("; the fault had no effect in %d of %d runs", n, c.Runs)
	}
	return c
}

// qualifies says whether a run represents its cell: for reproduce, a run
// that showed the symptom; for the others, a run that did not pass for a
// reason other than a fault without effect.
func qualifies(p plan, r result.Run) bool {
	if p.kind == result.Reproduce {
		return r.Hit
	}
	return r.Verdict != result.Pass && !r.NoEffect
}

func anyNoEffect(runs []result.Run) bool {
	for _, r := range runs {
		if r.NoEffect {
			return true
		}
	}
	return false
}

// noEffect counts the runs whose fault was configured without effect.
func noEffect(runs []result.Run) int {
	n := 0
	for _, r := range runs {
		if r.NoEffect {
			n++
		}
	}
	return n
}

// aggregate decides a cell from its runs. Any inconclusive run makes the cell
// inconclusive, except that a probabilistic fault's runs without effect are
// runs where the fault did not show: they count as misses in the reproduce
// rate, are left out of a catch cell's verdict, and make the cell inconclusive
// only when no run had an effect.
func aggregate(sc *Scenario, p plan, runs []result.Run, c *result.Cell) result.Verdict {
	inconclusive, effective := 0, 0
	for _, r := range runs {
		if r.Verdict == result.Inconclusive && !(sc.Probabilistic && r.NoEffect) {
			inconclusive++
			c.Problems = append(c.Problems, fmt.Sprintf("run %d: %s", r.Index+1, firstOr(r.Problems, "inconclusive")))
		}
		if !r.NoEffect {
			effective++
		}
	}
	if inconclusive > 0 {
		return result.Inconclusive
	}
	if effective == 0 {
		c.Problems = append(c.Problems, fmt.Sprintf("the fault had no effect in any of %d runs: %s", len(runs), firstOr(runs[0].Problems, "configured, no effect")))
		return result.Inconclusive
	}
	if p.kind == result.Reproduce && sc.Probabilistic {
		if c.Hits > 0 {
			return result.Pass
		}
		c.Problems = append(c.Problems, fmt.Sprintf("the symptom showed in none of %d runs", c.Runs))
		for _, r := range runs {
			c.Problems = append(c.Problems, r.Problems...)
		}
		return result.Fail
	}
	for _, r := range runs {
		if r.Verdict != result.Pass && !r.NoEffect {
			for _, pr := range r.Problems {
				c.Problems = append(c.Problems, fmt.Sprintf("run %d: %s", r.Index+1, pr))
			}
		}
	}
	if c.Hits == effective {
		return result.Pass
	}
	return result.Fail
}

// catchSetting names what a catch cell switched on: its safeguards, and the
// profile they came from when one was chosen.
func catchSetting(p plan, o *Options) string {
	names := strings.Join(p.set.Names(), "+")
	if names == "" {
		names = "no safeguard"
	}
	if o.Profile != "" {
		return o.Profile + " (" + names + ")"
	}
	return names
}

func observedOf(kind result.CellKind, c result.Cell) string {
	switch kind {
	case result.Reproduce:
		if c.Observed != "" {
			return fmt.Sprintf("%s (symptom in %d/%d runs)", c.Observed, c.Hits, c.Runs)
		}
		return fmt.Sprintf("symptom reproduced in %d/%d runs", c.Hits, c.Runs)
	case result.Control, result.NoFalseAlarm:
		return fmt.Sprintf("correct output in %d/%d runs", c.Hits, c.Runs)
	case result.Case:
		if c.Observed != "" {
			return fmt.Sprintf("%s (as expected in %d/%d runs)", c.Observed, c.Hits, c.Runs)
		}
		return fmt.Sprintf("as expected in %d/%d runs", c.Hits, c.Runs)
	}
	return ""
}

// logsOf keeps each process's log, the newest maxLogLines lines of it.
func logsOf(out *cluster.Outcome) []result.NodeLog {
	var logs []result.NodeLog
	o := &Observation{Outcome: out}
	for _, s := range append(o.Sources(), o.WorkerSources()...) {
		lines := out.Logs[s]
		nl := result.NodeLog{Source: s, Lines: lines}
		if len(lines) > maxLogLines {
			nl.Lines, nl.Truncated = lines[len(lines)-maxLogLines:], true
		}
		logs = append(logs, nl)
	}
	return logs
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
