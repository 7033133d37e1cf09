package scenarios

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/diagnose"
)

func diagnoseWith(t *testing.T, add func(d *diagnose.Diagnoser) error) []string {
	t.Helper()
	cat, err := New()
	if err != nil {
		t.Fatal(err)
	}
	d, err := diagnose.New(cat.Signatures())
	if err != nil {
		t.Fatal(err)
	}
	if err := add(d); err != nil {
		t.Fatal(err)
	}
	return d.Report().IDs()
}

// TestSignaturesOnSamples: production-shaped logs of each Kryo failure are
// claimed by it alone; unrelated failures by none of the catalogue's.
func TestSignaturesOnSamples(t *testing.T) {
	dir := filepath.Join("..", "harness", "diagnose", "testdata")
	for file, want := range map[string][]string{
		"kryo-unregistered-2x.log":           {"registration-order"},
		"kryo-mixed-3x.log":                  {"registration-order"},
		"kryo-shift-2x.log":                  {"registration-shift"},
		"yarn-transport.log":                 {"registrator-transport"},
		"kryo-21928-executor.log":            {"registrator-transport"},
		"npe-json4s-executor.log":            {"option-nil"},
		"overflow-kryo-lost.log":             {"deep-list"},
		"checkpoint-s3.log":                  {"eventual-checkpoint"},
		"checkpoint-efs-slow.log":            {"throttled-checkpoint"},
		"blacklist-2x.log":                   {"flaky-node"},
		"flaky-timeouts.log":                 {"flaky-node"},
		"spark4-no-output.json":              {"no-output-op"},
		"no-output-1x.log":                   {"no-output-op"},
		"oom-yarn.log":                       nil,
		"fetch-failed.log":                   nil,
		"user-exception.log":                 nil,
		"user-exception-one-host.log":        nil,
		"registrator-missing-everywhere.log": nil,
		"kryo-buffer-overflow.log":           nil,
		"checkpoint-hdfs-permission.log":     nil,
		"checkpoint-fast.log":                nil,
	} {
		got := diagnoseWith(t, func(d *diagnose.Diagnoser) error { return d.AddPath(filepath.Join(dir, file)) })
		if !slices.Equal(got, want) {
			t.Errorf("%s diagnosed as %v, want %v", file, got, want)
		}
	}
}

// TestSeed000Excerpts: the master log excerpt is the divergent registration;
// the worker's stderr excerpt is the swallowed registrator failure.
func TestSeed000Excerpts(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "seeds", seed000))
	if err != nil {
		t.Skipf("no ../shared/seeds beside the module root: %v", err)
	}
	text := string(b)
	cut := func(from, to string) string {
		i := strings.Index(text, from)
		j := strings.Index(text[max(i, 0):], to)
		if i < 0 || j < 0 {
			t.Fatalf("excerpt %q…%q not in the seed", from, to)
		}
		return text[i : i+j+len(to)]
	}
	for _, tc := range []struct{ excerpt, want string }{
		{cut("14/08/06 17:42:32 WARN", "Thread.java:745)"), "registration-order"},
		{cut("14/08/06 17:42:31 ERROR", "org.example.MyRegistrator"), "registrator-transport"},
	} {
		got := diagnoseWith(t, func(d *diagnose.Diagnoser) error { return d.AddReader("seed", strings.NewReader(tc.excerpt), "") })
		if !slices.Equal(got, []string{tc.want}) {
			t.Errorf("excerpt %.40q… diagnosed as %v, want %s", tc.excerpt, got, tc.want)
		}
	}
}

// TestEverySignatureValid: each scenario's signature compiles and names it.
func TestEverySignatureValid(t *testing.T) {
	cat, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat.All() {
		if s.Signature == nil {
			t.Errorf("scenario %s declares no Signature (reference one of harness/diagnose's catalogue or declare its own)", s.Name)
			continue
		}
		if err := s.Signature.Validate(); err != nil {
			t.Error(err)
		}
	}
	for _, sig := range cat.Signatures() {
		if _, err := cat.Get(sig.Scenario); sig.Scenario != "" && err != nil {
			t.Errorf("signature %s offers %q, a scenario this build does not have", sig.ID, sig.Reproduce())
		}
	}
}

// TestSparkEventLogsDiagnosed: Spark's own test logs show one documented
// failure, the executors its blacklisting test excluded after "bad exec"
// failures; an application failed by a user exception, a speculative kill and
// plain successes are claimed by nothing.
func TestSparkEventLogsDiagnosed(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "spark-events")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("no ../shared/spark-events beside the module root: %v", err)
	}
	for name, want := range map[string][]string{
		"app-20161116163331-0000":           {"flaky-node"},
		"local-1422981780767":               nil,
		"application_1578436911597_0052":    nil,
		"application_1628109047826_1317105": nil,
	} {
		got := diagnoseWith(t, func(d *diagnose.Diagnoser) error { return d.AddPath(filepath.Join(dir, name)) })
		if !slices.Equal(got, want) {
			t.Errorf("%s diagnosed as %v, want %v", name, got, want)
		}
	}
}

// TestEventLogFailureDiagnosed: a task failure in an event log (Spark 1.2's
// own log, its user exception swapped in memory for Kryo's unknown id) is
// recognised from the TaskEnd's reason and the JobEnd's message, as the
// driver's log lines would be.
func TestEventLogFailureDiagnosed(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "shared", "spark-events", "local-1422981780767"))
	if err != nil {
		t.Skipf("no ../shared/spark-events beside the module root: %v", err)
	}
	kryo := strings.NewReplacer(
		`"Class Name":"java.lang.RuntimeException","Description":"got a 3, failing"`,
		`"Class Name":"com.esotericsoftware.kryo.KryoException","Description":"Encountered unregistered class ID: 13994"`,
		`java.lang.RuntimeException: got a 3, failing`, `com.esotericsoftware.kryo.KryoException: Encountered unregistered class ID: 13994`,
	).Replace(string(raw))
	if kryo == string(raw) {
		t.Fatal("the log no longer holds the failure this test swaps")
	}
	got := diagnoseWith(t, func(d *diagnose.Diagnoser) error { return d.AddReader("eventlog", strings.NewReader(kryo), "") })
	if !slices.Equal(got, []string{"registration-order"}) {
		t.Errorf("diagnosed as %v, want registration-order", got)
	}
}
