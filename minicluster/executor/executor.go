// Package executor is a minicluster executor process: it registers with the
// driver, heartbeats, runs task attempts on task goroutines, keeps shuffle outputs
// and cached partitions in its block store, and serves them to other executors from
// its block server's transport goroutines.
//
// The two kinds of goroutine see different contexts, as Spark 1.0's task threads
// and connection-manager threads saw different class loaders: task goroutines run
// with the application bundle, transport goroutines with whatever the transport
// layer gave them (the bundle too, unless the transport-without-bundle fault
// starts them from the process's bare context). Every serializer is built from
// the asking goroutine's context.
package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/fault"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/safeguard"
	"github.com/faultbook/faultbook/minicluster/serializer"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// ErrRefused: the driver refused this executor.
var ErrRefused = errors.New("refused by the driver")

// ErrDriverLost: the driver connection ended without a shutdown.
var ErrDriverLost = errors.New("driver disassociated")

// Config is one executor's identity and run.
type Config struct {
	ID         int
	Node       string
	Slots      int
	DriverAddr string
	// Host is the node's address the block server listens on; "" is 127.0.0.1.
	Host   string
	Secret []byte
	Spec   *spec.Spec
	App    *bundle.Bundle
	Log    *slog.Logger
}

// Executor is a running executor.
type Executor struct {
	cfg    Config
	log    *slog.Logger
	store  *block.Store
	server *block.Server
	client *block.Client
	driver *wire.Conn

	taskCtx      context.Context
	transportCtx context.Context
	// taskReg is the registry task goroutines use, built once on start;
	// canonReg the one a process without a registration fault has, the
	// reference a fault's effect is proven against.
	taskReg  *codec.Registry
	canonReg *codec.Registry
	verify   bool

	// stack is the goroutine stack limit in bytes (spark.executor.threadStackSize).
	stack int64

	reported sync.Map // fault/safeguard reports already sent, by key
	tasks    sync.WaitGroup

	// killOnce: the executor-kill fault point was reached.
	killOnce atomic.Bool

	// running holds each running attempt's cancel function, by TID, so that
	// the driver can kill it.
	runningMu sync.Mutex
	running   map[int]context.CancelCauseFunc
}

// Run starts the executor and serves the driver until it says shut down.
func Run(ctx context.Context, cfg Config) error {
	e := &Executor{cfg: cfg, log: cfg.Log.With("executor", cfg.ID), store: block.NewStore(), running: map[int]context.CancelCauseFunc{}}
	e.log = cfg.Log
	e.verify = cfg.Spec.Safeguards.On(safeguard.RegistryFingerprint)
	e.taskCtx = bundle.With(ctx, cfg.App)
	e.transportCtx = e.taskCtx
	if f, ok := cfg.Spec.Faults.Lookup(fault.TransportWithoutBundle, cfg.ID); ok && !f.Sham() {
		e.transportCtx = ctx // the process's context never carried the bundle
	}

	stack, err := cfg.Spec.Conf.Bytes(conf.ExecutorThreadStack)
	if err != nil {
		return err
	}
	// The whole process stands for one JVM: every goroutine gets the thread
	// stack limit, and exceeding it is fatal, as a StackOverflowError is to a
	// Spark executor.
	debug.SetMaxStack(int(stack))
	e.stack = stack

	reg, err := serializer.NewRegistry(e.taskCtx, e.serializerOptions(serializer.RoleTask))
	if err != nil {
		e.log.Error("Executor could not build its serializer: "+err.Error(), "component", "executor.Executor")
		return fmt.Errorf("build task serializer: %w", err)
	}
	e.taskReg = reg
	e.watchEncoder(reg)
	e.canonReg = serializer.CanonicalRegistry(cfg.App, e.serializerOptions(serializer.RoleTask))

	srv, err := block.NewServer(e.transportCtx, cfg.Host, cfg.Secret, e.serveBlock, e.log)
	if err != nil {
		return err
	}
	e.server = srv
	srv.Start()
	defer srv.Close()
	e.client = block.NewClient(cfg.Secret, fmt.Sprintf("exec-%d", cfg.ID))
	defer e.client.Close()

	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, err := wire.Dial(dctx, cfg.DriverAddr, cfg.Secret, fmt.Sprintf("exec-%d", cfg.ID))
	cancel()
	if err != nil {
		// Spark's CoarseGrainedExecutorBackend exits with 1, "Cannot register
		// with driver", when the driver cannot be reached: a driver that
		// ended before its replacement executor came up is not a crash to
		// replace.
		return e.cannotRegister(err)
	}
	e.driver = conn
	defer conn.Close()
	e.log.Info(fmt.Sprintf("Connecting to driver: %s", cfg.DriverAddr), "component", "executor.CoarseGrainedExecutorBackend")

	if err := e.register(); err != nil {
		return err
	}
	hbCtx, stopHB := context.WithCancel(ctx)
	defer stopHB()
	go e.heartbeat(hbCtx)
	err = e.serve(ctx)
	e.tasks.Wait()
	return err
}

func (e *Executor) serializerOptions(role serializer.Role) serializer.Options {
	return serializer.ForProcess(e.cfg.Spec, e.cfg.ID, e.cfg.App, role, e.log)
}

// cannotRegister logs and returns a failure to reach or register with the
// driver, as ErrDriverLost.
func (e *Executor) cannotRegister(err error) error {
	msg := fmt.Sprintf("Cannot register with driver: %s: %v", e.cfg.DriverAddr, err)
	e.log.Error(msg, "component", "executor.CoarseGrainedExecutorBackend")
	return fmt.Errorf("%w: %s", ErrDriverLost, msg)
}

func (e *Executor) register() error {
	entries := e.taskReg.Entries()
	reg := rpc.RegisterExecutor{
		ID: e.cfg.ID, Node: e.cfg.Node, Slots: e.cfg.Slots, Pid: os.Getpid(),
		BlockAddr: e.server.Addr(), Fingerprint: e.taskReg.Fingerprint(),
		Registry: make([]rpc.RegistryEntry, len(entries)),
	}
	for i, en := range entries {
		reg.Registry[i] = rpc.RegistryEntry{ID: en.ID, Name: en.Name}
	}
	reg.Faults = serializer.RegistryHits(e.cfg.Spec, e.cfg.ID, e.taskReg, e.canonReg)
	if err := e.driver.SendJSON(rpc.MsgRegister, reg); err != nil {
		return e.cannotRegister(err)
	}
	t, payload, err := e.driver.Recv()
	if err != nil {
		return e.cannotRegister(err)
	}
	switch t {
	case rpc.MsgRegistered:
		e.log.Info("Successfully registered with driver", "component", "executor.CoarseGrainedExecutorBackend")
		return nil
	case rpc.MsgRefused:
		var r rpc.Refused
		_ = wire.DecodeJSON(payload, &r)
		e.log.Error("Driver refused this executor: "+r.Reason, "component", "executor.CoarseGrainedExecutorBackend")
		return fmt.Errorf("%w: %s", ErrRefused, r.Reason)
	}
	return fmt.Errorf("register with driver: unexpected message type %d", t)
}

// sightDepth is the nesting at which the task encoder tells the executor of a
// deep value: deeper than any value the fixtures write by design (a result of
// 100 elements nests 102 deep), shallower than what the smallest stack limit
// in the README's table overflows at (215 elements at 256 KiB).
const sightDepth = 150

// watchEncoder makes the task encoder prove the encoding faults reached it:
// Some(nil) written, or a chain as deep as sightDepth on its way into the
// encoder. The report is sent before the encoder goes on, so it reaches the
// driver even when the executor dies of the recursion that follows.
func (e *Executor) watchEncoder(reg *codec.Registry) {
	_, optionFault := e.cfg.Spec.Faults.Lookup(fault.InteropNilValues, e.cfg.ID)
	_, listFault := e.cfg.Spec.Faults.Lookup(fault.MutableListResult, e.cfg.ID)
	if !optionFault && !listFault {
		return
	}
	reg.SetWatch(sightDepth, func(s codec.Sighting) {
		switch {
		case s.Kind == codec.SightSomeNil && optionFault:
			e.report(rpc.ReportFault, string(fault.InteropNilValues), "encoder",
				fmt.Sprintf("Some(nil) reached the encoder at %s, %s", s.Path, s.Location), false)
		case s.Kind == codec.SightDeep && listFault:
			e.report(rpc.ReportFault, string(fault.MutableListResult), "encoder",
				fmt.Sprintf("a value nested %d deep reached the encoder at %s, %s (executor stack limit %d KiB)", s.Depth, s.Path, s.Location, e.stack>>10), false)
		}
	})
}

// report sends a fault or safeguard report to the driver, once per key.
func (e *Executor) report(kind rpc.ReportKind, name, role, msg string, abort bool) {
	e.send(rpc.Report{Executor: e.cfg.ID, Kind: kind, Name: name, Role: role, Message: msg, Abort: abort})
}

// send sends a report to the driver, once per kind, name and role.
func (e *Executor) send(r rpc.Report) {
	key := string(r.Kind) + "/" + r.Name + "/" + r.Role
	if _, dup := e.reported.LoadOrStore(key, true); dup {
		return
	}
	_ = e.driver.SendJSON(rpc.MsgReport, r)
}

func (e *Executor) heartbeat(ctx context.Context) {
	every, err := e.cfg.Spec.Conf.Duration(conf.ExecutorHeartbeatInterval)
	if err != nil {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.driver.SendJSON(rpc.MsgHeartbeat, rpc.Heartbeat{Executor: e.cfg.ID}); err != nil {
				return
			}
		}
	}
}

func (e *Executor) serve(ctx context.Context) error {
	for {
		t, payload, err := e.driver.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			e.log.Error("Driver disassociated! Shutting down: "+err.Error(), "component", "executor.CoarseGrainedExecutorBackend")
			return fmt.Errorf("%w: %v", ErrDriverLost, err)
		}
		switch t {
		case rpc.MsgLaunchTask:
			var lt rpc.LaunchTask
			if err := wire.DecodeJSON(payload, &lt); err != nil {
				e.log.Warn("Ignoring malformed task launch: "+err.Error(), "component", "executor.Executor")
				continue
			}
			e.killPoint(lt)
			ctx, cancel := context.WithCancelCause(e.taskCtx)
			e.runningMu.Lock()
			e.running[lt.TID] = cancel
			e.runningMu.Unlock()
			e.tasks.Add(1)
			go func() {
				defer e.tasks.Done()
				defer func() {
					e.runningMu.Lock()
					delete(e.running, lt.TID)
					e.runningMu.Unlock()
					cancel(nil)
				}()
				e.runTask(ctx, lt)
			}()
		case rpc.MsgKillTask:
			var k rpc.KillTask
			if err := wire.DecodeJSON(payload, &k); err != nil {
				e.log.Warn("Ignoring malformed kill request: "+err.Error(), "component", "executor.Executor")
				continue
			}
			e.kill(k)
		case rpc.MsgShutdown:
			e.log.Info("Driver commanded a shutdown", "component", "executor.CoarseGrainedExecutorBackend")
			return nil
		default:
			e.log.Warn(fmt.Sprintf("Ignoring unexpected message type %d from driver", t), "component", "executor.Executor")
		}
	}
}

// killPoint is the executor-kill fault: the process kills itself with SIGKILL
// on its first task of the configured stage, before running it. The executor
// cannot report the effect, its death; it logs KillMarker, and the driver
// records the hit once the node reports the process killed by SIGKILL with
// that line among its last (see fault.ExecutorKill). The sham takes every
// step but the kill, and says so.
func (e *Executor) killPoint(lt rpc.LaunchTask) {
	f, ok := e.cfg.Spec.Faults.Lookup(fault.ExecutorKill, e.cfg.ID)
	if !ok {
		return
	}
	stage := 1
	if v, ok := f.Params["stage"]; ok {
		if n, err := strconv.Atoi(v); err == nil {
			stage = n
		}
	}
	if lt.Stage.ID != stage || !e.killOnce.CompareAndSwap(false, true) {
		return
	}
	what := fmt.Sprintf("on receiving task %d.%d of stage %d (TID %d)", lt.Partition, lt.Attempt, stage, lt.TID)
	if f.Sham() {
		e.report(rpc.ReportFaultNoEffect, string(fault.ExecutorKill), "task", fmt.Sprintf("configured, no effect: executor %d not killed %s (sham)", e.cfg.ID, what), false)
		return
	}
	e.log.Error(fmt.Sprintf("%s: executor %d kills itself with SIGKILL %s", fault.KillMarker, e.cfg.ID, what), "component", "executor.Executor")
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}

// kill cancels a running attempt: its fetches stop at once and its
// operations between records; it reports TaskKilled.
func (e *Executor) kill(k rpc.KillTask) {
	e.runningMu.Lock()
	cancel, ok := e.running[k.TID]
	e.runningMu.Unlock()
	if !ok {
		return // already ended
	}
	e.log.Info(fmt.Sprintf("Executor is trying to kill TID %d, reason: %s", k.TID, k.Reason), "component", "executor.Executor")
	cancel(&killedError{reason: k.Reason})
}

// killedError is the cause of a killed attempt's context.
type killedError struct{ reason string }

func (k *killedError) Error() string { return "TaskKilled (" + k.reason + ")" }

// serveBlock runs on a block server transport goroutine. Shuffle blocks are
// already bytes; a cached partition is held deserialised and must be encoded here,
// with a serializer built from this goroutine's context, as Spark 1.0's
// connection-manager threads did.
func (e *Executor) serveBlock(ctx context.Context, req rpc.GetBlock) (wire.Frame, *rpc.BlockError) {
	if f, ok := e.store.ShuffleFrame(req.Block); ok {
		return f, nil
	}
	recs, ok := e.store.Cached(req.Block)
	if !ok {
		return wire.Frame{}, &rpc.BlockError{Kind: "BlockNotFoundException", Message: fmt.Sprintf("block %s not found on executor %d", req.Block, e.cfg.ID)}
	}
	reg, err := serializer.NewRegistry(ctx, e.serializerOptions(serializer.RoleTransport))
	e.transportHit(ctx, req, reg, err)
	if err != nil {
		e.log.Error(err.Error(), "component", "serializer.KryoSerializer", "block", req.Block)
		e.report(rpc.ReportSafeguard, string(safeguard.RegistratorFailFast), "transport",
			fmt.Sprintf("executor %d: %v (while serving %s to executor %d)", e.cfg.ID, err, req.Block, req.From), true)
		return wire.Frame{}, &rpc.BlockError{Kind: "SparkException", Message: err.Error()}
	}
	f, err := block.EncodeFrame(reg, recs)
	if err != nil {
		e.log.Error(fmt.Sprintf("Could not serialise %s for executor %d: %v", req.Block, req.From, err), "component", "storage.BlockManager")
		return wire.Frame{}, &rpc.BlockError{Kind: codec.KindOf(err), Message: err.Error()}
	}
	return f, nil
}

// transportHit reports the transport-without-bundle fault from what this
// goroutine actually saw: a hit when its context lacks the bundle, with what
// that did to its registry (the lookup failed, or the executor-wide bundle
// stood in), or "no effect" when the bundle was there.
func (e *Executor) transportHit(ctx context.Context, req rpc.GetBlock, reg *codec.Registry, buildErr error) {
	f, ok := e.cfg.Spec.Faults.Lookup(fault.TransportWithoutBundle, e.cfg.ID)
	if !ok {
		return
	}
	r := rpc.Report{Executor: e.cfg.ID, Kind: rpc.ReportFault, Name: string(f.Point), Role: string(serializer.RoleTransport)}
	where := fmt.Sprintf("transport goroutine serving %s to executor %d", req.Block, req.From)
	if _, visible := bundle.From(ctx); visible {
		r.Kind = rpc.ReportFaultNoEffect
		r.Message = "configured, no effect: the " + where + " has the application bundle in its context"
		e.send(r)
		return
	}
	r.Message = "the " + where + " has no application bundle in its context: "
	if buildErr != nil {
		r.Message += "the registrator lookup failed: " + buildErr.Error()
	} else if proof, deviates := serializer.Deviation(reg, e.canonReg); deviates {
		r.Message += "the registrator lookup failed and was swallowed, so the block is encoded with another registry: " + proof
		r.Block = req.Block
	} else {
		r.Message += "the registrator was resolved through the executor-wide bundle instead; the registry equals the canonical one"
	}
	e.send(r)
}

// dataHit reports a block about to be decoded with another registry than its
// writer's, when a fault of the run makes registries differ: the proof that
// the fault's effect reached these records.
func (e *Executor) dataHit(lt rpc.LaunchTask, id string, writer int, data []byte) {
	f, ok := serializer.RegistryFault(e.cfg.Spec.Faults)
	if !ok {
		return
	}
	h, _, err := block.ReadHeader(data)
	if err != nil || h.Fingerprint == e.taskReg.Fingerprint() {
		return
	}
	e.send(rpc.Report{Executor: e.cfg.ID, Kind: rpc.ReportFault, Name: string(f.Point), Role: string(serializer.RoleTask), Block: id,
		Message: fmt.Sprintf("block %s from executor %d was encoded with registry %016x (%d types) and is decoded by TID %d with registry %016x (%d types): the fault's effect reached these records",
			id, writer, h.Fingerprint, h.Types, lt.TID, e.taskReg.Fingerprint(), e.taskReg.Len())})
}
