package s3server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // s3:// checkpoint locations
	"github.com/faultbook/faultbook/minicluster/s3server"
)

// TestThrottleSpendsCreditsThenWaits: writes within the credits go at the
// burst rate; once they are spent, a write waits for the baseline to earn its
// bytes, and the fault reports that with its proof. A sham never waits.
func TestThrottleSpendsCreditsThenWaits(t *testing.T) {
	for _, sham := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		rec := &recorder{}
		th := &s3server.Throttle{BaselinePerGiB: 200 << 10, ProvisionedGiB: 1, BurstBps: 100 << 20, InitialCredits: 100 << 10, MaxCredits: 100 << 10, Sham: sham}
		srv, err := s3server.Start(s3server.Options{Throttle: th, Record: rec.add, Buckets: []string{"bkt"}})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		st, err := checkpoint.Open("s3://bkt/p", checkpoint.Options{Endpoint: srv.Endpoint, AccessKey: s3server.AccessKey, SecretKey: s3server.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		body := make([]byte, 60<<10)
		if err := st.Put(ctx, "a", body); err != nil { // within the credits
			t.Fatal(err)
		}
		if h := rec.hits(); len(h) != 0 {
			t.Fatalf("sham=%v: a write within the credits was slowed: %q", sham, h)
		}
		start := time.Now()
		if err := st.Put(ctx, "b", body); err != nil { // 20 KiB short: 100 ms at the baseline
			t.Fatal(err)
		}
		took := time.Since(start)
		h := rec.hits()
		switch {
		case sham && len(h) != 0:
			t.Fatalf("a sham reported hits: %q", h)
		case sham:
			if why, ok := srv.ThrottleNoEffect(); !ok || !strings.Contains(why, "sham") {
				t.Fatalf("sham: no-effect report %q, %v", why, ok)
			}
		case took < 80*time.Millisecond:
			t.Fatalf("the write beyond the credits took %s, want at least the baseline's 100 ms", took)
		case len(h) == 0 || !strings.Contains(h[0], "burst credits exhausted"):
			t.Fatalf("hits %q do not prove the wait", h)
		}
		resp, err := http.Get("http://" + srv.Endpoint + s3server.MetricsPath)
		if err != nil {
			t.Fatal(err)
		}
		var m s3server.Metrics
		err = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if err != nil || !m.Throttled || m.BurstCreditBalance > 100<<10 {
			t.Fatalf("metrics %+v, %v", m, err)
		}
	}
}

func metrics(t *testing.T, srv *s3server.Server) s3server.Metrics {
	t.Helper()
	resp, err := http.Get("http://" + srv.Endpoint + s3server.MetricsPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m s3server.Metrics
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestThrottleMetersStoredSize: the baseline follows the file system's
// metered size, the provisioned size plus the bytes stored through it, as on
// EFS: a write raises it, a copy adds its destination, a delete lowers it.
func TestThrottleMetersStoredSize(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	const perGiB = 50 << 10
	th := &s3server.Throttle{BaselinePerGiB: perGiB, ProvisionedGiB: 0.5, BurstBps: 100 << 20, InitialCredits: 10 << 20, MaxCredits: 10 << 20}
	srv, err := s3server.Start(s3server.Options{Throttle: th, Buckets: []string{"bkt"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	st, err := checkpoint.Open("s3://bkt/p", checkpoint.Options{Endpoint: srv.Endpoint, AccessKey: s3server.AccessKey, SecretKey: s3server.SecretKey})
	if err != nil {
		t.Fatal(err)
	}
	want := func(stored float64) {
		t.Helper()
		m := metrics(t, srv)
		metered := 0.5*(1<<30) + stored
		if m.MeteredBytes != metered || m.BaselineBps != perGiB*metered/(1<<30) {
			t.Fatalf("with %.0f bytes stored: metered %.0f, baseline %.3f B/s; want %.0f and %.3f", stored, m.MeteredBytes, m.BaselineBps, metered, perGiB*metered/(1<<30))
		}
	}
	want(0)
	if err := st.Put(ctx, "a", make([]byte, 300<<10)); err != nil {
		t.Fatal(err)
	}
	want(300 << 10)
	if err := st.Put(ctx, "a", make([]byte, 100<<10)); err != nil { // overwritten: the old bytes are gone
		t.Fatal(err)
	}
	want(100 << 10)
	if err := st.Rename(ctx, "a", "b"); err != nil { // a copy, then a delete
		t.Fatal(err)
	}
	want(100 << 10)
	if err := st.Delete(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	want(0)
}

// TestThrottleNoEffectSaysWhy: a load the baseline covers leaves the credits
// higher than they began, and the no-effect report says so; a load the
// credits only cover says they never ran out.
func TestThrottleNoEffectSaysWhy(t *testing.T) {
	for _, tc := range []struct {
		name   string
		perGiB float64
		grew   bool
		phrase string
	}{
		{"baseline covers the load", 100 << 20, true, "the burst credits grew"},
		{"credits cover the load", 1, false, "the burst credits never ran out"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		th := &s3server.Throttle{BaselinePerGiB: tc.perGiB, ProvisionedGiB: 1, BurstBps: 100 << 20, InitialCredits: 1 << 20, MaxCredits: 2 << 20}
		srv, err := s3server.Start(s3server.Options{Throttle: th, Buckets: []string{"bkt"}})
		if err != nil {
			t.Fatal(err)
		}
		st, err := checkpoint.Open("s3://bkt/p", checkpoint.Options{Endpoint: srv.Endpoint, AccessKey: s3server.AccessKey, SecretKey: s3server.SecretKey})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, "a", make([]byte, 64<<10)); err != nil {
			t.Fatal(err)
		}
		// At 100 MiB/s the baseline earns the write back within a
		// millisecond: wait for the balance to climb past where it began.
		for tc.grew && metrics(t, srv).BurstCreditBalance < 1<<20 && ctx.Err() == nil {
			runtime.Gosched()
		}
		why, ok := srv.ThrottleNoEffect()
		if !ok || !strings.Contains(why, tc.phrase) {
			t.Errorf("%s: no-effect %q, %v; want %q", tc.name, why, ok, tc.phrase)
		}
		srv.Close()
		cancel()
	}
}
