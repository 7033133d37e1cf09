package s3server

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
)

// MetricsPath serves the store's throughput metrics as JSON; Metrics is what
// it answers. Both are checkpoint's, so that a client reads them without
// linking the server.
const MetricsPath = checkpoint.MetricsPath

// Metrics is what MetricsPath answers.
type Metrics = checkpoint.StoreMetrics

func (l *layer) serveMetrics(w http.ResponseWriter, _ *http.Request) {
	m := Metrics{}
	if t := l.throttle; t != nil {
		m = Metrics{Throttled: true, BurstCreditBalance: t.Credits(), BaselineBps: t.Baseline(), BurstBps: t.BurstBps,
			MeteredBytes: t.ProvisionedGiB*gib + float64(t.Stored())}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(m)
}

// withMetrics routes MetricsPath to the metrics and everything else to S3.
func (l *layer) withMetrics(s3 http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+MetricsPath, l.serveMetrics)
	mux.Handle("/", s3)
	return mux
}

// throttled records a transfer the throughput model slowed beyond the burst
// rate: the effect of the throttled-store fault, with its proof.
func (l *layer) throttled(op, key string, n int64, extra time.Duration, start time.Time) {
	t := l.throttle
	l.mu.Lock()
	l.metered++
	if extra < time.Millisecond {
		l.mu.Unlock()
		return
	}
	l.slowed++
	l.mu.Unlock()
	scale := t.Scale
	if scale <= 0 {
		scale = 1
	}
	l.record(events.Event{Kind: events.FaultHit, Name: string(fault.ThrottledStore), Block: key,
		Message: fmt.Sprintf("%s %s (%.0f KiB) took %d ms, %d ms beyond the burst rate: burst credits exhausted (balance %.0f KiB), the baseline is %.0f KiB/s (compressed %.0f×)",
			op, key, float64(n)/1024, time.Since(start).Milliseconds(), extra.Milliseconds(), t.Credits()/1024, t.Baseline()/scale/1024, scale)})
}

// throttleNoEffect says, when the throughput model was on and never slowed a
// transfer, how many it metered, and whether the credits ended higher than
// they began.
func (l *layer) throttleNoEffect() (string, bool) {
	t := l.throttle
	if t == nil {
		return "", false
	}
	why := "the burst credits never ran out"
	if credits := t.Credits(); credits >= t.InitialCredits {
		why = fmt.Sprintf("the transfers moved less than the baseline earned: the burst credits grew from %.0f KiB to %.0f KiB", t.InitialCredits/1024, credits/1024)
	}
	return l.inert(&l.slowed, t.Sham, why, "sham: no transfer was made to wait",
		func() string {
			return fmt.Sprintf("the store metered %d transfers; none was slowed beyond the burst rate", l.metered)
		})
}

// throttledBody meters a GET's body and records the transfer when it is closed.
type throttledBody struct {
	*meteredReader
	l       *layer
	op, key string
	start   time.Time
}

func (b *throttledBody) Close() error {
	err := b.meteredReader.Close()
	b.l.throttled(b.op, b.key, b.n, b.extra, b.start)
	return err
}
