package fault_test

import (
	"testing"

	"github.com/faultbook/faultbook/minicluster/fault"
)

func TestSham(t *testing.T) {
	real := fault.Set{
		{Point: fault.RegistrationOrder, Executors: []int{2}},
		{Point: fault.RegistrationShift, Params: map[string]string{"omit": "string"}},
	}
	sham := real.Sham()
	for i := range real {
		if real[i].Sham() {
			t.Errorf("%s: Sham changed the original set", real[i])
		}
		if !sham[i].Sham() {
			t.Errorf("%s: not a sham", sham[i])
		}
		if sham[i].Point != real[i].Point || len(sham[i].Executors) != len(real[i].Executors) {
			t.Errorf("the sham of %s is %s: not the same fault", real[i], sham[i])
		}
	}
	if got := sham[1].Params["omit"]; got != "string" {
		t.Errorf("the sham lost the fault's own params: omit=%q", got)
	}
	if got, want := sham[0].String(), "registration-order@exec-2 (sham)"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
	if got, want := real[0].String(), "registration-order@exec-2"; got != want {
		t.Errorf("label %q, want %q", got, want)
	}
}
