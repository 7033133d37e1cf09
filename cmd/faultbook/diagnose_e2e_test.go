package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/scenarios"
)

// TestDiagnoseConfusionMatrix runs the whole catalogue, then diagnoses every
// run directory of its control, reproduce and no-false-alarm cells: a
// reproduce run is diagnosed as its scenario's failure mode and no other (a
// run whose output was silently wrong, with no failure logged, may show
// nothing), every control and no-false-alarm run as nothing. The matrix is
// printed; its off-diagonal must be zero.
func TestDiagnoseConfusionMatrix(t *testing.T) {
	r, out := catalogueRun(t)
	wantCode(t, r, 0)
	cat, err := scenarios.New()
	if err != nil {
		t.Fatal(err)
	}
	sigs := cat.Signatures()
	type key struct{ row, col string }
	matrix := map[key]int{}
	rows := map[string]bool{}
	for _, sc := range cat.All() {
		if sc.Signature == nil {
			t.Errorf("scenario %s declares no signature", sc.Name)
			continue
		}
		for _, cell := range []string{"control", "reproduce", "no-false-alarm"} {
			if raceEnabled && checkpointBound(sc.Name, cell) {
				t.Logf("%s/%s: not judged under the race detector: its executors cannot keep up with the batch interval", sc.Name, cell)
				continue
			}
			runs, _ := filepath.Glob(filepath.Join(out, sc.Name, cell, "run-*"))
			if len(runs) == 0 {
				t.Errorf("%s/%s: no run directories", sc.Name, cell)
			}
			for _, dir := range runs {
				want, orNothing := "nothing", false
				if cell == "reproduce" {
					want, orNothing = sc.Signature.ID, !failed(t, dir)
				}
				label := want
				if orNothing {
					label += " or nothing"
				}
				row := sc.Name + "/" + cell + " (" + label + ")"
				rows[row] = true
				d, err := diagnose.New(sigs)
				if err != nil {
					t.Fatal(err)
				}
				if err := d.AddPath(dir); err != nil {
					t.Fatal(err)
				}
				got := d.Report().IDs()
				if len(got) == 0 {
					got = []string{"nothing"}
				}
				for _, g := range got {
					matrix[key{row, g}]++
					if g != want && !(orNothing && g == "nothing") {
						t.Errorf("%s diagnosed as %s, want %s", dir, g, label)
					}
				}
			}
		}
	}
	cols := []string{"nothing"}
	for _, s := range sigs {
		cols = append(cols, s.ID)
	}
	var rowNames []string
	for r := range rows {
		rowNames = append(rowNames, r)
	}
	sort.Strings(rowNames)
	var b strings.Builder
	fmt.Fprintf(&b, "%-68s", "run (expected)")
	for i := range cols {
		fmt.Fprintf(&b, " c%-2d", i)
	}
	b.WriteString("\n")
	for _, r := range rowNames {
		fmt.Fprintf(&b, "%-68s", r)
		for _, c := range cols {
			fmt.Fprintf(&b, " %3d", matrix[key{r, c}])
		}
		b.WriteString("\n")
	}
	for i, c := range cols {
		fmt.Fprintf(&b, "c%d=%s ", i, c)
	}
	t.Logf("diagnose confusion matrix:\n%s", b.String())
}

func failed(t *testing.T, dir string) bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, driver.ResultFile))
	if err != nil {
		return true // the driver died without a result
	}
	var res driver.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res.Status != driver.Succeeded
}

// TestDiagnoseExitCodes: 1 when a documented failure matched, 0 when not, 2
// for usage, 3 for input that cannot be read.
func TestDiagnoseExitCodes(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin.dat")
	if err := os.WriteFile(bin, []byte{0, 1, 2, 0, 'x'}, 0o644); err != nil {
		t.Fatal(err)
	}
	testdata := filepath.Join("..", "..", "harness", "diagnose", "testdata")
	for _, tc := range []struct {
		args   []string
		code   int
		out    string
		golden string
	}{
		{[]string{"diagnose", filepath.Join(testdata, "yarn-transport.log")}, 1, "faultbook run registrator-transport --profile spark-1.0", ""},
		{[]string{"diagnose", "--format", "json", filepath.Join(testdata, "oom-yarn.log")}, 0, `"lost_executors"`, "diagnose-oom-json"},
		{[]string{"diagnose", "--format", "markdown", filepath.Join(testdata, "fetch-failed.log")}, 0, "No documented failure mode matched", "diagnose-fetch-markdown"},
		{[]string{"diagnose", "--format", "markdown", filepath.Join(testdata, "kryo-mixed-3x.log")}, 1, "## registration-order", "diagnose-kryo-markdown"},
		{[]string{"diagnose", filepath.Join(testdata, "flaky-timeouts.log")}, 1, "flaky-node", "diagnose-flaky-table"},
		{[]string{"diagnose"}, 2, "", ""},
		{[]string{"diagnose", "--format", "xml", testdata}, 2, "", ""},
		{[]string{"diagnose", filepath.Join(dir, "missing.log")}, 3, "", ""},
		{[]string{"diagnose", bin}, 3, "", ""},
	} {
		r := faultbook(t, tc.args...)
		wantCode(t, r, tc.code)
		if !strings.Contains(r.stdout, tc.out) {
			t.Errorf("faultbook %s: output lacks %q:\n%s", strings.Join(tc.args, " "), tc.out, r.stdout)
		}
		if tc.golden != "" {
			checkGolden(t, tc.golden, r.stdout)
		}
	}
}

// TestDiagnoseStdin: "-" reads standard input, whose content says what it is.
func TestDiagnoseStdin(t *testing.T) {
	log, err := os.Open(filepath.Join("..", "..", "harness", "diagnose", "testdata", "yarn-transport.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := command(ctx, "diagnose", "--format", "json", "-")
	cmd.Stdin = log
	out, err := cmd.Output()
	if code := exitCode(t, err); code != 1 {
		t.Fatalf("exit code %d, want 1 (a documented failure matched): %v\n%s", code, err, out)
	}
	var rep struct {
		Matches []struct{ ID string } `json:"matches"`
	}
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if len(rep.Matches) != 1 || rep.Matches[0].ID != "registrator-transport" {
		t.Errorf("matches %+v, want registrator-transport", rep.Matches)
	}
}

// checkpointBound says which rows of the confusion matrix a race build cannot
// judge. Race-built executors take longer than the checkpointing streams'
// compressed batch intervals (4 s batches every 40 ms in eventual-checkpoint,
// every 100 ms in throttled-checkpoint): the stream falls behind while its
// checkpoints take seconds of stream time, which is what a throttled store
// looks like in the logs. Without the race detector every row is judged.
func checkpointBound(scenario, cell string) bool {
	switch scenario {
	case "eventual-checkpoint":
		return true
	case "throttled-checkpoint":
		return cell != "reproduce"
	}
	return false
}
