package diagnose

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"

	"github.com/faultbook/faultbook/minicluster/events"
)

// ErrUnreadable marks an input that could not be read or understood; the CLI
// maps it to exit code 3.
var ErrUnreadable = errors.New("unreadable input")

func unreadable(name string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrUnreadable, name, err)
}

// faultbook's own outputs that are not logs: their text quotes evidence, so
// reading them would count it twice.
var skipNames = set("results.json", "result.json", "spec.json", "report.html", "report.md", "junit.xml", "baseline.json")

// AddPath reads a file, a directory (walked), or "-" (standard input).
func (d *Diagnoser) AddPath(path string) error {
	if path == "-" {
		return d.AddReader("stdin", os.Stdin, "")
	}
	fi, err := os.Stat(path)
	if err != nil {
		return unreadable(path, err)
	}
	if !fi.IsDir() {
		return d.addFile(path, "", true)
	}
	return d.addDir(path)
}

func (d *Diagnoser) addDir(dir string) error {
	base := filepath.Base(dir)
	switch {
	case strings.HasPrefix(base, "eventlog_v2_"):
		return d.addRolled(dir)
	case isRunDir(dir):
		return d.addRunDir(dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return unreadable(dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") || skipNames[name] {
			continue
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			if err := d.addDir(p); err != nil {
				return err
			}
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		if err := d.addFile(p, "", false); err != nil {
			return err
		}
	}
	return nil
}

// isRunDir: a faultbook cell run (spec.json beside driver.log).
func isRunDir(dir string) bool {
	_, e1 := os.Stat(filepath.Join(dir, "spec.json"))
	_, e2 := os.Stat(filepath.Join(dir, "driver.log"))
	return e1 == nil && e2 == nil
}

// addRunDir reads a faultbook run: its file names say which process wrote
// each log.
func (d *Diagnoser) addRunDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return unreadable(dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		p := filepath.Join(dir, name)
		var err error
		switch {
		case name == "driver.log":
			err = d.addFile(p, Driver, true)
		case strings.HasPrefix(name, "exec-") && strings.HasSuffix(name, ".log"):
			err = d.addFile(p, Executor, true)
		case name == events.FileName:
			err = d.addFile(p, Driver, true)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addRolled reads a rolling event log directory (Spark 3.0+): its
// events_N_<app> files in N's order, as one log; appstatus files only mark
// whether the application is still running.
func (d *Diagnoser) addRolled(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return unreadable(dir, err)
	}
	type part struct {
		n    int
		path string
	}
	var parts []part
	running := false
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, "appstatus_") && strings.HasSuffix(name, ".inprogress") {
			running = true
		}
		if !strings.HasPrefix(name, "events_") {
			continue
		}
		num, _, _ := strings.Cut(strings.TrimPrefix(name, "events_"), "_")
		n, err := strconv.Atoi(num)
		if err != nil {
			continue
		}
		parts = append(parts, part{n, filepath.Join(dir, name)})
	}
	if len(parts) == 0 {
		return unreadable(dir, errors.New("a rolled event-log directory without events_N files"))
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].n < parts[j].n })
	kind := "event log (rolled, " + strconv.Itoa(len(parts)) + " files)"
	if running {
		kind = "event log (rolled, " + strconv.Itoa(len(parts)) + " files, application in progress)"
	}
	src := d.newSource(dir, kind, Driver)
	dec := &eventState{src: src}
	for _, p := range parts {
		f, err := os.Open(p.path)
		if err != nil {
			return unreadable(p.path, err)
		}
		r, codec, err := decompress(bufio.NewReaderSize(d.counting(f), 1<<16))
		if err == nil {
			if codec != "" && !strings.Contains(src.Kind, codec) {
				src.Kind = strings.TrimSuffix(src.Kind, ")") + ", " + codec + ")"
			}
			err = d.readEvents(dec, r)
		}
		f.Close()
		if truncated(err) { // the last file of a running application
			src.Kind += ", truncated"
			err = nil
		}
		if err != nil {
			return unreadable(p.path, err)
		}
	}
	d.finishEvents(dec)
	return nil
}

// addFile reads one file. explicit says the user named it: a file that is no
// log is then an error, where a walk skips it.
func (d *Diagnoser) addFile(path string, place Place, explicit bool) error {
	f, err := os.Open(path)
	if err != nil {
		return unreadable(path, err)
	}
	defer f.Close()
	err = d.read(path, d.counting(f), place)
	if errors.Is(err, errNotLog) && !explicit {
		return nil
	}
	return err
}

// AddReader reads one stream; place is "" when its content must say.
func (d *Diagnoser) AddReader(name string, r io.Reader, place Place) error {
	return d.read(name, d.counting(r), place)
}

var errNotLog = errors.New("not a log: binary content")

func (d *Diagnoser) read(name string, r io.Reader, place Place) error {
	br := bufio.NewReaderSize(r, 1<<16)
	dr, codec, err := decompress(br)
	if err != nil {
		return unreadable(name, err)
	}
	tr := bufio.NewReaderSize(dr, 1<<16)
	head, _ := tr.Peek(4096)
	if bytes.IndexByte(head, 0) >= 0 {
		return fmt.Errorf("%w: %s: %w", ErrUnreadable, name, errNotLog)
	}
	kindSuffix := ""
	if codec != "" {
		kindSuffix = " (" + codec + ")"
	}
	if isEventLog(head) {
		src := d.newSource(name, "event log"+kindSuffix, Driver)
		st := &eventState{src: src}
		if err := d.readEvents(st, tr); truncated(err) {
			src.Kind += ", truncated"
		} else if err != nil {
			return unreadable(name, err)
		}
		d.finishEvents(st)
		return nil
	}
	src := d.newSource(name, "log"+kindSuffix, place)
	t := &textReader{base: name, src: src, emit: d.record, newSource: func(n string) *Source { return d.newSource(n, "", place) }}
	sc := bufio.NewScanner(tr)
	sc.Buffer(make([]byte, 64*1024), events.MaxLine)
	n := 0
	for sc.Scan() {
		n++
		t.line(n, sc.Text())
	}
	t.flush()
	if err := sc.Err(); truncated(err) {
		src.Kind += ", truncated"
	} else if err != nil {
		return unreadable(name, err)
	}
	return nil
}

// truncated: a compressed stream cut short, as the log of an application
// still running (or killed) is; what was read is kept.
func truncated(err error) bool { return errors.Is(err, io.ErrUnexpectedEOF) }

// isEventLog: the first non-blank line is a JSON object with an "Event".
func isEventLog(head []byte) bool {
	head = bytes.TrimLeft(head, " \t\r\n")
	line, _, _ := bytes.Cut(head, []byte("\n"))
	return bytes.HasPrefix(line, []byte("{")) && bytes.Contains(line, []byte(`"Event"`))
}

type eventState struct {
	src   *Source
	lines int
}

func (d *Diagnoser) readEvents(st *eventState, r io.Reader) error {
	dec := events.NewDecoder(r)
	d.sum.eventLogs++
	defer func() {
		if dec.Version != "" {
			d.sum.acc.SparkVersions = appendNew(d.sum.acc.SparkVersions, dec.Version)
		}
		st.lines += dec.Line
	}()
	for {
		e, err := dec.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		d.event(st.src, st.lines+dec.Line, e)
	}
}

func (d *Diagnoser) finishEvents(st *eventState) { st.src.Lines = st.lines }

func appendNew(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// decompress recognises the codecs Spark writes event logs with (zstd, lz4 as
// LZ4BlockOutputStream frames it, the lz4 frame format) and gzip, by their
// magic bytes.
func decompress(br *bufio.Reader) (io.Reader, string, error) {
	head, _ := br.Peek(8)
	switch {
	case bytes.HasPrefix(head, []byte{0x28, 0xB5, 0x2F, 0xFD}):
		z, err := zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return nil, "", err
		}
		return &zstdReader{z: z}, "zstd", nil
	case bytes.HasPrefix(head, lz4BlockMagic):
		return newLZ4BlockReader(br), "lz4", nil
	case bytes.HasPrefix(head, []byte{0x04, 0x22, 0x4D, 0x18}):
		return lz4.NewReader(br), "lz4 frame", nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		g, err := gzip.NewReader(br)
		if err != nil {
			return nil, "", err
		}
		return g, "gzip", nil
	case bytes.HasPrefix(head, []byte("\x82SNAPPY\x00")):
		return nil, "", errors.New("snappy-compressed (Spark's SnappyOutputStream) is not supported; decompress it first")
	}
	return br, "", nil
}

// zstdReader releases the decoder's goroutine at the end of the stream, and
// keeps answering with the error that ended it.
type zstdReader struct {
	z   *zstd.Decoder
	err error
}

func (r *zstdReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.z.Read(p)
	if err != nil {
		r.err = err
		r.z.Close()
	}
	return n, err
}

type countingReader struct {
	r io.Reader
	d *Diagnoser
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.d.Progress(int64(n))
	}
	return n, err
}

func (d *Diagnoser) counting(r io.Reader) io.Reader {
	if d.Progress == nil {
		return r
	}
	return countingReader{r, d}
}

// TotalSize is the bytes a walk of paths would read, for a progress bar.
func TotalSize(paths []string) int64 {
	var n int64
	for _, p := range paths {
		_ = filepath.WalkDir(p, func(_ string, e os.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && !skipNames[e.Name()] {
				if fi, err := e.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
	}
	return n
}
