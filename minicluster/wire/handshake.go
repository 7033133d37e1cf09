package wire

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
	"unicode"
	"unicode/utf8"
)

// The handshake, before any frame:
//
//	server -> client  magic(4) version(1) serverNonce(32)
//	client -> server  magic(4) version(1) clientNonce(32)
//	                  HMAC(secret, "client"|serverNonce|clientNonce|identity)(32)
//	                  len(identity)(1) identity
//	server -> client  statusOK HMAC(secret, "server"|clientNonce|serverNonce|identity)(32)
//	               or statusRefused, then close
//
// Each side proves the secret over a nonce the other chose, so a recorded
// exchange cannot be replayed, and the two proofs carry different labels, so
// one side's proof can never be reflected back as the other's. The server
// checks the client before it computes anything over the client's nonce: it is
// never an oracle for an unauthenticated caller. It says "refused" rather than
// just hanging up so that a client with the wrong secret reports ErrAuth, not a
// network error.
const (
	magic               = "FBWR"
	version        byte = 1
	nonceLen            = 32
	macLen              = sha256.Size
	helloLen            = len(magic) + 1 + nonceLen
	maxIDLen            = 255
	minSecret           = 16
	secretLen           = 32
	labelClient         = "fbwire1 client"
	labelServer         = "fbwire1 server"
	statusOK            = 0
	statusRefused       = 1
	defaultTimeout      = 5 * time.Second
)

// Dial connects to addr and proves the cluster secret under the given identity
// ("exec-3"), which the server sees as Peer. The handshake is bounded by ctx's
// deadline, or by 5 s when ctx has none.
func Dial(ctx context.Context, addr string, secret []byte, identity string) (*Conn, error) {
	if err := checkSecret(secret); err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	if err := checkIdentity(identity); err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	r := bufio.NewReader(nc)
	err = bounded(ctx, nc, func() error { return clientHandshake(nc, r, secret, identity) })
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s as %q: %w", addr, identity, err)
	}
	return newConn(nc, r, "server"), nil
}

// Accept runs the server side of the handshake on a connection taken from a
// listener. A client that cannot prove the secret gets an error wrapping
// ErrAuth; bytes that are not this protocol get one wrapping ErrMalformed. On
// any error nc is closed. The handshake is bounded as in Dial.
func Accept(ctx context.Context, nc net.Conn, secret []byte) (*Conn, error) {
	remote := remoteAddr(nc)
	if err := checkSecret(secret); err != nil {
		nc.Close()
		return nil, fmt.Errorf("accept %s: %w", remote, err)
	}
	r := bufio.NewReader(nc)
	var identity string
	err := bounded(ctx, nc, func() error {
		var err error
		identity, err = serverHandshake(nc, r, secret)
		return err
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake with %s: %w", remote, err)
	}
	return newConn(nc, r, identity), nil
}

// bounded runs fn with nc's deadline set from ctx (or defaultTimeout), and
// interrupts it if ctx is cancelled, so a peer that stalls mid-handshake
// cannot hold a goroutine.
func bounded(ctx context.Context, nc net.Conn, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	if err := nc.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	err := fn()
	if !stop() {
		if err == nil {
			err = errors.New("handshake interrupted")
		}
		return fmt.Errorf("%w: %w", context.Cause(ctx), err)
	}
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("handshake not done by %s: %w", deadline.Format(time.RFC3339Nano), err)
		}
		return err
	}
	return nc.SetDeadline(time.Time{})
}

func clientHandshake(w io.Writer, r io.Reader, secret []byte, identity string) error {
	var hello [helloLen]byte
	if err := readHello(r, hello[:]); err != nil {
		return err
	}
	serverNonce := hello[len(magic)+1:]

	clientNonce, err := nonce()
	if err != nil {
		return err
	}
	msg := make([]byte, 0, helloLen+macLen+1+len(identity))
	msg = append(msg, magic...)
	msg = append(msg, version)
	msg = append(msg, clientNonce...)
	msg = append(msg, mac(secret, labelClient, serverNonce, clientNonce, []byte(identity))...)
	msg = append(msg, byte(len(identity)))
	msg = append(msg, identity...)
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("send proof: %w", err)
	}

	var reply [1 + macLen]byte
	if _, err := io.ReadFull(r, reply[:1]); err != nil {
		return fmt.Errorf("read server reply: %w", err)
	}
	switch reply[0] {
	case statusOK:
	case statusRefused:
		return fmt.Errorf("server refused our proof: %w", ErrAuth)
	default:
		return fmt.Errorf("%w: server reply status %d", ErrMalformed, reply[0])
	}
	if _, err := io.ReadFull(r, reply[1:]); err != nil {
		return fmt.Errorf("read server proof: %w", err)
	}
	want := mac(secret, labelServer, clientNonce, serverNonce, []byte(identity))
	if !hmac.Equal(reply[1:], want) {
		return fmt.Errorf("server proof does not match: %w", ErrAuth)
	}
	return nil
}

func serverHandshake(w io.Writer, r io.Reader, secret []byte) (string, error) {
	serverNonce, err := nonce()
	if err != nil {
		return "", err
	}
	hello := make([]byte, 0, helloLen)
	hello = append(hello, magic...)
	hello = append(hello, version)
	hello = append(hello, serverNonce...)
	if _, err := w.Write(hello); err != nil {
		return "", fmt.Errorf("send hello: %w", err)
	}

	var msg [helloLen + macLen + 1]byte
	if err := readHello(r, msg[:helloLen]); err != nil {
		return "", err
	}
	if _, err := io.ReadFull(r, msg[helloLen:]); err != nil {
		return "", fmt.Errorf("%w: read client proof: %w", ErrMalformed, eofIsUnexpected(err))
	}
	clientNonce := msg[len(magic)+1 : helloLen]
	proof := msg[helloLen : helloLen+macLen]
	idLen := int(msg[helloLen+macLen])
	if idLen == 0 {
		return "", fmt.Errorf("%w: empty client identity", ErrMalformed)
	}
	id := make([]byte, idLen)
	if _, err := io.ReadFull(r, id); err != nil {
		return "", fmt.Errorf("%w: read client identity: %w", ErrMalformed, eofIsUnexpected(err))
	}
	if !hmac.Equal(proof, mac(secret, labelClient, serverNonce, clientNonce, id)) {
		w.Write([]byte{statusRefused})
		return "", fmt.Errorf("client proof for identity %q does not match: %w", sanitize(id), ErrAuth)
	}
	if err := checkIdentity(string(id)); err != nil {
		return "", fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	reply := append([]byte{statusOK}, mac(secret, labelServer, clientNonce, serverNonce, id)...)
	if _, err := w.Write(reply); err != nil {
		return "", fmt.Errorf("send proof: %w", err)
	}
	return string(id), nil
}

// readHello reads and checks magic and version into buf (helloLen bytes). They
// are checked before the nonce is read, so that an HTTP request or random bytes
// are refused as soon as five bytes have arrived, not at the deadline.
func readHello(r io.Reader, buf []byte) error {
	head := buf[:len(magic)+1]
	n, err := io.ReadFull(r, head)
	if got := head[:min(n, len(magic))]; !bytes.HasPrefix([]byte(magic), got) {
		return fmt.Errorf("%w: peer does not speak faultbook wire (starts %q)", ErrMalformed, got)
	}
	if err != nil {
		if n == 0 {
			return fmt.Errorf("read hello: %w", err)
		}
		return fmt.Errorf("%w: truncated hello: %w", ErrMalformed, err)
	}
	if v := head[len(magic)]; v != version {
		return fmt.Errorf("%w: peer speaks version %d, this side %d", ErrMalformed, v, version)
	}
	if _, err := io.ReadFull(r, buf[len(head):]); err != nil {
		return fmt.Errorf("%w: truncated hello: %w", ErrMalformed, eofIsUnexpected(err))
	}
	return nil
}

func mac(secret []byte, label string, parts ...[]byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(label))
	for _, p := range parts {
		h.Write(p)
	}
	return h.Sum(nil)
}

func nonce() ([]byte, error) {
	b := make([]byte, nonceLen)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("draw nonce: %w", err)
	}
	return b, nil
}

func checkSecret(secret []byte) error {
	if len(secret) < minSecret {
		return fmt.Errorf("secret of %d bytes, need at least %d", len(secret), minSecret)
	}
	return nil
}

// checkIdentity keeps identities short and printable: they end up in errors
// and node logs.
func checkIdentity(id string) error {
	if id == "" || len(id) > maxIDLen {
		return fmt.Errorf("identity of %d bytes, need 1 to %d", len(id), maxIDLen)
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("identity %q is not utf-8", id)
	}
	for _, r := range id {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("identity %q has a space or unprintable character", id)
		}
	}
	return nil
}

// sanitize bounds an unauthenticated identity before it goes into an error.
func sanitize(id []byte) string {
	const keep = 64
	if len(id) > keep {
		return string(id[:keep]) + "..."
	}
	return string(id)
}
