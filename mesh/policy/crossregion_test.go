package policy

import (
	"testing"
	"time"
)

func TestCrossRegionDecide(t *testing.T) {
	global := CrossRegion{Global: true}
	near := CrossRegion{Global: true, MaxRTT: 50 * time.Millisecond}
	tests := []struct {
		name   string
		policy CrossRegion
		piece  RemotePiece
		want   Source
	}{
		{"off: origin even with a remote holder", CrossRegion{}, RemotePiece{LocalRegion: "eu", OwnerRegion: "us", RemoteHolder: true}, SourceOrigin},
		{"global: remote holder", global, RemotePiece{LocalRegion: "eu", OwnerRegion: "eu", RemoteHolder: true}, SourceRemoteHolder},
		{"global: another region owns it", global, RemotePiece{LocalRegion: "eu", OwnerRegion: "us"}, SourceRemoteOwner},
		{"global: this region owns it", global, RemotePiece{LocalRegion: "eu", OwnerRegion: "eu"}, SourceOrigin},
		{"global: owner unknown", global, RemotePiece{LocalRegion: "eu"}, SourceOrigin},
		{"max RTT: near enough", near, RemotePiece{LocalRegion: "eu", OwnerRegion: "us", RemoteRTT: 40 * time.Millisecond}, SourceRemoteOwner},
		{"max RTT: unknown RTT counts as near", near, RemotePiece{LocalRegion: "eu", RemoteHolder: true}, SourceRemoteHolder},
		{"max RTT: too far", near, RemotePiece{LocalRegion: "eu", OwnerRegion: "us", RemoteHolder: true, RemoteRTT: 120 * time.Millisecond}, SourceOrigin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.policy.Decide(tt.piece); got != tt.want {
				t.Fatalf("Decide = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCrossRegionOneOriginRead: with a region Table choosing owner regions,
// a cold piece is read from the origin by exactly one region under Global
// and by every region without it; when the owner region stalls, takeover
// hands the read to exactly one other region.
func TestCrossRegionOneOriginRead(t *testing.T) {
	regions := []string{"us-east", "eu-west", "ap-south", "us-west"}
	tab := NewTable("bafy-ds", NewView(1, regions))
	for piece := range int64(2000) {
		for _, tc := range []struct {
			policy  CrossRegion
			stalled string
			want    int
		}{
			{CrossRegion{Global: true}, "", 1},
			{CrossRegion{}, "", len(regions)},
			{CrossRegion{Global: true}, "owner", 1},
		} {
			failed := func(string) bool { return false }
			if tc.stalled != "" {
				owner, _ := tab.OwnerID(piece)
				failed = func(r string) bool { return r == owner }
			}
			ownerRegion, _ := tab.Takeover(piece, failed)
			readers := 0
			for _, r := range regions {
				if failed(r) {
					continue
				}
				if tc.policy.Decide(RemotePiece{LocalRegion: r, OwnerRegion: ownerRegion}) == SourceOrigin {
					readers++
				}
			}
			if readers != tc.want {
				t.Fatalf("piece %d %+v stalled %q: %d regions read the origin, want %d", piece, tc.policy, tc.stalled, readers, tc.want)
			}
		}
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{SourceOrigin.String(), "origin"}, {SourceRemoteHolder.String(), "remote-holder"},
		{SourceRemoteOwner.String(), "remote-owner"}, {Source(9).String(), "unknown"},
		{TierRack.String(), "rack"}, {TierZone.String(), "zone"}, {TierRegion.String(), "region"},
		{TierRemote.String(), "remote"}, {Tier(9).String(), "unknown"},
	} {
		if tc.got != tc.want {
			t.Errorf("String = %q, want %q", tc.got, tc.want)
		}
	}
}
