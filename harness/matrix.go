package harness

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// MatrixColumn is one configuration of the matrix: a profile or a single safeguard.
type MatrixColumn struct {
	Name string
	Set  safeguard.Set
}

// MatrixColumns are the profiles (spark-1.0, spark-3, hardened) then every
// safeguard on its own.
func MatrixColumns() []MatrixColumn {
	var cols []MatrixColumn
	for _, p := range safeguard.Profiles() {
		set, _ := safeguard.ProfileSet(p.Name)
		cols = append(cols, MatrixColumn{Name: p.Name, Set: set})
	}
	for _, i := range safeguard.All() {
		cols = append(cols, MatrixColumn{Name: string(i.Name), Set: safeguard.Set{i.Name: true}})
	}
	return cols
}

// RunMatrix runs each scenario's fault once under every column and says, for
// each, whether a safeguard caught it, the job survived it, or it went through.
// It is the table of which safeguard catches which failure.
func RunMatrix(ctx context.Context, scs []*Scenario, o Options) (*result.Matrix, error) {
	o.defaults()
	cols := MatrixColumns()
	m := &result.Matrix{}
	for _, c := range cols {
		m.Columns = append(m.Columns, c.Name)
	}
	// A scenario whose source gives a fix in user code gets one more column,
	// kept apart from the engine's safeguards; other scenarios have no cell there.
	fixes := false
	for _, sc := range scs {
		_, ok := sc.UserFix()
		fixes = fixes || ok
	}
	if fixes {
		m.Columns = append(m.Columns, UserFixLabel)
	}
	m.Rows = make([]result.MatrixRow, len(scs))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, sc := range scs {
		type cell struct {
			name  string
			set   safeguard.Set
			catch *Catch
		}
		var cells []cell
		for _, col := range cols {
			cells = append(cells, cell{col.Name, col.Set, &Catch{Expect: sc.matrixExpect()}})
		}
		if fix, ok := sc.UserFix(); ok {
			cells = append(cells, cell{UserFixLabel, safeguard.Set{}, fix})
		}
		m.Rows[i] = result.MatrixRow{Scenario: sc.Name, Cells: make([]result.MatrixCell, len(cells))}
		for j, col := range cells {
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					m.Rows[i].Cells[j] = result.MatrixCell{Column: col.name, Outcome: result.Errored, Detail: "interrupted"}
					return
				}
				defer func() { <-sem }()
				p := plan{kind: result.Catch, label: "matrix-" + col.name, faults: sc.Faults, set: col.set, catch: col.catch, runs: 1}
				r, obs, _ := runOnce(ctx, sc, p, &o, 0)
				m.Rows[i].Cells[j] = matrixCell(col.name, r, obs, sc)
			}()
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return m, ErrInterrupted
	}
	return m, nil
}

// matrixExpect is what a matrix cell asks of a configuration: a diagnosis or
// a correct completion, or only a diagnosis when the fault leaves the output
// alone (a slowdown), so that a correct output proves nothing.
func (s *Scenario) matrixExpect() Expectation {
	if s.OutputUnaffected {
		return Diagnose
	}
	return Either
}

// matrixCell judges one matrix run. A run whose fault had no effect (the
// fault point said so: r.NoEffect, never a mere absence of a detection) is
// survived when the configuration is what kept the effect away, and not
// judged when something else did: the machine's pace, chance or a sham.
func matrixCell(col string, r result.Run, obs *Observation, sc *Scenario) result.MatrixCell {
	c := result.MatrixCell{Column: col, Detail: firstOr(r.Problems, r.Observed)}
	noEffect := r.NoEffect && obs != nil
	var moved, earned float64
	fits := false
	if noEffect && sc.OutputUnaffected {
		moved, earned, fits = loadFitsBaseline(obs)
	}
	switch {
	case noEffect && sham(sc.Faults):
		// A sham's effect is neutralised under every configuration: that
		// no effect showed is the sham's doing, never a configuration's.
		c.Outcome, c.Detail = result.NotJudged, "the fault is a sham and had no effect: "+firstOr(r.Problems, "")
	case fits:
		// A slowdown the configuration kept from setting in: on schedule,
		// the checkpoints ask the store for no more than its baseline earns
		// (manifest-commit moves a third of the bytes of Spark's rename by
		// copy), however long the run or slow the machine.
		c.Outcome = result.Survived
		c.Detail = fmt.Sprintf("the fault had no effect under this configuration: its checkpoints moved %.0f KiB through the store, its baseline earns %.0f KiB over their batch intervals; %s",
			moved, earned, firstOr(r.Problems, ""))
	case noEffect && sc.OutputUnaffected:
		// A slowdown that did not set in within the run, although on
		// schedule the checkpoints ask more than the baseline earns: the
		// stream went slower than its schedule (a slow or race-built
		// machine), and the store earned back what it spent. Whether a
		// safeguard would have told is not known.
		c.Outcome = result.NotJudged
		c.Detail = "the slowdown never set in within this run: " + firstOr(r.Problems, "")
		if moved > 0 {
			c.Detail += fmt.Sprintf("; on schedule its checkpoints (%.0f KiB through the store) ask more than the baseline earns over their batch intervals (%.0f KiB), so the stream's pace, not this configuration, kept the credits from running out",
				moved, earned)
		}
	case noEffect && !sc.Probabilistic && obs.Correct:
		// A deterministic fault that had no effect under this configuration
		// was kept from having one: the configuration's doing.
		c.Outcome, c.Detail = result.Survived, "the fault had no effect under this configuration: "+firstOr(r.Problems, "")
	case noEffect && sc.Probabilistic && obs.Correct:
		// A fault that strikes by chance did not strike in this one run.
		c.Outcome, c.Detail = result.NotJudged, "the fault, which strikes by chance, had no effect in this run: "+firstOr(r.Problems, "")
	case r.Verdict == result.Inconclusive || obs == nil:
		c.Outcome = result.Errored
	case r.Hit && obs.Correct && !anyFired(obs):
		// Survival is the configuration's doing, not one safeguard's firing.
		c.Outcome, c.Detail = result.Survived, "job completed correctly despite the fault"
	case r.Hit:
		c.Outcome, c.CaughtBy = result.Caught, r.CaughtBy
		if len(r.Evidence) > 1 {
			c.Detail = r.Evidence[1].Line
		}
	default:
		c.Outcome = result.Missed
		if r.Observed != "" {
			c.Detail = r.Observed
		}
	}
	return c
}

// sham reports whether any of the faults is a sham.
func sham(faults fault.Set) bool {
	for _, f := range faults {
		if f.Sham() {
			return true
		}
	}
	return false
}

func anyFired(o *Observation) bool { return len(o.Fired()) > 0 }

// loadFitsBaseline reports whether a stream's checkpoints moved no more
// bytes through a throttled store than its baseline earns over the batches'
// scheduled intervals. It is the configuration's property, not the run's
// pace: a machine that processes slowly earns more per batch, a schedule
// does not.
func loadFitsBaseline(o *Observation) (moved, earned float64, fits bool) {
	for _, b := range o.Events(events.BatchCompleted) {
		kib, ok1 := b.Metrics["checkpoint_kib"]
		rate, ok2 := b.Metrics["baseline_kibps"]
		if !ok1 || !ok2 {
			continue
		}
		moved += kib
		earned += rate * b.Metrics["interval_ms"] / 1000
	}
	return moved, earned, moved > 0 && moved <= earned
}

// RunFault runs a scenario's fault once, with seed, under a set of
// safeguards, judged as a catch cell that accepts a diagnosis or a correct
// completion. It returns the run and what it left behind (nil when the run
// could not be carried out).
func RunFault(ctx context.Context, sc *Scenario, set safeguard.Set, seed int64, o Options) (result.Run, *Observation) {
	o.defaults()
	o.Seed = seed
	p := plan{kind: result.Catch, label: "fault-" + strings.Join(set.Names(), "+"), faults: sc.Faults, set: set, catch: &Catch{Expect: sc.matrixExpect()}, runs: 1}
	r, obs, _ := runOnce(ctx, sc, p, &o, 0)
	return r, obs
}
