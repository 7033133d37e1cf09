package driver

import (
	"fmt"

	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/rpc"
)

// Map outputs live in the executor that wrote them (there is no external
// shuffle service): losing the executor loses them. As in Spark's
// DAGScheduler, a reduce task that cannot fetch one fails with FetchFailed,
// which does not count toward spark.task.maxFailures; its stage attempt is
// abandoned (a zombie), the outputs are unregistered, and the map stage runs
// again for the missing partitions, then the reduce stage — as new stage
// attempts, at most spark.stage.maxConsecutiveAttempts times.

// stageName is Spark's "ShuffleMapStage 0 (map at split)" / "ResultStage 1 (collect at …)".
func stageName(s job.Stage) string {
	kind := "ResultStage"
	if s.Output.Kind == job.ToShuffle {
		kind = "ShuffleMapStage"
	}
	return fmt.Sprintf("%s %d (%s)", kind, s.ID, s.Name)
}

// mapStageOf returns the stage that writes shuffle sh.
func (jr *jobRun) mapStageOf(sh int) (job.Stage, bool) {
	for _, s := range jr.job.Stages {
		if s.Output.Kind == job.ToShuffle && s.Output.Shuffle == sh {
			return s, true
		}
	}
	return job.Stage{}, false
}

// fetchFailed abandons the stage attempt whose task could not fetch a map
// output, unregisters that output and every output of the executor that held
// it, and resubmits the map stage.
func (d *Driver) fetchFailed(jr *jobRun, ts *taskSet, f rpc.Failure) {
	if ts.zombie {
		d.log.Info(fmt.Sprintf("Ignoring fetch failure from stage %s as there is a more recent attempt of %s running", ts.name(), stageName(ts.stage)),
			"component", "scheduler.DAGScheduler")
		return
	}
	ff := f.Fetch
	if ff == nil {
		d.abort(jr, sparkError("Job aborted due to stage failure: %s failed with a fetch failure that names no map output: %s", stageName(ts.stage), f.String()))
		return
	}
	mapStage, ok := jr.mapStageOf(ff.Shuffle)
	if !ok {
		d.abort(jr, sparkError("Job aborted due to stage failure: %s: fetch failure for unknown shuffle %d: %s", stageName(ts.stage), ff.Shuffle, f.String()))
		return
	}
	ts.zombie = true
	jr.zombies = append(jr.zombies, ts)
	jr.failedAttempts[ts.stage.ID]++
	d.log.Info(fmt.Sprintf("Marking %s as failed due to a fetch failure from %s", stageName(ts.stage), stageName(mapStage)), "component", "scheduler.DAGScheduler")
	maxAttempts, _ := d.cfg.Spec.Conf.Int(conf.StageMaxConsecutiveAttempts)
	if n := jr.failedAttempts[ts.stage.ID]; n >= maxAttempts {
		d.abort(jr, sparkError("Job aborted due to stage failure: %s has failed the maximum allowable number of times: %d. Most recent failure reason: %s",
			stageName(ts.stage), maxAttempts, f.String()))
		return
	}
	if locs := jr.mapOutputs[ff.Shuffle]; ff.Map >= 0 && ff.Map < len(locs) {
		locs[ff.Map] = rpc.BlockLocation{}
	}
	if ff.Executor > 0 {
		d.unregisterOutputs(jr, ff.Executor)
	}
	msg := fmt.Sprintf("Resubmitting %s and %s due to fetch failure", stageName(mapStage), stageName(ts.stage))
	d.log.Info(msg, "component", "scheduler.DAGScheduler")
	d.ev.Emit(events.Event{Kind: events.StageResubmitted, Job: jr.id, Stage: mapStage.ID, StageAtt: jr.nextAttempt[mapStage.ID],
		Executor: ff.Executor, Reason: f.String(), ReasonKind: rpc.KindFetchFailed, Message: msg})
	d.submitReady(jr)
}

// unregisterOutputs forgets the map outputs an executor served. A running map
// stage runs those partitions again (Spark's "Resubmitted" tasks, counted
// toward no failure limit); a finished one is resubmitted when a stage needs it.
func (d *Driver) unregisterOutputs(jr *jobRun, exec int) {
	for sh, locs := range jr.mapOutputs {
		lost := 0
		for m := range locs {
			if locs[m].Executor == exec && locs[m].Addr != "" {
				locs[m] = rpc.BlockLocation{}
				lost++
			}
		}
		if lost == 0 {
			continue
		}
		d.log.Info(fmt.Sprintf("Shuffle files lost for executor %d: %d map outputs of shuffle %d", exec, lost, sh), "component", "scheduler.DAGScheduler")
		s, ok := jr.mapStageOf(sh)
		ts := jr.stages[s.ID]
		if !ok || ts == nil || ts.zombie || ts.numDone == ts.tasks {
			continue
		}
		for p := range ts.succeeded {
			if ts.succeeded[p] && locs[p].Addr == "" {
				ts.succeeded[p] = false
				ts.numDone--
				ts.pending = append(ts.pending, p)
				d.log.Info(fmt.Sprintf("Resubmitted task %d in stage %s: Resubmitted (resubmitted due to lost executor %d, which held its map output)", p, ts.name(), exec),
					"component", "scheduler.TaskSetManager")
			}
		}
	}
}

// zombieStatus records the end of an attempt of an abandoned stage attempt:
// its result is ignored, its failure counts for nothing.
func (d *Driver) zombieStatus(jr *jobRun, ts *taskSet, ti *taskInfo, ex *executorInfo, st *rpc.StatusUpdate) {
	switch st.State {
	case rpc.TaskFinished:
		d.log.Info(fmt.Sprintf("Ignoring result of task %d.%d in stage %s (TID %d): the stage attempt was abandoned after a fetch failure",
			ti.partition, ti.attempt, ts.name(), ti.tid), "component", "scheduler.TaskSetManager")
		d.emitTaskEnd(jr, ts, ti, ex, "success", "result ignored: stage attempt "+ts.name()+" was abandoned", "")
	case rpc.TaskFailed:
		f := rpc.Failure{Kind: "UnknownReason"}
		if st.Failure != nil {
			f = *st.Failure
		}
		node := "unknown"
		if ex != nil {
			node = ex.node
		}
		d.log.Warn(fmt.Sprintf("Lost task %d.%d in stage %s (TID %d, %s, executor %d): %s", ti.partition, ti.attempt, ts.name(), ti.tid, node, ti.exec, f.String()),
			"component", "scheduler.TaskSetManager")
		d.emitTaskEnd(jr, ts, ti, ex, "failed", f.String(), f.Kind)
	case rpc.TaskKilled:
		d.emitTaskEnd(jr, ts, ti, ex, "killed", "", rpc.KindTaskKilled)
	}
}
