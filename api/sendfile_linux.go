package api

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendfileConn is an accepted unix connection that net/http's response
// writer can hand file readers to. net/http's response.ReadFrom uses the
// connection's io.ReaderFrom when it has one, but *net.UnixConn has none (its
// ReadFrom is the datagram one), so without this wrapper every file byte is
// copied through a 32 KiB buffer. With it, a File's WriteRange doing
// io.Copy(w, section-of-*os.File) ends in sendfile(2).
type sendfileConn struct {
	*net.UnixConn
	sent *atomic.Int64 // bytes moved by sendfile, owned by the Server
}

// ReadFrom sends r with sendfile when r is a file (an *os.File, an
// io.LimitedReader over one, or an io.SectionReader over one) and copies
// otherwise.
func (c *sendfileConn) ReadFrom(r io.Reader) (int64, error) {
	src := fileSourceOf(r)
	if src.file == nil {
		return io.Copy(c.UnixConn, r)
	}
	n, handled, err := sendfile(c.UnixConn, src)
	c.sent.Add(n)
	src.advance(n)
	if handled || n > 0 {
		return n, err
	}
	return io.Copy(c.UnixConn, r)
}

// fileSource is a region of an open file: remain bytes (-1: to EOF) from
// off, or from the file's own position when off is nil.
type fileSource struct {
	file    syscall.Conn
	off     *int64
	remain  int64
	advance func(n int64)
}

func fileSourceOf(r io.Reader) fileSource {
	switch v := r.(type) {
	case *io.LimitedReader:
		f, ok := v.R.(syscall.Conn)
		if !ok || !isFile(f) {
			return fileSource{}
		}
		return fileSource{file: f, remain: max(v.N, 0), advance: func(n int64) { v.N -= n }}
	case *io.SectionReader:
		outer, base, size := v.Outer()
		f, ok := outer.(*os.File)
		if !ok {
			return fileSource{}
		}
		pos, err := v.Seek(0, io.SeekCurrent)
		if err != nil {
			return fileSource{}
		}
		off := base + pos
		return fileSource{file: f, off: &off, remain: max(size-pos, 0),
			advance: func(n int64) { _, _ = v.Seek(n, io.SeekCurrent) }}
	case syscall.Conn:
		if !isFile(v) {
			return fileSource{}
		}
		return fileSource{file: v, remain: -1, advance: func(int64) {}}
	}
	return fileSource{}
}

// isFile tells files from sockets and pipes that are also syscall.Conns.
func isFile(c syscall.Conn) bool {
	switch c.(type) {
	case net.Conn, net.Listener:
		return false
	}
	_, ok := c.(interface{ Stat() (os.FileInfo, error) })
	return ok
}

// sendfile moves src to dst with sendfile(2), waiting for the socket to be
// writable as needed. handled is false when the kernel refused the file
// before moving any byte (the caller copies instead).
func sendfile(dst *net.UnixConn, src fileSource) (written int64, handled bool, err error) {
	if src.remain == 0 {
		return 0, true, nil
	}
	srcRaw, err := src.file.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	dstRaw, err := dst.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	handled = true
	var sendErr error
	cerr := srcRaw.Control(func(sfd uintptr) {
		err = dstRaw.Write(func(dfd uintptr) bool {
			for src.remain != 0 {
				chunk := 1 << 30
				if src.remain > 0 && src.remain < int64(chunk) {
					chunk = int(src.remain)
				}
				n, e := unix.Sendfile(int(dfd), int(sfd), src.off, chunk)
				if n > 0 {
					written += int64(n)
					if src.remain > 0 {
						src.remain -= int64(n)
					}
				}
				switch {
				case e == unix.EAGAIN:
					return false // wait until the socket is writable
				case e == unix.EINTR:
					continue
				case (e == unix.EINVAL || e == unix.ENOSYS || e == unix.EOPNOTSUPP) && written == 0:
					handled = false
					return true
				case e != nil:
					sendErr = os.NewSyscallError("sendfile", e)
					return true
				case n == 0:
					return true // end of file
				}
			}
			return true
		})
	})
	return written, handled, errors.Join(cerr, err, sendErr)
}
