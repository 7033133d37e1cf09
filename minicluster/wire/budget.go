package wire

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// DefaultBudget is the process's budget for frames being received: two frames
// of MaxFrame. It bounds what all peers together can make a process allocate
// by announcing frames, however many connections they open; a link's own bound
// only limits one connection.
const DefaultBudget = 2 * MaxFrame

// Buffers given back with Recycle are kept for the next large frames:
// allocating a fresh payload for every block (zeroed, faulted in page by
// page, then collected) made reading an 8 MiB block over loopback take 10-25%
// longer than reading it into a buffer read into before. Only payloads of at least minRecycle bytes are
// kept, at most maxIdleBuffers of them, and their bytes stay charged to the
// budget while they wait, up to a quarter of it: memory held idle is memory
// a frame being received cannot have, so the bound the budget sets holds for
// both together.
const (
	minRecycle     = 64 << 10
	maxIdleBuffers = 8
)

// processBudget is shared by every connection of the process unless one is
// given its own with SetBudget.
var processBudget = NewBudget(DefaultBudget)

// Budget bounds the bytes of frames being received at once across
// connections. A frame is charged from its header until it has fully arrived;
// a reader that would overdraw the budget waits, first come first served, so a
// burst of legitimate block transfers slows down rather than fails, and a peer
// that announces frames and trickles them holds budget, not unbounded memory.
//
// Payloads given back with Recycle are kept for reuse, charged to the budget
// as long as they are kept; a reader that finds the budget spent first drops
// them, and none are kept while a reader waits.
type Budget struct {
	size    int64
	sem     *semaphore.Weighted
	used    atomic.Int64
	waiting atomic.Int64

	// mu orders giving buffers back against readers deciding to wait, so no
	// buffer is kept, holding budget, once a reader waits for it.
	mu        sync.Mutex
	idle      [][]byte
	idleBytes int64
	maxIdle   int64
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget {
	return &Budget{size: size, sem: semaphore.NewWeighted(size), maxIdle: size / 4}
}

// InUse reports the bytes charged now for frames being received and how many
// readers wait for budget.
func (b *Budget) InUse() (bytes int64, waiting int) {
	return b.used.Load(), int(b.waiting.Load())
}

// Idle reports the bytes of recycled buffers kept for reuse, charged to the
// budget besides InUse's.
func (b *Budget) Idle() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.idleBytes
}

// Recycle gives back a payload that Recv returned, once nothing refers to it
// any more: the next large frame may be read into it. Payloads under 64 KiB,
// and any the budget cannot hold idle now, are left to the garbage collector.
// Giving back a payload still in use, or the same one twice, corrupts the
// frames read into it afterwards.
func (b *Budget) Recycle(p []byte) {
	c := int64(cap(p))
	if c < minRecycle || c > b.maxIdle {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.waiting.Load() > 0 || len(b.idle) >= maxIdleBuffers || b.idleBytes+c > b.maxIdle {
		return
	}
	p = p[:cap(p)]
	for _, q := range b.idle {
		if &q[0] == &p[0] {
			return
		}
	}
	if !b.sem.TryAcquire(c) {
		return
	}
	b.idle = append(b.idle, p)
	b.idleBytes += c
}

// Recycle gives back a payload received on a connection charged to the
// process's budget (see Budget.Recycle).
func Recycle(p []byte) { processBudget.Recycle(p) }

// take charges a frame of n bytes (the type byte and a payload of n-1) and
// returns a buffer for its payload and the bytes charged, to give back with
// release once the frame has arrived or failed. A kept buffer that fits is
// reused, its charge becoming the frame's; otherwise n bytes are charged,
// waiting until they are free or ctx is done, and a new buffer is allocated.
// A frame larger than the whole budget could never be read and is refused at
// once.
func (b *Budget) take(ctx context.Context, n int) ([]byte, int64, error) {
	if int64(n) > b.size {
		return nil, 0, fmt.Errorf("frame of %d bytes exceeds the %d-byte receive budget: %w", n, b.size, ErrFrameTooLarge)
	}
	if buf := b.reuse(n - 1); buf != nil {
		c := int64(cap(buf))
		b.used.Add(c)
		return buf, c, nil
	}
	if err := b.acquire(ctx, int64(n)); err != nil {
		return nil, 0, err
	}
	b.used.Add(int64(n))
	return make([]byte, n-1), int64(n), nil
}

// release gives back the bytes take charged.
func (b *Budget) release(n int64) {
	b.used.Add(-n)
	b.sem.Release(n)
}

// reuse takes the smallest kept buffer that holds size bytes without wasting
// more than as much again, or returns nil. Its charge is kept.
func (b *Budget) reuse(size int) []byte {
	if size < minRecycle {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	best := -1
	for i, q := range b.idle {
		if c := cap(q); c >= size && c/2 <= size && (best < 0 || c < cap(b.idle[best])) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	buf := b.idle[best]
	b.idle = append(b.idle[:best], b.idle[best+1:]...)
	b.idleBytes -= int64(cap(buf))
	return buf[:size]
}

// acquire charges n bytes, dropping kept buffers if they are what stands in
// the way, and otherwise waiting until the bytes are free or ctx is done.
func (b *Budget) acquire(ctx context.Context, n int64) error {
	if b.sem.TryAcquire(n) {
		return nil
	}
	b.mu.Lock()
	for _, q := range b.idle {
		b.sem.Release(int64(cap(q)))
	}
	clear(b.idle)
	b.idle, b.idleBytes = b.idle[:0], 0
	ok := b.sem.TryAcquire(n)
	if !ok {
		b.waiting.Add(1)
	}
	b.mu.Unlock()
	if ok {
		return nil
	}
	err := b.sem.Acquire(ctx, n)
	b.waiting.Add(-1)
	if err != nil {
		return fmt.Errorf("wait for %d bytes of receive budget: %w", n, err)
	}
	return nil
}
