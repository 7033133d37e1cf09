// Package checkpoint holds the stores a streaming application checkpoints to,
// behind one interface: a local directory (rename is atomic) and any store that
// speaks the S3 API (rename is a copy and a delete). Open picks the backend from
// a location ("file:///dir", "s3://bucket/prefix").
package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrNotFound: the key does not exist, or the store says so.
var ErrNotFound = errors.New("no such key")

// Store is a flat namespace of keys ("checkpoint-12", "state-12/part-00001").
type Store interface {
	// Put writes a whole object.
	Put(ctx context.Context, key string, data []byte) error
	// Get reads a whole object; ErrNotFound when absent.
	Get(ctx context.Context, key string) ([]byte, error)
	// Exists asks for an object's metadata (a HEAD).
	Exists(ctx context.Context, key string) (bool, error)
	// List returns the keys under a prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
	// Rename moves an object: atomic on a directory, copy then delete on S3.
	Rename(ctx context.Context, src, dst string) error
	// Delete removes an object; deleting an absent key is no error.
	Delete(ctx context.Context, key string) error
	// String is the store's location.
	String() string
}

// Options name an S3 endpoint and its credentials. Empty fields are taken from
// the usual AWS environment variables (AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL,
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION).
type Options struct {
	Endpoint  string // "127.0.0.1:9000" or "https://s3.example.com"
	AccessKey string
	SecretKey string
	Region    string // default "us-east-1"
}

// WithEnv fills empty fields from the AWS environment variables.
func (o Options) WithEnv() Options {
	first := func(v string, keys ...string) string {
		for _, k := range keys {
			if v != "" {
				return v
			}
			v = os.Getenv(k)
		}
		return v
	}
	o.Endpoint = first(o.Endpoint, "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	o.AccessKey = first(o.AccessKey, "AWS_ACCESS_KEY_ID")
	o.SecretKey = first(o.SecretKey, "AWS_SECRET_ACCESS_KEY")
	o.Region = first(o.Region, "AWS_REGION", "AWS_DEFAULT_REGION")
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	return o
}

// ErrLocation marks a checkpoint location that cannot be used.
var ErrLocation = errors.New("bad checkpoint location")

// Open returns the store at a location: "s3://bucket/prefix" (S3 API, with the
// endpoint and credentials of o), "file:///abs/dir" or a plain directory path.
func Open(location string, o Options) (Store, error) {
	switch {
	case strings.HasPrefix(location, "s3://"), strings.HasPrefix(location, "s3a://"):
		u, err := url.Parse(location)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: %q: want s3://bucket/prefix", ErrLocation, location)
		}
		s3mu.RLock()
		open := openS3
		s3mu.RUnlock()
		if open == nil {
			return nil, fmt.Errorf("%w: %q: this binary has no S3 client (import minicluster/checkpoint/s3store)", ErrLocation, location)
		}
		return open(u.Host, strings.Trim(u.Path, "/"), o.WithEnv())
	case strings.HasPrefix(location, "file://"):
		return NewDir(strings.TrimPrefix(location, "file://"))
	case strings.Contains(location, "://"):
		return nil, fmt.Errorf("%w: %q: scheme must be s3:// or file://", ErrLocation, location)
	case location == "":
		return nil, fmt.Errorf("%w: empty", ErrLocation)
	}
	return NewDir(location)
}

// S3Opener opens a store in bucket under prefix over the S3 API.
type S3Opener func(bucket, prefix string, o Options) (Store, error)

var (
	s3mu   sync.RWMutex
	openS3 S3Opener
)

// RegisterS3 makes Open serve "s3://" locations with open. Package s3store
// registers itself when imported.
func RegisterS3(open S3Opener) {
	s3mu.Lock()
	defer s3mu.Unlock()
	openS3 = open
}

// Op is one operation a Recorder saw.
type Op struct {
	Name     string // PUT GET HEAD LIST RENAME DELETE
	Key      string
	Err      error
	Duration time.Duration
}

// Recorder wraps a store and keeps every operation, so a caller can say what
// one checkpoint cost.
type Recorder struct {
	Store
	mu  sync.Mutex
	ops []Op
}

// Take returns the operations since the last Take and forgets them.
func (r *Recorder) Take() []Op {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = nil
	return out
}

func (r *Recorder) add(name, key string, start time.Time, err error) {
	r.mu.Lock()
	r.ops = append(r.ops, Op{Name: name, Key: key, Err: err, Duration: time.Since(start)})
	r.mu.Unlock()
}

func (r *Recorder) Put(ctx context.Context, key string, data []byte) error {
	t := time.Now()
	err := r.Store.Put(ctx, key, data)
	r.add("PUT", key, t, err)
	return err
}

func (r *Recorder) Get(ctx context.Context, key string) ([]byte, error) {
	t := time.Now()
	b, err := r.Store.Get(ctx, key)
	r.add("GET", key, t, err)
	return b, err
}

func (r *Recorder) Exists(ctx context.Context, key string) (bool, error) {
	t := time.Now()
	ok, err := r.Store.Exists(ctx, key)
	r.add("HEAD", key, t, err)
	return ok, err
}

func (r *Recorder) List(ctx context.Context, prefix string) ([]string, error) {
	t := time.Now()
	keys, err := r.Store.List(ctx, prefix)
	r.add("LIST", prefix, t, err)
	return keys, err
}

func (r *Recorder) Rename(ctx context.Context, src, dst string) error {
	t := time.Now()
	err := r.Store.Rename(ctx, src, dst)
	r.add("RENAME", src+" → "+dst, t, err)
	return err
}

func (r *Recorder) Delete(ctx context.Context, key string) error {
	t := time.Now()
	err := r.Store.Delete(ctx, key)
	r.add("DELETE", key, t, err)
	return err
}
