// Package bundle is minicluster's application bundle, the analogue of the
// application jar Spark ships to executors: the named registrators and workloads a
// process can resolve. Which goroutines can see the bundle is the point of the
// registrator-transport scenario: the bundle travels in a context.Context, the
// analogue of a thread's context class loader, and a goroutine whose context lacks
// it cannot resolve anything in it. A goroutine started from a context that
// never carried the bundle (an executor's transport goroutines under the
// transport-without-bundle fault) is such a goroutine.
package bundle

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/job"
)

// Registrator is a named list of user types registered in order, the analogue
// of a class implementing spark.kryo.registrator.
type Registrator struct {
	Name  string
	Types []codec.TypeDef
}

// Bundle is an application: registrators, workloads and the types it can name.
type Bundle struct {
	Name         string
	registrators map[string]Registrator
	workloads    map[string]*job.Workload
	classPath    map[string]codec.TypeDef
}

// New returns an empty bundle.
func New(name string) *Bundle {
	return &Bundle{Name: name, registrators: map[string]Registrator{}, workloads: map[string]*job.Workload{}, classPath: map[string]codec.TypeDef{}}
}

// AddRegistrator adds a registrator and puts its types on the class path.
// A duplicate name is refused.
func (b *Bundle) AddRegistrator(r Registrator) error {
	if _, dup := b.registrators[r.Name]; dup {
		return fmt.Errorf("bundle %s: registrator %q added twice", b.Name, r.Name)
	}
	b.registrators[r.Name] = r
	for _, t := range r.Types {
		b.classPath[t.Name] = t
	}
	return nil
}

// AddWorkload adds a workload. A duplicate name is refused.
func (b *Bundle) AddWorkload(w *job.Workload) error {
	if _, dup := b.workloads[w.Name]; dup {
		return fmt.Errorf("bundle %s: workload %q added twice", b.Name, w.Name)
	}
	b.workloads[w.Name] = w
	return nil
}

// Registrator resolves a registrator by name.
func (b *Bundle) Registrator(name string) (Registrator, bool) {
	r, ok := b.registrators[name]
	return r, ok
}

// Workload resolves a workload by name; the error lists the known ones.
func (b *Bundle) Workload(name string) (*job.Workload, error) {
	if w, ok := b.workloads[name]; ok {
		return w, nil
	}
	names := make([]string, 0, len(b.workloads))
	for n := range b.workloads {
		names = append(names, n)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown workload %q (known: %s)", name, strings.Join(names, ", "))
}

// Workloads lists the workload names.
func (b *Bundle) Workloads() []string {
	var names []string
	for n := range b.workloads {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ClassPath resolves a type by name, for values written by name.
func (b *Bundle) ClassPath(name string) (codec.TypeDef, bool) {
	t, ok := b.classPath[name]
	return t, ok
}

type ctxKey struct{}

// With returns a context that carries the bundle: a goroutine running with it can
// resolve the bundle's registrators.
func With(ctx context.Context, b *Bundle) context.Context {
	return context.WithValue(ctx, ctxKey{}, b)
}

// From returns the bundle a context carries, if any.
func From(ctx context.Context) (*Bundle, bool) {
	b, _ := ctx.Value(ctxKey{}).(*Bundle)
	return b, b != nil
}
