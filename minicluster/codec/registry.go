package codec

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"reflect"
)

// Serializer writes and reads the body of one registered type; the codec writes
// the class marker before calling Write and has consumed it before calling Read.
// A serializer whose type holds other values writes them with Writer.WriteValue,
// which is how nesting depth is counted.
type Serializer interface {
	Write(w *Writer, v any) error
	Read(r *Reader) (any, error)
}

// TypeDef is a type to register: a stable Name such as "records.Order" (the only
// thing written for an unregistered type, and what a class path resolves), a
// Sample value whose dynamic type identifies the Go type, and its Serializer.
type TypeDef struct {
	Name   string
	Sample any
	Ser    Serializer
}

// Entry is one registration as it can be shown or compared between processes.
type Entry struct {
	ID   int
	Name string
}

// kind marks the built-in scalar types the codec writes inline, without a call
// through their Serializer, when they are registered with the built-in one.
type kind uint8

const (
	kNone kind = iota
	kBool
	kInt
	kInt64
	kFloat64
	kString
	kBytes
	kCount
)

type entry struct {
	name string
	typ  reflect.Type
	ser  Serializer
	kind kind
}

// Registry maps types to ids in registration order. Registration is not safe for
// concurrent use; once built, a Registry is only read, so any number of Writers
// and Readers may share it across goroutines.
type Registry struct {
	entries []entry
	byType  map[reflect.Type]int
	byName  map[string]int
	// fast holds id+1 of each built-in scalar registered with its built-in
	// serializer; 0 means absent.
	fast      [kCount]int
	required  bool
	maxDepth  int
	classPath func(name string) (TypeDef, bool)
	// optionNilCheck refuses Some(nil) in reflective fields; iterativeChains
	// writes self-referential pointer chains in a loop.
	optionNilCheck  bool
	iterativeChains bool
	// watch is told what the encoder notices; sightDepth is the nesting (or
	// chain length) at which it is told of a deep value, 0 for never.
	watch      func(Sighting)
	sightDepth int
}

// NewRegistry returns an empty registry: no types, registration not required,
// no depth limit and no class path beyond the codec's own types.
func NewRegistry() *Registry {
	return &Registry{byType: make(map[reflect.Type]int), byName: make(map[string]int)}
}

// Register gives d's type the next free id and returns it. Registering a Go type
// that is already registered changes nothing and returns the existing id, as
// Kryo does. An empty name, a nil sample or serializer, or a name already used
// by another type is a programming error and panics.
func (r *Registry) Register(d TypeDef) int {
	if d.Name == "" || d.Sample == nil || d.Ser == nil {
		panic(fmt.Sprintf("codec: register %q: name, sample and serializer are all required", d.Name))
	}
	t := reflect.TypeOf(d.Sample)
	if id, ok := r.byType[t]; ok {
		return id
	}
	if id, ok := r.byName[d.Name]; ok {
		panic(fmt.Sprintf("codec: register %s: name already used by id %d (%v)", d.Name, id, r.entries[id].typ))
	}
	id := len(r.entries)
	e := entry{name: d.Name, typ: t, ser: d.Ser}
	if b, ok := d.Ser.(builtin); ok && b.typ() == t {
		e.kind = b.k
		r.fast[b.k] = id + 1
	}
	r.entries = append(r.entries, e)
	r.byType[t] = id
	r.byName[d.Name] = id
	return id
}

// RegisterDefaults registers the core built-in types, the analogue of the
// classes Kryo registers before any user type: bool, int, int64, float64,
// string, []byte. On an empty registry they take ids 0 to 5.
func (r *Registry) RegisterDefaults() {
	for _, d := range defaultDefs {
		r.Register(d)
	}
}

// RegisterLibrary registers the library types, the analogue of what Twitter
// Chill adds for Scala: Tuple1, Tuple2, Some, None, []any, map[string]any,
// map[string]int64, []string, []int64, in that order.
func (r *Registry) RegisterLibrary() {
	for _, d := range libraryDefs {
		r.Register(d)
	}
}

// SetRegistrationRequired mirrors spark.kryo.registrationRequired (default
// false): when set, writing or reading a type by name instead of by id is an
// error. It does not compare orders of registered types.
func (r *Registry) SetRegistrationRequired(required bool) { r.required = required }

// SetMaxDepth mirrors Kryo's setMaxDepth: nesting deeper than n values is an
// error. 0, the default (and Spark's), means unlimited: a deep enough value then
// recurses until the goroutine stack is exhausted.
func (r *Registry) SetMaxDepth(n int) { r.maxDepth = max(n, 0) }

// SetOptionNilCheck makes the reflective serializer refuse a defined Option
// holding a nil pointer (Some(nil)) with an OptionNilError naming the field and
// the record's input. Beyond Spark: Kryo writes Some(null) without a word.
func (r *Registry) SetOptionNilCheck(on bool) { r.optionNilCheck = on }

// SetIterativeChains makes the reflective serializer write a chain of structs
// linked by a pointer to their own type in a loop rather than by recursion, as
// Scala's List serialises through a proxy. Writer and reader must agree.
func (r *Registry) SetIterativeChains(on bool) { r.iterativeChains = on }

// SetWatch tells fn what the encoder notices (Some(nil) written; a value
// nested, or a chain as long as, depth), so that a run can prove a fault reached
// the encoder. It changes nothing that is written. fn runs on the encoding
// goroutine; a depth <= 0 reports no deep values.
func (r *Registry) SetWatch(depth int, fn func(Sighting)) { r.watch, r.sightDepth = fn, max(depth, 0) }

// SetClassPath sets how a type written by name is resolved, on reading, when
// this registry does not have it and it is not one of the codec's own types —
// the analogue of Class.forName on the executor's class path.
func (r *Registry) SetClassPath(lookup func(name string) (TypeDef, bool)) { r.classPath = lookup }

// Entries returns the registrations in id order.
func (r *Registry) Entries() []Entry {
	out := make([]Entry, len(r.entries))
	for i, e := range r.entries {
		out[i] = Entry{ID: i, Name: e.name}
	}
	return out
}

// Len returns the number of registered types, which is also the next free id.
func (r *Registry) Len() int { return len(r.entries) }

// Fingerprint hashes the (id, name) sequence with FNV-1a 64: two registries
// that would agree on every id have equal fingerprints.
func (r *Registry) Fingerprint() uint64 {
	h := fnv.New64a()
	var buf []byte
	for i, e := range r.entries {
		buf = binary.AppendUvarint(buf[:0], uint64(i))
		buf = append(buf, e.name...)
		buf = append(buf, 0)
		h.Write(buf)
	}
	return h.Sum64()
}

// Difference is the first id at which two registrations disagree; A or B is ""
// when that side has no type at ID.
type Difference struct {
	ID   int
	A, B string
}

// String renders the difference as "id 14: records.Order vs records.Click".
func (d Difference) String() string {
	return fmt.Sprintf("id %d: %s vs %s", d.ID, orAbsent(d.A), orAbsent(d.B))
}

func orAbsent(s string) string {
	if s == "" {
		return "(absent)"
	}
	return s
}

// DiffEntries reports the first id at which a and b differ, and whether they
// differ at all. Entries are compared by position, which is their id.
func DiffEntries(a, b []Entry) (Difference, bool) {
	for i := range max(len(a), len(b)) {
		var na, nb string
		if i < len(a) {
			na = a[i].Name
		}
		if i < len(b) {
			nb = b[i].Name
		}
		if na != nb {
			return Difference{ID: i, A: na, B: nb}, true
		}
	}
	return Difference{}, false
}

// resolve finds the definition of a type known only by name: first the codec's
// own types, then the class path.
func (r *Registry) resolve(name string) (TypeDef, bool) {
	if d, ok := builtinByName[name]; ok {
		return d, true
	}
	if r.classPath != nil {
		return r.classPath(name)
	}
	return TypeDef{}, false
}
