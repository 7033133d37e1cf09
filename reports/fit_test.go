package reports

import (
	"slices"
	"strings"
	"testing"

	"github.com/clipperhouse/displaywidth"
	"github.com/google/go-cmp/cmp"
)

func TestWrapText(t *testing.T) {
	for _, tc := range []struct {
		text  string
		width int
		want  []string
	}{
		{"pass 7/10 [0.40–0.89]", 30, []string{"pass 7/10 [0.40–0.89]"}},
		{"pass 7/10 [0.40–0.89]", 11, []string{"pass 7/10", "[0.40–0.89]"}},
		{"registry-fingerprint", 12, []string{"registry-", "fingerprint"}},
		{"registrator-fail-fast", 17, []string{"registrator-fail-", "fast"}},
		{"a-", 1, []string{"a-"}},
		{"pass 10/10 [0.72–1.00]", 6, []string{"pass", "10/10", "[0.72–", "1.00]"}},
		{"-x", 1, []string{"-x"}},
		{"unbreakable", 3, []string{"unbreakable"}},
		{"one\ntwo three", 5, []string{"one", "two", "three"}},
		{"  spaced   out  ", 6, []string{"spaced", "out"}},
		{"", 4, []string{""}},
	} {
		if got := wrapText(tc.text, tc.width); !cmp.Equal(got, tc.want) {
			t.Errorf("wrapText(%q, %d) = %q, want %q", tc.text, tc.width, got, tc.want)
		}
	}
}

// TestWrapTextNeverSplitsWords wraps sentences at every width: no line is
// wider than the width unless it is a single unbreakable piece, and joining
// the lines gives back the words.
func TestWrapTextNeverSplitsWords(t *testing.T) {
	texts := []string{
		"a registrator missing on transport goroutines: the error only in an executor's log, swallowed",
		"registrator-fail-fast, executor-wide-registry, registry-fingerprint",
		"ClassCastException: scala.Tuple1 cannot be cast to scala.Product2",
		"pass 10/10 [0.72–1.00] and pass 7/10 [0.40–0.89]",
	}
	for _, text := range texts {
		words := strings.Fields(text)
		for width := 1; width <= len(text)+1; width++ {
			lines := wrapText(text, width)
			for _, l := range lines {
				if displaywidth.String(l) > width && strings.ContainsAny(l, " ") {
					t.Fatalf("width %d: line %q is wider and has a space to break at", width, l)
				}
			}
			// Rejoin: a line ending in a hyphen or dash continues the word.
			joined := ""
			for i, l := range lines {
				if i > 0 && !strings.HasSuffix(lines[i-1], "-") && !strings.HasSuffix(lines[i-1], "–") {
					joined += " "
				}
				joined += l
			}
			if got := strings.Fields(joined); !slices.Equal(got, words) {
				t.Fatalf("width %d: words %q, want %q", width, got, words)
			}
		}
	}
}

// TestGroupsSplitOnlyWhenNeeded: a grid that fits is one table; one that
// cannot fit even wrapped is split into the fewest tables that fit, each
// beginning with the first column.
func TestGroupsSplitOnlyWhenNeeded(t *testing.T) {
	g := &grid{header: []string{"scenario", "aaaa", "bbbb", "cccc", "dddd"}, nowrap: []bool{false, true, true, true, true}}
	g.rows = [][]string{{"registration-order", "x", "y", "z", "w"}}
	// 18 + 4×4 + borders 16 = 50.
	for _, tc := range []struct {
		width int
		want  [][]int
	}{
		{0, [][]int{{0, 1, 2, 3, 4}}},
		{50, [][]int{{0, 1, 2, 3, 4}}},
		{49, [][]int{{0, 1, 2, 3}, {0, 4}}},
		{36, [][]int{{0, 1, 2}, {0, 3, 4}}},
		{35, [][]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}}},
		{29, [][]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}}},
		{10, [][]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}}},
	} {
		if got := g.groups(tc.width); !cmp.Equal(got, tc.want) {
			t.Errorf("width %d: groups %v, want %v", tc.width, got, tc.want)
		}
	}
}
