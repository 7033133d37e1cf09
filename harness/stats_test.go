package harness

import (
	"math"
	"testing"
)

func TestWilson(t *testing.T) {
	for _, tc := range []struct {
		k, n   int
		lo, hi float64
	}{
		{0, 10, 0, 0.2775},
		{10, 10, 0.7225, 1},
		{5, 10, 0.2366, 0.7634},
		{1, 1, 0.2065, 1},
		{0, 0, 0, 1},
	} {
		iv := Wilson(tc.k, tc.n)
		if math.Abs(iv.Lo-tc.lo) > 5e-4 || math.Abs(iv.Hi-tc.hi) > 5e-4 {
			t.Errorf("Wilson(%d, %d) = [%.4f, %.4f], want [%.4f, %.4f]", tc.k, tc.n, iv.Lo, iv.Hi, tc.lo, tc.hi)
		}
	}
}

// TestOverhead checks the ratio-of-means interval against a hand computation,
// and that fewer than two runs a side give none.
func TestOverhead(t *testing.T) {
	// mean 12 (variance 1) against mean 10 (variance 0.25), 3 runs each:
	// ratio 1.2, standard error sqrt(1/3 + 1.44·0.25/3)/10 = 0.067330,
	// Welch df 3.27 → t 3.182, half-width 0.21424.
	pct, iv, ok := Overhead([]float64{11, 12, 13}, []float64{10, 10.5, 9.5})
	if !ok || math.Abs(pct-20) > 1e-9 || math.Abs(iv.Lo-(-1.424)) > 0.01 || math.Abs(iv.Hi-41.424) > 0.01 {
		t.Errorf("Overhead = %.3f%% [%.3f, %.3f] ok=%v, want 20%% [-1.424, 41.424]", pct, iv.Lo, iv.Hi, ok)
	}
	// More runs narrow it.
	var a, b []float64
	for i := range 100 {
		a = append(a, 12+float64(i%3-1))
		b = append(b, 10+0.5*float64(i%3-1))
	}
	_, wide, _ := Overhead(a[:3], b[:3])
	_, narrow, _ := Overhead(a, b)
	if narrow.Hi-narrow.Lo >= (wide.Hi-wide.Lo)/5 || narrow.Lo > 20 || narrow.Hi < 20 {
		t.Errorf("100 runs a side give [%.2f, %.2f], not much narrower than 3 runs' [%.2f, %.2f] around 20%%", narrow.Lo, narrow.Hi, wide.Lo, wide.Hi)
	}
	if _, _, ok := Overhead([]float64{1}, []float64{1, 2}); ok {
		t.Error("an interval from one run")
	}
	if _, _, ok := Overhead([]float64{1, 2}, []float64{0, 0}); ok {
		t.Error("an overhead against a control of zero duration")
	}
}
