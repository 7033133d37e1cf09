package harness

import (
	"fmt"
	"slices"
	"sort"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

func safeguardName(s string) safeguard.Name { return safeguard.Name(s) }

// timelineOf draws what the driver saw: a lane per executor (refused ones
// included), task attempts as bars, markers for losses, refusals, safeguards,
// faults and aborts, and a band for each injected fault.
func timelineOf(out *cluster.Outcome, p plan) *result.Timeline {
	evs := out.Events
	if len(evs) == 0 {
		return nil
	}
	t0 := evs[0].Time
	ms := func(e events.Event) int64 { return e.Time.Sub(t0).Milliseconds() }
	tl := &result.Timeline{}
	lanes := map[string]int{} // index in tl.Lanes
	laneOf := func(exec int, node string) string {
		id := fmt.Sprintf("exec-%d", exec)
		if _, ok := lanes[id]; !ok && exec > 0 {
			lanes[id] = len(tl.Lanes)
			tl.Lanes = append(tl.Lanes, result.Lane{ID: id, Node: node})
		}
		return id
	}
	lane := func(e events.Event) string { return laneOf(e.Executor, e.Node) }
	open := map[int]*result.TaskBar{}
	nodeHit := map[string]bool{}
	ops, faults, restarted, alarm := 0, 0, false, false
	for _, e := range evs {
		at := ms(e)
		tl.DurationMs = max(tl.DurationMs, at)
		switch e.Kind {
		case events.ExecutorAdded:
			lane(e)
		case events.ExecutorRefused:
			tl.Markers = append(tl.Markers, result.Marker{AtMs: at, Lane: lane(e), Kind: "excluded", Label: "refused"})
		case events.ExecutorExited:
			l := &tl.Lanes[lanes[lane(e)]]
			end := at
			l.EndMs, l.Exit = &end, exitLabel(e)
			if e.Replacement > 0 {
				next := laneOf(e.Replacement, e.Node)
				tl.Lanes[lanes[next]].Replaces = l.ID
			}
		case events.ExecutorRemoved:
			tl.Markers = append(tl.Markers, result.Marker{AtMs: at, Lane: lane(e), Kind: "executor-lost", Label: "executor lost"})
		case events.TaskStart:
			b := &result.TaskBar{Lane: lane(e), Stage: fmt.Sprintf("%d.%d", e.Stage, e.StageAtt), Task: e.Task, Attempt: e.Attempt, TID: e.TID, StartMs: at, EndMs: at, Outcome: "running"}
			open[e.TID] = b
		case events.TaskEnd:
			if b := open[e.TID]; b != nil {
				b.EndMs, b.Outcome, b.Reason = at, e.Outcome, e.Reason
				tl.Tasks = append(tl.Tasks, *b)
				delete(open, e.TID)
			}
		case events.SafeguardFired:
			alarm = true
			m := result.Marker{AtMs: at, Kind: "safeguard", Label: e.Name}
			if e.Executor > 0 {
				m.Lane = lane(e)
			}
			tl.Markers = append(tl.Markers, m)
		case events.FaultHit:
			if e.Executor == 0 && e.Node != "" {
				// A node's fault hits repeat on every connection: the first
				// marks it, its band shows the rest.
				if key := e.Name + "@" + e.Node; !nodeHit[key] {
					nodeHit[key] = true
					tl.Markers = append(tl.Markers, result.Marker{AtMs: at, Kind: "fault", Label: key})
				}
				continue
			}
			if e.Role == "store" {
				faults++
				continue // one per store request: counted per batch, not drawn
			}
			m := result.Marker{AtMs: at, Kind: "fault", Label: e.Name}
			if e.Block != "" {
				m.Label += ": " + e.Block // the data the fault's effect reached
			}
			if e.Executor > 0 {
				m.Lane = lane(e)
			}
			tl.Markers = append(tl.Markers, m)
		case events.StoreOp:
			ops++
		case events.DriverKilled:
			restarted = true
			tl.Markers = append(tl.Markers, result.Marker{AtMs: at, Kind: "abort", Label: "driver killed (SIGKILL)"})
		case events.BatchCompleted:
			b := result.Batch{Index: e.Job, DelayMs: int64(e.Metrics["delay_ms"]), CheckpointMs: int64(e.Metrics["checkpoint_ms"]),
				ProcessingMs: int64(e.Metrics["processing_ms"]), IntervalMs: int64(e.Metrics["interval_ms"]),
				StoreOps: ops, StoreFaults: faults, Restarted: restarted, Alarm: alarm}
			if c, ok := e.Metrics["credits_kib"]; ok {
				b.CreditsKiB = &c
			}
			tl.Batches = append(tl.Batches, b)
			ops, faults, restarted, alarm = 0, 0, false, false
		case events.JobEnd:
			if e.Outcome == "aborted" {
				tl.Markers = append(tl.Markers, result.Marker{AtMs: at, Kind: "abort", Label: fmt.Sprintf("job %d aborted", e.Job)})
			}
		}
	}
	for _, b := range open { // attempts the driver never heard back from
		b.EndMs, b.Outcome = tl.DurationMs, "killed"
		tl.Tasks = append(tl.Tasks, *b)
	}
	sort.Slice(tl.Tasks, func(i, j int) bool { return tl.Tasks[i].TID < tl.Tasks[j].TID })
	sort.SliceStable(tl.Lanes, func(i, j int) bool { return execNum(tl.Lanes[i].ID) < execNum(tl.Lanes[j].ID) })
	nodeBands := faultBands(evs, tl, ms)
	for _, f := range p.faults {
		if len(f.Nodes) > 0 && len(nodeBands) > 0 {
			continue // drawn from its own on/off events, on its nodes' lanes
		}
		tl.Bands = append(tl.Bands, result.Band{FromMs: 0, ToMs: tl.DurationMs, Kind: "fault", Label: f.String()})
	}
	tl.Bands = append(tl.Bands, nodeBands...)
	tl.Bands = append(tl.Bands, exclusionBands(evs, tl, ms)...)
	return tl
}

// exitLabel says how an executor process ended: "exit status 137, SIGKILL".
func exitLabel(e events.Event) string {
	if e.ExitStatus == nil {
		return "exited"
	}
	if e.Signal != "" {
		return fmt.Sprintf("exit status %d, %s", *e.ExitStatus, e.Signal)
	}
	return fmt.Sprintf("exit status %d", *e.ExitStatus)
}

// laneIDs are the lanes of an executor, or of a node's executors.
func laneIDs(tl *result.Timeline, exec int, node string) []string {
	if exec > 0 {
		return []string{fmt.Sprintf("exec-%d", exec)}
	}
	var out []string
	for _, l := range tl.Lanes {
		if l.Node == node {
			out = append(out, l.ID)
		}
	}
	return out
}

// faultBands are the spans a node-level fault acted, from its fault-on to its
// fault-off event (or the end), over the node's lanes.
func faultBands(evs []events.Event, tl *result.Timeline, ms func(events.Event) int64) []result.Band {
	var out []result.Band
	open := map[string]int{}
	for _, e := range evs {
		key := e.Name + "@" + e.Node
		switch e.Kind {
		case events.FaultOn:
			open[key] = len(out)
			out = append(out, result.Band{FromMs: ms(e), ToMs: tl.DurationMs, Kind: "fault", Label: key, Lanes: laneIDs(tl, 0, e.Node)})
		case events.FaultOff:
			if i, ok := open[key]; ok {
				out[i].ToMs = ms(e)
				delete(open, key)
			}
		}
	}
	return out
}

// exclusionBands are the spans executors and nodes were excluded: for a
// stage until the stage ended, for the application until it expired.
func exclusionBands(evs []events.Event, tl *result.Timeline, ms func(events.Event) int64) []result.Band {
	var out []result.Band
	t0 := evs[0].Time
	for i, e := range evs {
		if !slices.Contains(events.Exclusions, e.Kind) {
			continue
		}
		b := result.Band{FromMs: ms(e), ToMs: tl.DurationMs, Kind: "excluded", Lanes: laneIDs(tl, e.Executor, e.Node)}
		who := e.Node
		if e.Executor > 0 {
			who = fmt.Sprintf("exec-%d", e.Executor)
		}
		if e.ForStage() {
			b.Label = fmt.Sprintf("%s excluded for stage %d", who, e.Stage)
			for _, later := range evs[i:] {
				if later.Kind == events.StageCompleted && later.Stage == e.Stage || later.Kind == events.JobEnd {
					b.ToMs = ms(later)
					break
				}
			}
		} else {
			b.Label = who + " excluded for the application"
			if e.Until != nil {
				b.ToMs = min(b.ToMs, e.Until.Sub(t0).Milliseconds())
			}
			for _, later := range evs[i:] {
				if slices.Contains(events.Unexclusions, later.Kind) && later.Executor == e.Executor && later.Node == e.Node {
					b.ToMs = ms(later)
					break
				}
			}
		}
		out = append(out, b)
	}
	return out
}
