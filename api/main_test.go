package api

import (
	"os"
	"testing"
)

// envChild switches the test binary into a child role (see auth_test.go).
const envChild = "MESHCACHE_API_TEST_CHILD"

func TestMain(m *testing.M) {
	if role := os.Getenv(envChild); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}
