package nodelog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

var at = time.Date(2026, 11, 21, 8, 0, 0, 123_456_789, time.UTC)

type stringer struct{}

func (stringer) String() string { return "as string" }

func TestHandle(t *testing.T) {
	const stamp = "2026-11-21 08:00:00.123 "
	tests := []struct {
		name  string
		h     func(*Handler) slog.Handler // derive the handler; nil: as is
		time  time.Time                   // zero: at
		bare  bool                        // no time at all
		level slog.Level
		msg   string
		attrs []slog.Attr
		want  string
	}{
		{
			name:  "spark task lost",
			level: slog.LevelWarn,
			msg:   "Lost task 7.1 in stage 1.0 (TID 12, node-b, executor 3): ClassCastException: codec.Point cannot be cast to codec.Edge",
			attrs: []slog.Attr{slog.String("component", "scheduler.TaskSetManager"), slog.Int("tid", 12)},
			want:  stamp + "WARN  scheduler.TaskSetManager: Lost task 7.1 in stage 1.0 (TID 12, node-b, executor 3): ClassCastException: codec.Point cannot be cast to codec.Edge tid=12\n",
		},
		{
			name:  "no component",
			level: slog.LevelInfo,
			msg:   "Started",
			want:  stamp + "INFO  Started\n",
		},
		{
			name:  "levels pad to five",
			level: slog.LevelError,
			msg:   "boom",
			attrs: []slog.Attr{slog.String("component", "executor.Executor")},
			want:  stamp + "ERROR executor.Executor: boom\n",
		},
		{
			name:  "custom level",
			level: slog.LevelInfo + 2,
			msg:   "odd",
			want:  stamp + "INFO+2 odd\n",
		},
		{
			name:  "quoting",
			level: slog.LevelInfo,
			msg:   "values",
			attrs: []slog.Attr{
				slog.String("plain", "exec-3"),
				slog.String("space", "two words"),
				slog.String("empty", ""),
				slog.String("eq", "a=b"),
				slog.String("quote", `say "hi"`),
				slog.String("newline", "a\nb"),
				slog.String("key with space", "x"),
				slog.String("unicode", "größe"),
			},
			want: stamp + `INFO  values plain=exec-3 space="two words" empty="" eq="a=b" quote="say \"hi\"" newline="a\nb" "key with space"=x unicode=größe` + "\n",
		},
		{
			name:  "kinds",
			level: slog.LevelDebug,
			msg:   "kinds",
			attrs: []slog.Attr{
				slog.Bool("ok", true),
				slog.Float64("ratio", 0.5),
				slog.Duration("took", 1500*time.Millisecond),
				slog.Time("at", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600))),
				slog.Any("err", errors.New("connection reset")),
				slog.Any("s", stringer{}),
				slog.Uint64("bytes", 1<<40),
			},
			want: stamp + `DEBUG kinds ok=true ratio=0.5 took=1.5s at=2026-01-02T02:04:05Z err="connection reset" s="as string" bytes=1099511627776` + "\n",
		},
		{
			name:  "groups dotted",
			h:     func(h *Handler) slog.Handler { return h.WithAttrs([]slog.Attr{slog.Int("exec", 3)}).WithGroup("block") },
			level: slog.LevelInfo,
			msg:   "fetched",
			attrs: []slog.Attr{slog.Int("id", 7), slog.Group("from", slog.String("host", "node-b"), slog.Int("port", 7337)), slog.Group("empty")},
			want:  stamp + "INFO  fetched exec=3 block.id=7 block.from.host=node-b block.from.port=7337\n",
		},
		{
			name:  "inline group and empty attr",
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.Group("", slog.Int("a", 1)), {}, slog.Int("b", 2)},
			want:  stamp + "INFO  m a=1 b=2\n",
		},
		{
			name: "component from WithAttrs, record wins",
			h: func(h *Handler) slog.Handler {
				return h.WithAttrs([]slog.Attr{slog.String("component", "storage.BlockManager")})
			},
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.String("component", "storage.ShuffleBlockFetcherIterator")},
			want:  stamp + "INFO  storage.ShuffleBlockFetcherIterator: m\n",
		},
		{
			name:  "component inside a group is an attribute",
			h:     func(h *Handler) slog.Handler { return h.WithGroup("g") },
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.String("component", "x"), slog.String("stack", "y")},
			want:  stamp + "INFO  m g.component=x g.stack=y\n",
		},
		{
			name:  "component kept to one token",
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.String("component", "my comp:x")},
			want:  stamp + "INFO  my_comp_x: m\n",
		},
		{
			name:  "message kept on one line",
			level: slog.LevelError,
			msg:   "first\nsecond\r\n",
			want:  stamp + `ERROR first\nsecond\r\n` + "\n",
		},
		{
			name:  "stack after the line",
			level: slog.LevelError,
			msg:   "Exception in task 7.1 in stage 1.0 (TID 12)",
			attrs: []slog.Attr{
				slog.String("component", "executor.Executor"),
				slog.String("stack", "codec.ClassCastError: codec.Point is not codec.Edge\n\tat codec.(*Reader).Read(reader.go:88)\r\nat executor.(*Task).Run(task.go:41)\n"),
				slog.Int("tid", 12),
			},
			want: stamp + "ERROR executor.Executor: Exception in task 7.1 in stage 1.0 (TID 12) tid=12\n" +
				"\tcodec.ClassCastError: codec.Point is not codec.Edge\n" +
				"\t\tat codec.(*Reader).Read(reader.go:88)\n" +
				"\tat executor.(*Task).Run(task.go:41)\n",
		},
		{
			name:  "empty stack",
			level: slog.LevelInfo,
			msg:   "m",
			attrs: []slog.Attr{slog.String("stack", "\n")},
			want:  stamp + "INFO  m\n",
		},
		{
			name:  "no time",
			bare:  true,
			level: slog.LevelInfo,
			msg:   "m",
			want:  "INFO  m\n",
		},
		{
			name:  "time in another zone written in UTC",
			time:  at.In(time.FixedZone("PST", -8*3600)),
			level: slog.LevelInfo,
			msg:   "m",
			want:  stamp + "INFO  m\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			var h slog.Handler = NewHandler(&buf, slog.LevelDebug)
			if tc.h != nil {
				h = tc.h(h.(*Handler))
			}
			when := at
			switch {
			case tc.bare:
				when = time.Time{}
			case !tc.time.IsZero():
				when = tc.time
			}
			r := slog.NewRecord(when, tc.level, tc.msg, 0)
			r.AddAttrs(tc.attrs...)
			if err := h.Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestLogger(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, slog.LevelInfo)
	log.Debug("hidden")
	tsm := Component(log.WithGroup("task"), "scheduler.TaskSetManager")
	tsm.Warn("Lost task 7.1", "tid", 12)
	Component(New(&buf, slog.LevelInfo).With("stage", "1.0"), "scheduler.DAGScheduler").Info("Resubmitting")

	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	want := []string{
		"WARN  scheduler.TaskSetManager: Lost task 7.1 task.tid=12",
		"INFO  scheduler.DAGScheduler: Resubmitting stage=1.0",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, l := range lines {
		if len(l) < len(TimeLayout)+1 {
			t.Fatalf("line %q too short", l)
		}
		if _, err := time.Parse(TimeLayout, l[:len(TimeLayout)]); err != nil {
			t.Errorf("line %q: %v", l, err)
		}
		if got := l[len(TimeLayout)+1:]; got != want[i] {
			t.Errorf("line %d = %q, want %q", i, got, want[i])
		}
	}

	// Component on a foreign logger falls back to an attribute.
	var other bytes.Buffer
	Component(slog.New(slog.NewTextHandler(&other, nil)), "x").Info("m")
	if !strings.Contains(other.String(), "component=x") {
		t.Errorf("foreign logger wrote %q", other.String())
	}
}

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Line
		ok   bool
	}{
		{
			name: "full",
			line: "2026-11-21 08:00:00.123 WARN  scheduler.TaskSetManager: Lost task 7.1 in stage 1.0 (TID 12, node-b, executor 3): ClassCastException tid=12\n",
			want: Line{
				Time:      time.Date(2026, 11, 21, 8, 0, 0, 123_000_000, time.UTC),
				Level:     slog.LevelWarn,
				Component: "scheduler.TaskSetManager",
				Msg:       "Lost task 7.1 in stage 1.0 (TID 12, node-b, executor 3): ClassCastException tid=12",
			},
			ok: true,
		},
		{
			name: "no component",
			line: "2026-11-21 08:00:00.123 ERROR boom a=1",
			want: Line{Time: time.Date(2026, 11, 21, 8, 0, 0, 123_000_000, time.UTC), Level: slog.LevelError, Msg: "boom a=1"},
			ok:   true,
		},
		{
			name: "no time",
			line: "DEBUG executor.Executor: m",
			want: Line{Level: slog.LevelDebug, Component: "executor.Executor", Msg: "m"},
			ok:   true,
		},
		{
			name: "custom level, empty message",
			line: "2026-11-21 08:00:00.123 INFO+2 c: ",
			want: Line{Time: time.Date(2026, 11, 21, 8, 0, 0, 123_000_000, time.UTC), Level: slog.LevelInfo + 2, Component: "c"},
			ok:   true,
		},
		{name: "stack line", line: "\tat codec.(*Reader).Read(reader.go:88)"},
		{name: "empty", line: ""},
		{name: "lowercase level", line: "2026-11-21 08:00:00.123 info m"},
		{name: "unpadded level", line: "2026-11-21 08:00:00.123 INFO m"},
		{name: "spark's own shape", line: "14/07/28 17:01:57 WARN TaskSetManager: Lost TID 2"},
		{name: "go panic", line: "panic: runtime error: index out of range [3] with length 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := ParseLine(tc.line)
			if ok != tc.ok || got != tc.want {
				t.Errorf("ParseLine(%q) = %+v, %v; want %+v, %v", tc.line, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// TestRoundTrip: what Handler writes, ParseLine reads back.
func TestRoundTrip(t *testing.T) {
	tests := []struct {
		level     slog.Level
		component string
		msg       string
	}{
		{slog.LevelWarn, "scheduler.TaskSetManager", "Lost task 7.1 in stage 1.0: ClassCastException"},
		{slog.LevelInfo, "", "Registered executor 3"},
		{slog.LevelError, "a", ""},
		{slog.LevelDebug - 1, "x.Y", "deep"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.level, tc.component, tc.msg), func(t *testing.T) {
			var buf bytes.Buffer
			r := slog.NewRecord(at, tc.level, tc.msg, 0)
			if tc.component != "" {
				r.AddAttrs(slog.String(ComponentKey, tc.component))
			}
			r.AddAttrs(slog.String(StackKey, "at x\nat y"))
			if err := NewHandler(&buf, slog.LevelDebug-4).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(buf.String(), "\n")
			got, ok := ParseLine(first)
			want := Line{Time: at.Truncate(time.Millisecond), Level: tc.level, Component: tc.component, Msg: tc.msg}
			if !ok || got != want {
				t.Errorf("ParseLine(%q) = %+v, %v; want %+v", first, got, ok, want)
			}
		})
	}
}

// lockedWriter fails the test if two writes overlap.
type lockedWriter struct {
	mu   sync.Mutex
	busy bool
	buf  bytes.Buffer
	bad  bool
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.busy {
		w.bad = true
	}
	w.busy = true
	w.mu.Unlock()
	defer func() { w.mu.Lock(); w.busy = false; w.mu.Unlock() }()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func TestConcurrent(t *testing.T) {
	const goroutines, each = 8, 200
	w := &lockedWriter{}
	base := New(w, slog.LevelInfo)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			// Each goroutine derives its own handlers from the shared one,
			// as node components do.
			log := Component(base.With("g", g), fmt.Sprintf("comp%d", g))
			for i := range each {
				log.Info("msg", "i", i, "stack", "a\nb")
			}
		})
	}
	wg.Wait()
	if w.bad {
		t.Fatal("writes overlapped")
	}
	var records int
	for l := range strings.Lines(w.buf.String()) {
		if strings.HasPrefix(l, "\t") {
			continue
		}
		got, ok := ParseLine(l)
		if !ok || !strings.HasPrefix(got.Component, "comp") || !strings.HasPrefix(got.Msg, "msg g=") {
			t.Fatalf("line %q parsed as %+v, %v", l, got, ok)
		}
		records++
	}
	if records != goroutines*each {
		t.Errorf("%d records, want %d", records, goroutines*each)
	}
}
