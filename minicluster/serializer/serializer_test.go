package serializer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/serializer"
)

const registrator = "test.RecordsRegistrator"

func testBundle(t *testing.T) *bundle.Bundle {
	t.Helper()
	b := bundle.New("serializer-test")
	if err := b.AddRegistrator(bundle.Registrator{Name: registrator, Types: records.Types()}); err != nil {
		t.Fatal(err)
	}
	return b
}

func names(defs []codec.TypeDef) []string {
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.Name
	}
	return out
}

func entryNames(r *codec.Registry) []string {
	var out []string
	for _, e := range r.Entries() {
		out = append(out, e.Name)
	}
	return out
}

// build runs NewRegistry, capturing what it logs.
func build(t *testing.T, ctx context.Context, o serializer.Options) (*codec.Registry, string, error) {
	t.Helper()
	var buf bytes.Buffer
	o.Log = nodelog.New(&buf, slog.LevelInfo)
	r, err := serializer.NewRegistry(ctx, o)
	return r, buf.String(), err
}

// TestRegistryOrder checks NewRegistry's order against the package doc: the
// defaults, then the user registrator's types, then the library types, and
// that the goroutine's context decides whether the registrator is found.
func TestRegistryOrder(t *testing.T) {
	b := testBundle(t)
	defaults, user, library := names(codec.DefaultTypes()), names(records.Types()), names(codec.LibraryTypes())
	tests := []struct {
		name string
		ctx  context.Context
		o    serializer.Options
		want []string
		// logged is the swallowed failure expected in the log; "" means a quiet build.
		logged string
	}{
		{
			name: "bundle in context", ctx: bundle.With(context.Background(), b),
			o:    serializer.Options{Registrator: registrator, Role: serializer.RoleTask},
			want: slices.Concat(defaults, user, library),
		},
		{
			name: "no registrator", ctx: context.Background(),
			o:    serializer.Options{Role: serializer.RoleTask},
			want: slices.Concat(defaults, library),
		},
		{
			name: "bare context", ctx: context.Background(),
			o:      serializer.Options{Registrator: registrator, Role: serializer.RoleTransport},
			want:   slices.Concat(defaults, library),
			logged: "ClassNotFoundException: " + registrator,
		},
		{
			name: "nonexistent registrator", ctx: bundle.With(context.Background(), b),
			o:      serializer.Options{Registrator: "test.NoSuchRegistrator", Role: serializer.RoleTask},
			want:   slices.Concat(defaults, library),
			logged: "ClassNotFoundException: test.NoSuchRegistrator",
		},
		{
			name: "executor bundle from a bare context", ctx: context.Background(),
			o:    serializer.Options{Registrator: registrator, ExecutorBundle: b, Role: serializer.RoleTransport},
			want: slices.Concat(defaults, user, library),
		},
		{
			name: "executor bundle from a bare context", ctx: context.Background(),
			o:    serializer.Options{Registrator: registrator, ExecutorBundle: b, Role: serializer.RoleTransport},
			want: slices.Concat(defaults, user, library),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, log, err := build(t, tc.ctx, tc.o)
			if err != nil {
				t.Fatalf("NewRegistry without FailFast: %v", err)
			}
			if got := entryNames(r); !slices.Equal(got, tc.want) {
				t.Errorf("registry order\n got %v\nwant %v", got, tc.want)
			}
			for i, e := range r.Entries() {
				if e.ID != i {
					t.Errorf("entry %d has id %d", i, e.ID)
				}
			}
			if tc.logged == "" {
				if log != "" {
					t.Errorf("unexpected log:\n%s", log)
				}
				return
			}
			lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
			first, ok := nodelog.ParseLine(lines[0])
			if !ok || first.Level != slog.LevelError || first.Component != "serializer.KryoSerializer" || first.Msg != "Failed to run spark.kryo.registrator" {
				t.Errorf("log line %q, want an ERROR from serializer.KryoSerializer: Failed to run spark.kryo.registrator", lines[0])
			}
			if len(lines) < 2 || lines[1] != "\t"+tc.logged {
				t.Errorf("stack starts %q, want %q; log:\n%s", lines[1:], "\t"+tc.logged, log)
			}
			if !strings.Contains(log, string(tc.o.Role)+" goroutine") {
				t.Errorf("log does not name the %s goroutine:\n%s", tc.o.Role, log)
			}
		})
	}
}

// TestMissingRegistratorShiftsLibrary is Spark 1.0's failure: a process that
// could not run the registrator gives every library type an id lower by the
// number of user types, and so a different fingerprint.
func TestMissingRegistratorShiftsLibrary(t *testing.T) {
	b := testBundle(t)
	o := serializer.Options{Registrator: registrator, Role: serializer.RoleTask}
	full, _, err := build(t, bundle.With(context.Background(), b), o)
	if err != nil {
		t.Fatal(err)
	}
	o.Role = serializer.RoleTransport
	bare, _, err := build(t, context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if full.Fingerprint() == bare.Fingerprint() {
		t.Fatalf("fingerprints equal (%016x) with and without the user types", full.Fingerprint())
	}
	nUser := len(records.Types())
	if got := full.Len() - bare.Len(); got != nUser {
		t.Errorf("registry without the registrator is %d types shorter, want %d", got, nUser)
	}
	fullIDs := map[string]int{}
	for _, e := range full.Entries() {
		fullIDs[e.Name] = e.ID
	}
	for _, d := range codec.LibraryTypes() {
		var bareID = -1
		for _, e := range bare.Entries() {
			if e.Name == d.Name {
				bareID = e.ID
			}
		}
		if want := fullIDs[d.Name] - nUser; bareID != want {
			t.Errorf("%s: id %d without the registrator, %d with it; want %d", d.Name, bareID, fullIDs[d.Name], want)
		}
	}
	// The ids the writer gave its user types name library types (or nothing)
	// on the reader: the root of the symptoms of FAILURES.md §1.
	d, differ := codec.DiffEntries(full.Entries(), bare.Entries())
	if !differ || d.ID != len(codec.DefaultTypes()) || d.A != records.Types()[0].Name || d.B != codec.LibraryTypes()[0].Name {
		t.Errorf("first difference %v, want id %d: %s vs %s", d, len(codec.DefaultTypes()), records.Types()[0].Name, codec.LibraryTypes()[0].Name)
	}
}

// TestFailFast is the analogue of Spark's "kryo with nonexistent custom
// registrator should fail" (SPARK-2893): under FailFast a registrator that
// cannot be run is an error with a clear message, never a logged line.
func TestFailFast(t *testing.T) {
	b := testBundle(t)
	tests := []struct {
		name        string
		ctx         context.Context
		registrator string
		role        serializer.Role
	}{
		{"nonexistent registrator", bundle.With(context.Background(), b), "test.NoSuchRegistrator", serializer.RoleDriver},
		{"bare context, transport goroutine", context.Background(), registrator, serializer.RoleTransport},
		{"bare context, task goroutine", context.Background(), registrator, serializer.RoleTask},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, log, err := build(t, tc.ctx, serializer.Options{Registrator: tc.registrator, FailFast: true, Role: tc.role})
			if err == nil {
				t.Fatalf("built a registry of %d types, want an error", r.Len())
			}
			if r != nil {
				t.Errorf("returned a registry along with the error")
			}
			var re *serializer.RegistratorError
			if !errors.As(err, &re) {
				t.Fatalf("error %T %v, want *RegistratorError", err, err)
			}
			if re.Registrator != tc.registrator || re.Role != tc.role || re.Kind() != "SparkException" {
				t.Errorf("error fields %q %q %q", re.Registrator, re.Role, re.Kind())
			}
			msg := err.Error()
			for _, want := range []string{"Failed to register classes with Kryo", fmt.Sprintf("%q", tc.registrator), string(tc.role) + " goroutine", "ClassNotFoundException"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
			if k := codec.KindOf(err); k != codec.KindClassNotFound {
				t.Errorf("cause kind %q, want %s", k, codec.KindClassNotFound)
			}
			if log != "" {
				t.Errorf("a fail-fast error was also logged:\n%s", log)
			}
		})
	}
	t.Run("resolvable registrator", func(t *testing.T) {
		r, _, err := build(t, context.Background(), serializer.Options{Registrator: registrator, FailFast: true, ExecutorBundle: b, Role: serializer.RoleTransport})
		if err != nil {
			t.Fatalf("FailFast with a resolvable registrator: %v", err)
		}
		if r.Len() != len(codec.DefaultTypes())+len(records.Types())+len(codec.LibraryTypes()) {
			t.Errorf("registry of %d types", r.Len())
		}
	})
}

// TestRegistrationRequired checks the option reaches the registry: a type the
// registry lacks (the user types, when the registrator was not run) is then
// refused instead of being written by name.
func TestRegistrationRequired(t *testing.T) {
	rec := records.Sample(1, 1)[0]
	for _, required := range []bool{false, true} {
		t.Run(fmt.Sprintf("required=%v", required), func(t *testing.T) {
			r, _, err := build(t, context.Background(), serializer.Options{Registrator: registrator, RegistrationRequired: required, Role: serializer.RoleTransport})
			if err != nil {
				t.Fatal(err)
			}
			err = codec.NewWriter(r, nil).WriteValue(rec)
			switch {
			case required && (err == nil || !strings.Contains(err.Error(), "Class is not registered: "+codec.TypeName(rec))):
				t.Errorf("write of unregistered %s: %v, want Class is not registered", codec.TypeName(rec), err)
			case !required && err != nil:
				t.Errorf("write of unregistered %s by name: %v", codec.TypeName(rec), err)
			}
		})
	}
}

// TestPermutedOrder: a seed always gives the same order, the order is never the
// canonical one, and different seeds give different orders.
func TestPermutedOrder(t *testing.T) {
	types := records.Types()
	canonical := names(types)
	distinct := map[string]bool{}
	for seed := range int64(200) {
		a := names(serializer.Order(types, serializer.Permuted, seed))
		b := names(serializer.Order(types, serializer.Permuted, seed))
		if !slices.Equal(a, b) {
			t.Fatalf("seed %d: two orders %v and %v", seed, a, b)
		}
		if slices.Equal(a, canonical) {
			t.Errorf("seed %d: permuted order is the canonical one", seed)
		}
		sorted := slices.Sorted(slices.Values(a))
		if !slices.Equal(sorted, slices.Sorted(slices.Values(canonical))) {
			t.Fatalf("seed %d: %v is not a permutation of %v", seed, a, canonical)
		}
		distinct[strings.Join(a, ",")] = true
	}
	if len(distinct) < 100 {
		t.Errorf("200 seeds gave only %d distinct orders", len(distinct))
	}
	if got := names(types); !slices.Equal(got, canonical) {
		t.Errorf("Order changed its input to %v", got)
	}

	// Small inputs: two types can only swap; one or none cannot move.
	two := types[:2]
	for seed := range int64(20) {
		if got := names(serializer.Order(two, serializer.Permuted, seed)); !slices.Equal(got, []string{two[1].Name, two[0].Name}) {
			t.Errorf("seed %d: two types permuted to %v", seed, got)
		}
	}
	for _, n := range []int{0, 1} {
		if got := serializer.Order(types[:n], serializer.Permuted, 3); len(got) != n || n == 1 && got[0].Name != types[0].Name {
			t.Errorf("%d types permuted to %v", n, names(got))
		}
	}

	// Through NewRegistry: same seed, same fingerprint; never the canonical one.
	b := testBundle(t)
	ctx := bundle.With(context.Background(), b)
	canon, _, _ := build(t, ctx, serializer.Options{Registrator: registrator})
	p1, _, _ := build(t, ctx, serializer.Options{Registrator: registrator, Order: serializer.Permuted, Seed: 42})
	p2, _, _ := build(t, ctx, serializer.Options{Registrator: registrator, Order: serializer.Permuted, Seed: 42})
	if p1.Fingerprint() != p2.Fingerprint() || p1.Fingerprint() == canon.Fingerprint() {
		t.Errorf("fingerprints: seed 42 %016x and %016x, canonical %016x", p1.Fingerprint(), p2.Fingerprint(), canon.Fingerprint())
	}
}

// TestMapOrderVaries: ranging over a map of nine or more types gives more than
// one order over repeated builds (FAILURES.md §1, Go note), each a
// permutation of the canonical types, and not only rotations of it, which a
// map of eight or fewer entries could give.
func TestMapOrderVaries(t *testing.T) {
	types := records.Types()
	if len(types) < 9 {
		t.Fatalf("only %d user types; map order needs at least 9 to vary beyond its start point", len(types))
	}
	b := testBundle(t)
	ctx := bundle.With(context.Background(), b)
	want := slices.Sorted(slices.Values(names(types)))
	orders := map[uint64]bool{}
	canon := names(types)
	rotations := map[string]bool{}
	for i := range canon {
		rotations[strings.Join(append(slices.Clone(canon[i:]), canon[:i]...), ",")] = true
	}
	nonRotations := 0
	const builds = 50
	for range builds {
		r, _, err := build(t, ctx, serializer.Options{Registrator: registrator, Order: serializer.MapOrder})
		if err != nil {
			t.Fatal(err)
		}
		got := entryNames(r)
		user := got[len(codec.DefaultTypes()) : len(codec.DefaultTypes())+len(types)]
		if !slices.Equal(slices.Sorted(slices.Values(user)), want) {
			t.Fatalf("map order registered %v, not a permutation of the user types", user)
		}
		orders[r.Fingerprint()] = true
		if !rotations[strings.Join(user, ",")] {
			nonRotations++
		}
	}
	if len(orders) < 2 {
		t.Errorf("%d builds in map order gave a single order", builds)
	}
	if nonRotations == 0 {
		t.Errorf("%d builds in map order gave only rotations of the canonical order", builds)
	}
}
