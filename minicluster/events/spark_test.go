package events

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestRoundTrip: what Log writes, Read gives back field for field (times to
// Spark's millisecond), for Spark-native kinds, faultbook's custom kinds and a
// kind this package does not know.
func TestRoundTrip(t *testing.T) {
	t0 := time.UnixMilli(1_800_000_000_000)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	status := 137
	in := []Event{
		{Time: at(0), Kind: ApplicationStart, Message: "registration-order/reproduce#1"},
		{Time: at(1), Kind: ExecutorAdded, Executor: 1, Node: "node-a", Message: "2 cores"},
		{Time: at(2), Kind: FaultHit, Executor: 2, Node: "node-b", Name: "registration-order", Role: "task", Message: "permuted"},
		{Time: at(3), Kind: ExecutorRefused, Executor: 2, Node: "node-b", Name: "registry-fingerprint", Message: "differs at id 12"},
		{Time: at(4), Kind: JobStart, Job: 1, Message: "collect at join"},
		{Time: at(5), Kind: StageSubmitted, Job: 1, Stage: 2, Message: "map at users"},
		{Time: at(6), Kind: TaskStart, Job: 1, Stage: 2, StageAtt: 1, Task: 7, Attempt: 3, TID: 12, Executor: 2, Node: "node-b"},
		{Time: at(7), Kind: TaskEnd, Job: 1, Stage: 2, StageAtt: 1, Task: 7, Attempt: 3, TID: 12, Executor: 2, Node: "node-b",
			Outcome: "failed", Reason: "ClassCastException: Tuple1 cannot be cast to Product2", ReasonKind: "ClassCastException"},
		{Time: at(8), Kind: TaskEnd, Job: 1, Stage: 2, Task: 6, TID: 13, Executor: 2, Node: "node-b",
			Outcome: "failed", Reason: "executor 2 lost", ReasonKind: "ExecutorLostFailure"},
		{Time: at(9), Kind: TaskEnd, Job: 1, Stage: 2, Task: 5, TID: 14, Executor: 1, Node: "node-a", Outcome: "success"},
		{Time: at(10), Kind: TaskEnd, Job: 1, Stage: 2, Task: 4, TID: 15, Executor: 1, Node: "node-a", Outcome: "killed", Reason: "another attempt succeeded"},
		{Time: at(11), Kind: TaskEnd, Job: 1, Stage: 2, Task: 3, TID: 16, Executor: 1, Node: "node-a", Outcome: "failed", Reason: "odd reason", ReasonKind: "Weird"},
		{Time: at(11), Kind: TaskEnd, Job: 1, Stage: 2, Task: 2, TID: 17, Executor: 1, Node: "node-a", Outcome: "failed", Reason: "FetchFailedException: block shuffle_0_1_2 from exec-2", ReasonKind: "FetchFailed"},
		{Time: at(11), Kind: TaskEnd, Job: 1, Stage: 2, Task: 1, TID: 18, Executor: 1, Node: "node-a", Outcome: "failed", ReasonKind: "FetchFailed",
			Reason: "FetchFailed(BlockManagerId(2, 127.0.0.1, 40123, None), shuffleId=3, mapId=1, reduceId=0, message=org.apache.spark.shuffle.FetchFailedException: connection refused)"},
		{Time: at(11), Kind: TaskEnd, Job: 1, Stage: 2, Task: 0, TID: 19, Executor: 2, Node: "node-b", Outcome: "failed", ReasonKind: "ExecutorLostFailure",
			Reason: "ExecutorLostFailure (executor 2 exited unrelated to the running tasks) Reason: Command exited with code 137"},
		{Time: at(12), Kind: SafeguardFired, Executor: 2, Node: "node-b", Name: "registry-fingerprint", Role: "driver", Message: "refused"},
		{Time: at(13), Kind: ExecutorRemoved, Executor: 2, Node: "node-b", Message: "exited with status 50"},
		{Time: at(13), Kind: ExecutorExited, Executor: 3, Node: "node-b", Message: "Command exited with code 137", ExitStatus: &status, Signal: "SIGKILL", Replacement: 4},
		{Time: at(13), Kind: ExecutorRemoved, Executor: 3, Node: "node-b", Message: "Command exited with code 137", ExitStatus: &status, Signal: "SIGKILL"},
		{Time: at(14), Kind: StageResubmitted, Job: 1, Stage: 2, StageAtt: 1, Executor: 3, ReasonKind: "FetchFailed", Reason: "FetchFailed(null, …)",
			Message: "Resubmitting ShuffleMapStage 2 (map at users) and ResultStage 3 (collect at join) due to fetch failure"},
		{Time: at(14), Kind: StageCompleted, Job: 1, Stage: 2, StageAtt: 1},
		{Time: at(15), Kind: JobEnd, Job: 1, Outcome: "aborted", Message: "Job aborted due to stage failure: Task 7 in stage 2.1 failed 4 times"},
		{Time: at(16), Kind: Kind("stream-batch"), Job: 3, Message: "batch 4 s", Name: "window"},
		{Time: at(17), Kind: ApplicationEnd, Outcome: "aborted", Message: "Job aborted"},
	}
	path := filepath.Join(t.TempDir(), FileName)
	l, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range in {
		l.Emit(e)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		switch p.Last().String() {
		case ".Spark", ".ExecID", ".Stack", ".Count":
			return true
		}
		return false
	}, cmp.Ignore())
	if d := cmp.Diff(in, out, ignore); d != "" {
		t.Errorf("read back differs (-wrote +read):\n%s", d)
	}

	// Every line is Spark's shape: an "Event" first; native kinds under
	// Spark's names, faultbook's under its own prefix.
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if !strings.HasPrefix(lines[0], `{"Event":"SparkListenerLogStart","Spark Version":`) {
		t.Errorf("first line %s, want SparkListenerLogStart", lines[0])
	}
	names := map[string]bool{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || !strings.HasPrefix(l, `{"Event":`) {
			t.Fatalf("line %q: not a Spark event (%v)", l, err)
		}
		names[m["Event"].(string)] = true
	}
	for _, n := range []string{"SparkListenerApplicationStart", "SparkListenerTaskEnd", "SparkListenerJobEnd",
		"SparkListenerExecutorRemoved", "org.faultbook.FaultHit", "org.faultbook.SafeguardFired", "org.faultbook.StreamBatch"} {
		if !names[n] {
			t.Errorf("no %s line in %v", n, names)
		}
	}
	for _, l := range lines {
		if strings.Contains(l, `"TID":12,`) || strings.Contains(l, `"Task ID":12,`) && strings.Contains(l, "TaskEnd") {
			for _, want := range []string{`"Reason":"ExceptionFailure"`, `"Class Name":"ClassCastException"`, `"Description":"Tuple1 cannot be cast to Product2"`, `"Launch Time":1800000000006`} {
				if !strings.Contains(l, want) {
					t.Errorf("task end line lacks %s: %s", want, l)
				}
			}
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, s := range []string{"", "not json", `{"kind":"task-end"}`, `["Event"]`, `{"Event":"SparkListenerTaskEnd"`} {
		if _, ok := Decode([]byte(s)); ok {
			t.Errorf("Decode(%q) accepted", s)
		}
	}
}

// TestLossReasonsAsSpark: the driver's FetchFailed and ExecutorLostFailure
// reasons are written with the fields Spark's own log holds for them.
func TestLossReasonsAsSpark(t *testing.T) {
	tests := []struct {
		reason, kind string
		want         string // the "Task End Reason" object
	}{
		{
			kind:   "FetchFailed",
			reason: "FetchFailed(BlockManagerId(2, 127.0.0.1, 40123, None), shuffleId=3, mapId=1, reduceId=0, message=org.apache.spark.shuffle.FetchFailedException: reset)",
			want:   `{"Reason":"FetchFailed","Block Manager Address":{"Executor ID":"2","Host":"127.0.0.1","Port":40123},"Shuffle ID":3,"Map ID":1,"Map Index":1,"Reduce ID":0,"Message":"org.apache.spark.shuffle.FetchFailedException: reset"}`,
		},
		{
			kind:   "FetchFailed",
			reason: "FetchFailed(null, shuffleId=0, mapId=-1, reduceId=2, message=org.apache.spark.shuffle.MetadataFetchFailedException: Missing an output location for shuffle 0)",
			want:   `{"Reason":"FetchFailed","Shuffle ID":0,"Map ID":-1,"Map Index":-1,"Reduce ID":2,"Message":"org.apache.spark.shuffle.MetadataFetchFailedException: Missing an output location for shuffle 0"}`,
		},
		{
			kind:   "ExecutorLostFailure",
			reason: "ExecutorLostFailure (executor 1 exited caused by one of the running tasks) Reason: Command exited with code 2",
			want:   `{"Reason":"ExecutorLostFailure","Executor ID":"1","Exit Caused By App":true,"Loss Reason":"Command exited with code 2"}`,
		},
		{
			kind:   "ExecutorLostFailure",
			reason: "ExecutorLostFailure (executor 1 exited unrelated to the running tasks) Reason: Command exited with code 137",
			want:   `{"Reason":"ExecutorLostFailure","Executor ID":"1","Exit Caused By App":false,"Loss Reason":"Command exited with code 137"}`,
		},
	}
	for _, tc := range tests {
		e := Event{Time: time.UnixMilli(1), Kind: TaskEnd, Executor: 1, Node: "node-a", Outcome: "failed", ReasonKind: tc.kind, Reason: tc.reason}
		var line struct {
			Reason json.RawMessage `json:"Task End Reason"`
		}
		if err := json.Unmarshal(Encode(e, 0), &line); err != nil {
			t.Fatal(err)
		}
		if string(line.Reason) != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.reason, line.Reason, tc.want)
		}
	}
}
