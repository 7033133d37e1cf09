package codec

import (
	"reflect"
	"strconv"
)

// Class markers, as Kryo writes them before each value: 0 is null, 1 means the
// type follows by name, and n >= 2 is the registered id n-2.
const (
	markerNull = 0
	markerName = 1
	markerBase = 2
)

// WriteValue writes v's class marker and then its body through the registered
// Serializer; nil is a single null marker. A registered type costs only its id
// on the wire. An unregistered type is written by name (and resolved on reading
// through the class path) unless registration is required, in which case it is
// a KryoException, as with spark.kryo.registrationRequired.
func (w *Writer) WriteValue(v any) error {
	reg := w.reg
	if v == nil {
		w.buf = append(w.buf, markerNull)
		return nil
	}
	// The built-in scalars skip the map lookup and the interface call.
	switch x := v.(type) {
	case string:
		if id := reg.fast[kString]; id > 0 {
			w.WriteVarint(uint64(id - 1 + markerBase))
			w.WriteString(x)
			return nil
		}
	case int64:
		if id := reg.fast[kInt64]; id > 0 {
			w.WriteVarint(uint64(id - 1 + markerBase))
			w.WriteInt(x)
			return nil
		}
	case int:
		if id := reg.fast[kInt]; id > 0 {
			w.WriteVarint(uint64(id - 1 + markerBase))
			w.WriteInt(int64(x))
			return nil
		}
	case float64:
		if id := reg.fast[kFloat64]; id > 0 {
			w.WriteVarint(uint64(id - 1 + markerBase))
			w.WriteFloat64(x)
			return nil
		}
	case bool:
		if id := reg.fast[kBool]; id > 0 {
			w.WriteVarint(uint64(id - 1 + markerBase))
			w.WriteBool(x)
			return nil
		}
	case []byte:
		if id := reg.fast[kBytes]; id > 0 {
			w.WriteVarint(uint64(id - 1 + markerBase))
			w.WriteBytes(x)
			return nil
		}
	}
	t := reflect.TypeOf(v)
	id, ok := reg.byType[t]
	if !ok && t.Kind() == reflect.Pointer {
		// A pointer is a reference: null, or the value it points to.
		if p := reflect.ValueOf(v); !p.IsNil() {
			return w.WriteValue(p.Elem().Interface())
		}
		w.buf = append(w.buf, markerNull)
		return nil
	}
	// Only values with a body count toward the depth: scalars nest nothing.
	if m := reg.maxDepth; m > 0 && w.depth >= m {
		return &DepthError{Path: w.pathString(), Depth: w.depth, Limit: m}
	}
	if !ok {
		return w.writeByName(v)
	}
	w.WriteVarint(uint64(id) + markerBase)
	return w.writeBody(reg.entries[id].ser, v)
}

// SelfDescribing is a value that names its type and serializer itself, so it can
// be written by name when its type is not registered and not on the class path.
type SelfDescribing interface {
	CodecName() string
	CodecSerializer() Serializer
}

// writeBody runs a serializer one level deeper. It recurses through the
// serializer on purpose: an unbounded nesting uses stack like Kryo's does.
func (w *Writer) writeBody(s Serializer, v any) error {
	w.depth++
	if w.depth == w.reg.sightDepth {
		w.reg.sight(Sighting{Kind: SightDeep, Path: w.pathString(), Location: w.location, Depth: w.depth})
	}
	err := s.Write(w, v)
	w.depth--
	return err
}

func (w *Writer) writeByName(v any) error {
	name := TypeName(v)
	if sd, ok := v.(SelfDescribing); ok {
		name = sd.CodecName()
	}
	if w.reg.required {
		return errNotRegistered(name)
	}
	d, ok := w.reg.resolve(name)
	if !ok {
		// Like Kryo's FieldSerializer, which writes any object in memory by
		// reflection without its class loader, a value that describes itself
		// can be written without the class path; reading it back needs one.
		if sd, isSD := v.(SelfDescribing); isSD {
			d, ok = TypeDef{Name: name, Sample: v, Ser: sd.CodecSerializer()}, true
		}
	}
	if !ok || reflect.TypeOf(d.Sample) != reflect.TypeOf(v) {
		return &Error{Kind: KindKryo, Msg: "no serializer for unregistered class: " + name}
	}
	w.buf = append(w.buf, markerName)
	w.WriteString(d.Name)
	return w.writeBody(d.Ser, v)
}

// ReadValue reads one class marker and the body it announces. The marker is
// trusted as Kryo trusts it: whatever type the reader's registry has at that id
// reads the bytes that follow, so a registry that differs from the writer's
// yields a wrong value or an error from the bytes, never a check.
func (r *Reader) ReadValue() (any, error) {
	marker, err := r.ReadVarint()
	if err != nil {
		return nil, err
	}
	switch marker {
	case markerNull:
		return nil, nil
	case markerName:
		return r.readByName()
	}
	reg := r.reg
	id := marker - markerBase
	if id >= uint64(len(reg.entries)) {
		return nil, errUnregisteredID(id)
	}
	e := &reg.entries[id]
	if e.kind != kNone {
		return r.readScalar(e.kind)
	}
	if m := reg.maxDepth; m > 0 && r.depth >= m {
		return nil, &DepthError{Depth: r.depth, Limit: m}
	}
	return r.readBody(e.ser)
}

func (r *Reader) readBody(s Serializer) (any, error) {
	r.depth++
	v, err := s.Read(r)
	r.depth--
	if err != nil {
		return nil, err
	}
	return v, nil
}

// readScalar reads a built-in scalar inline; a failed read yields a nil value
// rather than a boxed zero.
func (r *Reader) readScalar(k kind) (any, error) {
	switch k {
	case kString:
		s, err := r.ReadString()
		if err != nil {
			return nil, err
		}
		return s, nil
	case kInt64:
		i, err := r.ReadInt()
		if err != nil {
			return nil, err
		}
		return i, nil
	case kInt:
		i, err := r.ReadInt()
		if err != nil {
			return nil, err
		}
		return int(i), nil
	case kFloat64:
		f, err := r.ReadFloat64()
		if err != nil {
			return nil, err
		}
		return f, nil
	case kBool:
		b, err := r.ReadBool()
		if err != nil {
			return nil, err
		}
		return b, nil
	case kBytes:
		b, err := r.ReadBytes()
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, &Error{Kind: KindKryo, Msg: "unknown built-in kind " + strconv.Itoa(int(k))}
}

// readByName resolves a type written by name: the reader's own registration
// first (as Kryo does once Class.forName succeeds), then the codec's types and
// the class path. A name found nowhere is a ClassNotFoundException.
func (r *Reader) readByName() (any, error) {
	name, err := r.ReadString()
	if err != nil {
		return nil, err
	}
	reg := r.reg
	if m := reg.maxDepth; m > 0 && r.depth >= m {
		return nil, &DepthError{Depth: r.depth, Limit: m}
	}
	if id, ok := reg.byName[name]; ok {
		return r.readBody(reg.entries[id].ser)
	}
	d, ok := reg.resolve(name)
	if !ok {
		return nil, &Error{Kind: KindClassNotFound, Msg: printable(name)}
	}
	if reg.required {
		return nil, errNotRegistered(d.Name)
	}
	return r.readBody(d.Ser)
}

// printable quotes a class name read from corrupt bytes so it cannot garble a log.
func printable(s string) string {
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == 0xfffd {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}
