package diagnose

import (
	"bufio"
	"bytes"
	"fmt"
	"runtime"
	"testing"
)

// syntheticLog is n bytes of a driver's and executors' log: mostly INFO
// lines, a failed task with its trace every few hundred lines.
func syntheticLog(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "21/06/02 08:11:%02d INFO scheduler.TaskSetManager: Finished task %d.0 in stage 3.0 (TID %d) in 41 ms on worker-%d (executor %d) (%d/20000)\n", i%60, i, i, i%9, i%17, i)
		fmt.Fprintf(&b, "21/06/02 08:11:%02d INFO executor.Executor: Running task %d.0 in stage 3.0 (TID %d)\n", i%60, i, i)
		if i%300 == 0 {
			fmt.Fprintf(&b, "21/06/02 08:11:%02d ERROR executor.Executor: Exception in task %d.0 in stage 3.0 (TID %d)\njava.lang.IndexOutOfBoundsException: Index: 3, Size: 3\n\tat java.util.ArrayList.rangeCheck(ArrayList.java:657)\n\tat com.example.etl.ParseRow$.apply(ParseRow.scala:27)\n\tat org.apache.spark.executor.Executor$TaskRunner.run(Executor.scala:322)\n", i%60, i, i)
		}
	}
	return b.Bytes()
}

var benchSize = 64 << 20

// BenchmarkDiagnose measures throughput (MB/s) on a 64 MiB synthetic log
// with the catalogue's signatures, against the baseline of reading the same
// bytes as lines (bufio.Scanner, a string per line), and reports the heap the diagnoser still holds at the end, beyond the
// input itself (bounded: it does not grow with the input).
func BenchmarkDiagnose(b *testing.B) {
	data := bytes.Clone(syntheticLog(benchSize)) // exactly its length, so the heap figure is the diagnoser's
	runtime.GC()
	b.Run("scan-lines-baseline", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			sc := bufio.NewScanner(bytes.NewReader(data))
			n := 0
			for sc.Scan() {
				n += len(sc.Text())
			}
			if n == 0 {
				b.Fatal("no lines")
			}
		}
	})
	b.Run("diagnose", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		var retained uint64
		for b.Loop() {
			d, err := New(Pending())
			if err != nil {
				b.Fatal(err)
			}
			if err := d.AddReader("synthetic", bytes.NewReader(data), ""); err != nil {
				b.Fatal(err)
			}
			if ids := d.Report().IDs(); len(ids) != 0 {
				b.Fatalf("synthetic log claimed as %v", ids)
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			retained = max(retained, ms.HeapAlloc-min(ms.HeapAlloc, uint64(len(data))))
			runtime.KeepAlive(d)
		}
		b.ReportMetric(float64(retained)/(1<<20), "MiB-retained")
	})
}
