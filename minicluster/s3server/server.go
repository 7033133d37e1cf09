// Package s3server is an S3-compatible object store on 127.0.0.1 for checkpoints:
// gofakes3 with its in-memory backend, behind a consistency layer that can play
// S3 as it behaved before December 2020 (see consistency.go). Every request the
// store serves is recorded as a "store-op" event and every effect of the fault as
// a "fault" event, so a run can show what the store did to each operation.
package s3server

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/faultbook/faultbook/minicluster/events"
)

// Access key and secret of the embedded server. gofakes3 accepts any signature;
// these are what clients are told to use.
const (
	AccessKey = "faultbook"
	SecretKey = "faultbook-secret"
)

// Options configure Start.
type Options struct {
	// Consistency, when set, makes the store eventually consistent as S3 was.
	Consistency *Consistency
	// Throttle, when set, makes every byte read or written wait on a burst-credit
	// throughput model.
	Throttle *Throttle
	// Record receives every store-op and fault event. It may be called from
	// several goroutines at once.
	Record func(events.Event)
	// BeforeWrite is called with each PUT or COPY destination key before it is
	// stored; returning false drops the request with an internal error (the
	// harness uses it to kill a driver with the request in flight).
	BeforeWrite func(key string) bool
	// Buckets are created at start.
	Buckets []string
}

// Server is a running S3 endpoint.
type Server struct {
	// Endpoint is "127.0.0.1:PORT", as minio-go expects it.
	Endpoint string
	ln       net.Listener
	srv      *http.Server
	done     chan struct{}
	once     sync.Once
	back     *layer
}

// Start serves a fresh, empty store on a free port of 127.0.0.1.
func Start(o Options) (*Server, error) {
	mem := s3mem.New()
	for _, b := range o.Buckets {
		if err := mem.CreateBucket(b); err != nil {
			return nil, fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	l := newLayer(mem, o)
	fake := gofakes3.New(l, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{Endpoint: ln.Addr().String(), ln: ln, done: make(chan struct{}), back: l,
		srv: &http.Server{Handler: l.withMetrics(fake.Server()), ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(discard{}, "", 0)}}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server and waits for it; safe twice.
func (s *Server) Close() error {
	if s == nil {
		return nil
	}
	var err error
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err = s.srv.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
			err = s.srv.Close()
		}
		<-s.done
	})
	return err
}

// Credits returns the throughput model's burst-credit balance in bytes, or -1
// when the store is not throttled.
func (s *Server) Credits() float64 {
	if s.back.throttle == nil {
		return -1
	}
	return s.back.throttle.Credits()
}

// NoEffect reports, when a consistency model was on and changed no answer,
// what the store saw instead (see package fault: a point reached without
// effect says so).
func (s *Server) NoEffect() (string, bool) { return s.back.noEffect() }

// ThrottleNoEffect reports, when a throughput model was on and slowed no
// transfer, what the store metered instead.
func (s *Server) ThrottleNoEffect() (string, bool) { return s.back.throttleNoEffect() }

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
