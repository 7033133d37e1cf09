package result_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/harness/result"
)

// valid is the smallest results file a run writes: one judged scenario with
// one cell, and a matrix.
const valid = `{
  "schema": "faultbook/results/v1",
  "runtime": "process", "checkpoint_store": "embedded",
  "scenarios": [{"name": "registration-order", "verdict": "pass",
    "cells": [{"cell": "control", "verdict": "pass", "runs": 1, "hits": 1, "rate": {"lo": 0.2, "hi": 1}}]}],
  "matrix": {"columns": ["hardened"], "rows": [{"scenario": "registration-order",
    "cells": [{"column": "hardened", "outcome": "caught"}]}]}
}`

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		// edit turns the valid file into the case; "" keeps it valid.
		from, to string
		// field is the path the error must name; "" means valid.
		field string
	}{
		{name: "valid"},
		{name: "cells null", from: `"cells": [{"cell": "control", "verdict": "pass", "runs": 1, "hits": 1, "rate": {"lo": 0.2, "hi": 1}}]`, to: `"cells": null`, field: "scenarios[0].cells"},
		{name: "unknown scenario verdict", from: `"name": "registration-order", "verdict": "pass"`, to: `"name": "registration-order", "verdict": "passed"`, field: "scenarios[0].verdict"},
		{name: "unknown cell verdict", from: `"cell": "control", "verdict": "pass"`, to: `"cell": "control", "verdict": "ok"`, field: "scenarios[0].cells[0].verdict"},
		{name: "empty cell verdict", from: `"cell": "control", "verdict": "pass"`, to: `"cell": "control", "verdict": ""`, field: "scenarios[0].cells[0].verdict"},
		{name: "empty cell kind", from: `"cell": "control"`, to: `"cell": ""`, field: "scenarios[0].cells[0].cell"},
		{name: "hits over runs", from: `"runs": 1, "hits": 1`, to: `"runs": 1, "hits": 2`, field: "scenarios[0].cells[0].hits"},
		{name: "rate out of range", from: `"hi": 1}`, to: `"hi": 1.5}`, field: "scenarios[0].cells[0].rate"},
		{name: "empty name", from: `"name": "registration-order"`, to: `"name": ""`, field: "scenarios[0].name"},
		{name: "no scenarios, no matrix", from: valid, to: `{"schema": "faultbook/results/v1", "scenarios": null}`, field: "scenarios"},
		{name: "interrupted before any scenario", from: valid, to: `{"schema": "faultbook/results/v1", "scenarios": null, "interrupted": true}`},
		{name: "docker runtime", from: `"runtime": "process"`, to: `"runtime": "docker"`},
		{name: "unknown runtime", from: `"runtime": "process"`, to: `"runtime": "kubernetes"`, field: "runtime"},
		{name: "runtime of another case", from: `"runtime": "process"`, to: `"runtime": "Docker"`, field: "runtime"},
		{name: "external store", from: `"checkpoint_store": "embedded"`, to: `"checkpoint_store": "external"`},
		{name: "unknown checkpoint store", from: `"checkpoint_store": "embedded"`, to: `"checkpoint_store": "s3"`, field: "checkpoint_store"},
		{name: "older file without the environment", from: `"runtime": "process", "checkpoint_store": "embedded",`, to: ``},
		{name: "not-judged outcome", from: `"outcome": "caught"`, to: `"outcome": "not-judged"`},
		{name: "unknown outcome", from: `"outcome": "caught"`, to: `"outcome": "blocked"`, field: "matrix.rows[0].cells[0].outcome"},
		{name: "matrix cell off the columns", from: `"column": "hardened"`, to: `"column": "spark-4"`, field: "matrix.rows[0].cells[0].column"},
		{name: "matrix without columns", from: `"columns": ["hardened"]`, to: `"columns": null`, field: "matrix.columns"},
		{name: "scenario not yet judged", from: `"name": "registration-order", "verdict": "pass",
    "cells": [{"cell": "control", "verdict": "pass", "runs": 1, "hits": 1, "rate": {"lo": 0.2, "hi": 1}}]`, to: `"name": "registration-order", "verdict": "", "cells": null`},
		{name: "scenario that could not run", from: `"verdict": "pass",
    "cells": [{"cell": "control", "verdict": "pass", "runs": 1, "hits": 1, "rate": {"lo": 0.2, "hi": 1}}]`, to: `"verdict": "inconclusive", "error": "exec-1 did not start", "cells": null`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := valid
			if tt.from != "" {
				if !strings.Contains(text, tt.from) {
					t.Fatalf("test case edits %q, which the file lacks", tt.from)
				}
				text = strings.Replace(text, tt.from, tt.to, 1)
			}
			var r result.Results
			if err := json.Unmarshal([]byte(text), &r); err != nil {
				t.Fatal(err)
			}
			err := r.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid results refused: %v", err)
				}
				return
			}
			if !errors.Is(err, result.ErrInvalid) {
				t.Fatalf("Validate() = %v, want an error wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.field+":") {
				t.Errorf("error does not name %s: %v", tt.field, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// An older file that records no environment reads as the defaults: the
// process runtime and the embedded store.
func TestEnvDefaults(t *testing.T) {
	for _, tc := range []struct {
		r     result.Results
		rt    result.Runtime
		store result.CheckpointStore
	}{
		{result.Results{}, result.RuntimeProcess, result.StoreEmbedded},
		{result.Results{Runtime: result.RuntimeDocker, CheckpointStore: result.StoreExternal}, result.RuntimeDocker, result.StoreExternal},
	} {
		if rt, st := tc.r.Env(); rt != tc.rt || st != tc.store {
			t.Errorf("Env() of %q/%q = %s, %s; want %s, %s", tc.r.Runtime, tc.r.CheckpointStore, rt, st, tc.rt, tc.store)
		}
	}
}
