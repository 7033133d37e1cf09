package diagnose

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"
)

// prefilter is a cheap test run before a message regexp: literals of which
// every match contains one (lower-cased when fold), found from the
// regexp's syntax. Most log lines contain none and skip the regexp.
type prefilter struct {
	lits []string
	fold bool
}

func newPrefilter(re *regexp.Regexp) *prefilter {
	p, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil
	}
	lits, fold, ok := required(p.Simplify())
	if !ok {
		return nil
	}
	return &prefilter{lits: lits, fold: fold}
}

// may reports whether s may match; lower, when given, returns s lower-cased
// (computed once per record).
func (p *prefilter) may(s string, lower func() string) bool {
	if p == nil {
		return true
	}
	if p.fold {
		if lower != nil {
			s = lower()
		} else {
			s = strings.ToLower(s)
		}
	}
	for _, l := range p.lits {
		if strings.Contains(s, l) {
			return true
		}
	}
	return false
}

// required returns literals one of which every match of re contains.
func required(re *syntax.Regexp) (lits []string, fold, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		fold = re.Flags&syntax.FoldCase != 0
		if fold {
			s = strings.ToLower(s)
		}
		return []string{s}, fold, utf8.RuneCountInString(s) >= 3
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
	case syntax.OpConcat:
		best := -1
		for _, sub := range re.Sub {
			l, f, ok := required(sub)
			if ok && (lits == nil || shortest(l) > best) {
				lits, fold, best = l, f, shortest(l)
			}
		}
		return lits, fold, lits != nil
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			l, f, ok := required(sub)
			if !ok {
				return nil, false, false
			}
			if f && !fold && len(lits) > 0 {
				lits = lower(lits)
			}
			if fold || f {
				l = lower(l)
				fold = true
			}
			lits = append(lits, l...)
		}
		return lits, fold, len(lits) > 0
	}
	return nil, false, false
}

func shortest(xs []string) int {
	n := -1
	for _, x := range xs {
		if n < 0 || len(x) < n {
			n = len(x)
		}
	}
	return n
}

func lower(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strings.ToLower(x)
	}
	return out
}

// gate says, in one pass over a line, whether it holds any literal some
// pattern's message requires: a line that holds none, carries no exception,
// frame or failed task, can match no pattern and skips them all.
type gate struct {
	// byPair lists literals by their first two bytes, lower-cased.
	byPair [][]gateLit
	short  bool // a literal under two bytes: the gate cannot decide
}

type gateLit struct {
	s    string
	fold bool
}

func newGate(pres []*prefilter) *gate {
	g := &gate{byPair: make([][]gateLit, 1<<16)}
	for _, p := range pres {
		if p == nil {
			return nil
		}
		for _, l := range p.lits {
			low := strings.ToLower(l)
			if len(low) < 2 {
				g.short = true
				continue
			}
			k := int(low[0])<<8 | int(low[1])
			g.byPair[k] = append(g.byPair[k], gateLit{l, p.fold})
		}
	}
	if g.short {
		return nil
	}
	return g
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// any reports whether s holds a literal.
func (g *gate) any(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		cands := g.byPair[int(lowerByte(s[i]))<<8|int(lowerByte(s[i+1]))]
		for _, c := range cands {
			if len(s)-i < len(c.s) {
				continue
			}
			if c.fold && strings.EqualFold(s[i:i+len(c.s)], c.s) || !c.fold && s[i:i+len(c.s)] == c.s {
				return true
			}
		}
	}
	return false
}

// anyOf reports whether one of lines holds a literal.
func (g *gate) anyOf(lines []Exception) bool {
	for _, l := range lines {
		if g.any(l.Text) {
			return true
		}
	}
	return false
}
