package s3server

import (
	"io"
	"sync"
	"time"
)

// Throttle is the throughput of a store in bursting mode, as Amazon EFS meters
// it: a baseline rate proportional to the stored size, bursts up to a ceiling
// while burst credits last, and credits earned at the baseline rate. It is a
// token bucket on the data path: every byte read or written spends a credit,
// transfers never run faster than the burst ceiling, and once the credits are
// spent a transfer waits until the baseline has earned what it owes. Rates are
// in bytes per second of wall time (the harness scales them with the run's
// time compression).
type Throttle struct {
	// BaselineBps is the rate credits are earned at (bytes per second).
	BaselineBps float64
	// BurstBps is the ceiling while credits last.
	BurstBps float64
	// MaxCredits caps the balance; the balance starts at InitialCredits.
	MaxCredits     float64
	InitialCredits float64
	// Sham meters and reports as usual but never makes a transfer wait
	// beyond the burst rate.
	Sham bool
	// Scale is the time compression the rates include (stream seconds per
	// wall second), for messages in the stream's time. Default 1.
	Scale float64

	mu      sync.Mutex
	started bool
	credits float64
	last    time.Time
}

func (t *Throttle) refill(now time.Time) {
	if !t.started {
		t.started, t.credits, t.last = true, t.InitialCredits, now
		return
	}
	t.credits = min(t.credits+t.BaselineBps*now.Sub(t.last).Seconds(), t.MaxCredits)
	t.last = now
}

// Credits returns the current balance in bytes (negative: owed).
func (t *Throttle) Credits() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refill(time.Now())
	return t.credits
}

// transfer blocks for as long as moving n bytes takes under the model, and
// returns how much longer than at the burst rate that was. The store serves
// one transfer at a time, as one file system's throughput is shared by every
// client.
func (t *Throttle) transfer(n int64) (extra time.Duration) {
	if n <= 0 {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refill(time.Now())
	t.credits -= float64(n)
	burst := float64(n) / t.BurstBps
	wait := burst
	if t.credits < 0 && t.BaselineBps > 0 {
		wait = max(wait, -t.credits/t.BaselineBps)
	}
	if t.Sham {
		wait = burst
	}
	time.Sleep(time.Duration(wait * float64(time.Second)))
	t.refill(time.Now())
	return time.Duration((wait - burst) * float64(time.Second))
}

// reader meters a body as it is read, in chunks, and adds up the bytes and
// the time spent beyond the burst rate.
func (t *Throttle) reader(rc io.ReadCloser) *meteredReader { return &meteredReader{rc: rc, t: t} }

type meteredReader struct {
	rc    io.ReadCloser
	t     *Throttle
	n     int64
	extra time.Duration
}

func (m *meteredReader) Read(p []byte) (int, error) {
	n, err := m.rc.Read(p)
	m.n += int64(n)
	m.extra += m.t.transfer(int64(n))
	return n, err
}

func (m *meteredReader) Close() error { return m.rc.Close() }
