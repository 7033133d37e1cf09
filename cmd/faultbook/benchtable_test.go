package main

import (
	"bytes"
	"strings"
	"testing"
)

// benchOutput is go test -bench output as make bench collects it.
const benchOutput = `goos: linux
pkg: github.com/faultbook/faultbook/minicluster/codec
BenchmarkCodecVsGob-2   	     200	   2450000 ns/op	    130767 gob-bytes/op	    59655 codec-bytes/op	         2.192 size-ratio	         3.730 speedup-x
PASS
BenchmarkShuffleFetch/block=8192KiB-2         	      20	   9657604 ns/op	      2105 fetch-MB/s	      1479 raw-MB/s	         0.9208 x-of-raw	     229 B/op	       6 allocs/op
BenchmarkShuffleFetch/block=64KiB-2           	      20	  10553370 ns/op	      1532 fetch-MB/s	      1660 raw-MB/s	         0.8762 x-of-raw	   29357 B/op	     768 allocs/op
BenchmarkBoot/executors=4-2         	       5	  81402045 ns/op	        40.00 boot-ms	        81.33 run-ms
BenchmarkBoot/executors=64-2        	       5	 647871687 ns/op	       500.0 boot-ms	       647.7 run-ms
BenchmarkRunPhases-2   	      40	  69760786 ns/op	        62.57 app-end-ms	        69.74 closed-ms	        37.57 first-job-ms	        62.42 jobs-end-ms	        18.71 launched-ms	        13.23 listening-ms	        37.42 registered-ms	        69.63 waited-ms
BenchmarkCellRuns-2   	       1	7517469953 ns/op	       100.0 floor-runs/s	        33.00 runs/s	         0.3300 vs-process-floor
BenchmarkSafeguardOverhead/option-nil-2         	       1	 1 ns/op	  91 control-ms	  99 nfa-ms	  8.8 overhead-%	  -5.5 overhead-lo-%	  23.1 overhead-hi-%	  10 runs-per-cell
BenchmarkDiagnose/scan-lines-baseline-2         	       2	  32000000 ns/op	2094.00 MB/s
BenchmarkDiagnose/diagnose-2                    	       2	 497000000 ns/op	 135.00 MB/s	         2.6 MiB-retained
ok  	github.com/faultbook/faultbook/harness/diagnose	30.1s
`

// TestBenchTable: each measure is set against its baseline from the same
// output, a measure whose baseline is missing is left out, and the table
// is aligned Markdown.
func TestBenchTable(t *testing.T) {
	b, err := parseBench(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printBenchTable(&out, benchRows(b))
	for _, want := range []string{
		"3.73× faster, 2.19× fewer bytes",
		"shuffle block fetch, 8192 KiB blocks", "| 2105 MB/s ", "raw loopback TCP copy, 1479 MB/s", "0.92× (median per block)",
		"shuffle block fetch, 64 KiB blocks", "0.88× (median per block)",
		"| boot 64 executors ", "500 ms (7.8 ms/executor)", "4 executors, 40 ms", "12.50×",
		"listening 13, launched 19, registered 37, jobs 38–62, app end 63, exited 70, closed 70", "0.36× in the jobs",
		"33.0 runs/s", "only, 100.0 runs/s", "0.33×", "≥ 200 runs/s",
		"| 135 MB/s ", "0.06× (1:15.5)",
		"safeguard overhead, option-nil", "+8.8% [-5.5%, +23.1%] (10 runs a cell)",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "boot 16") || strings.Contains(out.String(), "docker") || strings.Contains(out.String(), "1024 KiB") {
		t.Errorf("table has a row for a benchmark that did not run:\n%s", out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for _, l := range lines {
		if len([]rune(l)) != len([]rune(lines[0])) {
			t.Errorf("rows not aligned:\n%s", out.String())
			break
		}
	}
}

// TestBenchTableRefusesGarbage: a value that is not a number is an error,
// not a silent zero.
func TestBenchTableRefusesGarbage(t *testing.T) {
	if _, err := parseBench(strings.NewReader("BenchmarkCellRuns-2  1  x runs/s\n")); err == nil {
		t.Error("a value that is not a number was accepted")
	}
}
