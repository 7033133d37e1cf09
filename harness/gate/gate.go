// Package gate is the CI regression gate: it compares a run's results with a
// committed baseline and lists every way the run got worse — a cell that no
// longer passes, a safeguard that no longer catches its failure, a symptom that
// no longer reproduces, a rate or a detection latency that moved beyond chance
// or tolerance, a matrix cell that went from caught to missed.
//
// The gate compares typed results, never log text, so a reworded message does
// not fail CI and a changed verdict always does. It reads harness/result only.
//
// What this run could not judge is kept apart from what it judged worse. A
// matrix cell whose fault had no effect in this run (not-judged: a slowdown
// that did not set in at this machine's pace, a fault of chance that did not
// strike) and a cell skipped because this run's runtime cannot run it, where
// the baseline ran under another, say nothing of the safeguards: NotJudged
// lists them, and Compare does not. They are no regression, but neither are
// they checked: the command prints each, says so in its verdict line, and
// with --require-judged counts them as regressions. A cell that becomes
// inconclusive, or skipped under the baseline's own runtime, is still a
// regression: nothing in the run's environment explains it.
package gate

import (
	"fmt"
	"slices"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
)

// Defaults of Tolerance.
const (
	DefaultDetectionGrowthPct = 50
	DefaultDetectionSlackMs   = 250
)

// Tolerance says how much a measured quantity may drift before it is a
// regression. The zero value means the defaults.
type Tolerance struct {
	// DetectionGrowthPct is how much a catch's detection latency may grow, in
	// percent of the baseline's. Zero means DefaultDetectionGrowthPct (50);
	// a negative value allows no growth.
	DetectionGrowthPct float64
	// DetectionSlackMs is added to the allowed latency so that small latencies,
	// where scheduling noise is a large share, do not flap. Zero means
	// DefaultDetectionSlackMs (250); a negative value means no slack.
	DetectionSlackMs int64
}

func (t Tolerance) withDefaults() Tolerance {
	switch {
	case t.DetectionGrowthPct == 0:
		t.DetectionGrowthPct = DefaultDetectionGrowthPct
	case t.DetectionGrowthPct < 0:
		t.DetectionGrowthPct = 0
	}
	switch {
	case t.DetectionSlackMs == 0:
		t.DetectionSlackMs = DefaultDetectionSlackMs
	case t.DetectionSlackMs < 0:
		t.DetectionSlackMs = 0
	}
	return t
}

// detectionLimit is the largest latency that is not a regression.
func (t Tolerance) detectionLimit(was int64) float64 {
	return float64(was)*(1+t.DetectionGrowthPct/100) + float64(t.DetectionSlackMs)
}

// Kinds of Regression.
const (
	// KindVerdict: a cell that passed no longer does (it failed or was
	// inconclusive: the gate cannot vouch for what it could not check).
	KindVerdict = "verdict"
	// KindCaughtBy: a catch cell's safeguard changed or nothing fired.
	KindCaughtBy = "caught-by"
	// KindReproductionLost: the documented symptom no longer appears at all.
	KindReproductionLost = "reproduction-lost"
	// KindRate: the rate's 95% interval is now entirely below the baseline's.
	KindRate = "rate"
	// KindDetectionLatency: a catch took longer than the tolerance allows.
	KindDetectionLatency = "detection-latency"
	// KindMissing: a scenario, cell, matrix or matrix cell of the baseline is
	// absent from the current results.
	KindMissing = "missing"
	// KindMatrix: a matrix cell that was caught or survived is now missed or
	// could not be run.
	KindMatrix = "matrix"
	// KindNotJudged: a cell or matrix cell the baseline judged that this run
	// could not judge, for a reason the run shows (see NotJudged). Compare
	// never returns it.
	KindNotJudged = "not-judged"
)

// Regression is one way the current results are worse than the baseline.
type Regression struct {
	Scenario string
	// Cell is the cell concerned; empty for a whole scenario and for the matrix.
	Cell result.CellKind
	// Where names the cell among several of its kind ("catch[registry-fingerprint]").
	Where string
	// Column is the matrix column, for matrix regressions; empty otherwise.
	Column string
	// Kind is one of the Kind constants.
	Kind string
	// Was and Now are the compared values as short text (a verdict, a safeguard,
	// "7/10", a latency); Now is empty when the value is gone.
	Was, Now string
	// Detail says what changed in words, for people reading a CI log.
	Detail string
}

// String is the regression on one line, e.g.
// "registration-order/catch: safeguard registry-fingerprint caught before, now missed (verdict pass → fail)".
func (r Regression) String() string {
	where := r.Scenario
	switch {
	case r.Column != "":
		where += "@" + r.Column
	case r.Where != "":
		where += "/" + r.Where
	case r.Cell != "":
		where += "/" + string(r.Cell)
	}
	if where == "" {
		where = "results"
	}
	if r.Detail != "" {
		return where + ": " + r.Detail
	}
	return fmt.Sprintf("%s: %s %s → %s", where, r.Kind, orNone(r.Was), orNone(r.Now))
}

// Compare lists the regressions of current against baseline, in the order of
// the baseline's scenarios, cells and matrix. Identical results give none.
//
// When one change explains another, only the more specific is reported: a
// catch cell whose safeguard stopped firing is a caught-by regression that
// mentions the verdict, not also a verdict one; a lost reproduction is not also
// a rate regression.
func Compare(baseline, current *result.Results, tol Tolerance) []Regression {
	regs, _ := compare(baseline, current, tol)
	return regs
}

// NotJudged lists, in the order Compare would, what the baseline judged and
// this run did not judge for a reason it shows: a case skipped because this
// run's runtime cannot run it while the baseline ran under another (the
// process runtime skips what needs each node to be a host), and a matrix
// cell whose fault had no effect in this run. None is a regression of the
// safeguards; none is checked either. Each has Kind KindNotJudged.
func NotJudged(baseline, current *result.Results) []Regression {
	_, notJudged := compare(baseline, current, Tolerance{})
	return notJudged
}

// compare walks the baseline's cells and matrix cells against the current
// run's once, and sorts each pair into the regressions (Compare) or what this
// run did not judge (NotJudged), so that no pair is counted by both or by
// neither.
func compare(baseline, current *result.Results, tol Tolerance) (regs, notJudged []Regression) {
	tol = tol.withDefaults()
	_, rtNow := runtimes(baseline, current)
	for i := range baseline.Scenarios {
		bs := &baseline.Scenarios[i]
		cs := findScenario(current, bs.Name)
		if cs == nil {
			regs = append(regs, Regression{Scenario: bs.Name, Kind: KindMissing, Was: string(bs.Verdict),
				Detail: fmt.Sprintf("scenario missing from the current results (was %s)", orNone(string(bs.Verdict)))})
			continue
		}
		for j := range bs.Cells {
			was := &bs.Cells[j]
			now := findCell(cs, was)
			if !skippedForRuntime(baseline, current, was, now) {
				regs = append(regs, compareCell(bs.Name, was, now, cs.Error, tol)...)
				continue
			}
			detail := fmt.Sprintf("%s before, now skipped under --runtime %s", was.Verdict, rtNow)
			if len(now.Problems) > 0 {
				detail += ": " + now.Problems[0]
			}
			notJudged = append(notJudged, Regression{Scenario: bs.Name, Cell: was.Cell, Where: cellWhere(was), Kind: KindNotJudged,
				Was: string(was.Verdict), Now: string(now.Verdict), Detail: detail})
		}
	}
	mregs, mnot := compareMatrix(baseline.Matrix, current.Matrix)
	return append(regs, mregs...), append(notJudged, mnot...)
}

// skippedForRuntime reports whether a cell the baseline judged is skipped
// in the current run while the two ran under different runtimes: the
// runtime explains the skip.
func skippedForRuntime(baseline, current *result.Results, was, now *result.Cell) bool {
	rtWas, rtNow := runtimes(baseline, current)
	return now != nil && now.Verdict == result.Skipped && (was.Verdict == result.Pass || was.Verdict == result.Fail) && rtWas != rtNow
}

func runtimes(baseline, current *result.Results) (was, now result.Runtime) {
	was, _ = baseline.Env()
	now, _ = current.Env()
	return was, now
}

// Environment says, one line each, how the current run's environment
// differs from the baseline's in what decides which cells can run, and what
// that means for the comparison; nothing when they agree. A file that
// records no environment ran under the defaults (the process runtime, the
// embedded store).
func Environment(baseline, current *result.Results) []string {
	rtWas, stWas := baseline.Env()
	rtNow, stNow := current.Env()
	var out []string
	if rtWas != rtNow {
		line := fmt.Sprintf("baseline ran under --runtime %s, this run under --runtime %s: ", rtWas, rtNow)
		if rtNow == result.RuntimeProcess {
			line += fmt.Sprintf("cells that need docker are skipped here, not judged (run the gate with --runtime %s to judge them)", rtWas)
		} else {
			line += "cells the baseline skipped for needing docker run here"
		}
		out = append(out, line)
	}
	if stWas != stNow {
		line := fmt.Sprintf("baseline checkpointed to the %s store, this run to the %s one: ", stWas, stNow)
		if stNow == result.StoreExternal {
			line += "store faults cannot reach it here"
		} else {
			line += "store faults reach it here and did not in the baseline"
		}
		out = append(out, line)
	}
	return out
}

func compareCell(scenario string, was, now *result.Cell, scenarioErr string, tol Tolerance) []Regression {
	reg := func(kind, w, n, detail string) Regression {
		return Regression{Scenario: scenario, Cell: was.Cell, Where: cellWhere(was), Kind: kind, Was: w, Now: n, Detail: detail}
	}
	if now == nil {
		detail := fmt.Sprintf("cell missing from the current results (was %s)", orNone(string(was.Verdict)))
		if scenarioErr != "" {
			detail += ": scenario could not run: " + scenarioErr
		}
		return []Regression{reg(KindMissing, string(was.Verdict), "", detail)}
	}
	var out []Regression
	verdictLost := was.Verdict == result.Pass && now.Verdict != result.Pass
	verdictNote := ""
	if was.Verdict != now.Verdict {
		verdictNote = fmt.Sprintf(" (verdict %s → %s)", orNone(string(was.Verdict)), orNone(string(now.Verdict)))
	}
	explained := false
	if was.Cell == result.Catch && was.CaughtBy != "" && now.CaughtBy != was.CaughtBy {
		out = append(out, reg(KindCaughtBy, was.CaughtBy, now.CaughtBy,
			fmt.Sprintf("safeguard %s caught before, now %s%s", was.CaughtBy, catchNow(now), verdictNote)))
		explained = true
	}
	lost := was.Cell == result.Reproduce && was.Hits > 0 && now.Hits == 0 && now.Runs > 0
	if lost {
		out = append(out, reg(KindReproductionLost, hits(was), hits(now),
			fmt.Sprintf("documented symptom reproduced in %s runs before, now in none of %d%s", hits(was), now.Runs, verdictNote)))
		explained = true
	}
	if verdictLost && !explained {
		detail := "verdict " + string(was.Verdict) + " → " + orNone(string(now.Verdict))
		if len(now.Problems) > 0 {
			detail += ": " + now.Problems[0]
		}
		out = append(out, reg(KindVerdict, string(was.Verdict), string(now.Verdict), detail))
	}
	if !lost && was.Rate != nil && now.Rate != nil && now.Rate.Hi < was.Rate.Lo {
		out = append(out, reg(KindRate, rate(was), rate(now),
			fmt.Sprintf("rate %s before, now %s: the 95%% intervals no longer overlap", rate(was), rate(now))))
	}
	if was.Cell == result.Catch && was.DetectionMs > 0 && now.DetectionMs > 0 {
		if limit := tol.detectionLimit(was.DetectionMs); float64(now.DetectionMs) > limit {
			out = append(out, reg(KindDetectionLatency, ms(was.DetectionMs), ms(now.DetectionMs),
				fmt.Sprintf("detection took %s before, now %s (limit %s: +%g%% and %dms slack)",
					ms(was.DetectionMs), ms(now.DetectionMs), ms(int64(limit)), tol.DetectionGrowthPct, tol.DetectionSlackMs)))
		}
	}
	return out
}

// catchNow says what a catch cell did instead of its baseline's safeguard.
func catchNow(c *result.Cell) string {
	switch {
	case c.CaughtBy != "":
		return c.CaughtBy + " caught it"
	case c.Verdict == result.Pass:
		return "nothing fired and the job survived"
	case c.Verdict == result.Inconclusive:
		return "inconclusive"
	}
	return "missed"
}

// compareMatrix sorts the baseline's matrix cells against the current ones
// as compare sorts cells: a missing or newly harmful outcome is a regression,
// a cell the baseline judged and this run could not is not judged.
func compareMatrix(was, now *result.Matrix) (regs, notJudged []Regression) {
	if was == nil {
		return nil, nil
	}
	if now == nil {
		return []Regression{{Kind: KindMissing, Detail: "matrix missing from the current results"}}, nil
	}
	for i := range was.Rows {
		wr := &was.Rows[i]
		nr := findRow(now, wr.Scenario)
		for j := range wr.Cells {
			wc := &wr.Cells[j]
			var nc *result.MatrixCell
			if nr != nil {
				nc = findMatrixCell(nr, wc.Column)
			}
			reg := Regression{Scenario: wr.Scenario, Column: wc.Column, Was: string(wc.Outcome)}
			switch {
			case nc == nil:
				reg.Kind = KindMissing
				reg.Detail = fmt.Sprintf("matrix cell missing from the current results (was %s)", outcome(wc))
			case nc.Outcome == result.NotJudged:
				if judged(wc.Outcome) {
					reg.Kind, reg.Now = KindNotJudged, string(nc.Outcome)
					reg.Detail = fmt.Sprintf("%s before, now not judged: %s", outcome(wc), orNone(nc.Detail))
					notJudged = append(notJudged, reg)
				}
				continue
			case good(wc.Outcome) && !good(nc.Outcome):
				reg.Kind, reg.Now = KindMatrix, string(nc.Outcome)
				reg.Detail = fmt.Sprintf("%s before, now %s", outcome(wc), outcome(nc))
			default:
				continue
			}
			regs = append(regs, reg)
		}
	}
	return regs, notJudged
}

// good is an outcome where the failure did no harm.
func good(o result.Outcome) bool { return o == result.Caught || o == result.Survived }

// judged is an outcome that says something of the configuration.
func judged(o result.Outcome) bool { return good(o) || o == result.Missed }

func outcome(c *result.MatrixCell) string {
	s := string(c.Outcome)
	if c.CaughtBy != "" {
		s += " by " + c.CaughtBy
	}
	if c.Detail != "" && !good(c.Outcome) {
		s += " (" + c.Detail + ")"
	}
	return s
}

func findScenario(r *result.Results, name string) *result.Scenario {
	for i := range r.Scenarios {
		if r.Scenarios[i].Name == name {
			return &r.Scenarios[i]
		}
	}
	return nil
}

// findCell finds the cell of s that stands where like stood: same kind and,
// for catch cells (a scenario may judge several safeguards), same safeguards.
func findCell(s *result.Scenario, like *result.Cell) *result.Cell {
	for i := range s.Cells {
		if c := &s.Cells[i]; c.Cell == like.Cell && c.Case == like.Case && (c.Cell != result.Catch || slices.Equal(c.Safeguards, like.Safeguards)) {
			return c
		}
	}
	return nil
}

// cellWhere names a cell in a message: "catch[registry-fingerprint]" for a
// catch cell, its kind otherwise.
func cellWhere(c *result.Cell) string {
	if c.Cell == result.Catch && len(c.Safeguards) > 0 {
		return "catch[" + strings.Join(c.Safeguards, "+") + "]"
	}
	if c.Case != "" {
		return "case[" + c.Case + "]"
	}
	return string(c.Cell)
}

func findRow(m *result.Matrix, scenario string) *result.MatrixRow {
	for i := range m.Rows {
		if m.Rows[i].Scenario == scenario {
			return &m.Rows[i]
		}
	}
	return nil
}

func findMatrixCell(r *result.MatrixRow, column string) *result.MatrixCell {
	for i := range r.Cells {
		if r.Cells[i].Column == column {
			return &r.Cells[i]
		}
	}
	return nil
}

func hits(c *result.Cell) string { return fmt.Sprintf("%d/%d", c.Hits, c.Runs) }

func rate(c *result.Cell) string {
	return fmt.Sprintf("%s [%.2f–%.2f]", hits(c), c.Rate.Lo, c.Rate.Hi)
}

func ms(v int64) string { return fmt.Sprintf("%dms", v) }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
