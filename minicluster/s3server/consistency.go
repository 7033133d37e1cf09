package s3server

import (
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"

	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/fault"
)

// Consistency is S3's consistency model before December 2020, as AWS documented
// it: a LIST may omit a key written shortly before, and a GET or HEAD of a key
// that was asked for before it existed may go on answering 404 for a while
// (the negative answer is cached). Not every write lags: each write lags with
// probability P (default 1), for a delay drawn from [Lag/4, Lag]; both draws
// are seeded by the key and the write's sequence number, so a run is repeatable.
type Consistency struct {
	Lag  time.Duration
	P    float64
	Seed int64
	// Sham computes every effect but applies none and reports no hit: a check
	// of the fault's evidence must then find nothing.
	Sham bool
}

// lagOf is how long the seq-th write, of key, stays invisible.
func (c *Consistency) lagOf(key string, seq int) time.Duration {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", c.Seed, key, seq)
	x := h.Sum64()
	p := c.P
	if p <= 0 {
		p = 1
	}
	if float64(x%10000)/10000 >= p {
		return 0
	}
	u := float64((x/10000)%10000) / 10000
	return c.Lag/4 + time.Duration(u*float64(c.Lag-c.Lag/4))
}

// write is when a key was last written and how long that write lags: in
// listings (lag) and for a reader whose 404 was cached (neg). The two are
// drawn independently.
type write struct {
	at       time.Time
	lag, neg time.Duration
}

// layer wraps a gofakes3 backend with the consistency model, the throughput
// model and the recording of every operation.
type layer struct {
	gofakes3.Backend
	o        Options
	cons     *Consistency
	throttle *Throttle

	mu sync.Mutex
	// written is when each bucket/key was last written; askedAbsent when a GET
	// or HEAD first found it missing.
	written     map[string]write
	askedAbsent map[string]time.Time
	seq         int
	// hits counts the answers the consistency model changed, reached the
	// requests it saw.
	hits, reached int
	// metered counts the transfers the throughput model metered, slowed those
	// it made wait beyond the burst rate.
	metered, slowed int
	// sizes is each bucket/key's size, for the throughput model's metered
	// size.
	sizes map[string]int64
}

func newLayer(b gofakes3.Backend, o Options) *layer {
	return &layer{Backend: b, o: o, cons: o.Consistency, throttle: o.Throttle,
		written: map[string]write{}, askedAbsent: map[string]time.Time{}, sizes: map[string]int64{}}
}

// sized records a key's new size (-1: deleted) and tells the throughput
// model how the stored bytes changed.
func (l *layer) sized(bucket, key string, n int64) {
	if l.throttle == nil {
		return
	}
	k := bucket + "/" + key
	l.mu.Lock()
	old := l.sizes[k]
	if n < 0 {
		delete(l.sizes, k)
		n = 0
	} else {
		l.sizes[k] = n
	}
	l.mu.Unlock()
	l.throttle.resize(n - old)
}

var _ gofakes3.Backend = (*layer)(nil)

func (l *layer) record(e events.Event) {
	if l.o.Record != nil {
		e.Role = "store"
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		l.o.Record(e)
	}
}

func (l *layer) op(op, key, outcome string, start time.Time, bytes int64) {
	l.record(events.Event{Kind: events.StoreOp, Name: op, Message: key, Outcome: outcome,
		Metrics: map[string]float64{"ms": float64(time.Since(start).Microseconds()) / 1000, "bytes": float64(bytes)}})
}

// hit records an effect of the consistency model: msg is its proof, key the
// object it hid.
func (l *layer) hit(key, msg string) {
	l.mu.Lock()
	l.hits++
	l.mu.Unlock()
	l.record(events.Event{Kind: events.FaultHit, Name: string(fault.EventualConsistency), Message: msg, Block: key})
}

// reach counts a request the consistency model saw.
func (l *layer) reach() {
	if l.cons == nil {
		return
	}
	l.mu.Lock()
	l.reached++
	l.mu.Unlock()
}

// noEffect says, when the consistency model was on and never changed an
// answer, how many requests it saw.
func (l *layer) noEffect() (string, bool) {
	if l.cons == nil {
		return "", false
	}
	return l.inert(&l.hits, l.cons.Sham, "no key written was listed or read within its lag", "sham: every answer was left consistent",
		func() string {
			return fmt.Sprintf("the store served %d LIST, GET, HEAD and COPY requests with eventual consistency on; none omitted or hid a key", l.reached)
		})
}

// inert is a model's no-effect report: none when it had effects (*effects >
// 0), else what it saw (said by saw, under the lock) and why nothing happened.
func (l *layer) inert(effects *int, sham bool, why, shamWhy string, saw func() string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if *effects > 0 {
		return "", false
	}
	if sham {
		why = shamWhy
	}
	return saw() + " (" + why + ")", true
}

func ms(d time.Duration) int64 { return d.Milliseconds() }

// ListBucket omits keys written less than their lag ago.
func (l *layer) ListBucket(name string, prefix *gofakes3.Prefix, page gofakes3.ListBucketPage) (*gofakes3.ObjectList, error) {
	start := time.Now()
	list, err := l.Backend.ListBucket(name, prefix, page)
	p := ""
	if prefix != nil && prefix.HasPrefix {
		p = prefix.Prefix
	}
	if err != nil {
		l.op("LIST", p, "error", start, 0)
		return list, err
	}
	l.reach()
	if l.cons != nil {
		now := time.Now()
		var omitted []string
		l.mu.Lock()
		kept := list.Contents[:0:0]
		for _, c := range list.Contents {
			w, ok := l.written[name+"/"+c.Key]
			if ok && now.Sub(w.at) < w.lag {
				omitted = append(omitted, fmt.Sprintf("%s written %d ms before", c.Key, ms(now.Sub(w.at))))
				if l.cons.Sham {
					kept = append(kept, c)
				}
				continue
			}
			kept = append(kept, c)
		}
		l.mu.Unlock()
		list.Contents = kept
		if len(omitted) > 0 && !l.cons.Sham {
			shown := omitted[:min(len(omitted), 3)]
			more := ""
			if n := len(omitted) - len(shown); n > 0 {
				more = fmt.Sprintf(" and %d more", n)
			}
			first, _, _ := strings.Cut(omitted[0], " written")
			l.hit(first, fmt.Sprintf("LIST of %s omitted %s%s", p, strings.Join(shown, ", "), more))
		}
	}
	l.op("LIST", p, "ok", start, int64(len(list.Contents)))
	return list, nil
}

// stale reports whether a read of key must answer 404 although the key
// exists: it was asked for before it existed, and its lag has not passed since
// it was written. It returns the proof.
func (l *layer) stale(bucket, key string) (string, bool) {
	if l.cons == nil {
		return "", false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := bucket + "/" + key
	asked, ok1 := l.askedAbsent[k]
	w, ok2 := l.written[k]
	if !ok1 || !ok2 || !asked.Before(w.at) {
		return "", false
	}
	age := time.Since(w.at)
	if age >= w.neg {
		delete(l.askedAbsent, k)
		return "", false
	}
	return fmt.Sprintf("%s answered 404: first asked for %d ms before it was written %d ms ago (negative answer cached for %d ms)",
		key, ms(w.at.Sub(asked)), ms(age), ms(w.neg)), true
}

func (l *layer) missing(bucket, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := bucket + "/" + key
	if _, ok := l.askedAbsent[k]; !ok {
		l.askedAbsent[k] = time.Now()
	}
}

func (l *layer) read(op, bucket, key string, get func() (*gofakes3.Object, error)) (*gofakes3.Object, error) {
	start := time.Now()
	l.reach()
	if proof, ok := l.stale(bucket, key); ok {
		if !l.cons.Sham {
			l.hit(key, op+" of "+proof)
			l.op(op, key, "404", start, 0)
			return nil, gofakes3.KeyNotFound(key)
		}
	}
	obj, err := get()
	if err != nil {
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			l.missing(bucket, key)
			l.op(op, key, "404", start, 0)
		} else {
			l.op(op, key, "error", start, 0)
		}
		return obj, err
	}
	if op == "GET" && l.throttle != nil {
		obj.Contents = &throttledBody{meteredReader: l.throttle.reader(obj.Contents), l: l, op: "GET", key: key, start: start}
	}
	l.op(op, key, "ok", start, obj.Size)
	return obj, nil
}

// GetObject answers 404 for a key asked for before it existed, within its lag.
func (l *layer) GetObject(bucket, key string, rng *gofakes3.ObjectRangeRequest) (*gofakes3.Object, error) {
	return l.read("GET", bucket, key, func() (*gofakes3.Object, error) { return l.Backend.GetObject(bucket, key, rng) })
}

// HeadObject is GetObject without the body.
func (l *layer) HeadObject(bucket, key string) (*gofakes3.Object, error) {
	return l.read("HEAD", bucket, key, func() (*gofakes3.Object, error) { return l.Backend.HeadObject(bucket, key) })
}

func (l *layer) wrote(bucket, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := write{at: time.Now()}
	if l.cons != nil {
		w.lag, w.neg = l.cons.lagOf(key, l.seq), l.cons.lagOf(key, l.seq+1)
		l.seq += 2
	}
	l.written[bucket+"/"+key] = w
}

// PutObject stores the object (after the throughput model let its bytes in)
// and remembers when.
func (l *layer) PutObject(bucket, key string, meta map[string]string, input io.Reader, size int64, cond *gofakes3.PutConditions) (gofakes3.PutObjectResult, error) {
	start := time.Now()
	if l.o.BeforeWrite != nil && !l.o.BeforeWrite(key) {
		l.op("PUT", key, "dropped", start, 0)
		return gofakes3.PutObjectResult{}, gofakes3.ErrInternal
	}
	var metered *meteredReader
	if l.throttle != nil {
		metered = l.throttle.reader(io.NopCloser(input))
		input = metered
	}
	res, err := l.Backend.PutObject(bucket, key, meta, input, size, cond)
	if err != nil {
		l.op("PUT", key, "error", start, size)
		return res, err
	}
	if metered != nil {
		l.throttled("PUT", key, metered.n, metered.extra, start)
		l.sized(bucket, key, metered.n)
	}
	l.wrote(bucket, key)
	l.op("PUT", key, "ok", start, size)
	return res, nil
}

// CopyObject reads the source as a GET would (a stale source is not found)
// and writes the destination as a PUT would.
func (l *layer) CopyObject(srcBucket, srcKey, dstBucket, dstKey string, meta map[string]string) (gofakes3.CopyObjectResult, error) {
	start := time.Now()
	l.reach()
	if proof, ok := l.stale(srcBucket, srcKey); ok && !l.cons.Sham {
		l.hit(srcKey, "COPY source "+proof)
		l.op("COPY", srcKey+" → "+dstKey, "404", start, 0)
		return gofakes3.CopyObjectResult{}, gofakes3.KeyNotFound(srcKey)
	}
	if l.o.BeforeWrite != nil && !l.o.BeforeWrite(dstKey) {
		l.op("COPY", srcKey+" → "+dstKey, "dropped", start, 0)
		return gofakes3.CopyObjectResult{}, gofakes3.ErrInternal
	}
	var size int64
	if l.throttle != nil {
		if obj, err := l.Backend.HeadObject(srcBucket, srcKey); err == nil {
			size = obj.Size
			_ = obj.Contents.Close()
			extra := l.throttle.transfer(2 * size) // read and written again
			l.throttled("COPY", dstKey, 2*size, extra, start)
		}
	}
	res, err := l.Backend.CopyObject(srcBucket, srcKey, dstBucket, dstKey, meta)
	if err != nil {
		outcome := "error"
		if gofakes3.HasErrorCode(err, gofakes3.ErrNoSuchKey) {
			outcome = "404"
		}
		l.op("COPY", srcKey+" → "+dstKey, outcome, start, 0)
		return res, err
	}
	l.wrote(dstBucket, dstKey)
	l.sized(dstBucket, dstKey, size)
	l.op("COPY", srcKey+" → "+dstKey, "ok", start, size)
	return res, nil
}

// DeleteObject deletes and forgets the write time.
func (l *layer) DeleteObject(bucket, key string) (gofakes3.ObjectDeleteResult, error) {
	start := time.Now()
	res, err := l.Backend.DeleteObject(bucket, key)
	l.mu.Lock()
	delete(l.written, bucket+"/"+key)
	l.mu.Unlock()
	outcome := "ok"
	if err != nil {
		outcome = "error"
	} else {
		l.sized(bucket, key, -1)
	}
	l.op("DELETE", key, outcome, start, 0)
	return res, err
}

// DeleteMulti deletes each key as DeleteObject does.
func (l *layer) DeleteMulti(bucket string, keys ...string) (gofakes3.MultiDeleteResult, error) {
	start := time.Now()
	res, err := l.Backend.DeleteMulti(bucket, keys...)
	l.mu.Lock()
	for _, k := range keys {
		delete(l.written, bucket+"/"+k)
	}
	l.mu.Unlock()
	if err == nil {
		for _, d := range res.Deleted {
			l.sized(bucket, d.Key, -1)
		}
	}
	l.op("DELETE", strings.Join(slices.Clip(keys), ","), "ok", start, 0)
	return res, err
}
