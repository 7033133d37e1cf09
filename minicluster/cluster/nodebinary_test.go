package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

// TestRoleBinaries: clusters start executors from faultbook-node, and
// cluster-mode drivers from faultbook-driver, when it lies beside faultbook
// and comes from the same build, and from faultbook itself when the binary
// beside it is of another build or missing.
func TestRoleBinaries(t *testing.T) {
	bin := faultbookBinary(t)
	for name, choose := range map[string]func(string) string{NodeBinaryName: NodeBinary, DriverBinaryName: DriverBinary} {
		t.Run(name, func(t *testing.T) {
			if got, want := choose(bin), filepath.Join(filepath.Dir(bin), name); got != want {
				t.Errorf("%s: chose %s for %s, want the %s of the same build, %s", name, got, bin, name, want)
			}

			// Another build: this test binary, renamed faultbook, beside the real one.
			dir := t.TempDir()
			other := filepath.Join(dir, "faultbook")
			copyFile(t, os.Args[0], other)
			copyFile(t, filepath.Join(filepath.Dir(bin), name), filepath.Join(dir, name))
			if got := choose(other); got != other {
				t.Errorf("%s: chose %s, of another build than %s", name, got, other)
			}

			// None beside it.
			alone := filepath.Join(t.TempDir(), "faultbook")
			copyFile(t, bin, alone)
			if got := choose(alone); got != alone {
				t.Errorf("%s: chose %s for %s with nothing beside it", name, got, alone)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
