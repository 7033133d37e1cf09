package wire

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// bound is how long any single step of these tests may take; it is a guard
// against hangs, never a wait for an event.
const bound = 5 * time.Second

func testSecret(t *testing.T) []byte {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

type accepted struct {
	c   *Conn
	err error
}

// serve accepts one connection on ln and runs the server handshake on it.
func serve(t *testing.T, ln net.Listener, secret []byte) <-chan accepted {
	t.Helper()
	ch := make(chan accepted, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			ch <- accepted{err: err}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), bound)
		defer cancel()
		c, err := Accept(ctx, nc, secret)
		ch <- accepted{c, err}
	}()
	return ch
}

func await[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(bound):
		t.Fatalf("nothing after %s", bound)
		panic("unreachable")
	}
}

// pair returns both ends of an authenticated connection.
func pair(t *testing.T, identity string) (client, server *Conn) {
	t.Helper()
	secret := testSecret(t)
	ln := listen(t)
	ch := serve(t, ln, secret)
	client, err := Dial(t.Context(), ln.Addr().String(), secret, identity)
	if err != nil {
		t.Fatal(err)
	}
	a := await(t, ch)
	if a.err != nil {
		t.Fatal(a.err)
	}
	t.Cleanup(func() { client.Close(); a.c.Close() })
	return client, a.c
}

func TestRoundTrip(t *testing.T) {
	client, server := pair(t, "exec-3")
	if got := server.Peer(); got != "exec-3" {
		t.Errorf("server sees peer %q, want exec-3", got)
	}
	if got := client.Peer(); got != "server" {
		t.Errorf("client sees peer %q, want server", got)
	}
	if client.RemoteAddr() == "" || server.RemoteAddr() == "" {
		t.Errorf("empty remote address: %q, %q", client.RemoteAddr(), server.RemoteAddr())
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB: several read chunks
	tests := []struct {
		name    string
		t       MsgType
		payload []byte
	}{
		{"empty", 1, nil},
		{"small", 2, []byte("hello")},
		{"type 255", 255, []byte{0, 1, 2}},
		{"large", 7, big},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, dir := range []struct {
				name     string
				from, to *Conn
			}{{"client to server", client, server}, {"server to client", server, client}} {
				errc := make(chan error, 1)
				go func() { errc <- dir.from.Send(tc.t, tc.payload) }()
				mt, got, err := dir.to.Recv()
				if err != nil {
					t.Fatalf("%s: %v", dir.name, err)
				}
				if err := await(t, errc); err != nil {
					t.Fatalf("%s: %v", dir.name, err)
				}
				if mt != tc.t || !bytes.Equal(got, tc.payload) {
					t.Errorf("%s: got type %d, %d bytes; want type %d, %d bytes",
						dir.name, mt, len(got), tc.t, len(tc.payload))
				}
			}
		})
	}
}

func TestJSON(t *testing.T) {
	type hello struct {
		ID    int    `json:"id"`
		Stage string `json:"stage"`
	}
	client, server := pair(t, "driver")
	if err := client.SendJSON(9, hello{3, "1.0"}); err != nil {
		t.Fatal(err)
	}
	mt, payload, err := server.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var got hello
	if err := DecodeJSON(payload, &got); err != nil {
		t.Fatal(err)
	}
	if mt != 9 || got != (hello{3, "1.0"}) {
		t.Errorf("got type %d %+v", mt, got)
	}

	tests := []struct {
		name    string
		payload string
	}{
		{"not json", "GET / HTTP/1.1"},
		{"truncated", `{"id": 3`},
		{"wrong type", `{"id": "three"}`},
		{"trailing garbage", `{"id": 3} x`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := DecodeJSON([]byte(tc.payload), &got); !errors.Is(err, ErrMalformed) {
				t.Errorf("DecodeJSON(%q) = %v, want ErrMalformed", tc.payload, err)
			}
		})
	}
	if err := client.SendJSON(1, func() {}); err == nil {
		t.Error("SendJSON of a func succeeded")
	}
}

func TestSecretRefused(t *testing.T) {
	tests := []struct {
		name           string
		same           bool
		clientErr      error // nil: success
		serverErr      error
		serverIdentity string
	}{
		{name: "same secret", same: true, serverIdentity: "exec-1"},
		{name: "other secret", same: false, clientErr: ErrAuth, serverErr: ErrAuth},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			serverSecret := testSecret(t)
			clientSecret := serverSecret
			if !tc.same {
				clientSecret = testSecret(t)
			}
			ln := listen(t)
			ch := serve(t, ln, serverSecret)
			c, err := Dial(t.Context(), ln.Addr().String(), clientSecret, "exec-1")
			if c != nil {
				defer c.Close()
			}
			a := await(t, ch)
			if a.c != nil {
				defer a.c.Close()
			}
			if !matches(err, tc.clientErr) {
				t.Errorf("client: %v, want %v", err, tc.clientErr)
			}
			if !matches(a.err, tc.serverErr) {
				t.Errorf("server: %v, want %v", a.err, tc.serverErr)
			}
			if a.err == nil && a.c.Peer() != tc.serverIdentity {
				t.Errorf("server peer %q, want %q", a.c.Peer(), tc.serverIdentity)
			}
		})
	}
}

func matches(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

// TestImpostorServerRefused: a server that does not hold the secret cannot
// make a client believe it does, even if it plays the protocol correctly.
func TestImpostorServerRefused(t *testing.T) {
	tests := []struct {
		name  string
		reply []byte
		want  error
	}{
		{"wrong proof", append([]byte{statusOK}, bytes.Repeat([]byte{7}, macLen)...), ErrAuth},
		{"unknown status", []byte{9}, ErrMalformed},
		{"http response", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					return
				}
				defer nc.Close()
				hello := append([]byte(magic), version)
				hello = append(hello, make([]byte, nonceLen)...)
				nc.Write(hello)
				buf := make([]byte, helloLen+macLen+1+len("exec-1"))
				io.ReadFull(nc, buf)
				nc.Write(tc.reply)
				io.Copy(io.Discard, nc)
			}()
			c, err := Dial(t.Context(), ln.Addr().String(), testSecret(t), "exec-1")
			if c != nil {
				c.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Dial = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestNotAWireServer(t *testing.T) {
	ln := listen(t)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		nc.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n"))
		io.Copy(io.Discard, nc)
	}()
	_, err := Dial(t.Context(), ln.Addr().String(), testSecret(t), "exec-1")
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("Dial = %v, want ErrMalformed", err)
	}
}

// TestGarbageRefused: whatever a stranger sends before the handshake is done is
// refused as soon as it can be recognised, and the connection is closed.
func TestGarbageRefused(t *testing.T) {
	huge := make([]byte, 5)
	binary.BigEndian.PutUint32(huge, 0xffffffff)
	tests := []struct {
		name  string
		bytes []byte
		close bool // the stranger hangs up after sending
		want  error
	}{
		{"random bytes", []byte{0x8f, 0x13, 0xd2, 0x55, 0x01, 0x9c, 0x77, 0xe0, 0x3a}, false, ErrMalformed},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), false, ErrMalformed},
		{"huge length", huge, false, ErrMalformed},
		{"tls client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}, false, ErrMalformed},
		{"wrong version", append([]byte(magic), version+1), false, ErrMalformed},
		{"truncated hello", append([]byte(magic), version, 1, 2, 3), true, ErrMalformed},
		{"empty identity", append(append(append([]byte(magic), version), make([]byte, nonceLen+macLen)...), 0), false, ErrMalformed},
		{"proof without secret", append(append(append([]byte(magic), version), make([]byte, nonceLen+macLen)...), 1, 'x'), false, ErrAuth},
		{"hang up at once", nil, true, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			ch := serve(t, ln, testSecret(t))
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if tc.close {
				nc.(*net.TCPConn).CloseWrite()
			}
			start := time.Now()
			a := await(t, ch)
			if !errors.Is(a.err, tc.want) {
				t.Fatalf("Accept = %v, want %v", a.err, tc.want)
			}
			if d := time.Since(start); d > defaultTimeout/2 {
				t.Errorf("refused after %s: it waited for a deadline", d)
			}
			// The server closed its end: we read its hello (and maybe a
			// refusal), then end of stream.
			nc.SetReadDeadline(time.Now().Add(bound))
			if _, err := io.Copy(io.Discard, nc); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
				t.Errorf("connection not closed by server: %v", err)
			}
		})
	}
}

func isReset(err error) bool { return strings.Contains(err.Error(), "connection reset") }

// TestHandshakeBounded: a peer that starts the handshake and then stalls is
// cut off at the context's deadline, or when the context is cancelled.
func TestHandshakeBounded(t *testing.T) {
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			return ctx, cancel
		}, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			ctx, cancel := tc.ctx()
			defer cancel()
			ch := make(chan error, 1)
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					ch <- err
					return
				}
				_, err = Accept(ctx, nc, testSecret(t))
				ch <- err
			}()
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			nc.Write([]byte(magic[:2]))
			if tc.want == context.Canceled {
				// Cancel once the server has sent its hello: it is then
				// blocked reading ours.
				io.ReadFull(nc, make([]byte, helloLen))
				cancel()
			}
			err = await(t, ch)
			if !errors.Is(err, tc.want) && !(tc.want == context.DeadlineExceeded && isTimeout(err)) {
				t.Errorf("Accept = %v, want %v", err, tc.want)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// rawFrame builds a frame header by hand, to send what Send never would.
func rawFrame(n uint32, t MsgType, payload []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, n)
	b = append(b, byte(t))
	return append(b, payload...)
}

func TestBadFrameRefused(t *testing.T) {
	tests := []struct {
		name     string
		max      int
		bytes    []byte
		closeNow bool
		want     error
	}{
		{"huge length", 0, rawFrame(0xffffffff, 1, nil), false, ErrFrameTooLarge},
		{"just over MaxFrame", 0, rawFrame(MaxFrame+1, 1, nil), false, ErrFrameTooLarge},
		{"over lowered bound", 1 << 10, rawFrame(1<<10+1, 1, nil), false, ErrFrameTooLarge},
		{"zero length", 0, rawFrame(0, 0, nil)[:4], false, ErrMalformed},
		{"truncated header", 0, []byte{0, 0}, true, ErrMalformed},
		{"truncated payload", 0, rawFrame(10, 1, []byte("abc")), true, ErrMalformed},
		{"clean end", 0, nil, true, io.EOF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			client, server := pair(t, "exec-1")
			server.SetMaxFrame(tc.max)
			if _, err := client.nc.Write(tc.bytes); err != nil {
				t.Fatal(err)
			}
			if tc.closeNow {
				client.nc.(*net.TCPConn).CloseWrite()
			}
			errc := make(chan error, 1)
			go func() { _, _, err := server.Recv(); errc <- err }()
			if err := await(t, errc); !errors.Is(err, tc.want) {
				t.Fatalf("Recv = %v, want %v", err, tc.want)
			}
			// The server dropped the connection: the client sees its end.
			client.nc.SetReadDeadline(time.Now().Add(bound))
			if _, _, err := client.Recv(); !errors.Is(err, io.EOF) && !isReset(err) {
				t.Errorf("client Recv after server refused = %v, want EOF", err)
			}
		})
	}
}

func TestSendTooLarge(t *testing.T) {
	client, server := pair(t, "exec-1")
	client.SetMaxFrame(16)
	if err := client.Send(1, make([]byte, 16)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("Send over bound = %v, want ErrFrameTooLarge", err)
	}
	// Refused before writing: the connection still works.
	if err := client.Send(2, make([]byte, 15)); err != nil {
		t.Fatal(err)
	}
	mt, p, err := server.Recv()
	if err != nil || mt != 2 || len(p) != 15 {
		t.Fatalf("Recv = %d, %d bytes, %v; want type 2, 15 bytes", mt, len(p), err)
	}
}

func TestConcurrentSend(t *testing.T) {
	const senders, each = 8, 200
	client, server := pair(t, "exec-1")
	var wg sync.WaitGroup
	errc := make(chan error, senders)
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				// Varying sizes make torn frames visible.
				p := bytes.Repeat([]byte(fmt.Sprintf("%d:%d;", s, i)), 1+i%50)
				if err := client.Send(MsgType(s), p); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	next := make([]int, senders)
	for range senders * each {
		mt, p, err := server.Recv()
		if err != nil {
			t.Fatal(err)
		}
		s := int(mt)
		if s >= senders {
			t.Fatalf("type %d from no sender", s)
		}
		i := next[s]
		want := bytes.Repeat([]byte(fmt.Sprintf("%d:%d;", s, i)), 1+i%50)
		if !bytes.Equal(p, want) {
			t.Fatalf("sender %d message %d: got %q", s, i, p)
		}
		next[s]++
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

func TestClose(t *testing.T) {
	client, server := pair(t, "exec-1")
	errc := make(chan error, 1)
	go func() { _, _, err := server.Recv(); errc <- err }()
	if err := server.Close(); err != nil {
		t.Fatalf("first Close: %v", err)
	}
	if err := server.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := await(t, errc); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Recv blocked across Close = %v, want net.ErrClosed", err)
	}
	if err := server.Send(1, nil); err == nil {
		t.Error("Send after Close succeeded")
	}
	if _, _, err := client.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("peer Recv after Close = %v, want EOF", err)
	}
}

func TestDialChecksArguments(t *testing.T) {
	ln := listen(t)
	secret := testSecret(t)
	tests := []struct {
		name     string
		secret   []byte
		identity string
	}{
		{"short secret", secret[:8], "exec-1"},
		{"empty identity", secret, ""},
		{"identity with space", secret, "exec 1"},
		{"identity too long", secret, strings.Repeat("x", 256)},
		{"identity with newline", secret, "exec-1\nWARN forged"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c, err := Dial(t.Context(), ln.Addr().String(), tc.secret, tc.identity); err == nil {
				c.Close()
				t.Error("Dial succeeded")
			}
		})
	}
}

func TestSecretEncoding(t *testing.T) {
	s := testSecret(t)
	if len(s) != 32 {
		t.Fatalf("secret of %d bytes, want 32", len(s))
	}
	if other := testSecret(t); bytes.Equal(s, other) {
		t.Fatal("two secrets are equal")
	}
	got, err := DecodeSecret(" " + EncodeSecret(s) + "\n")
	if err != nil || !bytes.Equal(got, s) {
		t.Fatalf("DecodeSecret(EncodeSecret(s)) = %x, %v", got, err)
	}
	for _, bad := range []string{"", "zz", "0102", EncodeSecret(s)[:31]} {
		if _, err := DecodeSecret(bad); err == nil {
			t.Errorf("DecodeSecret(%q) succeeded", bad)
		}
	}
}

// TestSendFrame sends a frame kept whole, header and payload in one buffer:
// it arrives as Send's would, may go out on two connections at once (the
// race detector watches the shared buffer), is refused over the bound
// without writing anything, and the zero Frame is refused.
func TestSendFrame(t *testing.T) {
	payload := bytes.Repeat([]byte("block "), 50_000)
	f := NewFrame(7, payload)
	if f.Type() != 7 || !bytes.Equal(f.Payload(), payload) {
		t.Fatalf("NewFrame: type %d, %d bytes", f.Type(), len(f.Payload()))
	}
	buf := make([]byte, HeaderLen+3)
	copy(buf[HeaderLen:], "abc")
	if g := FrameIn(2, buf); g.Type() != 2 || string(g.Payload()) != "abc" {
		t.Fatalf("FrameIn: type %d, payload %q", g.Type(), g.Payload())
	}

	var links [2]struct{ client, server *Conn }
	for i := range links {
		c, s := pair(t, "exec-1")
		s.SetBounds(MaxRequestFrame, MaxFrame)
		c.SetBounds(MaxFrame, MaxRequestFrame)
		links[i].client, links[i].server = c, s
	}
	errc := make(chan error, len(links))
	for _, l := range links {
		go func() { errc <- l.server.SendFrame(f) }()
	}
	for _, l := range links {
		typ, got, err := l.client.Recv()
		if err != nil || typ != 7 || !bytes.Equal(got, payload) {
			t.Fatalf("Recv = type %d, %d bytes, %v; want type 7, %d bytes", typ, len(got), err, len(payload))
		}
	}
	for range links {
		if err := await(t, errc); err != nil {
			t.Fatal(err)
		}
	}

	// Over the bound: refused, nothing written, the link still works.
	l := links[0]
	if err := l.client.SendFrame(NewFrame(1, make([]byte, MaxRequestFrame))); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("frame over the bound: %v, want ErrFrameTooLarge", err)
	}
	if err := l.client.SendFrame(Frame{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("zero Frame: %v, want ErrMalformed", err)
	}
	if err := l.client.SendFrame(NewFrame(3, []byte("after"))); err != nil {
		t.Fatal(err)
	}
	if typ, got, err := l.server.Recv(); err != nil || typ != 3 || string(got) != "after" {
		t.Fatalf("after the refusals: type %d, %q, %v", typ, got, err)
	}

	defer func() {
		if recover() == nil {
			t.Error("FrameIn took a buffer shorter than a header")
		}
	}()
	FrameIn(1, make([]byte, HeaderLen-1))
}

// BenchmarkHandshake dials and authenticates one connection per operation
// over loopback, both ends in this process: what a block client pays once
// per block server, since it keeps the connection for every later fetch.
func BenchmarkHandshake(b *testing.B) {
	secret, err := NewSecret()
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c, err := Accept(context.Background(), nc, secret)
			if err == nil {
				c.Close()
			}
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		<-done
	})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		c, err := Dial(ctx, ln.Addr().String(), secret, "exec-1")
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
