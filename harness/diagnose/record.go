package diagnose

import (
	"regexp"
	"strings"
)

// Record is one logged message with what followed it: the exception lines and
// stack frames of a Java trace, or a failure from an event log.
type Record struct {
	Src  *Source
	Line int
	// Level and Logger as logged ("ERROR", "executor.Executor"); empty for a
	// line without Spark's header.
	Level, Logger string
	// Text is the first line (the message).
	Text       string
	Exceptions []Exception
	// More are the record's other continuation lines (a multi-line message,
	// a runtime's crash report written to the same stream), bounded.
	More   []Exception
	Frames []string
	// Task is true when the record reports a failed task.
	Task bool
	// Reported is true for an executor's failure as the driver's event log
	// carries it.
	Reported bool
	// Host is where a failed task ran, as the driver reported it; Finished
	// the host of a task the driver reported finished.
	Host, Finished string

	low string // Text lower-cased, once
}

func (r *Record) lower() string {
	if r.low == "" {
		r.low = strings.ToLower(r.Text)
	}
	return r.low
}

// Exception is an exception class a record names, with its message and the
// line that names it.
type Exception struct {
	Class, Message string
	Line           int
	Text           string
}

// Source is one input log (a file, or a section of `yarn logs` output).
// Its place is fixed by the input's layout (a faultbook run's exec-2.log) or
// voted by its content (an Executor logger's lines say executor).
type Source struct {
	Name  string
	Kind  string
	fixed Place
	votes [2]int // driver, executor
	Lines int
	Bytes int64
}

// Place resolves where the source was logged.
func (s *Source) Place() Place {
	switch {
	case s.fixed != "":
		return s.fixed
	case s.votes[0] > s.votes[1]:
		return Driver
	case s.votes[1] > s.votes[0]:
		return Executor
	}
	return Unknown
}

// Loggers (the last part of the name) and messages that only one side writes.
var (
	driverLoggers = set("DAGScheduler", "TaskSetManager", "TaskSchedulerImpl", "SparkContext", "YarnScheduler",
		"YarnClusterScheduler", "CoarseGrainedSchedulerBackend", "YarnSchedulerBackend", "YarnClientSchedulerBackend",
		"StandaloneSchedulerBackend", "SparkDeploySchedulerBackend", "BlockManagerMasterEndpoint", "JobScheduler",
		"JobGenerator", "CheckpointWriter", "StreamingContext", "DStreamGraph", "HealthTracker", "BlacklistTracker",
		"ExecutorAllocationManager", "SparkUI", "DriverEndpoint", "ReceiverTracker", "CheckpointReader",
		"ReliableRDDCheckpointData", "MicroBatchExecution", "ContinuousExecution", "StreamExecution", "TaskSetExcludelist",
		"TaskSetBlacklist")
	executorLoggers = set("Executor", "CoarseGrainedExecutorBackend", "YarnCoarseGrainedExecutorBackend",
		"MesosExecutorBackend", "KubernetesExecutorBackend", "ShuffleBlockFetcherIterator", "TorrentBroadcast")
)

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

func (s *Source) vote(logger, text string) {
	if s.fixed != "" {
		return
	}
	short := logger[strings.LastIndexByte(logger, '.')+1:]
	switch {
	case driverLoggers[short], strings.HasPrefix(text, "Lost task "), strings.HasPrefix(text, "Job aborted"):
		s.votes[0]++
	case executorLoggers[short], strings.HasPrefix(text, "Running task "), strings.HasPrefix(text, "Exception in task "):
		s.votes[1]++
	}
}

// taskFailure says whether a message reports a failed task, in the words
// Spark's driver and executors use across versions.
func taskFailure(text string) bool {
	for _, w := range taskWords {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

var taskWords = []string{"Lost task ", "Exception in task ", "Loss was due to ", "Lost TID ", "Job aborted due to stage failure",
	"; aborting job", "ExecutorLostFailure", "Exception in task ID "}

// exceptionLine reads a line of a Java trace that names an exception:
// "java.lang.X: message", "Caused by: X", or minicluster's "X: message".
func exceptionLine(s string) (class, msg string, ok bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "Caused by: ")
	s = strings.TrimPrefix(s, "Exception in thread ")
	if q := strings.IndexByte(s, '"'); q == 0 { // Exception in thread "main" java.lang.X
		if e := strings.IndexByte(s[1:], '"'); e >= 0 {
			s = strings.TrimSpace(s[e+2:])
		}
	}
	head, rest, _ := strings.Cut(s, ": ")
	head = strings.TrimSuffix(head, ":")
	if !isClassName(head) {
		return "", "", false
	}
	return head, rest, true
}

// isClassName: dotted identifiers whose last part ends like a throwable's.
func isClassName(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	last := s[strings.LastIndexByte(s, '.')+1:]
	if last == "" || last[0] < 'A' || last[0] > 'Z' || last == "Exception" || last == "Error" || last == "Failure" {
		return false
	}
	if !strings.HasSuffix(last, "Exception") && !strings.HasSuffix(last, "Error") && !strings.HasSuffix(last, "Throwable") && !strings.HasSuffix(last, "Failure") {
		return false
	}
	for _, r := range s {
		if !(r == '.' || r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// inlineExceptions finds exception class names inside a message ("Lost task
// 1.0 … : java.lang.ClassCastException: …", "Loss was due to java.lang.X").
func inlineExceptions(text string, line int) []Exception {
	var out []Exception
	for i := 0; i < len(text) && len(out) < 4; {
		j, word := -1, ""
		for _, w := range [...]string{"Exception", "Error", "Failure"} {
			if k := strings.Index(text[i:], w); k >= 0 && (j < 0 || k < j) {
				j, word = k, w
			}
		}
		if j < 0 {
			return out
		}
		j += len(word)
		end := i + j
		start := end
		for start > 0 && isIdent(text[start-1]) {
			start--
		}
		i = end
		if end < len(text) && isIdent(text[end]) {
			continue
		}
		name := text[start:end]
		if !isClassName(name) {
			continue
		}
		msg := ""
		if strings.HasPrefix(text[end:], ": ") {
			msg = text[end+2:]
		}
		out = append(out, Exception{Class: name, Message: msg, Line: line, Text: text})
	}
	return out
}

func isIdent(c byte) bool {
	return c == '.' || c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// levels are log4j's level names as Spark's layouts write them.
var levels = set("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "SEVERE")

// parseHeader reads the start of a log4j line of Spark 1.x-3.x
// ("14/07/23 10:00:00 ERROR Executor: msg", "2024-01-02 10:00:00,123 WARN
// [thread] scheduler.TaskSetManager: msg", minicluster's "… ERROR
// executor.Executor: msg"): the date and time come first, then the level.
func parseHeader(s string) (level, logger, msg string, ok bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return "", "", "", false
	}
	i := 0
	for n := 0; n < 4; n++ {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		j := strings.IndexByte(s[i:], ' ')
		if j < 0 {
			return "", "", "", false
		}
		tok := s[i : i+j]
		if levels[tok] {
			level, i = tok, i+j
			break
		}
		if !strings.ContainsAny(tok, "0123456789") {
			return "", "", "", false
		}
		i += j
	}
	if level == "" {
		return "", "", "", false
	}
	for i < len(s) && s[i] == ' ' {
		i++
	}
	if i < len(s) && s[i] == '[' { // a thread name
		if j := closingBracket(s[i:]); j >= 0 {
			i += j + 1
			for i < len(s) && s[i] == ' ' {
				i++
			}
		}
	}
	rest := s[i:]
	if j := strings.Index(rest, ": "); j > 0 && !strings.ContainsAny(rest[:j], " ") {
		return level, rest[:j], rest[j+2:], true
	}
	if strings.HasSuffix(rest, ":") && !strings.ContainsAny(rest, " ") {
		return level, rest[:len(rest)-1], "", true
	}
	return level, "", rest, true
}

// closingBracket is the index of the ']' that closes the '[' s starts with,
// counting nested brackets: a structured stream's thread is named "stream
// execution thread for q [id = …, runId = …]". It is -1 when none does.
func closingBracket(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			if depth--; depth == 0 {
				return i
			}
		}
	}
	return -1
}

// maxHosts bounds the hosts remembered.
const maxHosts = 100000

// Hosts in the driver's task lines across versions:
//
//	1.1–1.6  Lost task 1.0 in stage 2.0 (TID 3, host): …
//	2.x      Lost task 1.0 in stage 2.0 (TID 3, host, executor 4): …
//	3.x      Lost task 1.0 in stage 2.0 (TID 3) (host executor 4): …
//	dup      Lost task 1.1 in stage 2.0 (TID 5) on host, executor 4: … [duplicate 1]
//	         Finished task 0.0 in stage 0.0 (TID 0) in 41 ms on host (executor 1) (1/8)
var (
	reLostHost = regexp.MustCompile(`^Lost task \S+ in stage \S+ \(TID \d+(?:, ([^,)]+)(?:, executor [^)]*)?)?\)(?: \(([^ )]+) executor [^)]*\)| on ([^,]+), executor)?`)
)

// hosts fills a driver line's failed or finished host.
func (r *Record) hosts() {
	switch {
	case strings.HasPrefix(r.Text, "Lost task "):
		if m := reLostHost.FindStringSubmatch(r.Text); m != nil {
			r.Host = m[1] + m[2] + m[3]
		}
	case strings.HasPrefix(r.Text, "Finished task ") || strings.HasPrefix(r.Text, "Finished TID "):
		if _, after, ok := strings.Cut(r.Text, " ms on "); ok {
			r.Finished, _, _ = strings.Cut(after, " ")
		}
	}
}
