package s3server

import (
	"io"
	"sync"
	"time"
)

// gib is a gibibyte in bytes.
const gib = 1 << 30

// Throttle is the throughput of a store in bursting mode, as Amazon EFS meters
// it: a baseline rate proportional to the file system's metered size, bursts
// up to a ceiling while burst credits last, and credits earned at the baseline
// rate. It is a token bucket on the data path: every byte read or written
// spends a credit, transfers never run faster than the burst ceiling, and once
// the credits are spent a transfer waits until the baseline has earned what it
// owes. The metered size is ProvisionedGiB plus the bytes the store holds now,
// so writing raises the baseline and deleting lowers it, as on EFS. Rates are
// in bytes per second of wall time (the harness scales them with the run's
// time compression).
type Throttle struct {
	// BaselinePerGiB is the rate credits are earned at per GiB of metered
	// size (bytes per second).
	BaselinePerGiB float64
	// ProvisionedGiB is what the file system holds besides the objects
	// written through this store: other data, or the large junk file the
	// seed's author wrote to raise the baseline.
	ProvisionedGiB float64
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
	stored  int64 // bytes the store holds
}

// baseline is the rate at the current metered size; t.mu is held.
func (t *Throttle) baseline() float64 {
	return t.BaselinePerGiB * (t.ProvisionedGiB + float64(t.stored)/gib)
}

func (t *Throttle) refill(now time.Time) {
	if !t.started {
		t.started, t.credits, t.last = true, t.InitialCredits, now
		return
	}
	t.credits = min(t.credits+t.baseline()*now.Sub(t.last).Seconds(), t.MaxCredits)
	t.last = now
}

// Baseline returns the baseline rate at the current metered size (bytes per
// second).
func (t *Throttle) Baseline() float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.baseline()
}

// Stored returns the bytes the store holds, which with ProvisionedGiB make
// the metered size.
func (t *Throttle) Stored() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stored
}

// resize records that the store now holds delta bytes more (or fewer): the
// time until now earned credits at the old size, from now on at the new one.
func (t *Throttle) resize(delta int64) {
	if delta == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started {
		t.refill(time.Now())
	}
	t.stored = max(t.stored+delta, 0)
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
	if b := t.baseline(); t.credits < 0 && b > 0 {
		wait = max(wait, -t.credits/b)
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
