package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/faultbook/faultbook/harness/result"
)

// ErrSchema says a results file is not in the schema this build reads, so
// re-rendering or judging it would silently misread fields.
var ErrSchema = errors.New("unsupported results schema")

// WriteJSON writes the results as indented JSON to path, atomically: the bytes
// go to a temporary file in the same directory, are synced, and the file is
// renamed over path. A reader, or a CI step that uploads the file, never sees a
// half-written result, even if the run is killed while writing.
//
// An empty Schema is written as result.Schema; any other schema is refused,
// since this package could not read the file back.
func WriteJSON(path string, r *result.Results) error {
	out := *r
	if out.Schema == "" {
		out.Schema = result.Schema
	}
	if out.Schema != result.Schema {
		return fmt.Errorf("write results %s: schema %q, want %q: %w", path, out.Schema, result.Schema, ErrSchema)
	}
	data, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	data = append(data, '\n')
	if err := writeAtomic(path, data); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	return nil
}

// writeAtomic replaces path with data so that path holds either the old bytes
// or all the new ones.
func writeAtomic(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	// CreateTemp makes the file private; results are meant to be read by others
	// (CI uploaders, a web server over the run directory).
	if err := f.Chmod(0o644); err != nil {
		return fmt.Errorf("set mode of %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	// The rename is durable only once the directory entry is on disk.
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// ReadJSON reads results written by WriteJSON. A file of another schema (an
// older or newer layout, or not a results file at all) is refused with an error
// wrapping ErrSchema that names the schema found. Fields unknown to this build
// are ignored: the schema only ever adds fields. A file that decodes but breaks
// the schema (result.Results.Validate) is refused with an error wrapping
// result.ErrInvalid that names the field.
func ReadJSON(path string) (*result.Results, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("read results %s: decode: %w", path, err)
	}
	switch {
	case probe.Schema == nil:
		return nil, fmt.Errorf("read results %s: no \"schema\" field, want %q: %w", path, result.Schema, ErrSchema)
	case *probe.Schema != result.Schema:
		return nil, fmt.Errorf("read results %s: schema %q, want %q: %w", path, *probe.Schema, result.Schema, ErrSchema)
	}
	var r result.Results
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("read results %s: decode: %w", path, err)
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("read results %s: %w", path, err)
	}
	return &r, nil
}
