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
// spent a transfer waits until the baseline has earned what it owes.
type Throttle struct {
	// BaselineBps is the rate credits are earned at (bytes per second).
	BaselineBps float64
	// BurstBps is the ceiling while credits last.
	BurstBps float64
	// MaxCredits caps the balance; the balance starts at InitialCredits.
	MaxCredits     float64
	InitialCredits float64

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

// transfer blocks for as long as moving n bytes takes under the model. The
// store serves one transfer at a time, as one file system's throughput is
// shared by every client.
func (t *Throttle) transfer(n int64) {
	if n <= 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refill(time.Now())
	t.credits -= float64(n)
	wait := float64(n) / t.BurstBps
	if t.credits < 0 && t.BaselineBps > 0 {
		wait = max(wait, -t.credits/t.BaselineBps)
	}
	d := time.Duration(wait * float64(time.Second))
	time.Sleep(d)
	t.refill(time.Now())
}

// reader meters a body as it is read, in chunks.
func (t *Throttle) reader(rc io.ReadCloser) io.ReadCloser { return &meteredReader{rc: rc, t: t} }

type meteredReader struct {
	rc io.ReadCloser
	t  *Throttle
}

func (m *meteredReader) Read(p []byte) (int, error) {
	n, err := m.rc.Read(p)
	m.t.transfer(int64(n))
	return n, err
}

func (m *meteredReader) Close() error { return m.rc.Close() }
