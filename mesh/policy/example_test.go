package policy_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/meshcache/meshcache/mesh/policy"
)

// A region of four nodes pins a 300-block dataset: who reads which piece
// from the origin, who takes over when an owner stalls, and where a node
// fetches a block that two peers hold.
func Example() {
	pieces, _ := policy.NewPieces(300, policy.DefaultPieceBlocks)
	view := policy.NewView(1, []string{"nodeA", "nodeB", "nodeC", "nodeD"})
	owners := policy.NewTable("bafy-example-root", view)

	for piece := range pieces.Count() {
		first, end := pieces.Range(piece)
		owner, _ := owners.OwnerID(piece)
		order := owners.Rank(piece, 0, nil)
		fmt.Printf("piece %d leaves [%d,%d) owner %s, then %s\n", piece, first, end, owner, view.Member(order[1]))
	}
	stalled, _ := owners.OwnerID(2)
	next, _ := owners.Takeover(2, func(id string) bool { return id == stalled })
	fmt.Println("piece 2 after its owner stalls:", next)

	holders := []policy.Holder{
		{ID: "far", Labels: policy.Labels{Region: "us"}, RTT: 90 * time.Millisecond},
		{ID: "near", Labels: policy.Labels{Region: "eu", Zone: "a"}, RTT: time.Millisecond},
	}
	policy.RankHolders(holders, policy.DefaultRankOptions(policy.Labels{Region: "eu", Zone: "a"}, rand.New(rand.NewPCG(1, 1))))
	fmt.Println("fetch order:", holders[0].ID, holders[1].ID)
	// Output:
	// piece 0 leaves [0,64) owner nodeA, then nodeC
	// piece 1 leaves [64,128) owner nodeC, then nodeB
	// piece 2 leaves [128,192) owner nodeD, then nodeA
	// piece 3 leaves [192,256) owner nodeB, then nodeA
	// piece 4 leaves [256,300) owner nodeA, then nodeC
	// piece 2 after its owner stalls: nodeA
	// fetch order: near far
}
