package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
)

// newBenchTableCmd prints make bench's table: it reads `go test -bench`
// output and sets each measure against its baseline, both taken in the same
// run of the benchmarks.
func newBenchTableCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "bench-table [FILE]",
		Short:  "print make bench's table of ratios from go test -bench output (stdin or FILE)",
		Hidden: true,
		Args:   cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if len(args) == 1 {
				f, err := os.Open(args[0])
				if err != nil {
					return usageErrorf("%v", err)
				}
				defer f.Close()
				in = f
			}
			benches, err := parseBench(in)
			if err != nil {
				return infraError(err)
			}
			rows := benchRows(benches)
			if len(rows) == 0 {
				return infraError(fmt.Errorf("no benchmark results of make bench in the input"))
			}
			printBenchTable(cmd.OutOrStdout(), rows)
			if b, err := os.ReadFile("/proc/loadavg"); err == nil {
				fmt.Fprintf(cmd.OutOrStdout(), "\nload average at the end: %s\n", strings.Join(strings.Fields(string(b))[:3], " "))
			}
			return nil
		},
	}
}

// benchMetrics are one benchmark's reported values, by unit.
type benchMetrics map[string]float64

// procSuffix is the -GOMAXPROCS suffix go test appends to a benchmark's name.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parseBench reads go test -bench output: "BenchmarkName-2  N  v unit  v unit …"
// lines, by name without the Benchmark prefix and the -GOMAXPROCS suffix.
func parseBench(r io.Reader) (map[string]benchMetrics, error) {
	out := map[string]benchMetrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		m := benchMetrics{}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("benchmark %s: value %q of %s is not a number", f[0], f[i], f[i+1])
			}
			m[f[i+1]] = v
		}
		out[procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")] = m
	}
	return out, sc.Err()
}

// benchRow is one line of the table.
type benchRow struct{ measure, value, baseline, ratio, target string }

// benchRows sets each measure of make bench against its baseline; a measure
// whose benchmark did not run (the docker one without an engine) is left out.
func benchRows(b map[string]benchMetrics) []benchRow {
	var rows []benchRow
	has := func(name string, units ...string) (benchMetrics, bool) {
		m, ok := b[name]
		for _, u := range units {
			if _, in := m[u]; !in {
				ok = false
			}
		}
		return m, ok
	}
	if m, ok := has("CodecVsGob", "speedup-x", "size-ratio", "codec-bytes/op", "gob-bytes/op"); ok {
		rows = append(rows, benchRow{"codec round trip (fixture records)", fmt.Sprintf("%.0f B on the wire", m["codec-bytes/op"]),
			fmt.Sprintf("encoding/gob, %.0f B", m["gob-bytes/op"]), fmt.Sprintf("%.2f× faster, %.2f× fewer bytes", m["speedup-x"], m["size-ratio"]), ""})
	}
	for _, kib := range []int{8192, 1024, 64} {
		if m, ok := has(fmt.Sprintf("ShuffleFetch/block=%dKiB", kib), "fetch-MB/s", "raw-MB/s", "x-of-raw"); ok {
			rows = append(rows, benchRow{fmt.Sprintf("shuffle block fetch, %d KiB blocks", kib), fmt.Sprintf("%.0f MB/s", m["fetch-MB/s"]),
				fmt.Sprintf("raw loopback TCP copy, %.0f MB/s", m["raw-MB/s"]), fmt.Sprintf("%.2f× (median per block)", m["x-of-raw"]), "≥ 0.8×"})
		}
	}
	if base, ok := has("Boot/executors=4", "boot-ms"); ok {
		for _, n := range []int{4, 16, 32, 64} {
			if m, ok := has(fmt.Sprintf("Boot/executors=%d", n), "boot-ms"); ok {
				rows = append(rows, benchRow{fmt.Sprintf("boot %d executors", n), fmt.Sprintf("%.0f ms (%.1f ms/executor)", m["boot-ms"], m["boot-ms"]/float64(n)),
					fmt.Sprintf("4 executors, %.0f ms", base["boot-ms"]), fmt.Sprintf("%.2f×", m["boot-ms"]/base["boot-ms"]), ""})
			}
		}
	}
	if p, ok := has("Docker3Nodes/process", "boot-ms"); ok {
		if d, ok := has("Docker3Nodes/docker", "boot-ms"); ok {
			rows = append(rows, benchRow{"boot 3 nodes × 2 executors, docker runtime", fmt.Sprintf("%.0f ms", d["boot-ms"]),
				fmt.Sprintf("process runtime, %.0f ms", p["boot-ms"]), fmt.Sprintf("%.2f×", d["boot-ms"]/p["boot-ms"]), ""})
		}
	}
	if m, ok := has("RunPhases", "listening-ms", "launched-ms", "registered-ms", "first-job-ms", "jobs-end-ms", "app-end-ms", "waited-ms", "closed-ms"); ok {
		rows = append(rows, benchRow{"one run, client-mode driver + 2 executors (ms from Start)",
			fmt.Sprintf("listening %.0f, launched %.0f, registered %.0f, jobs %.0f–%.0f, app end %.0f, exited %.0f, closed %.0f",
				m["listening-ms"], m["launched-ms"], m["registered-ms"], m["first-job-ms"], m["jobs-end-ms"], m["app-end-ms"], m["waited-ms"], m["closed-ms"]),
			fmt.Sprintf("the whole run, %.0f ms", m["closed-ms"]), fmt.Sprintf("%.2f× in the jobs", (m["jobs-end-ms"]-m["first-job-ms"])/m["closed-ms"]), ""})
	}
	if m, ok := has("CellRuns", "runs/s", "floor-runs/s", "vs-process-floor"); ok {
		rows = append(rows, benchRow{"cell runs per second, --parallel 2", fmt.Sprintf("%.1f runs/s", m["runs/s"]),
			fmt.Sprintf("starting and reaping the 2 executor processes only, %.1f runs/s", m["floor-runs/s"]), fmt.Sprintf("%.2f×", m["vs-process-floor"]), "≥ 200 runs/s"})
	}
	if d, ok := has("Diagnose/diagnose", "MB/s"); ok {
		if s, ok := has("Diagnose/scan-lines-baseline", "MB/s"); ok {
			rows = append(rows, benchRow{"diagnose a 64 MiB log", fmt.Sprintf("%.0f MB/s", d["MB/s"]),
				fmt.Sprintf("reading it as lines, %.0f MB/s", s["MB/s"]), fmt.Sprintf("%.2f× (1:%.1f)", d["MB/s"]/s["MB/s"], s["MB/s"]/d["MB/s"]), ""})
		}
	}
	var overhead []string
	for name := range b {
		if strings.HasPrefix(name, "SafeguardOverhead/") {
			overhead = append(overhead, name)
		}
	}
	slices.Sort(overhead)
	for _, name := range overhead {
		m, ok := has(name, "control-ms", "nfa-ms", "overhead-%", "overhead-lo-%", "overhead-hi-%", "runs-per-cell")
		if !ok {
			continue
		}
		rows = append(rows, benchRow{"safeguard overhead, " + strings.TrimPrefix(name, "SafeguardOverhead/"),
			fmt.Sprintf("no-false-alarm %.0f ms", m["nfa-ms"]), fmt.Sprintf("control %.0f ms", m["control-ms"]),
			fmt.Sprintf("%+.1f%% [%+.1f%%, %+.1f%%] (%.0f runs a cell)", m["overhead-%"], m["overhead-lo-%"], m["overhead-hi-%"], m["runs-per-cell"]), ""})
	}
	return rows
}

// printBenchTable prints the rows as a Markdown table, columns aligned.
func printBenchTable(w io.Writer, rows []benchRow) {
	head := benchRow{"measure", "value", "baseline (same run)", "ratio", "target"}
	all := append([]benchRow{head}, rows...)
	width := make([]int, 5)
	cells := func(r benchRow) []string { return []string{r.measure, r.value, r.baseline, r.ratio, r.target} }
	for _, r := range all {
		for i, c := range cells(r) {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	line := func(cs []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, c := range cs {
			b.WriteString(" " + c + strings.Repeat(" ", width[i]-len([]rune(c))) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(cells(head))
	sep := make([]string, 5)
	for i := range sep {
		sep[i] = strings.Repeat("-", width[i])
	}
	line(sep)
	for _, r := range rows {
		line(cells(r))
	}
}
