package codec

import (
	"fmt"
	"reflect"
)

// Option is scala.Option[T] as a typed field: Some(v) when Defined, None
// otherwise. On the wire it is the library's Some or None, so a typed field and
// an untyped value encode alike.
//
// SomeOf(v) is Some whatever v is, so SomeOf of a nil pointer is Scala's
// Some(null), the trap of FAILURES.md §3: a map lookup that found a key whose
// value is nil. OptionOf(v), like Scala's Option.apply, gives None for nil.
type Option[T any] struct {
	Value   T
	Defined bool
}

// SomeOf returns Some(v), even when v is nil.
func SomeOf[T any](v T) Option[T] { return Option[T]{Value: v, Defined: true} }

// NoneOf returns None.
func NoneOf[T any]() Option[T] { return Option[T]{} }

// OptionOf returns None when v is nil (a nil pointer, map, slice, func,
// channel or interface) and Some(v) otherwise, as Scala's Option.apply does.
func OptionOf[T any](v T) Option[T] {
	if isNil(reflect.ValueOf(&v).Elem()) {
		return Option[T]{}
	}
	return Option[T]{Value: v, Defined: true}
}

// Get returns the value and whether there is one.
func (o Option[T]) Get() (T, bool) { return o.Value, o.Defined }

// String renders Some(v), Some(nil) or None.
func (o Option[T]) String() string {
	if !o.Defined {
		return "None"
	}
	rv := reflect.ValueOf(&o.Value).Elem()
	if isNil(rv) {
		return "Some(nil)"
	}
	if rv.Kind() == reflect.Pointer {
		return fmt.Sprintf("Some(%v)", rv.Elem().Interface())
	}
	return fmt.Sprintf("Some(%v)", o.Value)
}

// optionParts lets the field serializer recognise every Option[T].
func (o Option[T]) optionParts() (any, bool) { return o.Value, o.Defined }

type optional interface{ optionParts() (any, bool) }

var optionalType = reflect.TypeFor[optional]()

// isNil reports whether v holds a nil of a kind that can be nil.
func isNil(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return !v.IsValid()
}
