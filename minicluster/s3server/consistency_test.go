package s3server_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // s3:// checkpoint locations
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/s3server"
)

type recorder struct {
	mu  sync.Mutex
	evs []events.Event
}

func (r *recorder) add(e events.Event) { r.mu.Lock(); r.evs = append(r.evs, e); r.mu.Unlock() }

func (r *recorder) hits() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.evs {
		if e.Kind == events.FaultHit {
			out = append(out, e.Message)
		}
	}
	return out
}

func start(t *testing.T, c *s3server.Consistency) (checkpoint.Store, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv, err := s3server.Start(s3server.Options{Consistency: c, Record: rec.add, Buckets: []string{"bkt"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	st, err := checkpoint.Open("s3://bkt/ckpt", checkpoint.Options{Endpoint: srv.Endpoint, AccessKey: s3server.AccessKey, SecretKey: s3server.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return st, rec
}

func TestEventualConsistency(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const lag = 400 * time.Millisecond
	st, rec := start(t, &s3server.Consistency{Lag: lag, Seed: 7})
	if err := st.Put(ctx, "old", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.Exists(ctx, "fresh"); ok { // asked for before it exists
		t.Fatal("fresh exists before it was written")
	}
	written := time.Now()
	if err := st.Put(ctx, "fresh", []byte("y")); err != nil {
		t.Fatal(err)
	}
	keys, err := st.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(written) < lag/4 && slices.Contains(keys, "fresh") {
		t.Fatalf("LIST right after the write shows the fresh key: %v", keys)
	}
	if _, err := st.Get(ctx, "fresh"); time.Since(written) < lag/4 && !errors.Is(err, checkpoint.ErrNotFound) {
		t.Fatalf("GET of a key asked for before it existed = %v, want 404 within its lag", err)
	}
	hits := rec.hits()
	if len(hits) < 2 || !strings.Contains(hits[0], "LIST of ckpt/ omitted ckpt/fresh written") || !strings.Contains(hits[1], "GET of ckpt/fresh answered 404") {
		t.Fatalf("fault events do not prove the effects: %q", hits)
	}
	// Once the lag has passed, both see the key.
	for time.Since(written) < lag {
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(lag - time.Since(written)):
		}
	}
	if keys, _ := st.List(ctx, ""); !slices.Contains(keys, "fresh") {
		t.Fatalf("LIST after the lag: %v", keys)
	}
	if b, err := st.Get(ctx, "fresh"); err != nil || string(b) != "y" {
		t.Fatalf("GET after the lag = %q, %v", b, err)
	}
}

func TestEventualConsistencySham(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, rec := start(t, &s3server.Consistency{Lag: time.Minute, Seed: 7, Sham: true})
	_, _ = st.Exists(ctx, "k")
	if err := st.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.List(ctx, ""); !slices.Contains(keys, "k") {
		t.Fatalf("a sham fault hid a key: %v", keys)
	}
	if _, err := st.Get(ctx, "k"); err != nil {
		t.Fatalf("a sham fault failed a GET: %v", err)
	}
	if h := rec.hits(); len(h) != 0 {
		t.Fatalf("a sham fault reported hits: %q", h)
	}
}

func TestNoConsistencyFaultIsStrong(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, rec := start(t, nil)
	_, _ = st.Exists(ctx, "k")
	if err := st.Put(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if keys, _ := st.List(ctx, ""); !slices.Equal(keys, []string{"k"}) {
		t.Fatalf("LIST = %v", keys)
	}
	if len(rec.hits()) != 0 {
		t.Fatal("hits without a fault")
	}
	ops := 0
	for _, e := range rec.evs {
		if e.Kind == events.StoreOp {
			ops++
		}
	}
	if ops < 3 {
		t.Fatalf("recorded %d store ops, want every request", ops)
	}
}
