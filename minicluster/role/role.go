// Package role runs a minicluster process in its role: the driver or an
// executor. The faultbook binary runs both as hidden subcommands, and the
// cluster runs a driver in client deploy mode through RunDriver in its own
// process. The small faultbook-node binary (cmd/faultbook-node) runs only
// executors, without the harness, the reports, the docker runtime or the S3
// client linked in, so that each executor a cluster starts pays for none of
// their initialisation; faultbook-driver (cmd/faultbook-driver) runs only a
// driver in cluster deploy mode, with the S3 client.
//
// This package must not import minicluster/cluster (which links the docker
// runtime): cluster imports it for the exit codes and the listening line.
package role

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/executor"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// Exit codes of the driver and executor roles.
const (
	ExitOK        = 0
	ExitJobFailed = 1 // the application aborted (driver), or the executor lost its driver
	ExitUsage     = 2
	ExitInfra     = 3 // the run could not be carried out (no executor, bad spec)
	// ExitRefused: the driver refused the executor. Its node does not launch
	// another in its place: the refusal is a safeguard's verdict on the
	// application's set-up, which a new process would share.
	ExitRefused = 4
)

// ListeningPrefix starts the line the driver prints on stdout once it accepts
// executors.
const ListeningPrefix = "listening "

// Error is a role's failure with its exit code; a Quiet one has been logged
// already and is not printed again.
type Error struct {
	Code  int
	Err   error
	Quiet bool
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func usagef(format string, a ...any) error {
	return &Error{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

func infra(err error) error { return &Error{Code: ExitInfra, Err: err} }

// Code is the exit code for a role's error: 0 for nil.
func Code(err error) int {
	if err == nil {
		return ExitOK
	}
	var re *Error
	if errors.As(err, &re) {
		return re.Code
	}
	return ExitInfra
}

// ExecutorMain runs the executor role, args[0] being "executor" and the rest
// its flags, printing errors on stderr as "faultbook: …", and returns the
// process's exit code: faultbook-node's whole program.
func ExecutorMain(ctx context.Context, args []string, stderr io.Writer) int {
	return roleMain("faultbook-node", "executor", args, stderr, func(flags []string) error { return Executor(ctx, flags, stderr) })
}

// DriverMain runs the driver role, args[0] being "driver" and the rest its
// flags, as ExecutorMain does: faultbook-driver's whole program.
func DriverMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return roleMain("faultbook-driver", "driver", args, stderr, func(flags []string) error { return Driver(ctx, flags, stdout, stderr) })
}

// roleMain runs the program of a binary that runs one role.
func roleMain(program, role string, args []string, stderr io.Writer, run func(flags []string) error) int {
	var err error
	if len(args) > 0 && args[0] == role {
		err = run(args[1:])
	} else {
		err = usagef("usage: %s %s FLAGS (started by the cluster, not by hand)", program, role)
	}
	Report(stderr, err)
	return Code(err)
}

// Report prints a role's error on stderr unless it is quiet.
func Report(stderr io.Writer, err error) {
	var re *Error
	if err != nil && !(errors.As(err, &re) && re.Quiet) {
		fmt.Fprintln(stderr, "faultbook: "+err.Error())
	}
}

// Inputs reads what every cluster process needs (the driver, an executor, a
// node's worker): the run's spec and the cluster secret from the environment.
func Inputs(runDir string) (*spec.Spec, []byte, error) {
	if runDir == "" {
		return nil, nil, usagef("--run-dir is required")
	}
	sp, err := spec.Read(filepath.Join(runDir, spec.FileName))
	if err != nil {
		return nil, nil, infra(err)
	}
	secret, err := wire.DecodeSecret(os.Getenv(spec.SecretEnv))
	if err != nil || len(secret) == 0 {
		return nil, nil, infra(fmt.Errorf("read cluster secret from %s: missing or malformed", spec.SecretEnv))
	}
	return sp, secret, nil
}

func flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return usagef("%s: %v", fs.Name(), err)
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// Driver runs the driver: flags --run-dir and --host. It prints the
// listening line on stdout and logs on stderr, and writes the result into
// the run directory.
func Driver(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("driver")
	runDir := fs.String("run-dir", "", "run directory holding spec.json")
	host := fs.String("host", "", "address to listen on (default 127.0.0.1)")
	if err := parse(fs, args); err != nil {
		return err
	}
	sp, secret, err := Inputs(*runDir)
	if err != nil {
		return err
	}
	return RunDriver(ctx, DriverSetup{Spec: sp, Secret: secret, Dir: *runDir, Host: *host}, stdout, stderr)
}

// DriverSetup is what a driver is given, read from its flags, its run
// directory and its environment, or handed over by a caller that runs the
// driver in its own process (Spark's client deploy mode).
type DriverSetup struct {
	Spec   *spec.Spec
	Secret []byte
	// Dir is the run directory: the event log and the result go there.
	Dir string
	// Host is the address to listen on ("" is 127.0.0.1).
	Host string
}

// RunDriver runs the application's driver: the listening line on stdout,
// the log on stderr, the event log and the result into the run directory. An
// aborted application is an Error with ExitJobFailed.
func RunDriver(ctx context.Context, s DriverSetup, stdout, stderr io.Writer) error {
	log := nodelog.New(stderr, slog.LevelInfo)
	ev, err := events.Create(filepath.Join(s.Dir, events.FileName))
	if err != nil {
		return infra(err)
	}
	defer ev.Close()
	res, err := driver.Run(ctx, driver.Config{
		Spec: s.Spec, App: fixtures.App(), Secret: s.Secret, Events: ev, Log: log, Host: s.Host, Dir: s.Dir,
		Listening: func(addr string) { fmt.Fprintln(stdout, ListeningPrefix+addr) },
	})
	if err != nil {
		log.Error("Application could not run: "+err.Error(), "component", "SparkContext")
		return infra(err)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := os.WriteFile(filepath.Join(s.Dir, driver.ResultFile), b, 0o644); err != nil {
		return infra(fmt.Errorf("write result: %w", err))
	}
	if res.Status != driver.Succeeded {
		return &Error{Code: ExitJobFailed, Err: errors.New(res.Error), Quiet: true}
	}
	return nil
}

// Executor runs an executor: flags --run-dir, --driver, --id, --node,
// --slots and --host. It logs on stderr.
func Executor(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flags("executor")
	runDir := fs.String("run-dir", "", "run directory holding spec.json")
	driverAddr := fs.String("driver", "", "driver address host:port")
	node := fs.String("node", "", "node name")
	id := fs.Int("id", 0, "executor id")
	slots := fs.Int("slots", 0, "task slots")
	host := fs.String("host", "", "the node's address the block server listens on (default 127.0.0.1)")
	if err := parse(fs, args); err != nil {
		return err
	}
	sp, secret, err := Inputs(*runDir)
	if err != nil {
		return err
	}
	if *id <= 0 || *driverAddr == "" || *node == "" || *slots <= 0 {
		return usagef("--id, --driver, --node and --slots are required")
	}
	log := nodelog.New(stderr, slog.LevelInfo)
	err = executor.Run(ctx, executor.Config{ID: *id, Node: *node, Slots: *slots, DriverAddr: *driverAddr, Host: *host,
		Secret: secret, Spec: sp, App: fixtures.App(), Log: log})
	switch {
	case err == nil, errors.Is(err, context.Canceled):
		return nil
	case errors.Is(err, executor.ErrRefused):
		return &Error{Code: ExitRefused, Err: err, Quiet: true}
	case errors.Is(err, executor.ErrDriverLost):
		return &Error{Code: ExitJobFailed, Err: err, Quiet: true}
	}
	log.Error("Executor stopped: "+err.Error(), "component", "executor.CoarseGrainedExecutorBackend")
	return infra(err)
}
