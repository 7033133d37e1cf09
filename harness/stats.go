package harness

import (
	"math"
	"slices"

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
// control's: how much longer the no-false-alarm runs took, in percent, and
// the 95% interval of that figure. ok is false when there are fewer than two
// runs a side or a duration is not positive.
//
// When both cells ran as often, run i of one is paired with run i of the
// other: they share their seed and ran side by side, so they saw the same
// load on the machine, which pairing takes out of the comparison. The figure
// is then the geometric mean of the paired ratios, with Student's t interval
// on their logarithms (never below -100%). Otherwise it is the ratio of the
// means, with a delta-method interval at the Welch–Satterthwaite degrees of
// freedom.
func Overhead(nfa, control []float64) (pct float64, iv result.Interval, ok bool) {
	if len(nfa) < 2 || len(control) < 2 || slices.ContainsFunc(nfa, notPositive) || slices.ContainsFunc(control, notPositive) {
		return 0, result.Interval{}, false
	}
	if len(nfa) == len(control) {
		logs := make([]float64, len(nfa))
		for i := range nfa {
			logs[i] = math.Log(nfa[i] / control[i])
		}
		m, v := meanVar(logs)
		half := tQuantile975(float64(len(logs)-1)) * math.Sqrt(v/float64(len(logs)))
		return 100 * (math.Exp(m) - 1), result.Interval{Lo: 100 * (math.Exp(m-half) - 1), Hi: 100 * (math.Exp(m+half) - 1)}, true
	}
	mN, vN := meanVar(nfa)
	mC, vC := meanVar(control)
	nN, nC := float64(len(nfa)), float64(len(control))
	r := mN / mC
	// Var(mN/mC) ≈ (Var(mN) + r² Var(mC)) / mC²
	seN, seC := vN/nN, vC/nC
	se := math.Sqrt(seN+r*r*seC) / mC
	df := welchDF(seN, nN, r*r*seC, nC)
	half := tQuantile975(df) * se
	return 100 * (r - 1), result.Interval{Lo: 100 * (r - half - 1), Hi: 100 * (r + half - 1)}, true
}

func notPositive(v float64) bool { return !(v > 0) }

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
