package wire

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sync/semaphore"
)

// DefaultBudget is the process's budget for frames being received: two frames
// of MaxFrame. It bounds what all peers together can make a process allocate
// by announcing frames, however many connections they open; a link's own bound
// only limits one connection.
const DefaultBudget = 2 * MaxFrame

// processBudget is shared by every connection of the process unless one is
// given its own with SetBudget.
var processBudget = NewBudget(DefaultBudget)

// Budget bounds the bytes of frames being received at once across
// connections. A frame is charged from its header until it has fully arrived;
// a reader that would overdraw the budget waits, first come first served, so a
// burst of legitimate block transfers slows down rather than fails, and a peer
// that announces frames and trickles them holds budget, not unbounded memory.
type Budget struct {
	size    int64
	sem     *semaphore.Weighted
	used    atomic.Int64
	waiting atomic.Int64
}

// NewBudget returns a budget of size bytes.
func NewBudget(size int64) *Budget {
	return &Budget{size: size, sem: semaphore.NewWeighted(size)}
}

// InUse reports the bytes charged now and how many readers wait for budget.
func (b *Budget) InUse() (bytes int64, waiting int) {
	return b.used.Load(), int(b.waiting.Load())
}

// acquire charges n bytes, waiting until they are free or ctx is done, and
// returns the function that gives them back. A frame larger than the whole
// budget could never be read and is refused at once.
func (b *Budget) acquire(ctx context.Context, n int64) (func(), error) {
	if n > b.size {
		return nil, fmt.Errorf("frame of %d bytes exceeds the %d-byte receive budget: %w", n, b.size, ErrFrameTooLarge)
	}
	if !b.sem.TryAcquire(n) {
		b.waiting.Add(1)
		err := b.sem.Acquire(ctx, n)
		b.waiting.Add(-1)
		if err != nil {
			return nil, fmt.Errorf("wait for %d bytes of receive budget: %w", n, err)
		}
	}
	b.used.Add(n)
	return func() {
		b.used.Add(-n)
		b.sem.Release(n)
	}, nil
}
