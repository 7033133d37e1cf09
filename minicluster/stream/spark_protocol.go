package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
)

// sparkProtocol checkpoints as Spark Streaming over Hadoop's S3 connector did:
// the state is an RDD checkpoint (each part written to a temporary name and
// renamed, the directory listed to count the parts), the metadata a file
// written to "temp" and renamed to checkpoint-<time>; older checkpoints are
// found by listing and deleted. Every create and rename first asks for the
// keys' status (a HEAD), as the connector did. Recovery lists the directory,
// reads the newest metadata and lists the state directory it names.
//
// With validate set (the validate-on-recovery safeguard) recovery instead
// reads the parts the metadata names, by key, checks their checksums and falls
// back to older checkpoints, or to offset 0, when one is incomplete.
type sparkProtocol struct {
	c        *Context
	validate bool
}

const (
	sparkMetaPrefix  = "checkpoint-"
	sparkStatePrefix = "state-"
	sparkKeep        = 10 // checkpoint files kept, as Spark's CheckpointWriter
)

func stateDir(t int64) string { return fmt.Sprintf("%s%d/", sparkStatePrefix, t) }

// create writes a new object as Hadoop's create() on S3: status, then PUT.
func (p *sparkProtocol) create(ctx context.Context, key string, data []byte) error {
	if _, err := p.c.store.Exists(ctx, key); err != nil {
		return err
	}
	return p.c.store.Put(ctx, key, data)
}

// rename is Hadoop's rename() on S3: the status of both ends, then copy and delete.
func (p *sparkProtocol) rename(ctx context.Context, src, dst string) error {
	ok, err := p.c.store.Exists(ctx, src)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("rename %s to %s: java.io.FileNotFoundException: No such file or directory: %s%s", src, dst, p.c.store, src)
	}
	if _, err := p.c.store.Exists(ctx, dst); err != nil {
		return err
	}
	return p.c.store.Rename(ctx, src, dst)
}

func (p *sparkProtocol) write(ctx context.Context, s snapshot, attempt int) (written, error) {
	st := p.c.store
	dir := stateDir(s.Time)
	m := meta{Batch: s.Batch, Time: s.Time, Offset: s.Offset}
	parts := encodeParts(s.State, p.c.cfg.Parts)
	p.c.alarm.bytes = 0
	for i, b := range parts {
		p.c.alarm.bytes += 3 * len(b) // written, then read and written again by the rename
		final := fmt.Sprintf("%spart-%05d", dir, i)
		tmp := fmt.Sprintf("%s.part-%05d-attempt-%d", dir, i, attempt)
		if err := p.create(ctx, tmp, b); err != nil {
			return written{}, fmt.Errorf("checkpoint RDD part %d: %w", i, err)
		}
		if err := p.rename(ctx, tmp, final); err != nil {
			return written{}, fmt.Errorf("checkpoint RDD part %d: %w", i, err)
		}
		m.Parts = append(m.Parts, partMeta{Key: final, SHA256: sum(b), Size: len(b)})
	}
	// ReliableCheckpointRDD: the directory must now hold every part.
	keys, err := st.List(ctx, dir)
	if err != nil {
		return written{}, err
	}
	if n := len(partKeys(keys)); n != len(parts) {
		return written{}, fmt.Errorf("org.apache.spark.SparkException: Checkpoint RDD has a different number of partitions from original RDD. Original RDD [num of partitions: %d]; Checkpoint RDD [num of partitions: %d]", len(parts), n)
	}
	b, _ := json.Marshal(m)
	if err := p.create(ctx, "temp", b); err != nil {
		return written{}, err
	}
	file := fmt.Sprintf("%s%d", sparkMetaPrefix, s.Time)
	if err := p.rename(ctx, "temp", file); err != nil {
		return written{}, err
	}
	p.cleanup(ctx, s.Time)
	return written{key: file, bytes: len(b)}, nil
}

// cleanup deletes all but the newest checkpoint files, and the state of
// checkpoints older than the one just written, as found by listing.
func (p *sparkProtocol) cleanup(ctx context.Context, newest int64) {
	st := p.c.store
	if keys, err := st.List(ctx, sparkMetaPrefix); err == nil {
		metas := metaKeys(keys)
		for len(metas) > sparkKeep {
			_ = st.Delete(ctx, metas[0])
			metas = metas[1:]
		}
	}
	if keys, err := st.List(ctx, sparkStatePrefix); err == nil {
		for _, k := range keys {
			dir, _, _ := strings.Cut(k, "/")
			if t, ok := timeOf(dir, sparkStatePrefix); ok && t < newest {
				_ = st.Delete(ctx, k)
			}
		}
	}
}

// metaKeys keeps the checkpoint-<time> keys, oldest first.
func metaKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if _, ok := timeOf(k, sparkMetaPrefix); ok {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, _ := timeOf(out[i], sparkMetaPrefix)
		b, _ := timeOf(out[j], sparkMetaPrefix)
		return a < b
	})
	return out
}

// partKeys keeps the part-NNNNN keys of a state directory, in order.
func partKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if i := strings.LastIndex(k, "/part-"); i >= 0 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (p *sparkProtocol) recover(ctx context.Context) (*snapshot, error) {
	st, log := p.c.store, p.c.log
	keys, err := st.List(ctx, sparkMetaPrefix)
	if err != nil {
		return nil, fmt.Errorf("list checkpoint directory %s: %w", st, err)
	}
	metas := metaKeys(keys)
	slices.Reverse(metas)
	if len(metas) == 0 {
		if p.validate {
			// An empty listing proves nothing on this store: replay the
			// source rather than start at its end.
			return fromStart(), nil
		}
		return nil, nil
	}
	for _, k := range metas {
		b, err := st.Get(ctx, k)
		var m meta
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		if err != nil {
			log.Warn(fmt.Sprintf("Error reading checkpoint from file %s%s", st, k), "component", "streaming.CheckpointReader", "stack", err.Error())
			continue
		}
		log.Info(fmt.Sprintf("Checkpoint successfully read from file %s%s", st, k), "component", "streaming.CheckpointReader")
		var state map[string]int64
		if p.validate {
			state, err = readParts(ctx, st, &m, 5)
			if err != nil {
				log.Warn(fmt.Sprintf("Checkpoint for time %d ms is incomplete (%v): falling back to an older checkpoint", m.Time, err), "component", "streaming.CheckpointReader")
				p.c.fired(safeguardValidate, fmt.Sprintf("checkpoint %s%s failed validation: %v; falling back to the last complete checkpoint", st, k, err))
				continue
			}
		} else if state, err = p.readListed(ctx, stateDir(m.Time)); err != nil {
			return nil, err
		}
		return &snapshot{Batch: m.Batch, Time: m.Time, Offset: m.Offset, State: state}, nil
	}
	if p.validate {
		p.c.fired(safeguardValidate, fmt.Sprintf("no complete checkpoint among %d in %s: replaying the source from offset 0", len(metas), st))
		return fromStart(), nil
	}
	return nil, fmt.Errorf("org.apache.spark.SparkException: Failed to read checkpoint from directory %s", st)
}

// readListed reads a state directory as ReliableCheckpointRDD does: its
// partitions are the part files a listing shows, which must be numbered
// 0, 1, 2, … without a gap.
func (p *sparkProtocol) readListed(ctx context.Context, dir string) (map[string]int64, error) {
	st := p.c.store
	keys, err := st.List(ctx, dir)
	if err != nil {
		return nil, err
	}
	parts := partKeys(keys)
	if len(parts) == 0 {
		return nil, fmt.Errorf("org.apache.spark.SparkException: Checkpoint RDD directory does not exist or is empty: %s%s", st, dir)
	}
	state := map[string]int64{}
	for i, k := range parts {
		if want := fmt.Sprintf("%spart-%05d", dir, i); k != want {
			return nil, fmt.Errorf("org.apache.spark.SparkException: Invalid checkpoint file: %s%s", st, k)
		}
		b, err := st.Get(ctx, k)
		if errors.Is(err, checkpoint.ErrNotFound) {
			return nil, fmt.Errorf("java.io.FileNotFoundException: No such file or directory: %s%s (reading the checkpoint RDD)", st, k)
		}
		if err != nil {
			return nil, fmt.Errorf("read checkpoint RDD %s%s: %w", st, k, err)
		}
		if err := json.Unmarshal(b, &state); err != nil {
			return nil, fmt.Errorf("read checkpoint RDD %s%s: %w", st, k, err)
		}
	}
	return state, nil
}
