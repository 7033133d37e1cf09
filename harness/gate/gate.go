// Package gate is the CI regression gate: it compares a run's results with a
// committed baseline and lists every way the run got worse — a cell that no
// longer passes, a safeguard that no longer catches its failure, a symptom that
// no longer reproduces, a rate or a detection latency that moved beyond chance
// or tolerance, a matrix cell that went from caught to missed.
//
// The gate compares typed results, never log text, so a reworded message does
// not fail CI and a changed verdict always does. It reads harness/result only.
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
	tol = tol.withDefaults()
	var out []Regression
	for i := range baseline.Scenarios {
		bs := &baseline.Scenarios[i]
		cs := findScenario(current, bs.Name)
		if cs == nil {
			out = append(out, Regression{Scenario: bs.Name, Kind: KindMissing, Was: string(bs.Verdict),
				Detail: fmt.Sprintf("scenario missing from the current results (was %s)", orNone(string(bs.Verdict)))})
			continue
		}
		for j := range bs.Cells {
			out = append(out, compareCell(bs.Name, &bs.Cells[j], findCell(cs, &bs.Cells[j]), cs.Error, tol)...)
		}
	}
	return append(out, compareMatrix(baseline.Matrix, current.Matrix)...)
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

func compareMatrix(was, now *result.Matrix) []Regression {
	if was == nil {
		return nil
	}
	if now == nil {
		return []Regression{{Kind: KindMissing, Detail: "matrix missing from the current results"}}
	}
	var out []Regression
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
			case good(wc.Outcome) && !good(nc.Outcome):
				reg.Kind, reg.Now = KindMatrix, string(nc.Outcome)
				reg.Detail = fmt.Sprintf("%s before, now %s", outcome(wc), outcome(nc))
			default:
				continue
			}
			out = append(out, reg)
		}
	}
	return out
}

// good is an outcome where the failure did no harm.
func good(o result.Outcome) bool { return o == result.Caught || o == result.Survived }

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
