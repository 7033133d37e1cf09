package conf

import "testing"

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64 // 0: refused
	}{
		{"1m", 1 << 20},
		{"1MiB", 1 << 20},
		{"512k", 512 << 10},
		{"256KiB", 256 << 10},
		{"2g", 2 << 30},
		{"1048576", 1 << 20},
		{" 8 MiB ", 8 << 20},
		{"", 0},
		{"1x", 0},
		{"-1m", 0},
		{"0", 0},
		{"m", 0},
		{"9999999g", 0},
	}
	for _, tc := range tests {
		got, err := ParseBytes(tc.in)
		if (err != nil) != (tc.want == 0) || got != tc.want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	if err := New(map[string]string{ExecutorThreadStack: "lots"}).Validate(); err == nil {
		t.Error("a malformed thread stack size was accepted")
	}
	if n, err := New().Bytes(ExecutorThreadStack); err != nil || n != 1<<20 {
		t.Errorf("default thread stack %d, %v; want 1 MiB, the JVM's", n, err)
	}
}
