package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/faultbook/faultbook/harness"
)

// progress shows runs as they go: on a terminal, one live line per running cell
// (mpb); otherwise, or with --quiet or CI=true, one plain line per finished run.
type progress struct {
	w     io.Writer
	live  *mpb.Progress
	mu    sync.Mutex
	bars  map[string]*mpb.Bar
	start map[string]time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, bars: map[string]*mpb.Bar{}, start: map[string]time.Time{}}
	f, ok := w.(*os.File)
	if !quiet && os.Getenv("CI") == "" && ok && isatty.IsTerminal(f.Fd()) {
		p.live = mpb.New(mpb.WithOutput(w), mpb.WithWidth(24), mpb.WithRefreshRate(120*time.Millisecond))
	}
	return p
}

func (p *progress) update(ev harness.Progress) {
	key := fmt.Sprintf("%s/%s run %d/%d", ev.Scenario, ev.Cell, ev.Run, ev.Runs)
	p.mu.Lock()
	defer p.mu.Unlock()
	if !ev.Done {
		p.start[key] = time.Now()
		if p.live != nil {
			p.bars[key] = p.live.New(1, mpb.SpinnerStyle(),
				mpb.PrependDecorators(decor.Name(key, decor.WCSyncSpaceR)),
				mpb.AppendDecorators(decor.Elapsed(decor.ET_STYLE_GO)),
				mpb.BarRemoveOnComplete())
		}
		return
	}
	took := time.Since(p.start[key]).Round(10 * time.Millisecond)
	delete(p.start, key)
	line := fmt.Sprintf("%-4s %s (%s)", ev.Verdict, key, took)
	if ev.Message != "" {
		line += ": " + ev.Message
	}
	if b := p.bars[key]; b != nil {
		b.Increment()
		delete(p.bars, key)
		p.live.Write([]byte(line + "\n"))
		return
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) close() {
	if p.live != nil {
		p.live.Wait()
	}
}
