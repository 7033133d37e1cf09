package s3server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
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
		th := &s3server.Throttle{BaselineBps: 200 << 10, BurstBps: 100 << 20, InitialCredits: 100 << 10, MaxCredits: 100 << 10, Sham: sham}
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
