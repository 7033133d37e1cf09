package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Dir is a store in a local directory (or a mounted file system such as EFS).
// Put writes a temporary file and renames it, so a reader sees a whole object
// or none; Rename is the file system's atomic rename.
type Dir struct{ root string }

// NewDir returns the store rooted at dir, creating it.
func NewDir(dir string) (*Dir, error) {
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrLocation, err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: create %s: %v", ErrLocation, dir, err)
	}
	return &Dir{root: dir}, nil
}

var _ Store = (*Dir)(nil)

func (d *Dir) path(key string) (string, error) {
	p := filepath.Join(d.root, filepath.FromSlash(key))
	if key == "" || !strings.HasPrefix(p, d.root+string(filepath.Separator)) {
		return "", fmt.Errorf("key %q escapes the store", key)
	}
	return p, nil
}

func (d *Dir) String() string { return "file://" + d.root }

func (d *Dir) Put(_ context.Context, key string, data []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	_, werr := f.Write(data)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func (d *Dir) Get(_ context.Context, key string) ([]byte, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("get %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return b, nil
}

func (d *Dir) Exists(_ context.Context, key string) (bool, error) {
	p, err := d.path(key)
	if err != nil {
		return false, err
	}
	_, err = os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (d *Dir) List(_ context.Context, prefix string) ([]string, error) {
	var keys []string
	err := filepath.WalkDir(d.root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() || strings.HasPrefix(e.Name(), ".put-") {
			return nil
		}
		rel, _ := filepath.Rel(d.root, p)
		if k := filepath.ToSlash(rel); strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	sort.Strings(keys)
	return keys, nil
}

func (d *Dir) Rename(_ context.Context, src, dst string) error {
	ps, err := d.path(src)
	if err != nil {
		return err
	}
	pd, err := d.path(dst)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(pd), 0o755); err != nil {
		return fmt.Errorf("rename %s: %w", src, err)
	}
	if err := os.Rename(ps, pd); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("rename %s: %w", src, ErrNotFound)
		}
		return fmt.Errorf("rename %s: %w", src, err)
	}
	return nil
}

func (d *Dir) Delete(_ context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
