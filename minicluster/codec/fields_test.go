package codec_test

import (
	"errors"
	"runtime/debug"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/codec"
)

func reflective() *codec.Registry {
	return newRegistry(func(r *codec.Registry) {
		for _, d := range records.ReflectiveTypes() {
			r.Register(d)
		}
	})
}

func str(s string) *string { return &s }

func listOf(n int) records.ListResult {
	res := records.ListResult{Partition: 7}
	for i := range n {
		res.List.Append(int64(i))
	}
	return res
}

func roundTrip(t *testing.T, reg *codec.Registry, v any) any {
	t.Helper()
	got, err := codec.NewReader(reg, encode(t, reg, v)).ReadValue()
	if err != nil {
		t.Fatalf("decode %s: %v", codec.TypeName(v), err)
	}
	return got
}

func TestOptionOf(t *testing.T) {
	var nilMap map[string]int
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"nil pointer", codec.OptionOf[*string](nil).String(), "None"},
		{"pointer", codec.OptionOf(str("blue")).String(), "Some(blue)"},
		{"nil map", codec.OptionOf(nilMap).String(), "None"},
		{"zero int is a value", codec.OptionOf(0).String(), "Some(0)"},
		{"SomeOf nil is Scala's Some(null)", codec.SomeOf[*string](nil).String(), "Some(nil)"},
		{"NoneOf", codec.NoneOf[int]().String(), "None"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, tc.got, tc.want)
		}
	}
}

// The reflective serializer keeps every option as it was, Some(nil) included:
// the codec, like Kryo, carries the trap through a shuffle untouched.
func TestFieldsRoundTrip(t *testing.T) {
	reg := reflective()
	l := records.Listing{Line: 7, ID: 1006, Title: codec.SomeOf(str("Oak desk")), Price: codec.NoneOf[*string](),
		Color: codec.SomeOf[*string](nil), Seller: codec.OptionOf(str("acme"))}
	got := roundTrip(t, reg, l).(records.Listing)
	if diff := cmp.Diff(l, got); diff != "" {
		t.Errorf("listing round trip (-want +got):\n%s", diff)
	}
	if v, ok := got.Color.Get(); !ok || v != nil {
		t.Errorf("Color = %v, want Some(nil) with a typed nil *string", got.Color)
	}
	res := listOf(50)
	back := roundTrip(t, reg, res).(records.ListResult)
	if !cmp.Equal(res.List.Values(), back.List.Values()) || back.List.Len != 50 {
		t.Errorf("list round trip: %v", back.List)
	}
}

func TestOptionNilCheck(t *testing.T) {
	some := records.Listing{Line: 3, ID: 1, Color: codec.SomeOf(str("red"))}
	none := records.Listing{Line: 4, ID: 2, Color: codec.NoneOf[*string]()}
	bad := records.Listing{Line: 536, ID: 1535, Color: codec.SomeOf[*string](nil)}
	tests := []struct {
		name    string
		check   bool
		v       any
		wantErr bool
	}{
		{"check off lets Some(nil) through", false, bad, false},
		{"check refuses Some(nil)", true, bad, true},
		{"check refuses Some(nil) nested in a pair", true, codec.Tuple2{A: int64(1535), B: bad}, true},
		{"check passes Some(value)", true, some, false},
		{"check passes None", true, none, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := reflective()
			reg.SetOptionNilCheck(tc.check)
			err := codec.NewWriter(reg, nil).WriteValue(tc.v)
			var one *codec.OptionNilError
			if got := errors.As(err, &one); got != tc.wantErr {
				t.Fatalf("error %v, want an OptionNilError: %v", err, tc.wantErr)
			}
			if one != nil && (one.Path != "records.Listing.Color" || one.Location != "input line 536 of listings.txt") {
				t.Errorf("refusal names %q at %q, want records.Listing.Color at input line 536", one.Path, one.Location)
			}
		})
	}
}

func TestDepthLimitNamesThePath(t *testing.T) {
	tests := []struct {
		name    string
		limit   int
		n       int
		wantErr bool
	}{
		{"no limit, as Spark", 0, 500, false},
		{"short list under the limit", 200, 50, false},
		{"long list over the limit", 200, 500, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := reflective()
			reg.SetMaxDepth(tc.limit)
			err := codec.NewWriter(reg, nil).WriteValue(listOf(tc.n))
			var de *codec.DepthError
			if got := errors.As(err, &de); got != tc.wantErr {
				t.Fatalf("error %v, want a DepthError: %v", err, tc.wantErr)
			}
			if de != nil {
				if de.Path != "records.ListResult.List.First.Next…" || de.Depth != tc.limit {
					t.Errorf("depth error %q", de)
				}
			}
		})
	}
}

// Iterative encoding keeps the stack flat: a list far longer than a 1 MiB
// stack holds by recursion round-trips within that limit.
func TestIterativeChains(t *testing.T) {
	reg := reflective()
	reg.SetIterativeChains(true)
	old := debug.SetMaxStack(1 << 20)
	defer debug.SetMaxStack(old)
	res := listOf(20_000)
	done := make(chan any, 1)
	go func() { done <- roundTrip(t, reg, res) }()
	back := (<-done).(records.ListResult)
	if back.List.Len != 20_000 || !cmp.Equal(res.List.Values(), back.List.Values()) {
		t.Errorf("iterative round trip lost elements: len %d", back.List.Len)
	}
	// The two encodings differ on the wire: writer and reader must agree.
	rec := reflective()
	if cmp.Equal(encode(t, reg, listOf(3)), encode(t, rec, listOf(3))) {
		t.Error("iterative and recursive encodings are identical; the safeguard changes nothing")
	}
}

func TestWatchSeesWhatReachesTheEncoder(t *testing.T) {
	reg := reflective()
	var seen []codec.Sighting
	reg.SetWatch(100, func(s codec.Sighting) { seen = append(seen, s) })
	encode(t, reg, records.Listing{Line: 9, Color: codec.SomeOf[*string](nil)}, listOf(50))
	if len(seen) != 1 || seen[0].Kind != codec.SightSomeNil || seen[0].Path != "records.Listing.Color" {
		t.Fatalf("sightings %+v, want one Some(nil) at records.Listing.Color and nothing for a short list", seen)
	}
	encode(t, reg, listOf(150))
	if len(seen) != 2 || seen[1].Kind != codec.SightDeep || seen[1].Depth != 100 {
		t.Errorf("sightings %+v, want a deep value at 100", seen)
	}
}

func TestPointersAreReferences(t *testing.T) {
	reg := newRegistry(nil)
	got, err := decodeAll(reg, encode(t, reg, (*string)(nil), str("x")))
	if err != nil || !cmp.Equal([]any{nil, "x"}, got) {
		t.Errorf("pointers decode as %v, %v; want null then the value", got, err)
	}
}
