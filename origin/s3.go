package origin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// s3Origin is a key prefix in an S3 bucket.
type s3Origin struct {
	base
	c *minio.Client
	// versions: list with versionIds (S3Config.ListVersions).
	versions bool
}

var (
	_ Origin = (*s3Origin)(nil)
	_ Writer = (*s3Origin)(nil)
)

// s3Client returns the Opener's S3 client, made on first use. Its own
// retries are off (MaxRetries 1): the origin's policy governs.
func (o *Opener) s3Client() (*minio.Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.s3 != nil {
		return o.s3, nil
	}
	cfg := o.cfg.S3
	ep := cfg.Endpoint
	if ep == "" {
		ep = "s3.amazonaws.com"
	}
	host, secure, err := s3Endpoint(ep)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	rt := o.cfg.HTTP.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = o.cfg.MaxConcurrent
		rt = t
	}
	c, err := minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    rt,
		MaxRetries:   1,
	})
	if err != nil {
		return nil, err
	}
	c.SetAppInfo("meshcache", "1")
	o.s3, o.s3rt = c, rt
	return c, nil
}

func (s *s3Origin) bucket() string        { return s.loc.host }
func (s *s3Origin) key(rel string) string { return s.loc.keyPrefix() + rel }

// classifyS3 maps S3 error codes, then HTTP statuses, then transport errors.
func classifyS3(err error, wd *watchdog) *failure {
	var er minio.ErrorResponse
	if (wd != nil && wd.timedOut()) || !errors.As(err, &er) || (er.Code == "" && er.StatusCode == 0) {
		return classifyNet(err, wd)
	}
	detail := er.Code
	if er.StatusCode != 0 {
		detail = fmt.Sprintf("%s (%d %s)", er.Code, er.StatusCode, http.StatusText(er.StatusCode))
	}
	switch er.Code {
	case "NoSuchKey", "NoSuchBucket", "NotFound":
		return permanent(ErrNotFound, detail, nil)
	case "NoSuchVersion":
		return permanent(ErrChanged, "the version recorded at publish no longer exists: "+detail, nil)
	case "PreconditionFailed":
		return permanent(ErrChanged, detail, nil)
	case "InvalidRange":
		return permanent(ErrChanged, "range not satisfiable: the object is smaller than at publish: "+detail, nil)
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "RequestTimeTooSkewed":
		return transient(ErrUnavailable, detail, nil)
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken":
		return permanent(ErrUnavailable, detail+": access denied; check the S3 credentials", nil)
	}
	return statusFailure(&http.Response{StatusCode: er.StatusCode, Status: detail})
}

// objectInfo converts a minio object description. S3 calls the version of
// an object written while versioning was off "null"; reading it needs no
// versionId, so it is recorded as none.
func objectInfo(rel string, oi minio.ObjectInfo) FileInfo {
	v := oi.VersionID
	if v == "null" {
		v = ""
	}
	return FileInfo{Path: rel, Size: oi.Size, ModTime: oi.LastModified.UTC(), ETag: oi.ETag, VersionID: v}
}

// Stat HEADs one object.
func (s *s3Origin) Stat(ctx context.Context, rel string) (FileInfo, error) {
	if err := checkRel(rel); err != nil {
		return FileInfo{}, s.fail(ErrNotAllowed, "stat", rel, err.Error(), nil)
	}
	var fi FileInfo
	err := s.do(ctx, "stat", rel, func(ctx context.Context) error {
		release, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		defer release()
		actx, wd := startWatchdog(ctx, s.retry.AttemptTimeout)
		defer wd.stop()
		oi, err := s.c.StatObject(actx, s.bucket(), s.key(rel), minio.StatObjectOptions{})
		if err != nil {
			return classifyS3(err, wd)
		}
		fi = objectInfo(rel, oi)
		return nil
	})
	return fi, err
}

// WriteFile stores r as one object (minio-go switches to a multipart upload
// for large sizes). A stream cannot be replayed, so writes are not retried.
func (s *s3Origin) WriteFile(ctx context.Context, rel string, r io.Reader, size int64) error {
	if err := checkRel(rel); err != nil {
		return s.fail(ErrNotAllowed, "write", rel, err.Error(), nil)
	}
	release, err := s.acquire(ctx)
	if err != nil {
		return s.fail(ctx.Err(), "write", rel, "", nil)
	}
	defer release()
	src := &exactReader{r: r, left: size}
	_, err = s.c.PutObject(ctx, s.bucket(), s.key(rel), src, size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if src.err != nil {
		return fmt.Errorf("write %s/%s: %w", s.url, rel, src.err)
	}
	if err != nil {
		if ctx.Err() != nil {
			return s.fail(ctx.Err(), "write", rel, "", err)
		}
		f := classifyS3(err, nil)
		return s.fail(f.kind, "write", rel, f.detail, f.cause)
	}
	return nil
}

// List pages through ListObjectsV2 (or ListObjectVersions, keeping each
// key's latest version, with S3Config.ListVersions) under the prefix; after
// a failure the retry resumes after the last key received. Keys ending in "/" (folder
// markers) and .meshcache folders are left out; a key that cannot be a
// file path ("a//b", "./x") fails the listing rather than vanish from it.
func (s *s3Origin) List(ctx context.Context) ([]FileInfo, error) {
	if s.files != nil {
		files, err := s.statFiles(ctx, s.Stat)
		if err != nil {
			return nil, err
		}
		return s.sortListing(files)
	}
	var out []FileInfo
	after := ""
	err := s.do(ctx, "list", "", func(ctx context.Context) error {
		release, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		defer release()
		actx, wd := startWatchdog(ctx, s.retry.AttemptTimeout)
		defer wd.stop()
		prefix := s.loc.keyPrefix()
		opts := minio.ListObjectsOptions{Prefix: prefix, Recursive: true, StartAfter: after, WithVersions: s.versions}
		for oi := range s.c.ListObjects(actx, s.bucket(), opts) {
			if oi.Err != nil {
				return classifyS3(oi.Err, wd)
			}
			wd.reset(s.retry.AttemptTimeout)
			if s.versions && (!oi.IsLatest || oi.IsDeleteMarker) {
				continue
			}
			after = oi.Key
			rel := strings.TrimPrefix(oi.Key, prefix)
			if strings.HasSuffix(rel, "/") || rel == "" || hidden(rel) {
				continue
			}
			if err := checkRel(rel); err != nil {
				return permanent(ErrBadResponse, fmt.Sprintf("key %q cannot be a file path", oi.Key), err)
			}
			out = append(out, objectInfo(rel, oi))
		}
		if err := actx.Err(); err != nil {
			return classifyNet(err, wd)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.sortListing(out)
}

// exactReader fails the upload when the source holds more than the
// announced size, which the S3 client would otherwise cut silently.
type exactReader struct {
	r    io.Reader
	left int64
	err  error
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if e.left == 0 {
		var one [1]byte
		if m, _ := io.ReadFull(e.r, one[:]); m > 0 {
			e.err = errors.New("the source holds more bytes than the size given")
			return n, e.err
		}
		return n, io.EOF
	}
	if err == io.EOF {
		e.err = fmt.Errorf("the source ended %d bytes short of the size given", e.left)
		return n, e.err
	}
	return n, err
}
