package codec_test

import (
	"bytes"
	"encoding/gob"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/codec"
)

// benchRecords is the number of records per operation: about one shuffle block.
const benchRecords = 1000

var registerGob = sync.OnceFunc(func() {
	for _, d := range records.Types() {
		gob.Register(d.Sample)
	}
	gob.Register(codec.Tuple2{})
	gob.Register(codec.Some{})
	gob.Register(map[string]any{})
})

// codecRoundTrip encodes recs as a count and a stream of values, decodes them
// back, and returns the encoded size.
func codecRoundTrip(reg *codec.Registry, w *codec.Writer, recs []any, out []any) (int, error) {
	w.Reset()
	w.WriteVarint(uint64(len(recs)))
	for _, v := range recs {
		if err := w.WriteValue(v); err != nil {
			return 0, err
		}
	}
	r := codec.NewReader(reg, w.Bytes())
	n, err := r.ReadVarint()
	if err != nil {
		return 0, err
	}
	for i := range n {
		if out[i], err = r.ReadValue(); err != nil {
			return 0, err
		}
	}
	return len(w.Bytes()), nil
}

// gobRoundTrip does the same with a fresh gob stream, as each block would be.
func gobRoundTrip(buf *bytes.Buffer, recs []any) (int, error) {
	buf.Reset()
	if err := gob.NewEncoder(buf).Encode(recs); err != nil {
		return 0, err
	}
	n := buf.Len()
	var out []any
	if err := gob.NewDecoder(buf).Decode(&out); err != nil {
		return 0, err
	}
	return n, nil
}

func BenchmarkCodecRoundTrip(b *testing.B) {
	reg := canonical()
	recs := records.Sample(1, benchRecords)
	w := codec.NewWriter(reg, make([]byte, 0, 1<<18))
	out := make([]any, len(recs))
	var n int
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if n, err = codecRoundTrip(reg, w, recs, out); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "wire-bytes/op")
}

func BenchmarkGobRoundTrip(b *testing.B) {
	registerGob()
	recs := records.Sample(1, benchRecords)
	var buf bytes.Buffer
	var n int
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if n, err = gobRoundTrip(&buf, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "wire-bytes/op")
}

// BenchmarkCodecVsGob runs both on the same records in the same run, so the
// ratios it reports are not skewed by a machine that got busier in between.
func BenchmarkCodecVsGob(b *testing.B) {
	registerGob()
	reg := canonical()
	recs := records.Sample(1, benchRecords)
	w := codec.NewWriter(reg, make([]byte, 0, 1<<18))
	out := make([]any, len(recs))
	var buf bytes.Buffer
	var codecTime, gobTime time.Duration
	var codecBytes, gobBytes int
	for b.Loop() {
		start := time.Now()
		n, err := codecRoundTrip(reg, w, recs, out)
		if err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		g, err := gobRoundTrip(&buf, recs)
		if err != nil {
			b.Fatal(err)
		}
		codecTime += mid.Sub(start)
		gobTime += time.Since(mid)
		codecBytes, gobBytes = n, g
	}
	b.ReportMetric(float64(gobTime)/float64(codecTime), "speedup-x")
	b.ReportMetric(float64(gobBytes)/float64(codecBytes), "size-ratio")
	b.ReportMetric(float64(codecBytes), "codec-bytes/op")
	b.ReportMetric(float64(gobBytes), "gob-bytes/op")
}
