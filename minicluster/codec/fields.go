package codec

import (
	"fmt"
	"reflect"
	"strings"
)

// Fields returns a reflective serializer for the struct type T, the analogue of
// Kryo's FieldSerializer (what Kryo uses for a class with no serializer of its
// own): every exported field, in declaration order, written as a nested value.
//
// A pointer field is a reference: nil is written as null, anything else as the
// value it points to. A field that points to its own type, such as a linked
// list's next, therefore makes the encoder recurse once per node, as Kryo and
// Java serialisation do (FAILURES.md §4), unless the registry encodes such
// chains in a loop (SetIterativeChains). An Option field is written as the
// library's Some or None. Unexported fields are not written, like transient ones.
// It panics when T is not a struct, a programming error.
func Fields[T any]() Serializer {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("codec: Fields[%s]: not a struct", t))
	}
	s := &fieldSer{typ: t, name: typeName(t), chain: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fi := fieldInfo{index: i, name: f.Name, typ: f.Type, option: f.Type.Implements(optionalType)}
		if f.Type.Kind() == reflect.Pointer && f.Type.Elem() == t && s.chain < 0 {
			s.chain = len(s.fields)
		}
		s.fields = append(s.fields, fi)
	}
	return s
}

type fieldInfo struct {
	index  int
	name   string
	typ    reflect.Type
	option bool
}

type fieldSer struct {
	typ    reflect.Type
	name   string
	fields []fieldInfo
	// chain is the position in fields of the first pointer to the struct's own
	// type (a list's next), or -1.
	chain int
}

// Located is a record that knows where it came from, such as a line of an
// input file, so that an encoding error can name the input that caused it.
type Located interface{ Location() string }

func (s *fieldSer) Write(w *Writer, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Type() != s.typ {
		return &Error{Kind: KindClassCast, Msg: TypeName(v) + " cannot be cast to " + s.name}
	}
	if len(w.path) == 0 {
		w.path = append(w.path, s.name)
		defer func() { w.path = w.path[:0] }()
	}
	if l, ok := v.(Located); ok {
		saved := w.location
		w.location = l.Location()
		defer func() { w.location = saved }()
	}
	if s.chain >= 0 && w.reg.iterativeChains {
		return s.writeChain(w, rv)
	}
	return s.writeFields(w, rv, -1)
}

// writeFields writes every field but the one at position skip.
func (s *fieldSer) writeFields(w *Writer, rv reflect.Value, skip int) error {
	for i, f := range s.fields {
		if i == skip {
			continue
		}
		w.path = append(w.path, f.name)
		err := s.writeField(w, rv.Field(f.index), f)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

func (s *fieldSer) writeField(w *Writer, fv reflect.Value, f fieldInfo) error {
	switch {
	case f.option:
		val, defined := fv.Interface().(optional).optionParts()
		if !defined {
			return w.WriteValue(None{})
		}
		if isNil(reflect.ValueOf(val)) {
			w.reg.sight(Sighting{Kind: SightSomeNil, Path: w.pathString(), Location: w.location})
			if w.reg.optionNilCheck {
				return &OptionNilError{Path: w.pathString(), Type: typeName(f.typ), Location: w.location}
			}
		}
		return w.WriteValue(Some{Value: val})
	case fv.Kind() == reflect.Pointer:
		if fv.IsNil() {
			w.buf = append(w.buf, markerNull)
			return nil
		}
		return w.WriteValue(fv.Elem().Interface())
	}
	return w.WriteValue(fv.Interface())
}

// writeChain writes a chain of nodes linked by the chain field in a loop, as
// Scala's List serialises through a proxy: each node's other fields, then 1
// when another node follows or 0 at the end. The stack stays flat however long
// the chain is.
func (s *fieldSer) writeChain(w *Writer, rv reflect.Value) error {
	n := 1
	for {
		if err := s.writeFields(w, rv, s.chain); err != nil {
			return err
		}
		next := rv.Field(s.fields[s.chain].index)
		if next.IsNil() {
			w.WriteVarint(0)
			break
		}
		w.WriteVarint(1)
		rv = next.Elem()
		n++
	}
	if n >= w.reg.sightDepth && w.reg.sightDepth > 0 {
		w.reg.sight(Sighting{Kind: SightDeep, Path: w.pathString() + "." + s.fields[s.chain].name + "…", Location: w.location, Depth: n})
	}
	return nil
}

func (s *fieldSer) Read(r *Reader) (any, error) {
	if s.chain >= 0 && r.reg.iterativeChains {
		return s.readChain(r)
	}
	out := reflect.New(s.typ).Elem()
	if err := s.readFields(r, out, -1); err != nil {
		return nil, err
	}
	return out.Interface(), nil
}

func (s *fieldSer) readChain(r *Reader) (any, error) {
	root := reflect.New(s.typ)
	cur := root
	for {
		if err := s.readFields(r, cur.Elem(), s.chain); err != nil {
			return nil, err
		}
		more, err := r.ReadVarint()
		if err != nil {
			return nil, err
		}
		if more == 0 {
			return root.Elem().Interface(), nil
		}
		next := reflect.New(s.typ)
		cur.Elem().Field(s.fields[s.chain].index).Set(next)
		cur = next
	}
}

func (s *fieldSer) readFields(r *Reader, out reflect.Value, skip int) error {
	for i, f := range s.fields {
		if i == skip {
			continue
		}
		v, err := r.ReadValue()
		if err != nil {
			return err
		}
		if err := assign(out.Field(f.index), v, f.option); err != nil {
			return fmt.Errorf("read %s.%s: %w", s.name, f.name, err)
		}
	}
	return nil
}

// assign stores a decoded value into a field the way the writer took it
// apart: null leaves the zero value (a nil pointer stays a typed nil), a
// pointer field gets a pointer to the value, an Option field is rebuilt from
// Some or None. Anything else that does not fit is a ClassCastException.
func assign(field reflect.Value, v any, option bool) error {
	ft := field.Type()
	if option {
		switch o := v.(type) {
		case None:
			return nil
		case Some:
			field.FieldByName("Defined").SetBool(true)
			return assign(field.FieldByName("Value"), o.Value, false)
		}
		return &Error{Kind: KindClassCast, Msg: TypeName(v) + " cannot be cast to " + typeName(ft)}
	}
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	switch {
	case rv.Type().AssignableTo(ft):
		field.Set(rv)
	case ft.Kind() == reflect.Pointer && rv.Type().AssignableTo(ft.Elem()):
		p := reflect.New(ft.Elem())
		p.Elem().Set(rv)
		field.Set(p)
	default:
		return &Error{Kind: KindClassCast, Msg: TypeName(v) + " cannot be cast to " + typeName(ft)}
	}
	return nil
}

// pathString renders the writer's field path, "records.Listing.Color", with a
// run of one repeated field shown once and an ellipsis: "….First.Next…".
func (w *Writer) pathString() string {
	var b strings.Builder
	for i, p := range w.path {
		if i > 0 && p == w.path[i-1] {
			if i+1 == len(w.path) || w.path[i+1] != p {
				b.WriteString("…")
			}
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// OptionNilError is the option-nil check refusing Some(nil): a defined option
// whose value is a nil pointer, which Scala writes as Some(null) and a JSON
// writer later dereferences (FAILURES.md §3).
type OptionNilError struct {
	// Path is the field, from the record type: "records.Listing.Color".
	Path string
	// Type is the field's type, "codec.Option[*string]".
	Type string
	// Location is the record's input, when it is Located.
	Location string
}

func (e *OptionNilError) Error() string {
	msg := fmt.Sprintf("Some(nil) in %s (%s): a defined option holds a nil pointer, which a reader would dereference; build it with codec.OptionOf, which gives None for nil", e.Path, e.Type)
	if e.Location != "" {
		msg += "; record from " + e.Location
	}
	return msg
}

// Kind is the error type a task failure reports.
func (e *OptionNilError) Kind() string { return "IllegalArgumentException" }

// DepthError is a value nested deeper than the registry's depth limit, Kryo's
// setMaxDepth: the encoder stops with a typed error instead of recursing until
// the stack is exhausted.
type DepthError struct {
	// Path is where the limit was reached, "records.DeepResult.List.First.Next…".
	Path  string
	Depth int
	Limit int
}

func (e *DepthError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("structure too deep: at depth %d (codec depth limit %d)", e.Depth, e.Limit)
	}
	return fmt.Sprintf("structure too deep: %s at depth %d (codec depth limit %d)", e.Path, e.Depth, e.Limit)
}

// Kind is the error type a task failure reports: Kryo's.
func (e *DepthError) Kind() string { return KindKryo }

// SightingKind names what the encoder noticed.
type SightingKind string

const (
	// SightSomeNil: a defined option holding a nil pointer was written.
	SightSomeNil SightingKind = "some-nil"
	// SightDeep: a value nested (or a chain as long as) the sighting depth.
	SightDeep SightingKind = "deep"
)

// Sighting is something the encoder noticed while writing, told to the
// registry's watcher so that a run can prove a fault reached the encoder. It
// never changes what is written.
type Sighting struct {
	Kind     SightingKind
	Path     string
	Location string
	Depth    int
}

func (r *Registry) sight(s Sighting) {
	if r.watch != nil {
		r.watch(s)
	}
}
