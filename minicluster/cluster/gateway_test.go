package cluster

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startTestGateway runs a gateway on 127.0.0.2, relaying to services on
// 127.0.0.1 of the same ports, and the harness's relay to it.
func startTestGateway(t *testing.T, ports []int) {
	t.Helper()
	token, err := newToken()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeGateway(ctx, GatewayConfig{Host: "127.0.0.2", Ports: ports, Token: token, Ready: func(a net.Addr) { ready <- a }})
	}()
	var ctl net.Addr
	select {
	case ctl = <-ready:
	case err := <-done:
		cancel()
		t.Skipf("no second loopback address to run a gateway on: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("gateway did not listen within 10s")
	}
	r, err := startRelay(ctl.String(), token, ports)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.close()
		cancel()
		<-done
	})
}

// echoService answers each line with the line upper-cased, and reports each
// connection's end on closed.
func echoService(t *testing.T) (port int, closed chan struct{}) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	closed = make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := io.WriteString(c, strings.ToUpper(sc.Text())+"\n"); err != nil {
						break
					}
				}
				closed <- struct{}{}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, closed
}

// TestGatewayRelays: a connection to the gateway's port P reaches the
// service on 127.0.0.1:P, both ways, many times over (more than the parked
// connections), and a client's close reaches the service as a close.
func TestGatewayRelays(t *testing.T) {
	port, closed := echoService(t)
	startTestGateway(t, []int{port})
	for i := range 3 * gatewayIdle {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		msg := "hello " + strconv.Itoa(i)
		if _, err := io.WriteString(c, msg+"\n"); err != nil {
			t.Fatal(err)
		}
		got, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || got != strings.ToUpper(msg)+"\n" {
			t.Fatalf("connection %d: got %q, %v", i, got, err)
		}
		c.Close()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatalf("connection %d: the client's close never reached the service", i)
		}
	}
}

// TestGatewayRefusesStrangers: a connection to the control port without the
// token is closed and never carries a node's connection; a service port the
// relay was not given is not dialled.
func TestGatewayRefusesStrangers(t *testing.T) {
	port, _ := echoService(t)
	token := strings.Repeat("a", 48)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- ServeGateway(ctx, GatewayConfig{Host: "127.0.0.2", Ports: []int{port}, Token: token, Ready: func(a net.Addr) { ready <- a }})
	}()
	var ctl net.Addr
	select {
	case ctl = <-ready:
	case err := <-done:
		t.Skipf("no second loopback address to run a gateway on: %v", err)
	}
	s, err := net.Dial("tcp", ctl.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, _ = io.WriteString(s, strings.Repeat("b", 48))
	_ = s.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := s.Read(make([]byte, 2)); err == nil {
		t.Fatalf("a connection with the wrong token got %d bytes", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection with the wrong token stayed open")
	}

	// A relay allowed no port: the gateway's connection is dropped.
	r, err := startRelay(ctl.String(), token, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.2", strconv.Itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(c, "x\n")
	// Dropped means closed with nothing served: a FIN, or a reset when the
	// gateway closed before reading what was written to it.
	if b, err := io.ReadAll(c); (err != nil && !errors.Is(err, syscall.ECONNRESET)) || len(b) > 0 {
		t.Fatalf("a port the relay was not given was served: %q, %v", b, err)
	}
}

func TestRelayAddr(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		docker bool
		want   string
	}{
		{"127.0.0.1:41234", false, "127.0.0.1:41234"},
		{"127.0.0.1:41234", true, "gateway:41234"},
	} {
		if got := RelayAddr(tc.addr, tc.docker); got != tc.want {
			t.Errorf("RelayAddr(%q, %v) = %q, want %q", tc.addr, tc.docker, got, tc.want)
		}
	}
	if _, err := servicePorts([]string{"10.0.0.1:80"}); err == nil {
		t.Error("a service off the loopback was accepted for relaying")
	}
}
