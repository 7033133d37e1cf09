package block_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// fetchBytes is what one benchmark operation moves, in blocks of one size.
const fetchBytes = 8 << 20

// benchRecords are the records of a block of about size bytes: byte slices
// of up to 64 KiB. The same size always gives the same records.
func benchRecords(size int) []any {
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
	return recs
}

// benchBlocks is what the benchmark moves for one block size: the block, and
// the requests that ask for each of its copies. Map ids of three digits give
// every request the same length.
func benchBlocks(tb testing.TB, size int) ([]byte, []rpc.GetBlock) {
	data := encode(tb, canonical(tb), benchRecords(size))
	reqs := make([]rpc.GetBlock, fetchBytes/size)
	for m := range reqs {
		reqs[m] = rpc.GetBlock{Block: block.ShuffleID(0, 100+m, 0), From: 1, TID: 1}
	}
	return data, reqs
}

// requestLen is the length of the fetch's request frame for req, which the
// raw side's requests copy: below a few dozen bytes, loopback answers
// measurably later.
func requestLen(tb testing.TB, req rpc.GetBlock) int {
	js, err := json.Marshal(req)
	if err != nil {
		tb.Fatal(err)
	}
	return 5 + len(js)
}

// rawServer answers each request of reqLen bytes on a loopback TCP
// connection with payloads[request[0]], in one plain write: the floor a block
// fetch is compared with. It serves one connection.
func rawServer(tb testing.TB, reqLen int, payloads [][]byte) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	conn := make(chan net.Conn, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conn <- c
		defer c.Close()
		req := make([]byte, reqLen)
		for {
			if _, err := io.ReadFull(c, req); err != nil {
				return
			}
			if _, err := c.Write(payloads[req[0]]); err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		select {
		case c := <-conn:
			c.Close()
		default:
		}
		<-done
	})
	return ln.Addr().String()
}

// benchServerEnv names the variable that makes TestBenchServerProcess the
// benchmark's server process: "block size, secret in hex".
const benchServerEnv = "FAULTBOOK_BLOCK_BENCH_SERVER"

// TestBenchServerProcess is BenchmarkShuffleFetch's other executor: a block
// server over a store of the benchmark's blocks, and the raw server of the
// same bytes, in a process of their own, as an executor's block server is.
// It prints their addresses and serves until its standard input closes.
func TestBenchServerProcess(t *testing.T) {
	spec := os.Getenv(benchServerEnv)
	if spec == "" {
		t.Skip("the fetch benchmark's server process; runs when the benchmark starts it")
	}
	sizeText, secretText, _ := strings.Cut(spec, ",")
	size, err := strconv.Atoi(sizeText)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := wire.DecodeSecret(secretText)
	if err != nil {
		t.Fatal(err)
	}
	data, reqs := benchBlocks(t, size)
	store := block.NewStore()
	// Every request is for the same block, kept once, as a frame whose
	// payload the raw server sends too: the same bytes from the same memory.
	f, err := block.EncodeFrame(canonical(t), benchRecords(size))
	if err != nil {
		t.Fatal(err)
	}
	if string(f.Payload()) != string(data) {
		t.Fatal("EncodeFrame and Encode differ")
	}
	payloads := make([][]byte, len(reqs))
	for m, req := range reqs {
		store.PutShuffle(req.Block, f)
		payloads[m] = f.Payload()
	}
	srv := startServer(t, context.Background(), secret, storeHandler(store, nil), io.Discard)
	rawAddr := rawServer(t, requestLen(t, reqs[0]), payloads)
	fmt.Printf("addresses %s %s\n", srv.Addr(), rawAddr)
	// Until the benchmark closes our input, or goes away.
	_, _ = io.Copy(io.Discard, os.Stdin)
}

// startBenchServer starts TestBenchServerProcess for blocks of size and
// returns the block server's and the raw server's addresses.
func startBenchServer(b *testing.B, size int, secret []byte) (blockAddr, rawAddr string) {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchServerEnv+"="+strconv.Itoa(size)+","+wire.EncodeSecret(secret))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("server process: %v", err)
		}
	})
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		if f := strings.Fields(lines.Text()); len(f) == 3 && f[0] == "addresses" {
			go func() { _, _ = io.Copy(io.Discard, stdout) }()
			return f[1], f[2]
		}
	}
	b.Fatalf("server process printed no addresses (%v)", lines.Err())
	return "", ""
}

// BenchmarkShuffleFetch moves 8 MiB per operation from one executor's block
// server to another's client over loopback, as shuffle blocks of one size
// (8 MiB, 1 MiB or 64 KiB), and the same bytes over a plain loopback TCP
// connection: each block is fetched and copied raw in turn, which of the two
// goes first alternating from block to block. Both servers run in a process
// of their own (TestBenchServerProcess), the clients in the benchmark's, as
// two executors are two processes: in one process the Go scheduler may run a
// server and its client on one thread, which the cluster never does.
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
	data, reqs := benchBlocks(b, size)
	secret := newSecret(b)
	addr, rawAddr := startBenchServer(b, size, secret)
	cl := block.NewClient(secret, "exec-bench")
	b.Cleanup(func() { cl.Close() })
	raw, err := net.Dial("tcp", rawAddr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Close() })
	rawBuf := make([]byte, len(data))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
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
	rawReq := make([]byte, requestLen(b, reqs[0]))
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
	// and pages touched. Both sides must move the block's bytes.
	got, err := cl.Fetch(ctx, addr, reqs[0])
	if err != nil || string(got) != string(data) {
		b.Fatalf("fetched %d bytes (%v), not the block", len(got), err)
	}
	cl.Release(got)
	for m := range reqs {
		fetch(m)
		rawCopy(m)
	}
	if string(rawBuf) != string(data) {
		b.Fatal("the raw copy is not the block")
	}

	b.ReportAllocs()
	var fetchTime, rawTime time.Duration
	ratios := make([]float64, 0, b.N*len(reqs))
	b.ResetTimer()
	for i := range b.N {
		for m := range reqs {
			var f, r time.Duration
			if (i*len(reqs)+m)%2 == 0 {
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
	mb := float64(len(reqs)*len(data)) * float64(b.N) / 1e6
	b.ReportMetric(mb/fetchTime.Seconds(), "fetch-MB/s")
	b.ReportMetric(mb/rawTime.Seconds(), "raw-MB/s")
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "x-of-raw")
}
