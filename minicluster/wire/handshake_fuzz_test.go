package wire

import (
	"bytes"
	"crypto/hmac"
	"errors"
	"io"
	"testing"
)

// fuzzSecret is a fixed secret: the fuzz targets are deterministic in all but
// the server's nonce, which the scripted client reads as a real one would.
var fuzzSecret = []byte("0123456789abcdef0123456789abcdef")

// Modes of the scripted client in FuzzServerHandshake.
const (
	// clientRaw sends the fuzzer's bytes as they are.
	clientRaw = iota
	// clientSigned sends a well-formed message proved with the secret over the
	// server's nonce, for the fuzzer's identity bytes, then the tail.
	clientSigned
	// clientWrongSecret is clientSigned proved with another secret.
	clientWrongSecret
	clientModes
)

// scriptedClient is the client end of serverHandshake without a socket: it
// captures what the server writes and, when the server first reads, builds
// its message over the nonce the server sent.
type scriptedClient struct {
	mode     int
	identity []byte
	tail     []byte
	cut      int // the message is cut to this many bytes when > 0

	fromServer bytes.Buffer
	toServer   *bytes.Reader
}

func (c *scriptedClient) Write(p []byte) (int, error) { return c.fromServer.Write(p) }

func (c *scriptedClient) Read(p []byte) (int, error) {
	if c.toServer == nil {
		c.toServer = bytes.NewReader(c.message())
	}
	return c.toServer.Read(p)
}

func (c *scriptedClient) message() []byte {
	if c.mode == clientRaw {
		return c.tail
	}
	hello := c.fromServer.Bytes()
	if len(hello) < helloLen {
		return nil
	}
	serverNonce := hello[len(magic)+1 : helloLen]
	clientNonce := bytes.Repeat([]byte{7}, nonceLen)
	secret := fuzzSecret
	if c.mode == clientWrongSecret {
		secret = bytes.Repeat([]byte{1}, len(fuzzSecret))
	}
	msg := append([]byte(magic), version)
	msg = append(msg, clientNonce...)
	msg = append(msg, mac(secret, labelClient, serverNonce, clientNonce, c.identity)...)
	msg = append(msg, byte(len(c.identity)))
	msg = append(msg, c.identity...)
	msg = append(msg, c.tail...)
	if c.cut > 0 && c.cut < len(msg) {
		msg = msg[:c.cut]
	}
	return msg
}

// FuzzServerHandshake drives the server side of the handshake with a client
// that is garbage, well-formed and proved, or proved with the wrong secret,
// with any identity bytes, possibly cut short. The server must never panic;
// it must accept exactly the proved, complete messages whose identity is
// valid, and return that identity; anything else is an error wrapping ErrAuth
// or ErrMalformed (or the end of a stream that sent nothing), and the server
// must have sent no proof of its own.
func FuzzServerHandshake(f *testing.F) {
	f.Add(uint8(clientSigned), []byte("exec-1"), []byte{}, uint16(0))
	f.Add(uint8(clientSigned), []byte("exec-1"), []byte("trailing frame bytes"), uint16(0))
	f.Add(uint8(clientSigned), []byte(""), []byte{}, uint16(0))
	f.Add(uint8(clientSigned), []byte("exec 1"), []byte{}, uint16(0))
	f.Add(uint8(clientSigned), []byte("exec-\xff"), []byte{}, uint16(0))
	f.Add(uint8(clientSigned), bytes.Repeat([]byte("x"), maxIDLen), []byte{}, uint16(0))
	f.Add(uint8(clientSigned), []byte("exec-1"), []byte{}, uint16(helloLen+3))
	f.Add(uint8(clientWrongSecret), []byte("exec-1"), []byte{}, uint16(0))
	f.Add(uint8(clientRaw), []byte{}, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), uint16(0))
	f.Add(uint8(clientRaw), []byte{}, []byte("FBWR\x02"), uint16(0))
	f.Add(uint8(clientRaw), []byte{}, []byte("FBWR\x01short nonce"), uint16(0))
	f.Add(uint8(clientRaw), []byte{}, []byte{}, uint16(0))
	f.Fuzz(func(t *testing.T, mode uint8, identity, tail []byte, cut uint16) {
		if len(identity) > maxIDLen {
			identity = identity[:maxIDLen]
		}
		c := &scriptedClient{mode: int(mode % clientModes), identity: identity, tail: tail, cut: int(cut)}
		id, err := serverHandshake(c, c, fuzzSecret)
		sent := c.fromServer.Bytes()
		complete := c.cut == 0 || c.cut >= helloLen+macLen+1+len(identity)
		wantOK := c.mode == clientSigned && complete && checkIdentity(string(identity)) == nil
		if err == nil {
			if !wantOK {
				t.Fatalf("accepted mode %d, identity %q, cut %d", c.mode, identity, c.cut)
			}
			if id != string(identity) {
				t.Fatalf("accepted identity %q, client sent %q", id, identity)
			}
			reply := sent[helloLen:]
			serverNonce := sent[len(magic)+1 : helloLen]
			clientNonce := bytes.Repeat([]byte{7}, nonceLen)
			if len(reply) != 1+macLen || reply[0] != statusOK ||
				!hmac.Equal(reply[1:], mac(fuzzSecret, labelServer, clientNonce, serverNonce, identity)) {
				t.Fatalf("server's reply %x is not OK and its proof", reply)
			}
			return
		}
		if wantOK {
			t.Fatalf("refused a proved client as %q: %v", identity, err)
		}
		if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) && !errors.Is(err, io.EOF) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		switch {
		case len(sent) == helloLen:
		case len(sent) == helloLen+1 && sent[helloLen] == statusRefused && errors.Is(err, ErrAuth):
		default:
			t.Fatalf("server sent %d bytes after refusing (%v), want its hello and at most a refusal", len(sent), err)
		}
	})
}

// FuzzClientHandshake feeds arbitrary server bytes to the client side. No
// server without the secret can prove it, so every input must be refused,
// with ErrAuth, ErrMalformed or the end of the stream, and never panic.
func FuzzClientHandshake(f *testing.F) {
	hello := append([]byte(magic), version)
	hello = append(hello, bytes.Repeat([]byte{9}, nonceLen)...)
	f.Add(hello)
	f.Add(append(bytes.Clone(hello), statusRefused))
	f.Add(append(append(bytes.Clone(hello), statusOK), bytes.Repeat([]byte{1}, macLen)...))
	f.Add(append(bytes.Clone(hello), 7))
	f.Add([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var sent bytes.Buffer
		err := clientHandshake(&sent, bytes.NewReader(data), fuzzSecret, "exec-1")
		if err == nil {
			t.Fatalf("a server without the secret was accepted: %x", data)
		}
		if !errors.Is(err, ErrAuth) && !errors.Is(err, ErrMalformed) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("error wraps no sentinel: %v", err)
		}
		// The client proves itself only to a peer that spoke this protocol.
		if sent.Len() > 0 && !bytes.HasPrefix(data, []byte(magic)) {
			t.Fatalf("client sent its proof to a peer starting %q", data[:min(len(data), 5)])
		}
	})
}
