package diagnose

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testSignatures are the catalogue's plus minimal stand-ins for the Kryo
// scenarios' (declared in package scenarios, tested there end to end).
func diagnoseFile(t *testing.T, path string) *Report {
	t.Helper()
	d, err := New(Pending())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.AddPath(path); err != nil {
		t.Fatal(err)
	}
	return d.Report()
}

// TestSamples: realistic production logs of the documented failures are
// claimed; unrelated failures (an OOM kill, a fetch failure, user
// exceptions) are not, and their failures are summarised instead.
func TestSamples(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"oom-yarn.log", nil},
		{"fetch-failed.log", nil},
		{"user-exception.log", nil},
		{"spark4-no-output.json", []string{"no-output-op"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rep := diagnoseFile(t, filepath.Join("testdata", tc.file))
			if d := cmp.Diff(tc.want, rep.IDs()); d != "" {
				t.Errorf("matched (-want +got):\n%s", d)
			}
			if tc.want == nil && rep.Summary.FailedTasks == 0 && len(rep.Summary.Exceptions) == 0 {
				t.Errorf("nothing summarised: %+v", rep.Summary)
			}
		})
	}
	rep := diagnoseFile(t, filepath.Join("testdata", "oom-yarn.log"))
	if len(rep.Summary.LostExecutors) == 0 || len(rep.Summary.Aborted) == 0 {
		t.Errorf("OOM summary lacks the lost executor or the abort: %+v", rep.Summary)
	}
}

// TestSeedExcerpts: the seeds' own log excerpts of §3 and §4.
func TestSeedExcerpts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "seeds", "003_62b8e12072c4356b.txt"))
	if err != nil {
		t.Skipf("no ../shared/seeds beside the module root: %v", err)
	}
	text := string(b)
	npe := between(t, text, "org.apache.spark.SparkException: Job aborted", "SomeClass.scala:12)")
	overflow := between(t, text, "Exception in thread “main” java.lang.StackOverflowError", "ObjectOutputStream.java:1432)")
	for name, tc := range map[string]struct {
		excerpt string
		want    string
	}{"§3": {npe, "option-nil"}, "§4": {overflow, "deep-list"}} {
		d, _ := New(Pending())
		if err := d.AddReader(name, strings.NewReader(tc.excerpt), ""); err != nil {
			t.Fatal(err)
		}
		if got := d.Report().IDs(); !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s excerpt diagnosed as %v, want %s", name, got, tc.want)
		}
	}
}

func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	j := strings.Index(s[max(i, 0):], to)
	if i < 0 || j < 0 {
		t.Fatalf("seed excerpt %q…%q not found", from, to)
	}
	return s[i : i+j+len(to)]
}

func TestParseHeader(t *testing.T) {
	for _, tc := range []struct{ line, level, logger, msg string }{
		{"14/07/23 10:00:00 ERROR Executor: Exception in task 0.0", "ERROR", "Executor", "Exception in task 0.0"},
		{"2024-01-02 10:00:00,123 WARN [task-result-getter-0] scheduler.TaskSetManager: Lost task 1.0", "WARN", "scheduler.TaskSetManager", "Lost task 1.0"},
		{"2026-11-29 13:11:28.643 ERROR executor.Executor: Exception in task 3.0", "ERROR", "executor.Executor", "Exception in task 3.0"},
		{"2026-11-29 13:11:28.643 INFO  SparkContext: Started", "INFO", "SparkContext", "Started"},
		{"2019-11-04 17:02:41,902 ERROR [stream execution thread for q [id = 6b3c, runId = 0a1b]] streaming.MicroBatchExecution: Query q terminated with error",
			"ERROR", "streaming.MicroBatchExecution", "Query q terminated with error"},
	} {
		level, logger, msg, ok := parseHeader(tc.line)
		if !ok || level != tc.level || logger != tc.logger || msg != tc.msg {
			t.Errorf("parseHeader(%q) = %q %q %q %v", tc.line, level, logger, msg, ok)
		}
	}
	for _, s := range []string{"at foo.Bar(Baz.java:1)", "java.lang.X: y", "12 apples ERROR here", ""} {
		if _, _, _, ok := parseHeader(s); ok && s != "12 apples ERROR here" {
			t.Errorf("parseHeader(%q) accepted", s)
		}
	}
}

// TestYarnSections: each container's log type of `yarn logs` output is its
// own source, and its content says whether a driver or an executor wrote it.
func TestYarnSections(t *testing.T) {
	rep := diagnoseFile(t, filepath.Join("testdata", "yarn-transport.log"))
	got := map[string]Place{}
	for _, in := range rep.Inputs {
		if in.Lines > 0 && strings.Contains(in.Name, "[") {
			got[in.Name[strings.Index(in.Name, "["):]] = in.Place
		}
	}
	want := map[string]Place{
		"[container_1407912345678_0042_01_000002 stderr]": Executor,
		"[container_1407912345678_0042_01_000001 stderr]": Driver,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("sections (-want +got):\n%s", d)
	}
}
