package block_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/faultbook/faultbook/fixtures/records"
	"github.com/faultbook/faultbook/minicluster/block"
	"github.com/faultbook/faultbook/minicluster/bundle"
	"github.com/faultbook/faultbook/minicluster/codec"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/rpc"
	"github.com/faultbook/faultbook/minicluster/serializer"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// bound guards every network step against hangs; nothing waits on it.
const bound = 5 * time.Second

const registrator = "test.RecordsRegistrator"

func testBundle(tb testing.TB) *bundle.Bundle {
	tb.Helper()
	b := bundle.New("block-test")
	if err := b.AddRegistrator(bundle.Registrator{Name: registrator, Types: records.Types()}); err != nil {
		tb.Fatal(err)
	}
	return b
}

// registry builds a registry as a process of the test bundle does: ctx decides
// whether the registrator is found, order and seed how its types are ordered.
func registry(tb testing.TB, ctx context.Context, order serializer.OrderKind, seed int64) *codec.Registry {
	tb.Helper()
	r, err := serializer.NewRegistry(ctx, serializer.Options{Registrator: registrator, Order: order, Seed: seed})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func canonical(tb testing.TB) *codec.Registry {
	tb.Helper()
	return registry(tb, bundle.With(context.Background(), testBundle(tb)), serializer.Canonical, 0)
}

func encode(tb testing.TB, reg *codec.Registry, recs []any) []byte {
	tb.Helper()
	b, err := block.Encode(reg, recs)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// blockFrame keeps block bytes as a block server sends them.
func blockFrame(b []byte) wire.Frame { return wire.NewFrame(rpc.MsgBlockData, b) }

// shuffleRecords is what a map task writes: (key, record) pairs.
func shuffleRecords(seed int64, n int) []any {
	out := make([]any, n)
	for i, r := range records.Sample(seed, n) {
		out[i] = codec.Tuple2{A: int64(i % 7), B: r}
	}
	return out
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	reg := canonical(t)
	tests := []struct {
		name string
		recs []any
	}{
		{"empty", []any{}},
		{"scalars", []any{true, 1, int64(-2), 3.5, "four", []byte{5}}},
		{"library types", []any{codec.Tuple1{A: "x"}, codec.Some{Value: nil}, codec.None{}, []string{"a"}, map[string]int64{"k": 1}}},
		{"records", records.Sample(3, 200)},
		{"shuffle pairs", shuffleRecords(4, 200)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(t, reg, tc.recs)
			h, body, err := block.ReadHeader(data)
			if err != nil {
				t.Fatal(err)
			}
			if h.Fingerprint != reg.Fingerprint() || h.Types != reg.Len() || h.Count != len(tc.recs) {
				t.Errorf("header %+v, want fingerprint %016x, %d types, %d records", h, reg.Fingerprint(), reg.Len(), len(tc.recs))
			}
			if !bytes.HasSuffix(data, body) {
				t.Error("ReadHeader's rest is not the tail of the block")
			}
			for _, verify := range []bool{false, true} {
				got, err := block.Decode(reg, "shuffle_0_0_0", data, verify)
				if err != nil {
					t.Fatalf("verify=%v: %v", verify, err)
				}
				if !reflect.DeepEqual(got, tc.recs) {
					t.Errorf("verify=%v: decoded %v, want %v", verify, got, tc.recs)
				}
			}
		})
	}
}

// documentedKinds are the symptoms FAILURES.md §1 lists for a block read with
// another registration order, plus Kryo's own exception for unknown ids.
var documentedKinds = map[string]bool{
	codec.KindClassCast:      true,
	codec.KindClassNotFound:  true,
	codec.KindIndexOutOfBnds: true,
	codec.KindKryo:           true,
}

// TestDecodeOtherRegistry reads a block with registries that order the user
// types differently, or lack them. With verify the header refuses it before any
// record is read; without, it fails from the bytes with a documented kind or
// decodes into different data, never into the written records.
func TestDecodeOtherRegistry(t *testing.T) {
	b := testBundle(t)
	writer := canonical(t)
	recs := shuffleRecords(9, 300)
	data := encode(t, writer, recs)
	readers := []struct {
		name string
		reg  *codec.Registry
	}{
		{"permuted seed 1", registry(t, bundle.With(context.Background(), b), serializer.Permuted, 1)},
		{"permuted seed 2", registry(t, bundle.With(context.Background(), b), serializer.Permuted, 2)},
		{"without the registrator", registry(t, context.Background(), serializer.Canonical, 0)},
	}
	for _, rd := range readers {
		t.Run(rd.name, func(t *testing.T) {
			_, err := block.Decode(rd.reg, "shuffle_1_2_3", data, true)
			var me *block.MismatchError
			if !errors.As(err, &me) {
				t.Fatalf("verify=true: %v, want *MismatchError", err)
			}
			if me.Block != "shuffle_1_2_3" || me.Writer.Fingerprint != writer.Fingerprint() || me.Writer.Types != writer.Len() ||
				me.ReaderPrint != rd.reg.Fingerprint() || me.ReaderTypes != rd.reg.Len() || me.Kind() != "RegistryMismatchException" {
				t.Errorf("mismatch %+v", me)
			}
			msg := err.Error()
			for _, want := range []string{
				"shuffle_1_2_3",
				fmt.Sprintf("%016x (%d types)", writer.Fingerprint(), writer.Len()),
				fmt.Sprintf("%016x (%d types)", rd.reg.Fingerprint(), rd.reg.Len()),
			} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}

			got, err := block.Decode(rd.reg, "shuffle_1_2_3", data, false)
			switch {
			case err != nil && !documentedKinds[codec.KindOf(err)]:
				t.Errorf("verify=false: undocumented failure %v", err)
			case err != nil:
				t.Logf("verify=false: %v", err)
			case reflect.DeepEqual(got, recs):
				t.Error("verify=false: a block read with another registry came back intact")
			default:
				t.Logf("verify=false: %d records of different data", len(got))
			}
		})
	}
	t.Run("same registry built twice", func(t *testing.T) {
		if _, err := block.Decode(canonical(t), "shuffle_1_2_3", data, true); err != nil {
			t.Errorf("verify=true with an equal registry: %v", err)
		}
	})
}

func TestCorruptHeaders(t *testing.T) {
	valid := encode(t, canonical(t), []any{int64(1), int64(2)})
	header := func(types, count []byte) []byte {
		b := append([]byte{'F', 'B', 1}, make([]byte, 8)...)
		return append(append(b, types...), count...)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"shorter than a header", valid[:10]},
		{"bad magic", append([]byte{'X'}, valid[1:]...)},
		{"bad version", append([]byte{'F', 'B', 2}, valid[3:]...)},
		{"no registry size", header(nil, nil)[:11]},
		{"truncated registry size", header([]byte{0x80}, nil)},
		{"overlong registry size", header(bytes.Repeat([]byte{0xff}, 11), []byte{0})},
		{"no record count", header([]byte{5}, nil)},
		{"truncated record count", header([]byte{5}, []byte{0x80})},
		{"more records than bytes", header([]byte{5}, binary.AppendUvarint(nil, 1000))},
		{"absurd record count", header([]byte{5}, binary.AppendUvarint(nil, 1<<62))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := block.ReadHeader(tc.data); !errors.Is(err, block.ErrCorrupt) {
				t.Errorf("ReadHeader: %v, want ErrCorrupt", err)
			}
			_, err := block.Decode(canonical(t), "rdd_1_0", tc.data, true)
			if !errors.Is(err, block.ErrCorrupt) || !strings.Contains(err.Error(), "rdd_1_0") {
				t.Errorf("Decode: %v, want ErrCorrupt naming the block", err)
			}
		})
	}
}

// FuzzReadHeader: any bytes give either a header whose count the data could
// hold and a rest that is the data's tail, or ErrCorrupt; never a panic.
func FuzzReadHeader(f *testing.F) {
	reg := canonical(f)
	f.Add(encode(f, reg, nil))
	f.Add(encode(f, reg, []any{int64(1), "two"}))
	f.Add(encode(f, reg, shuffleRecords(1, 3)))
	f.Add([]byte("FB\x01"))
	f.Add([]byte("FB\x01\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, rest, err := block.ReadHeader(data)
		if err != nil {
			if !errors.Is(err, block.ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if !bytes.HasSuffix(data, rest) || len(rest) > len(data)-11 {
			t.Fatalf("rest of %d bytes is not the tail after a header of data of %d", len(rest), len(data))
		}
		if h.Count < 0 || h.Count > len(data) {
			t.Fatalf("count %d for %d bytes", h.Count, len(data))
		}
		if binary.LittleEndian.Uint64(data[3:11]) != h.Fingerprint {
			t.Fatalf("fingerprint %016x not the header's bytes", h.Fingerprint)
		}
		// Decoding must fail cleanly or yield exactly the announced records.
		if recs, err := block.Decode(reg, "fuzz", data, false); err == nil && len(recs) != h.Count {
			t.Fatalf("decoded %d records, header says %d", len(recs), h.Count)
		}
	})
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// storeHandler serves a store's shuffle blocks and reports, on seen, whether
// each request's goroutine could see the application bundle.
func storeHandler(s *block.Store, seen chan<- bool) block.Handler {
	return func(ctx context.Context, req rpc.GetBlock) (wire.Frame, *rpc.BlockError) {
		if seen != nil {
			_, ok := bundle.From(ctx)
			select {
			case seen <- ok:
			default:
			}
		}
		if f, ok := s.ShuffleFrame(req.Block); ok {
			return f, nil
		}
		return wire.Frame{}, &rpc.BlockError{Kind: "BlockNotFoundException", Message: "block " + req.Block + " not found"}
	}
}

// startServer starts a block server over s and closes it with the test.
func startServer(tb testing.TB, base context.Context, secret []byte, h block.Handler, log io.Writer) *block.Server {
	tb.Helper()
	srv, err := block.NewServer(base, "", secret, h, nodelog.New(log, slog.LevelInfo))
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

func newSecret(tb testing.TB) []byte {
	tb.Helper()
	s, err := wire.NewSecret()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func TestServerClient(t *testing.T) {
	reg := canonical(t)
	recs := shuffleRecords(5, 500)
	data := encode(t, reg, recs)
	store := block.NewStore()
	id := block.ShuffleID(1, 2, 3)
	store.PutShuffle(id, blockFrame(data))
	secret := newSecret(t)
	var log logBuffer
	seen := make(chan bool, 1)
	srv := startServer(t, bundle.With(context.Background(), testBundle(t)), secret, storeHandler(store, seen), &log)
	if !strings.HasPrefix(srv.Addr(), "127.0.0.1:") {
		t.Errorf("server listens on %s, want loopback", srv.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cl := block.NewClient(secret, "exec-2")
	defer cl.Close()

	got, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: id, From: 2, TID: 9})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("fetched %d bytes, differing from the %d stored", len(got), len(data))
	}
	if dec, err := block.Decode(reg, id, got, true); err != nil || !reflect.DeepEqual(dec, recs) {
		t.Errorf("fetched block decodes to %d records (%v)", len(dec), err)
	}
	if ok := <-seen; !ok {
		t.Error("transport goroutine of a server started with the bundle could not see it")
	}

	// A missing block is the server's refusal, and the connection survives it.
	_, err = cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "shuffle_9_9_9"})
	var re *block.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("missing block: %v, want *RemoteError", err)
	}
	if re.Kind() != "BlockNotFoundException" || re.Addr != srv.Addr() || !strings.Contains(err.Error(), "shuffle_9_9_9") {
		t.Errorf("remote error %+v: %v", re, err)
	}
	if again, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: id}); err != nil || !bytes.Equal(again, data) {
		t.Errorf("fetch after a refusal: %d bytes, %v", len(again), err)
	}

	// Concurrent fetches share the connection without mixing answers.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Go(func() {
			blk := id
			if i%2 == 1 {
				blk = "shuffle_0_0_" + fmt.Sprint(i)
			}
			b, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: blk})
			switch {
			case blk == id && (err != nil || !bytes.Equal(b, data)):
				errs <- fmt.Errorf("fetch %s: %d bytes, %v", blk, len(b), err)
			case blk != id && !errors.As(err, new(*block.RemoteError)):
				errs <- fmt.Errorf("fetch %s: %v, want a remote error", blk, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	if err := cl.Close(); err != nil {
		t.Error(err)
	}
	if err := cl.Close(); err != nil {
		t.Errorf("second client Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("server Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second server Close: %v", err)
	}
	cl2 := block.NewClient(secret, "exec-3")
	defer cl2.Close()
	if _, err := cl2.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: id}); err == nil {
		t.Error("fetched from a closed server")
	}
}

// TestReleaseReusesBlockMemory fetches a large block, decodes it, releases
// it and fetches another: the second is read into the first's memory, whole,
// and the records decoded from the first are untouched, because Decode keeps
// copies, never slices of the block (what the executor relies on when it
// releases a block after decoding it).
func TestReleaseReusesBlockMemory(t *testing.T) {
	reg := canonical(t)
	store := block.NewStore()
	recs := make([][]any, 2)
	for i := range recs {
		for j := range 4 {
			p := bytes.Repeat([]byte{byte('a' + i)}, 100<<10)
			recs[i] = append(recs[i], codec.Tuple2{A: fmt.Sprintf("key-%d-%d", i, j), B: p})
		}
		store.PutShuffle(block.ShuffleID(0, i, 0), blockFrame(encode(t, reg, recs[i])))
	}
	secret := newSecret(t)
	srv := startServer(t, context.Background(), secret, storeHandler(store, nil), io.Discard)
	cl := block.NewClient(secret, "exec-2")
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()

	first, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: block.ShuffleID(0, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := block.Decode(reg, "first", first, true)
	if err != nil {
		t.Fatal(err)
	}
	cl.Release(first)
	second, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: block.ShuffleID(0, 1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := store.Shuffle(block.ShuffleID(0, 1, 0)); !bytes.Equal(second, want) {
		t.Fatalf("second block: %d bytes, differing from the %d stored", len(second), len(want))
	}
	if &second[0] != &first[0] {
		t.Error("the second block was not read into the released one's memory")
	}
	if !reflect.DeepEqual(dec, recs[0]) {
		t.Error("records decoded from a released block changed when the next block was read into its memory")
	}
	dec2, err := block.Decode(reg, "second", second, true)
	if err != nil || !reflect.DeepEqual(dec2, recs[1]) {
		t.Errorf("second block decodes to %d records (%v)", len(dec2), err)
	}
	cl.Release(second)
}

// TestEncodeFrame: the frame a block server sends holds exactly Encode's
// block, as block data.
func TestEncodeFrame(t *testing.T) {
	reg := canonical(t)
	recs := shuffleRecords(6, 300)
	f, err := block.EncodeFrame(reg, recs)
	if err != nil {
		t.Fatal(err)
	}
	if f.Type() != rpc.MsgBlockData || !bytes.Equal(f.Payload(), encode(t, reg, recs)) {
		t.Fatalf("frame of type %d, %d bytes; want block data, Encode's bytes", f.Type(), len(f.Payload()))
	}
	if _, err := block.EncodeFrame(reg, []any{struct{}{}}); err == nil {
		t.Error("a record the registry cannot encode was encoded")
	}
}

// TestServerRefusesFrameOfOtherType: a handler that answers with a frame
// that is not block data gets the fetch a refusal, never bytes the client
// would take for a block.
func TestServerRefusesFrameOfOtherType(t *testing.T) {
	secret := newSecret(t)
	wrong := func(context.Context, rpc.GetBlock) (wire.Frame, *rpc.BlockError) {
		return wire.NewFrame(rpc.MsgBlockError, []byte("not a block")), nil
	}
	var log logBuffer
	srv := startServer(t, context.Background(), secret, wrong, &log)
	cl := block.NewClient(secret, "exec-2")
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	_, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "shuffle_0_0_0"})
	var re *block.RemoteError
	if !errors.As(err, &re) || re.Kind() != "SparkException" {
		t.Fatalf("fetch = %v, want a SparkException refusal", err)
	}
	if !strings.Contains(log.String(), "not block data") {
		t.Errorf("server log does not say why:\n%s", log.String())
	}
}

// TestTransportContext: the handler runs with the server's base context, so a
// server started without the bundle hands its goroutines none (the path of the
// registrator-transport scenario).
func TestTransportContext(t *testing.T) {
	tests := []struct {
		name string
		base context.Context
		want bool
	}{
		{"with the bundle", bundle.With(context.Background(), testBundle(t)), true},
		{"bare", context.Background(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret := newSecret(t)
			seen := make(chan bool, 1)
			srv := startServer(t, tc.base, secret, storeHandler(block.NewStore(), seen), io.Discard)
			ctx, cancel := context.WithTimeout(context.Background(), bound)
			defer cancel()
			cl := block.NewClient(secret, "exec-1")
			defer cl.Close()
			_, _ = cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "rdd_1_0"})
			select {
			case got := <-seen:
				if got != tc.want {
					t.Errorf("handler saw the bundle: %v, want %v", got, tc.want)
				}
			case <-ctx.Done():
				t.Fatal("handler never ran")
			}
		})
	}
}

func TestServerRefusesWrongSecret(t *testing.T) {
	store := block.NewStore()
	store.PutShuffle("shuffle_0_0_0", blockFrame([]byte("block")))
	var log logBuffer
	called := make(chan bool, 1)
	srv := startServer(t, context.Background(), newSecret(t), storeHandler(store, called), &log)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()

	cl := block.NewClient(newSecret(t), "exec-4")
	defer cl.Close()
	_, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "shuffle_0_0_0"})
	if !errors.Is(err, wire.ErrAuth) {
		t.Fatalf("fetch with a wrong secret: %v, want ErrAuth", err)
	}
	select {
	case <-called:
		t.Error("handler ran for an unauthenticated client")
	default:
	}
	// Close waits for the connection goroutines, so the refusal is logged by then.
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(log.String(), "Refused block connection from") {
		t.Errorf("refusal not logged; log:\n%s", log.String())
	}
}

// TestServerCloseWithOpenConnection: Close ends connections a client keeps open
// and returns, and the client sees the end on its next fetch.
func TestServerCloseWithOpenConnection(t *testing.T) {
	store := block.NewStore()
	store.PutShuffle("shuffle_0_0_0", blockFrame([]byte("block")))
	secret := newSecret(t)
	srv := startServer(t, context.Background(), secret, storeHandler(store, nil), io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	cl := block.NewClient(secret, "exec-5")
	defer cl.Close()
	if _, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "shuffle_0_0_0"}); err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- srv.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("Close hung on an open client connection")
	}
	if _, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "shuffle_0_0_0"}); err == nil {
		t.Error("fetch succeeded after the server closed")
	}
}

func TestStore(t *testing.T) {
	s := block.NewStore()
	if _, ok := s.Shuffle("shuffle_0_0_0"); ok {
		t.Error("empty store has a shuffle block")
	}
	if _, ok := s.Cached("rdd_0_0"); ok {
		t.Error("empty store has a cached block")
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			s.PutShuffle(block.ShuffleID(0, i, 0), blockFrame([]byte{byte(i)}))
			s.PutCached(block.CacheID(1, i), []any{int64(i)})
		})
	}
	wg.Wait()
	for i := range 16 {
		if b, ok := s.Shuffle(block.ShuffleID(0, i, 0)); !ok || !bytes.Equal(b, []byte{byte(i)}) {
			t.Errorf("shuffle block %d: %v %v", i, b, ok)
		}
		if r, ok := s.Cached(block.CacheID(1, i)); !ok || !reflect.DeepEqual(r, []any{int64(i)}) {
			t.Errorf("cached block %d: %v %v", i, r, ok)
		}
	}
	if got := block.ShuffleID(1, 2, 3) + " " + block.CacheID(4, 5); got != "shuffle_1_2_3 rdd_4_5" {
		t.Errorf("block ids %q", got)
	}
}

// A server that accepts and never answers must not hold a fetch beyond its
// context: the task fails in time instead of hanging the job.
func TestFetchHonoursContext(t *testing.T) {
	secret := newSecret(t)
	release := make(chan struct{})
	defer close(release)
	stuck := func(ctx context.Context, _ rpc.GetBlock) (wire.Frame, *rpc.BlockError) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return wire.Frame{}, &rpc.BlockError{Kind: "Stopped", Message: "released"}
	}
	var log logBuffer
	srv := startServer(t, context.Background(), secret, stuck, &log)
	cl := block.NewClient(secret, "exec-2")
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := cl.Fetch(ctx, srv.Addr(), rpc.GetBlock{Block: "rdd_1_0", From: 2})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("fetch from a stuck server: %v, want the context's deadline", err)
		}
	case <-time.After(bound):
		t.Fatal("fetch from a stuck server did not return after its context ended")
	}
}

// TestServerCloseEndsHandshakes: connections that never finish their
// handshake — one silent, one stopping halfway — do not hold Close until
// the handshake's 5 s bound, and their end is not logged as a refusal.
func TestServerCloseEndsHandshakes(t *testing.T) {
	const handshakeTimeout = 5 * time.Second
	var log bytes.Buffer
	secret := newSecret(t)
	srv := startServer(t, context.Background(), secret, storeHandler(block.NewStore(), nil), &log)
	ctx, cancel := context.WithTimeout(context.Background(), bound)
	defer cancel()
	var d net.Dialer
	for i, prefix := range []string{"", "FBWR\x01"} {
		nc, err := d.DialContext(ctx, "tcp", srv.Addr())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		// The server speaks first: its hello proves the handshake is under way.
		_ = nc.SetReadDeadline(time.Now().Add(bound))
		if _, err := io.ReadFull(nc, make([]byte, 4)); err != nil {
			t.Fatalf("connection %d: no hello from the server: %v", i, err)
		}
		if _, err := nc.Write([]byte(prefix)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if took := time.Since(start); took >= handshakeTimeout {
		t.Errorf("Close took %s: it waited for the handshakes to time out", took)
	}
	if strings.Contains(log.String(), "Refused block connection") {
		t.Errorf("handshakes ended by Close were logged as refusals:\n%s", log.String())
	}
}
