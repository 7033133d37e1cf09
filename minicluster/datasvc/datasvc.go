// Package datasvc is an external data service that a job's tasks fetch their
// input from over HTTP, as the seed's job fetched "a decent amount of data over
// the network" (seed 003, post "Diving Into Spark 2.1.0 Blacklisting Feature").
// It runs beside the cluster on 127.0.0.1, and every node reaches it through a
// proxy of its own (toxiproxy, in-process), so a network fault can strike one
// node's route and no other's.
//
// The fault point node-network puts a toxic on the targeted nodes' proxies: a
// timeout toxic (no byte gets through, the client's read times out) or latency.
// Inject and Revert are one code path. Each node's proxy talks to its own
// upstream listener, which watches every connection: a connection through a
// toxic proxy whose request never arrived, or arrived late, is the fault's
// effect, and only then is a "fault" event written, with the proof.
package datasvc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/rs/zerolog"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/spec"
)

// ParamPrefix starts the workload parameter that holds a node's address of
// the service: "datasvc.node-b" = "127.0.0.1:41234". It is spec's, so that a
// workload reads it without linking the service and its proxies.
const ParamPrefix = spec.DataServiceParamPrefix

// Options configure Start.
type Options struct {
	// Nodes are the nodes that get a proxy each.
	Nodes []string
	// Handler serves the data.
	Handler http.Handler
	// Events receives fault-on, fault-off and fault events; nil discards.
	Events *events.Log
	// Observe, when set, is also given every event (from several goroutines).
	Observe func(events.Event)
}

// Service is a running data service with its proxies.
type Service struct {
	o       Options
	srv     *http.Server
	api     *toxiproxy.ApiServer
	proxies map[string]*toxiproxy.Proxy
	ups     map[string]*upstream
	wg      sync.WaitGroup

	mu     sync.Mutex
	active map[string]fault.Spec // node → fault acting on its proxy
	closed bool
}

// Start serves the handler and starts one proxy per node.
func Start(o Options) (s *Service, err error) {
	s = &Service{o: o, proxies: map[string]*toxiproxy.Proxy{}, ups: map[string]*upstream{}, active: map[string]fault.Spec{}}
	s.srv = &http.Server{Handler: o.Handler, ReadHeaderTimeout: 10 * time.Second}
	s.api = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	defer func() {
		if err != nil {
			_ = s.Close()
		}
	}()
	for _, node := range o.Nodes {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("listen for %s's route: %w", node, err)
		}
		up := &upstream{Listener: ln, node: node, svc: s}
		s.ups[node] = up
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			_ = s.srv.Serve(up)
		}()
		p := toxiproxy.NewProxy(s.api, "datasvc-"+node, "127.0.0.1:0", ln.Addr().String())
		if err := p.Start(); err != nil {
			return nil, fmt.Errorf("start %s's proxy: %w", node, err)
		}
		s.proxies[node] = p
	}
	return s, nil
}

// Params are the workload parameters naming each node's address of the service.
func (s *Service) Params() map[string]string {
	out := map[string]string{}
	for node, p := range s.proxies {
		out[ParamPrefix+node] = p.Listen
	}
	return out
}

// Inject puts the fault's toxic on each targeted node's proxy.
func (s *Service) Inject(f fault.Spec) error { return s.apply(f, true) }

// Revert takes the fault's toxic off again.
func (s *Service) Revert(f fault.Spec) error { return s.apply(f, false) }

// toxicName is the one toxic this package puts on a proxy.
const toxicName = "node-network"

// Toxic settings of the node-network fault point, read from fault.Spec.Params.
const (
	// ParamToxic is "timeout" (default: nothing gets through) or "latency".
	ParamToxic = "toxic"
	// ParamLatencyMs is the latency toxic's delay. Default 100.
	ParamLatencyMs = "latency_ms"
)

// apply is inject (on) and revert (off) in one: the same toxic, added or removed.
func (s *Service) apply(f fault.Spec, on bool) error {
	if f.Point != fault.NodeNetwork {
		return fmt.Errorf("datasvc cannot inject %s", f.Point)
	}
	kind := f.Params[ParamToxic]
	if kind == "" {
		kind = "timeout"
	}
	attrs := map[string]int64{"timeout": 0}
	if kind == "latency" {
		ms, err := strconv.Atoi(orDefault(f.Params[ParamLatencyMs], "100"))
		if err != nil {
			return fmt.Errorf("fault %s: %s=%q: not an integer", f, ParamLatencyMs, f.Params[ParamLatencyMs])
		}
		attrs = map[string]int64{"latency": int64(ms)}
	} else if kind != "timeout" {
		return fmt.Errorf("fault %s: toxic %q: want timeout or latency", f, kind)
	}
	toxicity := 1.0
	if f.Sham() { // the toxic is put on and taken off, and never acts
		toxicity = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, node := range f.Nodes {
		p, ok := s.proxies[node]
		if !ok {
			return fmt.Errorf("fault %s: no node %s", f, node)
		}
		if on {
			body := fmt.Sprintf(`{"name":%q,"type":%q,"stream":"upstream","toxicity":%g,"attributes":%s}`, toxicName, kind, toxicity, jsonAttrs(attrs))
			if _, err := p.Toxics.AddToxicJson(strings.NewReader(body)); err != nil {
				return fmt.Errorf("put %s toxic on %s's proxy: %w", kind, node, err)
			}
			s.active[node] = f
		} else {
			if err := p.Toxics.RemoveToxic(context.Background(), toxicName); err != nil {
				return fmt.Errorf("take %s toxic off %s's proxy: %w", kind, node, err)
			}
			delete(s.active, node)
		}
		kindOf, verb := events.FaultOn, "on"
		if !on {
			kindOf, verb = events.FaultOff, "off"
		}
		s.emit(events.Event{Kind: kindOf, Node: node, Name: string(f.Point), Role: "network",
			Message: fmt.Sprintf("%s toxic %s on %s's proxy to the data service", kind, verb, node)})
	}
	return nil
}

func jsonAttrs(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}) {
		parts = append(parts, fmt.Sprintf("%q:%d", k, m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// activeOn returns the fault acting on a node's proxy, if any.
func (s *Service) activeOn(node string) (fault.Spec, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.active[node]
	return f, ok
}

// Close stops the proxies and the server; safe twice.
func (s *Service) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	for _, p := range s.proxies {
		p.Stop()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = s.srv.Close()
	}
	for _, up := range s.ups {
		_ = up.Close()
	}
	s.wg.Wait()
	return err
}

// upstream is one node's listener of the service. It watches each connection
// the node's proxy opens: how long until the request's first byte arrived, or
// whether none ever did.
type upstream struct {
	net.Listener
	node string
	svc  *Service
	n    int
	mu   sync.Mutex
	// inert remembers the faults already reported without effect here.
	inert sync.Map
}

func (u *upstream) Accept() (net.Conn, error) {
	c, err := u.Listener.Accept()
	if err != nil {
		return nil, err
	}
	u.mu.Lock()
	u.n++
	n := u.n
	u.mu.Unlock()
	f, faulty := u.svc.activeOn(u.node)
	return &watched{Conn: c, up: u, n: n, accepted: time.Now(), fault: f, faulty: faulty}, nil
}

// watched is one proxied connection.
type watched struct {
	net.Conn
	up       *upstream
	n        int
	accepted time.Time
	fault    fault.Spec
	faulty   bool
	once     sync.Once
	gotByte  atomic.Bool
	closeMu  sync.Once
}

func (w *watched) Read(b []byte) (int, error) {
	n, err := w.Conn.Read(b)
	if n > 0 {
		w.once.Do(func() {
			w.gotByte.Store(true)
			if !w.faulty {
				return
			}
			took := time.Since(w.accepted)
			if w.fault.Params[ParamToxic] != "latency" {
				w.noEffect(fmt.Sprintf("the request on connection %d through %s's proxy reached the data service in %d ms: the timeout toxic let it through",
					w.n, w.up.node, took.Milliseconds()))
				return
			}
			want, _ := strconv.Atoi(orDefault(w.fault.Params[ParamLatencyMs], "100"))
			if took >= time.Duration(want)*time.Millisecond*9/10 {
				w.hit(fmt.Sprintf("toxic latency on %s's proxy delayed connection %d by %d ms (the request's first byte reached the data service %d ms after the connection)",
					w.up.node, w.n, took.Milliseconds(), took.Milliseconds()))
			} else {
				w.noEffect(fmt.Sprintf("the request on connection %d through %s's proxy reached the data service in %d ms, under the toxic's %d ms of latency",
					w.n, w.up.node, took.Milliseconds(), want))
			}
		})
	}
	return n, err
}

func (w *watched) Close() error {
	w.closeMu.Do(func() {
		w.once.Do(func() {}) // no byte will count after the close
		if w.faulty && !w.gotByte.Load() && w.fault.Params[ParamToxic] != "latency" {
			w.hit(fmt.Sprintf("toxic timeout on %s's proxy cut connection %d: no byte of the request reached the data service in %d ms",
				w.up.node, w.n, time.Since(w.accepted).Milliseconds()))
		}
	})
	return w.Conn.Close()
}

// noEffect reports, once per node, a connection the fault did not harm.
func (w *watched) noEffect(msg string) {
	if _, told := w.up.inert.LoadOrStore(w.fault.String(), true); told {
		return
	}
	w.up.svc.emit(events.Event{Kind: events.FaultNoEffect, Node: w.up.node, Name: string(w.fault.Point), Role: "network", Message: msg})
}

func (w *watched) hit(msg string) {
	w.up.svc.emit(events.Event{Kind: events.FaultHit, Node: w.up.node, Name: string(w.fault.Point), Role: "network", Message: msg})
}

func (s *Service) emit(e events.Event) {
	e.Time = time.Now()
	s.o.Events.Emit(e)
	if s.o.Observe != nil {
		s.o.Observe(e)
	}
}

var _ net.Listener = (*upstream)(nil)
