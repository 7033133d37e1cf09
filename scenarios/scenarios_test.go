package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/harness"
)

func TestCatalogue(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	app := fixtures.App()
	for _, s := range c.All() {
		if _, err := app.Workload(s.Workload); err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
		if s.Why == "" || len(s.Chain) == 0 || s.Story == "" || s.Section == "" || s.Place == "" {
			t.Errorf("%s: why, chain, story, section and place are all required", s.Name)
		}
		if !strings.Contains(s.Story, s.Source) {
			t.Errorf("%s: its story does not cite its source document %s", s.Name, s.Source)
		}
	}
}

// Every scenario cites a seed document that exists beside the project.
func TestSourcesExist(t *testing.T) {
	seeds := filepath.Join("..", "..", "shared", "seeds")
	if _, err := os.Stat(seeds); err != nil {
		t.Skipf("seed documents not beside the project: %v", err)
	}
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.All() {
		if _, err := os.Stat(filepath.Join(seeds, s.Source)); err != nil {
			t.Errorf("%s cites %s: %v", s.Name, s.Source, err)
		}
	}
}

func TestBuildRefusesDuplicatesAndIncomplete(t *testing.T) {
	dup := []*harness.Scenario{RegistrationOrder(), RegistrationOrder()}
	if _, err := build(dup); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Errorf("duplicate: %v", err)
	}
	incomplete := RegistrationOrder()
	incomplete.Reproduce = nil
	if _, err := build([]*harness.Scenario{incomplete}); err == nil {
		t.Error("a scenario with no reproduce check was accepted")
	}
}

func TestGetUnknown(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Get("registration-order", "nosuch")
	var u *UnknownError
	if !errors.As(err, &u) || u.Name != "nosuch" || !strings.Contains(err.Error(), "registration-order") {
		t.Errorf("unknown scenario: %v", err)
	}
}
