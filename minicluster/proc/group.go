package proc

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Group owns the processes of one run so that a single deferred Close ends
// them all, in parallel, whatever state the run stopped in. The zero value is
// ready to use.
type Group struct {
	mu     sync.Mutex
	procs  []*Process
	closed bool
}

// Add hands p to the group. Adding to a closed group closes p at once: a
// process started while the run was being torn down must not survive it.
func (g *Group) Add(p *Process) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		p.Close()
		return
	}
	g.procs = append(g.procs, p)
	g.mu.Unlock()
}

// Close kills every process in the group and waits for them, in parallel, so
// it takes as long as the slowest, at most Process.Close's bound. It returns
// their Close errors joined, and nil on later calls.
func (g *Group) Close() error {
	g.mu.Lock()
	procs := g.procs
	g.procs, g.closed = nil, true
	g.mu.Unlock()

	errs := make([]error, len(procs))
	var wg sync.WaitGroup
	for i, p := range procs {
		wg.Go(func() { errs[i] = p.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// ErrNoMatch: the output ended before a line matched.
var ErrNoMatch = errors.New("output ended without a matching line")

// WaitLine returns the first line from lines that match accepts. It returns
// ErrNoMatch if lines is closed first, and ctx's error if ctx ends first.
//
// lines is meant to be fed by Spec.OnLine and closed once the process's Done
// is closed (OnLine is never called after that), so that a node that dies
// before saying it is up ends the wait at once instead of at the timeout. The
// sender should not block when nobody reads: send with select and default, or
// give the channel enough buffer.
func WaitLine(ctx context.Context, lines <-chan string, match func(string) bool) (string, error) {
	for {
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for a matching line: %w", context.Cause(ctx))
		case l, ok := <-lines:
			if !ok {
				return "", ErrNoMatch
			}
			if match(l) {
				return l, nil
			}
		}
	}
}
