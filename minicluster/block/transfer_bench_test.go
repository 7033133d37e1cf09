package block_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/rpc"
)

// fetchBytes is what one benchmark operation moves, in blocks of one size.
const fetchBytes = 8 << 20

// bigShuffleBlock encodes a real block of about size bytes: byte slices of up
// to 64 KiB.
func bigShuffleBlock(b *testing.B, size int) []byte {
	b.Helper()
	const chunk = 64 << 10
	var recs []any
	for i := 0; size > 0; i++ {
		n := min(chunk, size) - 16
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i + j)
		}
		recs = append(recs, p)
		size -= n + 16
	}
	return encode(b, canonical(b), recs)
}

// rawServer answers each request of reqLen bytes on a loopback TCP
// connection with payloads[request[0]], in one plain write: the floor a block
// fetch is compared with. It serves one connection.
func rawServer(b *testing.B, reqLen int, payloads [][]byte) string {
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
		req := make([]byte, reqLen)
		for {
			if _, err := io.ReadFull(c, req[:]); err != nil {
				return
			}
			if _, err := c.Write(payloads[req[0]]); err != nil {
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

// BenchmarkShuffleFetch moves 8 MiB per operation from one executor's block
// server to another's client over loopback, as shuffle blocks of one size
// (8 MiB, 1 MiB or 64 KiB), and the same bytes over a plain loopback TCP
// connection: each block is fetched and copied raw in turn, which of the two
// goes first alternating from block to block.
//
// Both sides follow the same pattern: one connection, opened (and, for the
// fetch, authenticated) before timing; one block in flight, asked for with a
// request of the same length and then read whole; the same block bytes, sent
// from the same memory. The raw side's server answers with one plain write of
// the block, and its client reads exactly the block's length into a buffer it
// reuses: no framing, no request encoding, no bound or budget, no
// authentication. The fetch side is Client.Fetch as a reduce task calls it, a
// GetBlock request answered by Server from the store, the block given back
// with Release once used, as the executor does after decoding it.
//
// ns/op covers both sides (the raw copy allocates nothing, so B/op and
// allocs/op are the fetch's). fetch-MB/s and raw-MB/s are each side's
// throughput over the run. x-of-raw is the median, over the blocks, of the
// raw copy's time over the fetch's for the same block: a burst of load on the
// shared machine slows both sides of a pair, or one pair among many, so it
// moves the throughputs far more than this ratio.
func BenchmarkShuffleFetch(b *testing.B) {
	for _, size := range []int{8 << 20, 1 << 20, 64 << 10} {
		b.Run(fmt.Sprintf("block=%dKiB", size>>10), func(b *testing.B) { benchFetch(b, size) })
	}
}

func benchFetch(b *testing.B, size int) {
	data := bigShuffleBlock(b, size)
	blocks := fetchBytes / size
	store := block.NewStore()
	reqs := make([]rpc.GetBlock, blocks)
	payloads := make([][]byte, blocks)
	for m := range blocks {
		// Map ids of three digits: every request has the same length.
		reqs[m] = rpc.GetBlock{Block: block.ShuffleID(0, 100+m, 0), From: 1, TID: 1}
		store.PutShuffle(reqs[m].Block, data)
		payloads[m] = data
	}
	// The raw request is as long as the fetch's request frame: below a few
	// dozen bytes, loopback answers measurably later.
	req, err := json.Marshal(reqs[0])
	if err != nil {
		b.Fatal(err)
	}
	reqLen := 5 + len(req)
	secret := newSecret(b)
	srv := startServer(b, context.Background(), secret, storeHandler(store, nil), io.Discard)
	cl := block.NewClient(secret, "exec-bench")
	b.Cleanup(func() { cl.Close() })

	raw, err := net.Dial("tcp", rawServer(b, reqLen, payloads))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	rawBuf := make([]byte, len(data))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	addr := srv.Addr()
	fetch := func(m int) time.Duration {
		start := time.Now()
		got, err := cl.Fetch(ctx, addr, reqs[m])
		if err != nil {
			b.Fatal(err)
		}
		cl.Release(got)
		d := time.Since(start)
		if len(got) != len(data) {
			b.Fatalf("fetched %d bytes, want %d", len(got), len(data))
		}
		return d
	}
	rawReq := make([]byte, reqLen)
	rawCopy := func(m int) time.Duration {
		start := time.Now()
		rawReq[0] = byte(m)
		if _, err := raw.Write(rawReq); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(raw, rawBuf); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	// Every block once each way before timing: connections set up, buffers
	// and pages touched.
	for m := range blocks {
		fetch(m)
		rawCopy(m)
	}

	b.ReportAllocs()
	var fetchTime, rawTime time.Duration
	ratios := make([]float64, 0, b.N*blocks)
	b.ResetTimer()
	for i := range b.N {
		for m := range blocks {
			var f, r time.Duration
			if (i*blocks+m)%2 == 0 {
				f = fetch(m)
				r = rawCopy(m)
			} else {
				r = rawCopy(m)
				f = fetch(m)
			}
			fetchTime += f
			rawTime += r
			ratios = append(ratios, r.Seconds()/f.Seconds())
		}
	}
	b.StopTimer()
	mb := float64(blocks*len(data)) * float64(b.N) / 1e6
	b.ReportMetric(mb/fetchTime.Seconds(), "fetch-MB/s")
	b.ReportMetric(mb/rawTime.Seconds(), "raw-MB/s")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-of-raw")
}
