package checkpoint_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // s3:// checkpoint locations
	"github.com/faultbook/faultbook/minicluster/s3server"
)

// backends returns each store under test, fresh.
func backends(t *testing.T) map[string]checkpoint.Store {
	t.Helper()
	dir, err := checkpoint.Open("file://"+t.TempDir(), checkpoint.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := s3server.Start(s3server.Options{Buckets: []string{"ckpt"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s3, err := checkpoint.Open("s3://ckpt/app-1", checkpoint.Options{Endpoint: srv.Endpoint, AccessKey: s3server.AccessKey, SecretKey: s3server.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]checkpoint.Store{"dir": dir, "s3": s3}
}

func TestStoreBackends(t *testing.T) {
	for name, st := range backends(t) {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := st.Get(ctx, "absent"); !errors.Is(err, checkpoint.ErrNotFound) {
				t.Fatalf("Get(absent) = %v, want ErrNotFound", err)
			}
			if ok, err := st.Exists(ctx, "absent"); ok || err != nil {
				t.Fatalf("Exists(absent) = %v, %v", ok, err)
			}
			for _, k := range []string{"checkpoint-2", "checkpoint-1", "state-1/part-00000", "temp"} {
				if err := st.Put(ctx, k, []byte("v:"+k)); err != nil {
					t.Fatal(err)
				}
			}
			if err := st.Put(ctx, "checkpoint-1", []byte("overwritten")); err != nil {
				t.Fatal(err)
			}
			if b, err := st.Get(ctx, "checkpoint-1"); err != nil || string(b) != "overwritten" {
				t.Fatalf("Get(checkpoint-1) = %q, %v", b, err)
			}
			if err := st.Rename(ctx, "temp", "checkpoint-3"); err != nil {
				t.Fatal(err)
			}
			if err := st.Rename(ctx, "temp", "checkpoint-4"); !errors.Is(err, checkpoint.ErrNotFound) {
				t.Fatalf("Rename of a moved key = %v, want ErrNotFound", err)
			}
			keys, err := st.List(ctx, "checkpoint-")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"checkpoint-1", "checkpoint-2", "checkpoint-3"}; !slices.Equal(keys, want) {
				t.Fatalf("List = %v, want %v", keys, want)
			}
			if b, _ := st.Get(ctx, "checkpoint-3"); string(b) != "v:temp" {
				t.Fatalf("renamed object holds %q", b)
			}
			if err := st.Delete(ctx, "checkpoint-2"); err != nil {
				t.Fatal(err)
			}
			if err := st.Delete(ctx, "checkpoint-2"); err != nil {
				t.Fatalf("deleting an absent key: %v", err)
			}
			all, _ := st.List(ctx, "")
			if want := []string{"checkpoint-1", "checkpoint-3", "state-1/part-00000"}; !slices.Equal(all, want) {
				t.Fatalf("List(\"\") = %v, want %v", all, want)
			}
		})
	}
}

func TestOpenRefusesBadLocations(t *testing.T) {
	for _, loc := range []string{"", "s3://", "gs://bucket/x", "s3:///nobucket"} {
		if _, err := checkpoint.Open(loc, checkpoint.Options{Endpoint: "127.0.0.1:1"}); !errors.Is(err, checkpoint.ErrLocation) {
			t.Errorf("Open(%q) = %v, want ErrLocation", loc, err)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	if _, err := checkpoint.Open("s3://b/p", checkpoint.Options{}); !errors.Is(err, checkpoint.ErrLocation) {
		t.Errorf("s3 without endpoint: %v", err)
	}
}
