package node

import (
	"path/filepath"
	"testing"

	"github.com/meshcache/meshcache/internal/testenv"
	"github.com/meshcache/meshcache/origin"
)

// testBucket is the S3 bucket the fixture folder is served as.
const testBucket = "bucket"

// testOrigins serves one folder three ways: as a file:// prefix, through
// nginx, and as an S3 bucket through versitygw.
type testOrigins struct {
	// dir is the folder; it is the bucket's folder too.
	dir      string
	fileURL  string
	httpURL  string
	s3URL    string
	nginx    *testenv.Nginx
	s3       *testenv.S3
	files    []fixtureFile
	dataSize int64
}

// startOrigins writes files into a new folder and serves it.
func startOrigins(t testing.TB, files []fixtureFile) *testOrigins {
	t.Helper()
	s3root := t.TempDir()
	dir := filepath.Join(s3root, testBucket)
	writeFixture(t, dir, files)
	o := &testOrigins{dir: dir, fileURL: "file://" + dir, files: files, dataSize: sizeOf(files)}
	o.nginx = testenv.StartNginx(t, dir)
	o.httpURL = o.nginx.URL()
	o.s3 = testenv.StartS3(t, s3root)
	o.s3URL = "s3://" + testBucket + "/"
	return o
}

// config allows every origin of o and carries the S3 server's keys.
func (o *testOrigins) config() Config {
	return Config{AllowOrigins: []string{o.fileURL, o.httpURL, o.s3URL}, S3: o.s3Config()}
}

func (o *testOrigins) s3Config() origin.S3Config {
	return origin.S3Config{
		Endpoint: o.s3.Endpoint, Region: o.s3.Region, PathStyle: true,
		AccessKey: o.s3.AccessKey, SecretKey: o.s3.SecretKey,
	}
}
