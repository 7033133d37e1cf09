// Package proc starts the processes of a mini cluster (a driver, executors:
// the same binary in different roles) so that none of them outlives the run
// that started it. Each child leads its own process group, which is killed as
// a whole, so helpers a node forks die with it; each child also gets SIGKILL
// from the kernel if the process that started it dies, so even a harness
// killed with SIGKILL leaves nothing behind. A leftover executor from an
// earlier run would hold ports and write into a newer run's evidence.
//
// Output is kept (stdout and stderr interleaved, in one file per node) because
// it is the evidence a failed run is judged on, and it can be watched line by
// line, e.g. for the "listening 127.0.0.1:port" that says a node is up.
package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Spec describes a child process.
type Spec struct {
	// Name labels the process in errors: "driver", "exec-3". Required.
	Name string
	// Path is the executable; a name without a slash is looked up in PATH.
	// Required.
	Path string
	// Args are the arguments, without the program name.
	Args []string
	// Env is appended to the parent's environment (os.Environ()); where a
	// variable is set twice, Env wins.
	Env []string
	// LogPath receives stdout and stderr, interleaved as the child writes
	// them. It is opened for appending, so a restarted node continues its
	// log, and created with its directories if missing. Empty: output is not
	// kept, but OnLine still sees it.
	LogPath string
	// OnLine, if set, is called with each line of output, without its line
	// ending, in order, from one goroutine. Lines longer than 64 KiB are cut
	// to that length. It should return quickly: while it runs, output is not
	// read, and a child whose pipe is full stalls. Every call returns before
	// Done is closed, so Done may be used to close a channel OnLine sends to.
	OnLine func(line string)
}

// Exit is how a process ended.
type Exit struct {
	// Code is the exit status, or -1 when a signal killed the process.
	Code int
	// Signal names the signal that killed the process ("SIGKILL"), or is "".
	Signal string
	// Signum is that signal's number, or 0.
	Signum int
	// Err reports trouble around the process rather than in it: its output
	// could not be written to the log, or was cut short because a process
	// that escaped the group still held it open.
	Err error `json:"-"`
}

// Status is the exit status as a shell reports it, and as a JVM's
// Process.waitFor() reports it to Spark's Worker: the exit code, or 128 plus
// the signal's number when a signal killed the process (137 for SIGKILL).
func (e Exit) Status() int {
	if e.Signal != "" {
		return 128 + e.Signum
	}
	return e.Code
}

func (e Exit) String() string {
	if e.Signal != "" {
		return "killed by " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Process is a started child. Its methods are safe for concurrent use.
type Process struct {
	name  string
	cmd   *exec.Cmd
	pid   int
	lim   limits
	done  chan struct{}
	exit  Exit // written once, before done is closed
	unctx func() bool

	// mu orders group signals before the leader is reaped: until then the
	// leader is at worst a zombie, whose pid (and so the group id) the
	// kernel cannot hand to a new process. After, a group signal could hit
	// strangers.
	mu     sync.Mutex
	reaped bool

	exited atomic.Bool // the leader is gone; only its output may remain
}

// limits bound the waits behind Done and Close.
type limits struct {
	// drain is how long output may stay open once the group is dead; only a
	// process that left the group (setsid) can hold it that long.
	drain time.Duration
	// close is how long Close waits for Done after SIGKILL.
	close time.Duration
}

var defaultLimits = limits{drain: 2 * time.Second, close: 10 * time.Second}

// Start starts the process described by s. ctx bounds the process's life, as
// with exec.CommandContext: when ctx ends, the whole group is killed. Use a
// context that lives as long as the process should, not a start timeout.
func Start(ctx context.Context, s Spec) (*Process, error) {
	return start(ctx, s, defaultLimits)
}

func start(ctx context.Context, s Spec, lim limits) (*Process, error) {
	if s.Name == "" {
		return nil, errors.New("start process: empty name")
	}
	if s.Path == "" {
		return nil, fmt.Errorf("start %s: empty path", s.Name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	var log *os.File
	if s.LogPath != "" {
		if err := os.MkdirAll(filepath.Dir(s.LogPath), 0o755); err != nil {
			return nil, fmt.Errorf("start %s: create log directory: %w", s.Name, err)
		}
		f, err := os.OpenFile(s.LogPath, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("start %s: open log: %w", s.Name, err)
		}
		log = f
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		closeIf(log)
		return nil, fmt.Errorf("start %s: create output pipe: %w", s.Name, err)
	}

	cmd := exec.Command(s.Path, s.Args...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = spawn(cmd)
	pw.Close() // the child holds its own copy; ours would keep the pipe open forever
	if err != nil {
		pr.Close()
		closeIf(log)
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}

	p := &Process{
		name: s.Name,
		cmd:  cmd,
		pid:  cmd.Process.Pid,
		lim:  lim,
		done: make(chan struct{}),
	}
	p.unctx = context.AfterFunc(ctx, func() { p.Kill() })
	outDone := make(chan error, 1)
	go func() { outDone <- copyOutput(pr, log, s.OnLine) }()
	go p.wait(pr, log, outDone)
	return p, nil
}

func closeIf(f *os.File) {
	if f != nil {
		f.Close()
	}
}

// wait follows the process to its end: leader exit, group cleanup, reap,
// output drained.
func (p *Process) wait(pr, log *os.File, outDone <-chan error) {
	var errs []error
	if err := waitExited(p.pid); err != nil {
		errs = append(errs, fmt.Errorf("watch pid %d: %w", p.pid, err))
	} else {
		// The leader is a zombie. Whatever it left in its group (a
		// backgrounded helper) dies now: it would otherwise outlive the run
		// and hold the output pipe open.
		p.mu.Lock()
		syscall.Kill(-p.pid, syscall.SIGKILL)
		p.reaped = true
		p.mu.Unlock()
	}
	p.exited.Store(true)
	werr := p.cmd.Wait()
	p.mu.Lock()
	p.reaped = true
	p.mu.Unlock()

	exit := exitOf(p.cmd.ProcessState)
	if p.cmd.ProcessState == nil {
		errs = append(errs, fmt.Errorf("wait for pid %d: %w", p.pid, werr))
	}

	t := time.NewTimer(p.lim.drain)
	var outErr error
	select {
	case outErr = <-outDone:
	case <-t.C:
		pr.SetReadDeadline(time.Unix(1, 0))
		outErr = <-outDone
		if errors.Is(outErr, os.ErrDeadlineExceeded) {
			outErr = fmt.Errorf("output cut short: still open %s after the group died, held by a process outside it", p.lim.drain)
		}
	}
	t.Stop()
	if outErr != nil {
		errs = append(errs, outErr)
	}
	pr.Close()
	if log != nil {
		if err := log.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close log: %w", err))
		}
	}
	if len(errs) > 0 {
		exit.Err = fmt.Errorf("%s: %w", p.name, errors.Join(errs...))
	}
	p.exit = exit
	p.unctx()
	close(p.done)
}

func exitOf(ps *os.ProcessState) Exit {
	if ps == nil {
		return Exit{Code: -1}
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return Exit{Code: -1, Signal: signalName(ws.Signal()), Signum: int(ws.Signal())}
	}
	return Exit{Code: ps.ExitCode()}
}

// Name returns the label given in the Spec.
func (p *Process) Name() string { return p.name }

// Pid returns the process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Done is closed when the process has exited and its output is fully drained
// (written to the log and passed to OnLine).
func (p *Process) Done() <-chan struct{} { return p.done }

// Wait waits for Done and returns how the process ended, or ctx's error if ctx
// ends first.
func (p *Process) Wait(ctx context.Context) (Exit, error) {
	select {
	case <-p.done:
		return p.exit, nil
	default:
	}
	select {
	case <-p.done:
		return p.exit, nil
	case <-ctx.Done():
		return Exit{}, fmt.Errorf("wait for %s (pid %d): %w", p.name, p.pid, context.Cause(ctx))
	}
}

// Signal sends sig to the process alone, not its group, so a node can be asked
// to shut down (SIGTERM) or be paused (SIGSTOP) while its helpers are left to
// it. After the process has exited the error wraps os.ErrProcessDone.
func (p *Process) Signal(sig os.Signal) error {
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s with %s: %w", p.name, nameOf(sig), err)
	}
	return nil
}

// Kill sends SIGKILL to the whole process group. Once the process has been
// reaped it does nothing: its group is already dead.
func (p *Process) Kill() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return nil
	}
	// The group, then the leader by its pidfd in case it moved to another
	// group; ESRCH means an empty group.
	gerr := syscall.Kill(-p.pid, syscall.SIGKILL)
	perr := p.cmd.Process.Kill()
	if gerr != nil && !errors.Is(gerr, syscall.ESRCH) && perr != nil && !errors.Is(perr, os.ErrProcessDone) {
		return fmt.Errorf("kill %s (group %d): %w", p.name, p.pid, gerr)
	}
	return nil
}

// Close kills the process group if it is still running and waits for Done. It
// is safe to call more than once. It never hangs: if the process is not done
// 10 s after SIGKILL, Close returns an error saying what it is still waiting
// for. Otherwise it returns Exit.Err: being killed is what Close is for, not an
// error.
func (p *Process) Close() error {
	kerr := p.Kill()
	t := time.NewTimer(p.lim.close)
	defer t.Stop()
	select {
	case <-p.done:
		return p.exit.Err
	case <-t.C:
	}
	if !p.exited.Load() {
		return errors.Join(kerr, fmt.Errorf("close %s: pid %d still running %s after SIGKILL (uninterruptible sleep?)", p.name, p.pid, p.lim.close))
	}
	return fmt.Errorf("close %s: pid %d exited but its output is not drained after %s (is OnLine blocked?)", p.name, p.pid, p.lim.close)
}
