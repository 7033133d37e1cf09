package codec

import (
	"maps"
	"slices"
)

// Tuple1 is the analogue of scala.Tuple1. It deliberately does not implement
// Product2, so a Tuple1 decoded where a pair was written fails a cast.
type Tuple1 struct{ A any }

// Tuple2 is the analogue of scala.Tuple2, the key-value record of a shuffle.
type Tuple2 struct{ A, B any }

// Product2 is what a shuffle reader casts each record to, as Spark casts to
// scala.Product2.
type Product2 interface {
	First() any
	Second() any
}

// First returns the key.
func (t Tuple2) First() any { return t.A }

// Second returns the value.
func (t Tuple2) Second() any { return t.B }

var _ Product2 = Tuple2{}

// Some is the analogue of scala.Some. Value may be nil: Some(null) is a real
// Scala value, distinct from None, and survives a round trip as such.
type Some struct{ Value any }

// None is the analogue of scala.None.
type None struct{}

type tuple1Ser struct{}

func (tuple1Ser) Write(w *Writer, v any) error {
	t, err := As[Tuple1](v, "Tuple1")
	if err != nil {
		return err
	}
	return w.WriteValue(t.A)
}

func (tuple1Ser) Read(r *Reader) (any, error) {
	a, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	return Tuple1{A: a}, nil
}

type tuple2Ser struct{}

func (tuple2Ser) Write(w *Writer, v any) error {
	t, err := As[Tuple2](v, "Tuple2")
	if err != nil {
		return err
	}
	if err := w.WriteValue(t.A); err != nil {
		return err
	}
	return w.WriteValue(t.B)
}

func (tuple2Ser) Read(r *Reader) (any, error) {
	a, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	b, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	return Tuple2{A: a, B: b}, nil
}

type someSer struct{}

func (someSer) Write(w *Writer, v any) error {
	s, err := As[Some](v, "Some")
	if err != nil {
		return err
	}
	return w.WriteValue(s.Value)
}

func (someSer) Read(r *Reader) (any, error) {
	x, err := r.ReadValue()
	if err != nil {
		return nil, err
	}
	return Some{Value: x}, nil
}

type noneSer struct{}

func (noneSer) Write(*Writer, any) error  { return nil }
func (noneSer) Read(*Reader) (any, error) { return None{}, nil }

type sliceSer struct{}

func (sliceSer) Write(w *Writer, v any) error {
	s, err := As[[]any](v, "[]any")
	if err != nil {
		return err
	}
	if s == nil {
		w.WriteVarint(0)
		return nil
	}
	w.WriteVarint(uint64(len(s)) + 1)
	for _, x := range s {
		if err := w.WriteValue(x); err != nil {
			return err
		}
	}
	return nil
}

func (sliceSer) Read(r *Reader) (any, error) {
	n, err := r.readCount()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return []any(nil), nil
	}
	s := make([]any, n)
	for i := range s {
		if s[i], err = r.ReadValue(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// stringMapSer writes a map with string keys in key order, so equal maps give
// equal bytes and a failure caused by a mismatched reader is the same on every
// run; C says how a value travels.
type stringMapSer[V any, C valueCodec[V]] struct{}

// valueCodec writes and reads one map value.
type valueCodec[V any] interface {
	write(*Writer, V) error
	read(*Reader) (V, error)
}

type anyValues struct{}

func (anyValues) write(w *Writer, v any) error { return w.WriteValue(v) }
func (anyValues) read(r *Reader) (any, error)  { return r.ReadValue() }

type int64Values struct{}

func (int64Values) write(w *Writer, v int64) error { w.WriteInt(v); return nil }
func (int64Values) read(r *Reader) (int64, error)  { return r.ReadInt() }

type (
	mapAnySer   = stringMapSer[any, anyValues]
	mapInt64Ser = stringMapSer[int64, int64Values]
)

func (stringMapSer[V, C]) Write(w *Writer, v any) error {
	var c C
	m, err := As[map[string]V](v, TypeName(map[string]V(nil)))
	if err != nil {
		return err
	}
	if m == nil {
		w.WriteVarint(0)
		return nil
	}
	w.WriteVarint(uint64(len(m)) + 1)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		w.WriteString(k)
		if err := c.write(w, m[k]); err != nil {
			return err
		}
	}
	return nil
}

func (stringMapSer[V, C]) Read(r *Reader) (any, error) {
	var c C
	n, err := r.readCount()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return map[string]V(nil), nil
	}
	m := make(map[string]V, n)
	for range n {
		k, err := r.ReadString()
		if err != nil {
			return nil, err
		}
		if m[k], err = c.read(r); err != nil {
			return nil, err
		}
	}
	return m, nil
}

type stringsSer struct{}

func (stringsSer) Write(w *Writer, v any) error {
	s, err := As[[]string](v, "[]string")
	if err != nil {
		return err
	}
	w.WriteStrings(s)
	return nil
}

func (stringsSer) Read(r *Reader) (any, error) {
	s, err := r.ReadStrings()
	if err != nil {
		return nil, err
	}
	return s, nil
}

type int64sSer struct{}

func (int64sSer) Write(w *Writer, v any) error {
	s, err := As[[]int64](v, "[]int64")
	if err != nil {
		return err
	}
	if s == nil {
		w.WriteVarint(0)
		return nil
	}
	w.WriteVarint(uint64(len(s)) + 1)
	for _, x := range s {
		w.WriteInt(x)
	}
	return nil
}

func (int64sSer) Read(r *Reader) (any, error) {
	n, err := r.readCount()
	if err != nil {
		return nil, err
	}
	if n < 0 {
		return []int64(nil), nil
	}
	s := make([]int64, n)
	for i := range s {
		if s[i], err = r.ReadInt(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

var libraryDefs = []TypeDef{
	{Name: "Tuple1", Sample: Tuple1{}, Ser: tuple1Ser{}},
	{Name: "Tuple2", Sample: Tuple2{}, Ser: tuple2Ser{}},
	{Name: "Some", Sample: Some{}, Ser: someSer{}},
	{Name: "None", Sample: None{}, Ser: noneSer{}},
	{Name: "[]any", Sample: []any(nil), Ser: sliceSer{}},
	{Name: "map[string]any", Sample: map[string]any(nil), Ser: mapAnySer{}},
	{Name: "map[string]int64", Sample: map[string]int64(nil), Ser: mapInt64Ser{}},
	{Name: "[]string", Sample: []string(nil), Ser: stringsSer{}},
	{Name: "[]int64", Sample: []int64(nil), Ser: int64sSer{}},
}

// LibraryTypes returns the definitions RegisterLibrary registers, in order.
func LibraryTypes() []TypeDef { return slices.Clone(libraryDefs) }
