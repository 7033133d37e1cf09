package gate

import (
	"fmt"

	"github.com/faultbook/faultbook/harness/result"
)

// Improvements lists, one line each, what got better since the baseline: cells
// that pass again, catches made, symptoms reproduced again, rates and latencies
// that moved beyond chance or the default tolerance, matrix cells no longer
// missed, and scenarios the baseline did not have. They never fail the gate;
// they say the baseline is due for an update.
func Improvements(baseline, current *result.Results) []string {
	tol := Tolerance{}.withDefaults()
	var out []string
	for i := range current.Scenarios {
		cs := &current.Scenarios[i]
		bs := findScenario(baseline, cs.Name)
		if bs == nil {
			out = append(out, fmt.Sprintf("%s: new scenario (%s)", cs.Name, orNone(string(cs.Verdict))))
			continue
		}
		for j := range cs.Cells {
			now := &cs.Cells[j]
			if was := findCell(bs, now); was != nil {
				out = append(out, improvedCell(cs.Name+"/"+cellWhere(now), was, now, tol)...)
			}
		}
	}
	return append(out, improvedMatrix(baseline.Matrix, current.Matrix)...)
}

func improvedCell(where string, was, now *result.Cell, tol Tolerance) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, where+": "+fmt.Sprintf(format, args...)) }
	if was.Verdict != result.Pass && now.Verdict == result.Pass {
		add("verdict %s → pass", orNone(string(was.Verdict)))
	}
	if now.Cell == result.Catch && was.CaughtBy == "" && now.CaughtBy != "" {
		add("now caught by %s", now.CaughtBy)
	}
	if now.Cell == result.Reproduce && was.Hits == 0 && now.Hits > 0 {
		add("documented symptom reproduced again (%s → %s)", hits(was), hits(now))
	}
	if was.Rate != nil && now.Rate != nil && now.Rate.Lo > was.Rate.Hi {
		add("rate up from %s to %s", rate(was), rate(now))
	}
	if now.Cell == result.Catch && was.DetectionMs > 0 && now.DetectionMs > 0 &&
		tol.detectionLimit(now.DetectionMs) < float64(was.DetectionMs) {
		add("detection down from %s to %s", ms(was.DetectionMs), ms(now.DetectionMs))
	}
	return out
}

func improvedMatrix(was, now *result.Matrix) []string {
	if was == nil || now == nil {
		return nil
	}
	var out []string
	for i := range now.Rows {
		nr := &now.Rows[i]
		wr := findRow(was, nr.Scenario)
		if wr == nil {
			continue
		}
		for j := range nr.Cells {
			nc := &nr.Cells[j]
			wc := findMatrixCell(wr, nc.Column)
			if wc != nil && !good(wc.Outcome) && good(nc.Outcome) {
				out = append(out, fmt.Sprintf("%s@%s: %s before, now %s", nr.Scenario, nc.Column, outcome(wc), outcome(nc)))
			}
		}
	}
	return out
}
