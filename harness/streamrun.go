package harness

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store" // s3:// checkpoint locations
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/s3server"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/stream"
)

// StreamRun makes every cell of a streaming scenario checkpoint to a store
// the harness provides, and optionally kill the driver once.
type StreamRun struct {
	// KillDriver: SIGKILL the driver at a seeded point (during a batch, during
	// a checkpoint's parts, or between the parts and the metadata that commits
	// them) and start the application again from its checkpoint.
	KillDriver bool
}

// Workload knobs the harness sets for a streaming run (see fixtures/workloads).
const (
	paramCheckpoint         = "checkpoint"
	paramCheckpointEndpoint = "checkpoint-endpoint"
	paramBatches            = "batches"
	paramCheckpointEvery    = "checkpoint-every"
	paramBatchInterval      = "batch-interval"
	paramSourceEpoch        = "source-epoch"
)

// StoreFile holds, in a run directory, the events of the store the harness ran.
const StoreFile = "store.jsonl"

// storeLog collects the store's events and the harness's own (the kill).
type storeLog struct {
	mu  sync.Mutex
	evs []events.Event
}

func (l *storeLog) add(e events.Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
}

func (l *storeLog) all() []events.Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.evs)
}

// KillPoint is where a run's driver is killed.
type KillPoint struct {
	// Batch is the batch index; Phase "batch" (its job just started),
	// "parts" (the Part-th write of its checkpoint's state is in flight) or
	// "commit" (its state is written, the metadata or manifest is in flight).
	Batch int
	Phase string
	Part  int
}

func (k KillPoint) String() string {
	switch k.Phase {
	case "parts":
		return fmt.Sprintf("during the checkpoint of batch %d (state write %d in flight)", k.Batch, k.Part+1)
	case "commit":
		return fmt.Sprintf("between the state and the metadata of the checkpoint of batch %d", k.Batch)
	}
	return fmt.Sprintf("during batch %d (its job just started)", k.Batch)
}

// KillPointFor draws a run's kill point from its seed: a checkpointed batch
// after the first checkpoint and before the input's last batches, and a phase.
func KillPointFor(seed int64, batches, every int) KillPoint {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6b696c6c))
	every = max(every, 1)
	var cands []int
	// From the second checkpoint on: a driver killed before its first
	// checkpoint has nothing to recover, whatever the store.
	for i := max(2, 2*every-1); i < batches-2; i++ {
		if (i+1)%every == 0 {
			cands = append(cands, i)
		}
	}
	if len(cands) == 0 {
		cands = []int{batches / 2}
	}
	k := KillPoint{Batch: cands[rng.IntN(len(cands))], Phase: []string{"batch", "parts", "commit"}[rng.IntN(3)]}
	if k.Phase == "parts" {
		k.Part = rng.IntN(4)
	}
	return k
}

// killer carries out a kill point: it watches the driver's lines and the
// store's writes, and kills the driver once.
type killer struct {
	at      KillPoint
	timeOf  func(batch int) int64
	prefix  string // the store prefix of the run's keys
	log     *storeLog
	mu      sync.Mutex
	cl      *cluster.Cluster
	fired   bool
	pending string
	writes  int
	sawPart bool
}

func (k *killer) attach(cl *cluster.Cluster) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cl = cl
	if k.pending != "" {
		k.killLocked(k.pending)
	}
}

func (k *killer) kill(why string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.killLocked(why)
}

func (k *killer) killLocked(why string) {
	if k.fired {
		return
	}
	if k.cl == nil {
		k.pending = why
		return
	}
	k.fired = true
	msg := fmt.Sprintf("SIGKILL to the driver (%s) %s", k.cl.Driver(), why)
	if err := k.cl.KillDriver(); err != nil {
		msg = fmt.Sprintf("SIGKILL to the driver (%s) %s failed: %v", k.cl.Driver(), why, err)
	}
	k.log.add(events.Event{Kind: events.DriverKilled, Role: "harness", Message: msg})
}

func (k *killer) killed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fired
}

func (k *killer) onLine(line string) {
	if k == nil {
		return
	}
	t := k.timeOf(k.at.Batch)
	switch {
	case k.at.Phase == "batch" && strings.Contains(line, fmt.Sprintf("Starting job streaming job %d ms.0", t)):
		k.kill(k.at.String())
	case k.at.Phase != "batch" && strings.Contains(line, fmt.Sprintf("Starting job streaming job %d ms.0", k.timeOf(k.at.Batch+1))):
		k.kill(fmt.Sprintf("during batch %d: the checkpoint of batch %d never reached the store", k.at.Batch+1, k.at.Batch))
	}
}

// beforeWrite kills the driver with a checkpoint write in flight, and drops
// that write.
func (k *killer) beforeWrite(key string) bool {
	if k == nil || k.killed() || k.at.Phase == "batch" {
		return true
	}
	key = strings.TrimPrefix(key, k.prefix)
	t := strconv.FormatInt(k.timeOf(k.at.Batch), 10)
	isPart := strings.HasPrefix(key, "state-"+t+"/") || strings.HasPrefix(key, "ckpt-"+t+"/")
	k.mu.Lock()
	if isPart {
		k.sawPart = true
		k.writes++
	}
	hit := (k.at.Phase == "parts" && isPart && k.writes > k.at.Part) ||
		(k.at.Phase == "commit" && k.sawPart && (key == "temp" || key == "manifest-"+t))
	k.mu.Unlock()
	if !hit {
		return true
	}
	k.kill(fmt.Sprintf("%s: PUT %s dropped", k.at, key))
	return false
}

// runStream runs a streaming cell: the store, the first driver and, if it was
// killed, the second, which recovers from the checkpoint.
func runStream(ctx context.Context, sc *Scenario, sp *spec.Spec, o *Options, dir string) (*cluster.Outcome, error) {
	logs := &storeLog{}
	params := maps.Clone(sp.Params)
	if params == nil {
		params = map[string]string{}
	}
	var env, services []string
	var kl *killer
	var srv *s3server.Server
	batches, _ := strconv.Atoi(orDefault(params[paramBatches], "12"))
	every, _ := strconv.Atoi(orDefault(params[paramCheckpointEvery], "2"))
	iv, _ := time.ParseDuration(orDefault(params[paramBatchInterval], "4s"))
	if sc.Stream.KillDriver {
		kl = &killer{at: KillPointFor(sp.Seed, batches, every), log: logs,
			timeOf: func(b int) int64 { return stream.ZeroTime + int64(b+1)*iv.Milliseconds() }}
	}
	if o.CheckpointStore != "" {
		params[paramCheckpoint] = strings.TrimSuffix(o.CheckpointStore, "/") + "/" + strings.ReplaceAll(sp.Name, "#", "-") + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		params[paramCheckpointEndpoint] = o.Store.Endpoint
		if host := endpointHost(o.Store.Endpoint); o.Docker != nil && isLoopback(host) {
			// A store on this host's loopback is relayed to the containers.
			params[paramCheckpointEndpoint] = strings.Replace(o.Store.Endpoint, host, cluster.RelayAddr(host, true), 1)
			services = append(services, host)
		}
		if o.Store.AccessKey != "" {
			env = append(env, "AWS_ACCESS_KEY_ID="+o.Store.AccessKey, "AWS_SECRET_ACCESS_KEY="+o.Store.SecretKey)
		}
	} else {
		so := s3server.Options{Record: logs.add, Buckets: []string{"faultbook"}}
		if f, ok := sp.Faults.Lookup(fault.EventualConsistency, 0); ok {
			c, err := consistencyOf(f)
			if err != nil {
				return nil, err
			}
			so.Consistency = c
		}
		if f, ok := sp.Faults.Lookup(fault.ThrottledStore, 0); ok {
			t, err := throttleOf(f, sp.Conf)
			if err != nil {
				return nil, err
			}
			so.Throttle = t
		}
		if kl != nil {
			kl.prefix = "checkpoints/"
			so.BeforeWrite = kl.beforeWrite
		}
		var err error
		if srv, err = s3server.Start(so); err != nil {
			return nil, fmt.Errorf("start the S3 server: %w", err)
		}
		defer srv.Close()
		params[paramCheckpoint] = "s3://faultbook/checkpoints"
		params[paramCheckpointEndpoint] = srv.Endpoint
		if o.Docker != nil {
			params[paramCheckpointEndpoint] = cluster.RelayAddr(srv.Endpoint, true)
			services = append(services, srv.Endpoint)
		}
		env = append(env, "AWS_ACCESS_KEY_ID="+s3server.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3server.SecretKey)
	}
	sp.Params = params
	// The source begins producing when the first driver's stream starts: a
	// restarted driver without a checkpoint finds it that far along.
	var epoch sync.Once
	copts := cluster.Options{Binary: o.Binary, Dir: dir, Env: env, Docker: o.Docker, Services: services, OnDriverLine: func(line string) {
		if strings.Contains(line, "StreamingContext started") {
			epoch.Do(func() { params[paramSourceEpoch] = strconv.FormatInt(time.Now().UnixMilli(), 10) })
		}
		kl.onLine(line)
	}}
	out, err := attempt(ctx, sp, copts, kl)
	if err == nil && kl != nil && kl.killed() {
		first := out
		sp2 := *sp
		sp2.Params = maps.Clone(params)
		out, err = attempt(ctx, &sp2, cluster.Options{Binary: o.Binary, Dir: dir, Env: env, Docker: o.Docker, Services: services}, nil)
		if out != nil {
			out.Duration += first.Duration
		}
	}
	if srv != nil {
		if why, ok := srv.NoEffect(); ok {
			logs.add(events.Event{Kind: events.FaultNoEffect, Name: string(fault.EventualConsistency), Role: "store", Message: why})
		}
		if why, ok := srv.ThrottleNoEffect(); ok {
			logs.add(events.Event{Kind: events.FaultNoEffect, Name: string(fault.ThrottledStore), Role: "store", Message: why})
		}
	}
	if out != nil {
		out.Events = mergeEvents(out.Events, logs.all())
		writeStoreLog(dir, logs.all())
	}
	return out, err
}

func attempt(ctx context.Context, sp *spec.Spec, co cluster.Options, kl *killer) (*cluster.Outcome, error) {
	cl, err := cluster.Start(ctx, sp, co)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	defer cl.Close()
	if kl != nil {
		kl.attach(cl)
	}
	out, err := cl.Wait(ctx)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mergeEvents interleaves the store's events with the driver's by time.
func mergeEvents(a, b []events.Event) []events.Event {
	out := append(slices.Clone(a), b...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

func writeStoreLog(dir string, evs []events.Event) {
	l, err := events.Create(filepath.Join(dir, StoreFile))
	if err != nil {
		return
	}
	defer l.Close()
	for _, e := range evs {
		l.Emit(e)
	}
}

// endpointHost is an S3 endpoint's host:port ("http://127.0.0.1:9000" or
// "127.0.0.1:9000").
func endpointHost(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && strings.Contains(endpoint, "://") {
		return u.Host
	}
	return endpoint
}

// isLoopback says whether host:port is on this host's loopback.
func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || err == nil && ip.IsLoopback()
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// consistencyOf reads an eventual-consistency fault's parameters: "lag" (a
// duration, default 2s) and "p" (the chance a write lags, default 0.2).
func consistencyOf(f fault.Spec) (*s3server.Consistency, error) {
	lag, err := time.ParseDuration(orDefault(f.Params["lag"], "2s"))
	if err != nil || lag <= 0 {
		return nil, fmt.Errorf("fault %s: lag %q: want a positive duration", f.Point, f.Params["lag"])
	}
	p, err := strconv.ParseFloat(orDefault(f.Params["p"], "0.2"), 64)
	if err != nil || p <= 0 || p > 1 {
		return nil, fmt.Errorf("fault %s: p %q: want a probability in (0, 1]", f.Point, f.Params["p"])
	}
	return &s3server.Consistency{Lag: lag, P: p, Seed: f.Seed, Sham: f.Sham()}, nil
}

// throttleOf builds the throughput model from the run's conf (see conf's
// faultbook.store keys): rates in stream time, compressed by the time scale.
func throttleOf(f fault.Spec, c conf.Conf) (*s3server.Throttle, error) {
	var v [5]float64
	for i, k := range []string{conf.StoreBaselineKiBPerGiB, conf.StoreBurstMiBps, conf.StoreSizeGiB, conf.StoreCreditsMiB, conf.StoreTimeScale} {
		x, err := c.Float(k)
		if err != nil {
			return nil, fmt.Errorf("fault %s: %w", f.Point, err)
		}
		v[i] = x
	}
	scale := max(v[4], 1e-9)
	credits := v[3] * 1024 * 1024
	return &s3server.Throttle{BaselinePerGiB: v[0] * 1024 * scale, ProvisionedGiB: v[2], BurstBps: v[1] * 1024 * 1024 * scale,
		InitialCredits: credits, MaxCredits: max(credits, v[2]*2.1*1024*1024*1024), Sham: f.Sham(), Scale: scale}, nil
}
