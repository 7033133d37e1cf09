package block

import "sync"

// Store is an executor's memory store: encoded shuffle outputs and deserialised
// cached partitions. It is safe for concurrent use.
type Store struct {
	mu      sync.RWMutex
	shuffle map[string][]byte
	cached  map[string][]any
}

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{shuffle: map[string][]byte{}, cached: map[string][]any{}}
}

// PutShuffle keeps an encoded shuffle block.
func (s *Store) PutShuffle(id string, b []byte) {
	s.mu.Lock()
	s.shuffle[id] = b
	s.mu.Unlock()
}

// Shuffle returns an encoded shuffle block.
func (s *Store) Shuffle(id string) ([]byte, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b, ok := s.shuffle[id]
	return b, ok
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
