package stream

import (
	"context"
	"io"
	"log/slog"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // s3:// checkpoint locations
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/s3server"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/spec"
)

type fakeRuntime struct{ set safeguard.Set }

func (fakeRuntime) RunJob(context.Context, job.Job) ([][]any, error) { return nil, nil }
func (fakeRuntime) Params() job.Params                               { return job.Params{} }
func (r fakeRuntime) Env() job.Env {
	return job.Env{Spec: &spec.Spec{Safeguards: r.set}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func TestRangeCoversTheBatch(t *testing.T) {
	for _, n := range []int{1, 3, 4, 7} {
		tc := &job.TaskContext{Params: job.Params{Values: map[string]string{ParamFrom: "1000", ParamUntil: "13001", ParamPartitions: strconv.Itoa(n)}}}
		next := int64(1000)
		for p := range n {
			from, until := Range(tc, p)
			if from != next || until < from {
				t.Fatalf("%d partitions: partition %d reads [%d, %d), want it to start at %d", n, p, from, until, next)
			}
			next = until
		}
		if next != 13001 {
			t.Fatalf("%d partitions end at %d, want 13001", n, next)
		}
	}
}

func TestJobForValidates(t *testing.T) {
	g := NewGraph("messages", 4).Map("parse").Filter("f").ReduceByKey("c", "r", 2)
	j := g.jobFor(Batch{Index: 3, Time: ZeroTime + 16000, From: 36000, Until: 48000})
	if err := j.Validate(); err != nil {
		t.Fatal(err)
	}
	if j.Params[ParamFrom] != "36000" || j.Params[ParamUntil] != "48000" || len(j.Stages) != 2 {
		t.Fatalf("job %+v", j)
	}
	if got := NewGraph("m", 1).Outputs(); got != 0 {
		t.Fatalf("a new graph has %d outputs", got)
	}
}

// stores returns a local directory and an S3 store (optionally eventually
// consistent), fresh.
func stores(t *testing.T, cons *s3server.Consistency) map[string]string {
	t.Helper()
	srv, err := s3server.Start(s3server.Options{Buckets: []string{"ckpt"}, Consistency: cons})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	t.Setenv("AWS_ENDPOINT_URL", "http://"+srv.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", s3server.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3server.SecretKey)
	return map[string]string{"dir": "file://" + t.TempDir(), "s3": "s3://ckpt/app"}
}

func newContext(t *testing.T, loc string, set safeguard.Set) *Context {
	t.Helper()
	c, err := New(fakeRuntime{set}, NewGraph("m", 1), Config{BatchInterval: 4 * time.Second, TimeScale: 100, Rate: 10, Batches: 10,
		CheckpointEvery: 2, Checkpoint: loc, Store: checkpoint.Options{}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func snap(batch int) snapshot {
	st := map[string]int64{}
	for i := range 9 {
		st["user-"+strconv.Itoa(i)] = int64(batch*100 + i)
	}
	return snapshot{Batch: batch, Time: ZeroTime + int64(batch+1)*4000, Offset: int64(batch+1) * 40, State: st}
}

func TestProtocolsRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, loc := range stores(t, nil) {
		for _, set := range []safeguard.Set{{}, {safeguard.ValidateOnRecovery: true}, {safeguard.ManifestCommit: true}} {
			t.Run(name+"/"+label(set), func(t *testing.T) {
				loc := loc + "/" + label(set)
				w := newContext(t, loc, set)
				if s, err := w.proto.recover(ctx); err != nil || (s != nil && s.Batch >= 0) {
					t.Fatalf("recover from an empty store = %+v, %v", s, err)
				}
				for _, b := range []int{1, 3, 5} {
					if _, err := w.proto.write(ctx, snap(b), 1); err != nil {
						t.Fatalf("write batch %d: %v", b, err)
					}
				}
				got, err := newContext(t, loc, set).proto.recover(ctx)
				if err != nil || got == nil {
					t.Fatalf("recover = %v, %v", got, err)
				}
				if want := snap(5); got.Batch != want.Batch || got.Offset != want.Offset || !maps.Equal(got.State, want.State) {
					t.Fatalf("recovered %+v, want %+v", got, want)
				}
			})
		}
	}
}

func label(set safeguard.Set) string {
	if n := set.Names(); len(n) > 0 {
		return n[0]
	}
	return "unguarded"
}

// TestRecoveryOnALaggingList: every write lags in listings for a minute. The
// unguarded reader sees no checkpoint; the manifest reader finds the newest by
// key, and the validating reader replays from offset 0 rather than skip.
func TestRecoveryOnALaggingList(t *testing.T) {
	ctx := context.Background()
	loc := stores(t, &s3server.Consistency{Lag: time.Minute, P: 1, Seed: 1})["s3"]
	for _, tc := range []struct {
		set       safeguard.Set
		wantBatch int // -2: nothing found
	}{
		{safeguard.Set{}, -2},
		{safeguard.Set{safeguard.ValidateOnRecovery: true}, -1},
		{safeguard.Set{safeguard.ManifestCommit: true}, 5},
	} {
		t.Run(label(tc.set), func(t *testing.T) {
			loc := loc + "/" + label(tc.set)
			w := newContext(t, loc, tc.set)
			for _, b := range []int{1, 3, 5} {
				if _, err := w.proto.write(ctx, snap(b), 1); err != nil && tc.set.On(safeguard.ManifestCommit) {
					t.Fatalf("write batch %d: %v", b, err)
				}
			}
			got, err := newContext(t, loc, tc.set).proto.recover(ctx)
			if err != nil {
				t.Fatal(err)
			}
			batch := -2
			if got != nil {
				batch = got.Batch
			}
			if batch != tc.wantBatch {
				t.Fatalf("recovered batch %d, want %d", batch, tc.wantBatch)
			}
			if batch == 5 && !maps.Equal(got.State, snap(5).State) {
				t.Fatalf("recovered state %v", got.State)
			}
		})
	}
}

// TestValidateFallsBackFromAnIncompleteCheckpoint: the newest checkpoint lost
// a part; the validating reader recovers the one before, the unguarded reader
// fails or reads it short.
func TestValidateFallsBackFromAnIncompleteCheckpoint(t *testing.T) {
	ctx := context.Background()
	loc := "file://" + t.TempDir()
	set := safeguard.Set{safeguard.ValidateOnRecovery: true}
	w := newContext(t, loc, set)
	for _, b := range []int{1, 3} {
		if _, err := w.proto.write(ctx, snap(b), 1); err != nil {
			t.Fatal(err)
		}
	}
	// Restore the older checkpoint's state, deleted by the writer's cleanup,
	// then lose the last part of the newest.
	old := snap(1)
	for i, b := range encodeParts(old.State, w.cfg.Parts) {
		_ = w.store.Put(ctx, stateDir(old.Time)+"part-0000"+strconv.Itoa(i), b)
	}
	if err := w.store.Delete(ctx, stateDir(snap(3).Time)+"part-00003"); err != nil {
		t.Fatal(err)
	}
	got, err := newContext(t, loc, set).proto.recover(ctx)
	if err != nil || got == nil || got.Batch != 1 || !maps.Equal(got.State, old.State) {
		t.Fatalf("validating recovery = %+v, %v; want batch 1", got, err)
	}
	got, err = newContext(t, loc, safeguard.Set{}).proto.recover(ctx)
	if err == nil && got != nil && maps.Equal(got.State, snap(3).State) {
		t.Fatal("the unguarded reader recovered the full state from an incomplete checkpoint")
	}
}
