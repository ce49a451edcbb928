package origin

import (
	"fmt"
	"strings"
	"time"
)

// changes lists how now differs from want, the version recorded at publish
// ("" when it matches). Size is always compared; ModTime at one-second
// precision when want has one (a zero ModTime means the origin gave none at
// publish); ETag and VersionID when both sides have one. A missing mtime
// now, when publish had one, counts as a change: nothing else could show it.
func changes(want, now FileInfo) string {
	var d []string
	if want.Size != now.Size {
		d = append(d, fmt.Sprintf("size %d at publish, %d now", want.Size, now.Size))
	}
	if !want.ModTime.IsZero() && (now.ModTime.IsZero() || want.ModTime.Unix() != now.ModTime.Unix()) {
		d = append(d, fmt.Sprintf("mtime %s at publish, %s now", fmtTime(want.ModTime), fmtTime(now.ModTime)))
	}
	if want.ETag != "" && now.ETag != "" && trimETag(want.ETag) != trimETag(now.ETag) {
		d = append(d, fmt.Sprintf("etag %s at publish, %s now", want.ETag, now.ETag))
	}
	if want.VersionID != "" && now.VersionID != "" && want.VersionID != now.VersionID {
		d = append(d, fmt.Sprintf("version %s at publish, %s now", want.VersionID, now.VersionID))
	}
	return strings.Join(d, "; ")
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// trimETag drops the quotes some servers and clients keep and others strip.
func trimETag(s string) string { return strings.Trim(s, `"`) }

// checkRange refuses a read outside the size recorded at publish: that is
// the caller's mistake, not the origin's.
func checkRange(rel string, off, length int64, want FileInfo) error {
	if off < 0 || length < 0 || off > want.Size || length > want.Size-off {
		return fmt.Errorf("read %s: range [%d, %d) is outside its size %d at publish", rel, off, off+length, want.Size)
	}
	return nil
}
