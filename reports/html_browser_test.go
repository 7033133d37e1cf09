package reports_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/faultbook/faultbook/harness/result"
	"github.com/faultbook/faultbook/reports"
	"github.com/faultbook/faultbook/reports/reportstest"
)

// chromePaths are where Debian's chromium-headless-shell package and the usual
// Chrome and Chromium packages put their binaries.
var chromePaths = []string{
	"/usr/lib/chromium/chromium-headless-shell",
	"/usr/bin/chromium-headless-shell",
	"/usr/lib/chromium/chrome-headless-shell",
	"/usr/bin/chromium",
	"/usr/bin/google-chrome",
}

// findChrome returns a headless browser: FAULTBOOK_CHROME if set, else a known
// path, else one on PATH.
func findChrome(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("FAULTBOOK_CHROME"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("FAULTBOOK_CHROME: %v", err)
		}
		return p
	}
	for _, p := range chromePaths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	for _, name := range []string{"chromium-headless-shell", "chrome-headless-shell", "chromium", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no headless Chromium: install Debian's chromium-headless-shell or set FAULTBOOK_CHROME"
	if os.Getenv("FAULTBOOK_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// newBrowser starts headless Chromium for one test. The whole test, browser
// included, is bounded: the browser lives as long as the returned context,
// which ends after 60 s or with the test.
func newBrowser(t *testing.T, chrome string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome),
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
		cancel()
	})
	return bctx
}

// writeReport renders r as an HTML file in a temporary directory.
func writeReport(t *testing.T, r *result.Results) string {
	t.Helper()
	page := filepath.Join(t.TempDir(), "report.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := reports.HTML(f, r); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return page
}

// saveScreenshot keeps a screenshot in testdata/artifacts for people to look at.
func saveScreenshot(t *testing.T, name string, png []byte) {
	t.Helper()
	art := filepath.Join("testdata", "artifacts", name)
	if err := os.MkdirAll(filepath.Dir(art), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(art, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(art)
	t.Logf("screenshot: %s", abs)
}

// TestHTMLInBrowser opens the report in real headless Chromium: it must render,
// draw one lane per executor, and ask the network for nothing. A screenshot is
// kept in testdata/artifacts for people to look at.
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chrome := findChrome(t)
	r := reportstest.Sample()
	page := writeReport(t, r)

	bctx := newBrowser(t, chrome)

	var mu sync.Mutex
	var requests []string
	// Listen's callback runs on the browser's reading goroutine: it only records.
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("start browser %s: %v", chrome, err)
	}
	if err := chromedp.Do(bctx,
		chromedp.Navigate("file://"+page),
		chromedp.WaitVisible(chromedp.CSS("section.scenario h2")),
	); err != nil {
		t.Fatalf("open report: %v", err)
	}

	title, err := chromedp.Run(bctx, chromedp.Title())
	if err != nil {
		t.Fatal(err)
	}
	if title != "faultbook report" {
		t.Errorf("title = %q, want %q", title, "faultbook report")
	}
	heading, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("#s1-registration-order-h")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(heading, "registration-order") {
		t.Errorf("first scenario heading = %q, want it to name registration-order", heading)
	}

	for _, s := range r.Scenarios {
		for _, c := range s.Cells {
			if c.Timeline == nil {
				continue
			}
			sel := fmt.Sprintf(`svg.timeline[data-scenario=%q][data-cell=%q] g.lane`, s.Name, c.Cell)
			n, err := chromedp.Run(bctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
			if err != nil {
				t.Fatal(err)
			}
			if n != len(c.Timeline.Lanes) {
				t.Errorf("%s/%s: %d g.lane in the drawn timeline, want %d executors", s.Name, c.Cell, n, len(c.Timeline.Lanes))
			}
		}
	}
	// A drawn lane has a visible height: the SVG was laid out, not just parsed.
	h, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.querySelector("g.lane").getBBox().height`))
	if err != nil {
		t.Fatal(err)
	}
	if h <= 0 {
		t.Errorf("first lane has height %v, want > 0", h)
	}

	png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("take screenshot: %v", err)
	}
	saveScreenshot(t, "report.png", png)

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Error("saw no request at all, not even the page: the listener did not work")
	}
	for _, u := range requests {
		if !strings.HasPrefix(u, "file://") && !strings.HasPrefix(u, "data:") && !strings.HasPrefix(u, "about:") {
			t.Errorf("report made a network request: %s", u)
		}
	}
	if err := chromedp.Cancel(bctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Logf("close browser: %v", err)
	}
}

// TestHTMLFitsWindow opens the report of a catalogue of the size it is
// growing to (10 scenarios, 15 safeguards: 18 matrix columns) in windows 1,400
// and 800 pixels wide: no table may be wider than its container, so nothing
// scrolls sideways, and the page itself may not be wider than the window.
// Screenshots of the window (the matrix) and of the scenario table at both
// widths are kept in testdata/artifacts.
func TestHTMLFitsWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chrome := findChrome(t)
	bctx := newBrowser(t, chrome)
	for _, tc := range []struct {
		name string
		r    *result.Results
	}{
		{"catalogue", reportstest.Catalogue(10, 15)},
		{"sample", reportstest.Sample()},
	} {
		page := writeReport(t, tc.r)
		for _, width := range []int64{1400, 800} {
			t.Run(fmt.Sprintf("%s-%d", tc.name, width), func(t *testing.T) {
				if err := chromedp.Do(bctx,
					chromedp.EmulateViewport(width, 900),
					chromedp.Navigate("file://"+page),
					chromedp.WaitVisible(chromedp.CSS("section.scenario h2")),
				); err != nil {
					t.Fatalf("open report: %v", err)
				}
				overflows, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`
					[...document.querySelectorAll("table")].flatMap(t => {
						const box = t.parentElement;
						const over = t.getBoundingClientRect().width - box.clientWidth;
						return over > 0.5 ? [(t.closest("section") || {}).className + ": table " +
							Math.round(t.getBoundingClientRect().width) + "px in a container of " + box.clientWidth + "px"] : [];
					})`))
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range overflows {
					t.Errorf("at %d px: %s", width, o)
				}
				pageWidth, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth - window.innerWidth`))
				if err != nil {
					t.Fatal(err)
				}
				if pageWidth > 0 {
					t.Errorf("at %d px the page is %v px wider than the window", width, pageWidth)
				}
				png, err := chromedp.Run(bctx, chromedp.CaptureScreenshot())
				if err != nil {
					t.Fatalf("take screenshot: %v", err)
				}
				saveScreenshot(t, fmt.Sprintf("%s-%d.png", tc.name, width), png)
				png, err = chromedp.Run(bctx, chromedp.Screenshot("section.summary"))
				if err != nil {
					t.Fatalf("take screenshot of the scenario table: %v", err)
				}
				saveScreenshot(t, fmt.Sprintf("%s-%d-scenarios.png", tc.name, width), png)
			})
		}
	}
}
