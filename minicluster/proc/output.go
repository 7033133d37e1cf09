package proc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
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
	var line []byte
	var werr error
	for {
		n, rerr := r.Read(buf)
		chunk := buf[:n]
		if n > 0 && log != nil && werr == nil {
			if _, err := log.Write(chunk); err != nil {
				werr = fmt.Errorf("write log: %w", err)
			}
		}
		if onLine != nil {
			for len(chunk) > 0 {
				i := bytes.IndexByte(chunk, '\n')
				if i < 0 {
					line = appendCapped(line, chunk)
					break
				}
				line = appendCapped(line, chunk[:i])
				onLine(string(bytes.TrimSuffix(line, []byte("\r"))))
				line = line[:0]
				chunk = chunk[i+1:]
			}
		}
		if rerr != nil {
			if onLine != nil && len(line) > 0 {
				onLine(string(bytes.TrimSuffix(line, []byte("\r"))))
			}
			if errors.Is(rerr, io.EOF) {
				return werr
			}
			return errors.Join(werr, fmt.Errorf("read output: %w", rerr))
		}
	}
}

func appendCapped(line, b []byte) []byte {
	if room := maxLine - len(line); len(b) > room {
		b = b[:room]
	}
	return append(line, b...)
}
