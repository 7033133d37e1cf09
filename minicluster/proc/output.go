package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// maxLine bounds what OnLine is given of one line, so a child writing
// megabytes without a newline cannot grow the parent's memory.
const maxLine = 64 << 10

// copyOutput reads the child's output until every writer has closed it,
// appending it to log (if not nil) and splitting it into lines for onLine (if
// not nil). A log that cannot be written is reported but does not stop the
// reading: a child blocked on a full pipe would look like a hung node.
func copyOutput(r io.Reader, log *os.File, onLine func(string)) error {
	buf := make([]byte, 32<<10)
	lines := lineSplitter{onLine: onLine}
	var werr error
	for {
		n, rerr := r.Read(buf)
		chunk := buf[:n]
		if n > 0 && log != nil && werr == nil {
			if _, err := log.Write(chunk); err != nil {
				werr = fmt.Errorf("write log: %w", err)
			}
		}
		lines.feed(chunk)
		if rerr != nil {
			lines.flush()
			if errors.Is(rerr, io.EOF) {
				return werr
			}
			return errors.Join(werr, fmt.Errorf("read output: %w", rerr))
		}
	}
}

// lineSplitter cuts a stream of output into lines for onLine (nil: none),
// each capped at maxLine.
type lineSplitter struct {
	onLine func(string)
	line   []byte
}

func (s *lineSplitter) feed(chunk []byte) {
	if s.onLine == nil {
		return
	}
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			s.line = appendCapped(s.line, chunk)
			return
		}
		s.line = appendCapped(s.line, chunk[:i])
		s.onLine(string(bytes.TrimSuffix(s.line, []byte("\r"))))
		s.line = s.line[:0]
		chunk = chunk[i+1:]
	}
}

// flush hands on a last line that had no newline.
func (s *lineSplitter) flush() {
	if s.onLine != nil && len(s.line) > 0 {
		s.onLine(string(bytes.TrimSuffix(s.line, []byte("\r"))))
		s.line = s.line[:0]
	}
}

func appendCapped(line, b []byte) []byte {
	if room := maxLine - len(line); len(b) > room {
		b = b[:room]
	}
	return append(line, b...)
}

// Output is what a process's output becomes, for a role run inside this
// process instead of as a child (a driver in Spark's client deploy mode): its
// log file, written as it comes, and its lines for OnLine, cut exactly as a
// child's are. Writes may come from several goroutines.
type Output struct {
	mu    sync.Mutex
	log   *os.File
	lines lineSplitter
	err   error
}

// OpenOutput opens (appends to) the log at path, creating its directory, and
// calls onLine (nil: none) for each line written.
func OpenOutput(path string, onLine func(string)) (*Output, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	return &Output{log: f, lines: lineSplitter{onLine: onLine}}, nil
}

// Write appends p to the log and hands on its complete lines. Like a child's
// pipe, it never fails the writer: a log that cannot be written is reported
// by Close.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.log != nil && o.err == nil {
		if _, err := o.log.Write(p); err != nil {
			o.err = fmt.Errorf("write log: %w", err)
		}
	}
	o.lines.feed(p)
	return len(p), nil
}

// Close hands on a last unterminated line and closes the log; later writes
// only reach OnLine. It returns the first error writing or closing the log.
func (o *Output) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lines.flush()
	if o.log != nil {
		if err := o.log.Close(); err != nil && o.err == nil {
			o.err = fmt.Errorf("close log: %w", err)
		}
		o.log = nil
	}
	return o.err
}
