// Package nodelog writes the logs of mini cluster nodes in the line shape of
// Spark's log4j output, so that the evidence a run keeps reads like the
// reports it reproduces and can be set beside them:
//
//	2026-11-21 08:00:00.123 WARN  scheduler.TaskSetManager: Lost task 7.1 in stage 1.0 (TID 12): ClassCastException tid=12
//
// Nodes log through log/slog with a Handler from this package. The harness
// reads the files back with ParseLine. One record is one line, so a check can
// quote a line as evidence; a stack trace, given as the attribute "stack",
// follows on lines of its own, each indented with a tab as a Java trace is,
// so the line it belongs to can still be quoted alone.
//
// Times are written in UTC: logs of several processes are merged and compared,
// and the line shape has no room for a zone.
package nodelog

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

const (
	// ComponentKey is the attribute naming the part of the node that logs,
	// as Spark's logger name does ("scheduler.TaskSetManager"). It is written
	// before the message, not as key=value, and only when not in a group.
	ComponentKey = "component"
	// StackKey is the attribute holding a stack trace, written after the
	// line, one tab-indented line per stack line. Only outside a group.
	StackKey = "stack"
	// TimeLayout is the time at the start of each line, in UTC.
	TimeLayout = "2006-01-02 15:04:05.000"
)

// Handler is a slog.Handler writing one line per record in Spark's shape. It
// is safe for concurrent use; handlers derived with WithAttrs and WithGroup
// share its writer and its lock, so their lines never interleave.
type Handler struct {
	out       *output
	level     slog.Leveler
	component string
	stack     string
	attrs     []byte // preformatted " k=v" from WithAttrs
	prefix    string // open groups, "g1.g2."
}

type output struct {
	mu sync.Mutex
	w  io.Writer
}

var _ slog.Handler = (*Handler)(nil)

// NewHandler returns a handler writing records at or above level to w. A nil
// level means slog.LevelInfo.
func NewHandler(w io.Writer, level slog.Leveler) *Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &Handler{out: &output{w: w}, level: level}
}

// New returns a logger writing to w through a Handler.
func New(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(NewHandler(w, level))
}

// Component returns a logger whose lines carry the given component. On a
// logger from this package it applies even inside a group.
func Component(l *slog.Logger, name string) *slog.Logger {
	if h, ok := l.Handler().(*Handler); ok {
		h2 := h.clone()
		h2.component = name
		return slog.New(h2)
	}
	return l.With(ComponentKey, name)
}

// Enabled reports whether level is at or above the handler's level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	return level >= h.level.Level()
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	h2 := h.clone()
	for _, a := range attrs {
		h2.attrs = appendAttr(h2.attrs, h2.prefix, a, &h2.component, &h2.stack)
	}
	return h2
}

// WithGroup returns a handler that qualifies later keys with name, dotted.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := h.clone()
	h2.prefix = h.prefix + name + "."
	return h2
}

func (h *Handler) clone() *Handler {
	h2 := *h
	h2.attrs = slices.Clip(h.attrs) // appends copy rather than share
	return &h2
}

// Handle writes r as one line, followed by its stack lines if any.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	component, stack := h.component, h.stack
	tail := slices.Clip(h.attrs) // shared with concurrent Handle calls: never append in place
	r.Attrs(func(a slog.Attr) bool {
		tail = appendAttr(tail, h.prefix, a, &component, &stack)
		return true
	})

	buf := make([]byte, 0, 128+len(r.Message)+len(tail)+len(stack))
	if !r.Time.IsZero() {
		buf = r.Time.UTC().AppendFormat(buf, TimeLayout)
		buf = append(buf, ' ')
	}
	level := r.Level.String()
	buf = append(buf, level...)
	for range 5 - len(level) {
		buf = append(buf, ' ')
	}
	buf = append(buf, ' ')
	if component != "" {
		buf = append(buf, cleanComponent(component)...)
		buf = append(buf, ": "...)
	}
	buf = appendEscaped(buf, r.Message)
	buf = append(buf, tail...)
	buf = append(buf, '\n')
	if stack = strings.TrimRight(stack, "\r\n"); stack != "" {
		for l := range strings.Lines(stack) {
			buf = append(buf, '\t')
			buf = append(buf, strings.TrimRight(l, "\r\n")...)
			buf = append(buf, '\n')
		}
	}

	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	_, err := h.out.w.Write(buf)
	return err
}

// appendAttr appends a as " key=value" (groups flattened into dotted keys),
// except that component and stack outside any group are taken aside.
func appendAttr(buf []byte, prefix string, a slog.Attr, component, stack *string) []byte {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return buf
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, ga := range a.Value.Group() {
			buf = appendAttr(buf, p, ga, component, stack)
		}
		return buf
	}
	if prefix == "" {
		switch a.Key {
		case ComponentKey:
			*component = a.Value.String()
			return buf
		case StackKey:
			*stack = a.Value.String()
			return buf
		}
	}
	buf = append(buf, ' ')
	buf = appendMaybeQuoted(buf, prefix+a.Key)
	buf = append(buf, '=')
	return appendMaybeQuoted(buf, valueString(a.Value))
}

func valueString(v slog.Value) string {
	switch v.Kind() {
	case slog.KindTime:
		return v.Time().UTC().Format(time.RFC3339Nano)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return err.Error()
		}
	}
	return v.String()
}

// appendMaybeQuoted quotes s when it would otherwise not read back as one
// token: empty, or holding a space, '=', '"', or an unprintable rune.
func appendMaybeQuoted(buf []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(buf, s)
	}
	return append(buf, s...)
}

func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for _, r := range s {
		if r == ' ' || r == '=' || r == '"' || r == unicode.ReplacementChar || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// appendEscaped keeps a message on one line.
func appendEscaped(buf []byte, s string) []byte {
	if !strings.ContainsAny(s, "\r\n") {
		return append(buf, s...)
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\n':
			buf = append(buf, `\n`...)
		case '\r':
			buf = append(buf, `\r`...)
		default:
			buf = append(buf, c)
		}
	}
	return buf
}

// cleanComponent keeps a component one token, so ParseLine can find it.
func cleanComponent(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || r == ':' {
			return '_'
		}
		return r
	}, s)
}
