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

// TestOverhead checks both intervals against hand computations, and that
// fewer than two runs a side give none.
func TestOverhead(t *testing.T) {
	// Paired, 3 runs each: log ratios ln(11/10), ln(12/10.5), ln(13/9.5),
	// mean 0.180833, sd 0.116606, t(2) 4.303, half-width 0.289690:
	// +19.82% [-10.31%, +60.09%].
	pct, iv, ok := Overhead([]float64{11, 12, 13}, []float64{10, 10.5, 9.5})
	if !ok || math.Abs(pct-19.82) > 0.01 || math.Abs(iv.Lo-(-10.31)) > 0.01 || math.Abs(iv.Hi-60.09) > 0.01 {
		t.Errorf("paired Overhead = %.3f%% [%.3f, %.3f] ok=%v, want 19.82%% [-10.31, 60.09]", pct, iv.Lo, iv.Hi, ok)
	}
	// Unpaired (4 runs against 3): means 12 (variance 2/3) and 10 (0.25),
	// ratio 1.2, standard error sqrt(2/3/4 + 1.44·0.25/3)/10 = 0.053541,
	// Welch df 4.99 → t(4) 2.776, half-width 0.148630.
	pct, iv, ok = Overhead([]float64{11, 12, 13, 12}, []float64{10, 10.5, 9.5})
	if !ok || math.Abs(pct-20) > 1e-9 || math.Abs(iv.Lo-5.137) > 0.01 || math.Abs(iv.Hi-34.863) > 0.01 {
		t.Errorf("unpaired Overhead = %.3f%% [%.3f, %.3f] ok=%v, want 20%% [5.137, 34.863]", pct, iv.Lo, iv.Hi, ok)
	}
	// Pairing takes out a load both cells saw: runs that vary 3× from one
	// pair to the next, each no-false-alarm run 5% longer than its control,
	// give a narrow interval around +5%.
	var a, b []float64
	for i := range 10 {
		load := 1 + float64(i%3)
		a = append(a, 105*load*(1+0.01*float64(i%2)))
		b = append(b, 100*load)
	}
	pct, iv, _ = Overhead(a, b)
	if iv.Lo > 5.5 || iv.Hi < 5.5 || iv.Hi-iv.Lo > 2 {
		t.Errorf("paired runs under a shared load give %.2f%% [%.2f, %.2f], want a narrow interval around 5.5%%", pct, iv.Lo, iv.Hi)
	}
	if _, _, ok := Overhead([]float64{1}, []float64{1, 2}); ok {
		t.Error("an interval from one run")
	}
	if _, _, ok := Overhead([]float64{1, 2}, []float64{0, 2}); ok {
		t.Error("an overhead against a run of zero duration")
	}
}
