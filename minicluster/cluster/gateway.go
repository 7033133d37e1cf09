package cluster

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Services beside the cluster — the data service's per-node proxies, the
// embedded S3 server — run in the harness and listen on 127.0.0.1 only. In
// the docker runtime the containers cannot reach this host's loopback, and
// nothing here is opened wider: a gateway container on the run's network
// (hidden `faultbook gateway`, the node image) listens on each service's port
// under the host name GatewayHost, and carries every connection it accepts
// back to the harness over a connection the harness opened to it, through a
// port the engine maps on 127.0.0.1. The harness then dials the service on
// 127.0.0.1 and splices the two. Every connection is a real TCP connection
// end to end: a proxy's toxic, a node cut off the network or frozen acts on
// it as on a direct one.
//
// The link: the harness keeps a few connections open to the gateway's
// control port, each starting with the run's token; the gateway parks them,
// and for each connection a node makes to service port P it takes one,
// writes P (two bytes) and splices. The harness opens another at once.

// GatewayHost is the gateway container's host name on the run's network:
// a node reaches the service on this host's 127.0.0.1:P at GatewayHost:P.
const GatewayHost = "gateway"

// GatewayControlPort is the gateway's port the harness connects to, mapped
// by the engine on 127.0.0.1 only.
const GatewayControlPort = 7070

// GatewayTokenEnv carries the token a harness connection starts with.
const GatewayTokenEnv = "FAULTBOOK_GATEWAY_TOKEN"

// GatewayReady is the line the gateway prints once every port listens.
const GatewayReady = "gateway listening"

// gatewayIdle is how many connections the harness keeps parked at the gateway.
const gatewayIdle = 8

// RelayAddr is where a node reaches a service of this host: the address
// itself in the process runtime, GatewayHost and the same port in the docker
// runtime.
func RelayAddr(addr string, docker bool) string {
	if !docker {
		return addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return net.JoinHostPort(GatewayHost, port)
}

// servicePorts checks that every service listens on this host's loopback
// and returns their ports.
func servicePorts(services []string) ([]int, error) {
	var ports []int
	for _, s := range services {
		host, p, err := net.SplitHostPort(s)
		if err != nil {
			return nil, fmt.Errorf("service %q: %v", s, err)
		}
		if ip, err := netip.ParseAddr(host); (err != nil || !ip.IsLoopback()) && host != "localhost" {
			return nil, fmt.Errorf("service %q: the gateway relays this host's loopback services only", s)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 || n == GatewayControlPort {
			return nil, fmt.Errorf("service %q: port %q cannot be relayed", s, p)
		}
		ports = append(ports, n)
	}
	return ports, nil
}

// GatewayConfig configures ServeGateway.
type GatewayConfig struct {
	// Host is the address listened on: "" (every address of the gateway
	// container) there; a loopback address in tests.
	Host string
	// ControlPort is the harness's port (GatewayControlPort; 0 picks one).
	ControlPort int
	// Ports are the services' ports, listened on under the same numbers.
	Ports []int
	// Token is what a harness connection must start with.
	Token string
	// Ready is called once every port listens, with the control address.
	Ready func(control net.Addr)
}

// ServeGateway is the gateway container's main loop: it listens on the
// control port and on every service port until ctx ends.
func ServeGateway(ctx context.Context, cfg GatewayConfig) error {
	if len(cfg.Token) < 32 {
		return errors.New("gateway: no token")
	}
	g := &gateway{token: []byte(cfg.Token), idle: make(chan net.Conn, 4*gatewayIdle)}
	ctl, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.ControlPort)))
	if err != nil {
		return fmt.Errorf("gateway: listen for the harness: %w", err)
	}
	lns := []net.Listener{ctl}
	defer func() {
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	ports := cfg.Ports
	for _, p := range ports {
		l, err := net.Listen("tcp", net.JoinHostPort(cfg.Host, strconv.Itoa(p)))
		if err != nil {
			return fmt.Errorf("gateway: listen on service port %d: %w", p, err)
		}
		lns = append(lns, l)
	}
	go func() {
		<-ctx.Done()
		for _, l := range lns {
			_ = l.Close()
		}
	}()
	go g.acceptHarness(ctl)
	for i, l := range lns[1:] {
		go g.acceptNodes(ctx, l, ports[i])
	}
	if cfg.Ready != nil {
		cfg.Ready(ctl.Addr())
	}
	<-ctx.Done()
	return nil
}

type gateway struct {
	token []byte
	idle  chan net.Conn
}

// acceptHarness parks every harness connection that proves the token.
func (g *gateway) acceptHarness(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			buf := make([]byte, len(g.token))
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(c, buf); err != nil || subtle.ConstantTimeCompare(buf, g.token) != 1 {
				_ = c.Close()
				return
			}
			_ = c.SetReadDeadline(time.Time{})
			select {
			case g.idle <- c:
			default:
				_ = c.Close() // enough parked
			}
		}()
	}
}

// acceptNodes carries each connection to a service port to the harness.
func (g *gateway) acceptNodes(ctx context.Context, l net.Listener, port int) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			var h net.Conn
			select {
			case h = <-g.idle:
			case <-time.After(10 * time.Second):
				_ = c.Close()
				return
			case <-ctx.Done():
				_ = c.Close()
				return
			}
			var hdr [2]byte
			binary.BigEndian.PutUint16(hdr[:], uint16(port))
			if _, err := h.Write(hdr[:]); err != nil {
				_ = c.Close()
				_ = h.Close()
				return
			}
			splice(c, h)
		}()
	}
}

// splice copies both ways until either side ends, then closes both: a close
// on one end is a close on the other, as on a direct connection.
func splice(a, b net.Conn) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	go func() { _, _ = io.Copy(b, a); done <- struct{}{} }()
	<-done
	_ = a.Close()
	_ = b.Close()
	<-done
}

// relay is the harness's side of a gateway: it keeps gatewayIdle
// connections parked there and carries each one used to its service.
type relay struct {
	addr    string
	token   []byte
	allowed map[int]bool
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]bool
}

func newToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// startRelay opens the parked connections to the gateway at addr.
func startRelay(addr, token string, ports []int) (*relay, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{addr: addr, token: []byte(token), allowed: map[int]bool{}, ctx: ctx, cancel: cancel, conns: map[net.Conn]bool{}}
	for _, p := range ports {
		r.allowed[p] = true
	}
	for range gatewayIdle {
		if err := r.park(); err != nil {
			r.close()
			return nil, err
		}
	}
	return r, nil
}

// park opens one connection to the gateway and serves it in the background.
func (r *relay) park() error {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(r.ctx, "tcp", r.addr)
	if err != nil {
		return fmt.Errorf("connect to the gateway at %s: %w", r.addr, err)
	}
	if _, err := c.Write(r.token); err != nil {
		_ = c.Close()
		return fmt.Errorf("connect to the gateway at %s: %w", r.addr, err)
	}
	if !r.track(c, true) {
		_ = c.Close()
		return r.ctx.Err()
	}
	r.wg.Go(func() { r.serve(c) })
	return nil
}

func (r *relay) track(c net.Conn, on bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		if r.ctx.Err() != nil {
			return false
		}
		r.conns[c] = true
	} else {
		delete(r.conns, c)
	}
	return true
}

// serve waits for the gateway to use a parked connection, parks another,
// and carries this one to its service on 127.0.0.1.
func (r *relay) serve(c net.Conn) {
	defer r.track(c, false)
	var hdr [2]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		_ = c.Close()
		return
	}
	// Another in its place; a gateway gone meanwhile has nothing to relay.
	_ = r.park()
	port := int(binary.BigEndian.Uint16(hdr[:]))
	if !r.allowed[port] {
		_ = c.Close()
		return
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	s, err := d.DialContext(r.ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		_ = c.Close()
		return
	}
	splice(c, s)
}

// close ends every connection and waits for their goroutines; safe twice.
func (r *relay) close() {
	r.cancel()
	r.mu.Lock()
	for c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// startGateway starts the run's gateway container when the cluster has
// services to reach, and the relay to it.
func (dc *dockerCluster) startGateway(ctx context.Context, image string, services []string, timeout time.Duration) error {
	if len(services) == 0 {
		return nil
	}
	ports, err := servicePorts(services)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInfra, err)
	}
	token, err := newToken()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInfra, err)
	}
	ps := make([]string, len(ports))
	for i, p := range ports {
		ps[i] = strconv.Itoa(p)
	}
	ctl := network.MustParsePort(fmt.Sprintf("%d/tcp", GatewayControlPort))
	req := testcontainers.GenericContainerRequest{Started: true, Logger: tclog.NewNoopLogger(), ContainerRequest: testcontainers.ContainerRequest{
		Image: image, Cmd: []string{"gateway", "--ports", strings.Join(ps, ",")}, Env: map[string]string{GatewayTokenEnv: token},
		Labels: dc.d.labels(), Name: dc.names[GatewayHost],
		Networks: []string{dc.net.Name}, NetworkAliases: map[string][]string{dc.net.Name: {GatewayHost}},
		ExposedPorts: []string{ctl.String()},
		WaitingFor:   wait.ForLog(GatewayReady).WithStartupTimeout(max(timeout, 30*time.Second)),
		ConfigModifier: func(cfg *container.Config) {
			cfg.Hostname = GatewayHost
			cfg.User = dc.user()
		},
		HostConfigModifier: func(hc *container.HostConfig) {
			// The control port is this host's loopback's only.
			hc.PortBindings = network.PortMap{ctl: {{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"}}}
		},
	}}
	ctr, err := testcontainers.GenericContainer(ctx, req)
	if ctr != nil {
		dc.mu.Lock()
		dc.gateway = ctr
		dc.mu.Unlock()
	}
	if err != nil {
		return fmt.Errorf("%w: start the gateway container: %s", ErrInfra, firstLine(err.Error()))
	}
	mp, err := ctr.MappedPort(ctx, ctl.String())
	if err != nil {
		return fmt.Errorf("%w: the gateway's control port: %s", ErrInfra, firstLine(err.Error()))
	}
	r, err := startRelay(net.JoinHostPort("127.0.0.1", strconv.Itoa(int(mp.Num()))), token, ports)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInfra, err)
	}
	dc.mu.Lock()
	dc.relay = r
	dc.mu.Unlock()
	return nil
}
