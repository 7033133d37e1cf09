package harness

import (
	"fmt"
	"slices"
	"strings"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/fault"
)

// A process that dies of something no fault of the cell did (an operator's
// kill, the OOM killer, a crash of the machine's making) is interference, not
// evidence. The engine recovers where Spark would — a lost executor's tasks
// run again, its map outputs and cached blocks are computed again — so a run
// the death did not harm is judged as usual, with the death on record; a run
// it turned into a failure cannot be judged: it is inconclusive, with the
// death as the reason, never a failure of the engine or of a safeguard.

// externalDeaths lists the executor deaths of a run that no fault of its
// cell caused: "executor 3 killed by SIGKILL, not injected". A death is a
// signal or a crash (a Go runtime fatal error exits with status 2); the
// executor's own orderly exits are not — a clean exit, a refusal, leaving
// with its lost or unreachable driver (1, 3) — nor is the cluster's teardown.
func externalDeaths(sc *Scenario, p plan, out *cluster.Outcome) []string {
	if out == nil {
		return nil
	}
	var deaths []string
	for _, e := range out.Executors {
		x := e.Exit
		orderly := x.Code == cluster.ExitOK || x.Code == cluster.ExitRefused || x.Code == cluster.ExitJobFailed || x.Code == cluster.ExitInfra
		if e.Teardown || x.Signal == "" && orderly {
			continue
		}
		if injectedDeath(sc, p, e.ID, e.Node) {
			continue
		}
		how := "killed by " + x.Signal
		if x.Signal == "" {
			how = fmt.Sprintf("exited with status %d", x.Code)
		}
		deaths = append(deaths, fmt.Sprintf("executor %d %s, not injected", e.ID, how))
	}
	return deaths
}

// injectedDeath reports whether the cell's faults account for the death of
// executor id on node: an executor-kill fault aimed at it, a node-level fault
// on its node, or a scenario whose faults crash executors (ExecutorDeaths) in
// a cell that injects them.
func injectedDeath(sc *Scenario, p plan, id int, node string) bool {
	if _, ok := p.faults.Lookup(fault.ExecutorKill, id); ok {
		return true
	}
	for _, f := range p.faults {
		if f.Point.IsNodeLevel() && slices.Contains(f.Nodes, node) {
			return true
		}
	}
	return sc.ExecutorDeaths && len(p.faults) > 0
}

// applyInterference judges a run that saw external deaths: a failure, or a
// run that could not be judged, becomes inconclusive with the deaths as its
// reason; a pass stands (the job came out right despite the death) with the
// deaths on record.
func applyInterference(r *result.Run, deaths []string) {
	if len(deaths) == 0 {
		return
	}
	reason := strings.Join(deaths, "; ")
	if r.Verdict == result.Pass {
		r.Evidence = append(r.Evidence, result.Evidence{Source: "harness", Line: reason + "; the engine recovered and the verdict stands"})
		return
	}
	r.Verdict, r.Hit = result.Inconclusive, false
	r.Problems = append([]string{reason + ": the run cannot be judged"}, r.Problems...)
}
