package origin

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/minio/minio-go/v7"
)

// ReadRange GETs the range (of want.VersionID when set) and checks the
// response's size (Content-Range total), Last-Modified, ETag and version
// against want before returning a reader of exactly length bytes.
func (s *s3Origin) ReadRange(ctx context.Context, rel string, off, length int64, want FileInfo) (io.ReadCloser, error) {
	if err := checkRel(rel); err != nil {
		return nil, s.fail(ErrNotAllowed, "read", rel, err.Error(), nil)
	}
	if err := checkRange(rel, off, length, want); err != nil {
		return nil, err
	}
	if length == 0 {
		return readEmpty(ctx, &s.base, s.Stat, rel, want)
	}
	var rr *rangeReader
	err := s.do(ctx, "read", rel, func(ctx context.Context) error {
		release, err := s.acquire(ctx)
		if err != nil {
			return err
		}
		actx, wd := startWatchdog(ctx, s.retry.AttemptTimeout)
		var opts minio.GetObjectOptions
		if err := opts.SetRange(off, off+length-1); err != nil {
			wd.stop()
			release()
			return permanent(ErrBadResponse, "range", err)
		}
		opts.VersionID = want.VersionID
		body, oi, hdr, err := minio.Core{Client: s.c}.GetObject(actx, s.bucket(), s.key(rel), opts)
		if err != nil {
			wd.stop()
			release()
			return classifyS3(err, wd)
		}
		if f := checkS3Response(rel, oi, hdr, off, length, want); f != nil {
			body.Close()
			wd.stop()
			release()
			return f
		}
		wd.reset(s.retry.StallTimeout)
		rr = s.rangeReader(body, wd, release, rel, length)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rr, nil
}

// checkS3Response compares the object's attributes in a GetObject response
// with the version at publish and the range asked for.
func checkS3Response(rel string, oi minio.ObjectInfo, hdr http.Header, off, length int64, want FileInfo) *failure {
	now := objectInfo(rel, oi)
	cr := hdr.Get("Content-Range")
	start, end, total, ok := parseContentRange(cr)
	switch {
	case ok:
		now.Size = total
	case cr == "" && off == 0 && oi.Size == length:
		// A whole-object answer (200) to a range covering the object.
	default:
		return permanent(ErrBadResponse, fmt.Sprintf("asked for bytes %d-%d, got Content-Range %q", off, off+length-1, cr), nil)
	}
	if d := changes(want, now); d != "" {
		return permanent(ErrChanged, d, nil)
	}
	if ok && (start != off || end != off+length-1 || oi.Size != length) {
		return permanent(ErrBadResponse, fmt.Sprintf("asked for bytes %d-%d, got Content-Range %q with %d bytes", off, off+length-1, cr, oi.Size), nil)
	}
	return nil
}

func (s *s3Origin) rangeReader(body io.ReadCloser, wd *watchdog, release func(), rel string, length int64) *rangeReader {
	return &rangeReader{
		body: body, left: length, want: length,
		wd: wd, stall: func() { wd.reset(s.retry.StallTimeout) },
		count: s.read,
		done:  func() { wd.stop(); release() },
		short: func(got, want int64) error {
			return s.fail(ErrBadResponse, "read", rel, fmt.Sprintf("body ended after %d of %d bytes", got, want), nil)
		},
		fail: func(err error) error { return s.bodyFailure(rel, wd, err) },
	}
}
