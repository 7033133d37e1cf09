package main_test

import (
	"encoding/json"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// prodCases are logs in the shapes public bug reports, Q&A threads and
// Spark's own sources and tests show for each documented failure mode, and
// for failures that look like one but are not (harness/diagnose/testdata/prod,
// whose README says which shape each follows). want is the failure mode
// diagnose must claim, alone, or "" for none; places are the processes
// diagnose must tell the inputs holding log lines came from.
var prodCases = []struct {
	file, want, places string
}{
	{"ro-unregistered-yarn-1x.log", "registration-order", "driver,executor"},
	{"ro-classcast-kryo-3x-driver.log", "registration-order", "driver"},
	{"ro-index-kryo-executor-2x.log", "registration-order", "executor"},
	{"ro-eventlog-2x.json", "registration-order", "driver"},
	{"rs-product2-3x-java11.log", "registration-shift", "driver"},
	{"rs-product2-1x-lossdue.log", "registration-shift", "driver"},
	{"rt-standalone-stderr-1x.log", "registrator-transport", "executor"},
	{"rt-netty-yarn-hadoop3-2x.log", "registrator-transport", "driver,executor"},
	{"on-driver-jackson-2x.log", "option-nil", "driver"},
	{"on-executor-circe-3x.log", "option-nil", "executor"},
	{"on-eventlog-3x.json", "option-nil", "driver"},
	{"dl-java-linkedlist-yarn-1x.log", "deep-list", "driver,executor"},
	{"dl-kryo-wrapped-3x-executor.log", "deep-list", "executor"},
	{"dl-eventlog-2x.json", "deep-list", "driver"},
	{"ec-streaming-s3n-2x.log", "eventual-checkpoint", "driver"},
	{"ec-rdd-partitions-3x.log", "eventual-checkpoint", "driver"},
	{"ec-structured-s3a-3x.log", "eventual-checkpoint", "driver"},
	{"ec-emrfs-rdd-part-2x.log", "eventual-checkpoint", "driver"},
	{"tc-efs-total-delay-2x.log", "throttled-checkpoint", "driver"},
	{"tc-efs-slow-writes-3x.log", "throttled-checkpoint", "driver"},
	{"fn-blacklist-abort-2x.log", "flaky-node", "driver"},
	{"fn-exclude-3x-healthtracker.log", "flaky-node", "driver"},
	{"fn-one-host-timeouts-3x.log", "flaky-node", "driver"},
	{"fn-eventlog-excluded-3x.json", "flaky-node", "driver"},
	{"no-output-pyspark-3x.log", "no-output-op", "driver"},
	{"no-output-yarn-am-2x.log", "no-output-op", "driver"},
	{"la-yarn-oom-143-3x.log", "", "driver"},
	{"la-k8s-oom-137-3x.log", "", "driver"},
	{"la-fetch-failed-3x.log", "", "driver"},
	{"la-kryo-buffer-overflow-3x.log", "", "driver"},
	{"la-max-result-size-2x.log", "", "driver"},
	{"la-user-npe-parser-2x.log", "", "driver"},
	{"la-npe-json-read-3x.log", "", "executor"},
	{"la-heap-oom-executor-2x.log", "", "executor"},
	{"la-kryo-unable-find-class-jar-2x.log", "", "driver"},
	{"la-registrator-broadcast-2x.log", "", "driver"},
	{"la-s3a-access-denied-checkpoint-2x.log", "", "driver"},
	{"la-s3a-rename-warning-3x.log", "", "driver"},
	{"la-hdfs-checkpoint-missing-1x.log", "", "driver"},
	{"la-user-recursion-overflow-2x.log", "", "executor"},
	{"dl-spark4-json-executor.log", "deep-list", "executor"},
	{"on-spark4-json-driver.log", "option-nil", "driver"},
	{"fn-spark4-json-excluded.log", "flaky-node", "driver"},
	{"fn-yarn-launch-excluded-3x.log", "flaky-node", "driver"},
	{"ec-emrfs-consistency-2x.log", "eventual-checkpoint", "driver"},
	{"dl-task-result-kryo-driver-2x.log", "deep-list", "driver"},
	{"la-s3-checkpoint-code-changed-2x.log", "", "driver"},
	{"la-task-not-serializable-2x.log", "", "unknown"},
}

// TestDiagnoseProductionLogs runs every production-shaped log through the
// binary: the documented failure it shows is claimed and nothing else (exit
// code 1), a look-alike is claimed by nothing (exit code 0), and each input's
// process is told right.
func TestDiagnoseProductionLogs(t *testing.T) {
	dir := filepath.Join("..", "..", "harness", "diagnose", "testdata", "prod")
	for _, tc := range prodCases {
		t.Run(strings.TrimSuffix(tc.file, filepath.Ext(tc.file)), func(t *testing.T) {
			r := faultbook(t, "diagnose", "--format", "json", filepath.Join(dir, tc.file))
			var want []string
			code := codeOK
			if tc.want != "" {
				want, code = []string{tc.want}, codeFailed
			}
			var rep struct {
				Inputs []struct {
					Place string `json:"place"`
					Lines int    `json:"lines"`
				} `json:"inputs"`
				Matches []struct {
					ID string `json:"id"`
				} `json:"matches"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("diagnose output is not JSON (exit code %d): %v\n%s", r.code, err, r)
			}
			var got []string
			for _, m := range rep.Matches {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("matched %v, want %v", got, want)
			}
			if r.code != code {
				t.Errorf("exit code %d, want %d", r.code, code)
			}
			places := map[string]bool{}
			for _, in := range rep.Inputs {
				if in.Lines > 2 { // more than a yarn section's empty header
					places[in.Place] = true
				}
			}
			var gotPlaces []string
			for p := range places {
				gotPlaces = append(gotPlaces, p)
			}
			sort.Strings(gotPlaces)
			if g := strings.Join(gotPlaces, ","); g != tc.places {
				t.Errorf("inputs told as %s, want %s", g, tc.places)
			}
		})
	}
}
