package harness

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/diagnose"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
)

// TestJudgeSignature: a reproduce run passes the signature check only when
// its logs hold the documented evidence in the documented place, and not a
// documented absence.
func TestJudgeSignature(t *testing.T) {
	sig := &diagnose.Signature{
		ID: "swallowed", Title: "an error only in executors' logs", RootCause: "it is swallowed.",
		Require: []diagnose.Clause{{Says: "an executor logged the error", In: diagnose.Executor, Any: []diagnose.Pattern{{Message: `Failed to run spark\.kryo\.registrator`}}}},
		Absent:  []diagnose.Clause{{Says: "the driver logged it", In: diagnose.Driver, Any: []diagnose.Pattern{{Message: `Failed to run spark\.kryo\.registrator`}}}},
	}
	const failed = "2026-11-29 13:11:29.954 ERROR serializer.KryoSerializer: Failed to run spark.kryo.registrator\n\tClassNotFoundException: fixtures.RecordsRegistrator\n"
	const quiet = "2026-11-29 13:11:29.954 INFO  executor.Executor: Running task 1.0 in stage 1.0 (TID 9)\n"
	for _, tc := range []struct {
		name, driverLog, execLog, wantProblem string
	}{
		{"in the executor only", quiet, failed, ""},
		{"nowhere", quiet, quiet, "no evidence that an executor logged the error"},
		{"in the driver too", failed, failed, "unlike the documented failure, the driver logged it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range map[string]string{"spec.json": "{}", "driver.log": tc.driverLog, "exec-2.log": tc.execLog} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := &driver.Result{Status: driver.Aborted, Error: "Job aborted"}
			o := &Observation{Outcome: &cluster.Outcome{Dir: dir, Result: res}, Result: res}
			var ev Evidence
			problems := judgeSignature(&Scenario{Signature: sig}, o, &ev)
			got := strings.Join(problems, "; ")
			if tc.wantProblem == "" && got != "" || !strings.Contains(got, tc.wantProblem) {
				t.Errorf("problems %q, want one containing %q", got, tc.wantProblem)
			}
			if tc.wantProblem == "" && !strings.Contains(evidenceText(ev), "exec-2: Failed to run spark.kryo.registrator") {
				t.Errorf("evidence lacks the executor's line: %s", evidenceText(ev))
			}
		})
	}
}

func evidenceText(ev Evidence) string {
	var b strings.Builder
	for _, l := range ev.Lines() {
		b.WriteString(l.Source + ": " + l.Line + "\n")
	}
	return b.String()
}
