package diagnose

import (
	"encoding/json"
	"strconv"
	"strings"
)

const (
	maxFrames     = 64
	maxExceptions = 8
	maxMore       = 16
	maxText       = 4096
)

// textReader turns log lines into records: log4j lines with continuation
// lines (exceptions, frames), Spark 4's JSON lines, and `yarn logs` output,
// whose container and log-type headers start a new source.
type textReader struct {
	base       string
	src        *Source
	newSource  func(name string) *Source
	emit       func(*Record)
	cur        *Record
	headerSeen bool
}

func (t *textReader) flush() {
	if t.cur != nil {
		t.emit(t.cur)
		t.cur = nil
	}
}

func clip(s string) string {
	if len(s) > maxText {
		return s[:maxText]
	}
	return s
}

func (t *textReader) start(n int, level, logger, text string) {
	t.flush()
	text = clip(text)
	r := &Record{Src: t.src, Line: n, Level: level, Logger: logger, Text: text, Task: taskFailure(text)}
	r.hosts()
	if c, m, ok := exceptionLine(text); ok {
		r.Exceptions = append(r.Exceptions, Exception{Class: c, Message: m, Line: n, Text: text})
		r.Exceptions = append(r.Exceptions, inlineExceptions(m, n)...)
	} else {
		r.Exceptions = inlineExceptions(text, n)
	}
	t.cur = r
}

func (t *textReader) line(n int, s string) {
	s = strings.TrimRight(s, "\r")
	if t.yarn(s) {
		return
	}
	t.src.Lines++
	if s == "" {
		return
	}
	if s[0] == '{' {
		if r, ok := jsonRecord(s, t.src, n); ok {
			t.flush()
			t.headerSeen = true
			t.src.vote(r.Logger, r.Text)
			t.emit(r)
			return
		}
	}
	if level, logger, msg, ok := parseHeader(strings.TrimLeft(s, " \t")); ok {
		t.headerSeen = true
		t.start(n, level, logger, msg)
		t.src.vote(logger, msg)
		return
	}
	trim := strings.TrimSpace(s)
	switch {
	case strings.HasPrefix(trim, "at "):
		if t.cur != nil && len(t.cur.Frames) < maxFrames {
			t.cur.Frames = append(t.cur.Frames, trim[3:])
		}
		return
	case strings.HasPrefix(trim, "... ") && strings.HasSuffix(trim, " more"):
		return
	}
	headerless := !t.headerSeen && (t.cur == nil || len(t.cur.Frames) > 0) && s[0] != ' ' && s[0] != '\t'
	if headerless {
		t.start(n, "", "", trim)
		return
	}
	if t.cur == nil {
		return
	}
	t.cur.addLine(n, trim)
}

// addLine adds a continuation line that is no frame to the record: an
// exception it names ("Caused by: …"), or another line of its text.
func (r *Record) addLine(n int, trim string) {
	c, m, ok := exceptionLine(trim)
	if !ok {
		if len(r.More) < maxMore {
			r.More = append(r.More, Exception{Line: n, Text: clip(trim)})
		}
		return
	}
	if !r.Task && taskFailure(trim) {
		r.Task = true
	}
	if len(r.Exceptions) < maxExceptions {
		r.Exceptions = append(r.Exceptions, Exception{Class: c, Message: m, Line: n, Text: clip(trim)})
	}
	// A wrapper names what it wraps in its message
	// ("com.esotericsoftware.kryo.KryoException: java.lang.StackOverflowError"),
	// as the first line of a record does.
	for _, e := range inlineExceptions(m, n) {
		if len(r.Exceptions) < maxExceptions {
			e.Text = clip(trim)
			r.Exceptions = append(r.Exceptions, e)
		}
	}
}

// yarn recognises the headers of `yarn logs -applicationId` output.
func (t *textReader) yarn(s string) bool {
	switch {
	case strings.HasPrefix(s, "Container: container_"):
		t.flush()
		id, _, _ := strings.Cut(strings.TrimPrefix(s, "Container: "), " ")
		t.src = t.newSource(t.base + " [" + id + "]")
		t.src.Kind = "yarn logs"
		t.headerSeen = false
		return true
	case strings.HasPrefix(s, "LogType:"):
		t.flush()
		name := t.src.Name
		if i := strings.LastIndex(name, " ["); i >= 0 && strings.HasSuffix(name, "]") {
			id, _, _ := strings.Cut(name[i+2:len(name)-1], " ")
			name = name[:i] + " [" + id + " " + strings.TrimSpace(strings.TrimPrefix(s, "LogType:")) + "]"
		}
		t.src = t.newSource(name)
		t.src.Kind = "yarn logs"
		t.headerSeen = false
		return true
	case strings.HasPrefix(s, "End of LogType:"):
		t.flush()
		return true
	case strings.HasPrefix(s, "LogLength:"), strings.HasPrefix(s, "Log Contents:"), strings.HasPrefix(s, "LogContents:"),
		strings.HasPrefix(s, "LogLastModifiedTime:"), strings.HasPrefix(s, "LogAggregationType:"), strings.HasPrefix(s, "Log Upload Time:"),
		strings.HasPrefix(s, "====="):
		return true
	}
	return false
}

// jsonLine is a line of Spark 4's structured logging (JSON template layout).
type jsonLine struct {
	TS        string         `json:"ts"`
	Level     string         `json:"level"`
	Msg       string         `json:"msg"`
	Logger    string         `json:"logger"`
	Context   map[string]any `json:"context"`
	Exception *struct {
		Class      string `json:"class"`
		Msg        string `json:"msg"`
		Stacktrace []struct {
			Class  string `json:"class"`
			Method string `json:"method"`
			File   string `json:"file"`
			Line   int    `json:"line"`
		} `json:"stacktrace"`
	} `json:"exception"`
}

func jsonRecord(s string, src *Source, n int) (*Record, bool) {
	var j jsonLine
	if json.Unmarshal([]byte(s), &j) != nil || j.Level == "" || (j.Msg == "" && j.Exception == nil) {
		return nil, false
	}
	first, rest, _ := strings.Cut(j.Msg, "\n")
	text := clip(first)
	r := &Record{Src: src, Line: n, Level: j.Level, Logger: j.Logger, Text: text, Task: taskFailure(text)}
	r.Exceptions = inlineExceptions(text, n)
	r.continuation(n, rest)
	if e := j.Exception; e != nil {
		r.Exceptions = append([]Exception{{Class: e.Class, Message: e.Msg, Line: n, Text: e.Class + ": " + e.Msg}}, r.Exceptions...)
		for _, f := range e.Stacktrace {
			if len(r.Frames) == maxFrames {
				break
			}
			r.Frames = append(r.Frames, f.Class+"."+f.Method+"("+f.File+":"+strconv.Itoa(f.Line)+")")
		}
	}
	return r, true
}

// continuation reads the lines a message carries after its first (Spark 4
// logs a lost task's whole error string, stack and causes, in "msg") as the
// text reader reads a trace's continuation lines.
func (r *Record) continuation(n int, rest string) {
	for l := range strings.Lines(rest) {
		trim := strings.TrimSpace(l)
		switch {
		case trim == "", strings.HasPrefix(trim, "... ") && strings.HasSuffix(trim, " more"):
		case strings.HasPrefix(trim, "at "):
			if len(r.Frames) < maxFrames {
				r.Frames = append(r.Frames, trim[3:])
			}
		default:
			r.addLine(n, trim)
		}
	}
}
