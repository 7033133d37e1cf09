package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/faultbook/faultbook/fixtures"
	"github.com/faultbook/faultbook/minicluster/cluster"
	"github.com/faultbook/faultbook/minicluster/driver"
	"github.com/faultbook/faultbook/minicluster/events"
	"github.com/faultbook/faultbook/minicluster/executor"
	"github.com/faultbook/faultbook/minicluster/nodelog"
	"github.com/faultbook/faultbook/minicluster/spec"
	"github.com/faultbook/faultbook/minicluster/wire"
)

// nodeInputs reads what every node process needs: the run's spec and the
// cluster secret from the environment.
func nodeInputs(runDir string) (*spec.Spec, []byte, error) {
	if runDir == "" {
		return nil, nil, usageErrorf("--run-dir is required")
	}
	sp, err := spec.Read(filepath.Join(runDir, spec.FileName))
	if err != nil {
		return nil, nil, infraError(err)
	}
	secret, err := wire.DecodeSecret(os.Getenv(spec.SecretEnv))
	if err != nil || len(secret) == 0 {
		return nil, nil, infraError(fmt.Errorf("read cluster secret from %s: missing or malformed", spec.SecretEnv))
	}
	return sp, secret, nil
}

func newDriverCmd() *cobra.Command {
	var runDir string
	c := &cobra.Command{
		Use:    "driver",
		Short:  "run a minicluster driver (started by the harness)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, secret, err := nodeInputs(runDir)
			if err != nil {
				return err
			}
			log := nodelog.New(os.Stderr, slog.LevelInfo)
			ev, err := events.Create(filepath.Join(runDir, events.FileName))
			if err != nil {
				return infraError(err)
			}
			defer ev.Close()
			res, err := driver.Run(cmd.Context(), driver.Config{
				Spec: sp, App: fixtures.App(), Secret: secret, Events: ev, Log: log,
				Listening: func(addr string) { fmt.Fprintln(cmd.OutOrStdout(), cluster.ListeningPrefix+addr) },
			})
			if err != nil {
				log.Error("Application could not run: "+err.Error(), "component", "SparkContext")
				return infraError(err)
			}
			b, _ := json.MarshalIndent(res, "", "  ")
			if err := os.WriteFile(filepath.Join(runDir, driver.ResultFile), b, 0o644); err != nil {
				return infraError(fmt.Errorf("write result: %w", err))
			}
			if res.Status != driver.Succeeded {
				return exitError{code: cluster.ExitJobFailed, err: errors.New(res.Error), quiet: true}
			}
			return nil
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "run directory holding spec.json")
	return c
}

func newExecutorCmd() *cobra.Command {
	var (
		runDir, driverAddr, node string
		id, slots                int
	)
	c := &cobra.Command{
		Use:    "executor",
		Short:  "run a minicluster executor (started by the harness)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sp, secret, err := nodeInputs(runDir)
			if err != nil {
				return err
			}
			if id <= 0 || driverAddr == "" || node == "" || slots <= 0 {
				return usageErrorf("--id, --driver, --node and --slots are required")
			}
			log := nodelog.New(os.Stderr, slog.LevelInfo)
			err = executor.Run(cmd.Context(), executor.Config{ID: id, Node: node, Slots: slots, DriverAddr: driverAddr, Secret: secret, Spec: sp, App: fixtures.App(), Log: log})
			switch {
			case err == nil, errors.Is(err, context.Canceled):
				return nil
			case errors.Is(err, executor.ErrRefused):
				return exitError{code: cluster.ExitRefused, err: err, quiet: true}
			case errors.Is(err, executor.ErrDriverLost):
				return exitError{code: cluster.ExitJobFailed, err: err, quiet: true}
			}
			log.Error("Executor stopped: "+err.Error(), "component", "executor.CoarseGrainedExecutorBackend")
			return infraError(err)
		},
	}
	c.Flags().StringVar(&runDir, "run-dir", "", "run directory holding spec.json")
	c.Flags().StringVar(&driverAddr, "driver", "", "driver address host:port")
	c.Flags().StringVar(&node, "node", "", "node name")
	c.Flags().IntVar(&id, "id", 0, "executor id")
	c.Flags().IntVar(&slots, "slots", 0, "task slots")
	return c
}
