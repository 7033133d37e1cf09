package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/faultbook/faultbook/harness/result"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from the binary's output")

// Exit codes of the faultbook command, as documented in its help.
const (
	codeOK          = 0
	codeFailed      = 1
	codeUsage       = 2
	codeInfra       = 3
	codeInterrupted = 130
)

// runTimeout bounds every invocation of the binary: a guard against a hang,
// above the whole catalogue and its matrix on a loaded machine (flaky-node's
// real network timeouts and the streaming scenarios' driver restarts take
// tens of seconds of cluster time); under the race detector, whose processes
// run several times slower, longer.
var runTimeout = func() time.Duration {
	if raceEnabled {
		return 5 * time.Minute
	}
	return 180 * time.Second
}()

// binary is the faultbook executable built by TestMain.
var binary string

// TestMain builds the real binary once, runs the tests against it and removes it.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "faultbook-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "create build directory:", err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "faultbook")
	if err := buildBinary(binary); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if catalogueOut != "" {
		os.RemoveAll(catalogueOut)
	}
	os.Exit(code)
}

// buildBinary compiles this package with the go command of the toolchain that
// runs the tests, with the race detector when the tests have it, and
// faultbook-node and faultbook-driver beside it with the same flags, as make
// build does: the clusters of the runs under test start their executors and
// cluster-mode drivers from them (cluster.NodeBinary, cluster.DriverBinary).
func buildBinary(out string) error {
	if err := buildPackage(out, "."); err != nil {
		return err
	}
	if err := buildPackage(out+"-node", "../faultbook-node"); err != nil {
		return err
	}
	return buildPackage(out+"-driver", "../faultbook-driver")
}

func buildPackage(out, pkg string) error {
	gotool, err := goTool()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.CommandContext(ctx, gotool, append(args, pkg)...)
	if !raceEnabled {
		// Static, so that the docker runtime can run it FROM scratch (the
		// race detector needs cgo).
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build %s: %w\n%s", pkg, err, stderr.String())
	}
	return nil
}

// goTool finds the go command: the one on PATH (go test puts its own GOROOT/bin
// first) asked for its GOROOT, so the build uses the same toolchain.
func goTool() (string, error) {
	path, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("find the go command: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "env", "GOROOT").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOROOT: %w", err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
	if _, err := os.Stat(p); err != nil {
		return path, nil
	}
	return p, nil
}

// cliResult is what one invocation of the binary left behind.
type cliResult struct {
	args   []string
	code   int
	stdout string
	stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("faultbook %s: exit %d\n--- stdout\n%s\n--- stderr\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// environ is the environment of every invocation: no colour, not a terminal,
// and no cluster secret inherited from anywhere.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "FAULTBOOK_CLUSTER_SECRET=") || strings.HasPrefix(kv, "NO_COLOR=") || strings.HasPrefix(kv, "CI=") || strings.HasPrefix(kv, "COLUMNS=") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "NO_COLOR=1", "CI=true")
	if raceEnabled && os.Getenv("GORACE") == "" {
		// A race-enabled process sleeps 1 s at exit by default; every driver
		// and executor would pay it.
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return append(env, extra...)
}

// raceReport is how the race detector starts a report.
const raceReport = "WARNING: DATA RACE"

// checkRaceReports fails the test if the binary, or any driver or executor
// whose log lies under dir, reported a data race.
func checkRaceReports(t *testing.T, r cliResult, dir string) {
	t.Helper()
	if strings.Contains(r.stderr, raceReport) {
		t.Errorf("faultbook %s reported a data race:\n%s", strings.Join(r.args, " "), r.stderr)
	}
	if dir == "" {
		return
	}
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".log") {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, []byte(raceReport)) {
			t.Errorf("data race reported in %s:\n%s", path, b)
		}
		return nil
	})
}

// command prepares an invocation bounded by ctx. Cancelling ctx interrupts the
// binary as Ctrl-C would, so it can stop its clusters, and kills it if it has
// not exited 10 s later.
func command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = environ()
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// faultbook runs the binary to completion and returns its exit code and output.
func faultbook(t *testing.T, args ...string) cliResult {
	t.Helper()
	return faultbookEnv(t, nil, args...)
}

// faultbookEnv is faultbook with extra environment variables.
func faultbookEnv(t *testing.T, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := command(ctx, args...)
	cmd.Env = environ(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	if ctx.Err() != nil {
		t.Fatalf("faultbook %s did not finish within %s\n%s", strings.Join(args, " "), runTimeout, r)
	}
	r.code = exitCode(t, err)
	if raceEnabled {
		checkRaceReports(t, r, flagValue(args, "--out"))
	}
	return r
}

// flagValue returns the value given to a flag in args, or "".
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// exitCode maps Wait's error to the exit code; a death by signal is a failure.
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("faultbook killed by signal %v", ws.Signal())
		}
		return ee.ExitCode()
	}
	t.Fatalf("run faultbook: %v", err)
	return -1
}

// wantCode fails the test unless the invocation exited with code.
func wantCode(t *testing.T, r cliResult, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got\n%s", code, r)
	}
}

// decodeResults parses results JSON strictly: a field the schema does not know fails.
func decodeResults(t *testing.T, data []byte) *result.Results {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var res result.Results
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("decode results: %v\n%.2000s", err, data)
	}
	if res.Schema != "faultbook/results/v1" {
		t.Fatalf("results schema %q, want faultbook/results/v1", res.Schema)
	}
	return &res
}

func readResultsFile(t *testing.T, path string) *result.Results {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return decodeResults(t, data)
}

func findScenario(t *testing.T, res *result.Results, name string) *result.Scenario {
	t.Helper()
	for i := range res.Scenarios {
		if res.Scenarios[i].Name == name {
			return &res.Scenarios[i]
		}
	}
	t.Fatalf("scenario %s missing from the results", name)
	return nil
}

// cellsOf returns a scenario's cells of one kind.
func cellsOf(s *result.Scenario, kind result.CellKind) []*result.Cell {
	var out []*result.Cell
	for i := range s.Cells {
		if s.Cells[i].Cell == kind {
			out = append(out, &s.Cells[i])
		}
	}
	return out
}

func oneCell(t *testing.T, s *result.Scenario, kind result.CellKind) *result.Cell {
	t.Helper()
	cs := cellsOf(s, kind)
	if len(cs) != 1 {
		t.Fatalf("%s: %d %s cells, want 1", s.Name, len(cs), kind)
	}
	return cs[0]
}

// checkGolden compares got with testdata/NAME.golden, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\n%s", path, lineDiff(string(want), got))
	}
}

// lineDiff shows the first differing line of want and got, with both in full.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			return fmt.Sprintf("first difference at line %d:\n  want %q\n  got  %q\n--- want\n%s\n--- got\n%s", i+1, w, g, want, got)
		}
	}
	return ""
}

// processesUnder lists the faultbook processes still alive whose command line
// names dir: the drivers and executors of a run keep their run directories,
// which lie under the run's --out, on their command line.
func processesUnder(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("list processes: %v", err)
	}
	var found []string
	for _, e := range entries {
		pid := e.Name()
		if pid == "" || pid[0] < '0' || pid[0] > '9' {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
		if err != nil || len(raw) == 0 {
			continue // gone, or a zombie: nothing left running
		}
		argv := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
		if !strings.Contains(filepath.Base(argv[0]), "faultbook") {
			continue
		}
		for _, a := range argv[1:] {
			if strings.Contains(a, dir) {
				found = append(found, pid+": "+strings.Join(argv, " "))
				break
			}
		}
	}
	return found
}

func wantNoProcessesUnder(t *testing.T, dir string) {
	t.Helper()
	if left := processesUnder(t, dir); len(left) > 0 {
		t.Errorf("processes of the run still alive after faultbook exited:\n  %s", strings.Join(left, "\n  "))
	}
}

// lineSignal is an io.Writer that keeps everything written to it and closes
// first once a complete line has arrived.
type lineSignal struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	once  sync.Once
	first chan struct{}
	match func(line string) bool
	line  string
}

func newLineSignal(match func(string) bool) *lineSignal {
	if match == nil {
		match = func(string) bool { return true }
	}
	return &lineSignal{first: make(chan struct{}), match: match}
}

func (s *lineSignal) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := s.buf.Len()
	s.buf.Write(p)
	// Look only at lines completed by this write.
	text := s.buf.String()
	from := strings.LastIndexByte(text[:start], '\n') + 1
	for _, l := range strings.SplitAfter(text[from:], "\n") {
		if strings.HasSuffix(l, "\n") && s.match(strings.TrimSuffix(l, "\n")) {
			s.once.Do(func() {
				s.line = strings.TrimSuffix(l, "\n")
				close(s.first)
			})
		}
	}
	return len(p), nil
}

func (s *lineSignal) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// matched returns the first matching line; call it after first is closed.
func (s *lineSignal) matched() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.line
}

// interrupt sends SIGINT to a started command, as Ctrl-C would, and returns
// what its Wait (sent on done) returned; a command still running bound later
// is killed and the test fails, showing its output.
func interrupt(t *testing.T, cmd *exec.Cmd, done <-chan error, bound time.Duration, output fmt.Stringer) error {
	t.Helper()
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("faultbook did not exit within %s of SIGINT\n%s", bound, output)
	}
	return nil
}

// The whole catalogue with its matrix, run once for the package: the tests that
// read a full run (its cells, its matrix, its run directories, the gate and
// diagnose on it) share it, so the package runs the catalogue once, not once
// per test.
var (
	catalogueOnce sync.Once
	catalogueRes  cliResult
	catalogueOut  string
)

// catalogueRun returns the shared run of `run --all --matrix --format json`:
// what the binary printed and its output directory.
func catalogueRun(t *testing.T) (cliResult, string) {
	t.Helper()
	catalogueOnce.Do(func() {
		dir, err := os.MkdirTemp("", "faultbook-catalogue-")
		if err != nil {
			t.Fatalf("create the catalogue's directory: %v", err)
		}
		catalogueOut = dir
		catalogueRes = faultbook(t, "run", "--all", "--matrix", "--format", "json", "--quiet", "--out", dir)
	})
	if catalogueOut == "" {
		t.Fatal("the shared catalogue run could not be set up")
	}
	return catalogueRes, catalogueOut
}
