// Package s3store is the checkpoint store that speaks the S3 API, through
// minio-go. A binary that opens "s3://" locations imports it for its effect,
// as database/sql drivers are imported:
//
//	import _ "github.com/faultbook/faultbook/minicluster/checkpoint/s3store"
//
// It is kept out of package checkpoint so that processes that never open a
// store (executors, cmd/faultbook-node) do not link minio-go, whose package
// initialisation was a third of such a process's start.
package s3store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/faultbook/faultbook/minicluster/checkpoint"
)

func init() {
	checkpoint.RegisterS3(func(bucket, prefix string, o checkpoint.Options) (checkpoint.Store, error) {
		return New(bucket, prefix, o)
	})
}

// S3 is a store in a bucket under a prefix, over the S3 API. S3 has no
// rename: Rename copies and then deletes, two requests that another reader may
// see between.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // "" or "dir/"
	where  string
}

// New connects to an S3 endpoint; it sends no request until used.
func New(bucket, prefix string, o checkpoint.Options) (*S3, error) {
	if o.Endpoint == "" {
		return nil, fmt.Errorf("%w: s3://%s needs an endpoint (flag or AWS_ENDPOINT_URL)", checkpoint.ErrLocation, bucket)
	}
	endpoint, secure := o.Endpoint, false
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("%w: endpoint %q", checkpoint.ErrLocation, o.Endpoint)
		}
		endpoint, secure = u.Host, u.Scheme == "https"
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Secure: secure, Region: o.Region,
		BucketLookup: minio.BucketLookupPath, MaxRetries: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", checkpoint.ErrLocation, err)
	}
	if prefix != "" {
		prefix = strings.TrimSuffix(prefix, "/") + "/"
	}
	return &S3{client: c, bucket: bucket, prefix: prefix, where: "s3://" + bucket + "/" + prefix}, nil
}

var _ checkpoint.Store = (*S3)(nil)

func (s *S3) String() string { return s.where }

func notFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == minio.NoSuchKey || code == "NotFound"
}

func (s *S3) Put(ctx context.Context, key string, data []byte) error {
	_, err := s.client.PutObject(ctx, s.bucket, s.prefix+key, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream", DisableMultipart: true})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.prefix+key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("get %s: %w", key, checkpoint.ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	return b, nil
}

func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	_, err := s.client.StatObject(ctx, s.bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		if notFound(err) {
			return false, nil
		}
		return false, fmt.Errorf("head %s: %w", key, err)
	}
	return true, nil
}

func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	for o := range s.client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, fmt.Errorf("list %s: %w", prefix, o.Err)
		}
		keys = append(keys, strings.TrimPrefix(o.Key, s.prefix))
	}
	sort.Strings(keys)
	return keys, nil
}

func (s *S3) Rename(ctx context.Context, src, dst string) error {
	_, err := s.client.CopyObject(ctx,
		minio.CopyDestOptions{Bucket: s.bucket, Object: s.prefix + dst},
		minio.CopySrcOptions{Bucket: s.bucket, Object: s.prefix + src})
	if err != nil {
		if notFound(err) {
			return fmt.Errorf("rename %s: copy: %w", src, checkpoint.ErrNotFound)
		}
		return fmt.Errorf("rename %s: copy: %w", src, err)
	}
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+src, minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("rename %s: delete: %w", src, err)
	}
	return nil
}

func (s *S3) Delete(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil && !notFound(err) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	return nil
}
