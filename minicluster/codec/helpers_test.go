package codec_test

import (
	"testing"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/serializer"
)

// newRegistry returns a registry with the defaults, the library and, when
// user is not nil, the user types registered by user.
func newRegistry(user func(*codec.Registry)) *codec.Registry {
	r := codec.NewRegistry()
	r.RegisterDefaults()
	r.RegisterLibrary()
	if user != nil {
		user(r)
	}
	return r
}

// canonical and permuted register the record types in the serializer's own
// orders, so the codec is tested on the registries the engine builds.
func canonical() *codec.Registry { return inOrder(serializer.Canonical, 0) }

func permuted(seed int64) *codec.Registry { return inOrder(serializer.Permuted, seed) }

func inOrder(kind serializer.OrderKind, seed int64) *codec.Registry {
	return newRegistry(func(r *codec.Registry) {
		for _, d := range serializer.Order(records.Types(), kind, seed) {
			r.Register(d)
		}
	})
}

// encode writes vs as one stream.
func encode(t testing.TB, reg *codec.Registry, vs ...any) []byte {
	t.Helper()
	w := codec.NewWriter(reg, nil)
	for i, v := range vs {
		if err := w.WriteValue(v); err != nil {
			t.Fatalf("write value %d (%s): %v", i, codec.TypeName(v), err)
		}
	}
	return w.Bytes()
}

// decodeAll reads values until the stream ends or a read fails.
func decodeAll(reg *codec.Registry, data []byte) ([]any, error) {
	r := codec.NewReader(reg, data)
	var out []any
	for r.Remaining() > 0 {
		v, err := r.ReadValue()
		if err != nil {
			return out, err
		}
		out = append(out, v)
	}
	return out, nil
}

// documentedKinds are the failures FAILURES.md §1 lists for a mismatched
// registry, plus Kryo's own exception for ids and depth.
var documentedKinds = map[string]bool{
	codec.KindClassCast:      true,
	codec.KindClassNotFound:  true,
	codec.KindIndexOutOfBnds: true,
	codec.KindKryo:           true,
}
