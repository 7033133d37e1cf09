package wire

import (
	"errors"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestControlLinkBound announces a frame just over MaxControlFrame on a new
// connection: it must be refused from the header, before any payload is
// waited for or allocated. With MaxFrame as every link's bound, the Recv
// would wait for 4 MiB that never come.
func TestControlLinkBound(t *testing.T) {
	for _, tc := range []struct {
		name       string
		recv, send int
		announce   uint32
	}{
		{"control link", 0, 0, MaxControlFrame + 1},
		{"block server reads requests only", MaxRequestFrame, MaxFrame, MaxRequestFrame + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client, server := pair(t, "exec-1")
			if tc.recv != 0 {
				server.SetBounds(tc.recv, tc.send)
			}
			if _, err := client.nc.Write(rawFrame(tc.announce, 1, []byte("x"))); err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { _, _, err := server.Recv(); errc <- err }()
			if err := await(t, errc); !errors.Is(err, ErrFrameTooLarge) {
				t.Fatalf("Recv = %v, want ErrFrameTooLarge", err)
			}
		})
	}
}

// TestSetBoundsPerDirection gives a connection a small receive bound and a
// large send bound, as a block server has: it sends what it could not receive.
func TestSetBoundsPerDirection(t *testing.T) {
	client, server := pair(t, "exec-1")
	server.SetBounds(MaxRequestFrame, MaxFrame)
	client.SetBounds(MaxFrame, MaxRequestFrame)
	block := make([]byte, MaxControlFrame+1)
	errc := make(chan error, 1)
	go func() { errc <- server.Send(2, block) }()
	_, p, err := client.Recv()
	if err != nil || len(p) != len(block) {
		t.Fatalf("client Recv = %d bytes, %v; want %d", len(p), err, len(block))
	}
	if err := await(t, errc); err != nil {
		t.Fatal(err)
	}
	if err := client.Send(1, make([]byte, MaxRequestFrame)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("request over MaxRequestFrame sent: %v", err)
	}
}

// TestBudgetBoundsMemoryAcrossConnections opens many authenticated
// connections whose peers announce a large frame and send one byte of it.
// Each connection's bound allows the frame, so only the shared budget stops
// the process allocating every announced frame: the readers that fit hold the
// budget, the rest wait, and the heap grows by the budget, not by the sum of
// the frames. Once the peers send the rest, every frame arrives; Close stops
// a reader still waiting.
func TestBudgetBoundsMemoryAcrossConnections(t *testing.T) {
	const (
		conns   = 16
		frame   = 2 << 20
		fitting = 4
	)
	budget := NewBudget(fitting * frame)
	type link struct{ client, server *Conn }
	links := make([]link, conns)
	for i := range links {
		c, s := pair(t, "exec-1")
		s.SetBudget(budget)
		links[i] = link{c, s}
	}
	payload := make([]byte, frame-1)
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	type got struct {
		n   int
		err error
	}
	results := make(chan got, conns)
	for _, l := range links {
		if _, err := l.client.nc.Write(rawFrame(frame, 1, payload[:1])); err != nil {
			t.Fatal(err)
		}
		go func() {
			_, p, err := l.server.Recv()
			results <- got{len(p), err}
		}()
	}
	waitFor(t, "the budget to be spent with the other readers waiting", func() bool {
		used, waiting := budget.InUse()
		return used == fitting*frame && waiting == conns-fitting
	})
	var during runtime.MemStats
	runtime.ReadMemStats(&during)
	grown := int64(during.HeapAlloc) - int64(before.HeapAlloc)
	if limit := int64(fitting*frame + frame); grown > limit {
		t.Errorf("heap grew by %d bytes with %d frames of %d announced; want at most %d (the budget and slack)",
			grown, conns, frame, limit)
	}

	// The last peer gives up: its reader, still waiting, is stopped by Close.
	last := links[conns-1]
	last.server.Close()
	for _, l := range links[:conns-1] {
		if _, err := l.client.nc.Write(payload[1:]); err != nil {
			t.Fatal(err)
		}
	}
	var closed int
	for range conns {
		r := await(t, results)
		switch {
		case r.err == nil && r.n == frame-1:
		case errors.Is(r.err, net.ErrClosed):
			closed++
		default:
			t.Errorf("Recv = %d bytes, %v; want the whole frame or net.ErrClosed", r.n, r.err)
		}
	}
	if closed != 1 {
		t.Errorf("%d readers stopped by Close, want 1", closed)
	}
	if used, waiting := budget.InUse(); used != 0 || waiting != 0 {
		t.Errorf("after every frame: %d bytes charged, %d waiting; want 0, 0", used, waiting)
	}
}

// TestBudgetRefusesFrameOverBudget: a frame the whole budget cannot hold
// could never be read; it is refused, not waited for forever.
func TestBudgetRefusesFrameOverBudget(t *testing.T) {
	client, server := pair(t, "exec-1")
	server.SetBudget(NewBudget(1 << 10))
	if err := client.Send(1, make([]byte, 2<<10)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, _, err := server.Recv(); errc <- err }()
	if err := await(t, errc); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Recv = %v, want ErrFrameTooLarge", err)
	}
}

// waitFor polls cond until it holds, failing after bound. The condition is
// the event waited for; the poll interval only sets how soon it is seen.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", bound, what)
		}
		time.Sleep(time.Millisecond)
	}
}
