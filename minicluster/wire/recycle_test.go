package wire

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

// recvOn reads one frame on c in the background.
func recvOn(c *Conn) <-chan received {
	ch := make(chan received, 1)
	go func() {
		_, p, err := c.Recv()
		ch <- received{p, err}
	}()
	return ch
}

type received struct {
	p   []byte
	err error
}

func filled(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// TestRecycleReusesPayload gives a received block back: the next large
// frame is read into the same memory, whole and correct, and the memory is
// charged to the budget while it waits, not after.
func TestRecycleReusesPayload(t *testing.T) {
	budget := NewBudget(16 << 20)
	client, server := pair(t, "exec-1")
	server.SetBounds(MaxFrame, MaxRequestFrame)
	client.SetBounds(MaxRequestFrame, MaxFrame)
	server.SetBudget(budget)

	a := filled(1<<20, 'a')
	if err := client.Send(1, a); err != nil {
		t.Fatal(err)
	}
	r := await(t, recvOn(server))
	if r.err != nil || !bytes.Equal(r.p, a) {
		t.Fatalf("first frame: %d bytes, %v", len(r.p), r.err)
	}
	first := r.p
	server.Recycle(first)
	if idle := budget.Idle(); idle != int64(cap(first)) {
		t.Fatalf("after Recycle: %d bytes idle, want %d", idle, cap(first))
	}
	if used, _ := budget.InUse(); used != 0 {
		t.Fatalf("after Recycle: %d bytes in use, want 0", used)
	}

	b := filled(1<<20-100, 'b')
	if err := client.Send(1, b); err != nil {
		t.Fatal(err)
	}
	r = await(t, recvOn(server))
	if r.err != nil || !bytes.Equal(r.p, b) {
		t.Fatalf("second frame: %d bytes, %v; want %d bytes of 'b'", len(r.p), r.err, len(b))
	}
	if &r.p[0] != &first[0] {
		t.Error("second frame was not read into the recycled buffer")
	}
	if idle := budget.Idle(); idle != 0 {
		t.Errorf("recycled buffer taken: %d bytes still idle, want 0", idle)
	}
	if used, waiting := budget.InUse(); used != 0 || waiting != 0 {
		t.Errorf("after the frame: %d bytes in use, %d waiting; want 0, 0", used, waiting)
	}

	// Kept once however often given back; small payloads are not kept.
	server.Recycle(r.p)
	server.Recycle(r.p)
	server.Recycle(make([]byte, minRecycle-1))
	if idle := budget.Idle(); idle != int64(cap(r.p)) {
		t.Errorf("after giving one buffer back twice and a small one: %d bytes idle, want %d", idle, cap(r.p))
	}

	// A frame much smaller than the kept buffer gets its own.
	c := filled(minRecycle, 'c')
	if err := client.Send(1, c); err != nil {
		t.Fatal(err)
	}
	r = await(t, recvOn(server))
	if r.err != nil || !bytes.Equal(r.p, c) || cap(r.p) >= 1<<20 {
		t.Fatalf("small frame: %d bytes (capacity %d), %v", len(r.p), cap(r.p), r.err)
	}
}

// TestRecycledBuffersYieldToFrames fills the budget's idle quarter with
// recycled buffers, then announces a frame of the whole budget: the kept
// buffers are dropped for it, rather than the frame waiting for budget that
// nothing in flight will ever give back.
func TestRecycledBuffersYieldToFrames(t *testing.T) {
	const size = 4 << 20
	budget := NewBudget(size)
	client, server := pair(t, "exec-1")
	server.SetBounds(MaxFrame, MaxRequestFrame)
	client.SetBounds(MaxRequestFrame, MaxFrame)
	server.SetBudget(budget)

	for range 2 {
		budget.Recycle(make([]byte, size/8))
	}
	if idle := budget.Idle(); idle != size/4 {
		t.Fatalf("%d bytes idle, want %d", idle, size/4)
	}
	// Over the idle quarter: not kept.
	budget.Recycle(make([]byte, minRecycle))
	if idle := budget.Idle(); idle != size/4 {
		t.Fatalf("%d bytes idle after one buffer too many, want %d", idle, size/4)
	}

	whole := filled(size-1, 'w')
	errc := make(chan error, 1)
	go func() { errc <- client.Send(1, whole) }()
	r := await(t, recvOn(server))
	if r.err != nil || !bytes.Equal(r.p, whole) {
		t.Fatalf("frame of the whole budget: %d bytes, %v", len(r.p), r.err)
	}
	if err := await(t, errc); err != nil {
		t.Fatal(err)
	}
	if idle := budget.Idle(); idle != 0 {
		t.Errorf("%d bytes still idle, want the kept buffers dropped", idle)
	}
	if used, waiting := budget.InUse(); used != 0 || waiting != 0 {
		t.Errorf("after the frame: %d bytes in use, %d waiting; want 0, 0", used, waiting)
	}
}

// TestNoRecycleWhileReaderWaits: while a reader waits for budget, a buffer
// given back is not kept, so idle memory never stands between a frame and
// the budget it waits for.
func TestNoRecycleWhileReaderWaits(t *testing.T) {
	const size = 4 << 20
	budget := NewBudget(size)
	var links [2]struct{ client, server *Conn }
	for i := range links {
		c, s := pair(t, "exec-1")
		s.SetBounds(MaxFrame, MaxRequestFrame)
		s.SetBudget(budget)
		links[i].client, links[i].server = c, s
	}
	// The first frame holds three quarters of the budget, the second waits.
	first := filled(3*size/4-1, '1')
	if _, err := links[0].client.nc.Write(rawFrame(uint32(len(first)+1), 1, first[:1])); err != nil {
		t.Fatal(err)
	}
	got1 := recvOn(links[0].server)
	waitFor(t, "the first frame to be charged", func() bool {
		used, _ := budget.InUse()
		return used == int64(len(first)+1)
	})
	second := filled(size/2-1, '2')
	if _, err := links[1].client.nc.Write(rawFrame(uint32(len(second)+1), 1, second[:1])); err != nil {
		t.Fatal(err)
	}
	got2 := recvOn(links[1].server)
	waitFor(t, "the second reader to wait", func() bool {
		_, waiting := budget.InUse()
		return waiting == 1
	})

	budget.Recycle(make([]byte, size/8))
	if idle := budget.Idle(); idle != 0 {
		t.Fatalf("%d bytes kept idle while a reader waits, want 0", idle)
	}

	for i, rest := range [][]byte{first[1:], second[1:]} {
		if _, err := links[i].client.nc.Write(rest); err != nil {
			t.Fatal(err)
		}
	}
	for i, ch := range []<-chan received{got1, got2} {
		r := await(t, ch)
		if want := [][]byte{first, second}[i]; r.err != nil || !bytes.Equal(r.p, want) {
			t.Errorf("frame %d: %d bytes, %v; want %d", i+1, len(r.p), r.err, len(want))
		}
	}
	if used, waiting := budget.InUse(); used != 0 || waiting != 0 {
		t.Errorf("after both frames: %d bytes in use, %d waiting; want 0, 0", used, waiting)
	}
}

// TestRecycledBufferOverBudgetRefused: a frame over the budget is refused
// from its header even with buffers kept that could hold it.
func TestRecycledBufferOverBudgetRefused(t *testing.T) {
	budget := NewBudget(1 << 20)
	client, server := pair(t, "exec-1")
	server.SetBounds(MaxFrame, MaxRequestFrame)
	server.SetBudget(budget)
	budget.Recycle(make([]byte, 256<<10))
	if _, err := client.nc.Write(rawFrame(2<<20, 1, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	if r := await(t, recvOn(server)); !errors.Is(r.err, ErrFrameTooLarge) {
		t.Fatalf("Recv = %v, want ErrFrameTooLarge", r.err)
	}
}

// FuzzRecycle reads a stream of frames of fuzzed sizes, giving some payloads
// back and keeping others: every frame must arrive whole and unchanged,
// whatever buffer it was read into, no payload kept by the caller may change
// afterwards, and the budget must end with nothing in use and at most its
// idle quarter kept.
func FuzzRecycle(f *testing.F) {
	f.Add([]byte{0x10, 0x81, 0x20, 0x02, 0x90})
	f.Add([]byte{0xff, 0xff, 0x7f, 0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, plan []byte) {
		const size = 4 << 20
		budget := NewBudget(size)
		// Each plan byte is one frame: the low 7 bits its size in 16 KiB
		// steps (up to 2 MiB), the high bit whether its payload is given back.
		var stream []byte
		for i, p := range plan {
			n := int(p&0x7f)*(16<<10) + i%7
			stream = append(stream, rawFrame(uint32(n+1), 1, filled(n, byte(i)))...)
		}
		c := newConn(fuzzConn{}, bufio.NewReaderSize(bytes.NewReader(stream), 4096), "fuzz")
		c.SetMaxFrame(MaxFrame)
		c.SetBudget(budget)
		type kept struct {
			p []byte
			b byte
		}
		var keep []kept
		for i, p := range plan {
			_, payload, err := c.Recv()
			if err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if n := int(p&0x7f)*(16<<10) + i%7; !bytes.Equal(payload, filled(n, byte(i))) {
				t.Fatalf("frame %d: %d bytes, not the %d sent", i, len(payload), n)
			}
			if p&0x80 != 0 {
				c.Recycle(payload)
			} else {
				keep = append(keep, kept{payload, byte(i)})
			}
		}
		for _, k := range keep {
			if !bytes.Equal(k.p, filled(len(k.p), k.b)) {
				t.Fatalf("a payload the caller kept changed")
			}
		}
		if used, waiting := budget.InUse(); used != 0 || waiting != 0 {
			t.Fatalf("%d bytes in use, %d waiting after every frame", used, waiting)
		}
		if idle := budget.Idle(); idle > size/4 {
			t.Fatalf("%d bytes idle, over a quarter of the budget", idle)
		}
	})
}
