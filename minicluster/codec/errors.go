// Package codec is a registry-based binary serialiser modelled on Kryo, the
// serialiser Spark uses for shuffle and cached blocks. Each registered type gets
// the next free integer id, and only that id travels on the wire, so a writer and
// a reader must register the same types in the same order. When they do not,
// decoding goes wrong from the bytes themselves — a wrong type, an unknown class
// name, a read past the end of the buffer — exactly the symptoms Spark users saw
// on executors. Nothing here detects a mismatch on purpose: the codec is the
// unguarded engine, and safeguards live elsewhere.
package codec

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
)

// Error kinds mirror the exception classes a Spark user saw in executor logs, so a
// scenario can be judged by the same names the source documents quote.
const (
	KindClassCast      = "ClassCastException"
	KindClassNotFound  = "ClassNotFoundException"
	KindIndexOutOfBnds = "IndexOutOfBoundsException"
	KindKryo           = "KryoException"
)

// Error is a codec failure of a named kind. Kind is what a JVM would have thrown;
// Msg is its message; Err, when set, is the underlying cause.
type Error struct {
	Kind string
	Msg  string
	Err  error
}

// Error renders "Kind: Msg", followed by the cause when there is one.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Kind + ": " + e.Msg + ": " + e.Err.Error()
	}
	return e.Kind + ": " + e.Msg
}

// Unwrap returns the cause, so errors.Is and errors.As see through an Error.
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of the first codec Error in err's chain, or "" when
// err is nil or carries no codec Error.
func KindOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return ""
}

// As casts a decoded value to T the way a JVM cast would: on mismatch it returns
// a ClassCastException naming both types, e.g. "Tuple1 cannot be cast to
// Product2". want is the name to show for T. A nil value never satisfies the
// cast: a consumer that asked for a T gets told it received null.
func As[T any](v any, want string) (T, error) {
	if t, ok := v.(T); ok {
		return t, nil
	}
	var zero T
	return zero, &Error{Kind: KindClassCast, Msg: TypeName(v) + " cannot be cast to " + want}
}

var selfPkg = reflect.TypeFor[Tuple1]().PkgPath()

// TypeName returns the short name of v's type as error messages show it:
// "Tuple1" for this package's own types, "records.Order" for other named
// types, "int64", "[]byte", "map[string]any", and "null" for nil.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []byte:
		return "[]byte"
	case []any:
		return "[]any"
	case map[string]any:
		return "map[string]any"
	}
	return typeName(reflect.TypeOf(v))
}

func typeName(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		return "*" + typeName(t.Elem())
	}
	if t.Name() != "" && t.PkgPath() == selfPkg {
		return t.Name()
	}
	return strings.ReplaceAll(t.String(), "interface {}", "any")
}

func errIndex(index uint64, length int) error {
	return &Error{Kind: KindIndexOutOfBnds, Msg: "index " + strconv.FormatUint(index, 10) + " out of bounds for length " + strconv.Itoa(length)}
}

func errUnregisteredID(id uint64) error {
	return &Error{Kind: KindKryo, Msg: "Encountered unregistered class ID: " + strconv.FormatUint(id, 10)}
}

func errNotRegistered(name string) error {
	return &Error{Kind: KindKryo, Msg: "Class is not registered: " + name}
}
