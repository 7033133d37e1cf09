package reports_test

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/reports/reportstest"
)

func renderHTML(t *testing.T, r *result.Results) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := reports.HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatalf("parse report: %v", err)
	}
	return b.String(), doc
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	return slices.Contains(strings.Fields(v), class)
}

// find returns every element under n for which ok holds, in document order.
func find(n *html.Node, ok func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && ok(c) {
			out = append(out, c)
		}
	}
	return out
}

var remoteURL = regexp.MustCompile(`(?i)(https?:)?//[a-z0-9]|url\(\s*['"]?\s*(https?:|//)`)

func TestHTMLSelfContained(t *testing.T) {
	out, doc := renderHTML(t, reportstest.Sample())
	for _, n := range find(doc, func(*html.Node) bool { return true }) {
		switch n.Data {
		case "script", "link", "img", "iframe", "object", "embed", "image", "use":
			t.Errorf("report has a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			if key == "src" || key == "href" || strings.HasSuffix(key, ":href") || key == "style" || key == "srcset" {
				if remoteURL.MatchString(a.Val) {
					t.Errorf("<%s %s=%q> points outside the file", n.Data, a.Key, a.Val)
				}
			}
			if key == "href" && !strings.HasPrefix(a.Val, "#") {
				t.Errorf("<%s href=%q> is not a link within the page", n.Data, a.Val)
			}
		}
	}
	for _, s := range find(doc, func(n *html.Node) bool { return n.Data == "style" }) {
		css := s.FirstChild.Data
		if remoteURL.MatchString(css) || strings.Contains(css, "@import") {
			t.Errorf("inline style loads something: %q", remoteURL.FindString(css))
		}
	}
	if strings.Contains(out, "http://") || strings.Contains(out, "https://") {
		t.Error("the page contains an http(s) URL")
	}
}

func TestHTMLTimelines(t *testing.T) {
	r := reportstest.Sample()
	_, doc := renderHTML(t, r)
	svgs := find(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "timeline") })
	var want []*result.Cell
	for i := range r.Scenarios {
		for j := range r.Scenarios[i].Cells {
			if r.Scenarios[i].Cells[j].Timeline != nil {
				want = append(want, &r.Scenarios[i].Cells[j])
			}
		}
	}
	if len(svgs) != len(want) {
		t.Fatalf("%d timelines, want %d", len(svgs), len(want))
	}
	for i, svg := range svgs {
		tl := want[i].Timeline
		lanes := find(svg, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "lane") })
		if len(lanes) != len(tl.Lanes) {
			t.Errorf("timeline %d: %d g.lane, want one per executor (%d)", i, len(lanes), len(tl.Lanes))
		}
		for j, l := range lanes {
			if id, _ := attr(l, "data-lane"); j < len(tl.Lanes) && id != tl.Lanes[j].ID {
				t.Errorf("lane %d is %q, want %q", j, id, tl.Lanes[j].ID)
			}
		}
		count := map[string]int{}
		for _, task := range tl.Tasks {
			count[task.Outcome]++
		}
		for _, outcome := range []string{"success", "failed", "killed"} {
			got := len(find(svg, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "task") && hasClass(n, outcome) }))
			if got != count[outcome] {
				t.Errorf("timeline %d: %d rect.task.%s, want %d", i, got, outcome, count[outcome])
			}
		}
		// Failed attempts are told apart by a pattern, not by colour alone.
		for _, n := range find(svg, func(n *html.Node) bool { return hasClass(n, "failed") && n.Data == "rect" }) {
			if fill, _ := attr(n, "fill"); !strings.HasPrefix(fill, "url(#") {
				t.Errorf("failed task drawn without a hatch: fill=%q", fill)
			}
		}
	}
	// The executor-lost marker is drawn with its icon and label.
	catch := svgs[len(svgs)-1]
	var text strings.Builder
	for n := range catch.Descendants() {
		if n.Type == html.TextNode {
			text.WriteString(n.Data)
		}
	}
	for _, want := range []string{"exec-1 (node-a)", "exec-4 (node-b)", "✕ exec-4 lost (exit 2)", "† exit status 2", "exec-5 (node-b, ↻ exec-4)", "⊘ exec-3 excluded", "▨ node-b fails every task", "0.0/3.1"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("catch timeline lacks %q", want)
		}
	}
	// A dead executor's lane is greyed from its end, and only that lane.
	dead := find(catch, func(n *html.Node) bool { return n.Data == "rect" && hasClass(n, "lane-dead") })
	if len(dead) != 1 {
		t.Errorf("%d rect.lane-dead in the catch timeline, want 1 (exec-4)", len(dead))
	}
	if len(find(doc, func(n *html.Node) bool { return n.Data == "svg" && hasClass(n, "batches") })) != 1 {
		t.Error("want one batch chart, for the one timeline with batches")
	}
}

func TestHTMLEscapes(t *testing.T) {
	r := reportstest.Sample()
	evil := `<script>alert(1)</script><img src=x onerror=alert(2)>`
	r.Scenarios[0].Title = evil
	r.Scenarios[0].Cells[1].Evidence[0].Line = evil
	r.Scenarios[0].Cells[1].Timeline.Lanes[0].Node = evil
	r.Scenarios[0].Cells[1].Timeline.Markers[0].Label = `"><script>alert(3)</script>`
	r.Scenarios[0].Cells[1].Logs[0].Lines[0] = "</pre>" + evil
	_, doc := renderHTML(t, r)
	if n := find(doc, func(n *html.Node) bool { return n.Data == "script" || n.Data == "img" }); len(n) != 0 {
		t.Errorf("input reached the page as markup: %d script/img elements", len(n))
	}
	for n := range doc.Descendants() {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") {
				t.Errorf("input produced an event handler attribute %s", a.Key)
			}
		}
	}
}

func TestHTMLDetails(t *testing.T) {
	r := reportstest.Sample()
	out, doc := renderHTML(t, r)
	// Driver and executor evidence are shown in separate columns.
	views := find(doc, func(n *html.Node) bool { return hasClass(n, "view") })
	if len(views) == 0 {
		t.Fatal("no driver/executor views")
	}
	// Node logs are collapsible, one per recorded log.
	logs := find(doc, func(n *html.Node) bool { return n.Data == "details" && hasClass(n, "log") })
	var want int
	for _, s := range r.Scenarios {
		for _, c := range s.Cells {
			want += len(c.Logs)
		}
	}
	if len(logs) != want {
		t.Errorf("%d log sections, want %d", len(logs), want)
	}
	// The failing cell's details are open, so its problems show without a click.
	for _, d := range find(doc, func(n *html.Node) bool { return n.Data == "details" && hasClass(n, "cell-detail") }) {
		_, open := attr(d, "open")
		if hasClass(d, "fail") && !open {
			t.Error("a failing cell's details are closed")
		}
	}
	for _, want := range []string{"Which safeguard catches which failure", "7/10", "95% CI 40–89%", "FAILURES.md § 6. Flaky nodes and exclusion"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(out, "ZgotmplZ") {
		t.Error("html/template refused a value (ZgotmplZ in the page)")
	}
	var again bytes.Buffer
	if err := reports.HTML(&again, reportstest.Sample()); err != nil {
		t.Fatal(err)
	}
	if again.String() != out {
		t.Error("two renderings of the same results differ")
	}
}

func TestHTMLWithoutOptionalParts(t *testing.T) {
	r := &result.Results{Schema: result.Schema, Scenarios: []result.Scenario{
		{Name: "broken", Error: "cluster did not start"},
		{Name: "bare", Verdict: result.Pass, Cells: []result.Cell{{Cell: result.Control, Verdict: result.Pass,
			Timeline: &result.Timeline{Tasks: []result.TaskBar{{Lane: "exec-9", Stage: "0.0", EndMs: 0, Outcome: "weird"}}}}}},
	}}
	out, doc := renderHTML(t, r)
	if strings.Contains(out, "Which safeguard") {
		t.Error("matrix section rendered without a matrix")
	}
	if !strings.Contains(out, "cluster did not start") {
		t.Error("scenario error not shown")
	}
	// A task on an executor the lanes do not list still gets a lane.
	lanes := find(doc, func(n *html.Node) bool { return n.Data == "g" && hasClass(n, "lane") })
	if len(lanes) != 1 {
		t.Errorf("%d lanes, want 1 for the unlisted executor", len(lanes))
	}
}

// A matrix cell that was not judged has its own class, symbol and word, its
// reason on hover and its entry in the legend; the header names the runtime.
func TestHTMLNotJudged(t *testing.T) {
	r := reportstest.Sample()
	r.Runtime = result.RuntimeDocker
	out, doc := renderHTML(t, r)
	cells := find(doc, func(n *html.Node) bool { return n.Data == "td" && hasClass(n, "outcome") && hasClass(n, "not-judged") })
	if len(cells) != 1 {
		t.Fatalf("%d not-judged matrix cells, want 1", len(cells))
	}
	title, _ := attr(cells[0], "title")
	if want := "registry-fingerprint: not judged — the fault, which strikes by chance, had no effect in this run"; title != want {
		t.Errorf("title %q, want %q", title, want)
	}
	if text := textOf(cells[0]); !strings.Contains(text, "∅") || !strings.Contains(text, "not judged") {
		t.Errorf("cell reads %q, want the symbol ∅ and the words", text)
	}
	for _, want := range []string{"<b>∅ not judged</b>", "runtime docker"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}
