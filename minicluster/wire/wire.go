// Package wire carries typed, length-prefixed messages between the processes of
// a mini cluster over TCP. Every connection starts with a mutual proof of the
// cluster secret, so a stray client, a port scanner or a process left over from
// another run is refused before it can send a single message, and a node never
// mistakes another run's driver for its own.
//
// A frame is a 4-byte big-endian length (of the type byte and the payload), one
// type byte, then the payload. Lengths are checked against the connection's
// bound before anything is allocated (each link has the bound that fits its
// messages: small on the driver link, whole blocks only where blocks arrive),
// frames being received are charged to one budget per process, so peers
// cannot make it hold more however many connections they open, and anything that does not parse closes the connection
// with an error wrapping ErrMalformed or ErrFrameTooLarge: faults injected into
// the cluster may corrupt or cut a stream, and that must surface as an error the
// harness can classify, never as a panic or an unbounded allocation.
//
// The secret authenticates the ends of a connection; frames themselves are
// neither encrypted nor signed. The cluster runs on one host's loopback, where
// the threat is a misdirected connection, not a tampering middleman.
package wire

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"sync"
	"sync/atomic"
)

// MsgType says what a frame's payload is. The values belong to the protocol
// built on top of this package; wire gives none of them a meaning.
type MsgType uint8

// Bounds on a frame's length (type byte plus payload). A header announcing
// more than its connection's bound is refused before anything is allocated.
// Each link is given the bound that fits what it carries, so that a corrupt or
// hostile length on a link of small messages is refused long before MaxFrame.
const (
	// MaxFrame is the hard bound on any frame: large enough for a shuffle
	// block, small enough that a corrupt header cannot exhaust memory. Only
	// the receiving end of a block transfer accepts frames this large.
	MaxFrame = 64 << 20
	// MaxControlFrame bounds the driver link (registration, task launch and
	// status, heartbeats), the default of every new connection. The largest
	// message on it is a status update carrying a task's result, which an
	// executor keeps under half of this (executor.MaxResultSize). Spark's
	// analogue is spark.rpc.message.maxSize (128 MiB at Spark's scale).
	MaxControlFrame = 4 << 20
	// MaxRequestFrame bounds what a block server reads: block requests, a
	// few hundred bytes of JSON.
	MaxRequestFrame = 64 << 10
)

// HeaderLen is the length of a frame's header: the length prefix plus the
// type byte.
const HeaderLen = 5

// smallFrame is the largest frame Send copies behind its header to write it
// in one piece; a larger one is written from where it is, with its header,
// in one vectored write. A large payload sent often is better kept as a
// Frame (see SendFrame).
const smallFrame = 16 << 10

// Errors that classify why a connection was refused or dropped. Errors returned
// by this package wrap at most one of them; test with errors.Is.
var (
	// ErrAuth: a peer could not prove it holds the cluster secret, or refused
	// our proof.
	ErrAuth = errors.New("cluster secret not proved")
	// ErrFrameTooLarge: a frame, sent or announced, exceeds the connection's bound.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrMalformed: bytes on the connection are not this protocol (wrong magic,
	// bad version, zero-length or truncated frame), or a payload does not decode.
	ErrMalformed = errors.New("malformed message")
)

// Conn is an authenticated message connection. Send may be called from several
// goroutines at once; Recv from one goroutine at a time. Close, from any
// goroutine, unblocks both.
//
// A new connection bounds frames both ways at MaxControlFrame and charges the
// frames it receives to the process's Budget; SetBounds widens or narrows a
// link to what it carries.
type Conn struct {
	nc      net.Conn
	r       *bufio.Reader
	peer    string
	remote  string
	maxRecv atomic.Int64
	maxSend atomic.Int64
	budget  atomic.Pointer[Budget]

	// sendMu guards the frame being written and the memory Send writes it
	// from: the header and vector of a large frame, or a copy of a small one
	// after its header, so that either goes out in one system call without
	// allocating.
	sendMu  sync.Mutex
	sendHdr [HeaderLen]byte
	sendVec [2][]byte
	bufs    net.Buffers
	small   []byte

	// closed is cancelled by Close, to stop a Recv waiting for budget.
	closed    context.Context
	closeOnce sync.Once
	cancel    context.CancelFunc
}

func newConn(nc net.Conn, r *bufio.Reader, peer string) *Conn {
	c := &Conn{nc: nc, r: r, peer: peer, remote: remoteAddr(nc)}
	c.closed, c.cancel = context.WithCancel(context.Background())
	c.maxRecv.Store(MaxControlFrame)
	c.maxSend.Store(MaxControlFrame)
	c.budget.Store(processBudget)
	return c
}

func remoteAddr(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil {
		return a.String()
	}
	return "unknown"
}

// Peer returns the identity the client proved (on the server side), or
// "server" (on the client side, where the only thing proved is the secret).
func (c *Conn) Peer() string { return c.peer }

// RemoteAddr returns the peer's network address, for messages and logs.
func (c *Conn) RemoteAddr() string { return c.remote }

// SetMaxFrame bounds frames sent and received on this connection alike.
// n <= 0 or n > MaxFrame means MaxFrame.
func (c *Conn) SetMaxFrame(n int) { c.SetBounds(n, n) }

// SetBounds bounds the frames this connection receives and those it sends,
// for a link whose two directions differ: a block server reads small requests
// and sends whole blocks. A bound <= 0 or over MaxFrame means MaxFrame.
func (c *Conn) SetBounds(recv, send int) {
	c.maxRecv.Store(clampBound(recv))
	c.maxSend.Store(clampBound(send))
}

func clampBound(n int) int64 {
	if n <= 0 || n > MaxFrame {
		return MaxFrame
	}
	return int64(n)
}

// SetBudget charges the frames this connection receives to b instead of the
// process's budget; nil restores the process's.
func (c *Conn) SetBudget(b *Budget) {
	if b == nil {
		b = processBudget
	}
	c.budget.Store(b)
}

// Send writes one frame. The whole frame goes out under one lock, so frames
// from concurrent senders never interleave. A payload over the bound is
// refused without writing anything and leaves the connection usable.
func (c *Conn) Send(t MsgType, payload []byte) error {
	n := int64(len(payload)) + 1
	if limit := c.maxSend.Load(); n > limit {
		return fmt.Errorf("send type %d to %s: %d bytes over the %d-byte bound: %w",
			t, c.peer, n, limit, ErrFrameTooLarge)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	var err error
	if n <= smallFrame {
		c.small = binary.BigEndian.AppendUint32(c.small[:0], uint32(n))
		c.small = append(c.small, byte(t))
		c.small = append(c.small, payload...)
		_, err = c.nc.Write(c.small)
	} else {
		binary.BigEndian.PutUint32(c.sendHdr[:4], uint32(n))
		c.sendHdr[4] = byte(t)
		c.sendVec = [2][]byte{c.sendHdr[:], payload}
		c.bufs = c.sendVec[:]
		_, err = c.bufs.WriteTo(c.nc)
		// Keep no reference to the payload past the call.
		c.sendVec, c.bufs = [2][]byte{}, nil
	}
	if err != nil {
		return fmt.Errorf("send type %d to %s: %w", t, c.peer, err)
	}
	return nil
}

// Frame is a whole frame in one buffer, its header and then its payload, so
// that it goes out in one write straight from where it is kept: no copy, and
// no vectored write. Between two processes over loopback, a payload written
// behind a header kept elsewhere (a vectored write, or two writes) took up to
// twice as long to arrive as the same bytes written from one buffer (1 MiB
// blocks, BenchmarkShuffleFetch in minicluster/block). A Frame is read-only
// once made, so it may be sent on several connections at once.
type Frame struct{ b []byte }

// FrameIn makes a frame of type t in b: its first HeaderLen bytes are
// overwritten with the header, the rest is the payload. b belongs to the frame
// from then on. It panics if b is shorter than a header.
func FrameIn(t MsgType, b []byte) Frame {
	if len(b) < HeaderLen || uint64(len(b)-HeaderLen+1) > math.MaxUint32 {
		panic(fmt.Sprintf("wire.FrameIn: %d bytes cannot hold a frame", len(b)))
	}
	binary.BigEndian.PutUint32(b[:4], uint32(len(b)-HeaderLen+1))
	b[4] = byte(t)
	return Frame{b}
}

// NewFrame makes a frame of type t holding a copy of payload.
func NewFrame(t MsgType, payload []byte) Frame {
	b := make([]byte, HeaderLen+len(payload))
	copy(b[HeaderLen:], payload)
	return FrameIn(t, b)
}

// Type is the frame's message type; the zero Frame has none and type 0.
func (f Frame) Type() MsgType {
	if len(f.b) < HeaderLen {
		return 0
	}
	return MsgType(f.b[4])
}

// Payload is the frame's payload, which the caller must not change.
func (f Frame) Payload() []byte {
	if len(f.b) < HeaderLen {
		return nil
	}
	return f.b[HeaderLen:]
}

// SendFrame sends f as Send(f.Type(), f.Payload()) would, in one write of
// the frame's own buffer. The zero Frame is refused.
func (c *Conn) SendFrame(f Frame) error {
	if len(f.b) < HeaderLen {
		return fmt.Errorf("send to %s: %w: empty frame", c.peer, ErrMalformed)
	}
	n := int64(len(f.b)) - HeaderLen + 1
	if limit := c.maxSend.Load(); n > limit {
		return fmt.Errorf("send type %d to %s: %d bytes over the %d-byte bound: %w",
			f.Type(), c.peer, n, limit, ErrFrameTooLarge)
	}
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	if _, err := c.nc.Write(f.b); err != nil {
		return fmt.Errorf("send type %d to %s: %w", f.Type(), c.peer, err)
	}
	return nil
}

// SendJSON sends v encoded as JSON in a frame of type t.
func (c *Conn) SendJSON(t MsgType, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode type %d for %s: %w", t, c.peer, err)
	}
	return c.Send(t, b)
}

// DecodeJSON decodes a payload sent with SendJSON. A payload that is not valid
// JSON for v is a protocol error, so the error wraps ErrMalformed.
func DecodeJSON(payload []byte, v any) error {
	if err := json.Unmarshal(payload, v); err != nil {
		return fmt.Errorf("%w: decode json payload: %w", ErrMalformed, err)
	}
	return nil
}

// Recv reads the next frame. At a clean end of stream it returns an error
// wrapping io.EOF. Any other error closes the connection: after a bad frame
// the stream cannot be resynchronised.
//
// The frame's length is charged to the connection's Budget from its header
// until the whole frame has arrived, so peers that announce large frames and
// send them slowly hold at most the budget between them; a Recv that finds
// the budget spent waits for it, or for Close.
//
// The payload is the caller's. A large one may be read into a buffer given
// back earlier with Recycle; a caller done with it may give it back in turn.
func (c *Conn) Recv() (MsgType, []byte, error) {
	t, payload, err := readFrame(c.closed, c.r, int(c.maxRecv.Load()), c.budget.Load())
	if err != nil {
		// A wait for budget stopped by our own Close reads as a closed
		// connection, as a read stopped by it does.
		closedHere := c.closed.Err() != nil
		c.Close()
		if closedHere && !errors.Is(err, net.ErrClosed) {
			err = fmt.Errorf("%w: %w", net.ErrClosed, err)
		}
		return 0, nil, fmt.Errorf("receive from %s: %w", c.peer, err)
	}
	return t, payload, nil
}

// Recycle gives back a payload this connection's Recv returned, once nothing
// refers to it any more, for a later frame to be read into (see
// Budget.Recycle).
func (c *Conn) Recycle(payload []byte) { c.budget.Load().Recycle(payload) }

// readFrame reads one frame whose length may not exceed limit. Its length is
// charged to b, waiting up to ctx's end, before anything is allocated, until
// the frame is read or has failed.
func readFrame(ctx context.Context, r io.Reader, limit int, b *Budget) (MsgType, []byte, error) {
	var hdr [HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fmt.Errorf("%w: truncated frame header: %w", ErrMalformed, err)
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	switch {
	case n == 0:
		return 0, nil, fmt.Errorf("%w: zero-length frame", ErrMalformed)
	case uint64(n) > uint64(limit):
		return 0, nil, fmt.Errorf("frame header announces %d bytes, bound is %d: %w", n, limit, ErrFrameTooLarge)
	}
	if _, err := io.ReadFull(r, hdr[4:]); err != nil {
		return 0, nil, fmt.Errorf("%w: truncated frame: %w", ErrMalformed, eofIsUnexpected(err))
	}
	// The payload is allocated (or taken) at once, in one buffer of its
	// length: frames come only from a peer that proved the cluster secret, n
	// is already within the connection's bound and charged to its budget, so
	// that costs at most one bounded frame and all such buffers at most the
	// budget.
	payload, charge, err := b.take(ctx, int(n))
	if err != nil {
		return 0, nil, err
	}
	defer b.release(charge)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, fmt.Errorf("%w: truncated frame: %w", ErrMalformed, eofIsUnexpected(err))
	}
	return MsgType(hdr[4]), payload, nil
}

func eofIsUnexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Close closes the connection. Calls after the first return nil.
func (c *Conn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.cancel()
		err = c.nc.Close()
	})
	return err
}
