package codec_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/codec"
)

// outcome classifies one decode of bytes written with another registry: the
// error kind, or "wrong value" when it decoded into something else. It fails
// the test when a decode is silently equal to the input or errs with an
// undocumented kind.
func outcome(t *testing.T, label string, in, got []any, err error) string {
	t.Helper()
	if err != nil {
		k := codec.KindOf(err)
		if !documentedKinds[k] {
			t.Errorf("%s: undocumented failure %v", label, err)
		}
		return k
	}
	if cmp.Equal(in, got) {
		t.Errorf("%s: decoded with a different registry yet equal to the input", label)
	}
	return "wrong value"
}

// TestMismatchedRegistries decodes fixture records written with the canonical
// registry using readers that register the user types in other orders, or not
// at all. Every decode must fail with a documented kind or come back different;
// across the seeds, every documented kind must turn up, as the seed document
// saw several symptoms from the one cause.
func TestMismatchedRegistries(t *testing.T) {
	writer := canonical()
	userBase := writer.Len() - len(records.Types())
	type reader struct {
		name string
		reg  *codec.Registry
	}
	readers := []reader{{"without user types", newRegistry(nil)}}
	for seed := range int64(300) {
		readers = append(readers, reader{fmt.Sprintf("permuted seed %d", seed), permuted(seed)})
	}
	seen := map[string]int{}
	for i, rd := range readers {
		// A whole block of records: the decode must not come back intact.
		in := records.Sample(int64(i), 200)
		got, err := decodeAll(rd.reg, encode(t, writer, in...))
		seen[outcome(t, rd.name+": block", in, got, err)]++

		// Single records, read as one value as a consumer expecting one record
		// would, wherever the record's id names another type (or none) in the
		// reader.
		entries := rd.reg.Entries()
		for _, v := range records.Sample(int64(i), 30) {
			id := userBase + userIndex(t, v)
			if id < len(entries) && entries[id].Name == codec.TypeName(v) {
				continue // the permutation left this type in place
			}
			got, err := codec.NewReader(rd.reg, encode(t, writer, v)).ReadValue()
			seen[outcome(t, rd.name+": "+codec.TypeName(v), []any{v}, []any{got}, err)]++
		}
	}
	t.Logf("outcomes: %v", seen)
	for k := range documentedKinds {
		if seen[k] == 0 {
			t.Errorf("no mismatched decode produced %s; outcomes %v", k, seen)
		}
	}
	if seen["wrong value"] == 0 {
		t.Errorf("no mismatched decode produced a wrong value; outcomes %v", seen)
	}
}

// userIndex returns the canonical position of v's type among the records.
func userIndex(t *testing.T, v any) int {
	t.Helper()
	for i, d := range records.Types() {
		if reflect.TypeOf(d.Sample) == reflect.TypeOf(v) {
			return i
		}
	}
	t.Fatalf("%s is not a record type", codec.TypeName(v))
	return 0
}

// sampleOf returns the first sample record of type typ.
func sampleOf(t *testing.T, typ reflect.Type) any {
	t.Helper()
	for _, v := range records.Sample(7, 500) {
		if reflect.TypeOf(v) == typ {
			return v
		}
	}
	t.Fatalf("no %v in the sample", typ)
	return nil
}

// TestPermutedSameTypeIsTrulyEqual shows the check above can pass for the
// right reason: a type the permutation leaves in place decodes intact.
func TestPermutedSameTypeIsTrulyEqual(t *testing.T) {
	writer := canonical()
	for seed := range int64(50) {
		reader := permuted(seed)
		for i, d := range records.Types() {
			id := writer.Len() - len(records.Types()) + i
			if reader.Entries()[id].Name != d.Name {
				continue
			}
			one := []any{sampleOf(t, reflect.TypeOf(d.Sample))}
			got, err := decodeAll(reader, encode(t, writer, one...))
			if err != nil || !cmp.Equal(one, got) {
				t.Errorf("seed %d: %s at the same id: %v, %v", seed, d.Name, got, err)
			}
			return
		}
	}
	t.Skip("no permutation among 50 seeds kept a type in place")
}

func FuzzReadValue(f *testing.F) {
	reg := canonical()
	reg.SetClassPath(records.ClassPath)
	for seed := range int64(4) {
		f.Add(encode(f, reg, records.Sample(seed, 3)...))
	}
	f.Add(encode(f, reg, nest(6), []any{1, "x"}, map[string]int64{"a": 1}))
	f.Add(append([]byte{1, 13}, "records.Order"...))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := decodeAll(reg, data)
		if err != nil && codec.KindOf(err) == "" {
			t.Fatalf("decode error without a kind: %v", err)
		}
		// Whatever decoded must survive its own round trip unchanged.
		again, err := decodeAll(reg, encode(t, reg, got...))
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if diff := cmp.Diff(got, again, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("re-decode differs:\n%s", diff)
		}
	})
}
