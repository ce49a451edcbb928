package policy

// The weight of (dataset, piece, member) is
//
//	mix(memberKey(dataset, member) ^ pieceKey(dataset, piece))
//
// memberKey is FNV-1a over the length of the dataset key, the dataset key
// and the member ID, finished by mix; pieceKey is the splitmix64 sequence
// seeded by the dataset. Splitting it this way lets a Table hash each member
// once and then pay one XOR and one mix per (piece, member): 1.2 ns per
// member here, 12 µs for the owner of a piece among 10,000 members. SHA-256
// (or this hash from scratch) costs 160-220 ns per (piece, member), because
// the piece must be hashed with every member (BenchmarkWeight). mix is
// splitmix64's finaliser, a bijection with full avalanche, so the XOR of two
// different keys gives well-spread weights (TestOwnerBalance checks the
// spread against the binomial σ). The formula and constants are protocol
// (TestWeightGolden pins values computed by an independent implementation):
// changing them moves every owner.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
	gamma     = 0x9e3779b97f4a7c15 // splitmix64's increment (golden ratio)
)

// mix is splitmix64's finaliser (Stafford's variant 13).
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

func fnvUint64(h, v uint64) uint64 {
	for range 8 {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

// datasetState is the FNV state after the length-prefixed dataset key, so
// member keys need hash only the member ID.
func datasetState(dataset string) uint64 {
	return fnvString(fnvUint64(fnvOffset, uint64(len(dataset))), dataset)
}

func memberKey(dsState uint64, member string) uint64 {
	return mix(fnvString(dsState, member))
}

func pieceKey(dsState uint64, piece int64) uint64 {
	return mix(mix(dsState) + uint64(piece+1)*gamma)
}

// Weight is the rendezvous weight of member for piece of dataset; the
// member with the highest weight owns the piece. dataset is any stable key
// of the dataset, normally its root CID's binary form (cid.Cid.KeyString).
func Weight(dataset string, piece int64, member string) uint64 {
	s := datasetState(dataset)
	return mix(memberKey(s, member) ^ pieceKey(s, piece))
}
