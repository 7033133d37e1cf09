package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
)

// manifestProtocol is the manifest-commit safeguard: a checkpoint's parts are
// written under their final names (no rename), then a manifest naming each
// part with its checksum is written last, so a manifest that exists describes a
// complete checkpoint. Recovery takes LIST only as a hint: it reads manifests
// by key, probing past the newest one listed, reads parts by key with bounded
// retries, checks every checksum, and falls back to an older manifest (or to
// offset 0) when one does not check out.
type manifestProtocol struct {
	c *Context
	// written are the newest manifests this driver knows, oldest first: their
	// parts are kept.
	written []meta
}

const (
	manifestPrefix = "manifest-"
	// probeMisses bounds the probing for manifests past the newest listed.
	probeMisses = 3
	// keepParts is how many checkpoints keep their parts.
	keepParts = 2
)

func (p *manifestProtocol) write(ctx context.Context, s snapshot, _ int) (written, error) {
	st := p.c.store
	m := meta{Batch: s.Batch, Time: s.Time, Offset: s.Offset}
	p.c.alarm.bytes = 0
	for i, b := range encodeParts(s.State, p.c.cfg.Parts) {
		p.c.alarm.bytes += len(b)
		key := fmt.Sprintf("ckpt-%d/part-%05d", s.Time, i)
		if err := st.Put(ctx, key, b); err != nil {
			return written{}, err
		}
		m.Parts = append(m.Parts, partMeta{Key: key, SHA256: sum(b), Size: len(b)})
	}
	b, _ := json.Marshal(m)
	file := fmt.Sprintf("%s%d", manifestPrefix, s.Time)
	if err := st.Put(ctx, file, b); err != nil {
		return written{}, err
	}
	p.written = append(p.written, m)
	if len(p.written) > keepParts {
		p.written = p.written[len(p.written)-keepParts:]
	}
	p.collect(ctx, p.written[0].Time)
	return written{key: file, bytes: len(b)}, nil
}

// collect deletes the parts of checkpoints older than cutoff. It lists to
// find them: a key the listing misses is garbage left for the next round,
// never a correctness problem, since nothing is read by listing.
func (p *manifestProtocol) collect(ctx context.Context, cutoff int64) {
	keys, err := p.c.store.List(ctx, "ckpt-")
	if err != nil {
		return
	}
	for _, k := range keys {
		dir, _, _ := strings.Cut(k, "/")
		if t, ok := timeOf(dir, "ckpt-"); ok && t < cutoff {
			_ = p.c.store.Delete(ctx, k)
		}
	}
}

func (p *manifestProtocol) recover(ctx context.Context) (*snapshot, error) {
	st, log := p.c.store, p.c.log
	step := p.c.cfg.BatchInterval.Milliseconds() * int64(max(p.c.cfg.CheckpointEvery, 1))
	// LIST as a hint of where to start.
	var times []int64
	keys, err := st.List(ctx, manifestPrefix)
	if err != nil {
		log.Warn("Listing manifests failed; probing by key: "+err.Error(), "component", "streaming.CheckpointReader")
	}
	for _, k := range keys {
		if t, ok := timeOf(k, manifestPrefix); ok {
			times = append(times, t)
		}
	}
	newest := ZeroTime
	if len(times) > 0 {
		newest = slices.Max(times)
	}
	probed := 0
	for t, misses := newest+step, 0; misses < probeMisses; t += step {
		if _, err := st.Get(ctx, fmt.Sprintf("%s%d", manifestPrefix, t)); err == nil {
			times, misses = append(times, t), 0
			probed++
		} else if errors.Is(err, checkpoint.ErrNotFound) {
			misses++
		} else {
			return nil, fmt.Errorf("probe manifest for time %d: %w", t, err)
		}
	}
	if probed > 0 {
		p.c.fired(safeguardManifest, fmt.Sprintf("LIST of %s%s missed %d manifest(s) that reading by key found; recovering from the newest complete one", st, manifestPrefix, probed))
	}
	slices.Sort(times)
	times = slices.Compact(times)
	slices.Reverse(times)
	for _, t := range times {
		key := fmt.Sprintf("%s%d", manifestPrefix, t)
		b, err := getRetrying(ctx, st, key, 4)
		var m meta
		if err == nil {
			err = json.Unmarshal(b, &m)
		}
		var state map[string]int64
		if err == nil {
			state, err = readParts(ctx, st, &m, 5)
		}
		if err != nil {
			log.Warn(fmt.Sprintf("Manifest %s%s does not check out (%v): falling back to an older one", st, key, err), "component", "streaming.CheckpointReader")
			p.c.fired(safeguardManifest, fmt.Sprintf("manifest %s%s incomplete: %v; falling back", st, key, err))
			continue
		}
		log.Info(fmt.Sprintf("Manifest %s%s read: %d parts verified", st, key, len(m.Parts)), "component", "streaming.CheckpointReader")
		p.written = append(p.written, m)
		return &snapshot{Batch: m.Batch, Time: m.Time, Offset: m.Offset, State: state}, nil
	}
	return fromStart(), nil
}
