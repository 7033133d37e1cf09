package scenarios

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/faultbook/faultbook/harness"
	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

var (
	reCheckpointWarn = regexp.MustCompile(`Error in attempt \d+ of writing checkpoint|Could not write checkpoint`)
	reRecoveryFailed = regexp.MustCompile(`Failed to read checkpoint from directory|Checkpoint RDD directory does not exist|Invalid checkpoint file|read checkpoint RDD|FileNotFoundException`)
	reRecovered      = regexp.MustCompile(`Recovered from checkpoint|No checkpoint found`)
)

// streamParams are the knobs of the checkpointing scenarios: 11 batches of 4 s
// at 3,000 messages/s, a checkpoint every 3 batches.
var streamParams = map[string]string{"batches": "11", "checkpoint-every": "3", "time-scale": "100"}

// EventualCheckpoint: Spark's checkpoint protocol on an eventually
// consistent store, with the driver killed and restarted from it.
func EventualCheckpoint() *harness.Scenario {
	return &harness.Scenario{
		Name:    "eventual-checkpoint",
		Title:   "checkpoints on an eventually consistent store: failed writes in the log, unreliable driver recovery",
		Source:  seed003,
		Section: "5",
		Symptom: "checkpoint writes fail sporadically (warnings beside real failures), and a driver restarted from the checkpoint fails to recover or resumes with lost state",
		Place:   "driver output (checkpoint warnings; the recovered driver's exception or its wrong totals)",
		RootCause: "Spark's checkpoint protocol assumes a file system: rename is atomic and a listing shows what was written. " +
			"On S3 before December 2020 rename was a copy and a delete, a LIST could omit fresh keys, and a key asked for before it existed could go on answering 404.",
		Why: "A streaming application keeps running totals and checkpoints them to an S3 server with pre-2020 consistency. " +
			"The harness kills the driver (SIGKILL) at a seeded point and starts it again from the checkpoint; the source replays from the recovered offsets. " +
			"Unguarded, the writer's rename-by-copy and directory listing fail sporadically, and recovery trusts a listing: it picks a stale checkpoint whose state is gone and fails, " +
			"or sees none and starts a new context at the source's latest offset, as Spark's Kafka direct stream does by default, losing the totals. " +
			"A manifest written last and read by key, or checksums validated on recovery with a fallback, recover the exact totals every time.",
		Chain: []string{
			"the store lags: LIST omits fresh keys, a 404 cached before a write outlives it",
			"Spark's writer renames by copy after asking for the key: the copy source is not found; the directory listing counts too few parts",
			"checkpoint attempts fail with warnings and the stream moves on",
			"the driver is killed; the new one lists the checkpoint directory",
			"the newest checkpoint is missing from the listing or answers 404: an older one is read, its state already deleted",
			"or no checkpoint is listed at all: a new context starts at the source's latest offset (auto.offset.reset=largest), and the totals so far are lost",
			"recovery fails (\"Failed to read checkpoint\", \"directory does not exist\") or resumes with lost state",
		},
		Story:         storyEventualCheckpoint,
		Workload:      "stream-counts",
		Signature:     diagnose.CheckpointEventualConsistency(),
		Params:        streamParams,
		Stream:        &harness.StreamRun{KillDriver: true},
		Probabilistic: true,
		Repeat:        8,
		Faults:        fault.Set{{Point: fault.EventualConsistency, Params: map[string]string{"lag": "4s", "p": "0.2"}}},
		Catches: []harness.Catch{
			{Safeguards: []safeguard.Name{safeguard.ManifestCommit}, Expect: harness.Survive},
			{Safeguards: []safeguard.Name{safeguard.ValidateOnRecovery}, Expect: harness.Survive},
		},
		Reproduce: reproduceUnreliableRecovery,
	}
}

// reproduceUnreliableRecovery: the driver was killed and restarted, and the
// restarted one failed to recover or ended with totals other than the
// oracle's.
func reproduceUnreliableRecovery(o *harness.Observation, ev *harness.Evidence) error {
	kills := o.Events(events.DriverKilled)
	if len(kills) == 0 {
		return errors.New("the driver was never killed: no recovery to judge")
	}
	ev.Add("harness", kills[0].Message)
	if w := o.Grep("driver", reCheckpointWarn); len(w) > 0 {
		ev.Add("driver", w[0])
		ev.Addf("%d checkpoint write warnings in the driver's log", len(w))
	}
	ev.First(o, "driver", reRecovered)
	switch {
	case o.Result == nil:
		return errors.New("the restarted driver left no result")
	case o.Aborted():
		if !reRecoveryFailed.MatchString(o.Result.Error) {
			return fmt.Errorf("the restarted driver failed, but not in recovery: %s", firstLine(o.Result.Error))
		}
		ev.Add("driver", firstLine(o.Result.Error))
		ev.Observe("failed recovery: %s", trimTo(firstLine(o.Result.Error), 100))
		return nil
	case o.Correct:
		return errors.New("the recovered state equals the oracle's")
	}
	lost, extra, err := compareTotals(o)
	if err != nil {
		return err
	}
	ev.Addf("recovered totals differ from the oracle: %d lost, %d double-counted (amount units)", lost, extra)
	switch {
	case lost > 0 && extra > 0:
		ev.Observe("wrong state after recovery: %d units lost, %d double-counted", lost, extra)
	case lost > 0:
		ev.Observe("lost state after recovery: %d units missing from the totals", lost)
	default:
		ev.Observe("double-counted state after recovery: %d units too many", extra)
	}
	return nil
}

// compareTotals sums, over users, how far the output's totals fall short of
// the oracle's and how far they exceed them.
func compareTotals(o *harness.Observation) (lost, extra int64, err error) {
	var got map[string]int64
	if err := json.Unmarshal(o.Result.Output, &got); err != nil {
		return 0, 0, fmt.Errorf("output is not a map of totals: %w", err)
	}
	want, ok := o.Oracle.(map[string]any)
	if !ok {
		return 0, 0, errors.New("the oracle is not a map of totals")
	}
	for k, w := range want {
		d := got[k] - int64(w.(float64))
		if d < 0 {
			lost -= d
		} else {
			extra += d
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			extra += g
		}
	}
	return lost, extra, nil
}

const storyEventualCheckpoint = `The documented failure (` + seed003 + `, FAILURES.md §5)
  A user checkpointing Spark Streaming to S3 saw tasks fail with "directory not
  found", failed tasks pile up beside real ones, and driver recovery that could not
  be relied on. Before December 2020 S3 listed fresh keys late, could keep answering
  404 for a key asked for before it existed, and had no rename.

Root cause
  Spark's checkpoint writer writes a temporary file and renames it; its RDD
  checkpoint writes parts under temporary names, renames them and lists the
  directory to count them; old checkpoints are found by listing and deleted. A
  failure is a warning, and the stream moves on. Recovery lists the directory,
  reads the newest checkpoint and lists its state directory; when the listing shows
  no checkpoint, a new context starts where the source is now (Kafka's
  auto.offset.reset=largest, the default of Spark's direct stream).

The experiment
  The application keeps running totals per user (mapWithState) over a message
  stream and checkpoints every 3 batches to the embedded S3 server (gofakes3 through
  minio-go). The harness kills the driver with SIGKILL at a seeded point — during a
  batch, during a checkpoint's parts, or between the parts and the metadata — and
  starts it again; the source replays from the recovered offsets. The oracle is the
  exact totals over the whole input. Runs are repeated and the rate reported.
  - control: a consistent store; the restarted driver recovers the exact totals.
  - reproduce: the store lags (each write with chance 0.2, up to 4 s): checkpoint
    attempts fail with Spark's warnings, and in most runs the restarted driver fails
    to read its checkpoint or resumes with totals lost.
  - catch: manifest-commit (parts, then a manifest with checksums written last;
    recovery reads manifests by key and never trusts LIST) and validate-on-recovery
    (checksums checked on recovery, falling back to the last complete checkpoint or
    to offset 0, never to the source's end): the exact totals in every run.
  - no false alarm: a consistent store with both safeguards on.`
