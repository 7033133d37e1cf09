package events

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kinds read from Spark's own event logs that the driver does not emit today.
const (
	// ExcludedExecutor and ExcludedNode: the scheduler excluded an executor or
	// a node for the application (Spark 3.1 "excludeOnFailure", 2.x
	// "blacklisting"); Count is the failures that led to it.
	ExcludedExecutor Kind = "executor-excluded"
	ExcludedNode     Kind = "node-excluded"
	// ExcludedExecutorForStage: excluded for one stage only.
	ExcludedExecutorForStage Kind = "executor-excluded-for-stage"
	// UnexcludedExecutor and UnexcludedNode: an exclusion expired.
	UnexcludedExecutor Kind = "executor-unexcluded"
	UnexcludedNode     Kind = "node-unexcluded"
	// SparkOther is any other listener event (block managers, environment,
	// SQL): Spark names it.
	SparkOther Kind = "spark-other"
)

// Spark's listener event names. Exclusion events are written by Jackson with
// their class name; 2.x called them "Blacklisted".
const (
	sparkLogStart   = "SparkListenerLogStart"
	sparkAppStart   = "SparkListenerApplicationStart"
	sparkAppEnd     = "SparkListenerApplicationEnd"
	sparkJobStart   = "SparkListenerJobStart"
	sparkJobEnd     = "SparkListenerJobEnd"
	sparkStageSub   = "SparkListenerStageSubmitted"
	sparkStageDone  = "SparkListenerStageCompleted"
	sparkTaskStart  = "SparkListenerTaskStart"
	sparkTaskEnd    = "SparkListenerTaskEnd"
	sparkExecAdded  = "SparkListenerExecutorAdded"
	sparkExecRemove = "SparkListenerExecutorRemoved"
	sparkScheduler  = "org.apache.spark.scheduler."
	// CustomPrefix starts the name of faultbook's own events: Spark's replay
	// drops events whose class it cannot find.
	CustomPrefix = "org.faultbook."
	// extraKey holds, on a Spark-native event, the Event fields Spark's schema
	// cannot express; Spark ignores fields it does not know.
	extraKey = "Faultbook"
)

// SparkVersion is what a faultbook event log's SparkListenerLogStart says.
const SparkVersion = "faultbook-minicluster"

var customNames = map[Kind]string{
	FaultHit:        CustomPrefix + "FaultHit",
	SafeguardFired:  CustomPrefix + "SafeguardFired",
	ExecutorRefused: CustomPrefix + "ExecutorRefused",
}

// CustomName is the "Event" name a kind without a Spark counterpart is
// written under: "org.faultbook." and the kind in CamelCase.
func CustomName(k Kind) string {
	if n, ok := customNames[k]; ok {
		return n
	}
	var b strings.Builder
	b.WriteString(CustomPrefix)
	for _, w := range strings.FieldsFunc(string(k), func(r rune) bool { return r == '-' || r == '_' || r == ' ' }) {
		b.WriteString(strings.ToUpper(w[:1]) + w[1:])
	}
	return b.String()
}

// Log appends events to a file in Spark's event-log format. It is safe for
// concurrent use.
type Log struct {
	mu     sync.Mutex
	f      *os.File
	launch map[int]int64 // TID → launch time (ms), for the TaskEnd's Task Info
}

// Create opens path for appending and, when the file is new, writes Spark's
// SparkListenerLogStart first.
func Create(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	l := &Log{f: f, launch: map[int]int64{}}
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		b, _ := json.Marshal(obj{{"Event", sparkLogStart}, {"Spark Version", SparkVersion}})
		_, _ = f.Write(append(b, '\n'))
	}
	return l, nil
}

// Emit appends one event, stamping it with the current time if it has none.
// A nil Log discards.
func (l *Log) Emit(e Event) {
	if l == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return
	}
	switch e.Kind {
	case TaskStart:
		l.launch[e.TID] = e.Time.UnixMilli()
	case TaskEnd:
		defer delete(l.launch, e.TID)
	}
	b := Encode(e, l.launch[e.TID])
	_, _ = l.f.Write(append(b, '\n')) // a full disk loses events, never the run
}

// Close closes the file; safe twice.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Read loads an event log. Lines that are not events (a torn last line, a
// process killed mid-write, Spark's LogStart) are skipped.
func Read(path string) ([]Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open event log: %w", err)
	}
	defer f.Close()
	var out []Event
	d := NewDecoder(f)
	for {
		e, err := d.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

// MaxLine bounds one event-log line (Spark's SQL plans make long ones).
const MaxLine = 64 << 20

// Decoder reads Spark event-log lines one at a time, in bounded memory.
type Decoder struct {
	sc *bufio.Scanner
	// Version is the SparkListenerLogStart's "Spark Version" ("" before 1.3).
	Version string
	// Line is the number of the line the last event came from; Skipped counts
	// lines that were not JSON objects with an "Event".
	Line, Skipped int
}

// NewDecoder reads from r.
func NewDecoder(r io.Reader) *Decoder {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), MaxLine)
	return &Decoder{sc: sc}
}

// Next returns the next event, or io.EOF.
func (d *Decoder) Next() (Event, error) {
	for d.sc.Scan() {
		d.Line++
		b := bytes.TrimSpace(d.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		e, ok := Decode(b)
		if !ok {
			d.Skipped++
			continue
		}
		if e.Spark == sparkLogStart {
			d.Version = e.Message
			continue
		}
		return e, nil
	}
	if err := d.sc.Err(); err != nil {
		return Event{}, fmt.Errorf("read event log line %d: %w", d.Line+1, err)
	}
	return Event{}, io.EOF
}

// obj is a JSON object that keeps its keys in order, so "Event" comes first
// as Spark writes it.
type obj []kv

type kv struct {
	k string
	v any
}

func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(p.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(p.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func execID(e Event) string {
	if e.ExecID != "" {
		return e.ExecID
	}
	if e.Executor > 0 {
		return strconv.Itoa(e.Executor)
	}
	return "driver"
}

func taskInfo(e Event, launch, finish int64, failed, killed bool) obj {
	return obj{{"Task ID", e.TID}, {"Index", e.Task}, {"Attempt", e.Attempt}, {"Partition ID", e.Task},
		{"Launch Time", launch}, {"Executor ID", execID(e)}, {"Host", e.Node}, {"Locality", "PROCESS_LOCAL"},
		{"Speculative", false}, {"Getting Result Time", 0}, {"Finish Time", finish}, {"Failed", failed},
		{"Killed", killed}, {"Accumulables", []any{}}}
}

func stageInfo(e Event, submitted, completed int64) obj {
	o := obj{{"Stage ID", e.Stage}, {"Stage Attempt ID", e.StageAtt}, {"Stage Name", e.Message}, {"Number of Tasks", 0},
		{"RDD Info", []any{}}, {"Parent IDs", []any{}}, {"Details", ""}}
	if submitted > 0 {
		o = append(o, kv{"Submission Time", submitted})
	}
	if completed > 0 {
		o = append(o, kv{"Completion Time", completed})
	}
	return append(o, kv{"Accumulables", []any{}})
}

// native is e as Spark's listener event, or nil when Spark has none.
func native(e Event, launch int64) obj {
	ms := e.Time.UnixMilli()
	switch e.Kind {
	case ApplicationStart:
		// The History Server lists an application by its id: local mode's shape.
		return obj{{"Event", sparkAppStart}, {"App Name", e.Message}, {"App ID", fmt.Sprintf("local-%d", ms)}, {"Timestamp", ms}, {"User", "faultbook"}}
	case ApplicationEnd:
		return obj{{"Event", sparkAppEnd}, {"Timestamp", ms}}
	case JobStart:
		return obj{{"Event", sparkJobStart}, {"Job ID", e.Job}, {"Submission Time", ms}, {"Stage Infos", []any{}},
			{"Stage IDs", []any{}}, {"Properties", map[string]string{"spark.job.description": e.Message}}}
	case JobEnd:
		res := obj{{"Result", "JobSucceeded"}}
		if e.Outcome != "success" {
			res = obj{{"Result", "JobFailed"}, {"Exception", obj{{"Message", e.Message}, {"Stack Trace", []any{}}}}}
		}
		return obj{{"Event", sparkJobEnd}, {"Job ID", e.Job}, {"Completion Time", ms}, {"Job Result", res}}
	case StageSubmitted:
		return obj{{"Event", sparkStageSub}, {"Stage Info", stageInfo(e, ms, 0)}, {"Properties", map[string]string{}}}
	case StageCompleted:
		return obj{{"Event", sparkStageDone}, {"Stage Info", stageInfo(e, 0, ms)}}
	case TaskStart:
		return obj{{"Event", sparkTaskStart}, {"Stage ID", e.Stage}, {"Stage Attempt ID", e.StageAtt}, {"Task Info", taskInfo(e, ms, 0, false, false)}}
	case TaskEnd:
		if launch == 0 {
			launch = ms
		}
		return obj{{"Event", sparkTaskEnd}, {"Stage ID", e.Stage}, {"Stage Attempt ID", e.StageAtt}, {"Task Type", "ResultTask"},
			{"Task End Reason", endReason(e)}, {"Task Info", taskInfo(e, launch, ms, e.Outcome == "failed", e.Outcome == "killed")}}
	case ExecutorAdded:
		var cores int
		fmt.Sscanf(e.Message, "%d cores", &cores)
		return obj{{"Event", sparkExecAdded}, {"Timestamp", ms}, {"Executor ID", execID(e)},
			{"Executor Info", obj{{"Host", e.Node}, {"Total Cores", cores}, {"Log Urls", map[string]string{}}}}}
	case ExecutorRemoved:
		return obj{{"Event", sparkExecRemove}, {"Timestamp", ms}, {"Executor ID", execID(e)}, {"Removed Reason", e.Message}}
	case ExcludedExecutor:
		return obj{{"Event", sparkScheduler + "SparkListenerExecutorExcluded"}, {"time", ms}, {"executorId", execID(e)}, {"taskFailures", e.Count}}
	case ExcludedNode:
		return obj{{"Event", sparkScheduler + "SparkListenerNodeExcluded"}, {"time", ms}, {"hostId", e.Node}, {"executorFailures", e.Count}}
	}
	return nil
}

func endReason(e Event) obj {
	switch {
	case e.Outcome == "success":
		return obj{{"Reason", "Success"}}
	case e.Outcome == "killed":
		return obj{{"Reason", "TaskKilled"}, {"Kill Reason", e.Reason}}
	case e.ReasonKind == "ExecutorLostFailure":
		// The driver's reason is Spark's whole "ExecutorLostFailure (executor 2
		// exited caused by one of the running tasks) Reason: …"; Spark's log
		// holds its parts.
		loss := e.Reason
		if _, r, ok := strings.Cut(e.Reason, ") Reason: "); ok {
			loss = r
		}
		return obj{{"Reason", "ExecutorLostFailure"}, {"Executor ID", execID(e)},
			{"Exit Caused By App", !strings.Contains(e.Reason, "exited unrelated to the running tasks")}, {"Loss Reason", loss}}
	case e.ReasonKind == "FetchFailed":
		// Spark's replay reads the block manager's address of every fetch
		// failure: the driver's reason, Spark's "FetchFailed(BlockManagerId(2,
		// host, port, None), shuffleId=…, mapId=…, reduceId=…, message=…)",
		// names it; another reason names the block, not these ids.
		if f, ok := parseFetchFailed(e.Reason); ok {
			o := obj{{"Reason", "FetchFailed"}}
			if f.exec != "" { // Spark leaves a missing location's address out
				o = append(o, kv{"Block Manager Address", obj{{"Executor ID", f.exec}, {"Host", f.host}, {"Port", f.port}}})
			}
			return append(o, kv{"Shuffle ID", f.shuffle}, kv{"Map ID", f.mapID}, kv{"Map Index", f.mapID}, kv{"Reduce ID", f.reduce}, kv{"Message", f.message})
		}
		return obj{{"Reason", "FetchFailed"}, {"Block Manager Address", obj{{"Executor ID", execID(e)}, {"Host", e.Node}, {"Port", 0}}},
			{"Shuffle ID", 0}, {"Map ID", 0}, {"Map Index", 0}, {"Reduce ID", 0}, {"Message", e.Reason}}
	}
	desc := strings.TrimPrefix(e.Reason, e.ReasonKind+": ")
	return obj{{"Reason", "ExceptionFailure"}, {"Class Name", e.ReasonKind}, {"Description", desc},
		{"Stack Trace", []any{}}, {"Full Stack Trace", e.Reason}, {"Accumulator Updates", []any{}}}
}

// Encode writes e as one event-log line (without the newline): a Spark
// listener event where Spark has one, carrying under "Faultbook" whatever
// fields Spark's schema cannot express, else a custom event holding e's
// fields. launch is a TaskEnd's launch time in ms (0: unknown).
func Encode(e Event, launch int64) []byte {
	n := native(e, launch)
	if n == nil {
		b, _ := json.Marshal(e)
		name, _ := json.Marshal(CustomName(e.Kind))
		return append(append([]byte(`{"Event":`), name...), append([]byte{','}, b[1:]...)...)
	}
	b, _ := json.Marshal(n)
	back, _ := Decode(b)
	if extra := difference(e, back); len(extra) > 0 {
		n = append(n, kv{extraKey, extra})
		b, _ = json.Marshal(n)
	}
	return b
}

// difference lists the fields of e (by JSON name) that back lacks or holds
// otherwise; fields back has and e lacks are listed with their zero value.
func difference(e, back Event) obj {
	want, got := fields(e), fields(back)
	var out obj
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "t" {
			continue // Spark's times are milliseconds
		}
		w, inWant := want[k]
		g := got[k]
		switch {
		case inWant && !bytes.Equal(w, g):
			out = append(out, kv{k, w})
		case !inWant:
			out = append(out, kv{k, zeroOf(g)})
		}
	}
	return out
}

func fields(e Event) map[string]json.RawMessage {
	b, _ := json.Marshal(e)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(b, &m)
	return m
}

func zeroOf(v json.RawMessage) json.RawMessage {
	switch {
	case len(v) > 0 && v[0] == '"':
		return json.RawMessage(`""`)
	case len(v) > 0 && (v[0] == 't' || v[0] == 'f'):
		return json.RawMessage(`false`)
	case len(v) > 0 && (v[0] == '-' || (v[0] >= '0' && v[0] <= '9')):
		return json.RawMessage(`0`)
	}
	return json.RawMessage(`null`)
}

// fetchFailed is the parts of Spark's FetchFailed reason.
type fetchFailed struct {
	exec, host                   string
	port, shuffle, mapID, reduce int
	message                      string
}

// parseFetchFailed reads "FetchFailed(BlockManagerId(2, 127.0.0.1, 40123,
// None), shuffleId=3, mapId=1, reduceId=0, message=…)"; a missing location
// is "FetchFailed(null, …)".
func parseFetchFailed(s string) (fetchFailed, bool) {
	var f fetchFailed
	rest, ok := strings.CutPrefix(s, "FetchFailed(")
	if !ok {
		return f, false
	}
	if after, ok := strings.CutPrefix(rest, "null, "); ok {
		rest = after
	} else {
		bm, after, ok := strings.Cut(rest, "), ")
		if !ok {
			return f, false
		}
		parts := strings.Split(strings.TrimPrefix(bm, "BlockManagerId("), ", ")
		if len(parts) < 3 {
			return f, false
		}
		f.exec, f.host = parts[0], parts[1]
		f.port, _ = strconv.Atoi(parts[2])
		rest = after
	}
	ids, msg, ok := strings.Cut(rest, ", message=")
	if !ok {
		return f, false
	}
	if _, err := fmt.Sscanf(ids, "shuffleId=%d, mapId=%d, reduceId=%d", &f.shuffle, &f.mapID, &f.reduce); err != nil {
		return f, false
	}
	f.message = strings.TrimSuffix(msg, ")")
	return f, true
}
