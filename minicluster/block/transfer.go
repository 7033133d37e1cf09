package block

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Handler answers one block request on a transport goroutine, with the
// block as a block-data frame (EncodeFrame's, or the Store's). ctx is that
// goroutine's context: what it carries (or lacks) is what the handler can
// resolve.
type Handler func(ctx context.Context, req rpc.GetBlock) (wire.Frame, *rpc.BlockError)

// Server serves blocks to other executors over authenticated connections.
type Server struct {
	ln      net.Listener
	secret  []byte
	handler Handler
	log     *slog.Logger
	// base is the context every transport goroutine runs with.
	base context.Context

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[*wire.Conn]struct{}
	closed bool
}

// NewServer listens on a free port of host (the node's address; "" is
// 127.0.0.1). Transport goroutines run with base as their context.
func NewServer(base context.Context, host string, secret []byte, h Handler, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(BindHost(host), "0"))
	if err != nil {
		return nil, fmt.Errorf("listen for blocks: %w", err)
	}
	ctx, cancel := context.WithCancel(base)
	return &Server{ln: ln, secret: secret, handler: h, log: log, base: ctx, cancel: cancel, conns: map[*wire.Conn]struct{}{}}, nil
}

// BindHost is the address a server of a node listens on: the node's own
// address in a multi-host cluster, 127.0.0.1 when every node shares this host.
func BindHost(host string) string {
	if host == "" {
		return "127.0.0.1"
	}
	return host
}

// Addr is the address peers fetch from.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Start accepts connections until Close.
func (s *Server) Start() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := s.ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				s.serve(nc)
			}()
		}
	}()
}

func (s *Server) serve(nc net.Conn) {
	hctx, cancel := context.WithTimeout(s.base, 5*time.Second)
	c, err := wire.Accept(hctx, nc, s.secret)
	cancel()
	if err != nil {
		// A handshake cut short by the server's own Close is no refusal; a peer
		// that failed to prove the secret is one, whenever Close comes.
		if s.base.Err() == nil || errors.Is(err, wire.ErrAuth) {
			s.log.Warn("Refused block connection from "+nc.RemoteAddr().String()+": "+err.Error(), "component", "network.BlockServer")
		}
		_ = nc.Close()
		return
	}
	// A block server reads requests and sends whole blocks.
	c.SetBounds(wire.MaxRequestFrame, wire.MaxFrame)
	if !s.track(c) {
		_ = c.Close()
		return
	}
	defer s.untrack(c)
	for {
		t, payload, err := c.Recv()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) && !errors.Is(err, io.EOF) {
				s.log.Warn("Closing block connection from "+c.Peer()+": "+err.Error(), "component", "network.BlockServer")
			}
			return
		}
		if t != rpc.MsgGetBlock {
			s.log.Warn(fmt.Sprintf("Closing block connection from %s: unexpected message type %d", c.Peer(), t), "component", "network.BlockServer")
			return
		}
		var req rpc.GetBlock
		if err := wire.DecodeJSON(payload, &req); err != nil {
			s.log.Warn("Closing block connection from "+c.Peer()+": "+err.Error(), "component", "network.BlockServer")
			return
		}
		f, berr := s.handler(s.base, req)
		switch {
		case berr != nil:
			err = c.SendJSON(rpc.MsgBlockError, berr)
		case f.Type() != rpc.MsgBlockData:
			s.log.Error(fmt.Sprintf("Handler answered %s with a frame of type %d, not block data", req.Block, f.Type()), "component", "network.BlockServer")
			err = c.SendJSON(rpc.MsgBlockError, &rpc.BlockError{Kind: "SparkException", Message: "block server could not serve " + req.Block})
		default:
			// One write from where the block is kept.
			err = c.SendFrame(f)
		}
		if err != nil {
			return
		}
	}
}

func (s *Server) track(c *wire.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c *wire.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	_ = c.Close()
}

// Close stops accepting, closes open connections and waits for their goroutines.
// Safe twice.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.cancel()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// RemoteError is a block server's refusal, carried back to the fetching task.
type RemoteError struct {
	Addr string
	rpc.BlockError
}

func (e *RemoteError) Error() string {
	return fmt.Sprintf("block server %s: %s: %s", e.Addr, e.BlockError.Kind, e.BlockError.Message)
}

// Kind is the remote error's type.
func (e *RemoteError) Kind() string { return e.BlockError.Kind }

// Client fetches blocks, keeping one authenticated connection per server.
type Client struct {
	secret   []byte
	identity string

	mu    sync.Mutex
	conns map[string]*clientConn
}

type clientConn struct {
	mu sync.Mutex
	c  *wire.Conn
}

// NewClient returns a client that proves secret as identity.
func NewClient(secret []byte, identity string) *Client {
	return &Client{secret: secret, identity: identity, conns: map[string]*clientConn{}}
}

// Fetch asks addr for a block.
func (c *Client) Fetch(ctx context.Context, addr string, req rpc.GetBlock) ([]byte, error) {
	c.mu.Lock()
	cc, ok := c.conns[addr]
	if !ok {
		cc = &clientConn{}
		c.conns[addr] = cc
	}
	c.mu.Unlock()

	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.c == nil {
		conn, err := wire.Dial(ctx, addr, c.secret, c.identity)
		if err != nil {
			return nil, fmt.Errorf("connect to block server %s: %w", addr, err)
		}
		conn.SetBounds(wire.MaxFrame, wire.MaxRequestFrame)
		cc.c = conn
	}
	// A server that accepts and never answers must not hold the task forever:
	// the context's end closes the connection under the round trip.
	conn := cc.c
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	data, err := roundTrip(conn, addr, req)
	if !stop() && err != nil {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	if err != nil {
		var rerr *RemoteError
		if !errors.As(err, &rerr) {
			_ = cc.c.Close()
			cc.c = nil
		}
		return nil, err
	}
	return data, nil
}

// Release gives back a block Fetch returned, once the caller is done with it
// and nothing refers into it (Decode copies what it keeps): the next large
// block may be read into the same memory instead of a fresh allocation. Only
// a block from Fetch may be released, and only once; one never released is
// collected as usual.
func (c *Client) Release(data []byte) { wire.Recycle(data) }

func roundTrip(c *wire.Conn, addr string, req rpc.GetBlock) ([]byte, error) {
	if err := c.SendJSON(rpc.MsgGetBlock, req); err != nil {
		return nil, fmt.Errorf("request %s from %s: %w", req.Block, addr, err)
	}
	t, payload, err := c.Recv()
	if err != nil {
		return nil, fmt.Errorf("fetch %s from %s: %w", req.Block, addr, err)
	}
	switch t {
	case rpc.MsgBlockData:
		return payload, nil
	case rpc.MsgBlockError:
		var be rpc.BlockError
		if err := wire.DecodeJSON(payload, &be); err != nil {
			return nil, fmt.Errorf("fetch %s from %s: %w", req.Block, addr, err)
		}
		return nil, &RemoteError{Addr: addr, BlockError: be}
	}
	return nil, fmt.Errorf("fetch %s from %s: unexpected message type %d", req.Block, addr, t)
}

// Close closes every connection; safe twice.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for addr, cc := range c.conns {
		cc.mu.Lock()
		if cc.c != nil {
			_ = cc.c.Close()
		}
		cc.mu.Unlock()
		delete(c.conns, addr)
	}
	return nil
}
