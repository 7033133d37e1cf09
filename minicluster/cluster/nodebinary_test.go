package cluster

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNodeBinary: clusters start from faultbook-node when it lies beside
// faultbook and comes from the same build, and from faultbook itself when
// the binary beside it is of another build or missing.
func TestNodeBinary(t *testing.T) {
	bin := faultbookBinary(t)
	if got, want := NodeBinary(bin), filepath.Join(filepath.Dir(bin), NodeBinaryName); got != want {
		t.Errorf("NodeBinary(%s) = %s, want the faultbook-node of the same build, %s", bin, got, want)
	}

	// Another build: this test binary, renamed faultbook, beside the real faultbook-node.
	dir := t.TempDir()
	other := filepath.Join(dir, "faultbook")
	copyFile(t, os.Args[0], other)
	copyFile(t, filepath.Join(filepath.Dir(bin), NodeBinaryName), filepath.Join(dir, NodeBinaryName))
	if got := NodeBinary(other); got != other {
		t.Errorf("NodeBinary chose %s, a faultbook-node of another build than %s", got, other)
	}

	// None beside it.
	alone := filepath.Join(t.TempDir(), "faultbook")
	copyFile(t, bin, alone)
	if got := NodeBinary(alone); got != alone {
		t.Errorf("NodeBinary(%s) = %s with no faultbook-node beside it", alone, got)
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
