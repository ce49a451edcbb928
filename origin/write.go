package origin

import (
	"context"
	"io"
)

// WriteFile stores a file at o when o is a Writer (file://, s3://) and
// fails with an error wrapping ErrNotWritable otherwise (http(s)://).
func WriteFile(ctx context.Context, o Origin, path string, r io.Reader, size int64) error {
	w, ok := o.(Writer)
	if !ok {
		return &Error{Kind: ErrNotWritable, Origin: o.URL(), Path: path, Op: "write",
			Detail: "publish from a file:// or s3:// origin to keep metadata beside the data"}
	}
	return w.WriteFile(ctx, path, r, size)
}
