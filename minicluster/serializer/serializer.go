// Package serializer builds codec registries the way Spark's KryoSerializer built
// Kryo instances, including the way Spark 1.0 got it wrong.
//
// Spark 1.0's newKryo registered Kryo's and Spark's own classes, then ran the
// user's spark.kryo.registrator looked up through the *current thread's* context
// class loader, then registered Chill's Scala classes (tuples, options,
// collections). When the lookup failed it logged "Failed to run
// spark.kryo.registrator" and went on, so every Chill id shifted down by the number
// of user types. NewRegistry keeps that order: defaults, user registrator, library.
// The bundle is resolved from the caller's context (its goroutine's "class
// loader") unless an executor-wide bundle is given (SPARK-3046), and a failed
// resolution is swallowed unless FailFast is set (SPARK-2893).
package serializer

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"

	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
)

// Role names the kind of goroutine that builds a registry, for messages.
type Role string

const (
	RoleTask      Role = "task"
	RoleTransport Role = "transport"
	RoleDriver    Role = "driver"
)

// OrderKind says in which order the user registrator's types are registered.
type OrderKind string

const (
	// Canonical: the registrator's declared order.
	Canonical OrderKind = ""
	// Permuted: a seeded permutation, different from the canonical order.
	Permuted OrderKind = "permuted"
	// MapOrder: whatever order ranging over a Go map yields.
	MapOrder OrderKind = "map"
)

// Options configure NewRegistry.
type Options struct {
	// Registrator is spark.kryo.registrator; empty means none.
	Registrator string
	// RegistrationRequired is spark.kryo.registrationRequired.
	RegistrationRequired bool
	// FailFast makes an unresolvable registrator an error (SPARK-2893); otherwise
	// it is logged and swallowed, as in Spark 1.0.
	FailFast bool
	// ExecutorBundle, when set, is used instead of the context's bundle (SPARK-3046).
	ExecutorBundle *bundle.Bundle
	// Order and Seed choose the registration order of the user types.
	Order OrderKind
	Seed  int64
	// OmitBuiltin names a default type this process does not register, as a
	// process with an older library or a narrower classpath would not.
	OmitBuiltin string
	// OptionNilCheck refuses Some(nil) in reflective fields (option-nil-check).
	OptionNilCheck bool
	// MaxDepth is Kryo's setMaxDepth: 0, Spark's setting, means no limit.
	MaxDepth int
	// IterativeChains encodes linked chains in a loop (iterative-list-encoding).
	IterativeChains bool
	// ShamOrder and ShamOmit keep Order and OmitBuiltin switched on but
	// neutralise them: the user types come in their declared order, no
	// built-in type is left out (the shams of the registration faults, see
	// package fault).
	ShamOrder, ShamOmit bool
	// Role is the kind of goroutine asking, for messages.
	Role Role
	// Log receives the swallowed error; nil discards.
	Log *slog.Logger
}

// RegistratorError is a registrator that could not be run, under FailFast. Its
// message mirrors Spark's "Failed to register classes with Kryo".
type RegistratorError struct {
	Registrator string
	Role        Role
	Err         error
}

func (e *RegistratorError) Error() string {
	return fmt.Sprintf("Failed to register classes with Kryo: registrator %q could not be run on a %s goroutine: %v", e.Registrator, e.Role, e.Err)
}

func (e *RegistratorError) Unwrap() error { return e.Err }

// Kind is the error type a task failure reports.
func (e *RegistratorError) Kind() string { return "SparkException" }

// NewRegistry builds a registry: defaults, then the user registrator, then the
// library types. It returns an error only under FailFast.
func NewRegistry(ctx context.Context, o Options) (*codec.Registry, error) {
	r := codec.NewRegistry()
	for _, d := range codec.DefaultTypes() {
		if d.Name != o.OmitBuiltin || o.ShamOmit {
			r.Register(d)
		}
	}
	b := o.ExecutorBundle
	if b == nil {
		b, _ = bundle.From(ctx)
	}
	if b != nil {
		r.SetClassPath(b.ClassPath)
	}
	if o.Registrator != "" {
		if err := runRegistrator(r, b, o); err != nil {
			if o.FailFast {
				return nil, &RegistratorError{Registrator: o.Registrator, Role: o.Role, Err: err}
			}
			if o.Log != nil {
				o.Log.Error("Failed to run spark.kryo.registrator",
					"component", "serializer.KryoSerializer",
					"stack", fmt.Sprintf("%v\nat serializer.NewRegistry(%s goroutine)\nat bundle.Registrator(%q)", err, o.Role, o.Registrator))
			}
		}
	}
	r.RegisterLibrary()
	r.SetRegistrationRequired(o.RegistrationRequired)
	r.SetOptionNilCheck(o.OptionNilCheck)
	r.SetMaxDepth(o.MaxDepth)
	r.SetIterativeChains(o.IterativeChains)
	return r, nil
}

func runRegistrator(r *codec.Registry, b *bundle.Bundle, o Options) error {
	if b == nil {
		return &codec.Error{Kind: "ClassNotFoundException", Msg: o.Registrator}
	}
	reg, ok := b.Registrator(o.Registrator)
	if !ok {
		return &codec.Error{Kind: "ClassNotFoundException", Msg: o.Registrator}
	}
	order := Order(reg.Types, o.Order, o.Seed)
	if o.ShamOrder {
		order = reg.Types
	}
	for _, t := range order {
		r.Register(t)
	}
	return nil
}

// CanonicalRegistry builds the registry a process of the application has without any
// registration fault: app's registrator in its declared order, every built-in
// type, whatever goroutine asks. It is the reference a registration fault's
// effect is proven against.
func CanonicalRegistry(app *bundle.Bundle, o Options) *codec.Registry {
	c := Options{Registrator: o.Registrator, RegistrationRequired: o.RegistrationRequired, ExecutorBundle: app, Role: o.Role}
	r, _ := NewRegistry(context.Background(), c) // no FailFast: never an error
	return r
}

// Deviation is the proof that a registry differs from the canonical one: both
// fingerprints and the first id where they part. ok is false when they agree.
func Deviation(reg, canonical *codec.Registry) (proof string, ok bool) {
	diff, differ := codec.DiffEntries(canonical.Entries(), reg.Entries())
	if !differ {
		return "", false
	}
	return fmt.Sprintf("registry fingerprint %016x (%d types) differs from the canonical %016x (%d types): first difference at id %d: canonical has %s, this registry has %s",
		reg.Fingerprint(), reg.Len(), canonical.Fingerprint(), canonical.Len(), diff.ID, orAbsent(diff.A), orAbsent(diff.B)), true
}

func orAbsent(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

// Order returns types in the given order. Permuted is deterministic for a seed
// and never equal to the canonical order (for two or more types).
func Order(types []codec.TypeDef, kind OrderKind, seed int64) []codec.TypeDef {
	switch kind {
	case Permuted:
		out := slices.Clone(types)
		rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		if len(out) > 1 && sameNames(out, types) {
			out = append(out[1:], out[0])
		}
		return out
	case MapOrder:
		m := make(map[string]codec.TypeDef, len(types))
		for _, t := range types {
			m[t.Name] = t
		}
		out := make([]codec.TypeDef, 0, len(m))
		for _, t := range m { // the bug under test: map iteration order is unspecified
			out = append(out, t)
		}
		return out
	}
	return types
}

func sameNames(a, b []codec.TypeDef) bool {
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}
