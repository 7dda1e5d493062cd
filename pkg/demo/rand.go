package demo

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"
)

// Every random choice is drawn from a generator keyed by what it is about
// (the seed, a kind, an entity, an absolute day), never from one sequence
// running through the window: that is what makes a row independent of Now
// and Days (see the package notes).

// splitmix is SplitMix64's finaliser: a fast, well-mixed 64-bit hash step.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// mix combines keys into one hash.
func mix(keys ...uint64) uint64 {
	h := uint64(0x6a09e667f3bcc908)
	for _, k := range keys {
		h = splitmix(h ^ k)
	}
	return h
}

// mix2 is mix for two keys without the variadic slice, for the hot KPI loop.
func mix2(a, b uint64) uint64 { return splitmix(splitmix(0x6a09e667f3bcc908^a) ^ b) }

// strHash is FNV-1a.
func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// unit maps a hash to (0, 1).
func unit(h uint64) float64 { return (float64(h>>11) + 0.5) / (1 << 53) }

// normal maps a hash to a standard normal deviate (Box-Muller).
func normal(h uint64) float64 {
	return math.Sqrt(-2*math.Log(unit(h))) * math.Cos(2*math.Pi*unit(splitmix(h)))
}

// hex16 is h as 16 lower-case hex digits.
func hex16(h uint64) string {
	var buf [16]byte
	b := strconv.AppendUint(buf[:0], h, 16)
	out := make([]byte, 16)
	for i := range out {
		out[i] = '0'
	}
	copy(out[16-len(b):], b)
	return string(out)
}

// rng is a keyed generator with the distributions the generator needs.
type rng struct{ *rand.Rand }

func newRNG(keys ...uint64) rng {
	h := mix(keys...)
	return rng{rand.New(rand.NewPCG(h, splitmix(h)))}
}

// between is uniform in [lo, hi).
func (r rng) between(lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// lognormal has the given median and log-space sigma.
func (r rng) lognormal(median, sigma float64) float64 {
	return median * math.Exp(sigma*r.NormFloat64())
}

// duration is a lognormal duration, at least min.
func (r rng) duration(median time.Duration, sigma float64, min time.Duration) time.Duration {
	d := time.Duration(r.lognormal(float64(median), sigma)).Round(time.Second)
	return max(d, min)
}

// poisson draws a Poisson count (Knuth; the means here are small).
func (r rng) poisson(mean float64) int {
	if mean <= 0 {
		return 0
	}
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// pick returns one of items.
func pick[T any](r rng, items []T) T { return items[r.IntN(len(items))] }

// weighted returns the index chosen by weights (which need not sum to 1).
func (r rng) weighted(weights ...float64) int {
	total := 0.0
	for _, w := range weights {
		total += w
	}
	u := r.Float64() * total
	for i, w := range weights {
		if u < w {
			return i
		}
		u -= w
	}
	return len(weights) - 1
}

// sha returns a 40-hex-digit commit sha.
func (r rng) sha() string {
	return (hex16(r.Uint64()) + hex16(r.Uint64()) + hex16(r.Uint64()))[:40]
}
