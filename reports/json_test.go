package reports_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/reports/reportstest"
)

func TestJSONRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.json")
	if err := os.WriteFile(path, []byte("old content"), 0o600); err != nil {
		t.Fatal(err)
	}
	want := reportstest.Sample()
	if err := reports.WriteJSON(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := reports.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back differs (-wrote +read):\n%s", diff)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %v, want only results.json (no temporary file left)", entries)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "{\n  \"schema\": \"faultbook/results/v1\",") || !strings.HasSuffix(string(data), "}\n") {
		t.Errorf("not indented JSON ending in a newline:\n%.200s", data)
	}
}

func TestWriteJSONFillsSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	r := reportstest.Sample()
	r.Schema = ""
	if err := reports.WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	if r.Schema != "" {
		t.Error("WriteJSON changed its input")
	}
	if _, err := reports.ReadJSON(path); err != nil {
		t.Error(err)
	}
	r.Schema = "faultbook/results/v0"
	if err := reports.WriteJSON(path, r); !errors.Is(err, reports.ErrSchema) {
		t.Errorf("write of a foreign schema: %v, want ErrSchema", err)
	}
}

func TestWriteJSONLeavesNothingOnError(t *testing.T) {
	dir := t.TempDir()
	r := reportstest.Sample()
	nan := 0.0
	nan /= nan // JSON cannot encode NaN
	r.Scenarios[0].Cells[3].OverheadPct = &nan
	if err := reports.WriteJSON(filepath.Join(dir, "r.json"), r); err == nil {
		t.Fatal("want an error for a NaN")
	}
	// A directory that does not exist fails before anything is written.
	if err := reports.WriteJSON(filepath.Join(dir, "missing", "r.json"), reportstest.Sample()); err == nil {
		t.Fatal("want an error for a missing directory")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("directory holds %v after failed writes, want nothing", entries)
	}
}

func TestReadJSONRefusesOtherSchemas(t *testing.T) {
	for _, tc := range []struct {
		name, content, want string
	}{
		{"older", `{"schema": "faultbook/results/v0", "scenarios": []}`, `schema "faultbook/results/v0", want "faultbook/results/v1"`},
		{"none", `{"scenarios": []}`, `no "schema" field`},
		{"not an object", `[1, 2]`, "decode"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.json")
			if err := os.WriteFile(path, []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := reports.ReadJSON(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if tc.name != "not an object" && !errors.Is(err, reports.ErrSchema) {
				t.Errorf("error %v does not wrap ErrSchema", err)
			}
		})
	}
	if _, err := reports.ReadJSON(filepath.Join(t.TempDir(), "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want os.ErrNotExist", err)
	}
}

func TestReadJSONIgnoresNewFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	content := `{"schema": "` + result.Schema + `", "seed": 3, "added_later": {"x": 1}, "scenarios": []}`
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := reports.ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Seed != 3 {
		t.Errorf("seed %d, want 3", r.Seed)
	}
}

// TestReadJSONValidates refuses a file that decodes but breaks the schema,
// naming the field, where it was once read as an empty result.
func TestReadJSONValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "results.json")
	r := reportstest.Sample()
	r.Scenarios[0].Cells[1].Verdict = "passed"
	if err := reports.WriteJSON(path, r); err != nil {
		t.Fatal(err)
	}
	_, err := reports.ReadJSON(path)
	if !errors.Is(err, result.ErrInvalid) || !strings.Contains(err.Error(), "scenarios[0].cells[1].verdict") {
		t.Fatalf("ReadJSON() = %v, want ErrInvalid naming scenarios[0].cells[1].verdict", err)
	}
}
