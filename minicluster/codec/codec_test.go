package codec_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/codec"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"null", nil},
		{"true", true},
		{"false", false},
		{"int", -7},
		{"int max", int(^uint(0) >> 1)},
		{"int64", int64(1) << 62},
		{"int64 negative", int64(-1)},
		{"float64", -1.5},
		{"empty string", ""},
		{"string", "héllo, wörld"},
		{"nil bytes", []byte(nil)},
		{"empty bytes", []byte{}},
		{"bytes", []byte{0, 1, 255}},
		{"Tuple1", codec.Tuple1{A: "a"}},
		{"Tuple2", codec.Tuple2{A: int64(1), B: "b"}},
		{"Some", codec.Some{Value: "x"}},
		{"Some(null)", codec.Some{}},
		{"None", codec.None{}},
		{"nil []any", []any(nil)},
		{"empty []any", []any{}},
		{"[]any", []any{1, "a", nil, int64(2), 2.5, true}},
		{"map[string]any", map[string]any{"b": int64(1), "a": "x", "c": nil}},
		{"nil map[string]any", map[string]any(nil)},
		{"map[string]int64", map[string]int64{"z": -1, "y": 1 << 40}},
		{"[]string", []string{"a", "", "c"}},
		{"nil []string", []string(nil)},
		{"[]int64", []int64{-1, 0, 1 << 50}},
		{"nested", codec.Tuple2{
			A: codec.Some{Value: codec.Tuple1{A: []any{codec.None{}, map[string]any{"k": []byte("v")}}}},
			B: []any{codec.Tuple2{A: "x", B: codec.Some{}}},
		}},
		{"record", records.Order{ID: 1, User: 2, Amount: 3.5, Items: []string{"a"}}},
		{"record in tuple", codec.Tuple2{A: int64(7), B: records.Shipment{ID: 9, Order: records.Order{ID: 1}}}},
	}
	reg := canonical()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(t, reg, tc.v)
			r := codec.NewReader(reg, data)
			got, err := r.ReadValue()
			if err != nil {
				t.Fatalf("read value: %v", err)
			}
			if diff := cmp.Diff(tc.v, got); diff != "" {
				t.Errorf("round trip mismatch (-want +got):\n%s", diff)
			}
			if r.Remaining() != 0 {
				t.Errorf("%d bytes left unread", r.Remaining())
			}
		})
	}
}

func TestRoundTripRecords(t *testing.T) {
	reg := canonical()
	in := records.Sample(1, 2000)
	got, err := decodeAll(reg, encode(t, reg, in...))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("records mismatch (-want +got):\n%s", diff)
	}
}

func TestPrimitivesRoundTrip(t *testing.T) {
	w := codec.NewWriter(nil, make([]byte, 0, 64))
	w.WriteVarint(300)
	w.WriteInt(-300)
	w.WriteString("s")
	w.WriteBytes([]byte{9})
	w.WriteBool(true)
	w.WriteFloat64(0.25)
	w.WriteStrings([]string{"x"})
	r := codec.NewReader(nil, w.Bytes())
	var got []any
	for _, read := range []func() (any, error){
		func() (any, error) { return r.ReadVarint() },
		func() (any, error) { return r.ReadInt() },
		func() (any, error) { return r.ReadString() },
		func() (any, error) { return r.ReadBytes() },
		func() (any, error) { return r.ReadBool() },
		func() (any, error) { return r.ReadFloat64() },
		func() (any, error) { return r.ReadStrings() },
	} {
		v, err := read()
		if err != nil {
			t.Fatalf("read %d: %v", len(got), err)
		}
		got = append(got, v)
	}
	want := []any{uint64(300), int64(-300), "s", []byte{9}, true, 0.25, []string{"x"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("primitives mismatch (-want +got):\n%s", diff)
	}
	w.Reset()
	if len(w.Bytes()) != 0 {
		t.Errorf("after Reset: %d bytes", len(w.Bytes()))
	}
}

func TestIDsOnTheWire(t *testing.T) {
	reg := canonical()
	id := reg.Len() - len(records.Types()) + 1 // records.Order is the second user type
	data := encode(t, reg, records.Order{ID: 5})
	if got, want := data[0], byte(id+2); got != want {
		t.Errorf("class marker = %d, want id %d + 2 = %d", got, id, want)
	}
	if strings.Contains(string(data), "Order") {
		t.Errorf("registered type's name is on the wire: %q", data)
	}
}

func TestRegister(t *testing.T) {
	r := codec.NewRegistry()
	r.RegisterDefaults()
	want := []codec.Entry{{0, "bool"}, {1, "int"}, {2, "int64"}, {3, "float64"}, {4, "string"}, {5, "[]byte"}}
	if diff := cmp.Diff(want, r.Entries()); diff != "" {
		t.Errorf("default entries (-want +got):\n%s", diff)
	}
	first := r.Register(records.Types()[0])
	if again := r.Register(records.Types()[0]); again != first {
		t.Errorf("re-register returned id %d, want existing %d", again, first)
	}
	if r.Len() != 7 {
		t.Errorf("Len = %d, want 7", r.Len())
	}
	defer func() {
		if recover() == nil {
			t.Error("registering a second type under a used name did not panic")
		}
	}()
	r.Register(codec.TypeDef{Name: "records.Click", Sample: records.Word{}, Ser: records.Types()[3].Ser})
}

func TestFingerprint(t *testing.T) {
	base := canonical().Fingerprint()
	if got := canonical().Fingerprint(); got != base {
		t.Errorf("same order: fingerprints %x and %x differ", base, got)
	}
	for seed := range int64(20) {
		if permuted(seed).Fingerprint() == base {
			t.Errorf("seed %d: permuted order has the canonical fingerprint", seed)
		}
	}
	if newRegistry(nil).Fingerprint() == base {
		t.Error("registry without user types has the canonical fingerprint")
	}
}

func TestDiffEntries(t *testing.T) {
	c := canonical().Entries()
	p := permuted(3).Entries()
	firstPermuted := -1
	for i := range c {
		if c[i].Name != p[i].Name {
			firstPermuted = i
			break
		}
	}
	if firstPermuted < 0 {
		t.Fatal("permuted(3) equals canonical")
	}
	lib := newRegistry(nil).Entries()
	tests := []struct {
		name   string
		a, b   []codec.Entry
		want   codec.Difference
		differ bool
	}{
		{"equal", c, canonical().Entries(), codec.Difference{}, false},
		{"permuted", c, p, codec.Difference{ID: firstPermuted, A: c[firstPermuted].Name, B: p[firstPermuted].Name}, true},
		{"b shorter", c, lib, codec.Difference{ID: len(lib), A: c[len(lib)].Name}, true},
		{"a shorter", lib, c, codec.Difference{ID: len(lib), B: c[len(lib)].Name}, true},
		{"both empty", nil, nil, codec.Difference{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, differ := codec.DiffEntries(tc.a, tc.b)
			if differ != tc.differ {
				t.Errorf("differ = %v, want %v", differ, tc.differ)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("difference (-want +got):\n%s", diff)
			}
		})
	}
	d := codec.Difference{ID: 14, A: "records.Order", B: "records.Click"}
	if got, want := d.String(), "id 14: records.Order vs records.Click"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (codec.Difference{ID: 3, A: "x"}).String(), "id 3: x vs (absent)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestTuple1CastToProduct2 reproduces seed 000's symptom from the bytes: the
// reader has one more type registered before the library (as after an upgrade
// that pre-registers one more built-in), so the writer's Tuple2 id is the
// reader's Tuple1, and the shuffle reader's cast fails.
func TestTuple1CastToProduct2(t *testing.T) {
	writer := newRegistry(nil)
	reader := codec.NewRegistry()
	reader.RegisterDefaults()
	reader.Register(codec.LibraryTypes()[7]) // []string, ahead of its usual place
	reader.RegisterLibrary()
	data := encode(t, writer, codec.Tuple2{A: "key", B: int64(1)})
	v, err := codec.NewReader(reader, data).ReadValue()
	if err != nil {
		t.Fatalf("read value: %v", err)
	}
	_, err = codec.As[codec.Product2](v, "Product2")
	if got, want := fmt.Sprint(err), "ClassCastException: Tuple1 cannot be cast to Product2"; got != want {
		t.Errorf("cast error = %q, want %q", got, want)
	}
}

func TestErrorsFromBytes(t *testing.T) {
	full := canonical()
	lib := newRegistry(nil)
	orderID := uint64(lib.Len() + 1)
	tests := []struct {
		name string
		w, r *codec.Registry
		v    any
		data []byte // used instead of encoding v when set
		want string
	}{
		{"unregistered id", full, lib, records.Order{ID: 1}, nil,
			fmt.Sprintf("KryoException: Encountered unregistered class ID: %d", orderID)},
		{"string past end", nil, lib, nil, []byte{4 + 2, 10, 'a', 'b'},
			"IndexOutOfBoundsException: index 11 out of bounds for length 4"},
		{"empty", nil, lib, nil, []byte{}, "IndexOutOfBoundsException: index 0 out of bounds for length 0"},
		{"float truncated", nil, lib, nil, []byte{3 + 2, 1, 2}, "IndexOutOfBoundsException: index 8 out of bounds for length 3"},
		{"absurd count", nil, lib, nil, []byte{10 + 2, 0xff, 0xff, 0xff, 0xff, 0x0f},
			"IndexOutOfBoundsException: index 4294967299 out of bounds for length 6"},
		{"unknown name", nil, lib, nil, append([]byte{1, 6}, "x.Nope"...), "ClassNotFoundException: x.Nope"},
		{"garbage name", nil, lib, nil, []byte{1, 2, 0, 1}, `ClassNotFoundException: "\x00\x01"`},
		{"malformed varint", nil, lib, nil, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
			"KryoException: malformed varint at index 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if data == nil {
				data = encode(t, tc.w, tc.v)
			}
			_, err := codec.NewReader(tc.r, data).ReadValue()
			if got := fmt.Sprint(err); got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRegistrationRequired(t *testing.T) {
	w := newRegistry(nil)
	w.SetRegistrationRequired(true)
	err := codec.NewWriter(w, nil).WriteValue(records.Order{ID: 1})
	if got, want := fmt.Sprint(err), "KryoException: Class is not registered: records.Order"; got != want {
		t.Errorf("write unregistered: %q, want %q", got, want)
	}
	if err := codec.NewWriter(w, nil).WriteValue(codec.Some{Value: "x"}); err != nil {
		t.Errorf("write registered type: %v", err)
	}
}

func TestByName(t *testing.T) {
	withPath := func(required bool) *codec.Registry {
		r := newRegistry(nil)
		r.SetClassPath(records.ClassPath)
		r.SetRegistrationRequired(required)
		return r
	}
	in := []any{records.Order{ID: 1, Items: []string{"a"}}, codec.Tuple2{A: records.Word{Text: "w"}, B: nil}}
	data := encode(t, withPath(false), in...)
	if !strings.Contains(string(data), "records.Order") {
		t.Fatalf("unregistered type not written by name: %q", data)
	}
	got, err := decodeAll(withPath(false), data)
	if err != nil {
		t.Fatalf("decode by name: %v", err)
	}
	if diff := cmp.Diff(in, got); diff != "" {
		t.Errorf("by-name round trip (-want +got):\n%s", diff)
	}
	// A reader that registered the type uses its own registration.
	if got, err := decodeAll(canonical(), data); err != nil || cmp.Diff(in, got) != "" {
		t.Errorf("decode by name with registered type: %v, %v", got, err)
	}
	if _, err := decodeAll(newRegistry(nil), data); fmt.Sprint(err) != "ClassNotFoundException: records.Order" {
		t.Errorf("decode without class path: %v", err)
	}
	if _, err := decodeAll(withPath(true), data); fmt.Sprint(err) != "KryoException: Class is not registered: records.Order" {
		t.Errorf("decode with registration required: %v", err)
	}
	type opaque struct{ N int }
	err = codec.NewWriter(newRegistry(nil), nil).WriteValue(opaque{})
	if codec.KindOf(err) != codec.KindKryo {
		t.Errorf("write with no serializer anywhere: %v", err)
	}
	// A self-describing value is written by name even with no class path, as
	// Kryo writes any object in memory; reading it back needs the class path.
	selfDescribed := encode(t, newRegistry(nil), records.User{ID: 7})
	if _, err := decodeAll(newRegistry(nil), selfDescribed); fmt.Sprint(err) != "ClassNotFoundException: records.User" {
		t.Errorf("decode self-described value without class path: %v", err)
	}
	if got, err := decodeAll(withPath(false), selfDescribed); err != nil || cmp.Diff([]any{records.User{ID: 7}}, got) != "" {
		t.Errorf("decode self-described value with class path: %v, %v", got, err)
	}
	// The codec's own types resolve by name even in an empty registry.
	empty := codec.NewRegistry()
	if got, err := decodeAll(empty, encode(t, empty, "s", codec.None{})); err != nil || cmp.Diff([]any{"s", codec.None{}}, got) != "" {
		t.Errorf("built-ins by name: %v, %v", got, err)
	}
}

func nest(depth int) any {
	var v any = "leaf"
	for range depth {
		v = codec.Some{Value: v}
	}
	return v
}

func TestMaxDepth(t *testing.T) {
	v := nest(4) // four levels of Some, then the leaf: four values with a body
	tests := []struct {
		max     int
		wantErr string
	}{
		{0, ""},
		{4, ""},
		{3, "structure too deep: at depth 3 (codec depth limit 3)"},
		{1, "structure too deep: at depth 1 (codec depth limit 1)"},
	}
	unlimited := encode(t, newRegistry(nil), v)
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.max), func(t *testing.T) {
			reg := newRegistry(nil)
			reg.SetMaxDepth(tc.max)
			werr := codec.NewWriter(reg, nil).WriteValue(v)
			_, rerr := codec.NewReader(reg, unlimited).ReadValue()
			for side, err := range map[string]error{"write": werr, "read": rerr} {
				if got := errString(err); got != tc.wantErr {
					t.Errorf("%s: error %q, want %q", side, got, tc.wantErr)
				}
			}
		})
	}
	// Unlimited really recurses: a deep value still round-trips.
	deep := nest(10000)
	reg := newRegistry(nil)
	got, err := codec.NewReader(reg, encode(t, reg, deep)).ReadValue()
	if err != nil || !cmp.Equal(deep, got) {
		t.Errorf("deep round trip: err %v, equal %v", err, cmp.Equal(deep, got))
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestAsAndTypeName(t *testing.T) {
	tests := []struct {
		v    any
		name string
	}{
		{nil, "null"},
		{codec.Tuple1{}, "Tuple1"},
		{&codec.Tuple2{}, "*Tuple2"},
		{records.Order{}, "records.Order"},
		{int64(1), "int64"},
		{[]byte{}, "[]byte"},
		{[]any{}, "[]any"},
		{map[string]any{}, "map[string]any"},
		{map[string]int64{}, "map[string]int64"},
		{struct{ X any }{}, "struct { X any }"},
	}
	for _, tc := range tests {
		if got := codec.TypeName(tc.v); got != tc.name {
			t.Errorf("TypeName(%#v) = %q, want %q", tc.v, got, tc.name)
		}
	}
	if p, err := codec.As[codec.Product2](codec.Tuple2{A: 1, B: 2}, "Product2"); err != nil || p.First() != 1 || p.Second() != 2 {
		t.Errorf("As Tuple2 to Product2: %v, %v", p, err)
	}
	_, err := codec.As[records.Order](nil, "records.Order")
	if got, want := fmt.Sprint(err), "ClassCastException: null cannot be cast to records.Order"; got != want {
		t.Errorf("As(nil) = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("fetch block 3: %w", err)
	if codec.KindOf(wrapped) != codec.KindClassCast {
		t.Errorf("KindOf(wrapped) = %q", codec.KindOf(wrapped))
	}
	if codec.KindOf(errors.New("other")) != "" || codec.KindOf(nil) != "" {
		t.Error("KindOf of a non-codec error is not empty")
	}
	cause := errors.New("cause")
	e := &codec.Error{Kind: codec.KindKryo, Msg: "m", Err: cause}
	if !errors.Is(e, cause) || e.Error() != "KryoException: m: cause" {
		t.Errorf("Error with cause: %q, Is %v", e.Error(), errors.Is(e, cause))
	}
}
