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

// Overhead compares the durations of a no-false-alarm cell's runs with its
// control's: the mean's excess over the control's in percent, and its 95%
// interval. The interval is the ratio of the two means by the delta method,
// with Student's t at the Welch–Satterthwaite degrees of freedom, so a few
// runs give an honest, wide interval. ok is false when either cell has fewer
// than two runs or the control's mean is zero.
func Overhead(nfa, control []float64) (pct float64, iv result.Interval, ok bool) {
	if len(nfa) < 2 || len(control) < 2 {
		return 0, result.Interval{}, false
	}
	mN, vN := meanVar(nfa)
	mC, vC := meanVar(control)
	if mC <= 0 {
		return 0, result.Interval{}, false
	}
	nN, nC := float64(len(nfa)), float64(len(control))
	r := mN / mC
	// Var(mN/mC) ≈ (Var(mN) + r² Var(mC)) / mC²
	seN, seC := vN/nN, vC/nC
	se := math.Sqrt(seN+r*r*seC) / mC
	df := welchDF(seN, nN, r*r*seC, nC)
	half := tQuantile975(df) * se
	return 100 * (r - 1), result.Interval{Lo: 100 * (r - half - 1), Hi: 100 * (r + half - 1)}, true
}

func meanVar(x []float64) (mean, variance float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	return mean, variance / float64(len(x)-1)
}

// welchDF is the Welch–Satterthwaite degrees of freedom of a sum of two
// variance terms a (from na samples) and b (from nb).
func welchDF(a, na, b, nb float64) float64 {
	den := a*a/(na-1) + b*b/(nb-1)
	if den == 0 {
		return na + nb - 2
	}
	return (a + b) * (a + b) / den
}

// t975 holds Student's t 0.975 quantiles for 1 to 30 degrees of freedom.
var t975 = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// tQuantile975 is Student's t 0.975 quantile at df degrees of freedom
// (rounded down; the normal's beyond 30, to within 2%).
func tQuantile975(df float64) float64 {
	switch {
	case df < 1:
		return t975[0]
	case df <= 30:
		return t975[int(df)-1]
	}
	return 1.959963984540054 + 2.37/df // Cornish–Fisher's first term
}
