package proc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bound guards every wait in these tests against a hang; nothing waits for
// it to pass.
const bound = 5 * time.Second

func sh(name, script string) Spec {
	return Spec{Name: name, Path: "/bin/sh", Args: []string{"-c", script}}
}

func startT(t *testing.T, s Spec) *Process {
	t.Helper()
	p, err := Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func exitT(t *testing.T, p *Process) Exit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	e, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExit(t *testing.T) {
	tests := []struct {
		name   string
		script string
		want   Exit
	}{
		{"success", "exit 0", Exit{Code: 0}},
		{"failure", "exit 3", Exit{Code: 3}},
		{"terminated", "kill -TERM $$", Exit{Code: -1, Signal: "SIGTERM", Signum: 15}},
		{"killed", "kill -KILL $$", Exit{Code: -1, Signal: "SIGKILL", Signum: 9}},
		{"aborted", "kill -ABRT $$", Exit{Code: -1, Signal: "SIGABRT", Signum: 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := startT(t, sh("node", tc.script))
			if got := exitT(t, p); got != tc.want {
				t.Errorf("exit = %+v (%s), want %+v", got, got, tc.want)
			}
			if err := p.Close(); err != nil {
				t.Errorf("Close after exit: %v", err)
			}
		})
	}
}

func TestStartRefused(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		spec Spec
	}{
		{"no name", context.Background(), Spec{Path: "/bin/true"}},
		{"no path", context.Background(), Spec{Name: "node"}},
		{"missing binary", context.Background(), Spec{Name: "node", Path: "/nonexistent/faultbook-node"}},
		{"cancelled context", cancelled, Spec{Name: "node", Path: "/bin/true"}},
		{"log path under a file", context.Background(), Spec{Name: "node", Path: "/bin/true", LogPath: "/dev/null/x.log"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Start(tc.ctx, tc.spec)
			if err == nil {
				p.Close()
				t.Fatal("Start succeeded")
			}
			if tc.spec.Name != "" && !strings.Contains(err.Error(), tc.spec.Name) {
				t.Errorf("error %q does not name the process", err)
			}
		})
	}
}

func TestOutput(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "run-1", "nodes", "exec-1.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath, []byte("from the previous start\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var lines []string // written by OnLine only, read after Done
	s := sh("exec-1", `echo "listening 127.0.0.1:4040"; echo oops >&2; printf 'crlf\r\n'; printf "$FAULTBOOK_TEST_VAR"`)
	s.Env = []string{"FAULTBOOK_TEST_VAR=no newline"}
	s.LogPath = logPath
	s.OnLine = func(l string) { lines = append(lines, l) }
	p := startT(t, s)
	if e := exitT(t, p); e != (Exit{}) {
		t.Fatalf("exit %+v", e)
	}
	want := []string{"listening 127.0.0.1:4040", "oops", "crlf", "no newline"}
	if !slices.Equal(lines, want) {
		t.Errorf("OnLine got %q, want %q", lines, want)
	}
	got, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	wantLog := "from the previous start\nlistening 127.0.0.1:4040\noops\ncrlf\r\nno newline"
	if string(got) != wantLog {
		t.Errorf("log = %q, want %q", got, wantLog)
	}
}

func TestLongLineCut(t *testing.T) {
	var lines []string
	s := sh("node", `head -c 100000 /dev/zero | tr '\0' x; echo; echo next`)
	s.OnLine = func(l string) { lines = append(lines, l) }
	exitT(t, startT(t, s))
	if len(lines) != 2 || len(lines[0]) != maxLine || lines[1] != "next" {
		t.Errorf("got %d lines of lengths %v, want %d then \"next\"", len(lines), lens(lines), maxLine)
	}
}

func lens(ss []string) []int {
	var n []int
	for _, s := range ss {
		n = append(n, len(s))
	}
	return n
}

func TestSignal(t *testing.T) {
	p := startT(t, Spec{Name: "exec-2", Path: "sleep", Args: []string{"100"}})
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if e := exitT(t, p); e.Code != -1 || e.Signal != "SIGTERM" {
		t.Errorf("exit %+v, want SIGTERM", e)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal after exit = %v, want os.ErrProcessDone", err)
	}
	if err := p.Kill(); err != nil {
		t.Errorf("Kill after exit = %v, want nil", err)
	}
}

func TestClose(t *testing.T) {
	p := startT(t, Spec{Name: "exec-1", Path: "sleep", Args: []string{"100"}})
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > bound {
		t.Errorf("Close took %s", d)
	}
	select {
	case <-p.Done():
	default:
		t.Fatal("Close returned before Done")
	}
	if e := exitT(t, p); e.Signal != "SIGKILL" {
		t.Errorf("exit %+v, want SIGKILL", e)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestContextEndsProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p, err := Start(ctx, Spec{Name: "driver", Path: "sleep", Args: []string{"100"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	cancel()
	if e := exitT(t, p); e.Signal != "SIGKILL" {
		t.Errorf("exit %+v, want SIGKILL", e)
	}
}

func TestWaitContext(t *testing.T) {
	p := startT(t, Spec{Name: "exec-1", Path: "sleep", Args: []string{"100"}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait = %v, want context.Canceled", err)
	}
}

func TestGroup(t *testing.T) {
	var g Group
	var procs []*Process
	for i := range 3 {
		p := startT(t, Spec{Name: "exec-" + strconv.Itoa(i), Path: "sleep", Args: []string{"100"}})
		g.Add(p)
		procs = append(procs, p)
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		select {
		case <-p.Done():
		default:
			t.Errorf("%s still running after Group.Close", p.Name())
		}
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	late := startT(t, Spec{Name: "late", Path: "sleep", Args: []string{"100"}})
	g.Add(late)
	select {
	case <-late.Done():
	default:
		t.Error("process added to a closed group still running")
	}
}

// TestGrandchildDies: a helper the node forked dies with it, whether the node
// is closed or dies on its own and leaves the helper behind.
func TestGrandchildDies(t *testing.T) {
	tests := []struct {
		name string
		end  func(*Process) error
		want string // Exit.Signal of the node
	}{
		{"node closed", (*Process).Close, "SIGKILL"},
		{"group killed", (*Process).Kill, "SIGKILL"},
		{"node dies alone", func(p *Process) error { return p.Signal(syscall.SIGTERM) }, "SIGTERM"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := make(chan string, 4)
			s := sh("exec-1", `sleep 100 & echo "helper $!"; wait`)
			s.OnLine = func(l string) { lines <- l }
			p := startT(t, s)
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			line, err := WaitLine(ctx, lines, func(l string) bool { return strings.HasPrefix(l, "helper ") })
			if err != nil {
				t.Fatal(err)
			}
			helper, _ := strconv.Atoi(strings.TrimPrefix(line, "helper "))
			exited := watchExit(t, helper)
			if exited(0) {
				t.Fatalf("helper %d not running before the node ends", helper)
			}
			if err := tc.end(p); err != nil {
				t.Fatal(err)
			}
			if e := exitT(t, p); e.Signal != tc.want || e.Err != nil {
				t.Errorf("node exit %+v, want %s", e, tc.want)
			}
			if !exited(bound) {
				t.Errorf("helper %d still running after its node ended", helper)
			}
		})
	}
}

// TestEscapedHolderCutOff: a process that left the group (setsid) and keeps
// the output open cannot keep Done from closing; Exit.Err says why the output
// may be incomplete.
func TestEscapedHolderCutOff(t *testing.T) {
	lines := make(chan string, 4)
	// The helper reports its pid only once it has its own session, so the
	// node cannot exit (and its group be killed) while it is still inside.
	s := sh("exec-1", `exec 3>&1
pid=$(setsid sh -c 'echo $$; exec sleep 30 >&3 2>&3 3>&-' &)
echo "helper $pid"`)
	s.OnLine = func(l string) { lines <- l }
	p, err := start(context.Background(), s, limits{drain: 50 * time.Millisecond, close: bound})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	line, err := WaitLine(ctx, lines, func(l string) bool { return strings.HasPrefix(l, "helper ") })
	if err != nil {
		t.Fatal(err)
	}
	helper, _ := strconv.Atoi(strings.TrimPrefix(line, "helper "))
	t.Cleanup(func() { syscall.Kill(helper, syscall.SIGKILL) })
	e := exitT(t, p)
	if e.Code != 0 || e.Err == nil || !strings.Contains(e.Err.Error(), "outside") {
		t.Errorf("exit %+v, want code 0 and an error about the escaped holder", e)
	}
	if err := p.Close(); err == nil {
		t.Error("Close hid the cut output")
	}
}

func TestWaitLine(t *testing.T) {
	isUp := func(l string) bool { return strings.HasPrefix(l, "listening ") }
	tests := []struct {
		name    string
		script  string
		want    string
		wantErr error
	}{
		{"up", `echo starting; echo "listening 127.0.0.1:7077"; sleep 100`, "listening 127.0.0.1:7077", nil},
		{"dies first", `echo starting; exit 1`, "", ErrNoMatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := make(chan string, 16)
			s := sh("driver", tc.script)
			s.OnLine = func(l string) {
				select {
				case lines <- l:
				default:
				}
			}
			p := startT(t, s)
			go func() { <-p.Done(); close(lines) }()
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			got, err := WaitLine(ctx, lines, isUp)
			if got != tc.want || !errors.Is(err, tc.wantErr) {
				t.Errorf("WaitLine = %q, %v; want %q, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := WaitLine(ctx, make(chan string), isUp); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitLine on a cancelled context = %v", err)
	}
}

// watchExit returns a function reporting whether pid (not our child, so not
// waitable) has exited, waiting up to the given time. It polls a pidfd, which
// the kernel makes readable when the process exits.
func watchExit(t *testing.T, pid int) func(within time.Duration) bool {
	t.Helper()
	const sysPidfdOpen = 434 // the same number on every Linux architecture
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	if errno == syscall.ENOSYS {
		t.Skip("no pidfd_open on this kernel")
	}
	if errno != 0 {
		t.Fatalf("pidfd_open(%d): %v", pid, errno)
	}
	t.Cleanup(func() { syscall.Close(int(fd)) })
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(ep) })
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, int(fd), &ev); err != nil {
		t.Fatal(err)
	}
	return func(within time.Duration) bool {
		events := make([]syscall.EpollEvent, 1)
		deadline := time.Now().Add(within)
		for {
			n, err := syscall.EpollWait(ep, events, int(max(0, time.Until(deadline).Milliseconds())))
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			return n > 0
		}
	}
}
