package wire

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
)

// fuzzConn stands in for the socket under a Conn whose buffered reader holds
// the fuzzer's bytes; Recv only ever closes it.
type fuzzConn struct {
	net.Conn // nil
}

func (fuzzConn) Close() error         { return nil }
func (fuzzConn) RemoteAddr() net.Addr { return nil }

// FuzzRecv feeds arbitrary bytes to the frame reader. It must never panic or
// hang; every frame it accepts must be exactly the bytes it consumed; and every
// error must be a clean end of stream at a frame boundary or one of the
// package's sentinels.
func FuzzRecv(f *testing.F) {
	f.Add(rawFrame(6, 1, []byte("hello")), uint16(0))
	f.Add(append(rawFrame(1, 2, nil), rawFrame(3, 3, []byte("ab"))...), uint16(0))
	f.Add(rawFrame(0xffffffff, 1, nil), uint16(0))
	f.Add(rawFrame(MaxFrame, 1, []byte("short")), uint16(0))
	f.Add(rawFrame(100, 1, make([]byte, 99)), uint16(50))
	f.Add([]byte{0, 0, 0, 0}, uint16(0))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"), uint16(0))
	f.Add([]byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		c := newConn(fuzzConn{}, bufio.NewReader(bytes.NewReader(data)), "fuzz")
		c.SetMaxFrame(int(limit))
		var again []byte
		for range len(data) + 1 {
			mt, payload, err := c.Recv()
			if err != nil {
				switch {
				case errors.Is(err, io.EOF):
					if !bytes.Equal(again, data) {
						t.Fatalf("clean EOF after %d of %d bytes", len(again), len(data))
					}
				case errors.Is(err, ErrMalformed), errors.Is(err, ErrFrameTooLarge):
				default:
					t.Fatalf("error is no sentinel: %v", err)
				}
				return
			}
			if limit != 0 && len(payload)+1 > int(limit) {
				t.Fatalf("frame of %d bytes accepted under a bound of %d", len(payload)+1, limit)
			}
			again = append(again, rawFrame(uint32(len(payload)+1), mt, payload)...)
			if !bytes.HasPrefix(data, again) {
				t.Fatalf("frames re-encode to %x, not a prefix of the input", again)
			}
		}
		t.Fatal("more frames than bytes")
	})
}
