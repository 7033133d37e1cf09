package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/safeguard"
)

// snapshot is what a checkpoint holds: the running state after a batch and
// the source offset the next batch starts at.
type snapshot struct {
	Batch  int
	Time   int64
	Offset int64
	State  map[string]int64
}

// fromStart is the snapshot before the first batch: a safeguard that finds no
// complete checkpoint replays the whole source rather than skip to its end.
func fromStart() *snapshot { return &snapshot{Batch: -1, State: map[string]int64{}} }

// partOf is the state partition a key belongs to.
func partOf(key string, parts int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(parts))
}

// encodeParts splits the state into parts, each a JSON object.
func encodeParts(state map[string]int64, parts int) [][]byte {
	split := make([]map[string]int64, parts)
	for i := range split {
		split[i] = map[string]int64{}
	}
	for k, v := range state {
		split[partOf(k, parts)][k] = v
	}
	out := make([][]byte, parts)
	for i, m := range split {
		out[i], _ = json.Marshal(m)
	}
	return out
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// meta is the metadata object of a checkpoint: offsets, and the state's parts
// with their checksums.
type meta struct {
	Batch  int        `json:"batch"`
	Time   int64      `json:"time"`
	Offset int64      `json:"offset"`
	Parts  []partMeta `json:"parts"`
}

type partMeta struct {
	Key    string `json:"key"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// written is the checkpoint file a protocol wrote, as Spark's
// CheckpointWriter reports it.
type written struct {
	key   string
	bytes int
}

// protocol is a way to write and read checkpoints.
type protocol interface {
	// write makes one attempt at a checkpoint, and names the checkpoint file
	// it wrote last (the metadata or manifest) and its size.
	write(ctx context.Context, s snapshot, attempt int) (written, error)
	// recover returns the newest checkpoint the protocol trusts, nil for none.
	recover(ctx context.Context) (*snapshot, error)
}

func protocolFor(c *Context) protocol {
	if c.on(safeguard.ManifestCommit) {
		return &manifestProtocol{c: c}
	}
	return &sparkProtocol{c: c, validate: c.on(safeguard.ValidateOnRecovery)}
}

// writeCheckpoint makes up to three attempts, as Spark's CheckpointWriter:
// a failure is a warning, and the stream moves on.
func (c *Context) writeCheckpoint(ctx context.Context, s snapshot) {
	start := time.Now()
	for attempt := 1; attempt <= 3; attempt++ {
		w, err := c.proto.write(ctx, s, attempt)
		if err == nil {
			// Spark's CheckpointWriter line. Its duration is wall time, as the
			// delays' are: scaled to the stream's time it would multiply the
			// S3 server's loopback latency too, and a fault-free stream would
			// read as one that cannot keep up.
			c.log.Info(fmt.Sprintf("Checkpoint for time %d ms saved to file '%s', took %d bytes and %d ms",
				s.Time, location(c.store, w.key), w.bytes, time.Since(start).Milliseconds()), "component", "streaming.CheckpointWriter")
			c.ev.Emit(events.Event{Kind: events.Checkpoint, Job: s.Batch, Outcome: "written", Message: fmt.Sprintf("checkpoint for time %d ms", s.Time),
				Metrics: map[string]float64{"ms": msOf(time.Since(start)), "attempts": float64(attempt)}})
			return
		}
		if ctx.Err() != nil {
			return
		}
		c.log.Warn(fmt.Sprintf("Error in attempt %d of writing checkpoint to '%s'", attempt, c.store), "component", "streaming.CheckpointWriter", "stack", err.Error())
	}
	c.log.Warn(fmt.Sprintf("Could not write checkpoint for time %d ms to '%s'", s.Time, c.store), "component", "streaming.CheckpointWriter")
	c.ev.Emit(events.Event{Kind: events.Checkpoint, Job: s.Batch, Outcome: "failed", Message: fmt.Sprintf("checkpoint for time %d ms", s.Time),
		Metrics: map[string]float64{"ms": msOf(time.Since(start))}})
}

// recover reads the newest checkpoint, logs what it found and records it.
func (c *Context) recover(ctx context.Context) (*snapshot, error) {
	s, err := c.proto.recover(ctx)
	c.store.Take()
	switch {
	case err != nil:
		c.ev.Emit(events.Event{Kind: events.Checkpoint, Outcome: "recovery-failed", Message: err.Error()})
		return nil, err
	case s == nil:
		c.log.Info(fmt.Sprintf("No checkpoint found in '%s': starting a new context", c.store), "component", "streaming.StreamingContext")
		c.ev.Emit(events.Event{Kind: events.Checkpoint, Outcome: "fresh-start", Message: "no checkpoint: a new context"})
		return nil, nil
	case s.Batch < 0:
		c.log.Info(fmt.Sprintf("No complete checkpoint in '%s': replaying the source from offset 0", c.store), "component", "streaming.StreamingContext")
		c.ev.Emit(events.Event{Kind: events.Checkpoint, Outcome: "replay-from-start", Message: "no complete checkpoint: replaying from offset 0"})
		return s, nil
	}
	c.log.Info(fmt.Sprintf("Recovered from checkpoint for time %d ms: batch %d, %d keys, replaying the source from offset %d", s.Time, s.Batch, len(s.State), s.Offset),
		"component", "streaming.StreamingContext")
	c.ev.Emit(events.Event{Kind: events.Checkpoint, Job: s.Batch, Outcome: "recovered",
		Message: fmt.Sprintf("checkpoint for time %d ms, offset %d", s.Time, s.Offset), Metrics: map[string]float64{"keys": float64(len(s.State)), "offset": float64(s.Offset)}})
	return s, nil
}

// timeOf parses the batch time at the end of a key ("checkpoint-1600000004000").
func timeOf(key, prefix string) (int64, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, false
	}
	t, err := strconv.ParseInt(rest, 10, 64)
	return t, err == nil
}

// getRetrying reads a key by name, retrying a 404 with backoff a bounded number
// of times: a key known to exist may be answered 404 for a while.
func getRetrying(ctx context.Context, st checkpoint.Store, key string, tries int) ([]byte, error) {
	wait := 40 * time.Millisecond
	var err error
	for i := 0; i < tries; i++ {
		var b []byte
		if b, err = st.Get(ctx, key); err == nil || !errors.Is(err, checkpoint.ErrNotFound) {
			return b, err
		}
		if i == tries-1 {
			break
		}
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
		wait *= 2
	}
	return nil, err
}

// sleep waits for d or the context's end.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readParts reads the parts a metadata object names, by key, and checks each
// against its checksum.
func readParts(ctx context.Context, st checkpoint.Store, m *meta, tries int) (map[string]int64, error) {
	state := map[string]int64{}
	for _, p := range m.Parts {
		b, err := getRetrying(ctx, st, p.Key, tries)
		if err != nil {
			return nil, err
		}
		if len(b) != p.Size || sum(b) != p.SHA256 {
			return nil, fmt.Errorf("part %s: checksum mismatch (%d bytes, want %d)", p.Key, len(b), p.Size)
		}
		if err := json.Unmarshal(b, &state); err != nil {
			return nil, fmt.Errorf("part %s: %w", p.Key, err)
		}
	}
	return state, nil
}

// location is a checkpoint file's full name in its store
// ("s3://ckpt/app/checkpoint-1600000008000").
func location(st fmt.Stringer, key string) string {
	return strings.TrimSuffix(st.String(), "/") + "/" + key
}
