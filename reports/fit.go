package reports

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/clipperhouse/displaywidth"
)

// Terminal says how a terminal table is drawn.
type Terminal struct {
	// Color switches ANSI colours on. The caller decides it (a terminal check,
	// NO_COLOR); no escape sequence is written when it is off.
	Color bool
	// Width is the terminal's width in columns. Tables are fitted to it:
	// long text wraps inside its cell between words, the first column stays
	// whole, and columns that cannot fit even so go to a second table. Zero
	// means no limit, for a pipe or a file: every table comes out whole and
	// unwrapped.
	Width int
}

// grid is a terminal table before layout: plain text, with an optional paint
// applied to each line of a cell once it is wrapped, so that colour escapes
// never count toward a width or get split.
type grid struct {
	header []string
	rows   [][]string
	// paint colours a cell's text; nil leaves it plain.
	paint [][]func(string) string
	// nowrap marks columns whose cells must stay on one line (symbols).
	// The first column never wraps.
	nowrap []bool
}

// borderWidth is what a table of n columns spends on borders and padding:
// "│ " before each column, " " after it, and the closing "│".
func borderWidth(n int) int { return 3*n + 1 }

// WriteTable writes a plain table fitted to width (0: no limit) as Terminal
// describes: cells wrap between words, the first column stays whole, and
// columns that cannot fit go to further tables that repeat the first column.
func WriteTable(w io.Writer, header []string, rows [][]string, width int) error {
	return writeGrid(w, &grid{header: header, rows: rows}, width)
}

// writeGrid lays the grid out within width and renders it, as one table or,
// when even the narrowest layout is too wide, as several.
func writeGrid(w io.Writer, g *grid, width int) error {
	for i, cols := range g.groups(width) {
		if i > 0 {
			if _, err := io.WriteString(w, "\n"); err != nil {
				return err
			}
		}
		if err := g.render(w, cols, width); err != nil {
			return err
		}
	}
	return nil
}

func (g *grid) cell(r, c int) string {
	if c < len(g.rows[r]) {
		return g.rows[r][c]
	}
	return ""
}

func (g *grid) wraps(c int) bool { return c > 0 && !(c < len(g.nowrap) && g.nowrap[c]) }

// natural is the width of column c unwrapped; least the narrowest it can be
// wrapped to, its longest unbreakable piece.
func (g *grid) natural(c int) int {
	n := textWidth(g.header[c])
	for r := range g.rows {
		n = max(n, textWidth(g.cell(r, c)))
	}
	return n
}

func (g *grid) least(c int) int {
	if !g.wraps(c) {
		return g.natural(c)
	}
	n := longestPiece(g.header[c])
	for r := range g.rows {
		n = max(n, longestPiece(g.cell(r, c)))
	}
	return n
}

// groups splits the columns into as few tables as fit width at their
// narrowest, the first column in every one. Unlimited width, or a table that
// fits, is one group. Among the splits into that many tables it takes the one
// that needs the least wrapping, then the one that fills the first tables most.
func (g *grid) groups(width int) [][]int {
	n := len(g.header)
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	if width <= 0 || n < 2 {
		return [][]int{all}
	}
	least, natural := make([]int, n), make([]int, n)
	for c := range n {
		least[c], natural[c] = g.least(c), g.natural(c)
	}
	// span is the width of a table of the first column and columns [a, b).
	span := func(ws []int, a, b int) int {
		t := borderWidth(1+b-a) + ws[0]
		for c := a; c < b; c++ {
			t += ws[c]
		}
		return t
	}
	// The fewest tables: fill each as far as the narrowest layout allows.
	k := 0
	for a := 1; a < n; k++ {
		b := a + 1
		for b < n && span(least, a, b+1) <= width {
			b++
		}
		a = b
	}
	var best []int // the column each table starts at
	bestSqueeze := -1
	var try func(starts []int)
	try = func(starts []int) {
		if len(starts) < k {
			// Later starts first, so that among equals the first tables are fullest.
			for b := n - 1; b > starts[len(starts)-1]; b-- {
				try(append(starts, b))
			}
			return
		}
		squeeze := 0
		for i, a := range starts {
			end := n
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			if span(least, a, end) > width {
				return
			}
			squeeze += max(0, span(natural, a, end)-width)
		}
		if bestSqueeze < 0 || squeeze < bestSqueeze {
			best, bestSqueeze = slices.Clone(starts), squeeze
		}
	}
	try([]int{1})
	if best == nil { // one column alone is too wide: one table per column
		for c := 1; c < n; c++ {
			best = append(best, c)
		}
	}
	var out [][]int
	for i, s := range best {
		end := n
		if i+1 < len(best) {
			end = best[i+1]
		}
		cols := []int{0}
		for c := s; c < end; c++ {
			cols = append(cols, c)
		}
		out = append(out, cols)
	}
	return out
}

// widths gives each column of the group its natural width, then narrows
// wrapping columns until the table fits width or none can narrow further.
// Each step narrows the column whose wrapping costs the fewest added lines
// (and split words) per column of width saved, the widest among equals, so
// that one long cell wraps before a column of short ones does.
func (g *grid) widths(cols []int, width int) []int {
	ws := make([]int, len(cols))
	floor := make([]int, len(cols))
	total := borderWidth(len(cols))
	for i, c := range cols {
		ws[i], floor[i] = g.natural(c), g.least(c)
		total += ws[i]
	}
	if width <= 0 || total <= width {
		return ws
	}
	// cost[i][r] is what row r costs in column i: its lines, and a penalty
	// for each word split after a hyphen or dash, so that a column of words
	// that fit whole narrows first. Row len(g.rows) is the header.
	count := func(c, w int) []cellCost {
		n := make([]cellCost, len(g.rows)+1)
		for r := range g.rows {
			n[r] = wrapCost(g.cell(r, c), w)
		}
		n[len(g.rows)] = wrapCost(g.header[c], w)
		return n
	}
	lines := make([][]cellCost, len(cols))
	for i, c := range cols {
		lines[i] = count(c, ws[i])
	}
	height := func(swap int, alt []cellCost) int {
		h := 0
		for r := range len(g.rows) + 1 {
			rh := 0
			for i := range cols {
				cc := lines[i][r]
				if i == swap {
					cc = alt[r]
				}
				rh = max(rh, cc.lines)
				h += splitPenalty * cc.splits
			}
			h += rh
		}
		return h
	}
	for total > width {
		// Narrow one column as far as its next change of wrapping, or as far
		// as needed: the one whose cost grows least per column saved.
		now := height(-1, nil)
		best, bestW := -1, 0
		var bestLines []cellCost
		var bestRatio float64
		for i, c := range cols {
			if ws[i] <= floor[i] {
				continue
			}
			w := max(floor[i], g.wrappedWidth(c, ws[i]-1), ws[i]-(total-width))
			alt := count(c, w)
			ratio := float64(height(i, alt)-now) / float64(ws[i]-w)
			if best < 0 || ratio < bestRatio || ratio == bestRatio && ws[i] > ws[best] {
				best, bestW, bestLines, bestRatio = i, w, alt, ratio
			}
		}
		if best < 0 {
			break
		}
		total -= ws[best] - bestW
		ws[best] = bestW
		lines[best] = bestLines
	}
	return ws
}

// wrappedWidth is how wide column c is once its cells are wrapped to w.
func (g *grid) wrappedWidth(c, w int) int {
	n := 0
	for _, l := range wrapText(g.header[c], w) {
		n = max(n, displaywidth.String(l))
	}
	for r := range g.rows {
		for _, l := range wrapText(g.cell(r, c), w) {
			n = max(n, displaywidth.String(l))
		}
	}
	return n
}

func (g *grid) render(w io.Writer, cols []int, width int) error {
	ws := g.widths(cols, width)
	t := newTable(w)
	header := make([]any, len(cols))
	for i, c := range cols {
		header[i] = strings.Join(wrapText(g.header[c], ws[i]), "\n")
	}
	t.Header(header...)
	for r := range g.rows {
		row := make([]any, len(cols))
		for i, c := range cols {
			lines := wrapText(g.cell(r, c), ws[i])
			if r < len(g.paint) && c < len(g.paint[r]) && g.paint[r][c] != nil {
				for j := range lines {
					lines[j] = g.paint[r][c](lines[j])
				}
			}
			row[i] = strings.Join(lines, "\n")
		}
		if err := t.Append(row...); err != nil {
			return fmt.Errorf("add row %d: %w", r, err)
		}
	}
	if err := t.Render(); err != nil {
		return fmt.Errorf("render table: %w", err)
	}
	return nil
}

// splitPenalty is how many added lines one word split after a hyphen or dash
// is worth when choosing which column to narrow.
const splitPenalty = 2

type cellCost struct{ lines, splits int }

// wrapCost is how many lines s takes wrapped to width and how many of its
// words are split.
func wrapCost(s string, width int) cellCost {
	lines := wrapText(s, width)
	c := cellCost{lines: len(lines)}
	for _, l := range lines {
		if strings.HasSuffix(l, "-") || strings.HasSuffix(l, "–") {
			c.splits++
		}
	}
	return c
}

// textWidth is the display width of the widest line of s.
func textWidth(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		n = max(n, displaywidth.String(l))
	}
	return n
}

// pieces splits a line where it may break: at spaces, which are dropped, and,
// within a word wider than width, after a hyphen or an en dash, which stays
// with the piece before it. A word that fits is never split. joined[i] says piece i follows
// piece i-1 without a space (a hyphen break). Width 0 splits every word at
// its hyphens.
func pieces(line string, width int) (ps []string, joined []bool) {
	for _, word := range strings.Fields(line) {
		if width > 0 && displaywidth.String(word) <= width {
			ps, joined = append(ps, word), append(joined, false)
			continue
		}
		first := true
		for word != "" {
			// Break after a hyphen or an en dash ("[0.72–" "1.00]"), but a
			// leading or trailing one ("-", "a-") is no break.
			end := len(word)
			if i := strings.IndexAny(word, "-–"); i > 0 {
				_, size := utf8.DecodeRuneInString(word[i:])
				if i+size < len(word) {
					end = i + size
				}
			}
			ps = append(ps, word[:end])
			joined = append(joined, !first)
			word, first = word[end:], false
		}
	}
	return ps, joined
}

func longestPiece(s string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		ps, _ := pieces(l, 0)
		for _, p := range ps {
			n = max(n, displaywidth.String(p))
		}
	}
	return n
}

// wrapText wraps each line of s to width, filling lines greedily and breaking
// at spaces, or after a hyphen of a word that does not fit whole, never
// elsewhere inside a word. A piece wider than width stays whole on a line of
// its own.
func wrapText(s string, width int) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if displaywidth.String(line) <= width {
			out = append(out, line)
			continue
		}
		ps, joined := pieces(line, width)
		cur, curW := "", 0
		for i, p := range ps {
			pw := displaywidth.String(p)
			sep := " "
			if joined[i] {
				sep = ""
			}
			switch {
			case cur == "":
				cur, curW = p, pw
			case curW+len(sep)+pw <= width:
				cur += sep + p
				curW += len(sep) + pw
			default:
				out = append(out, cur)
				cur, curW = p, pw
			}
		}
		out = append(out, cur)
	}
	return out
}
