package harness

import (
	"math"

	"github.com/faultbook/faultbook/harness/result"
)

// Wilson returns the Wilson score interval for k successes in n trials at 95%
// confidence. It behaves at k=0 and k=n, where the normal approximation does not.
func Wilson(k, n int) result.Interval {
	if n <= 0 {
		return result.Interval{Lo: 0, Hi: 1}
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return result.Interval{Lo: math.Max(0, centre-half), Hi: math.Min(1, centre+half)}
}
