package block

import (
	"sync"

	"github.com/faultbook/faultbook/minicluster/wire"
)

// Store is an executor's memory store: encoded shuffle outputs, kept as the
// block-data frames a block server sends, and deserialised cached partitions.
// It is safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	shuffle map[string]wire.Frame
	cached  map[string][]any
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{shuffle: map[string]wire.Frame{}, cached: map[string][]any{}}
}

// PutShuffle keeps an encoded shuffle block, as EncodeFrame made it.
func (s *Store) PutShuffle(id string, f wire.Frame) {
	s.mu.Lock()
	s.shuffle[id] = f
	s.mu.Unlock()
}

// Shuffle returns an encoded shuffle block.
func (s *Store) Shuffle(id string) ([]byte, bool) {
	f, ok := s.ShuffleFrame(id)
	return f.Payload(), ok
}

// ShuffleFrame returns an encoded shuffle block as the frame that sends it.
func (s *Store) ShuffleFrame(id string) (wire.Frame, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f, ok := s.shuffle[id]
	return f, ok
}

// PutCached keeps a cached partition, deserialised.
func (s *Store) PutCached(id string, recs []any) {
	s.mu.Lock()
	s.cached[id] = recs
	s.mu.Unlock()
}

// Cached returns a cached partition.
func (s *Store) Cached(id string) ([]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.cached[id]
	return r, ok
}
