package executor_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/conf"
	"github.com/faultbook/faultbook/minicluster/executor"
	"github.com/faultbook/faultbook/minicluster/job"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// bound guards every wait of the test against a hang.
const bound = 10 * time.Second

// TestKillStopsRunningAttempt runs a real executor against a scripted driver:
// an attempt that would wait forever is killed, stops, and is reported as
// TaskKilled with the driver's reason.
func TestKillStopsRunningAttempt(t *testing.T) {
	started := make(chan struct{})
	app := bundle.New("executor-test")
	err := app.AddWorkload(&job.Workload{
		Name: "forever",
		Jobs: func(job.Params) ([]job.Job, error) { return nil, nil },
		Sources: map[string]job.SourceFunc{"wait": func(tc *job.TaskContext, _ int) ([]any, error) {
			close(started)
			<-tc.Ctx.Done() // only a kill ends it
			return nil, tc.Ctx.Err()
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := wire.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	sp := &spec.Spec{Name: "executor-test", Topology: spec.Topology{}.WithDefaults(), Conf: conf.New(conf.Fast), Workload: "forever"}
	ran := make(chan error, 1)
	go func() {
		ran <- executor.Run(ctx, executor.Config{ID: 1, Node: "node-a", Slots: 1, DriverAddr: ln.Addr().String(), Secret: secret,
			Spec: sp, App: app, Log: nodelog.New(io.Discard, slog.LevelInfo)})
	}()

	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c, err := wire.Accept(ctx, nc, secret)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	if typ, _, err := c.Recv(); err != nil || typ != rpc.MsgRegister {
		t.Fatalf("first message %d (%v), want a registration", typ, err)
	}
	send := func(typ wire.MsgType, v any) {
		t.Helper()
		if err := c.SendJSON(typ, v); err != nil {
			t.Fatal(err)
		}
	}
	send(rpc.MsgRegistered, rpc.Registered{Executor: 1})
	send(rpc.MsgLaunchTask, rpc.LaunchTask{TID: 7, Workload: "forever", Partition: 0,
		Stage: job.Stage{ID: 0, Name: "wait", Partitions: 1, Input: job.Input{Kind: job.FromSource, Source: "wait"}, Output: job.Output{Kind: job.ToResult}}})
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the attempt never started")
	}
	send(rpc.MsgKillTask, rpc.KillTask{TID: 7, Reason: "Stage cancelled: test"})
	for {
		typ, payload, err := c.Recv()
		if err != nil {
			t.Fatalf("no status for the killed attempt: %v", err)
		}
		if typ != rpc.MsgStatus {
			continue // heartbeats
		}
		var st rpc.StatusUpdate
		if err := wire.DecodeJSON(payload, &st); err != nil {
			t.Fatal(err)
		}
		if st.TID != 7 || st.State != rpc.TaskKilled || st.Failure == nil || st.Failure.String() != "TaskKilled (Stage cancelled: test)" {
			t.Fatalf("status %+v (failure %+v), want TID 7 killed with the driver's reason", st, st.Failure)
		}
		break
	}
	send(rpc.MsgShutdown, nil)
	if err := <-ran; err != nil {
		t.Errorf("executor ended with %v after a shutdown", err)
	}
}
