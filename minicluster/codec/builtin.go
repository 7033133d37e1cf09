package codec

import (
	"reflect"
	"slices"
)

// builtin serializes one of the core scalar types. The registry recognises it
// and lets the Writer and Reader handle that type inline; its methods serve
// callers that go through the Serializer interface.
type builtin struct{ k kind }

var builtinTypes = [kCount]reflect.Type{
	kBool:    reflect.TypeFor[bool](),
	kInt:     reflect.TypeFor[int](),
	kInt64:   reflect.TypeFor[int64](),
	kFloat64: reflect.TypeFor[float64](),
	kString:  reflect.TypeFor[string](),
	kBytes:   reflect.TypeFor[[]byte](),
}

func (b builtin) typ() reflect.Type { return builtinTypes[b.k] }

func (b builtin) Write(w *Writer, v any) error {
	switch x := v.(type) {
	case bool:
		w.WriteBool(x)
	case int:
		w.WriteInt(int64(x))
	case int64:
		w.WriteInt(x)
	case float64:
		w.WriteFloat64(x)
	case string:
		w.WriteString(x)
	case []byte:
		w.WriteBytes(x)
	default:
		return &Error{Kind: KindClassCast, Msg: TypeName(v) + " cannot be cast to " + typeName(b.typ())}
	}
	return nil
}

func (b builtin) Read(r *Reader) (any, error) { return r.readScalar(b.k) }

var defaultDefs = []TypeDef{
	{Name: "bool", Sample: false, Ser: builtin{kBool}},
	{Name: "int", Sample: 0, Ser: builtin{kInt}},
	{Name: "int64", Sample: int64(0), Ser: builtin{kInt64}},
	{Name: "float64", Sample: 0.0, Ser: builtin{kFloat64}},
	{Name: "string", Sample: "", Ser: builtin{kString}},
	{Name: "[]byte", Sample: []byte(nil), Ser: builtin{kBytes}},
}

// builtinByName is the codec's own part of the class path: its types are always
// resolvable by name, as java.lang and a bundled library would be.
var builtinByName = func() map[string]TypeDef {
	m := make(map[string]TypeDef, len(defaultDefs)+len(libraryDefs))
	for _, d := range slices.Concat(defaultDefs, libraryDefs) {
		m[d.Name] = d
	}
	return m
}()

// DefaultTypes returns the definitions RegisterDefaults registers, in order.
func DefaultTypes() []TypeDef { return slices.Clone(defaultDefs) }
