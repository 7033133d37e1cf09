package cluster

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/faultbook/faultbook/minicluster/proc"
	"github.com/faultbook/faultbook/minicluster/role"
)

// driverProc is the application's driver as the cluster follows it: a child
// process in cluster deploy mode (*proc.Process), or a goroutine of this
// process in client deploy mode (*clientDriver).
type driverProc interface {
	Done() <-chan struct{}
	Wait(ctx context.Context) (proc.Exit, error)
	Kill() error
}

// ErrClientDriver: a driver in client deploy mode runs inside the process
// that submitted the application, so it cannot be killed apart from it.
var ErrClientDriver = errors.New("the driver runs in the submitting process (spark.submit.deployMode=client) and cannot be killed apart from it; use spark.submit.deployMode=cluster")

// clientCloseWait bounds how long Close waits for a cancelled client driver
// to return, as proc bounds the wait for a killed child.
const clientCloseWait = 10 * time.Second

// clientDriver is a driver in Spark's client deploy mode: it runs in this
// process, as a Spark driver runs in the JVM of the spark-submit that
// launched it, while the executors remain processes of their own that reach
// it over TCP. It writes the log, event log and result a driver process
// writes, in the same places, and its outcome is an exit status a process
// would have had: 0, 1 for an aborted application, 3 for a run that could
// not be carried out, 2 for a panic (the Go runtime's exit status for one).
type clientDriver struct {
	cancel context.CancelFunc
	done   chan struct{}
	exit   proc.Exit // written once, before done is closed
}

// startClientDriver runs the driver described by s until ctx ends or the
// application does. Its output (the listening line, the log) goes to the log
// at logPath and, line by line, to onLine, as a driver process's does.
func startClientDriver(ctx context.Context, s role.DriverSetup, logPath string, onLine func(string)) (*clientDriver, error) {
	out, err := proc.OpenOutput(logPath, onLine)
	if err != nil {
		return nil, fmt.Errorf("start driver: %w", err)
	}
	dctx, cancel := context.WithCancel(ctx)
	d := &clientDriver{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(d.done)
		defer cancel()
		d.exit = runClientDriver(dctx, s, out)
	}()
	return d, nil
}

// runClientDriver runs the driver and turns how it ended into an exit status.
// A panic in the driver's own goroutine is the driver's crash, logged with
// its stack as the runtime would print it, not the harness's.
func runClientDriver(ctx context.Context, s role.DriverSetup, out *proc.Output) (x proc.Exit) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(out, "panic: %v\n\n%s", r, debug.Stack())
			x = proc.Exit{Code: 2}
		}
		if err := out.Close(); err != nil {
			x.Err = fmt.Errorf("driver: %w", err)
		}
	}()
	err := role.RunDriver(ctx, s, out, out)
	role.Report(out, err)
	return proc.Exit{Code: role.Code(err)}
}

func (d *clientDriver) Done() <-chan struct{} { return d.done }

// Wait waits for the driver to return, or for ctx to end.
func (d *clientDriver) Wait(ctx context.Context) (proc.Exit, error) {
	select {
	case <-d.done:
		return d.exit, nil
	case <-ctx.Done():
		return proc.Exit{}, ctx.Err()
	}
}

// Kill refuses: see ErrClientDriver.
func (d *clientDriver) Kill() error { return ErrClientDriver }

// close cancels the driver and waits, bounded, for it to return.
func (d *clientDriver) close() error {
	d.cancel()
	select {
	case <-d.done:
		return nil
	case <-time.After(clientCloseWait):
		return fmt.Errorf("driver (client deploy mode) did not return within %s of being cancelled", clientCloseWait)
	}
}
