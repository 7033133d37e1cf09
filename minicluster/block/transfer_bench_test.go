package block_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/rpc"
)

// shuffleBlockSize is the size of the block fetched: a large shuffle output.
const shuffleBlockSize = 8 << 20

// bigShuffleBlock encodes a real block of about size bytes: 64 KiB byte slices.
func bigShuffleBlock(b *testing.B, size int) []byte {
	b.Helper()
	const chunk = 64 << 10
	recs := make([]any, 0, size/chunk)
	for i := range size / chunk {
		p := make([]byte, chunk-16)
		for j := range p {
			p[j] = byte(i + j)
		}
		recs = append(recs, p)
	}
	return encode(b, canonical(b), recs)
}

// rawServer answers each one-byte request on a loopback TCP connection with
// the payload, as plain writes: the floor a block fetch is compared with.
func rawServer(b *testing.B, payload []byte) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var req [1]byte
		for {
			if _, err := io.ReadFull(c, req[:]); err != nil {
				return
			}
			if _, err := c.Write(payload); err != nil {
				return
			}
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

// BenchmarkShuffleFetch fetches an 8 MiB shuffle block through a block server
// and client over loopback, and copies the same bytes over a plain loopback TCP
// connection, alternating the two in the same run. ns/op and MB/s are the
// fetch's; raw-MB/s is the plain copy's, and ratio-vs-raw the fetch's
// throughput over it.
func BenchmarkShuffleFetch(b *testing.B) {
	data := bigShuffleBlock(b, shuffleBlockSize)
	store := block.NewStore()
	id := block.ShuffleID(0, 0, 0)
	store.PutShuffle(id, data)
	secret := newSecret(b)
	srv := startServer(b, context.Background(), secret, storeHandler(store, nil), io.Discard)
	cl := block.NewClient(secret, "exec-bench")
	b.Cleanup(func() { cl.Close() })

	rawAddr := rawServer(b, data)
	raw, err := net.Dial("tcp", rawAddr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	rawBuf := make([]byte, len(data))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// One of each before timing: connections set up, pages touched.
	if _, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: id}); err != nil {
		b.Fatal(err)
	}
	rawCopy := func() {
		if _, err := raw.Write([]byte{1}); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(raw, rawBuf); err != nil {
			b.Fatal(err)
		}
	}
	rawCopy()

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var fetchTime, rawTime time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		got, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: id})
		fetchTime += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(data) {
			b.Fatalf("fetched %d bytes, want %d", len(got), len(data))
		}

		b.StopTimer()
		start = time.Now()
		rawCopy()
		rawTime += time.Since(start)
		b.StartTimer()
	}
	b.StopTimer()
	mb := float64(len(data)) * float64(b.N) / 1e6
	fetchMBs, rawMBs := mb/fetchTime.Seconds(), mb/rawTime.Seconds()
	b.ReportMetric(fetchMBs, "fetch-MB/s")
	b.ReportMetric(rawMBs, "raw-MB/s")
	b.ReportMetric(fetchMBs/rawMBs, "ratio-vs-raw")
}
