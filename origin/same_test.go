package origin

import "testing"

func TestSameLocation(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{"file:///data/x", "file:///data/x", true},
		{"file:///data/x", "file:///data/x/", true},
		{"file:///data/x", "file://localhost/data/x", true},
		{"file:///data/x", "file:///data/./y/../x", true},
		{"file:///data/x", "file:///data/xy", false},
		{"http://Host/d", "http://host:80/d/", true},
		{"https://host/d", "https://host:443/d", true},
		{"http://host/d", "https://host/d", false},
		{"http://host:8080/d", "http://host/d", false},
		{"http://user:pw@host/d", "http://host/d", true},
		{"s3://bucket", "s3://bucket/", true},
		{"s3://bucket/p", "s3://bucket/q", false},
		{"s3://bucket/p", "s3://other/p", false},
		{"", "", false},
		{"::", "::", false},
	}
	for _, tc := range cases {
		if got := SameLocation(tc.a, tc.b); got != tc.same {
			t.Errorf("SameLocation(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.same)
		}
		if got := SameLocation(tc.b, tc.a); got != tc.same {
			t.Errorf("SameLocation(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.same)
		}
	}
}
