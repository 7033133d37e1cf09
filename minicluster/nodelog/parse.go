package nodelog

import (
	"log/slog"
	"strings"
	"time"
)

// Line is a log line split back into its parts.
type Line struct {
	// Time is zero when the line has none (a record without a time).
	Time  time.Time
	Level slog.Level
	// Component is "" when the line has none.
	Component string
	// Msg is the rest of the line: the message, then its key=value
	// attributes, as written. The two cannot be told apart reliably, and
	// checks match against the text as a reader of the log would.
	Msg string
}

// ParseLine splits a line written by Handler. It returns false for anything
// else, including the tab-indented stack lines that follow a record. A line
// written without a component whose message starts with a word ending in ':'
// ("error: ...") reads back with that word as the component.
func ParseLine(s string) (Line, bool) {
	s = strings.TrimRight(s, "\r\n")
	var l Line
	if len(s) > len(TimeLayout) && s[len(TimeLayout)] == ' ' {
		if t, err := time.Parse(TimeLayout, s[:len(TimeLayout)]); err == nil {
			l.Time = t
			s = s[len(TimeLayout)+1:]
		}
	}
	word, rest, ok := strings.Cut(s, " ")
	if !ok {
		return Line{}, false
	}
	if err := l.Level.UnmarshalText([]byte(word)); err != nil || l.Level.String() != word {
		return Line{}, false
	}
	if pad := 5 - len(word); pad > 0 {
		if !strings.HasPrefix(rest, strings.Repeat(" ", pad)) {
			return Line{}, false
		}
		rest = rest[pad:]
	}
	if word, after, _ := strings.Cut(rest, " "); len(word) > 1 && strings.HasSuffix(word, ":") {
		l.Component = word[:len(word)-1]
		rest = after
	}
	l.Msg = rest
	return l, true
}
