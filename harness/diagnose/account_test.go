package diagnose

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// sparkEvents is where the real event logs of Apache Spark's test suite are
// kept beside the repository (never copied into it).
func sparkEvents(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "spark-events"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no ../shared/spark-events beside the module root (a clone outside its setup): %v", err)
	}
	return dir
}

type account struct {
	Events, Tasks, Failed, Added, Removed, ExcludedExec, ExcludedNode, Jobs, FailedJobs int
	Reasons                                                                             map[string]int
}

// The counts ../shared/spark-events/README.md states for each log.
var wantAccounts = map[string]account{
	"application_1578436911597_0052":    {Events: 26, Tasks: 6, Added: 1, Jobs: 1, Reasons: map[string]int{}},
	"app-20161116163331-0000":           {Events: 67, Tasks: 24, Failed: 8, Added: 4, ExcludedExec: 2, ExcludedNode: 1, Jobs: 1, Reasons: map[string]int{"java.lang.RuntimeException": 8}},
	"application_1628109047826_1317105": {Events: 51, Tasks: 5, Failed: 1, Added: 10, Removed: 6, Jobs: 1, Reasons: map[string]int{"TaskKilled": 1}},
	"local-1422981780767":               {Events: 82, Tasks: 32, Failed: 1, Jobs: 3, FailedJobs: 1, Reasons: map[string]int{"java.lang.RuntimeException": 1}},
}

func accountOf(t *testing.T, add func(d *Diagnoser) error) (account, *Report) {
	t.Helper()
	d, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := add(d); err != nil {
		t.Fatal(err)
	}
	rep := d.Report()
	a := rep.Summary.EventLog
	if a == nil {
		t.Fatal("no event log account")
	}
	return account{Events: a.Events, Tasks: a.Tasks, Failed: a.FailedTasks, Added: a.ExecutorsAdded, Removed: a.ExecutorsRemoved,
		ExcludedExec: a.ExcludedExecutors, ExcludedNode: a.ExcludedNodes, Jobs: a.Jobs, FailedJobs: a.FailedJobs, Reasons: a.FailureReasons}, rep
}

// TestSparkEventLogs: every real event log is read, plain and compressed as
// Spark writes it, and its account matches the README's.
func TestSparkEventLogs(t *testing.T) {
	dir := sparkEvents(t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, ok := wantAccounts[e.Name()]; !ok && e.Name() != "README.md" {
			t.Errorf("%s: an event log without its README counts in wantAccounts", e.Name())
		}
	}
	for name, want := range wantAccounts {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for codec, data := range map[string][]byte{"plain": raw, "zstd": zstdOf(t, raw), "lz4": lz4BlocksOf(t, raw, 32<<10)} {
			t.Run(name+"/"+codec, func(t *testing.T) {
				got, rep := accountOf(t, func(d *Diagnoser) error { return d.AddReader(name, bytes.NewReader(data), "") })
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("account (-README +read):\n%s", d)
				}
				if rep.Inputs[0].Kind == "log" {
					t.Errorf("%s read as a text log", codec)
				}
			})
		}
	}
	// The 2.x names of exclusion are read as exclusions.
	_, rep := accountOf(t, func(d *Diagnoser) error { return d.AddPath(filepath.Join(dir, "app-20161116163331-0000")) })
	if n := rep.Summary.EventLog.ByName["SparkListenerExecutorBlacklisted"]; n != 2 {
		t.Errorf("SparkListenerExecutorBlacklisted counted %d times, want 2", n)
	}
	if v := rep.Summary.EventLog.SparkVersions; len(v) != 1 || v[0] != "2.1.0-SNAPSHOT" {
		t.Errorf("Spark versions %v", v)
	}
}

// TestRolledEventLog: an eventlog_v2_ directory's events_N files are read in
// N's order (10 after 9), as one log.
func TestRolledEventLog(t *testing.T) {
	dir := sparkEvents(t)
	raw, err := os.ReadFile(filepath.Join(dir, "local-1422981780767"))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(raw, []byte("\n"))
	roll := filepath.Join(t.TempDir(), "eventlog_v2_local-1422981780767")
	if err := os.Mkdir(roll, 0o755); err != nil {
		t.Fatal(err)
	}
	per := len(lines)/11 + 1
	for i := 0; i*per < len(lines); i++ {
		part := bytes.Join(lines[i*per:min((i+1)*per, len(lines))], nil)
		if i%2 == 1 {
			part = zstdOf(t, part)
		}
		name := filepath.Join(roll, "events_"+itoa(i+1)+"_local-1422981780767")
		if err := os.WriteFile(name, part, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(roll, "appstatus_local-1422981780767"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _ := accountOf(t, func(d *Diagnoser) error { return d.AddPath(roll) })
	if d := cmp.Diff(wantAccounts["local-1422981780767"], got); d != "" {
		t.Errorf("rolled account (-README +read):\n%s", d)
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

func zstdOf(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithWindowSize(32<<10)) // blocks of 32 KiB at most
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// lz4BlocksOf frames b as lz4-java's LZ4BlockOutputStream does (the checksum
// is left zero: the reader does not verify it), ending with an empty block.
func lz4BlocksOf(t testing.TB, b []byte, block int) []byte {
	t.Helper()
	var out bytes.Buffer
	header := func(method byte, clen, olen int) {
		out.WriteString("LZ4Block")
		out.WriteByte(method | 4)
		var n [12]byte
		binary.LittleEndian.PutUint32(n[0:], uint32(clen))
		binary.LittleEndian.PutUint32(n[4:], uint32(olen))
		out.Write(n[:])
	}
	for len(b) > 0 {
		chunk := b[:min(block, len(b))]
		b = b[len(chunk):]
		dst := make([]byte, lz4.CompressBlockBound(len(chunk)))
		n, err := lz4.CompressBlock(chunk, dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 || n >= len(chunk) {
			header(lz4MethodRaw, len(chunk), len(chunk))
			out.Write(chunk)
			continue
		}
		header(lz4MethodLZ4, n, len(chunk))
		out.Write(dst[:n])
	}
	header(lz4MethodRaw, 0, 0)
	return out.Bytes()
}

// TestTruncatedCompressed: a compressed event log cut short (an application
// still running) is read up to the cut, and said to be truncated.
func TestTruncatedCompressed(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sparkEvents(t), "app-20161116163331-0000"))
	if err != nil {
		t.Fatal(err)
	}
	for codec, data := range map[string][]byte{"zstd": zstdOf(t, raw), "lz4": lz4BlocksOf(t, raw, 16<<10)} {
		cut := data[:len(data)*2/3]
		d, _ := New(nil)
		if err := d.AddReader(codec, bytes.NewReader(cut), ""); err != nil {
			t.Fatalf("%s cut short: %v", codec, err)
		}
		rep := d.Report()
		if a := rep.Summary.EventLog; a == nil || a.Events == 0 || a.Events >= 67 || len(a.SparkVersions) != 1 {
			t.Errorf("%s cut short: account %+v, want some of the 67 events and the version", codec, a)
		}
		if k := rep.Inputs[0].Kind; !strings.Contains(k, "truncated") {
			t.Errorf("%s cut short read as %q", codec, k)
		}
	}
}
